//! Bounded incremental chains: how many incrementals the newest recovery
//! point's backups stand on, and so whether the next protect should be full
//! (`full_every`). A pure function of the history's points and backups.

use crate::history::{BackupRow, PointRow};
use std::collections::HashMap;

/// The longest run of incremental backups under the newest point: for each
/// of its backups, the number of ancestors reachable through `parent` among
/// `backups` (a full backup counts 0). 0 when there is no point yet.
pub fn incrementals_of_newest(points: &[PointRow], backups: &[BackupRow]) -> usize {
    let Some(newest) = points
        .iter()
        .max_by(|a, b| (&a.taken, &a.run_id).cmp(&(&b.taken, &b.run_id)))
    else {
        return 0;
    };
    let by_id: HashMap<&str, &BackupRow> = backups.iter().map(|b| (b.id.as_str(), b)).collect();
    backups
        .iter()
        .filter(|b| b.point == newest.run_id)
        .map(|b| {
            let mut depth = 0;
            let mut cur = b.parent.as_deref();
            // Bounded by the number of backups: a parent cycle cannot loop.
            while let Some(p) = cur {
                if depth > backups.len() {
                    break;
                }
                depth += 1;
                cur = by_id.get(p).and_then(|x| x.parent.as_deref());
            }
            depth
        })
        .max()
        .unwrap_or(0)
}

/// Whether the next protect must be full: the newest point's chain already
/// holds `full_every` incrementals (so a chain is at most one full backup and
/// `full_every` incrementals). No point yet: the first backup is full anyway.
pub fn next_is_full(full_every: usize, points: &[PointRow], backups: &[BackupRow]) -> bool {
    !points.is_empty() && incrementals_of_newest(points, backups) >= full_every
}
