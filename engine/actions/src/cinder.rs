//! The `cinder.*` actions: volumes of servers, consistency groups and group
//! snapshots, snapshots, volumes from snapshots, backups (export, import,
//! restore), retype, replicas (find, manage, unmanage, failover). Everything
//! created carries the call's tag in its name and `lifeboat_*` metadata, so
//! `find_created` finds it after a crash.

use crate::args::{from_client, resource_name, tag_metadata, ClientResult};
use crate::records::*;
use crate::wait::{discard_failed, is_discarded, is_failed, Poll};
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::types::cinder::{Backup, BackupRecord, Volume};
use lifeboat_openstack::types::epoch_secs;
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

// ---------- volumes ----------

/// One server's volumes, its boot volume first.
async fn volumes_of_server(
    cx: &Ctx<'_>,
    c: &Client,
    s: ServerRec,
) -> Result<Vec<VolumeRec>, ActionError> {
    let server = c.nova().server(&s.id).await.act(cx.action())?;
    let atts = c.nova().attachments(&s.id).await.act(cx.action())?;
    let ordered = crate::nova::ordered_volume_ids(&server, &atts);
    let mut out = Vec::with_capacity(ordered.len());
    for vid in &ordered {
        let v = c.cinder().volume(vid).await.act(cx.action())?;
        let mut r = volume_rec(&v, c.site());
        if let Some(a) = atts.iter().find(|a| &a.volume_id == vid) {
            r.server_id = s.id.clone();
            r.device = a.device.clone();
        }
        out.push(r);
    }
    Ok(out)
}

/// Servers `volumes_of` looks at at once.
const VOLUMES_OF_CONCURRENCY: usize = 4;

pub async fn volumes_of(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let servers: Vec<ServerRec> = cx.args.list("servers")?;
    if servers.is_empty() {
        return cx.value(Vec::<VolumeRec>::new());
    }
    let c = cx.client_for_call()?;
    // Servers are looked at side by side (a few at a time: API politeness),
    // the result in the servers' order: with a hundred servers, one after
    // the other took seconds of round trips.
    use futures::stream::{self, StreamExt, TryStreamExt};
    let per_server: Vec<Vec<VolumeRec>> = stream::iter(servers)
        .map(|s| volumes_of_server(cx, c, s))
        .buffered(VOLUMES_OF_CONCURRENCY)
        .try_collect()
        .await?;
    // Boot volumes first (each server's first), then the data volumes.
    let (mut boot, mut data) = (Vec::new(), Vec::new());
    for vols in per_server {
        for (i, r) in vols.into_iter().enumerate() {
            if i == 0 {
                boot.push(r);
            } else {
                data.push(r);
            }
        }
    }
    boot.extend(data);
    cx.value(boot)
}

pub async fn show_volume(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let v = c.cinder().volume(&vol.id).await.act(cx.action())?;
    cx.value(volume_rec(&v, c.site()))
}

pub async fn delete_volume(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, mut vol) = cx.record_on_site::<VolumeRec>("volume")?;
    ok_if_gone(
        cx.action(),
        c.cinder().delete_volume(&vol.id).await,
        async { c.cinder().volume(&vol.id).await.map(|v| v.status) },
    )
    .await?;
    let id = vol.id.clone();
    wait_gone(cx, &format!("volume {id} at site {}", c.site()), || {
        let cinder = c.cinder();
        let id = id.clone();
        async move { cinder.volume(&id).await.map(|v| v.status) }
    })
    .await?;
    vol.status = "deleted".into();
    cx.value(vol)
}

/// After a crash: a volume created by the call (named with its tag).
pub async fn volume_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let c = cx.client_for_call()?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let found = c
        .cinder()
        .volumes(&[("name", name.clone())])
        .await
        .act(cx.action())?;
    let Some(v) = found
        .into_iter()
        .find(|v| v.name == name && !is_discarded(&v.status))
    else {
        return Ok(None);
    };
    let v = wait_volume(cx, c, &v.id, &["available", "in-use"]).await?;
    // The origin the interrupted call would have recorded.
    let hint = ["snapshot", "backup"]
        .iter()
        .find_map(|k| {
            cx.args
                .raw(k)
                .and_then(|r| r.get("origin"))
                .and_then(Value::as_str)
                .filter(|o| !o.is_empty())
                .map(str::to_string)
        })
        .or_else(|| {
            cx.args
                .raw("replica")
                .and_then(|r| r.get("volume_id"))
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let v = ensure_tagged(cx, c, v, hint.as_deref()).await?;
    Ok(Some(cx.value(volume_rec(&v, c.site()))?))
}

/// Put the tag metadata (and origin) on a volume that lacks it.
async fn ensure_tagged(
    cx: &Ctx<'_>,
    c: &Client,
    v: Volume,
    origin: Option<&str>,
) -> Result<Volume, ActionError> {
    let want_origin = origin
        .map(str::to_string)
        .or_else(|| v.metadata.get(META_ORIGIN).cloned())
        .unwrap_or_default();
    if v.metadata.get(META_TAG) == Some(&cx.call.tag)
        && v.metadata.get(META_ORIGIN).cloned().unwrap_or_default() == want_origin
    {
        return Ok(v);
    }
    c.cinder()
        .set_volume_metadata(&v.id, &tag_metadata(cx.call, &want_origin))
        .await
        .act(cx.action())?;
    c.cinder().volume(&v.id).await.act(cx.action())
}

// ---------- groups ----------

fn group_name(name: &str) -> String {
    if name.starts_with("lb-") {
        name.to_string()
    } else {
        format!("lb-{name}")
    }
}

async fn group_rec(
    cx: &Ctx<'_>,
    c: &Client,
    id: &str,
    known: &[String],
) -> Result<GroupRec, ActionError> {
    let g = c.cinder().group(id).await.act(cx.action())?;
    let volume_ids = if g.volumes.is_empty() {
        // Older Cinder: volumes carry group_id.
        let vols = c
            .cinder()
            .volumes(&[("group_id", id.to_string())])
            .await
            .act(cx.action())?;
        let ids: Vec<String> = vols
            .into_iter()
            .filter(|v| v.group_id == id)
            .map(|v| v.id)
            .collect();
        if ids.is_empty() {
            known.to_vec()
        } else {
            ids
        }
    } else {
        g.volumes.clone()
    };
    Ok(GroupRec {
        id: g.id,
        name: g.name,
        site: c.site().to_string(),
        volume_ids,
    })
}

async fn wait_group(cx: &Ctx<'_>, c: &Client, id: &str) -> Result<(), ActionError> {
    cx.wait(
        &format!("group {id} at site {} becoming available", c.site()),
        || {
            let cinder = c.cinder();
            let id = id.to_string();
            async move {
                let g = cinder.group(&id).await?;
                Ok(match g.status.as_str() {
                    "available" => Poll::Ready(()),
                    s if is_failed(s) => Poll::Failed(s.to_string()),
                    s => Poll::Pending(s.to_string()),
                })
            }
        },
    )
    .await
}

pub async fn ensure_group(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let name = group_name(&cx.args.required_string("name")?);
    let volumes: Vec<VolumeRec> = cx.args.list("volumes")?;
    let group_type = cx.args.string("group_type")?;
    let ids: Vec<String> = volumes.iter().map(|v| v.id.clone()).collect();
    cx.require_microversion(
        c,
        lifeboat_openstack::Service::BlockStorage,
        lifeboat_openstack::cinder::MV_GROUPS,
        "a generic volume group with its volume list",
    )
    .await?;
    let existing = c
        .cinder()
        .groups()
        .await
        .act(cx.action())?
        .into_iter()
        .find(|g| g.name == name && !is_discarded(&g.status));
    let id = match existing {
        Some(g) => g.id,
        None => {
            let gt = if group_type.is_empty() {
                c.cinder().default_group_type().await.act(cx.action())?.map(|t| t.id).ok_or_else(|| {
                    ActionError::permanent(format!("{}: site {} has no group type to create group {name}", cx.action(), c.site())).with_hint("create a group type with consistent_group_snapshot_enabled='<is> True' or pass group_type")
                })?
            } else {
                group_type.clone()
            };
            let mut types: Vec<String> = Vec::new();
            for v in &volumes {
                let t = if v.volume_type.is_empty() {
                    c.cinder().volume(&v.id).await.act(cx.action())?.volume_type
                } else {
                    v.volume_type.clone()
                };
                if !t.is_empty() && !types.contains(&t) {
                    types.push(t);
                }
            }
            let id = c
                .cinder()
                .create_group(&name, &gt, &types)
                .await
                .act(cx.action())?;
            wait_group(cx, c, &id).await?;
            id
        }
    };
    let current = group_rec(cx, c, &id, &[]).await?;
    let missing: Vec<String> = ids
        .iter()
        .filter(|v| !current.volume_ids.contains(v))
        .cloned()
        .collect();
    if !missing.is_empty() {
        c.cinder()
            .add_to_group(&id, &missing)
            .await
            .act(cx.action())?;
        wait_group(cx, c, &id).await?;
    }
    cx.value(group_rec(cx, c, &id, &ids).await?)
}

pub async fn ensure_group_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let c = cx.client_for_call()?;
    let name = group_name(&cx.args.required_string("name")?);
    let existing = c
        .cinder()
        .groups()
        .await
        .act(cx.action())?
        .into_iter()
        .find(|g| g.name == name && g.status == "available");
    match existing {
        Some(g) => {
            let r = group_rec(cx, c, &g.id, &[]).await?;
            let want: Vec<VolumeRec> = cx.args.list("volumes")?;
            // Only complete when every volume is in it; else run it again.
            if want.iter().all(|v| r.volume_ids.contains(&v.id)) {
                Ok(Some(cx.value(r)?))
            } else {
                Ok(None)
            }
        }
        None => Ok(None),
    }
}

pub async fn delete_group(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, g) = cx.record_on_site::<GroupRec>("group")?;
    match c.cinder().group(&g.id).await {
        Ok(cur) => {
            if !cur.volumes.is_empty() {
                c.cinder()
                    .remove_from_group(&g.id, &cur.volumes)
                    .await
                    .act(cx.action())?;
                wait_group(cx, c, &g.id).await?;
            }
            ok_if_gone(cx.action(), c.cinder().delete_group(&g.id).await, async {
                c.cinder().group(&g.id).await.map(|g| g.status)
            })
            .await?;
        }
        Err(e) if e.kind == ErrorKind::NotFound => {}
        Err(e) => return Err(from_client(cx.action(), e)),
    }
    let id = g.id.clone();
    wait_gone(cx, &format!("group {id} at site {}", c.site()), || {
        let cinder = c.cinder();
        let id = id.clone();
        async move { cinder.group(&id).await.map(|g| g.status) }
    })
    .await?;
    cx.value(g)
}

/// The production volume the volume `id` at `c`'s site descends from
/// ([`origin_of`]); the id itself when it cannot be read (gone since).
pub(crate) async fn origin_of_id(c: &Client, id: &str) -> String {
    match c.cinder().volume(id).await {
        Ok(v) => origin_of(&v),
        Err(_) => id.to_string(),
    }
}

// ---------- group snapshots ----------

/// How many snapshots one page of the members' search reads.
const MEMBER_PAGE: u32 = 200;

/// How much earlier than its group snapshot a member may seem to have been
/// created (the clocks of Cinder's API and volume nodes differ a little).
const MEMBER_SKEW_SECS: i64 = 60;

async fn group_snapshot_rec(
    cx: &Ctx<'_>,
    c: &Client,
    id: &str,
    volumes: &[String],
) -> Result<GroupSnapshotRec, ActionError> {
    let gs = cx
        .wait(
            &format!(
                "group snapshot {id} at site {} becoming available",
                c.site()
            ),
            || {
                let cinder = c.cinder();
                let id = id.to_string();
                async move {
                    let g = cinder.group_snapshot(&id).await?;
                    Ok(match g.status.as_str() {
                        "available" => Poll::Ready(g),
                        s if is_failed(s) => Poll::Failed(s.to_string()),
                        s => Poll::Pending(s.to_string()),
                    })
                }
            },
        )
        .await?;
    // This runs inside the quiesce window: a constant number of requests
    // whatever the group's size (the members, their volumes' origins), and
    // not every snapshot of the project either. The members were created
    // with the group snapshot, so they are among the newest: read newest
    // first until every volume of the group has its member, or the
    // snapshots are older than the group snapshot.
    // The members are tagged later, outside the window, by the step that
    // first uses them (`cinder.volume_from_snapshot`).
    let since = epoch_secs(&gs.created_at).map(|t| t - MEMBER_SKEW_SECS);
    let mut pending: std::collections::HashSet<&str> = volumes.iter().map(String::as_str).collect();
    let members: Vec<_> = c
        .cinder()
        .recent_snapshots(MEMBER_PAGE, |read| {
            for s in read {
                if s["group_snapshot_id"].as_str() == Some(gs.id.as_str()) {
                    pending.remove(s["volume_id"].as_str().unwrap_or_default());
                }
            }
            let oldest = read
                .last()
                .and_then(|s| s["created_at"].as_str())
                .and_then(epoch_secs);
            pending.is_empty() || matches!((since, oldest), (Some(since), Some(t)) if t < since)
        })
        .await
        .act(cx.action())?
        .into_iter()
        .filter(|s| s.group_snapshot_id == gs.id)
        .collect();
    let mut origins: std::collections::HashMap<String, String> = Default::default();
    if members
        .iter()
        .any(|s| !s.metadata.contains_key(META_ORIGIN))
    {
        for v in c
            .cinder()
            .volumes(&[("group_id", gs.group_id.clone())])
            .await
            .act(cx.action())?
        {
            origins.insert(v.id.clone(), origin_of(&v));
        }
    }
    let mut out = Vec::with_capacity(members.len());
    for s in &members {
        let origin = match (s.metadata.get(META_ORIGIN), origins.get(&s.volume_id)) {
            (Some(o), _) | (None, Some(o)) => o.clone(),
            // Left the group since: read it alone.
            (None, None) => origin_of_id(c, &s.volume_id).await,
        };
        out.push(snapshot_rec(s, c.site(), &origin));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.volume_id.cmp(&b.volume_id)));
    Ok(GroupSnapshotRec {
        id: gs.id,
        name: gs.name,
        site: c.site().to_string(),
        group_id: gs.group_id,
        created_at: gs.created_at,
        snapshots: out,
    })
}

pub async fn create_group_snapshot(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, g) = cx.record_on_site::<GroupRec>("group")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    cx.require_microversion(
        c,
        lifeboat_openstack::Service::BlockStorage,
        lifeboat_openstack::cinder::MV_GROUP_SNAPSHOTS,
        "a group snapshot",
    )
    .await?;
    let gs = c
        .cinder()
        .create_group_snapshot(&g.id, &name)
        .await
        .act(cx.action())?;
    match group_snapshot_rec(cx, c, &gs.id, &g.volume_ids).await {
        Ok(rec) => cx.value(rec),
        Err(e) => Err(discard_failed(
            e,
            &format!("group snapshot {} at site {}", gs.id, c.site()),
            c.cinder().delete_group_snapshot(&gs.id),
        )
        .await),
    }
}

pub async fn group_snapshot_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let (c, g) = cx.record_on_site::<GroupRec>("group")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let found = c
        .cinder()
        .group_snapshots()
        .await
        .act(cx.action())?
        .into_iter()
        .find(|g| g.name == name && !is_discarded(&g.status));
    match found {
        Some(gs) => Ok(Some(
            cx.value(group_snapshot_rec(cx, c, &gs.id, &g.volume_ids).await?)?,
        )),
        None => Ok(None),
    }
}

pub async fn delete_group_snapshot(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, g) = cx.record_on_site::<GroupSnapshotRec>("group_snapshot")?;
    ok_if_gone(
        cx.action(),
        c.cinder().delete_group_snapshot(&g.id).await,
        async { c.cinder().group_snapshot(&g.id).await.map(|g| g.status) },
    )
    .await?;
    let id = g.id.clone();
    wait_gone(
        cx,
        &format!("group snapshot {id} at site {}", c.site()),
        || {
            let cinder = c.cinder();
            let id = id.clone();
            async move { cinder.group_snapshot(&id).await.map(|g| g.status) }
        },
    )
    .await?;
    cx.value(g)
}

// ---------- snapshots ----------

/// Put tag and origin metadata on a snapshot Cinder made for us (group or
/// image snapshots). Clouds without snapshot metadata (404 on the call)
/// keep the origin only in the records.
pub async fn tag_snapshot(
    cx: &Ctx<'_>,
    c: &Client,
    id: &str,
    origin: &str,
) -> Result<(), ActionError> {
    match c
        .cinder()
        .set_snapshot_metadata(id, &tag_metadata(cx.call, origin))
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound && c.cinder().snapshot(id).await.is_ok() => {
            tracing::warn!(snapshot = %id, site = %c.site(), "the cloud offers no snapshot metadata; provenance stays in the records");
            Ok(())
        }
        Err(e) => Err(from_client(cx.action(), e)),
    }
}

pub(crate) async fn wait_snapshot(
    cx: &Ctx<'_>,
    c: &Client,
    id: &str,
) -> Result<lifeboat_openstack::types::cinder::Snapshot, ActionError> {
    cx.wait(
        &format!("snapshot {id} at site {} becoming available", c.site()),
        || {
            let cinder = c.cinder();
            let id = id.to_string();
            async move {
                let s = cinder.snapshot(&id).await?;
                Ok(match s.status.as_str() {
                    "available" => Poll::Ready(s),
                    st if is_failed(st) => Poll::Failed(st.to_string()),
                    st => Poll::Pending(st.to_string()),
                })
            }
        },
    )
    .await
}

/// `cinder.show_snapshot`: the snapshot as Cinder shows it once it is
/// available (its provenance, `origin`, is kept from the given record).
pub async fn show_snapshot(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, snap) = cx.record_on_site::<SnapshotRec>("snapshot")?;
    let s = wait_snapshot(cx, c, &snap.id).await?;
    let origin = if snap.origin.is_empty() {
        s.volume_id.clone()
    } else {
        snap.origin.clone()
    };
    cx.value(snapshot_rec(&s, c.site(), &origin))
}

pub async fn create_snapshot(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let force = cx.args.bool("force", true)?;
    let v = c.cinder().volume(&vol.id).await.act(cx.action())?;
    let origin = origin_of(&v);
    let s = c
        .cinder()
        .create_snapshot(&vol.id, &name, force, &tag_metadata(cx.call, &origin))
        .await
        .act(cx.action())?;
    let s = match wait_snapshot(cx, c, &s.id).await {
        Ok(s) => s,
        Err(e) => {
            return Err(discard_failed(
                e,
                &format!("snapshot {} at site {}", s.id, c.site()),
                c.cinder().delete_snapshot(&s.id),
            )
            .await)
        }
    };
    cx.value(snapshot_rec(&s, c.site(), &origin))
}

pub async fn snapshot_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let found = c
        .cinder()
        .snapshots(&[("name", name.clone())])
        .await
        .act(cx.action())?;
    match found
        .into_iter()
        .find(|s| s.name == name && s.volume_id == vol.id && !is_discarded(&s.status))
    {
        Some(s) => {
            let s = wait_snapshot(cx, c, &s.id).await?;
            Ok(Some(cx.value(snapshot_rec(&s, c.site(), &vol.id))?))
        }
        None => Ok(None),
    }
}

pub async fn delete_snapshot(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, mut s) = cx.record_on_site::<SnapshotRec>("snapshot")?;
    ok_if_gone(
        cx.action(),
        c.cinder().delete_snapshot(&s.id).await,
        async { c.cinder().snapshot(&s.id).await.map(|s| s.status) },
    )
    .await?;
    let id = s.id.clone();
    wait_gone(cx, &format!("snapshot {id} at site {}", c.site()), || {
        let cinder = c.cinder();
        let id = id.clone();
        async move { cinder.snapshot(&id).await.map(|s| s.status) }
    })
    .await?;
    s.status = "deleted".into();
    cx.value(s)
}

pub async fn volume_from_snapshot(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, snap) = cx.record_on_site::<SnapshotRec>("snapshot")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let s = c.cinder().snapshot(&snap.id).await.act(cx.action())?;
    let origin = if !snap.origin.is_empty() {
        snap.origin.clone()
    } else if let Some(o) = s.metadata.get(META_ORIGIN) {
        o.clone()
    } else {
        origin_of_id(c, &s.volume_id).await
    };
    if !s.group_snapshot_id.is_empty()
        && !s.metadata.contains_key(META_RUN)
        && c.cinder()
            .group_snapshot(&s.group_snapshot_id)
            .await
            .is_ok_and(|g| g.name.contains(&cx.call.run_id))
    {
        // A member of a group snapshot this run took: tagged now, after the
        // thaw, rather than inside the quiesce window.
        tag_snapshot(cx, c, &s.id, &origin).await?;
    }
    let v = c
        .cinder()
        .create_volume_from_snapshot(
            &s.id,
            s.size,
            &name,
            &format!("lifeboat: from snapshot {}", s.id),
            &tag_metadata(cx.call, &origin),
        )
        .await
        .act(cx.action())?;
    let v = match wait_volume(cx, c, &v.id, &["available"]).await {
        Ok(v) => v,
        Err(e) => {
            return Err(discard_failed(
                e,
                &format!("volume {} at site {}", v.id, c.site()),
                c.cinder().delete_volume(&v.id),
            )
            .await)
        }
    };
    cx.value(volume_rec(&v, c.site()))
}

// ---------- backups ----------

/// Bytes a backup moved: what the service reports (the emulator's
/// `emulator:bytes_moved`, or `changed_blocks` of 4 KiB), else the whole volume for a full backup
/// and, for an incremental one without a report, its object count × chunk.
pub fn bytes_moved(raw: &Value, b: &Backup) -> u64 {
    if let Some(n) = raw.get("emulator:bytes_moved").and_then(Value::as_u64) {
        return n;
    }
    if let Some(n) = raw.get("changed_blocks").and_then(Value::as_u64) {
        return n * 4096;
    }
    if let Some(n) = raw.get("bytes_moved").and_then(Value::as_u64) {
        return n;
    }
    if b.is_incremental {
        b.object_count.unwrap_or(0) * 32 * 1024 * 1024
    } else {
        b.size * GIB
    }
}

async fn wait_backup(cx: &Ctx<'_>, c: &Client, id: &str) -> Result<Backup, ActionError> {
    cx.wait(
        &format!("backup {id} at site {} becoming available", c.site()),
        || {
            let cinder = c.cinder();
            let id = id.to_string();
            async move {
                let b = cinder.backup(&id).await?;
                Ok(match b.status.as_str() {
                    "available" => Poll::Ready(b),
                    s if is_failed(s) => Poll::Failed(format!("{s} ({})", b.fail_reason)),
                    s => Poll::Pending(s.to_string()),
                })
            }
        },
    )
    .await
}

async fn backup_value(
    cx: &Ctx<'_>,
    c: &Client,
    b: &Backup,
    fallback_origin: &str,
) -> Result<ActionOutput, ActionError> {
    // The raw body for fields beyond the typed ones (changed blocks).
    let raw: Value = c
        .request(
            lifeboat_openstack::Service::BlockStorage,
            reqwest::Method::GET,
            format!("backups/{}", b.id),
        )
        .microversion(lifeboat_openstack::cinder::MV_BACKUPS)
        .call("GET /backups/{id}")
        .resource(format!("backup {}", b.id))
        .send_json()
        .await
        .act(cx.action())?;
    let moved = bytes_moved(raw.get("backup").unwrap_or(&Value::Null), b);
    let mut out = cx.value(backup_rec(b, c.site(), fallback_origin, moved))?;
    out.bytes_moved = moved;
    Ok(out)
}

/// What to back up so that backups of one origin form one incremental
/// chain. Cinder chains backups per volume id, and each protect run makes a
/// fresh temporary volume from a snapshot of the production volume; so when
/// the volume is such an untouched copy (available, made from a snapshot of
/// its origin, which still exist), back up that snapshot under the
/// production volume's id (`snapshot_id`, same bytes). Otherwise the volume.
async fn chain_target(c: &Client, v: &Volume, origin: &str) -> (String, Option<String>) {
    if origin == v.id || v.snapshot_id.is_empty() || v.status != "available" {
        return (v.id.clone(), None);
    }
    match c.cinder().snapshot(&v.snapshot_id).await {
        Ok(s) if s.volume_id == origin && s.status == "available" => {
            match c.cinder().volume(origin).await {
                Ok(_) => (origin.to_string(), Some(s.id)),
                Err(_) => (v.id.clone(), None),
            }
        }
        _ => (v.id.clone(), None),
    }
}

pub async fn backup(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let incremental = cx.args.bool("incremental", true)?;
    let container = cx.args.string("container")?;
    let v = c.cinder().volume(&vol.id).await.act(cx.action())?;
    let origin = origin_of(&v);
    let meta = tag_metadata(cx.call, &origin);
    let (target, snapshot) = chain_target(c, &v, &origin).await;
    let id = match c
        .cinder()
        .create_backup(
            &target,
            snapshot.as_deref(),
            &name,
            incremental,
            &container,
            &meta,
        )
        .await
    {
        Ok(id) => id,
        // Cinder: incremental needs an earlier backup in the chain; the
        // first one is full.
        Err(e)
            if incremental
                && e.kind == ErrorKind::BadRequest
                && e.detail
                    .to_ascii_lowercase()
                    .contains("no backups available") =>
        {
            c.cinder()
                .create_backup(
                    &target,
                    snapshot.as_deref(),
                    &name,
                    false,
                    &container,
                    &meta,
                )
                .await
                .act(cx.action())?
        }
        Err(e) => return Err(from_client(cx.action(), e)),
    };
    let b = match wait_backup(cx, c, &id).await {
        Ok(b) => b,
        Err(e) => {
            return Err(discard_failed(
                e,
                &format!("backup {id} at site {}", c.site()),
                c.cinder().delete_backup(&id),
            )
            .await)
        }
    };
    backup_value(cx, c, &b, &origin).await
}

pub async fn backup_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let found = c
        .cinder()
        .backups(&[("name", name.clone())])
        .await
        .act(cx.action())?;
    match found
        .into_iter()
        .find(|b| b.name == name && !is_discarded(&b.status))
    {
        Some(b) => {
            let b = wait_backup(cx, c, &b.id).await?;
            let origin = if vol.origin.is_empty() {
                vol.id.clone()
            } else {
                vol.origin.clone()
            };
            Ok(Some(backup_value(cx, c, &b, &origin).await?))
        }
        None => Ok(None),
    }
}

pub async fn delete_backup(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, mut b) = cx.record_on_site::<BackupRec>("backup")?;
    ok_if_gone(cx.action(), c.cinder().delete_backup(&b.id).await, async {
        c.cinder().backup(&b.id).await.map(|b| b.status)
    })
    .await?;
    let id = b.id.clone();
    wait_gone(cx, &format!("backup {id} at site {}", c.site()), || {
        let cinder = c.cinder();
        let id = id.clone();
        async move { cinder.backup(&id).await.map(|b| b.status) }
    })
    .await?;
    b.status = "deleted".into();
    b.bytes_moved = 0;
    cx.value(b)
}

pub async fn export_backup(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, b) = cx.record_on_site::<BackupRec>("backup")?;
    let r = c.cinder().export_backup(&b.id).await.act(cx.action())?;
    cx.value(BackupRecordRec {
        backup_service: r.backup_service,
        backup_url: r.backup_url,
    })
}

/// The backup id inside an exported record (Cinder's backup_url is base64
/// of a JSON object with `id`), when it can be read.
pub fn record_backup_id(r: &BackupRecordRec) -> Option<String> {
    record_field(r, "id")
}

/// A string field of the backup described by an exported record
/// (`id`, `parent_id`), when the record can be read.
pub fn record_field(r: &BackupRecordRec, key: &str) -> Option<String> {
    let bytes = base64_decode(r.backup_url.trim())?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for ch in s.bytes() {
        let v = match ch {
            b'A'..=b'Z' => ch - b'A',
            b'a'..=b'z' => ch - b'a' + 26,
            b'0'..=b'9' => ch - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

async fn imported_existing(
    cx: &Ctx<'_>,
    c: &Client,
    rec: &BackupRecordRec,
) -> Result<Option<Backup>, ActionError> {
    if let Some(id) = record_backup_id(rec) {
        match c.cinder().backup(&id).await {
            Ok(b) if !is_failed(&b.status) => return Ok(Some(b)),
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(from_client(cx.action(), e)),
        }
    }
    Ok(None)
}

/// Import one record unless its backup is already known; its id here.
async fn import_one(
    cx: &Ctx<'_>,
    c: &Client,
    rec: &BackupRecordRec,
) -> Result<String, ActionError> {
    let id = match imported_existing(cx, c, rec).await? {
        Some(b) => b.id,
        None => c
            .cinder()
            .import_backup(&BackupRecord {
                backup_service: rec.backup_service.clone(),
                backup_url: rec.backup_url.clone(),
            })
            .await
            .act(cx.action())?,
    };
    wait_backup(cx, c, &id).await?;
    Ok(id)
}

pub async fn import_backup(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let rec: BackupRecordRec = cx.args.record("record")?;
    // An incremental backup restores only with its parents known here:
    // import the chain the manifest recorded first (oldest first).
    if let Some(parent) = record_field(&rec, "parent_id") {
        let known = match c.cinder().backup(&parent).await {
            Ok(_) => true,
            Err(e) if e.kind == ErrorKind::NotFound => false,
            Err(e) => return Err(from_client(cx.action(), e)),
        };
        if !known {
            let chain = crate::lifeboat::chain_of(cx, c, &rec).await?;
            if chain.is_empty() {
                return Err(ActionError::permanent(format!("{}: backup {} is incremental and its parent {parent} is unknown at site {}; no manifest there records the chain", cx.action(), record_backup_id(&rec).unwrap_or_default(), c.site()))
                    .with_hint("import the parent backups' records first, or make a full backup"));
            }
            for r in &chain {
                import_one(cx, c, r).await?;
            }
        }
    }
    let id = import_one(cx, c, &rec).await?;
    let b = wait_backup(cx, c, &id).await?;
    let origin = b
        .metadata
        .get(META_ORIGIN)
        .cloned()
        .unwrap_or_else(|| b.volume_id.clone());
    let mut out = backup_value(cx, c, &b, &origin).await?;
    // Importing moves no data; the report counts the backup's own bytes.
    out.bytes_moved = 0;
    out.value["bytes_moved"] = json!(0);
    Ok(out)
}

pub async fn import_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let c = cx.client_for_call()?;
    let rec: BackupRecordRec = cx.args.record("record")?;
    match imported_existing(cx, c, &rec).await? {
        Some(_) => Ok(Some(import_backup(cx).await?)),
        None => Ok(None),
    }
}

/// What a volume of a mapped type is called while a backup is restored into
/// it: only a finished restore carries the final name, so a volume found by
/// that name (a lost answer, a resume) always holds the restored data.
const RESTORING: &str = ".restoring";

/// `cinder.restore_backup(backup, name, volume_type)`: into a new volume, or
/// with `volume_type` (a site mapping's) into a volume of that type made for
/// it — Cinder's restore cannot choose the type of the volume it makes.
pub async fn restore_backup(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, b) = cx.record_on_site::<BackupRec>("backup")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let vt = cx.args.string("volume_type")?;
    let cur = c.cinder().backup(&b.id).await.act(cx.action())?;
    let origin = if !b.origin.is_empty() {
        b.origin.clone()
    } else {
        cur.metadata
            .get(META_ORIGIN)
            .cloned()
            .unwrap_or_else(|| cur.volume_id.clone())
    };
    let r = if vt.is_empty() {
        c.cinder()
            .restore_backup(&b.id, Some(&name), None)
            .await
            .act(cx.action())?
    } else {
        let into =
            typed_volume(cx, c, &format!("{name}{RESTORING}"), &vt, cur.size, &origin).await?;
        c.cinder()
            .restore_backup(&b.id, None, Some(&into))
            .await
            .act(cx.action())?
    };
    let v = match wait_volume(cx, c, &r.volume_id, &["available"]).await {
        Ok(v) => v,
        Err(e) => {
            let e = discard_failed(
                e,
                &format!("volume {} at site {}", r.volume_id, c.site()),
                c.cinder().delete_volume(&r.volume_id),
            )
            .await;
            // The backup is busy until the failed restore lets it go.
            wait_backup(cx, c, &b.id).await?;
            return Err(e);
        }
    };
    let v = if vt.is_empty() {
        v
    } else {
        c.cinder()
            .rename_volume(&v.id, &name)
            .await
            .act(cx.action())?
    };
    let v = ensure_tagged(cx, c, v, Some(&origin)).await?;
    wait_backup(cx, c, &b.id).await?;
    let mut out = cx.value(volume_rec(&v, c.site()))?;
    out.bytes_moved = restored_bytes(cx, c, &b.id).await;
    Ok(out)
}

/// The available volume named `name` of type `vt` this call restores into:
/// one an earlier attempt made (restored into again: a restore is the same
/// data each time), else a new one, tagged, of `size` GiB. One that ended
/// in error is deleted and made again.
async fn typed_volume(
    cx: &Ctx<'_>,
    c: &Client,
    name: &str,
    vt: &str,
    size: u64,
    origin: &str,
) -> Result<String, ActionError> {
    let found = c
        .cinder()
        .volumes(&[("name", name.to_string())])
        .await
        .act(cx.action())?;
    let id = match found
        .into_iter()
        .find(|v| v.name == name && !is_discarded(&v.status))
    {
        Some(v) => v.id,
        None => {
            let mut body = serde_json::json!({"name": name, "size": size, "volume_type": vt});
            body["metadata"] = Value::Object(tag_metadata(cx.call, origin));
            c.cinder()
                .create_volume(body, &format!("volume {name}"))
                .await
                .act(cx.action())?
                .id
        }
    };
    match wait_volume(cx, c, &id, &["available"]).await {
        Ok(_) => Ok(id),
        Err(e) => Err(discard_failed(
            e,
            &format!("volume {id} at site {}", c.site()),
            c.cinder().delete_volume(&id),
        )
        .await),
    }
}

/// Bytes a restore read from the backup store: the data of every backup in
/// the chain it rebuilds (an incremental restore reads its parents too),
/// each counted as [`bytes_moved`] counts it — what the service reports
/// (`emulator:bytes_moved`), else the object count (real Cinder), else the
/// logical size of a full backup. The chain is followed through
/// `export_record` (whose record names `parent_id`, on real Cinder as on the
/// emulator). Only a figure for the report: when a member cannot be read,
/// the sum stops there (logged), the restore itself has succeeded.
async fn restored_bytes(cx: &Ctx<'_>, c: &Client, backup_id: &str) -> u64 {
    let mut total = 0u64;
    let mut next = Some(backup_id.to_string());
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = next.take() {
        if !seen.insert(id.clone()) || seen.len() > 1000 {
            break;
        }
        let raw: Value = match c
            .request(
                lifeboat_openstack::Service::BlockStorage,
                reqwest::Method::GET,
                format!("backups/{id}"),
            )
            .microversion(lifeboat_openstack::cinder::MV_BACKUPS)
            .call("GET /backups/{id}")
            .resource(format!("backup {id}"))
            .send_json()
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(step = %cx.call.step, backup = %id, error = %e, "bytes restored: cannot read a backup of the chain; the figure stops there");
                break;
            }
        };
        let raw = raw.get("backup").cloned().unwrap_or(Value::Null);
        let Ok(b) = serde_json::from_value::<Backup>(raw.clone()) else {
            break;
        };
        total += bytes_moved(&raw, &b);
        if !b.is_incremental {
            break;
        }
        next = match c.cinder().export_backup(&id).await {
            Ok(r) => record_field(
                &BackupRecordRec {
                    backup_service: r.backup_service,
                    backup_url: r.backup_url,
                },
                "parent_id",
            ),
            Err(e) => {
                tracing::warn!(step = %cx.call.step, backup = %id, error = %e, "bytes restored: cannot read the parent of a backup; the figure stops there");
                None
            }
        };
    }
    total
}

// ---------- retype, replication ----------

pub async fn retype(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let new_type = cx.args.required_string("volume_type")?;
    let policy = cx.args.string("migration_policy")?;
    let v = c.cinder().volume(&vol.id).await.act(cx.action())?;
    if v.volume_type != new_type {
        let policy = if policy.is_empty() {
            "never".to_string()
        } else {
            policy
        };
        match c.cinder().retype(&vol.id, &new_type, &policy).await {
            Ok(()) => {}
            // Refused because an earlier send was taken (its answer lost):
            // the volume is retyping, or done.
            Err(e) if matches!(e.kind, ErrorKind::BadRequest | ErrorKind::Conflict) => {
                let now = c.cinder().volume(&vol.id).await.act(cx.action())?;
                if now.status != "retyping" && now.volume_type != new_type {
                    return Err(crate::args::from_client(cx.action(), e));
                }
            }
            Err(e) => return Err(crate::args::from_client(cx.action(), e)),
        }
    }
    let id = vol.id.clone();
    let nt = new_type.clone();
    let v = cx
        .wait(
            &format!("volume {id} at site {} retyping to {new_type}", c.site()),
            || {
                let cinder = c.cinder();
                let id = id.clone();
                let nt = nt.clone();
                async move {
                    let v = cinder.volume(&id).await?;
                    Ok(
                        if v.volume_type == nt
                            && matches!(v.status.as_str(), "available" | "in-use")
                        {
                            Poll::Ready(v)
                        } else if is_failed(&v.status) {
                            Poll::Failed(v.status)
                        } else {
                            Poll::Pending(format!("{} ({})", v.status, v.volume_type))
                        },
                    )
                }
            },
        )
        .await?;
    cx.value(volume_rec(&v, c.site()))
}

/// Where the replica of a replicated volume lives: the volume's
/// `replica_site`/`replica_ref`/`replica_host` metadata when its driver
/// publishes them, else the other sites' backend volumes not managed by Cinder (`GET /manageable_volumes?host=`), matched
/// by the backend name Cinder gives the volume (`volume-<id>`) or `cinder_id`.
/// `cinder.check_replica`: the replica is held by the backup site's backend
/// and could be managed there now (listed in manageable_volumes, safe to
/// manage, of the recorded size). Reads only; touches nothing.
pub async fn check_replica(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let rep: ReplicaRec = cx.args.record("replica")?;
    let candidates = c
        .cinder()
        .manageable_volumes(&rep.host)
        .await
        .act(cx.action())?;
    let found = candidates.iter().find(|m| {
        m.pointer("/reference/source-name").and_then(Value::as_str) == Some(rep.reference.as_str())
    });
    let Some(m) = found else {
        return Err(ActionError::permanent(format!("{}: replica {} of volume {} is not on backend {} at site {} ({} candidates there)", cx.action(), rep.reference, rep.volume_id, rep.host, c.site(), candidates.len()))
            .with_hint("check that the volume is of a replication-enabled type and that replication is running (cinder.replica_of at the primary site)"));
    };
    if m.get("safe_to_manage").and_then(Value::as_bool) != Some(true) {
        let why = m
            .get("reason_not_safe")
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        return Err(ActionError::permanent(format!(
            "{}: replica {} of volume {} at site {} is not safe to manage: {why}",
            cx.action(),
            rep.reference,
            rep.volume_id,
            c.site()
        )));
    }
    let mut out = rep.clone();
    out.status = "manageable".into();
    cx.value(out)
}

pub async fn replica_of(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let v = c.cinder().volume(&vol.id).await.act(cx.action())?;
    // Drivers (and the emulator) that publish the replica on the volume.
    if let (Some(site), Some(reference), Some(host)) = (
        v.metadata.get("replica_site"),
        v.metadata.get("replica_ref"),
        v.metadata.get("replica_host"),
    ) {
        return cx.value(ReplicaRec {
            volume_id: v.id.clone(),
            site: site.clone(),
            reference: reference.clone(),
            host: host.clone(),
            status: v.replication_status.clone(),
        });
    }
    let wanted = format!("volume-{}", v.id);
    let mut looked = Vec::new();
    for site in cx.acts.sites().into_iter().filter(|s| s != c.site()) {
        let other = cx.acts.client(&site)?;
        let services = other
            .cinder()
            .services("cinder-volume")
            .await
            .act(cx.action())?;
        for svc in services {
            looked.push(format!("{site}:{}", svc.host));
            let host = svc.host.clone();
            let candidates = match other.cinder().manageable_volumes(&host).await {
                Ok(c) => c,
                Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::BadRequest) => continue,
                Err(e) => return Err(from_client(cx.action(), e)),
            };
            for m in candidates {
                let reference = m
                    .pointer("/reference/source-name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let cinder_id = m
                    .get("cinder_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if reference == wanted || cinder_id == v.id {
                    let host = m
                        .get("host")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or(host.clone());
                    return cx.value(ReplicaRec {
                        volume_id: v.id.clone(),
                        site,
                        reference,
                        host,
                        status: v.replication_status.clone(),
                    });
                }
            }
        }
    }
    let msg = format!(
        "{}: no replica of volume {} ({}) found; replication_status {:?}; backends looked at: [{}]",
        cx.action(),
        v.id,
        c.site(),
        v.replication_status,
        looked.join(", ")
    );
    if v.replication_status == "enabled" || v.replication_status == "copying" {
        // Replicating, but the first copy has not landed yet.
        return Err(
            ActionError::transient(msg, Some(std::time::Duration::from_secs(2)))
                .with_hint("replication has not caught up yet; retry"),
        );
    }
    Err(ActionError::permanent(msg).with_hint(
        "retype the volume to a replication-enabled type first and let replication catch up",
    ))
}

pub async fn manage_existing(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let rep: ReplicaRec = cx.args.record("replica")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let vt = cx.args.string("volume_type")?;
    let bootable = cx.args.bool("bootable", false)?;
    let vt = Some(vt.as_str()).filter(|t| !t.is_empty());
    // Adopted by an earlier run (a failover that failed after adopting and
    // kept what it adopted): a backend volume can be managed only once — on
    // real Cinder the driver renames it, on the emulator it answers "already
    // managed" — so that volume is the replica now, and it is taken as is.
    if let Some(v) = adopted_earlier(cx, c, &rep).await? {
        tracing::info!(step = %cx.call.step, replica = %rep.reference, volume = %v.id, site = %c.site(), "replica adopted by an earlier run: reused");
        return cx.value(volume_rec(&v, c.site()));
    }
    let mut meta = tag_metadata(cx.call, &rep.volume_id);
    meta.insert(META_REPLICA_REF.into(), json!(rep.reference));
    let v = c
        .cinder()
        .manage_volume(&rep.host, &rep.reference, &name, vt, bootable, &meta)
        .await
        .act(cx.action())?;
    // A volume Cinder could not place (`error_managing`: say, a type whose
    // backend is not the replica's) is deleted; the replica stays as it was.
    let v = match wait_volume(cx, c, &v.id, &["available"]).await {
        Ok(v) => v,
        Err(e) => {
            let what = format!("volume {} at site {}", v.id, c.site());
            let e = discard_failed(e, &what, c.cinder().delete_volume(&v.id)).await;
            return Err(e.with_hint("a volume type whose volume_backend_name is not the replica backend's cannot adopt it: map the type (site mapping volume_types) to one that fits"));
        }
    };
    cx.value(volume_rec(&v, c.site()))
}

/// Metadata key naming the backend reference a managed volume was adopted
/// from (set by `manage_existing`).
pub const META_REPLICA_REF: &str = "lifeboat_replica_ref";

/// A volume at the replica's site that an earlier `manage_existing` made
/// from the same backend reference, available (not attached to anything).
/// One attached or in another state is not reused: the error of the manage
/// call that follows says what is wrong.
async fn adopted_earlier(
    cx: &Ctx<'_>,
    c: &Client,
    rep: &ReplicaRec,
) -> Result<Option<Volume>, ActionError> {
    let vols = c.cinder().volumes(&[]).await.act(cx.action())?;
    Ok(vols.into_iter().find(|v| {
        v.metadata.get(META_REPLICA_REF) == Some(&rep.reference)
            && v.status == "available"
            && v.attachments.is_empty()
    }))
}

pub async fn unmanage(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, mut vol) = cx.record_on_site::<VolumeRec>("volume")?;
    ok_if_gone(
        cx.action(),
        c.cinder()
            .volume_action(&vol.id, "os-unmanage", Value::Null)
            .await,
        async { c.cinder().volume(&vol.id).await.map(|v| v.status) },
    )
    .await?;
    let id = vol.id.clone();
    wait_gone(
        cx,
        &format!("volume {id} at site {} (unmanage)", c.site()),
        || {
            let cinder = c.cinder();
            let id = id.clone();
            async move { cinder.volume(&id).await.map(|v| v.status) }
        },
    )
    .await?;
    vol.status = "unmanaged".into();
    cx.value(vol)
}

pub async fn failover_host(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let host = cx.args.required_string("host")?;
    let backend = cx.args.string("backend_id")?;
    c.cinder()
        .failover_host(&host, &backend)
        .await
        .act(cx.action())?;
    let h = host.clone();
    let active = cx
        .wait(
            &format!("backend {host} at site {} failing over", c.site()),
            || {
                let cinder = c.cinder();
                let h = h.clone();
                async move {
                    let svcs = cinder.services("cinder-volume").await?;
                    let mine: Vec<_> = svcs
                        .into_iter()
                        .filter(|s| {
                            s.host == h
                                || s.host.starts_with(&format!("{h}@"))
                                || h.starts_with(&format!("{}@", s.host))
                        })
                        .collect();
                    if mine.is_empty() {
                        // The service list does not show the backend: the accepted
                        // request is all we can know.
                        return Ok(Poll::Ready(String::new()));
                    }
                    Ok(
                        match mine.iter().find(|s| {
                            s.replication_status == "failed-over" || s.replication_status.is_empty()
                        }) {
                            Some(s) => Poll::Ready(s.active_backend_id.clone()),
                            None if mine.iter().any(|s| {
                                s.replication_status == "failover-error"
                                    || is_failed(&s.replication_status)
                            }) =>
                            {
                                Poll::Failed(mine[0].replication_status.clone())
                            }
                            None => Poll::Pending(mine[0].replication_status.clone()),
                        },
                    )
                }
            },
        )
        .await?;
    let out = if !active.is_empty() {
        active
    } else if !backend.is_empty() {
        backend
    } else {
        "failed-over".to_string()
    };
    cx.value(Value::String(out))
}

pub async fn failover_group(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, g) = cx.record_on_site::<GroupRec>("group")?;
    let backend = cx.args.string("backend_id")?;
    cx.require_microversion(
        c,
        lifeboat_openstack::Service::BlockStorage,
        lifeboat_openstack::cinder::MV_GROUP_REPLICATION,
        "group replication failover",
    )
    .await?;
    let now = c.cinder().group_replication(&g.id).await.act(cx.action())?;
    if now.replication_status != "failed-over" {
        c.cinder()
            .failover_group(&g.id, &backend)
            .await
            .act(cx.action())?;
    }
    let id = g.id.clone();
    cx.wait(
        &format!("group {id} at site {} failing over", c.site()),
        || {
            let cinder = c.cinder();
            let id = id.clone();
            async move {
                let g = cinder.group_replication(&id).await?;
                Ok(match g.replication_status.as_str() {
                    "failed-over" if g.status == "available" => Poll::Ready(()),
                    s if s.contains("error") || is_failed(&g.status) => {
                        Poll::Failed(format!("{} / {s}", g.status))
                    }
                    s => Poll::Pending(format!("{} / {s}", g.status)),
                })
            }
        },
    )
    .await?;
    cx.value(group_rec(cx, c, &g.id, &g.volume_ids).await?)
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
