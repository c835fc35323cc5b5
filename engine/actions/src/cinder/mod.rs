//! The `cinder.*` actions: volumes of servers, consistency groups and group
//! snapshots, snapshots, volumes from snapshots, backups (export, import,
//! restore), retype, replicas (find, manage, unmanage, failover). Everything
//! created carries the call's tag in its name and `lifeboat_*` metadata, so
//! `find_created` finds it after a crash.

mod backups;
mod group_snapshots;
mod groups;
mod replication;
mod snapshots;
mod volumes;

pub use backups::*;
pub use group_snapshots::*;
pub use groups::*;
pub use replication::*;
pub use snapshots::*;
pub use volumes::*;

use crate::args::{from_client, made_by_this_run, resource_name, tag_metadata, ClientResult};
use crate::prerun::{Finding, Seen, Severity};
use crate::records::*;
use crate::wait::{discard_failed, is_discarded, is_failed, is_going, Poll};
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::cinder::{Backup, BackupRecord, Volume};
use lifeboat_openstack::types::parse_time;
use lifeboat_openstack::{Client, ErrorKind};
use serde_json::{json, Value};

const GIB: u64 = 1 << 30;

// ---------- helpers ----------

async fn wait_volume(
    cx: &Ctx<'_>,
    c: &Client,
    id: &str,
    want: &'static [&'static str],
) -> Result<Volume, ActionError> {
    cx.wait(
        &format!(
            "volume {id} at site {} reaching {}",
            c.site(),
            want.join("/")
        ),
        || {
            let cinder = c.cinder();
            let id = id.to_string();
            async move {
                let v = cinder.volume(&id).await?;
                Ok(if want.contains(&v.status.as_str()) {
                    Poll::Ready(v)
                } else if is_failed(&v.status) {
                    Poll::Failed(v.status)
                } else {
                    Poll::Pending(v.status)
                })
            }
        },
    )
    .await
}

/// Wait until GET answers 404 (deleted). `get` returns the status.
async fn wait_gone<F, Fut>(cx: &Ctx<'_>, what: &str, mut get: F) -> Result<(), ActionError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = lifeboat_openstack::Result<String>>,
{
    cx.wait(&format!("{what} being deleted"), || {
        let f = get();
        async move {
            match f.await {
                Err(e) if e.kind == ErrorKind::NotFound => Ok(Poll::Ready(())),
                Err(e) => Err(e),
                Ok(s) if s == "deleted" => Ok(Poll::Ready(())),
                Ok(s) if s == "error_deleting" || s == "error" => Ok(Poll::Failed(s)),
                Ok(s) => Ok(Poll::Pending(s)),
            }
        }
    })
    .await
}

/// DELETE tolerating 404 (a retried call) and a refusal because the
/// resource is already being deleted (an interrupted call's DELETE was taken:
/// Cinder answers 400 "current status is deleting"); `status` reads the
/// resource's status to tell that refusal from any other.
async fn ok_if_gone<F>(
    action: &str,
    r: lifeboat_openstack::Result<()>,
    status: F,
) -> Result<(), ActionError>
where
    F: std::future::Future<Output = lifeboat_openstack::Result<String>>,
{
    crate::wait::ok_if_under_way(action, r, status, &["deleting", "deleted"]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_url_id() {
        // base64 of {"id": "b-1", "size": 1}
        let rec = BackupRecordRec {
            backup_service: "x".into(),
            backup_url: "eyJpZCI6ICJiLTEiLCAic2l6ZSI6IDF9".into(),
        };
        assert_eq!(record_backup_id(&rec).as_deref(), Some("b-1"));
        let sample = BackupRecordRec {
            backup_service: "x".into(),
            backup_url: "eyJzdGF0".into(),
        };
        assert_eq!(record_backup_id(&sample), None);
    }
}
