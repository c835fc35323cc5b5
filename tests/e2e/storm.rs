//! What the storm tests and the storm bench share: the fault profiles and
//! the checks that a run left nothing behind.

use super::{Env, Run};
use lifeboat_emulator::Site;
use serde_json::{json, Value};

/// The volume service's rate limit at each site under profile (a).
pub const RATE_LIMIT_PER_S: u32 = 40;

/// The profiles, seeded: (a) 10 % 503, 3 % resets, 2 % answers lost
/// after the call was carried out, and a volume rate limit with Retry-After
/// at each site; (b) 20 % 503 from the volume service; (c) uniform latency
/// 5–300 ms; (d) 20 % of the asynchronous operations that create something
/// (volumes, snapshots, group snapshots, backups, restores, snapshot images,
/// servers) end in `error`; `calm`: none.
pub fn profile(name: &str, seed: u64) -> String {
    let rules: String = match name {
        "calm" => "[]\n".into(),
        "a" => format!(
            "{}{}{}{}{}",
            "\n  - {error_rate: 0.10, error_status: 503}",
            "\n  - {reset_rate: 0.03}",
            "\n  - {lost_answer_rate: 0.02}",
            format_args!("\n  - {{site: site-a, service: volume, rate_limit: {{max_requests: {RATE_LIMIT_PER_S}, per_seconds: 1, status: 429, retry_after_s: 1}}}}"),
            format_args!("\n  - {{site: site-b, service: volume, rate_limit: {{max_requests: {RATE_LIMIT_PER_S}, per_seconds: 1, status: 429, retry_after_s: 1}}}}\n"),
        ),
        "b" => "\n  - {service: volume, error_rate: 0.20, error_status: 503}\n".into(),
        "c" => "\n  - {latency: {kind: uniform, min_ms: 5, max_ms: 300}}\n".into(),
        "d" => concat!(
            "\n  - {operation: volume.create, fail_rate: 0.20}",
            "\n  - {operation: snapshot.create, fail_rate: 0.20}",
            "\n  - {operation: group_snapshot.create, fail_rate: 0.20}",
            "\n  - {operation: backup.create, fail_rate: 0.20}",
            "\n  - {operation: backup.restore, fail_rate: 0.20}",
            "\n  - {operation: image.create, fail_rate: 0.20}",
            "\n  - {operation: server.create, fail_rate: 0.20}\n"
        )
        .into(),
        other => panic!("no storm profile {other:?}"),
    };
    format!("seed: {seed}\nrules: {rules}")
}

/// Every profile, in the order the bench prints them.
pub const PROFILES: [&str; 4] = ["a", "b", "c", "d"];

/// The run left nothing behind: no orphan in its report, no thaw,
/// compensation or cleanup that failed; and, when site-a answers, none of
/// its servers paused or suspended.
pub async fn assert_nothing_left(env: &Env, run: &Run, what: &str) {
    let report = lifeboat_exec::Report::from_events(&run.events);
    assert!(
        report.orphans.is_empty(),
        "{what} left orphans: {:?}",
        report.orphans
    );
    assert_eq!(run.result.thaw_failures, 0, "{what}: {}", run.describe());
    assert_eq!(
        run.result.compensation_failures,
        0,
        "{what}: {}",
        run.describe()
    );
    assert_eq!(run.result.cleanup_failures, 0, "{what}: {}", run.describe());
    if !env.emu.is_site_down(Site::A) {
        let frozen: Vec<_> = env
            .server_statuses("site-a")
            .await
            .into_iter()
            .filter(|(_, st)| st != "ACTIVE")
            .collect();
        assert!(
            frozen.is_empty(),
            "{what} left servers not ACTIVE at site-a: {frozen:?}"
        );
    }
    for site in ["site-a", "site-b"] {
        if site == "site-a" && env.emu.is_site_down(Site::A) {
            continue;
        }
        let bad: Vec<_> = env
            .volumes(site)
            .await
            .into_iter()
            .filter(|(_, st, _)| st.contains("error"))
            .collect();
        assert!(
            bad.is_empty(),
            "{what} left volumes in error at {site}: {bad:?}"
        );
    }
}

/// After a protect (or prepare), site-a holds what it held before plus the
/// backups (options 1 and 2): no temporary volume, snapshot or image.
pub async fn assert_site_a_as_after_a_calm_protect(env: &Env, option: &str, calm: &Value) {
    let now = env.counts().await;
    for k in ["servers", "volumes", "snapshots", "images"] {
        assert_eq!(
            now["site-a"][k], calm["site-a"][k],
            "{option}: site-a {k} after protect: {now} (before: {calm})"
        );
    }
    let backups = if option == "option3" { 0 } else { 12 };
    assert_eq!(
        now["site-a"]["backups"],
        json!(backups),
        "{option}: backups at site-a: {now}"
    );
}

/// Every `key` item `path` lists at `site` (by `service`) has a name of its
/// own: nothing was made twice.
pub async fn assert_made_once(env: &Env, site: &str, service: &str, path: &str, key: &str) {
    let listed = env.api(site, service, path).await;
    let mut names: Vec<&str> = listed[key]
        .as_array()
        .unwrap_or_else(|| panic!("{path} at {site}: {listed}"))
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    names.sort();
    let all = names.len();
    names.dedup();
    assert_eq!(names.len(), all, "{key} made twice at {site}: {names:?}");
}

/// Counts without the backups (imported backup records are kept by drills).
pub fn without_backups(c: &Value) -> Value {
    let mut c = c.clone();
    for site in ["site-a", "site-b"] {
        if let Some(o) = c[site].as_object_mut() {
            o.remove("backups");
        }
    }
    c
}
