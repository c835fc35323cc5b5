#![allow(dead_code)]
pub mod builder;
pub mod fake;

use lifeboat_exec::{event, CancelHandle, Event, ExecConfig, Executor, RunOptions, RunResult};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

pub fn servers(spec: &[(&str, &str)]) -> Value {
    Value::Array(
        spec.iter()
            .map(|(name, role)| json!({"id": format!("id-{name}"), "name": name, "role": role, "site": "site-a"}))
            .collect(),
    )
}

pub fn executor(fake: &Arc<fake::FakeCloud>) -> Executor {
    Executor::new(fake.clone()).with_config(ExecConfig::default())
}

/// Runs a plan to the end; returns the result and every event.
pub async fn run(
    exec: &Executor,
    plan: &lifeboat_dsl::plan::Plan,
    dir: &Path,
    params: serde_json::Map<String, Value>,
) -> (RunResult, Vec<Event>) {
    let (tx, mut rx) = event::channel();
    let mut opts = RunOptions::new(dir);
    opts.run_id = Some("r1".into());
    opts.events = Some(tx);
    let res = exec.run(plan, params, opts).await.expect("run starts");
    let mut evs = Vec::new();
    while let Ok(e) = rx.try_recv() {
        evs.push(e);
    }
    (res, evs)
}

pub async fn resume(exec: &Executor, dir: &Path) -> (RunResult, Vec<Event>) {
    let (tx, mut rx) = event::channel();
    let mut opts = RunOptions::new(dir);
    opts.events = Some(tx);
    let res = exec.resume(opts).await.expect("resume starts");
    let mut evs = Vec::new();
    while let Ok(e) = rx.try_recv() {
        evs.push(e);
    }
    (res, evs)
}

/// Spawns a run with a cancel handle; returns the join handle.
pub fn spawn_run(
    exec: Executor,
    plan: lifeboat_dsl::plan::Plan,
    dir: &Path,
    cancel: CancelHandle,
) -> (tokio::task::JoinHandle<RunResult>, event::EventReceiver) {
    let (tx, rx) = event::channel();
    let mut opts = RunOptions::new(dir);
    opts.run_id = Some("r1".into());
    opts.events = Some(tx);
    opts.cancel = cancel;
    let h = tokio::spawn(async move {
        exec.run(&plan, serde_json::Map::new(), opts)
            .await
            .expect("run starts")
    });
    (h, rx)
}

pub fn drain(rx: &mut event::EventReceiver) -> Vec<Event> {
    let mut evs = Vec::new();
    while let Ok(e) = rx.try_recv() {
        evs.push(e);
    }
    evs
}

/// Starts `plan` and kills it (as a crash would: no thaw, no compensation)
/// once the fake reports a call hung.
pub async fn crash_when_hung(
    fake: &Arc<fake::FakeCloud>,
    plan: lifeboat_dsl::plan::Plan,
    dir: &Path,
) {
    let (h, _rx) = spawn_run(executor(fake), plan, dir, CancelHandle::new());
    fake.hung.notified().await;
    h.abort();
    assert!(h.await.is_err(), "the run was aborted");
}
