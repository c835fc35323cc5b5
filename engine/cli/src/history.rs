//! Latencies measured from the run history: for every action and site, the
//! median duration of its calls in the runs kept under `<state>/runs/`.
//!
//! A run dir holds `report.json` (each step instance's action, outcome,
//! start and duration) and `journal.jsonl` (each instance's call, with its
//! site). A sample is a step instance that succeeded on its first attempt
//! and was actually called (not reused from an earlier attempt of the run):
//! retries and backoff are outside the latency model. A quiesce scope freezes
//! its targets one after the other and thaws them one after the other in
//! reverse, so the gap between two consecutive freeze starts is the first
//! one's freeze call, and the gap between two consecutive thaw ends is the
//! later one's thaw call (the report's per-target windows; the freeze and
//! thaw actions and their site come from the journal's freeze intents).
//! Runs without a report (crashed, still going) are left out; unreadable
//! files are skipped, never fatal: the table's figures remain.

use lifeboat_daemon::run_dir::{RunDir, RunFile};
use lifeboat_daemon::run_store::RunStore;
use lifeboat_dsl::estimate::Measured;
use lifeboat_exec::journal::Record;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// What the history gave.
#[derive(Debug, Default)]
pub struct History {
    /// action → site → median and sample count.
    pub measured: BTreeMap<String, BTreeMap<String, Measured>>,
}

/// Measure every finished run `store` keeps.
pub fn measure(store: &dyn RunStore) -> History {
    let mut samples: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for dir in store.dirs() {
        collect_run(&dir, &mut samples);
    }
    let mut measured: BTreeMap<String, BTreeMap<String, Measured>> = BTreeMap::new();
    for ((action, site), mut v) in samples {
        v.sort_unstable();
        measured.entry(action).or_default().insert(
            site,
            Measured {
                median_ms: median(&v),
                samples: v.len() as u32,
            },
        );
    }
    History { measured }
}

fn median(sorted: &[u64]) -> u64 {
    let n = sorted.len();
    if n == 0 {
        0
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

fn collect_run(dir: &RunDir, out: &mut BTreeMap<(String, String), Vec<u64>>) {
    let Ok(report) = dir.read::<Value>(RunFile::Report) else {
        return;
    };
    let Ok(journal) = dir.journal() else {
        return;
    };
    let sites: HashMap<&str, &str> = journal
        .iter()
        .filter_map(|r| match r {
            Record::StepIntent { instance, call, .. } => {
                Some((instance.as_str(), call.site.as_deref()?))
            }
            _ => None,
        })
        .collect();
    for s in report["steps"].as_array().into_iter().flatten() {
        let ok =
            s["outcome"] == "succeeded" && s["attempts"].as_u64() == Some(1) && s["reused"] != true;
        let (Some(instance), Some(action), Some(ms)) = (
            s["instance"].as_str(),
            s["action"].as_str(),
            s["duration_ms"].as_u64(),
        ) else {
            continue;
        };
        if !ok || action.is_empty() {
            continue;
        }
        if let Some(site) = sites.get(instance) {
            out.entry((action.to_string(), site.to_string()))
                .or_default()
                .push(ms);
        }
    }
    for scope in report["scopes"].as_array().into_iter().flatten() {
        let name = scope["scope"].as_str().unwrap_or("");
        // The scope's freeze intents, in freeze order: (freeze action, thaw action, site).
        let calls: Vec<(&str, &str, &str)> = journal
            .iter()
            .filter_map(|r| match r {
                Record::FreezeIntent {
                    scope,
                    freeze,
                    thaw,
                    ..
                } if scope == name => Some((
                    freeze.action.as_str(),
                    thaw.action.as_str(),
                    freeze.site.as_deref()?,
                )),
                _ => None,
            })
            .collect();
        let targets: Vec<&Value> = scope["targets"].as_array().into_iter().flatten().collect();
        if targets.len() != calls.len() || targets.iter().any(|t| t["thaw_failed"] == true) {
            continue;
        }
        for i in 0..targets.len().saturating_sub(1) {
            let (freeze, thaw, site) = calls[i];
            if let (Some(a), Some(b)) = (
                targets[i]["freeze_started_ms"].as_u64(),
                targets[i + 1]["freeze_started_ms"].as_u64(),
            ) {
                out.entry((freeze.to_string(), site.to_string()))
                    .or_default()
                    .push(b.saturating_sub(a));
            }
            // Target i is thawed right after target i + 1.
            if let (Some(a), Some(b)) = (
                targets[i + 1]["thawed_ms"].as_u64(),
                targets[i]["thawed_ms"].as_u64(),
            ) {
                out.entry((thaw.to_string(), site.to_string()))
                    .or_default()
                    .push(b.saturating_sub(a));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[1, 5, 9]), 5);
        assert_eq!(median(&[1, 3, 5, 100]), 4);
        assert_eq!(median(&[]), 0);
    }
}
