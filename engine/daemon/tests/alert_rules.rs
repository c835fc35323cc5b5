//! The alert rules shipped in deploy/prometheus: every metric they read is
//! one the daemon serves (so a renamed metric cannot silently disable an
//! alert), and `promtool` finds them valid and passes their unit tests
//! (lifeboat.rules.test.yml: each alert fires when it must, not before).
//! promtool comes from Debian's `prometheus` package; without it the second
//! test is skipped locally and fails under CI=1.

use chrono::{TimeZone, Utc};
use lifeboat_daemon::metrics::{render, JobMetrics};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus")
}

/// The `lifeboat_…` names in a text.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(k) = text[i..].find("lifeboat_") {
        let start = i + k;
        let mut end = start;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
            end += 1;
        }
        // Not part of a longer word (a label value such as "…/lifeboat_x").
        if start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_') {
            out.insert(text[start..end].to_string());
        }
        i = end;
    }
    out
}

#[test]
fn every_metric_an_alert_reads_is_served_by_the_daemon() {
    let t = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let full = |job: &str, kind: &str| JobMetrics {
        job: job.into(),
        runbook: format!("option1/{kind}"),
        kind: kind.into(),
        rpo_target_ms: Some(3_600_000),
        consecutive_failures: 1,
        last_run_succeeded: Some(false),
        last_success: Some(t),
        last_duration_ms: Some(1000),
        newest_point: Some(t),
        failures: 1,
        runs: 2,
        last_quiesce_ms: Some(500),
        running: false,
    };
    let served = metric_names(&render(
        &[full("p", "protect"), full("d", "drill")],
        t + chrono::Duration::hours(1),
    ));
    let rules = std::fs::read_to_string(dir().join("lifeboat.rules.yml")).unwrap();
    let used: BTreeSet<String> = rules
        .lines()
        .filter(|l| l.trim_start().starts_with("expr:"))
        .flat_map(metric_names)
        .collect();
    assert!(used.len() >= 4, "{used:?}");
    let missing: Vec<_> = used.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "alert rules read metrics the daemon does not serve: {missing:?} (served: {served:?})"
    );
}

#[test]
fn promtool_checks_the_rules_and_passes_their_unit_tests() {
    if Command::new("promtool").arg("--version").output().is_err() {
        let under_ci = std::env::var("CI")
            .map(|v| !v.is_empty() && v != "0" && v != "false")
            .unwrap_or(false);
        assert!(
            !under_ci,
            "promtool is required under CI (apt-get install prometheus)"
        );
        eprintln!("skipping: promtool not installed (apt-get install prometheus)");
        return;
    }
    for args in [
        ["check", "rules", "lifeboat.rules.yml"],
        ["test", "rules", "lifeboat.rules.test.yml"],
    ] {
        let o = Command::new("promtool")
            .args(args)
            .current_dir(dir())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
