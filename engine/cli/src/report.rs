//! The final report of a run: the executor's [`Report`] (steps, quiesce
//! windows, bytes, compensation, failures) plus the recovery figures the CLI
//! reads from the manifest-typed step results in the journal:
//!
//! - **RPO**, the age of the recovery point. For a recover run (it read a
//!   manifest): the run's end − the manifest's `snapshot_time`. For a protect
//!   run (it wrote one): 0 at the end — the new point is `snapshot_time`.
//! - **RTO**, the time to recover: a recover run's duration.
//!
//! Stored as `report.json` in the run dir; `lifeboat show` prints it again.

use crate::error::Exit;
use lifeboat_daemon::points::Manifest;
use lifeboat_daemon::run_dir::{RunDir, RunFile};
use lifeboat_exec::journal::Record;
use lifeboat_exec::{Report, RunOutcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt::Write;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    /// The run wrote a recovery point (protect).
    Protect,
    /// The run recovered from one (recover, failover, drill).
    Recover,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recovery {
    pub kind: PointKind,
    pub vnf: String,
    /// When the recovery point's content was captured.
    pub snapshot_time: String,
    pub rpo_ms: Option<u64>,
    pub rto_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    #[serde(flatten)]
    pub run: Report,
    pub finished_at: String,
    pub recovery: Option<Recovery>,
}

impl RunReport {
    /// The report of the run that just ended in `dir`, from its events and
    /// its journal, kept in the run directory for `lifeboat show`.
    pub fn write_for(run: Report, dir: &RunDir) -> Result<RunReport, String> {
        let journal = dir
            .journal()
            .map_err(|e| format!("cannot read the journal: {e}"))?;
        let rr = RunReport::build(run, &journal);
        dir.write(RunFile::Report, &rr)?;
        Ok(rr)
    }

    /// The run's report in `dir` after a `cleanup` of it (by hand or by the
    /// daemon looking for late twins), from the cleanup's events: what is
    /// left is the cleanup's view, the run's steps and figures stand (see
    /// [`Report::after_cleanup`]). Without a report there, the cleanup's.
    pub fn write_cleanup_for(cleanup: Report, dir: &RunDir) -> Result<RunReport, String> {
        let rr = match dir.read::<RunReport>(RunFile::Report) {
            Ok(prev) => RunReport {
                run: prev.run.after_cleanup(cleanup),
                ..prev
            },
            Err(_) => {
                let journal = dir
                    .journal()
                    .map_err(|e| format!("cannot read the journal: {e}"))?;
                RunReport::build(cleanup, &journal)
            }
        };
        dir.write(RunFile::Report, &rr)?;
        Ok(rr)
    }

    /// The report at the end of a run, from its events and its journal.
    pub fn build(run: Report, journal: &[Record]) -> RunReport {
        let now = chrono::Utc::now();
        let recovery = recovery(journal).map(|(kind, m)| {
            let snapshot_time = m
                .get("snapshot_time")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let vnf = m
                .get("vnf")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            // RFC 3339, or (as Cinder writes `created_at`) zone-less UTC.
            let at = lifeboat_openstack::types::parse_time(&snapshot_time);
            let (rpo_ms, rto_ms) = match kind {
                PointKind::Protect => (at.map(|_| 0), None),
                PointKind::Recover => (
                    at.map(|t| (now - t).num_milliseconds().max(0) as u64),
                    run.duration_ms,
                ),
            };
            Recovery {
                kind,
                vnf,
                snapshot_time,
                rpo_ms,
                rto_ms,
            }
        });
        RunReport {
            run,
            finished_at: now.to_rfc3339(),
            recovery,
        }
    }

    pub fn render_text(&self) -> String {
        let mut o = self.run.render_text();
        if let Some(r) = &self.recovery {
            let point = if r.snapshot_time.is_empty() {
                "unknown"
            } else {
                &r.snapshot_time
            };
            match r.kind {
                PointKind::Protect => {
                    let _ = writeln!(
                        o,
                        "recovery point of {}: {point} (RPO at the end of this run: 0s)",
                        r.vnf
                    );
                }
                PointKind::Recover => {
                    let _ = writeln!(o, "recovered {} from the point of {point}", r.vnf);
                    if let Some(ms) = r.rpo_ms {
                        let _ = writeln!(o, "RPO (age of the recovery point): {}", fmt_ms(ms));
                    }
                    if let Some(ms) = r.rto_ms {
                        let _ = writeln!(o, "RTO (time to recover): {}", fmt_ms(ms));
                    }
                }
            }
        }
        o
    }

    /// How the command that ran (or picked up) the run ends.
    pub fn exit_code(&self) -> Exit {
        match &self.run.outcome {
            Some(RunOutcome::Succeeded | RunOutcome::AwaitingCommit { .. }) => Exit::Ok,
            Some(RunOutcome::RolledBack { .. })
                if self.run.orphans.is_empty() && self.run.thaw_failures.is_empty() =>
            {
                Exit::Ok
            }
            Some(RunOutcome::Interrupted { .. }) => Exit::Interrupted,
            _ => Exit::RunFailed,
        }
    }
}

/// The manifest a run wrote (protect) or read (recover), from the journal.
fn recovery(journal: &[Record]) -> Option<(PointKind, serde_json::Map<String, Value>)> {
    Some(match lifeboat_daemon::points::manifest(journal)? {
        Manifest::Written(m) => (PointKind::Protect, m.clone()),
        Manifest::Read(m) => (PointKind::Recover, m.clone()),
    })
}

pub fn fmt_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

pub fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_exec::journal::CallRec;

    fn intent(instance: &str, action: &str) -> Record {
        Record::StepIntent {
            instance: instance.into(),
            node: lifeboat_dsl::plan::StepId(0),
            frame: Default::default(),
            call: CallRec {
                action: action.into(),
                tag: "t".into(),
                site: None,
                args: Default::default(),
            },
        }
    }

    fn outcome(instance: &str, v: Value) -> Record {
        Record::StepOutcome {
            instance: instance.into(),
            value: Some(v),
            bytes_moved: 0,
            error: None,
            reconciled: false,
            uncertain: false,
        }
    }

    #[test]
    fn recover_rpo_is_the_age_of_the_manifest_point_and_rto_the_duration() {
        // Cinder's created_at has no zone: it is UTC
        let t = (chrono::Utc::now() - chrono::Duration::seconds(90))
            .format("%Y-%m-%dT%H:%M:%S%.6f")
            .to_string();
        let j = vec![
            intent("m", "lifeboat.read_manifest"),
            outcome("m", serde_json::json!({"vnf": "vims", "snapshot_time": t})),
        ];
        let mut run = Report::default();
        run.duration_ms = Some(4200);
        let r = RunReport::build(run, &j);
        let rec = r.recovery.expect("a recovery");
        assert_eq!(rec.kind, PointKind::Recover);
        let rpo = rec.rpo_ms.expect("rpo");
        assert!((90_000..100_000).contains(&rpo), "rpo {rpo}");
        assert_eq!(rec.rto_ms, Some(4200));
    }

    #[test]
    fn protect_rpo_is_zero_and_other_runs_have_none() {
        let j = vec![
            intent("w", "lifeboat.write_manifest"),
            outcome(
                "w",
                serde_json::json!({"vnf": "vims", "snapshot_time": "2026-11-25T01:00:03Z"}),
            ),
        ];
        let r = RunReport::build(Report::default(), &j);
        let rec = r.recovery.expect("a recovery");
        assert_eq!(
            (rec.kind, rec.rpo_ms, rec.rto_ms),
            (PointKind::Protect, Some(0), None)
        );
        let none = RunReport::build(
            Report::default(),
            &[
                intent("x", "nova.find_servers"),
                outcome("x", serde_json::json!({})),
            ],
        );
        assert!(none.recovery.is_none());
    }
}
