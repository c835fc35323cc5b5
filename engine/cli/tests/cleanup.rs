//! `lifeboat cleanup RUN` as a real process against the emulator: a run
//! whose cleanups cannot delete its temporary volumes (the volume service
//! refuses every DELETE) succeeds but lists them as orphans — site, kind,
//! id, name, why — in its report; `cleanup` refuses an unknown run (exit
//! 2), still finds them stuck while the refusal lasts (exit 1), removes them
//! once the cloud lets it (exit 0, the volumes gone, the run's report kept
//! with nothing left in it), and a second cleanup finds nothing to do (exit
//! 0, idempotent).

mod common;
use common::*;
use serde_json::Value;

fn orphans(dir: &std::path::Path) -> Vec<Value> {
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    report["orphans"].as_array().cloned().unwrap_or_default()
}

#[test]
fn orphans_are_reported_then_removed_by_cleanup_idempotently() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    let volumes_before = env.count_volumes("site-a");
    // Every DELETE of a volume is refused for good (400: not retried).
    let refuse = "rules:\n  - {service: volume, method: DELETE, path_contains: /volumes/, error_rate: 1.0, error_status: 400}\n";
    env.emu
        .set_faults(lifeboat_emulator::FaultProfile::from_yaml_str(refuse).unwrap());
    let o = env.lifeboat(&["run", &rb]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the backups are made; only the cleanup failed: {}",
        text(&o)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("LEFT BEHIND (6)") && out.contains("lifeboat cleanup"),
        "{out}"
    );
    let dir = env.run_dirs().remove(0);
    let id = dir.file_name().unwrap().to_string_lossy().into_owned();
    let left = orphans(&dir);
    assert_eq!(left.len(), 6, "the six temporary volumes: {left:?}");
    for x in &left {
        assert_eq!(x["kind"], "volume", "{x}");
        assert_eq!(x["site"], "site-a", "{x}");
        assert_eq!(x["action"], "cinder.delete_volume", "{x}");
        assert!(
            x["id"].as_str().is_some_and(|s| !s.is_empty())
                && x["name"].as_str().is_some_and(|n| n.starts_with("lb-")),
            "{x}"
        );
        assert!(x["why"].as_str().is_some_and(|w| w.contains("400")), "{x}");
    }
    assert_eq!(env.count_volumes("site-a"), volumes_before + 6);

    let cleanup = |args: &[&str]| {
        env.cmd(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let unknown = cleanup(&["cleanup", "nosuchrun"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));

    // Still refused: nothing can be removed, and it says so.
    let o = cleanup(&["cleanup", &id]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(orphans(&dir).len(), 6);

    // The cloud lets go: removed, exit 0.
    env.emu.clear_faults();
    let o = cleanup(&["cleanup", &id]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("nothing is left behind"),
        "{}",
        text(&o)
    );
    assert!(orphans(&dir).is_empty());
    assert_eq!(
        env.count_volumes("site-a"),
        volumes_before,
        "the temporary volumes are gone"
    );
    // The run's report stands (its steps, its outcome), with what the
    // cleanup removed added to what the run removed.
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert!(
        report["steps"].as_array().is_some_and(|s| s.len() >= 6),
        "{report}"
    );
    assert_eq!(report["outcome"]["outcome"], "succeeded", "{report}");
    assert!(
        report["cleaned_up"]
            .as_array()
            .is_some_and(|c| c.len() >= 6),
        "{report}"
    );

    // Idempotent: nothing more to do, nothing called.
    let o = cleanup(&["cleanup", &id, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let events: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        !events.iter().any(|e| e["event"] == "cleanup_started"),
        "a second cleanup calls nothing: {}",
        text(&o)
    );
    assert_eq!(env.count_volumes("site-a"), volumes_before);
}
