//! Due times across daylight saving time, and missed runs collapsing to one.

use chrono::{DateTime, Utc};
use lifeboat_daemon::cron::Due;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Every fire time in `(from, to]`.
fn fires(d: &Due, from: &str, to: &str) -> Vec<String> {
    let (mut cur, end) = (t(from), t(to));
    let mut out = Vec::new();
    while let Some(n) = d.next_after(cur) {
        if n > end {
            break;
        }
        out.push(n.to_rfc3339());
        cur = n;
    }
    out
}

#[test]
fn a_0230_schedule_on_the_spring_forward_day_runs_once_at_the_end_of_the_gap() {
    // New York, 2026-03-08: 02:00 EST → 03:00 EDT; 02:30 does not exist.
    let d = Due::parse("30 2 * * *", Some("America/New_York")).unwrap();
    assert_eq!(
        fires(&d, "2026-03-06T12:00:00Z", "2026-03-10T12:00:00Z"),
        vec![
            "2026-03-07T07:30:00+00:00", // 02:30 EST
            "2026-03-08T07:00:00+00:00", // 03:00 EDT, the first instant after the gap
            "2026-03-09T06:30:00+00:00", // 02:30 EDT
            "2026-03-10T06:30:00+00:00",
        ]
    );
    // Paris, 2026-03-29: 02:00 CET → 03:00 CEST.
    let d = Due::parse("30 2 * * *", Some("Europe/Paris")).unwrap();
    assert_eq!(
        fires(&d, "2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z"),
        vec!["2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00"]
    );
}

#[test]
fn a_0130_schedule_on_the_fall_back_day_runs_once_at_its_first_occurrence() {
    // New York, 2026-11-01: 02:00 EDT → 01:00 EST; 01:30 happens twice.
    let d = Due::parse("30 1 * * *", Some("America/New_York")).unwrap();
    assert_eq!(
        fires(&d, "2026-10-31T12:00:00Z", "2026-11-02T12:00:00Z"),
        vec!["2026-11-01T05:30:00+00:00", "2026-11-02T06:30:00+00:00"]
    );
    // A daemon (re)started in the second pass of the hour does not run it again.
    assert_eq!(
        d.next_after(t("2026-11-01T06:10:00Z")).unwrap(),
        t("2026-11-02T06:30:00Z")
    );
    // Nor does a missed-run check across the repeated hour count it twice.
    assert_eq!(
        d.missed(t("2026-11-01T05:30:00Z"), t("2026-11-01T07:00:00Z")),
        None
    );
}

#[test]
fn hourly_schedules_follow_the_wall_clock_through_both_changes() {
    let d = Due::parse("30 * * * *", Some("America/New_York")).unwrap();
    // Fall back: 00:30 EDT, 01:30 EDT, then 02:30 EST (the wall time 01:30 ran once).
    assert_eq!(
        fires(&d, "2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z"),
        vec![
            "2026-11-01T04:30:00+00:00",
            "2026-11-01T05:30:00+00:00",
            "2026-11-01T07:30:00+00:00"
        ]
    );
    // Spring forward: 01:30 EST, 02:30 → 03:00 EDT, 03:30 EDT.
    assert_eq!(
        fires(&d, "2026-03-08T06:00:00Z", "2026-03-08T08:00:00Z"),
        vec![
            "2026-03-08T06:30:00+00:00",
            "2026-03-08T07:00:00+00:00",
            "2026-03-08T07:30:00+00:00"
        ]
    );
}

#[test]
fn utc_every_four_hours_and_missed_runs_give_one_time() {
    let d = Due::parse("0 */4 * * *", None).unwrap();
    assert_eq!(
        d.next_after(t("2026-11-25T03:59:59Z")).unwrap(),
        t("2026-11-25T04:00:00Z")
    );
    assert_eq!(
        d.next_after(t("2026-11-25T04:00:00Z")).unwrap(),
        t("2026-11-25T08:00:00Z")
    );
    // Down from Monday 00:00 to Tuesday 13:00: nine fire times missed, one answer (the latest).
    assert_eq!(
        fires(&d, "2026-11-23T00:00:00Z", "2026-11-24T13:00:00Z").len(),
        9
    );
    assert_eq!(
        d.missed(t("2026-11-23T00:00:00Z"), t("2026-11-24T13:00:00Z")),
        Some(t("2026-11-24T12:00:00Z"))
    );
    assert_eq!(
        d.missed(t("2026-11-24T12:00:00Z"), t("2026-11-24T13:00:00Z")),
        None
    );
}

#[test]
fn bad_schedules_and_zones_are_refused_with_a_reason() {
    let e = Due::parse("0 */4 * *", None).unwrap_err();
    assert!(e.contains("5 fields"), "{e}");
    let e = Due::parse("61 * * * *", None).unwrap_err();
    assert!(e.contains("minute"), "{e}");
    let e = Due::parse("0 2 * * *", Some("Mars/Olympus")).unwrap_err();
    assert!(e.contains("unknown time zone `Mars/Olympus`"), "{e}");
    // Spelled days, and Sunday as 7.
    let d = Due::parse("0 3 * * sun", Some("UTC")).unwrap();
    assert_eq!(
        d.next_after(t("2026-11-25T00:00:00Z")).unwrap(),
        t("2026-11-29T03:00:00Z")
    );
    let d = Due::parse("0 3 * * 7", None).unwrap();
    assert_eq!(
        d.next_after(t("2026-11-25T00:00:00Z")).unwrap(),
        t("2026-11-29T03:00:00Z")
    );
}
