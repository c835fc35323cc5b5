//! A run's state in the cluster: its record, plan and journal in etcd, so
//! that when the member running it dies another member resumes it from
//! there (issue 17), with the executor's own resume semantics.
//!
//! Keys (under `/lifeboat/`):
//! - `runs/ID/record` = the run as the history keeps it ([`RunRow`], its
//!   `owner` the member's name): written with its first journal batch, by
//!   a member taking it over, and with its end;
//! - `runs/ID/plan` = its plan (JSON), until it ends;
//! - `runs/ID/journal/SEQ` = its journal, batch by batch as the executor
//!   syncs them (whole JSON lines), until it ends;
//! - `live/ID` = its job, until it ends: what a member owning that job
//!   resumes when the run is not going on there.
//!
//! Every write is one transaction fenced by the claim of the run's job (the
//! owner key's create revision, as [`super::Member::write_as_owner`]): a
//! member that lost the claim — dead to the others, paused past its lease —
//! has its next journal write refused and the executor stops it
//! (`CancelReason::Deposed`) before it makes another call. A run that ended
//! keeps only its record; its plan and journal are deleted in the same
//! transaction (the member that finished it keeps them in its run
//! directory), so etcd holds the journals of the runs going on — and of the
//! recoveries awaiting commit, which any member owning their job may have
//! to decide — and its own compaction (`--auto-compaction-retention`)
//! reclaims the revisions.

use super::etcd::{Etcd, EtcdError, Kv, Op, Written};
use super::{owner_key, Hold, Result, ROOT};
use crate::history::RunRow;
use lifeboat_exec::journal::{Replica, ReplicaError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

fn record_key(id: &str) -> String {
    format!("{ROOT}runs/{id}/record")
}
fn plan_key(id: &str) -> String {
    format!("{ROOT}runs/{id}/plan")
}
fn journal_prefix(id: &str) -> String {
    format!("{ROOT}runs/{id}/journal/")
}
fn batch_key(id: &str, seq: u64) -> String {
    format!("{}{seq:010}", journal_prefix(id))
}
fn live_prefix() -> String {
    format!("{ROOT}live/")
}
fn live_key(id: &str) -> String {
    format!("{}{id}", live_prefix())
}

/// The outcome of a recovery on trial: its plan and journal stay in etcd
/// until it is committed or rolled back.
const AWAITING_COMMIT: &str = "awaiting_commit";

/// The most journal bytes in one value: etcd refuses requests over 1.5 MiB
/// by default (`--max-request-bytes`), and values travel base64-encoded.
const CHUNK: usize = 512 * 1024;

/// How often a write waits for an etcd without quorum to have one again.
const UNAVAILABLE_PAUSE: Duration = Duration::from_millis(500);

/// What a replica's first batch goes with.
pub enum Begin<'a> {
    /// A new run: its record, its plan and its `live/` entry.
    New { row: &'a RunRow, plan: &'a [u8] },
    /// A run taken over, whose journal holds `batches` batches: its record
    /// naming its new owner.
    TakenOver { row: &'a RunRow, batches: u64 },
}

/// The runs of a cluster, as etcd holds them.
#[derive(Clone)]
pub struct SharedRuns {
    etcd: Etcd,
}

/// What a member needs to resume a run another member started.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub row: RunRow,
    pub plan: Vec<u8>,
    /// Its journal (JSON lines), as far as it was replicated.
    pub journal: Vec<u8>,
    /// Batches it is made of: the next one's sequence number.
    pub batches: u64,
}

impl SharedRuns {
    pub(super) fn new(etcd: Etcd) -> SharedRuns {
        SharedRuns { etcd }
    }

    /// The runs of the cluster `cfg` names, read without joining it.
    pub fn connect(cfg: &super::ClusterConfig) -> SharedRuns {
        SharedRuns::new(Etcd::new(&cfg.etcd))
    }

    /// The replica of run `row.id`'s journal, written as the owner of
    /// `job` whose claim is `token` (on the lease `hold` tells of). Its
    /// first batch goes with what `begin` says.
    pub fn replica(&self, hold: Hold, job: &str, token: i64, begin: Begin<'_>) -> EtcdJournal {
        let (row, next) = match &begin {
            Begin::New { row, .. } => (*row, 0),
            Begin::TakenOver { row, batches } => (*row, *batches),
        };
        let id = row.id.as_str();
        let mut start = vec![put(
            record_key(id),
            serde_json::to_vec(row).expect("a run row serializes"),
        )];
        if let Begin::New { plan, .. } = begin {
            start.push(put(plan_key(id), plan.to_vec()));
            start.push(put(live_key(id), job.as_bytes().to_vec()));
        }
        let start = Some(start);
        EtcdJournal {
            etcd: self.etcd.clone(),
            hold,
            job: job.to_string(),
            token,
            id: id.to_string(),
            start: Mutex::new(start),
            next: AtomicU64::new(next),
            rt: tokio::runtime::Handle::current(),
        }
    }

    /// The runs not ended: (run id, job).
    pub async fn unfinished(&self) -> Result<Vec<(String, String)>> {
        Ok(self.etcd.names(&live_prefix()).await?)
    }

    /// Run `id`'s record, plan and journal; `None` when it has no record.
    pub async fn fetch(&self, id: &str) -> Result<Option<Fetched>> {
        let Some(rec) = self.etcd.get(&record_key(id)).await? else {
            return Ok(None);
        };
        let Ok(row) = serde_json::from_slice::<RunRow>(&rec.value) else {
            return Ok(None);
        };
        let plan = self
            .etcd
            .get(&plan_key(id))
            .await?
            .map(|kv| kv.value)
            .unwrap_or_default();
        let batches = self.etcd.prefix(&journal_prefix(id)).await?;
        let journal = batches.iter().flat_map(|kv| kv.value.clone()).collect();
        Ok(Some(Fetched {
            row,
            plan,
            journal,
            batches: batches.len() as u64,
        }))
    }

    /// Record run `row.id`'s end as the owner of `job` (claim `token`):
    /// its record, `live/` entry gone, plan and journal deleted — kept while
    /// it awaits commit, for whichever member decides it. False: the claim
    /// is gone (another member owns the run now).
    pub async fn finish(&self, job: &str, token: i64, row: &RunRow) -> Result<bool> {
        let mut ops = vec![
            put(
                record_key(&row.id),
                serde_json::to_vec(row).expect("a run row serializes"),
            ),
            Op::Delete(live_key(&row.id)),
        ];
        if row.outcome.as_deref() != Some(AWAITING_COMMIT) {
            ops.push(Op::Delete(plan_key(&row.id)));
            ops.push(Op::DeletePrefix(journal_prefix(&row.id)));
        }
        Ok(matches!(
            self.etcd.txn_fenced(&owner_key(job), token, &ops).await?,
            Written::Done { .. }
        ))
    }

    /// Every run's record, oldest first.
    pub async fn history(&self) -> Result<Vec<RunRow>> {
        let mut rows: Vec<RunRow> = self
            .etcd
            .prefix(&format!("{ROOT}runs/"))
            .await?
            .iter()
            .filter(|kv| kv.key.ends_with("/record"))
            .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
            .collect();
        rows.sort_by(|a, b| a.started.cmp(&b.started).then(a.id.cmp(&b.id)));
        Ok(rows)
    }
}

fn put(key: String, value: Vec<u8>) -> Op {
    Op::Put { key, value }
}

/// `batch` cut at line ends into pieces of at most [`CHUNK`] bytes (a longer
/// line alone).
fn chunks(batch: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut cut = 0;
    for (i, b) in batch.iter().enumerate() {
        if *b != b'\n' {
            continue;
        }
        if i + 1 - start > CHUNK && cut > start {
            out.push(&batch[start..cut]);
            start = cut;
        }
        cut = i + 1;
    }
    if cut > start {
        out.push(&batch[start..cut]);
    }
    if batch.len() > cut {
        out.push(&batch[cut..]);
    }
    out
}

/// A run's journal replicated to etcd by its job's owner; see the module.
pub struct EtcdJournal {
    etcd: Etcd,
    hold: Hold,
    job: String,
    token: i64,
    id: String,
    /// The run's record, plan and `live/` entry, until the first batch.
    start: Mutex<Option<Vec<Op>>>,
    next: AtomicU64,
    rt: tokio::runtime::Handle,
}

impl std::fmt::Debug for EtcdJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdJournal")
            .field("run", &self.id)
            .field("job", &self.job)
            .field("token", &self.token)
            .finish()
    }
}

impl EtcdJournal {
    /// One fenced transaction, waited for while etcd has no quorum: the
    /// run pauses before its next effect, and goes on when etcd answers —
    /// or learns then that the claim is gone.
    fn write(&self, ops: &[Op]) -> std::result::Result<(), ReplicaError> {
        let mut waited = 0u32;
        loop {
            let res =
                self.rt
                    .block_on(self.etcd.txn_fenced(&owner_key(&self.job), self.token, ops));
            match res {
                Ok(Written::Done { .. }) => return Ok(()),
                Ok(Written::Refused(now)) => {
                    return Err(ReplicaError::Deposed(format!(
                        "run {} belongs to job {}, {}",
                        self.id,
                        self.job,
                        claim_now(now.as_ref())
                    )))
                }
                Err(EtcdError::Unavailable { why, .. }) => {
                    if waited.is_multiple_of(20) {
                        tracing::warn!(run = %self.id, %why, "journal not replicated: etcd has no quorum; the run waits for it before its next call");
                    }
                    waited += 1;
                    std::thread::sleep(UNAVAILABLE_PAUSE);
                }
                Err(e @ EtcdError::Refused { .. }) => {
                    return Err(ReplicaError::Failed(format!(
                        "run {}: {e} (a journal line over etcd's --max-request-bytes?)",
                        self.id
                    )))
                }
            }
        }
    }
}

fn claim_now(now: Option<&Kv>) -> String {
    match now {
        Some(kv) => format!(
            "now claimed by member {}",
            String::from_utf8_lossy(&kv.value)
        ),
        None => "whose claim by this member is gone (its lease expired)".into(),
    }
}

impl Replica for EtcdJournal {
    fn append(&self, batch: &[u8]) -> std::result::Result<(), ReplicaError> {
        for chunk in chunks(batch) {
            let seq = self.next.load(Ordering::SeqCst);
            let mut start = self.start.lock().unwrap_or_else(|e| e.into_inner());
            let mut ops = start.clone().unwrap_or_default();
            ops.push(put(batch_key(&self.id, seq), chunk.to_vec()));
            self.write(&ops)?;
            *start = None;
            self.next.store(seq + 1, Ordering::SeqCst);
        }
        Ok(())
    }

    fn may_act(&self) -> std::result::Result<(), String> {
        self.hold.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_cut_at_line_ends_below_the_chunk_size() {
        let line = |n: usize| {
            let mut l = vec![b'x'; n];
            l.push(b'\n');
            l
        };
        let mut batch = Vec::new();
        for _ in 0..5 {
            batch.extend(line(200 * 1024));
        }
        let c = chunks(&batch);
        assert_eq!(c.len(), 3);
        assert!(c.iter().all(|c| c.len() <= CHUNK && c.ends_with(b"\n")));
        assert_eq!(c.concat(), batch);
        // A line longer than a chunk goes alone; small batches stay whole.
        let big = line(CHUNK + 10);
        assert_eq!(chunks(&big).len(), 1);
        assert_eq!(chunks(b"a\nb\n"), vec![&b"a\nb\n"[..]]);
        assert!(chunks(b"").is_empty());
    }
}
