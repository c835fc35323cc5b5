//! `cinder.create_group_snapshot`, `delete_group_snapshot`: one
//! crash-consistent snapshot of a group, inside the quiesce window, and
//! its members.

use super::*;

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
    let members = members_of(cx, c, &gs, volumes).await?;
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
        let mut rec = snapshot_rec(s, c.site(), &origin);
        if !s.metadata.contains_key(META_RUN) {
            rec.group_snapshot_name = gs.name.clone();
        }
        out.push(rec);
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

/// The members of group snapshot `gs` (of the group's `volumes`).
///
/// This runs inside the quiesce window: a constant number of requests
/// whatever the group's size, and not every snapshot of the project either.
/// Cinder names each member after its group snapshot (and `name` is a
/// snapshot filter every project may use), so one list by name finds them —
/// however many snapshots other runs made meanwhile. A group snapshot
/// without a name, or members renamed since, are looked for instead among
/// the newest snapshots (the members were created with the group snapshot),
/// newest first until every volume has its member or the snapshots are
/// older than the group snapshot: at a hundred VNFs snapshotting at once,
/// that search read thousands of other groups' members a time.
/// The members are tagged later, outside the window, by the step that
/// first uses them (`cinder.volume_from_snapshot`).
async fn members_of(
    cx: &Ctx<'_>,
    c: &Client,
    gs: &lifeboat_openstack::cinder::GroupSnapshot,
    volumes: &[String],
) -> Result<Vec<lifeboat_openstack::cinder::Snapshot>, ActionError> {
    if !gs.name.is_empty() {
        if let Ok(named) = c.cinder().snapshots(&[("name", gs.name.clone())]).await {
            let members: Vec<_> = named
                .into_iter()
                .filter(|s| s.group_snapshot_id == gs.id)
                .collect();
            let found: std::collections::HashSet<&str> =
                members.iter().map(|s| s.volume_id.as_str()).collect();
            if volumes.iter().all(|v| found.contains(v.as_str())) {
                return Ok(members);
            }
        }
    }
    let epoch_secs = |s: &str| parse_time(s).map(|t| t.timestamp());
    let since = epoch_secs(&gs.created_at).map(|t| t - MEMBER_SKEW_SECS);
    let mut pending: std::collections::HashSet<&str> = volumes.iter().map(String::as_str).collect();
    Ok(c.cinder()
        .recent_snapshots(MEMBER_PAGE, |page| {
            for s in page {
                if s["group_snapshot_id"].as_str() == Some(gs.id.as_str()) {
                    pending.remove(s["volume_id"].as_str().unwrap_or_default());
                }
            }
            let oldest = page
                .last()
                .and_then(|s| s["created_at"].as_str())
                .and_then(epoch_secs);
            pending.is_empty() || matches!((since, oldest), (Some(since), Some(t)) if t < since)
        })
        .await
        .act(cx.action())?
        .into_iter()
        .filter(|s| s.group_snapshot_id == gs.id)
        .collect())
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

/// Planned `cinder.create_group_snapshot`: one snapshot per volume of the group.
pub fn planned_group_snapshot(p: &crate::projection::Planned<'_>) -> Option<Value> {
    let mut f = json!({"name": p.name(), "group_id": p.field("group", "id")});
    if let Some(ids) = p
        .arg("group")
        .and_then(|g| g.get("volume_ids"))
        .and_then(Value::as_array)
    {
        f["snapshots"] = p.snapshots_of(ids);
    }
    Some(p.mark(f))
}
