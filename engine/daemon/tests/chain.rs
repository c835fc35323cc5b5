//! `full_every`: the next protect is full once the newest point's chain
//! holds that many incrementals (counted through the backups' parents).

use lifeboat_daemon::history::{BackupRow, PointRow};
use lifeboat_daemon::retention::chain::{incrementals_of_newest, next_is_full};

fn point(id: &str, taken: &str) -> PointRow {
    PointRow {
        run_id: id.into(),
        job: "j".into(),
        vnf: "vims".into(),
        taken: taken.into(),
        manifest_site: "site-b".into(),
        backup_site: "site-b".into(),
        expired: None,
    }
}

fn backup(id: &str, point: &str, parent: Option<&str>, origin: &str) -> BackupRow {
    BackupRow {
        id: id.into(),
        point: point.into(),
        parent: parent.map(Into::into),
        origin: origin.into(),
        site: "site-b".into(),
        deleted: None,
    }
}

/// Protect `n` points of two volumes, each incremental on the previous
/// unless `full_at` holds the point's index.
fn history(n: usize, full_at: &[usize]) -> (Vec<PointRow>, Vec<BackupRow>) {
    let mut points = Vec::new();
    let mut backups = Vec::new();
    for i in 0..n {
        let p = format!("p{i}");
        points.push(point(&p, &format!("2026-11-25T{i:02}:00:00Z")));
        for v in ["v1", "v2"] {
            let parent = (i > 0 && !full_at.contains(&i)).then(|| format!("b{}-{v}", i - 1));
            backups.push(backup(&format!("b{i}-{v}"), &p, parent.as_deref(), v));
        }
    }
    (points, backups)
}

#[test]
fn counts_the_incrementals_under_the_newest_point() {
    assert_eq!(incrementals_of_newest(&[], &[]), 0);
    let (p, b) = history(1, &[]);
    assert_eq!(incrementals_of_newest(&p, &b), 0);
    let (p, b) = history(5, &[]);
    assert_eq!(incrementals_of_newest(&p, &b), 4);
    let (p, b) = history(5, &[3]);
    assert_eq!(incrementals_of_newest(&p, &b), 1);
    // Points listed out of order: the newest is still found by time.
    let (mut p, b) = history(5, &[3]);
    p.reverse();
    assert_eq!(incrementals_of_newest(&p, &b), 1);
}

#[test]
fn the_protect_after_full_every_incrementals_is_full_and_chains_stay_bounded() {
    assert!(
        !next_is_full(3, &[], &[]),
        "no point yet: the first backup is full by itself"
    );
    // Simulate 20 protects deciding by the rule: every chain is one full + 3 incrementals.
    let mut full_at = vec![0];
    for n in 1..20 {
        let (p, b) = history(n, &full_at);
        if next_is_full(3, &p, &b) {
            full_at.push(n);
        }
    }
    assert_eq!(full_at, vec![0, 4, 8, 12, 16]);
    // A cycle of parents (a corrupt history) does not loop.
    let p = vec![point("p0", "2026-11-25T00:00:00Z")];
    let b = vec![
        backup("a", "p0", Some("c"), "v1"),
        backup("c", "p0", Some("a"), "v1"),
    ];
    assert!(incrementals_of_newest(&p, &b) <= 3);
}
