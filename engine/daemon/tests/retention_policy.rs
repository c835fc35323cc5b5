//! The retention policy on a generated history of 200 recovery points, one
//! backup each, in incremental chains of ten (a full backup every tenth
//! protect), every four hours from Thursday 2026-01-01 00:00 UTC: exactly
//! which points, which backups are kept and in which order the rest go.

use chrono::{DateTime, Duration, Utc};
use lifeboat_daemon::retention::policy::{decide, Backup, Point, Policy, Reason};
use std::collections::BTreeSet;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn pid(i: usize) -> String {
    format!("p{i:03}")
}

fn bid(i: usize) -> String {
    format!("b{i:03}")
}

/// 200 points; point i at 4i hours; backup i chains on i-1 unless i % 10 == 0.
fn history() -> (Vec<Point>, Vec<Backup>) {
    let points = (0..200)
        .map(|i| Point {
            id: pid(i),
            taken: start() + Duration::hours(4 * i as i64),
            good: true,
        })
        .collect();
    let backups = (0..200)
        .map(|i| Backup {
            id: bid(i),
            point: pid(i),
            parent: (i % 10 != 0).then(|| bid(i - 1)),
        })
        .collect();
    (points, backups)
}

fn ids(f: fn(usize) -> String, it: impl IntoIterator<Item = usize>) -> BTreeSet<String> {
    it.into_iter().map(f).collect()
}

#[test]
fn gfs_on_200_backups_keeps_exactly_what_the_policy_says() {
    let (points, backups) = history();
    let policy = Policy {
        last: 6,
        hourly: 0,
        daily: 7,
        weekly: 4,
        monthly: 3,
    };
    let d = decide(&points, &backups, &policy, chrono_tz::UTC, &BTreeSet::new());

    // Day k (0 = Jan 1) holds points 6k..6k+5; the last point, 199, is
    // Tuesday 2026-02-03 04:00 (day 33, which holds 198 and 199).
    // last 6: 194..199. daily 7: newest of days 33..27 = 199, 197, 191, 185,
    // 179, 173, 167. weekly 4 (ISO, Monday): weeks from Feb 2 (days 32-33),
    // Jan 26 (25-31), Jan 19 (18-24), Jan 12 (11-17) → 199, 191, 149, 107.
    // monthly 3: February → 199, January → 185 (only two months exist).
    let kept: BTreeSet<String> = d.keep.keys().cloned().collect();
    let want = ids(
        pid,
        [
            107, 149, 167, 173, 179, 185, 191, 194, 195, 196, 197, 198, 199,
        ],
    );
    assert_eq!(kept, want);
    assert_eq!(
        d.keep[&pid(199)],
        vec![
            Reason::Newest,
            Reason::Last,
            Reason::Daily,
            Reason::Weekly,
            Reason::Monthly
        ]
    );
    assert_eq!(d.keep[&pid(149)], vec![Reason::Weekly]);
    assert_eq!(d.keep[&pid(185)], vec![Reason::Daily, Reason::Monthly]);
    assert_eq!(d.expire.len(), 187);
    assert_eq!(d.expire.first(), Some(&pid(0)));
    assert!(d.expire.iter().all(|p| !want.contains(p)));

    // Backups: each kept point keeps its chain back to its full backup.
    let needed: BTreeSet<String> = ids(
        bid,
        (100..=107)
            .chain(140..=149)
            .chain(160..=167)
            .chain(170..=179)
            .chain(180..=185)
            .chain(190..=199),
    );
    assert_eq!(needed.len(), 52);
    let deleted: BTreeSet<String> = d.delete_backups.iter().cloned().collect();
    assert_eq!(d.delete_backups.len(), 148);
    assert_eq!(
        deleted,
        ids(bid, 0..200).difference(&needed).cloned().collect()
    );
    let for_chain: BTreeSet<String> = ids(
        bid,
        (100..=106)
            .chain(140..=148)
            .chain(160..=166)
            .chain(170..=172)
            .chain(174..=178)
            .chain(180..=184)
            .chain([190, 192, 193]),
    );
    assert_eq!(d.kept_for_chain, for_chain);

    // Children before parents: a deleted backup's deleted parent comes later.
    let pos = |b: &str| d.delete_backups.iter().position(|x| x == b);
    for b in &backups {
        if let (Some(me), Some(parent)) = (pos(&b.id), b.parent.as_deref().and_then(pos)) {
            assert!(
                me < parent,
                "{} is deleted after its parent {:?}",
                b.id,
                b.parent
            );
        }
    }
}

#[test]
fn a_point_a_running_recover_reads_is_kept_and_so_is_its_chain() {
    let (points, backups) = history();
    let policy = Policy {
        last: 2,
        ..Policy::default()
    };
    let in_use: BTreeSet<String> = [pid(57)].into();
    let d = decide(&points, &backups, &policy, chrono_tz::UTC, &in_use);
    assert_eq!(
        d.keep.keys().cloned().collect::<BTreeSet<_>>(),
        ids(pid, [57, 198, 199])
    );
    assert_eq!(d.keep[&pid(57)], vec![Reason::InUse]);
    let kept_backups: BTreeSet<String> = ids(bid, 0..200)
        .difference(&d.delete_backups.iter().cloned().collect())
        .cloned()
        .collect();
    assert_eq!(kept_backups, ids(bid, (50..=57).chain(190..=199)));
}

#[test]
fn the_newest_good_point_is_kept_and_failed_points_expire() {
    let t0 = start();
    let points = vec![
        Point {
            id: "old".into(),
            taken: t0,
            good: true,
        },
        Point {
            id: "good".into(),
            taken: t0 + Duration::days(40),
            good: true,
        },
        Point {
            id: "bad".into(),
            taken: t0 + Duration::days(41),
            good: false,
        },
    ];
    let backups = vec![
        Backup {
            id: "b-old".into(),
            point: "old".into(),
            parent: None,
        },
        Backup {
            id: "b-good".into(),
            point: "good".into(),
            parent: Some("b-old".into()),
        },
        Backup {
            id: "b-bad".into(),
            point: "bad".into(),
            parent: Some("b-good".into()),
        },
    ];
    // hourly 1 looks only at good points: the newest good one.
    let d = decide(
        &points,
        &backups,
        &Policy {
            hourly: 1,
            ..Policy::default()
        },
        chrono_tz::UTC,
        &BTreeSet::new(),
    );
    assert_eq!(
        d.keep.keys().cloned().collect::<Vec<_>>(),
        vec!["good".to_string()]
    );
    assert_eq!(d.expire, vec!["old".to_string(), "bad".to_string()]);
    assert_eq!(d.delete_backups, vec!["b-bad".to_string()]);
    assert_eq!(d.kept_for_chain, ["b-old".to_string()].into());
}

#[test]
fn no_retain_clause_keeps_everything_and_periods_follow_the_time_zone() {
    let (points, backups) = history();
    let d = decide(
        &points,
        &backups,
        &Policy::default(),
        chrono_tz::UTC,
        &BTreeSet::new(),
    );
    assert_eq!(d.keep.len(), 200);
    assert!(d.expire.is_empty() && d.delete_backups.is_empty());

    // 22:00 UTC on Jan 1 is 07:00 Jan 2 in Tokyo: `daily 2` there keeps
    // the newest point of the Tokyo days, not of the UTC days.
    let t0 = start();
    let pts: Vec<Point> = [20, 22, 26]
        .iter()
        .map(|h| Point {
            id: format!("h{h}"),
            taken: t0 + Duration::hours(*h),
            good: true,
        })
        .collect();
    let utc = decide(
        &pts,
        &[],
        &Policy {
            daily: 2,
            ..Policy::default()
        },
        chrono_tz::UTC,
        &BTreeSet::new(),
    );
    assert_eq!(
        utc.keep.keys().cloned().collect::<Vec<_>>(),
        vec!["h22", "h26"]
    );
    let tokyo = decide(
        &pts,
        &[],
        &Policy {
            daily: 2,
            ..Policy::default()
        },
        chrono_tz::Asia::Tokyo,
        &BTreeSet::new(),
    );
    // Tokyo: h20 → Jan 2 05:00, h22 → Jan 2 07:00, h26 → Jan 2 11:00: one day.
    assert_eq!(tokyo.keep.keys().cloned().collect::<Vec<_>>(), vec!["h26"]);
}
