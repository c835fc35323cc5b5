//! `lifeboat daemon --check` and `lifeboat runs` on bad input: a clear
//! error, exit 2, nothing started; good input prints the schedule.

mod common;
use common::*;
use std::process::Command;

fn lifeboat(state: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .env_remove("OS_CLOUD")
        .env_remove("OS_AUTH_URL")
        .current_dir(repo())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn check(yaml: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("lifeboat.yaml");
    std::fs::write(&cfg, yaml).unwrap();
    let o = lifeboat(
        &dir.path().join("state"),
        &["daemon", "--check", "--config", cfg.to_str().unwrap()],
    );
    assert!(
        !dir.path().join("state/runs").exists(),
        "a checked config started something"
    );
    (o.status.code(), text(&o))
}

#[test]
fn a_good_config_prints_each_jobs_schedule_and_policy() {
    let (code, out) = check("jobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n    cloud: prod\n  - name: opt2\n    runbook: option2/protect\n    params: {vnf: vims}\n    cloud: prod\n    schedule: \"15 3 * * *\"\n    tz: Europe/Paris\n    retain: {last: 2, monthly: 12}\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("job option1/protect vnf=vims: option1/protect `0 */4 * * *` (UTC)"),
        "{out}"
    );
    assert!(
        out.contains("last: 6") && out.contains("daily: 7") && out.contains("weekly: 4"),
        "{out}"
    );
    assert!(
        out.contains("job opt2: option2/protect `15 3 * * *` (Europe/Paris)"),
        "{out}"
    );
    assert!(
        out.contains("last: 2") && out.contains("monthly: 12"),
        "{out}"
    );
}

/// Many jobs (VNFs) run one runbook: it is compiled once, not once a job
/// (300 jobs took 12 s to start, parsing it 300 times), so its warning is
/// printed once; each job still binds its own parameters.
#[test]
fn a_runbook_many_jobs_run_is_compiled_once() {
    let dir = tempfile::tempdir().unwrap();
    let rb = dir.path().join("touch.dr");
    std::fs::write(
        &rb,
        "action test.touch(site: site) -> string {\n  kind mutate\n  timeout 1m\n}\n\nrunbook touch \"t\" {\n  param vnf: string\n  schedule \"0 3 * * *\"\n  test.touch(site: \"site-a\")\n}\n",
    )
    .unwrap();
    let jobs: String = (0..3)
        .map(|i| {
            format!(
                "  - name: j{i}\n    runbook: {}\n    params: {{vnf: v{i}}}\n    cloud: prod\n",
                rb.display()
            )
        })
        .collect();
    let (code, out) = check(&format!("jobs:\n{jobs}"));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        out.matches("nothing undoes `test.touch`").count(),
        1,
        "{out}"
    );
    for i in 0..3 {
        assert!(out.contains(&format!("job j{i}: ")), "{out}");
    }
    // A job whose parameters do not fit is still refused, naming it.
    let (code, out) = check(&format!(
        "jobs:\n{jobs}  - name: bad\n    runbook: {}\n    params: {{nosuch: 1}}\n    cloud: prod\n",
        rb.display()
    ));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("job `bad`"), "{out}");
}

#[test]
fn bad_configs_are_refused_with_the_reason_and_exit_2() {
    let cases = [
        ("jobs:\n  - runbook: option1/protect\n    schedul: \"* * * * *\"\n", "unknown field `schedul`"),
        ("jobs: []\n", "no jobs"),
        ("jobs:\n  - runbook: option1/protect\n    cloud: prod\n", "missing required parameter `vnf`"),
        ("jobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n    cloud: prod\n    schedule: \"0 25 * * *\"\n", "hour field"),
        ("jobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n    cloud: prod\n    schedule: \"0 1 * * *\"\n    tz: Moon/Base\n", "unknown time zone `Moon/Base`"),
        ("jobs:\n  - runbook: option1/recover\n    params: {vnf: vims}\n    cloud: prod\n", "has no `schedule`"),
        ("jobs:\n  - runbook: nosuch/runbook\n", "no bundled runbook"),
        ("jobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n  - runbook: option1/protect\n    params: {vnf: vims}\n", "two jobs are named"),
        ("jobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n    cloud: prod\n    retain: {last: -1}\n", "last"),
        ("max_in_flight: 0\njobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n    cloud: prod\n", "max_in_flight must be at least 1"),
        ("site_limits: {site-b: 0}\njobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n    cloud: prod\n", "site_limits: site-b must be at least 1"),
        ("freezes_at_once: 0\njobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n    cloud: prod\n", "freezes_at_once: 0 would never let a run freeze"),
        ("recovery_check: soon\njobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n    cloud: prod\n", "recovery_check `soon`"),
        ("twins_after: later\njobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n    cloud: prod\n", "twins_after `later`"),
    ];
    for (yaml, want) in cases {
        let (code, out) = check(yaml);
        assert_eq!(code, Some(2), "{yaml}\n{out}");
        assert!(out.contains(want), "{yaml}: expected `{want}` in\n{out}");
        assert!(!out.contains("panicked"), "{out}");
    }
    let dir = tempfile::tempdir().unwrap();
    let o = lifeboat(
        dir.path(),
        &["daemon", "--config", "/nonexistent/lifeboat.yaml"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("cannot read /nonexistent/lifeboat.yaml"),
        "{}",
        text(&o)
    );
}

#[test]
fn runs_filters_by_since_and_refuses_a_bad_since() {
    let dir = tempfile::tempdir().unwrap();
    let o = lifeboat(dir.path(), &["runs", "--since", "last tuesday"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--since last tuesday"), "{}", text(&o));
    for since in ["24h", "2026-11-25", "2026-11-25T01:00:00Z"] {
        let o = lifeboat(dir.path(), &["runs", "--json", "--since", since]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
    }
}
