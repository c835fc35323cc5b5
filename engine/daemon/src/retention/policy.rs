//! Grandfather-father-son retention over recovery points — a pure function
//! of the points, their backups, the policy, the time zone and what is in use.
//!
//! Kept points, newest first over the good points:
//! - `last N`: the N newest;
//! - `hourly N`, `daily N`, `weekly N` (ISO weeks), `monthly N`: the newest
//!   point of each of the N newest hours / days / weeks / months that have
//!   one (calendar periods in the policy's time zone);
//! - always the newest good point, whatever the counts say;
//! - every point a running recover is reading (`in_use`).
//!
//! Backups: a kept point keeps its backups and, through `parent`, every
//! ancestor of an incremental chain (an incremental backup restores only
//! with its parents). Everything else is deleted: the expired points'
//! manifests first, then their backups, children before parents (Cinder
//! refuses to delete a backup that has dependents).
//!
//! A policy with no count at all keeps everything (no `retain` clause means
//! nothing expires).

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

impl Policy {
    pub fn from_plan(r: &lifeboat_dsl::plan::Retention) -> Policy {
        Policy {
            last: r.last.unwrap_or(0),
            hourly: r.hourly.unwrap_or(0),
            daily: r.daily.unwrap_or(0),
            weekly: r.weekly.unwrap_or(0),
            monthly: r.monthly.unwrap_or(0),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Policy::default()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub id: String,
    pub taken: DateTime<Utc>,
    /// A point whose protect succeeded (only good points count for the
    /// policy; a bad one is expired unless a good point's chain needs it).
    pub good: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    pub id: String,
    /// The point (protect run) that made it.
    pub point: String,
    /// The incremental parent, `None` for a full backup.
    pub parent: Option<String>,
}

/// Why a point is kept (the first reason found, for the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Newest,
    InUse,
    Last,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    NoPolicy,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Decision {
    /// Kept points and why, by id.
    pub keep: BTreeMap<String, Vec<Reason>>,
    /// Points to expire (their manifests are deleted), oldest first.
    pub expire: Vec<String>,
    /// Backups to delete, children before parents.
    pub delete_backups: Vec<String>,
    /// Backups of expired points kept because a kept backup chains on them.
    pub kept_for_chain: BTreeSet<String>,
}

/// The calendar period a time falls in (hour, day, ISO week or month).
type Period = fn(DateTime<Tz>) -> (i32, u32, u32, u32);

/// Decide. `points` and `backups` in any order.
pub fn decide(
    points: &[Point],
    backups: &[Backup],
    policy: &Policy,
    tz: Tz,
    in_use: &BTreeSet<String>,
) -> Decision {
    let mut good: Vec<&Point> = points.iter().filter(|p| p.good).collect();
    good.sort_by(|a, b| b.taken.cmp(&a.taken).then(b.id.cmp(&a.id)));
    let mut keep: BTreeMap<String, Vec<Reason>> = BTreeMap::new();
    let mut add = |id: &str, r: Reason| keep.entry(id.to_string()).or_default().push(r);
    if policy.is_empty() {
        for p in points {
            add(&p.id, Reason::NoPolicy);
        }
    } else {
        if let Some(p) = good.first() {
            add(&p.id, Reason::Newest);
        }
        for p in good.iter().take(policy.last as usize) {
            add(&p.id, Reason::Last);
        }
        let buckets: [(u32, Reason, Period); 4] = [
            (policy.hourly, Reason::Hourly, |t| {
                (t.year(), t.month(), t.day(), t.hour())
            }),
            (policy.daily, Reason::Daily, |t| {
                (t.year(), t.month(), t.day(), 0)
            }),
            (policy.weekly, Reason::Weekly, |t| {
                let w = t.iso_week();
                (w.year(), w.week(), 0, 0)
            }),
            (policy.monthly, Reason::Monthly, |t| {
                (t.year(), t.month(), 0, 0)
            }),
        ];
        for (n, reason, bucket) in buckets {
            let mut seen = BTreeSet::new();
            for p in &good {
                if seen.len() >= n as usize {
                    break;
                }
                // Newest first: the first point of a period is its newest.
                if seen.insert(bucket(p.taken.with_timezone(&tz))) {
                    add(&p.id, reason);
                }
            }
        }
    }
    for p in points {
        if in_use.contains(&p.id) {
            add(&p.id, Reason::InUse);
        }
    }
    let mut expire: Vec<&Point> = points
        .iter()
        .filter(|p| !keep.contains_key(&p.id))
        .collect();
    expire.sort_by(|a, b| a.taken.cmp(&b.taken).then(a.id.cmp(&b.id)));

    // Backups: what the kept points need, parents included.
    let by_id: HashMap<&str, &Backup> = backups.iter().map(|b| (b.id.as_str(), b)).collect();
    let mut needed: BTreeSet<String> = BTreeSet::new();
    for b in backups.iter().filter(|b| keep.contains_key(&b.point)) {
        let mut cur = Some(b);
        let mut guard = 0;
        while let Some(x) = cur {
            if !needed.insert(x.id.clone()) || guard > backups.len() {
                break;
            }
            guard += 1;
            cur = x.parent.as_deref().and_then(|p| by_id.get(p).copied());
        }
    }
    let kept_for_chain: BTreeSet<String> = backups
        .iter()
        .filter(|b| !keep.contains_key(&b.point) && needed.contains(&b.id))
        .map(|b| b.id.clone())
        .collect();
    // Children before parents: deeper in its chain first.
    let depth = |b: &Backup| {
        let (mut d, mut cur) = (0usize, b.parent.as_deref());
        while let Some(p) = cur {
            d += 1;
            if d > backups.len() {
                break;
            }
            cur = by_id.get(p).and_then(|x| x.parent.as_deref());
        }
        d
    };
    let mut delete: Vec<&Backup> = backups.iter().filter(|b| !needed.contains(&b.id)).collect();
    delete.sort_by(|a, b| depth(b).cmp(&depth(a)).then(a.id.cmp(&b.id)));
    Decision {
        keep,
        expire: expire.into_iter().map(|p| p.id.clone()).collect(),
        delete_backups: delete.into_iter().map(|b| b.id.clone()).collect(),
        kept_for_chain,
    }
}
