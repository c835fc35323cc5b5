//! The durable journal: one JSON object per line, appended, fsynced.
//!
//! A run directory holds `plan.json` (the plan, so that resume needs nothing
//! else) and `journal.jsonl`. Every effect is preceded by its intent record
//! and followed by its outcome record. [`Journal::append`] returns only once
//! the record is on disk (written, flushed, `fsync`ed); the executor awaits
//! it for the intents of calls that may make something, before making the
//! call ([`Journal::append_intent`]: a read's or a destroy's intent is
//! queued, not waited for). Outcomes are queued with
//! [`Journal::append_nowait`]: written at once but synced by the next
//! intent's sync (the file keeps queue order), so they are on disk before the
//! next intent is acknowledged, i.e. before the next effect — and a step
//! costs one sync, not two. An outcome lost with the machine leaves its step
//! in doubt, as a crash between the effect and its outcome does, and resume
//! reconciles it. See [`Record`].
//!
//! Group commit: one blocking flush task at a time takes every record queued
//! while the previous sync ran and writes them with one `fsync`, so a
//! fan-out of a hundred steps costs a handful of syncs, not a hundred in a
//! row. A record nobody waits for, queued while nothing is being written,
//! is written to the OS by the caller at once (no task woken for it).
//! Dropping the [`Journal`] waits for a sync in progress, so a dropped
//! (crashed) run leaves a journal that can be read back at once.
//!
//! A [`Replica`] (a cluster's store) may hold a second copy: each batch
//! goes there after the local sync and before anyone waiting on it is
//! answered, so an effect is never made that the replica does not know the
//! intent of — and a process whose replica refuses it (another owns the run
//! now) is [`CancelReason::Deposed`] and calls nothing more.
//!
//! Reading tolerates a torn last line (a crash in the middle of a write);
//! a bad line anywhere else is an error.
//!
//! The journal holds parameters and step values, which by contract carry no
//! secret, and argument values of calls (needed to reconcile and compensate).

use crate::action::Fence;
use crate::cancel::{CancelHandle, CancelReason};
use crate::eval::Frame;
use crate::event::Decision;
use crate::event::RunOutcome;
use lifeboat_dsl::plan::{Effect, Plan, StepId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use tokio::sync::oneshot;

pub const JOURNAL_FILE: &str = "journal.jsonl";
pub const PLAN_FILE: &str = "plan.json";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {msg}")]
    Io { path: String, msg: String },
    #[error("journal {path}, line {line}: {msg}")]
    Corrupt {
        path: String,
        line: usize,
        msg: String,
    },
}

/// A call as journaled: enough to make it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRec {
    pub action: String,
    pub tag: String,
    pub site: Option<String>,
    pub args: Map<String, Value>,
}

/// The `step_outcome` record of a success whose value is encoded already:
/// the executor keeps that text for the expressions that read the result
/// and for the saga, so the journal writes it as it is rather than encoding
/// the value a second time. The line is the one [`Record::StepOutcome`]
/// writes (readers read it as that).
#[derive(Debug, Serialize)]
#[serde(tag = "record", rename = "step_outcome")]
pub struct EncodedOutcome<'a> {
    pub instance: &'a str,
    pub value: &'a serde_json::value::RawValue,
    pub bytes_moved: u64,
    /// Always none: a success.
    pub error: Option<&'a str>,
    pub reconciled: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
}

/// The `step_intent` record of a step's call, borrowed from the call that
/// is about to be made: the step's arguments (a manifest's are megabytes)
/// are encoded where they are, not copied into a [`Record`] first. The line
/// is the one [`Record::StepIntent`] writes (readers read it as that).
#[derive(Debug, Serialize)]
#[serde(tag = "record", rename = "step_intent")]
pub struct EncodedIntent<'a> {
    pub instance: &'a str,
    pub node: StepId,
    pub frame: &'a Frame,
    pub call: CallRef<'a>,
}

/// A [`CallRec`], borrowed.
#[derive(Debug, Serialize)]
pub struct CallRef<'a> {
    pub action: &'a str,
    pub tag: &'a str,
    pub site: Option<&'a str>,
    pub args: &'a Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    RunStarted {
        run_id: String,
        runbook: String,
        started: String,
        plan_hash: String,
        params: Map<String, Value>,
    },
    /// A resumed run picked the journal up again.
    RunResumed {
        at: String,
    },
    StepIntent {
        instance: String,
        node: StepId,
        frame: Frame,
        call: CallRec,
    },
    /// `value` on success; `error` on failure. `reconciled`: found by
    /// `find_created` after a crash or cancel, not returned by the call.
    /// `uncertain`: a twin of the value may land later (its tag is looked
    /// for at the run's end, [`crate::action::Actions::twins`]).
    StepOutcome {
        instance: String,
        value: Option<Value>,
        bytes_moved: u64,
        error: Option<String>,
        #[serde(default)]
        reconciled: bool,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        uncertain: bool,
    },
    StepSkipped {
        instance: String,
        reason: String,
    },
    Approved {
        instance: String,
    },
    /// `key` identifies one target of one scope instance.
    FreezeIntent {
        key: String,
        scope: String,
        target: String,
        freeze: CallRec,
        thaw: CallRec,
        /// The freeze group (targets frozen together, thawed together);
        /// absent in journals of earlier versions: each target alone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<usize>,
    },
    FreezeOutcome {
        key: String,
        error: Option<String>,
    },
    ThawIntent {
        key: String,
    },
    ThawOutcome {
        key: String,
        error: Option<String>,
    },
    /// The scope's body completed and every target was thawed.
    ScopeFinished {
        scope: String,
    },
    /// An attempt of the scope (a quiesce scope with `retry`) was cut short
    /// by its watchdog or a freeze, its targets thawed and what its body did
    /// undone; attempt `attempt` follows (a resumed run goes on with it).
    ScopeRetried {
        scope: String,
        attempt: u32,
        reason: String,
    },
    /// The run failed or was interrupted, or is being rolled back;
    /// compensation follows.
    RunFailing {
        reason: String,
        interrupted: bool,
        /// A rollback of a run awaiting commit (it ends `RolledBack`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rollback: bool,
    },
    /// The decision on a run awaiting commit, and who took it (`operator`,
    /// or `default` once the deadline passed).
    Decided {
        decision: Decision,
        by: String,
        at: String,
    },
    CompensateIntent {
        instance: String,
        call: CallRec,
    },
    CompensateOutcome {
        instance: String,
        error: Option<String>,
    },
    CleanupIntent {
        instance: String,
        call: CallRec,
    },
    CleanupOutcome {
        instance: String,
        error: Option<String>,
    },
    RunFinished {
        outcome: RunOutcome,
    },
}

type Ack = oneshot::Sender<Result<(), String>>;

/// Why a [`Replica`] did not take a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    /// Another process owns the run now: this one must stop acting at once.
    #[error("deposed: {0}")]
    Deposed(String),
    /// It could not be written (and waiting longer would not help).
    #[error("{0}")]
    Failed(String),
}

/// A second home of a run's journal, kept in step with the local file.
pub trait Replica: Send + Sync + std::fmt::Debug {
    /// Store `batch` (whole JSON lines, in journal order) after those given
    /// before. Blocking: called on the journal's flush thread, which waits
    /// for it (a store that is only unavailable for a while is waited for
    /// here, so the run pauses before its next effect).
    fn append(&self, batch: &[u8]) -> Result<(), ReplicaError>;

    /// Whether this process may still act for the run, asked before each
    /// call without waiting on anything: a store whose hold is time-bound
    /// (a lease) says no once the hold may have lapsed — a process paused
    /// past it must not send a call it prepared before the pause.
    fn may_act(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A replica and the run it deposes when it refuses a write.
#[derive(Clone)]
struct Replicated {
    replica: Arc<dyn Replica>,
    cancel: CancelHandle,
}

/// How far a record goes before `append` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Written and `fsync`ed: survives a crash of the machine. The default.
    #[default]
    Fsync,
    /// Written to the OS: survives a crash or kill of the process, not a
    /// power loss. For benches and throwaway environments.
    Flush,
}

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    waiters: Vec<Ack>,
    /// A blocking flush task is running (it drains `buf` until empty).
    flushing: bool,
}

struct Shared {
    path: PathBuf,
    durability: Durability,
    /// Crash tests: stop the process once this many records are on disk.
    stop_after: Option<u64>,
    written: std::sync::atomic::AtomicU64,
    /// How many times the file was synced.
    syncs: std::sync::atomic::AtomicU64,
    file: Mutex<std::fs::File>,
    pending: Mutex<Pending>,
    idle: Condvar,
    replica: Mutex<Option<Replicated>>,
    /// The replica refused a write: every later append fails at once.
    deposed: Mutex<Option<String>>,
}

/// An open journal. Cheap to share behind an `Arc`.
pub struct Journal {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.shared.path)
            .finish()
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> JournalError {
    JournalError::Io {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The crash-test failpoint: with `LIFEBOAT_FAILPOINT_STOP_AFTER_RECORDS=N`
/// in its environment, a process stops itself (SIGSTOP) as soon as the
/// N-th record it writes is on disk — so a test can `kill -9` it from
/// outside at exactly that journal boundary, every boundary in turn, and
/// check what `lifeboat resume` makes of it. Unset, it costs nothing.
pub const FAILPOINT_STOP_AFTER_RECORDS: &str = "LIFEBOAT_FAILPOINT_STOP_AFTER_RECORDS";

fn stop_after_records() -> Option<u64> {
    std::env::var(FAILPOINT_STOP_AFTER_RECORDS)
        .ok()?
        .trim()
        .parse()
        .ok()
}

impl Shared {
    /// With the failpoint set: writes the records of `buf` up to the N-th,
    /// syncs, and stops the process there; otherwise gives `buf` back.
    fn failpoint(&self, buf: Vec<u8>) -> Vec<u8> {
        use std::sync::atomic::Ordering;
        let Some(n) = self.stop_after else { return buf };
        let lines = buf.iter().filter(|b| **b == b'\n').count() as u64;
        let before = self.written.fetch_add(lines, Ordering::SeqCst);
        if before >= n || before + lines < n {
            return buf;
        }
        let keep = (n - before) as usize;
        let end = buf
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(keep - 1)
            .map(|(i, _)| i + 1)
            .unwrap_or(buf.len());
        let mut f = lock(&self.file);
        let _ = f.write_all(&buf[..end]).and_then(|_| f.sync_data());
        eprintln!("failpoint: {n} journal records on disk; stopping (kill -9 me)");
        // SAFETY: raise only sends a signal to this process.
        unsafe {
            libc::raise(libc::SIGSTOP);
        }
        // Continued instead of killed: go on as if nothing happened.
        buf[end..].to_vec()
    }

    /// Runs on the blocking pool: writes and syncs batches until none is left.
    fn flush_loop(&self) {
        loop {
            let (buf, waiters) = {
                let mut p = lock(&self.pending);
                if p.buf.is_empty() {
                    p.flushing = false;
                    self.idle.notify_all();
                    return;
                }
                (std::mem::take(&mut p.buf), std::mem::take(&mut p.waiters))
            };
            let buf = self.failpoint(buf);
            // Only a waiter needs the disk's word: a batch of outcomes alone
            // is written (readable at once) and synced by the next intent's
            // sync — before the next effect, which is all resume assumes.
            let res = self.write_batch(&buf, !waiters.is_empty());
            if let Err(e) = &res {
                tracing::error!(error = %e, "journal write failed");
            }
            for w in waiters {
                let _ = w.send(res.clone());
            }
        }
    }

    /// Whether a record nobody waits for may be written by the task that
    /// queues it: a write to the OS takes microseconds, while a replica's
    /// may wait on the network and must stay off the runtime's threads.
    fn writes_here(&self) -> bool {
        lock(&self.replica).is_none()
    }

    /// Writes a record nobody waits for now, on the caller's thread (to the
    /// OS, no sync), rather than by a blocking task woken for it; the
    /// caller has marked the journal flushing, so what is queued meanwhile
    /// waits behind it, in order. Whether a flush task must take those.
    fn write_here(&self, bytes: Vec<u8>) -> bool {
        let buf = self.failpoint(bytes);
        if let Err(e) = self.write_batch(&buf, false) {
            tracing::error!(error = %e, "journal write failed");
        }
        let mut p = lock(&self.pending);
        if p.buf.is_empty() {
            p.flushing = false;
            self.idle.notify_all();
            false
        } else {
            true
        }
    }

    /// Writes one batch here, then to the replica (if any).
    fn write_batch(&self, buf: &[u8], sync: bool) -> Result<(), String> {
        if let Some(why) = lock(&self.deposed).clone() {
            return Err(why);
        }
        self.write_local(buf, sync)?;
        // Not held while the replica works (it may wait for its store).
        let Some(r) = lock(&self.replica).clone() else {
            return Ok(());
        };
        match r.replica.append(buf) {
            Ok(()) => Ok(()),
            Err(ReplicaError::Failed(e)) => Err(format!("the journal's replica: {e}")),
            Err(ReplicaError::Deposed(why)) => Err(self.depose(&r, &why)),
        }
    }

    fn may_act(&self) -> Result<(), String> {
        if let Some(why) = lock(&self.deposed).clone() {
            return Err(why);
        }
        let Some(r) = lock(&self.replica).clone() else {
            return Ok(());
        };
        r.replica.may_act().map_err(|why| {
            tracing::warn!(journal = %self.path.display(), "{why}: the run stops here, and is resumed by its job's owner");
            r.cancel.cancel(CancelReason::HoldLapsed);
            why
        })
    }

    /// From now on every append fails and the run calls nothing more.
    fn depose(&self, r: &Replicated, why: &str) -> String {
        let msg = format!("deposed: {why}");
        tracing::warn!(journal = %self.path.display(), "{msg}; this process calls nothing more for the run");
        *lock(&self.deposed) = Some(msg.clone());
        r.cancel.cancel(CancelReason::Deposed);
        msg
    }

    fn write_local(&self, buf: &[u8], sync: bool) -> Result<(), String> {
        let mut f = lock(&self.file);
        f.write_all(buf)
            .and_then(|_| f.flush())
            .and_then(|_| {
                if sync && self.durability == Durability::Fsync {
                    self.syncs
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    f.sync_data()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

impl Journal {
    /// Opens (creating if needed) `run_dir/journal.jsonl` for appending.
    /// Must be called within a tokio runtime's context to be written to.
    pub fn open(run_dir: &Path) -> Result<Journal, JournalError> {
        Self::open_with(run_dir, Durability::Fsync)
    }

    /// [`Journal::open`] with a chosen [`Durability`].
    pub fn open_with(run_dir: &Path, durability: Durability) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(run_dir).map_err(|e| io_err(run_dir, e))?;
        let path = run_dir.join(JOURNAL_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        Ok(Journal {
            shared: Arc::new(Shared {
                path,
                durability,
                stop_after: stop_after_records(),
                written: Default::default(),
                syncs: Default::default(),
                file: Mutex::new(file),
                pending: Mutex::new(Pending::default()),
                idle: Condvar::new(),
                replica: Mutex::new(None),
                deposed: Mutex::new(None),
            }),
        })
    }

    /// How many times the journal was synced so far (group commit's
    /// measure: records written ÷ syncs).
    pub fn syncs(&self) -> u64 {
        self.shared.syncs.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Whether the run may still make a call from this process: not once
    /// deposed, nor once its replica's hold may have lapsed (which stops
    /// the run now: [`CancelReason::HoldLapsed`]).
    pub fn may_act(&self) -> Result<(), String> {
        self.shared.may_act()
    }

    /// [`Journal::may_act`] as the check a call's implementation asks
    /// before each request that changes the cloud; none without a replica.
    pub fn fence(&self) -> Fence {
        if lock(&self.shared.replica).is_none() {
            return Fence::default();
        }
        let shared = self.shared.clone();
        Fence::new(Arc::new(move || shared.may_act()))
    }

    /// Keep `replica` in step from the next record on; when it refuses a
    /// write, `cancel` is raised with [`CancelReason::Deposed`].
    pub fn replicate_to(&self, replica: Arc<dyn Replica>, cancel: CancelHandle) {
        *lock(&self.shared.replica) = Some(Replicated { replica, cancel });
    }

    /// Appends a record; returns once it is on disk. Records appended while
    /// a sync is running are written together by the next one (group commit).
    /// The sync runs on tokio's blocking pool (which also keeps a paused test
    /// clock from jumping while the disk works).
    ///
    /// The record is queued (encoded) when this is called, not when the
    /// future is first polled, and the future does not borrow it: a caller
    /// may drop a large record before waiting for the disk.
    pub fn append(
        &self,
        rec: &Record,
    ) -> impl std::future::Future<Output = Result<(), JournalError>> + Send + 'static {
        self.append_line(self.encode(rec))
    }

    fn append_line(
        &self,
        line: Result<Vec<u8>, JournalError>,
    ) -> impl std::future::Future<Output = Result<(), JournalError>> + Send + 'static {
        let path = self.shared.path.clone();
        let (done, wait) = oneshot::channel();
        let queued = line.map(|l| self.enqueue(l, Some(done)));
        async move {
            queued?;
            match wait.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(msg)) => Err(JournalError::Io {
                    path: path.display().to_string(),
                    msg,
                }),
                Err(_) => Err(io_err(&path, "journal writer stopped")),
            }
        }
    }

    /// Appends the intent of a call of `effect`, and returns once the call
    /// may start. Only a call that may make something (`mutate`) waits for
    /// the disk: after a crash, resume must know to look for what it made
    /// (by its tag) rather than make it again. A read changes nothing, and a
    /// destroy is idempotent (it is sent again after a lost answer, and gone
    /// counts as done): a crash that loses either one's intent leaves a step
    /// that simply runs again, as one in doubt would. Their intents are
    /// queued like outcomes — written at once, synced with the next intent
    /// that waits — so a loop of reads and deletes does not cost a sync each.
    pub fn append_intent(
        &self,
        rec: &Record,
        effect: Effect,
    ) -> impl std::future::Future<Output = Result<(), JournalError>> + Send + 'static {
        self.intent_line(self.encode(rec), effect)
    }

    /// [`Journal::append_intent`] for a step's call, encoded where it is.
    pub fn append_step_intent(
        &self,
        rec: &EncodedIntent<'_>,
        effect: Effect,
    ) -> impl std::future::Future<Output = Result<(), JournalError>> + Send + 'static {
        self.intent_line(self.encode(rec), effect)
    }

    fn intent_line(
        &self,
        line: Result<Vec<u8>, JournalError>,
        effect: Effect,
    ) -> impl std::future::Future<Output = Result<(), JournalError>> + Send + 'static {
        let waited = match effect {
            Effect::Mutate => Some(self.append_line(line)),
            Effect::Read | Effect::Destroy => {
                self.queue_line(line);
                None
            }
        };
        async move {
            match waited {
                Some(w) => w.await,
                None => Ok(()),
            }
        }
    }

    /// Queues a record without waiting for the disk. For outcome records:
    /// the next effect is preceded by an intent that is waited for, and the
    /// file keeps the queue's order, so by then this record is on disk too.
    /// (If the run crashes first, the step is merely in doubt, which resume
    /// reconciles.) Errors are logged; the next waited-for append reports a
    /// broken disk.
    pub fn append_nowait(&self, rec: &Record) {
        self.queue_nowait(rec)
    }

    /// [`Journal::append_nowait`] for a success whose value is encoded
    /// already.
    pub fn append_outcome_nowait(&self, rec: &EncodedOutcome<'_>) {
        self.queue_nowait(rec)
    }

    fn queue_nowait(&self, rec: &impl Serialize) {
        self.queue_line(self.encode(rec))
    }

    fn queue_line(&self, line: Result<Vec<u8>, JournalError>) {
        if let Err(e) = line.map(|l| self.enqueue(l, None)) {
            tracing::error!(error = %e, "journal write failed");
        }
    }

    /// A record as its line.
    fn encode(&self, rec: &impl Serialize) -> Result<Vec<u8>, JournalError> {
        let mut bytes = serde_json::to_vec(rec).map_err(|e| io_err(&self.shared.path, e))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    fn enqueue(&self, bytes: Vec<u8>, done: Option<Ack>) {
        let start = {
            let mut p = lock(&self.shared.pending);
            if done.is_none() && !p.flushing && self.shared.writes_here() {
                p.flushing = true;
                drop(p);
                self.shared.write_here(bytes)
            } else {
                p.buf.extend_from_slice(&bytes);
                p.waiters.extend(done);
                !std::mem::replace(&mut p.flushing, true)
            }
        };
        if start {
            let mut task = FlushTask {
                shared: self.shared.clone(),
                ran: false,
            };
            tokio::task::spawn_blocking(move || {
                task.ran = true;
                task.shared.flush_loop();
            });
        }
    }
}

/// Owns a scheduled flush. If the runtime drops it unrun (shutting down),
/// its waiters are released and the journal is marked idle again.
struct FlushTask {
    shared: Arc<Shared>,
    ran: bool,
}

impl Drop for FlushTask {
    fn drop(&mut self) {
        if self.ran {
            return;
        }
        let mut p = lock(&self.shared.pending);
        p.flushing = false;
        p.waiters.clear();
        self.shared.idle.notify_all();
    }
}

impl Drop for Journal {
    /// Waits (boundedly) for a sync in progress, so that a dropped (crashed)
    /// run leaves a journal that can be read back at once.
    fn drop(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut p = lock(&self.shared.pending);
        while p.flushing {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            p = self
                .shared
                .idle
                .wait_timeout(p, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Reads every record of `run_dir/journal.jsonl`.
pub fn read_journal(run_dir: &Path) -> Result<Vec<Record>, JournalError> {
    let path = run_dir.join(JOURNAL_FILE);
    let text = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
    parse_journal(&text, &path.display().to_string())
}

/// The records of a journal's bytes (from `from`, for errors), as
/// [`read_journal`] reads them: a torn last line is dropped.
pub fn parse_journal(bytes: &[u8], from: &str) -> Result<Vec<Record>, JournalError> {
    let text = std::str::from_utf8(bytes).map_err(|e| JournalError::Io {
        path: from.to_string(),
        msg: e.to_string(),
    })?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(line) {
            Ok(r) => out.push(r),
            // A crash in the middle of the last write.
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(e) => {
                return Err(JournalError::Corrupt {
                    path: from.to_string(),
                    line: i + 1,
                    msg: e.to_string(),
                })
            }
        }
    }
    Ok(out)
}

/// Writes `run_dir/plan.json` (durably).
pub fn write_plan(run_dir: &Path, plan: &Plan) -> Result<(), JournalError> {
    std::fs::create_dir_all(run_dir).map_err(|e| io_err(run_dir, e))?;
    let path = run_dir.join(PLAN_FILE);
    let bytes = serde_json::to_vec_pretty(plan).map_err(|e| io_err(&path, e))?;
    let mut f = std::fs::File::create(&path).map_err(|e| io_err(&path, e))?;
    f.write_all(&bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| io_err(&path, e))
}

/// Reads `run_dir/plan.json`.
pub fn read_plan(run_dir: &Path) -> Result<Plan, JournalError> {
    let path = run_dir.join(PLAN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
    serde_json::from_str(&text).map_err(|e| JournalError::Corrupt {
        path: path.display().to_string(),
        line: e.line(),
        msg: e.to_string(),
    })
}

/// `$XDG_STATE_HOME/lifeboat/runs/<run_id>` (else `~/.local/state/…`);
/// `None` when neither variable is set.
pub fn default_run_dir(run_id: &str) -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => {
            PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".local/state")
        }
    };
    Some(base.join("lifeboat").join("runs").join(run_id))
}

/// A stable, non-cryptographic fingerprint of the plan (FNV-1a 64 of its
/// JSON), to tell whether a run dir's plan is the one a run started with.
pub fn plan_hash(plan: &Plan) -> String {
    let bytes = serde_json::to_vec(plan).unwrap_or_default();
    format!("{:016x}", fnv1a(&bytes))
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// How many lines the journal file in `dir` holds now.
    fn lines_in(dir: &Path) -> usize {
        std::fs::read_to_string(dir.join(JOURNAL_FILE))
            .unwrap()
            .lines()
            .count()
    }

    /// Outcomes queued without waiting are written at once (a reader sees
    /// them) but synced only by the next waited-for append: a run's syncs
    /// are its intents', not twice as many.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn outcomes_are_written_at_once_and_synced_with_the_next_intent() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let intent = |i: usize| Record::RunResumed {
            at: format!("t{i}"),
        };
        let lines = || lines_in(dir.path());
        j.append(&intent(0)).await.unwrap();
        assert_eq!(j.syncs(), 1);
        for i in 0..3 {
            j.append_nowait(&Record::StepOutcome {
                instance: format!("s[{i}]"),
                value: Some(json!(i)),
                bytes_moved: 0,
                error: None,
                reconciled: false,
                uncertain: false,
            });
            // Each on its own, as outcomes of a chain of steps come.
            let t = std::time::Instant::now();
            while lines() < 2 + i {
                assert!(t.elapsed().as_secs() < 10, "outcome {i} never written");
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
        assert_eq!(j.syncs(), 1, "an outcome alone is not synced");
        j.append(&intent(1)).await.unwrap();
        assert_eq!(j.syncs(), 2);
        assert_eq!(read_journal(dir.path()).unwrap().len(), 5);
    }

    /// A record nobody waits for, queued while nothing is being written, is
    /// written by the caller before `append_nowait` returns (no blocking
    /// task woken for it); one queued behind a sync waits its turn.
    #[tokio::test]
    async fn a_record_nobody_waits_for_is_written_before_queueing_returns() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let lines = || lines_in(dir.path());
        for i in 0..3 {
            j.append_nowait(&Record::RunResumed {
                at: format!("t{i}"),
            });
            assert_eq!(lines(), i + 1, "record {i} written at once");
        }
        assert_eq!(j.syncs(), 0);
        j.append(&Record::RunResumed { at: "t3".into() })
            .await
            .unwrap();
        assert_eq!((lines(), j.syncs()), (4, 1));
    }

    /// Only the intent of a call that may make something waits for the
    /// disk; a read's and a destroy's are written at once and synced with
    /// the next one that waits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_a_mutating_calls_intent_waits_for_a_sync() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let intent = |i: usize| Record::CleanupIntent {
            instance: format!("s[{i}]"),
            call: CallRec {
                action: "cinder.delete_volume".into(),
                tag: format!("lb-t-{i}"),
                site: Some("site-a".into()),
                args: Map::new(),
            },
        };
        let lines = || lines_in(dir.path());
        for (i, effect) in [Effect::Read, Effect::Destroy].into_iter().enumerate() {
            j.append_intent(&intent(i), effect).await.unwrap();
            let t = std::time::Instant::now();
            while lines() < 1 + i {
                assert!(t.elapsed().as_secs() < 10, "{effect} intent never written");
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
        assert_eq!(j.syncs(), 0, "a read's or a destroy's intent is not synced");
        j.append_intent(&intent(2), Effect::Mutate).await.unwrap();
        assert_eq!(j.syncs(), 1, "a mutating call's intent is on disk first");
        assert_eq!(read_journal(dir.path()).unwrap().len(), 3);
    }

    #[test]
    fn an_encoded_intent_is_the_line_a_step_intent_writes() {
        let item = Arc::new(json!({"id": "srv-1", "name": "db-\u{e9}\"1\"", "n": [1, 2.5]}));
        let frames = [
            Frame::default(),
            Frame {
                loops: vec![crate::eval::LoopPos {
                    node: StepId(4),
                    index: 7,
                    item,
                }],
                attempts: vec![2],
            },
        ];
        let args = json!({"site": "site-a", "volume": {"id": "v-1", "size": 10}, "tags": ["a"]});
        let args = args.as_object().cloned().unwrap();
        for frame in &frames {
            for site in [None, Some("site-b")] {
                let encoded = serde_json::to_vec(&EncodedIntent {
                    instance: "copy[7]",
                    node: StepId(9),
                    frame,
                    call: CallRef {
                        action: "cinder.volume_from_snapshot",
                        tag: "lifeboat-r1-copy[7]",
                        site,
                        args: &args,
                    },
                })
                .unwrap();
                let rec = Record::StepIntent {
                    instance: "copy[7]".into(),
                    node: StepId(9),
                    frame: frame.clone(),
                    call: CallRec {
                        action: "cinder.volume_from_snapshot".into(),
                        tag: "lifeboat-r1-copy[7]".into(),
                        site: site.map(str::to_string),
                        args: args.clone(),
                    },
                };
                let line = serde_json::to_vec(&rec).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&encoded),
                    String::from_utf8_lossy(&line)
                );
                let mut whole = encoded.clone();
                whole.push(b'\n');
                assert_eq!(parse_journal(&whole, "test").unwrap(), vec![rec.clone()]);
            }
        }
    }

    #[test]
    fn an_encoded_outcome_is_the_line_a_step_outcome_writes() {
        let values = [
            json!({"id": "v-1", "size": 10, "ratio": 0.1, "tags": ["a", "b"], "nested": {"k": null}}),
            json!([1, 2.5e-7, "\u{e9}t\u{e9} \"q\" \\ \n", true]),
            json!("text"),
            json!(null),
        ];
        for (i, v) in values.iter().enumerate() {
            for (reconciled, uncertain) in [(false, false), (true, true), (false, true)] {
                let raw = serde_json::value::to_raw_value(v).unwrap();
                let encoded = serde_json::to_vec(&EncodedOutcome {
                    instance: "tmp[3]",
                    value: &raw,
                    bytes_moved: i as u64 * 4096,
                    error: None,
                    reconciled,
                    uncertain,
                })
                .unwrap();
                let rec = Record::StepOutcome {
                    instance: "tmp[3]".into(),
                    value: Some(v.clone()),
                    bytes_moved: i as u64 * 4096,
                    error: None,
                    reconciled,
                    uncertain,
                };
                let line = serde_json::to_vec(&rec).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&encoded),
                    String::from_utf8_lossy(&line)
                );
                assert_eq!(
                    parse_journal(&encoded, "test").unwrap(),
                    parse_journal(&line, "test").unwrap()
                );
            }
        }
    }
}
