//! `--max-in-flight` / `--site-limit`: bad values exit 2 before anything
//! runs; good ones reach the run (kept in `limits.json` for `resume`).

mod common;
use common::*;
use serde_json::Value;

#[test]
fn bad_limits_exit_2_and_run_nothing() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    for bad in [
        vec!["--max-in-flight", "0"],
        vec!["--site-limit", "site-a"],
        vec!["--site-limit", "site-a=x"],
        vec!["--site-limit", "=3"],
        vec!["--site-limit", "site-a=0"],
    ] {
        let mut args = vec!["run", rb.as_str()];
        args.extend(bad.iter().copied());
        let o = env.lifeboat(&args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
        assert!(
            text(&o).contains("nothing was run"),
            "{bad:?}: {}",
            text(&o)
        );
    }
    assert!(env.run_dirs().is_empty(), "no run may start");
}

#[test]
fn limits_reach_the_run_and_are_kept_for_resume() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    let o = env.lifeboat(&[
        "run",
        &rb,
        "--max-in-flight",
        "2",
        "--site-limit",
        "site-a=1",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let dir = &env.run_dirs()[0];
    let limits: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("limits.json")).unwrap()).unwrap();
    assert_eq!(limits["default_per_site"], 2, "{limits}");
    assert_eq!(limits["per_site"]["site-a"], 1, "{limits}");
}
