//! A cluster of daemons coordinated through etcd (issue 17): a member per
//! daemon, jobs shared among the live members, a dead member's jobs taken
//! over by the others once its lease expires.
//!
//! | file | holds |
//! |---|---|
//! | [`etcd`] | etcd v3 over its JSON gateway: leases, keys, transactions |
//! | [`placement`] | which live member a job belongs to (rendezvous hashing, site preference), and whom its owner hands it to |
//! | [`runs`] | each run's record, plan and journal, so another member can resume it |
//! | [`local`] | an etcd cluster on loopback, for tests and for trying a cluster on one machine |
//! | this file | the configuration, a member's life (join, keep alive, leave) and its claims |
//!
//! Keys (all under `/lifeboat/`):
//! - `members/NAME` = `{"site", "since"}`, bound to the member's lease: a
//!   member is live exactly as long as its lease;
//! - `owners/JOB` = the owning member's name, bound to the same lease: a
//!   claim lives and dies with its owner. Its create revision is the
//!   owner's fencing token (`Etcd::put_fenced`);
//! - `jobs/JOB/last_start` = when its last run started, written by the
//!   owner under that fence before the run starts: a member that takes
//!   the job over makes up a due time that passed since;
//! - `runs/…`, `live/…`: the runs, see [`runs`].
//!
//! Every member runs the same configuration; a job is claimed only by the
//! member [`placement::preferred`] names among the live ones, so claims do
//! not race. An owner hands a job to the member placement names once that
//! member has stayed live for [`SETTLE_LEASES`] leases ([`placement::hand_to`],
//! [`Member::release`]), between runs: the jobs spread over the members
//! whichever started first, and a member that comes and goes moves none.

pub mod etcd;
pub mod local;
pub mod placement;
pub mod runs;

use etcd::{Etcd, EtcdError, Written};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The `cluster` section of the daemon's configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Client URLs of the etcd members (`http://10.0.0.1:2379`, …).
    pub etcd: Vec<String>,
    /// This member's name, unique in the cluster.
    pub name: String,
    /// The site it runs at (recover, failover and migrate jobs prefer a
    /// member at their target site).
    pub site: String,
    /// Seconds a member stays live without renewing its lease (default 10):
    /// how long a dead member's jobs wait before another takes them.
    pub lease_ttl: Option<u64>,
}

pub const DEFAULT_LEASE_TTL: u64 = 10;
const ROOT: &str = "/lifeboat/";
/// Writes to etcd a member has in flight at once when it claims or starts
/// many jobs: etcd commits concurrent writes in one round (one fsync at
/// each member), where one after the other pays a round each.
pub const CLAIMS_AT_ONCE: usize = 32;
/// Leases a member stays live before an owner hands it its share of the
/// jobs ([`placement::hand_to`]): a member that comes and goes — a host
/// stalling now and then — moves no job back and forth.
pub const SETTLE_LEASES: u64 = 3;

fn member_key(name: &str) -> String {
    format!("{ROOT}members/{name}")
}
fn owner_key(job: &str) -> String {
    format!("{ROOT}owners/{job}")
}
/// When the job's last run started (RFC 3339), written by its owner.
fn last_start_key(job: &str) -> String {
    format!("{ROOT}jobs/{job}/last_start")
}
/// The member an owner handed the job to (see [`Member::release`]),
/// until that member has looked at it.
fn handed_key(job: &str) -> String {
    format!("{ROOT}jobs/{job}/handed_to")
}

/// What etcd keeps of a job beside its owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobRecord {
    /// When its last run started (RFC 3339), by whichever member owned it.
    pub last_start: Option<String>,
    /// The member its owner last handed it to, until that member looked.
    pub handed_to: Option<String>,
}

/// A live member as the cluster lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub name: String,
    pub site: String,
    /// When it joined (RFC 3339).
    pub since: String,
}

/// The cluster as etcd holds it, read without joining.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub members: Vec<MemberInfo>,
    /// Job → the member owning it.
    pub owners: BTreeMap<String, String>,
    /// Runs not ended: run id → its job (run by the job's owner).
    pub runs: BTreeMap<String, String>,
}

/// The cluster as etcd holds it (`lifeboat cluster status`).
pub async fn status(cfg: &ClusterConfig) -> Result<Status> {
    let etcd = Etcd::new(&cfg.etcd);
    Ok(Status {
        members: read_members(&etcd).await?,
        owners: read_owners(&etcd).await?,
        runs: runs::SharedRuns::new(etcd)
            .unfinished()
            .await?
            .into_iter()
            .collect(),
    })
}

async fn read_members(etcd: &Etcd) -> Result<Vec<MemberInfo>> {
    Ok(etcd
        .prefix(&format!("{ROOT}members/"))
        .await?
        .iter()
        .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
        .collect())
}

async fn read_owners(etcd: &Etcd) -> Result<BTreeMap<String, String>> {
    Ok(etcd
        .names(&format!("{ROOT}owners/"))
        .await?
        .into_iter()
        .collect())
}

/// What `/metrics` and `/healthz` show of this member, refreshed by the
/// daemon after each sweep.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct View {
    pub member: String,
    pub site: String,
    /// Its lease alive, as far as it knows.
    pub live: bool,
    pub lease_ttl_seconds: u64,
    /// Seconds since its lease was last renewed (at the sweep).
    pub lease_age_seconds: f64,
    /// Jobs it owns, and live members it sees.
    pub owned: usize,
    pub members: usize,
    /// Jobs it claimed that another member had owned (a dead member's).
    pub takeovers: u64,
    /// Jobs it handed to the member placement names (one that joined).
    pub handoffs: u64,
    /// Runs left unfinished by another member that it resumed.
    pub runs_taken_over: u64,
}

/// Milliseconds on a clock no wall-clock step moves (since the first
/// call): a lease's age must not jump when NTP sets the time.
fn monotonic_ms() -> i64 {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    ORIGIN
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as i64
}

/// A member's lease as the member itself knows it: when it was last
/// renewed, and whether etcd said it expired.
#[derive(Debug, Clone)]
pub struct Hold {
    renewed: Arc<std::sync::atomic::AtomicI64>,
    lost: Arc<AtomicBool>,
    ttl_ms: i64,
}

impl Hold {
    /// Refused once etcd said the lease expired, or once it was last
    /// renewed longer ago than five sixths of its TTL: it may have lapsed
    /// at etcd by now (the sixth covers the renewal's own latency and the
    /// clocks' drift), so another member may own this member's jobs.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.lost.load(Ordering::SeqCst) {
            return Err("this member's lease expired".into());
        }
        let age = monotonic_ms() - self.renewed.load(Ordering::SeqCst);
        if age > self.ttl_ms * 5 / 6 {
            return Err(format!(
                "this member's lease was last renewed {:.1} s ago, past five sixths of its {} s TTL: it may have lapsed (a pause, or etcd out of reach)",
                age as f64 / 1000.0,
                self.ttl_ms / 1000
            ));
        }
        Ok(())
    }
}

/// What a member may do with a job now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Owned by this member already; `token` fences its writes.
    Mine { token: i64 },
    /// Nobody owned it, and this member claimed it now: the first claim
    /// in the cluster, or a dead member's job taken over — a due time may
    /// have passed unrun since its last start.
    Claimed { token: i64 },
    /// Owned by another live member.
    Theirs { member: String },
    /// Nobody owns it yet, and another live member is the one to take it.
    NotMine { preferred: String },
}

impl Claim {
    /// The fencing token, when this member owns the job.
    pub fn token(&self) -> Option<i64> {
        match self {
            Claim::Mine { token } | Claim::Claimed { token } => Some(*token),
            Claim::Theirs { .. } | Claim::NotMine { .. } => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Etcd(#[from] EtcdError),
    #[error("another live member is named {0}: give each daemon its own `cluster.name`")]
    NameTaken(String),
    #[error("this member's lease expired (etcd unreachable for longer than its TTL): it owns nothing until it joins again")]
    Lost,
}

pub type Result<T> = std::result::Result<T, ClusterError>;

/// This daemon's membership: its lease, kept alive in the background.
pub struct Member {
    cfg: ClusterConfig,
    etcd: Etcd,
    pub info: MemberInfo,
    lease: i64,
    ttl: u64,
    lost: Arc<AtomicBool>,
    /// When the lease was last granted or renewed ([`monotonic_ms`]).
    renewed: Arc<std::sync::atomic::AtomicI64>,
    keepalive: tokio::task::JoinHandle<()>,
}

impl Member {
    /// Join: a lease of `lease_ttl` seconds, the member key bound to it,
    /// and a task renewing it every third of its life. Refused while a live
    /// member has the same name.
    pub async fn join(cfg: &ClusterConfig) -> Result<Member> {
        let ttl = cfg.lease_ttl.unwrap_or(DEFAULT_LEASE_TTL).max(2);
        // A request held by a member without quorum gives up after a
        // sixth of the lease (a second at least), so a renewal can still
        // reach a member that has one before the lease runs out.
        let etcd = Etcd::with_timeout(&cfg.etcd, Duration::from_millis((ttl * 1000 / 6).max(1000)));
        let lease = etcd.grant(ttl as i64).await?;
        let info = MemberInfo {
            name: cfg.name.clone(),
            site: cfg.site.clone(),
            since: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let value = serde_json::to_vec(&info).expect("member info serializes");
        match etcd.create(&member_key(&info.name), &value, lease).await? {
            Written::Done { .. } => {}
            Written::Refused(_) => {
                let _ = etcd.revoke(lease).await;
                return Err(ClusterError::NameTaken(info.name));
            }
        }
        let lost = Arc::new(AtomicBool::new(false));
        let renewed = Arc::new(std::sync::atomic::AtomicI64::new(monotonic_ms()));
        let keepalive = tokio::spawn(keep_alive(
            etcd.clone(),
            lease,
            Duration::from_millis(ttl * 1000 / 3),
            lost.clone(),
            renewed.clone(),
        ));
        Ok(Member {
            cfg: cfg.clone(),
            etcd,
            info,
            lease,
            ttl,
            lost,
            renewed,
            keepalive,
        })
    }

    /// Join again after the lease was lost: a new lease, the member key
    /// made anew; the claims of the old lease are gone (others may hold
    /// those jobs now).
    pub async fn rejoin(&mut self) -> Result<()> {
        // The old member's keep-alive task stops when it is dropped.
        *self = Member::join(&self.cfg).await?;
        Ok(())
    }

    /// Seconds its lease lives without renewal.
    pub fn ttl(&self) -> u64 {
        self.ttl
    }

    /// Seconds since its lease was last granted or renewed.
    pub fn lease_age(&self) -> f64 {
        let ms = monotonic_ms() - self.renewed.load(Ordering::SeqCst);
        ms.max(0) as f64 / 1000.0
    }

    /// Whether its lease is still alive, as far as it knows.
    pub fn is_live(&self) -> bool {
        !self.lost.load(Ordering::SeqCst)
    }

    /// The live members, by name.
    pub async fn members(&self) -> Result<Vec<MemberInfo>> {
        read_members(&self.etcd).await
    }

    /// What tells, without asking etcd, whether this member's lease may
    /// have lapsed.
    pub fn hold(&self) -> Hold {
        Hold {
            renewed: self.renewed.clone(),
            lost: self.lost.clone(),
            ttl_ms: self.ttl as i64 * 1000,
        }
    }

    /// The runs of the cluster, written through this member's client.
    pub fn runs(&self) -> runs::SharedRuns {
        runs::SharedRuns::new(self.etcd.clone())
    }

    /// Who owns which job: job → member.
    pub async fn owners(&self) -> Result<BTreeMap<String, String>> {
        read_owners(&self.etcd).await
    }

    /// Whether this member may run `job` now: its own claim, another's, or
    /// claimed now when it is the live member [`placement::preferred`]
    /// names (`prefer_site`: the job's target site, for recoveries).
    pub async fn claim(&self, job: &str, prefer_site: Option<&str>) -> Result<Claim> {
        if !self.is_live() {
            return Err(ClusterError::Lost);
        }
        if let Some(kv) = self.etcd.get(&owner_key(job)).await? {
            return Ok(self.judge(kv));
        }
        self.claim_unowned(job, prefer_site, &self.members().await?)
            .await
    }

    /// [`Member::claim`] for many jobs at once (`(job, prefer_site)`), as a
    /// due minute or a sweep asks: one read of the owners and one of the
    /// members for all, the claims of the unowned ones made side by side.
    /// One answer per job, in order; an error of one does not stop the
    /// others.
    pub async fn claim_many<J: AsRef<str>, S: AsRef<str>>(
        &self,
        jobs: &[(J, Option<S>)],
    ) -> Result<Vec<Result<Claim>>> {
        use futures::StreamExt;
        if !self.is_live() {
            return Err(ClusterError::Lost);
        }
        let mut owners: BTreeMap<String, etcd::Kv> = self
            .etcd
            .prefix(&format!("{ROOT}owners/"))
            .await?
            .into_iter()
            .map(|kv| (kv.key.clone(), kv))
            .collect();
        let members = match jobs
            .iter()
            .any(|(j, _)| !owners.contains_key(&owner_key(j.as_ref())))
        {
            true => self.members().await?,
            false => vec![],
        };
        let members = &members;
        Ok(futures::stream::iter(jobs.iter().map(|(job, prefer_site)| {
            let (job, prefer_site) = (job.as_ref(), prefer_site.as_ref().map(S::as_ref));
            let current = owners.remove(&owner_key(job));
            async move {
                match current {
                    Some(kv) => Ok(self.judge(kv)),
                    None => self.claim_unowned(job, prefer_site, members).await,
                }
            }
        }))
        .buffered(CLAIMS_AT_ONCE)
        .collect()
        .await)
    }

    /// Claim `job`, owned by nobody a moment ago, when placement among
    /// `members` names this member.
    async fn claim_unowned(
        &self,
        job: &str,
        prefer_site: Option<&str>,
        members: &[MemberInfo],
    ) -> Result<Claim> {
        let preferred = placement::preferred(job, members, prefer_site)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| self.info.name.clone());
        if preferred != self.info.name {
            return Ok(Claim::NotMine { preferred });
        }
        match self
            .etcd
            .create(&owner_key(job), self.info.name.as_bytes(), self.lease)
            .await?
        {
            Written::Done { revision } => Ok(Claim::Claimed { token: revision }),
            Written::Refused(Some(kv)) => Ok(self.judge(kv)),
            Written::Refused(None) => Ok(Claim::NotMine { preferred }),
        }
    }

    fn judge(&self, kv: etcd::Kv) -> Claim {
        let member = String::from_utf8_lossy(&kv.value).into_owned();
        if member == self.info.name && kv.lease == self.lease {
            Claim::Mine {
                token: kv.create_revision,
            }
        } else {
            Claim::Theirs { member }
        }
    }

    /// Write `key` fenced by this member's claim on `job` (its `token`):
    /// refused once the claim is gone, even if this member still believes
    /// it owns the job (a process paused past its lease). One transaction.
    pub async fn write_as_owner(
        &self,
        job: &str,
        token: i64,
        key: &str,
        value: &[u8],
    ) -> Result<bool> {
        Ok(matches!(
            self.etcd
                .put_fenced(&owner_key(job), token, key, value)
                .await?,
            Written::Done { .. }
        ))
    }

    /// Record that `job`'s run starts now (`at`, RFC 3339), as its owner:
    /// fenced by the claim (`token`), so a member that lost the claim —
    /// paused past its lease — cannot start it. False: not the owner.
    pub async fn record_start(&self, job: &str, token: i64, at: &str) -> Result<bool> {
        self.write_as_owner(job, token, &last_start_key(job), at.as_bytes())
            .await
    }

    /// What etcd keeps of each job beside its owner (job → record): when
    /// its last run started, and whom it was last handed to. One read for
    /// every job.
    pub async fn job_records(&self) -> Result<BTreeMap<String, JobRecord>> {
        let prefix = format!("{ROOT}jobs/");
        let mut out: BTreeMap<String, JobRecord> = BTreeMap::new();
        for (rest, value) in self.etcd.names(&prefix).await? {
            if let Some(job) = rest.strip_suffix("/last_start") {
                out.entry(job.to_string()).or_default().last_start = Some(value);
            } else if let Some(job) = rest.strip_suffix("/handed_to") {
                out.entry(job.to_string()).or_default().handed_to = Some(value);
            }
        }
        Ok(out)
    }

    /// Give up the claim on `job` (its `token`), handing it to member
    /// `to`: refused (false) once the claim is another's. The job is
    /// nobody's until the member placement names claims it; a note of whom
    /// it was handed to tells that member it took over from a live owner,
    /// not a dead one.
    pub async fn release(&self, job: &str, token: i64, to: &str) -> Result<bool> {
        let key = owner_key(job);
        let ops = [
            etcd::Op::Delete(key.clone()),
            etcd::Op::Put {
                key: handed_key(job),
                value: to.as_bytes().to_vec(),
            },
        ];
        Ok(matches!(
            self.etcd.txn_fenced(&key, token, &ops).await?,
            Written::Done { .. }
        ))
    }

    /// Drop the note of a hand-over of `job` once looked at, as its owner
    /// (`token`).
    pub async fn forget_handoff(&self, job: &str, token: i64) -> Result<bool> {
        Ok(matches!(
            self.etcd
                .txn_fenced(&owner_key(job), token, &[etcd::Op::Delete(handed_key(job))])
                .await?,
            Written::Done { .. }
        ))
    }

    /// Leave now: the lease revoked, every claim released at once.
    pub async fn leave(self) -> Result<()> {
        self.keepalive.abort();
        self.etcd.revoke(self.lease).await?;
        Ok(())
    }

    /// Stop renewing without revoking, as a member that died would: its
    /// claims go when the lease expires (tests, and a daemon that must stop
    /// acting at once).
    pub fn abandon(self) {
        self.keepalive.abort();
        self.lost.store(true, Ordering::SeqCst);
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.keepalive.abort();
    }
}

async fn keep_alive(
    etcd: Etcd,
    lease: i64,
    every: Duration,
    lost: Arc<AtomicBool>,
    renewed: Arc<std::sync::atomic::AtomicI64>,
) {
    loop {
        tokio::time::sleep(every).await;
        match etcd.keep_alive(lease).await {
            Ok(ttl) if ttl > 0 => {
                renewed.store(monotonic_ms(), Ordering::SeqCst);
            }
            Ok(_) | Err(EtcdError::Refused { .. }) => {
                tracing::warn!(lease, "cluster lease expired: this member owns nothing now");
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // No quorum or no member answering: try again; the lease may
            // still be alive when etcd answers.
            Err(e) => tracing::warn!(error = %e, "cluster lease not renewed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(age_ms: i64, lost: bool) -> Hold {
        Hold {
            renewed: Arc::new(std::sync::atomic::AtomicI64::new(monotonic_ms() - age_ms)),
            lost: Arc::new(AtomicBool::new(lost)),
            ttl_ms: 6000,
        }
    }

    #[test]
    fn a_hold_lapses_past_five_sixths_of_the_lease_or_once_etcd_said_it_expired() {
        assert!(hold(0, false).check().is_ok());
        assert!(hold(4900, false).check().is_ok());
        let e = hold(5100, false).check().unwrap_err();
        assert!(e.contains("5.1 s ago") && e.contains("6 s TTL"), "{e}");
        assert!(hold(0, true).check().is_err());
    }
}
