//! Never two runs of the same runbook with the same parameters at once.
//!
//! A lock is a row of the history's `locks` table: the job key (runbook +
//! parameters hash), the run holding it and its owner process. Because it
//! lives in the sqlite file it survives a daemon restart: a lock whose owner
//! still runs is held; a lock whose owner died (kill -9, a crash) is stale
//! and the next daemon takes it over — to resume that run, not to start a
//! second one.
//!
//! A run holds its lock through a [`crate::run_store::Lease`]; nothing
//! else takes or releases one.

use crate::history::{ts, History, HistoryError};
use crate::owner::Owner;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

/// The key of a runbook + parameters: `runbook` as the user named it (a
/// file or a bundled name; see [`runbook_identity`]), the same whoever runs
/// it — `lifeboat run`, the demo, the daemon.
pub fn job_key(runbook: &str, params: &serde_json::Map<String, serde_json::Value>) -> String {
    format!(
        "{}#{}",
        runbook_identity(runbook),
        crate::history::params_hash(params)
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// Taken now (no lock was there).
    Fresh,
    /// Taken over from a dead owner; the run it held (to be resumed).
    TakenOver { run_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub run_id: String,
    pub owner: String,
    /// When it was taken (RFC 3339).
    pub since: String,
}

impl Held {
    /// `run R (pid P, since T)`: who holds a lock, for an error message.
    pub fn describe(&self) -> String {
        let pid = Owner::decode(&self.owner)
            .map(|o| o.pid.to_string())
            .unwrap_or_else(|| self.owner.clone());
        format!("run {} (pid {pid}, since {})", self.run_id, self.since)
    }
}

/// What names a runbook in a lock key: a file by its canonical path (so
/// `./protect.dr` and `/abs/protect.dr` are the same runbook), a bundled
/// runbook by its name.
pub fn runbook_identity(input: &str) -> String {
    match std::fs::canonicalize(input) {
        Ok(p) if p.is_file() => p.display().to_string(),
        _ => input.to_string(),
    }
}

impl History {
    /// Take the lock `key` for `run_id`; `Err(Held)` when a live process holds it
    /// (this one included: one daemon never overlaps its own runs).
    pub fn try_lock(
        &self,
        key: &str,
        run_id: &str,
        owner: &Owner,
        at: DateTime<Utc>,
    ) -> Result<Result<Acquired, Held>, HistoryError> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        // BEGIN IMMEDIATE semantics: take the write lock before reading.
        tx.execute("UPDATE locks SET key = key WHERE key = ?1", params![key])
            .map_err(|e| self.err(e))?;
        let cur: Option<(String, String, String)> = tx
            .query_row(
                "SELECT run_id, owner, acquired FROM locks WHERE key = ?1",
                params![key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let got = match cur {
            Some((held_run, held_owner, since)) => {
                let live = Owner::decode(&held_owner).is_some_and(|o| o.alive());
                if live {
                    return Ok(Err(Held {
                        run_id: held_run,
                        owner: held_owner,
                        since,
                    }));
                }
                Acquired::TakenOver { run_id: held_run }
            }
            None => Acquired::Fresh,
        };
        tx.execute(
            "INSERT INTO locks (key, run_id, owner, acquired) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(key) DO UPDATE SET run_id = excluded.run_id, owner = excluded.owner, acquired = excluded.acquired",
            params![key, run_id, owner.encode(), ts(at)],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(Ok(got))
    }

    /// Release `key` if `run_id` holds it.
    pub fn unlock(&self, key: &str, run_id: &str) -> Result<(), HistoryError> {
        self.conn
            .execute(
                "DELETE FROM locks WHERE key = ?1 AND run_id = ?2",
                params![key, run_id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Who holds `key`, if anyone (live or not).
    pub fn lock_holder(&self, key: &str) -> Result<Option<Held>, HistoryError> {
        self.conn
            .query_row(
                "SELECT run_id, owner, acquired FROM locks WHERE key = ?1",
                params![key],
                |r| {
                    Ok(Held {
                        run_id: r.get(0)?,
                        owner: r.get(1)?,
                        since: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }
}
