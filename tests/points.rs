//! Recovery points: each option reads only the manifests it wrote (the
//! options of one VNF share a container at the backup site), and a recovery
//! chooses its point — the newest, the newest a drill verified, the newest
//! before a time, or one by name. Over HTTP to the emulator, with the
//! bundled runbooks.

mod e2e;

use e2e::{check_recovered, production, s, Env};
use lifeboat_emulator::Site;
use serde_json::{json, Value};
use std::sync::Arc;

/// Reads the point `point` of option 2 and nothing else.
const READ: &str = r#"
runbook read "Read one recovery point of option 2" {
  param vnf: string
  param option: string = "option2"
  param point: string = ""
  m = lifeboat.read_manifest(site: "site-b", vnf: vnf, option: option, point: point)
}
"#;

/// The manifest `point` chooses (its protect run id), or the first error.
async fn read(env: &Env, option: &str, point: &str) -> Result<String, String> {
    let r = env
        .run_plan(
            &e2e::compile_text("read.dr", READ),
            json!({"vnf": "vims", "option": option, "point": point}),
            Arc::new(lifeboat_exec::AutoApprove),
        )
        .await;
    match r.values("m").first() {
        Some((_, m)) => Ok(s(m, "run_id").to_string()),
        None => Err(r
            .first_failure()
            .map(|(_, e)| e)
            .unwrap_or_else(|| r.describe())),
    }
}

/// The snapshot time of the manifest a protect wrote.
fn snapshot_time(run: &e2e::Run) -> String {
    let (_, step) = &run.succeeded("lifeboat.write_manifest")[0];
    let (_, m): &(String, Value) = &run.values(step)[0];
    s(m, "snapshot_time").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_option_recovers_from_its_own_chosen_point() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;

    // Option 2 protects twice; option 3 prepares in between, so the newest
    // manifest of the VNF is option 3's (which has no backups at all).
    let p1 = env.run("option2/protect", json!({"vnf": "vims"})).await;
    assert!(p1.ok(), "first protect: {}", p1.describe());
    let p3 = env.run("option3/prepare", json!({"vnf": "vims"})).await;
    assert!(p3.ok(), "option 3 prepare: {}", p3.describe());
    assert_eq!(
        read(&env, "option2", "").await,
        Ok(p1.result.run_id.clone())
    );
    assert_eq!(
        read(&env, "option3", "").await,
        Ok(p3.result.run_id.clone())
    );

    // A drill of option 2 reads option 2's point and records it verified.
    let d = env.run("option2/drill", json!({"vnf": "vims"})).await;
    assert!(d.ok(), "option 2 drill after option 3: {}", d.describe());
    let (_, recorded) = &d.values("recorded")[0];
    assert_eq!(s(recorded, "run_id"), p1.result.run_id);
    assert_eq!(d.succeeded("lifeboat.mark_verified").len(), 1);

    // Cinder's timestamps have seconds; the second point is a second newer.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let p2 = env.run("option2/protect", json!({"vnf": "vims"})).await;
    assert!(p2.ok(), "second protect: {}", p2.describe());
    let (t1, t2) = (snapshot_time(&p1), snapshot_time(&p2));
    assert!(t1 < t2, "{t1} < {t2}");

    let r1 = p1.result.run_id.clone();
    let r2 = p2.result.run_id.clone();
    assert_eq!(read(&env, "option2", "").await, Ok(r2.clone()));
    assert_eq!(read(&env, "option2", "newest").await, Ok(r2.clone()));
    assert_eq!(read(&env, "option2", "verified").await, Ok(r1.clone()));
    assert_eq!(
        read(&env, "option2", &format!("before {t1}")).await,
        Ok(r1.clone())
    );
    assert_eq!(
        read(&env, "option2", &format!("before {t2}")).await,
        Ok(r2.clone())
    );
    assert_eq!(read(&env, "option2", &r1).await, Ok(r1.clone()));
    // Refused with a reason: another option's point, a time before every
    // point, a point no drill verified, an option with no point at all, and
    // words that name no point.
    let e = read(&env, "option2", &p3.result.run_id).await.unwrap_err();
    assert!(e.contains("was written by option3, not option2"), "{e}");
    let e = read(&env, "option2", "before 2001-01-01T00:00:00Z")
        .await
        .unwrap_err();
    assert!(
        e.contains("no 2001-01-01T00:00:00+00:00 or earlier recovery point"),
        "{e}"
    );
    let e = read(&env, "option3", "verified").await.unwrap_err();
    assert!(e.contains("no drill-verified recovery point"), "{e}");
    let e = read(&env, "option1", "").await.unwrap_err();
    assert!(
        e.contains(": no recovery point of VNF \"vims\" written by option1 in"),
        "{e}"
    );
    let e = read(&env, "option2", "the good one").await.unwrap_err();
    assert!(e.contains("not a recovery point"), "{e}");

    // A verified point stays pinned: retention refuses to expire it, while
    // it may expire neither newest point either.
    let expire = |id: &str| json!({"vnf": "vims", "backups": [], "manifests": [id]});
    let x = env.run("retention/expire", expire(&r1)).await;
    assert!(!x.ok(), "the verified point was expired: {}", x.describe());
    let (_, why) = x.first_failure().unwrap();
    assert!(why.contains("verified-option2.json"), "{why}");

    // Site-a gone: option 2 recovers from the verified (older) point.
    env.emu.set_site_down(Site::A, true);
    let r = env
        .run(
            "option2/recover",
            json!({"vnf": "vims", "point": "verified"}),
        )
        .await;
    assert!(r.ok(), "recover from the verified point: {}", r.describe());
    let (_, recorded) = &r.values("recorded")[0];
    assert_eq!(s(recorded, "run_id"), r1);
    check_recovered(&env, &r, &prod, &roles, "").await;
    env.emu.shutdown().await;
}
