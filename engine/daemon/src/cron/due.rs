//! When a schedule is due: standard 5-field cron read in a time zone
//! (croner finds the wall-clock matches; the zone rules of chrono-tz turn
//! them into instants).
//!
//! Daylight saving time, wall-clock semantics — each local wall time that
//! matches runs at most once:
//!
//! - **Spring forward** (02:00 → 03:00): a match inside the skipped hour
//!   (02:30) runs once, at the first instant after the gap (03:00 local).
//! - **Fall back** (02:00 → 01:00): a match inside the repeated hour (01:30)
//!   runs once, at its first occurrence; the second pass of that hour does
//!   not run it again.
//!
//! Missed runs: [`Due::missed`] says whether at least one fire time fell in
//! `(last, now]`; the daemon then runs **once**, however many were missed.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;

#[derive(Debug, Clone)]
pub struct Due {
    cron: Cron,
    tz: Tz,
    text: String,
}

impl Due {
    /// `tz` is an IANA name (`Europe/Paris`); `None` is UTC.
    pub fn parse(expr: &str, tz: Option<&str>) -> Result<Due, String> {
        lifeboat_dsl::cron::check_cron(expr).map_err(|e| format!("schedule `{expr}`: {e}"))?;
        let cron = Cron::new(expr)
            .parse()
            .map_err(|e| format!("schedule `{expr}`: {e}"))?;
        let tz: Tz = match tz {
            None | Some("") => Tz::UTC,
            Some(name) => name
                .parse()
                .map_err(|_| format!("schedule `{expr}`: unknown time zone `{name}` (use an IANA name such as Europe/Paris)"))?,
        };
        Ok(Due {
            cron,
            tz,
            text: expr.to_string(),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The first fire time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut probe = t.with_timezone(&self.tz).naive_local();
        // Each turn moves `probe` to a later wall-clock match; a match is
        // passed over only when its instant is not after `t` (the first
        // pass of a repeated hour already went by), so few turns are needed.
        for _ in 0..10_000 {
            let wall = self
                .cron
                .find_next_occurrence(&Utc.from_utc_datetime(&probe), false)
                .ok()?
                .naive_utc();
            let instant = self.instant_of(wall)?;
            if instant > t {
                return Some(instant);
            }
            probe = wall;
        }
        None
    }

    /// The latest fire time in `(last, now]`, if any: a run was missed.
    pub fn missed(&self, last: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut found = None;
        let mut t = last;
        while let Some(n) = self.next_after(t) {
            if n > now {
                break;
            }
            found = Some(n);
            t = n;
        }
        found
    }

    /// The instant of a local wall time: itself; the first of two (the
    /// repeated hour); the end of the gap (the skipped hour).
    fn instant_of(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&wall) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
            LocalResult::None => {
                // Walk forward minute by minute to the end of the gap (gaps
                // are at most a few hours in the tz database).
                let base = wall.with_second(0)?.with_nanosecond(0)?;
                for i in 1..=(26 * 60) {
                    let w = base + chrono::Duration::minutes(i);
                    match self.tz.from_local_datetime(&w) {
                        LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
                        LocalResult::Ambiguous(a, b) => return Some(a.min(b).with_timezone(&Utc)),
                        LocalResult::None => {}
                    }
                }
                None
            }
        }
    }
}
