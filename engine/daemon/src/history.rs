//! The run history: every run (`lifeboat run`, the daemon's scheduled runs
//! and its retention runs) in one sqlite file under the state dir,
//! `<state>/history.sqlite`. It survives restarts; `lifeboat runs` queries
//! it; the metrics are computed from it. The run's journal stays the record
//! of what the run did (`lifeboat show RUN` reads that); the history holds
//! one row per run to query and aggregate.
//!
//! Tables: `runs` (one row per run), `points` and `backups` (the recovery
//! points protect runs made, and their backups with their incremental
//! parents: what retention works on), `locks` (see [`crate::lock`]).
//! Times are RFC 3339 UTC with milliseconds, so text order is time order.

use crate::owner::Owner;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const HISTORY_FILE: &str = "history.sqlite";

#[derive(Debug, thiserror::Error)]
#[error("run history {path}: {msg}")]
pub struct HistoryError {
    pub path: String,
    pub msg: String,
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// `lifeboat run`.
    Manual,
    /// The daemon, on the job's schedule.
    Scheduled,
    /// The daemon, expiring recovery points after a protect.
    Retention,
    /// The daemon, fencing a recovered VNF's old site when it answers.
    Fence,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Manual => "manual",
            RunKind::Scheduled => "scheduled",
            RunKind::Retention => "retention",
            RunKind::Fence => "fence",
        }
    }
    fn parse(s: &str) -> RunKind {
        match s {
            "scheduled" => RunKind::Scheduled,
            "retention" => RunKind::Retention,
            "fence" => RunKind::Fence,
            _ => RunKind::Manual,
        }
    }
}

/// A run as it starts.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub id: String,
    pub runbook: String,
    /// The daemon job (`None` for `lifeboat run`).
    pub job: Option<String>,
    pub kind: RunKind,
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Which cloud served which site (`site-a=emulator, …`): names only.
    pub cloud: String,
    pub run_dir: PathBuf,
    pub started: DateTime<Utc>,
    pub owner: Owner,
}

impl NewRun {
    /// The run as stored, not ended yet.
    pub fn row(&self) -> RunRow {
        RunRow {
            id: self.id.clone(),
            runbook: self.runbook.clone(),
            job: self.job.clone(),
            kind: self.kind,
            params_hash: params_hash(&self.params),
            params: serde_json::Value::Object(self.params.clone()),
            cloud: self.cloud.clone(),
            run_dir: self.run_dir.display().to_string(),
            started: ts(self.started),
            ended: None,
            outcome: None,
            duration_ms: None,
            rpo_point: None,
            quiesce_ms: None,
            bytes: None,
            owner: self.owner.encode(),
        }
    }
}

impl RunRow {
    /// The same run, ended as `end` says.
    pub fn ended(mut self, end: &RunEnd) -> RunRow {
        self.ended = Some(ts(end.ended));
        self.outcome = Some(end.outcome.clone());
        self.duration_ms = end.duration_ms;
        self.rpo_point = end.rpo_point.clone();
        self.quiesce_ms = end.quiesce_ms;
        self.bytes = Some(end.bytes);
        self
    }
}

/// How a run ended.
#[derive(Debug, Clone, Default)]
pub struct RunEnd {
    pub ended: DateTime<Utc>,
    /// `succeeded`, `failed`, `interrupted`.
    pub outcome: String,
    pub duration_ms: Option<u64>,
    /// The recovery point the run wrote or read (its snapshot time).
    pub rpo_point: Option<String>,
    /// The longest quiesce window of the run.
    pub quiesce_ms: Option<u64>,
    pub bytes: u64,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    pub runbook: String,
    pub job: Option<String>,
    pub kind: RunKind,
    pub params_hash: String,
    pub params: serde_json::Value,
    pub cloud: String,
    pub run_dir: String,
    pub started: String,
    pub ended: Option<String>,
    pub outcome: Option<String>,
    pub duration_ms: Option<u64>,
    pub rpo_point: Option<String>,
    pub quiesce_ms: Option<u64>,
    pub bytes: Option<u64>,
    pub owner: String,
}

impl RunRow {
    /// `succeeded`/`failed`/`interrupted` once ended; `running` while its
    /// owner lives; `interrupted` when the owner died before the end (the
    /// journal may still hold a later end: see the CLI's `runs`).
    pub fn status(&self) -> String {
        if let Some(o) = &self.outcome {
            return o.clone();
        }
        match Owner::decode(&self.owner) {
            Some(o) if o.alive() => "running".into(),
            _ => "interrupted".into(),
        }
    }
}

/// A query of `runs`.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub runbook: Option<String>,
    pub job: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// A recovery point (a protect run that wrote a manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointRow {
    /// The protect run's id (also in the manifest's name).
    pub run_id: String,
    pub job: String,
    pub vnf: String,
    /// The snapshot time: the point's age counts from it.
    pub taken: String,
    pub manifest_site: String,
    pub backup_site: String,
    pub expired: Option<String>,
}

/// A backup a protect run made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupRow {
    pub id: String,
    pub point: String,
    pub parent: Option<String>,
    pub origin: String,
    pub site: String,
    pub deleted: Option<String>,
}

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A stored time: written by [`ts`], or a recovery point's time as Cinder
/// gives it (zone-less UTC); read by the client's one reader.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    lifeboat_openstack::types::parse_time(s)
}

/// sha256 of the parameters with their keys sorted: runs of the same
/// runbook with the same parameters share it.
pub fn params_hash(params: &serde_json::Map<String, serde_json::Value>) -> String {
    use sha2::Digest;
    let sorted: std::collections::BTreeMap<&String, &serde_json::Value> = params.iter().collect();
    let text = serde_json::to_string(&sorted).unwrap_or_default();
    hex::encode(sha2::Sha256::digest(text.as_bytes()))[..16].to_string()
}

pub struct History {
    pub(crate) conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, runbook TEXT NOT NULL, job TEXT, kind TEXT NOT NULL,
  params_hash TEXT NOT NULL, params TEXT NOT NULL, cloud TEXT NOT NULL, run_dir TEXT NOT NULL,
  started TEXT NOT NULL, ended TEXT, outcome TEXT, duration_ms INTEGER, rpo_point TEXT,
  quiesce_ms INTEGER, bytes INTEGER, owner TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started);
CREATE TABLE IF NOT EXISTS points (
  run_id TEXT PRIMARY KEY, job TEXT NOT NULL, vnf TEXT NOT NULL, taken TEXT NOT NULL,
  manifest_site TEXT NOT NULL, backup_site TEXT NOT NULL, expired TEXT);
CREATE TABLE IF NOT EXISTS backups (
  id TEXT PRIMARY KEY, point TEXT NOT NULL, parent TEXT, origin TEXT NOT NULL,
  site TEXT NOT NULL, deleted TEXT);
CREATE TABLE IF NOT EXISTS locks (
  key TEXT PRIMARY KEY, run_id TEXT NOT NULL, owner TEXT NOT NULL, acquired TEXT NOT NULL);
";

impl History {
    /// Open (creating) `<state>/history.sqlite`.
    pub fn open(state: &Path) -> Result<History, HistoryError> {
        let path = state.join(HISTORY_FILE);
        let err = |msg: String| HistoryError {
            path: path.display().to_string(),
            msg,
        };
        std::fs::create_dir_all(state)
            .map_err(|e| err(format!("cannot create the state dir: {e}")))?;
        let conn = Connection::open(&path).map_err(|e| err(e.to_string()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| err(e.to_string()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| err(e.to_string()))?;
        conn.execute_batch(SCHEMA).map_err(|e| err(e.to_string()))?;
        Ok(History { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn err(&self, e: impl std::fmt::Display) -> HistoryError {
        HistoryError {
            path: self.path.display().to_string(),
            msg: e.to_string(),
        }
    }

    pub fn record_start(&self, r: &NewRun) -> Result<(), HistoryError> {
        let sites = serde_json::Value::Object(r.params.clone()).to_string();
        self.conn
            .execute(
                "INSERT INTO runs (id, runbook, job, kind, params_hash, params, cloud, run_dir, started, owner)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, ended = NULL, outcome = NULL",
                params![
                    r.id,
                    r.runbook,
                    r.job,
                    r.kind.as_str(),
                    params_hash(&r.params),
                    sites,
                    r.cloud,
                    r.run_dir.display().to_string(),
                    ts(r.started),
                    r.owner.encode()
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A resumed run gets a new owner (the process resuming it).
    pub fn take_over(&self, id: &str, owner: &Owner) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "UPDATE runs SET owner = ?2, ended = NULL, outcome = NULL WHERE id = ?1",
                params![id, owner.encode()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn record_end(&self, id: &str, end: &RunEnd) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "UPDATE runs SET ended = ?2, outcome = ?3, duration_ms = ?4, rpo_point = ?5, quiesce_ms = ?6, bytes = ?7 WHERE id = ?1",
                params![
                    id,
                    ts(end.ended),
                    end.outcome,
                    end.duration_ms.map(|v| v as i64),
                    end.rpo_point,
                    end.quiesce_ms.map(|v| v as i64),
                    end.bytes as i64
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn row(r: &rusqlite::Row) -> rusqlite::Result<RunRow> {
        let params: String = r.get("params")?;
        let kind: String = r.get("kind")?;
        Ok(RunRow {
            id: r.get("id")?,
            runbook: r.get("runbook")?,
            job: r.get("job")?,
            kind: RunKind::parse(&kind),
            params_hash: r.get("params_hash")?,
            params: serde_json::from_str(&params).unwrap_or(serde_json::Value::Null),
            cloud: r.get("cloud")?,
            run_dir: r.get("run_dir")?,
            started: r.get("started")?,
            ended: r.get("ended")?,
            outcome: r.get("outcome")?,
            duration_ms: r.get::<_, Option<i64>>("duration_ms")?.map(|v| v as u64),
            rpo_point: r.get("rpo_point")?,
            quiesce_ms: r.get::<_, Option<i64>>("quiesce_ms")?.map(|v| v as u64),
            bytes: r.get::<_, Option<i64>>("bytes")?.map(|v| v as u64),
            owner: r.get("owner")?,
        })
    }

    /// Runs matching `q`, oldest first.
    pub fn runs(&self, q: &Query) -> Result<Vec<RunRow>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT * FROM runs WHERE (?1 IS NULL OR runbook = ?1) AND (?2 IS NULL OR job = ?2)
                 AND (?3 IS NULL OR started >= ?3) ORDER BY started, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![q.runbook, q.job, q.since.map(ts)], Self::row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    pub fn run(&self, id: &str) -> Result<Option<RunRow>, HistoryError> {
        self.conn
            .query_row("SELECT * FROM runs WHERE id = ?1", params![id], Self::row)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Runs with no end recorded (going on, or left by a crash).
    pub fn unfinished(&self) -> Result<Vec<RunRow>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT * FROM runs WHERE ended IS NULL ORDER BY started")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], Self::row).map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// When the job last started a scheduled run.
    pub fn last_start(&self, job: &str) -> Result<Option<DateTime<Utc>>, HistoryError> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT MAX(started) FROM runs WHERE job = ?1 AND kind = 'scheduled'",
                params![job],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(s.as_deref().and_then(parse_ts))
    }

    /// Record a recovery point and its backups (idempotent).
    pub fn add_point(&self, p: &PointRow, backups: &[BackupRow]) -> Result<(), HistoryError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT OR IGNORE INTO points (run_id, job, vnf, taken, manifest_site, backup_site) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![p.run_id, p.job, p.vnf, p.taken, p.manifest_site, p.backup_site],
        )
        .map_err(|e| self.err(e))?;
        for b in backups {
            tx.execute(
                "INSERT OR IGNORE INTO backups (id, point, parent, origin, site) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![b.id, b.point, b.parent, b.origin, b.site],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// The job's recovery points not expired yet, oldest first.
    pub fn points(&self, job: &str) -> Result<Vec<PointRow>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT run_id, job, vnf, taken, manifest_site, backup_site, expired FROM points WHERE job = ?1 AND expired IS NULL ORDER BY taken, run_id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![job], |r| {
                Ok(PointRow {
                    run_id: r.get(0)?,
                    job: r.get(1)?,
                    vnf: r.get(2)?,
                    taken: r.get(3)?,
                    manifest_site: r.get(4)?,
                    backup_site: r.get(5)?,
                    expired: r.get(6)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// The job's backups not deleted yet (also those of expired points that
    /// a kept backup still needed).
    pub fn backups(&self, job: &str) -> Result<Vec<BackupRow>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT b.id, b.point, b.parent, b.origin, b.site, b.deleted FROM backups b JOIN points p ON p.run_id = b.point
                 WHERE p.job = ?1 AND b.deleted IS NULL ORDER BY b.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![job], |r| {
                Ok(BackupRow {
                    id: r.get(0)?,
                    point: r.get(1)?,
                    parent: r.get(2)?,
                    origin: r.get(3)?,
                    site: r.get(4)?,
                    deleted: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// After a successful retention run.
    pub fn mark_expired(
        &self,
        points: &[String],
        backups: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), HistoryError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        for p in points {
            tx.execute(
                "UPDATE points SET expired = ?2 WHERE run_id = ?1",
                params![p, ts(at)],
            )
            .map_err(|e| self.err(e))?;
        }
        for b in backups {
            tx.execute(
                "UPDATE backups SET deleted = ?2 WHERE id = ?1",
                params![b, ts(at)],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// The newest recovery point of the job (expired or not: an expired
    /// point is never the newest).
    pub fn newest_point(&self, job: &str) -> Result<Option<DateTime<Utc>>, HistoryError> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT MAX(taken) FROM points WHERE job = ?1 AND expired IS NULL",
                params![job],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(s.as_deref().and_then(parse_ts))
    }
}
