//! Failure classes through the `Actions` trait against the emulator's fault
//! profiles: rate limits (transient, with the server's Retry-After, once the
//! call's own retries are spent), 5xx (transient), a resource ending in
//! `error` (deleted and made again by the call; transient once its time is
//! up, nothing left), a resource that never settles (timeout), an expired
//! token (re-authenticated).

mod common;

use common::{s, Env};
use lifeboat_emulator::FaultProfile;
use lifeboat_exec::action::{Actions, ErrorClass};
use serde_json::json;
use std::time::Duration;

fn profile(yaml: &str) -> FaultProfile {
    FaultProfile::from_yaml_str(yaml).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_and_server_errors_are_transient() {
    let env = Env::start().await;
    env.emu.set_faults(profile("rules:\n  - site: site-a\n    service: compute\n    rate_limit: {max_requests: 0, per_seconds: 60, status: 429, retry_after_s: 7}\n"));
    // The request waits out Retry-After (7 s) once; the next wait would pass
    // the call's deadline, so the call gives up with the server's hint.
    let mut call = env.call(
        "nova.find_servers",
        "s",
        json!({"site": "site-a", "tag": "vims"}),
    );
    call.timeout = Duration::from_secs(12);
    let started = std::time::Instant::now();
    let e = env.acts.run(&call).await.unwrap_err();
    assert_eq!(
        e.class,
        ErrorClass::Transient {
            retry_after: Some(Duration::from_secs(7))
        },
        "{e}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(7) && started.elapsed() < Duration::from_secs(12),
        "waited once: {:?}",
        started.elapsed()
    );
    assert!(
        e.message.contains("site-a") && e.message.contains("429"),
        "{e}"
    );
    env.emu.set_faults(profile("rules:\n  - site: site-a\n    service: volume\n    error_rate: 1.0\n    error_status: 503\n"));
    let e = env
        .try_run(
            "cinder.show_volume",
            "v",
            json!({"volume": {"id": "x", "site": "site-a"}}),
        )
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    env.emu.clear_faults();
    assert_eq!(
        env.run(
            "nova.find_servers",
            "s2",
            json!({"site": "site-a", "tag": "vims"})
        )
        .await
        .as_array()
        .unwrap()
        .len(),
        6
    );
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_state_is_permanent_and_stuck_is_timeout() {
    let env = Env::start().await;
    let vols = env.run("cinder.volumes_of", "v", json!({"servers": [env.run("nova.find_servers", "s", json!({"site": "site-a", "tag": "vims"})).await[0]]})).await;
    let v = vols[1].clone();
    // Every snapshot ends in error: each is deleted and made again until the
    // call's time is up; then a transient error (a step retry may succeed
    // later), and no snapshot in error is left.
    env.emu.set_faults(profile(
        "rules:\n  - operation: snapshot.create\n    fail_rate: 1.0\n",
    ));
    let mut call = env.call(
        "cinder.create_snapshot",
        "snap",
        json!({"volume": v, "name": "x"}),
    );
    call.timeout = Duration::from_secs(3);
    let e = env.acts.run(&call).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        e.message.contains("ended in state error") && e.message.contains("was deleted"),
        "{e}"
    );
    env.emu.clear_faults();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let snaps = env.emu_counts("site-a", "snapshots").await;
    assert_eq!(snaps, 0, "every failed snapshot was deleted");
    env.emu.set_faults(profile(
        "rules:\n  - operation: snapshot.create\n    stuck_rate: 1.0\n",
    ));
    let mut call = env.call(
        "cinder.create_snapshot",
        "snap2",
        json!({"volume": v, "name": "x"}),
    );
    call.timeout = Duration::from_millis(800);
    let e = env.acts.run(&call).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Timeout, "{e}");
    assert!(e.message.contains("creating"), "{e}");
    env.emu.clear_faults();
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_mid_run_are_renewed() {
    let env = Env::start().await;
    let servers = env
        .run(
            "nova.find_servers",
            "s",
            json!({"site": "site-a", "tag": "vims"}),
        )
        .await;
    env.emu.expire_tokens();
    let shown = env
        .run("nova.show_server", "show", json!({"server": servers[0]}))
        .await;
    assert_eq!(s(&shown, "id"), s(&servers[0], "id"));
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_call_is_cut_at_the_timeout() {
    let env = Env::start().await;
    env.emu.set_faults(profile(
        "rules:\n  - site: site-a\n    service: compute\n    latency: {kind: fixed, ms: 20000}\n",
    ));
    let mut call = env.call(
        "nova.find_servers",
        "slow",
        json!({"site": "site-a", "tag": "vims"}),
    );
    call.timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let e = env.acts.run(&call).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Timeout, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    env.emu.clear_faults();
    env.emu.shutdown().await;
}
