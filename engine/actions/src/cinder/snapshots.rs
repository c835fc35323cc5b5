//! `cinder.create_snapshot`, `show_snapshot`, `delete_snapshot`,
//! `volume_from_snapshot`: single snapshots and the volumes made from them.

use super::*;

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
) -> Result<lifeboat_openstack::cinder::Snapshot, ActionError> {
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

/// The twins of the snapshot a call made (`kept`): every other snapshot
/// of the volume carrying its name, once settled.
pub async fn snapshot_twins(cx: &Ctx<'_>, kept: &Value) -> Result<Vec<Value>, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let kept = kept_ids(kept);
    let found = c
        .cinder()
        .snapshots(&[("name", name.clone())])
        .await
        .act(cx.action())?;
    let mut out = Vec::new();
    for s in found.into_iter().filter(|s| {
        s.name == name
            && s.volume_id == vol.id
            && !kept.contains(&s.id.as_str())
            && !is_going(&s.status)
    }) {
        let s = match wait_snapshot(cx, c, &s.id).await {
            Ok(s) => s,
            Err(_) => c.cinder().snapshot(&s.id).await.act(cx.action())?,
        };
        out.push(cx.value(snapshot_rec(&s, c.site(), &vol.id))?.value);
    }
    Ok(out)
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
    let s = if this_runs_member(cx, &snap) {
        // A member of a group snapshot this run took: its record holds what
        // the volume needs, and the member is tagged now, after the thaw,
        // rather than inside the quiesce window (again, if another step of
        // the run used it first: the same run, the metadata merged).
        tag_snapshot(cx, c, &snap.id, &snap.origin).await?;
        MadeFrom {
            id: snap.id.clone(),
            size: snap.size_gb as u64,
            origin: snap.origin.clone(),
        }
    } else {
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
                .is_ok_and(|g| made_by_this_run(cx.call, &g.name))
        {
            tag_snapshot(cx, c, &s.id, &origin).await?;
        }
        MadeFrom {
            id: s.id,
            size: s.size,
            origin,
        }
    };
    let v = c
        .cinder()
        .create_volume_from_snapshot(
            &s.id,
            s.size,
            &name,
            &format!("lifeboat: from snapshot {}", s.id),
            &tag_metadata(cx.call, &s.origin),
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

/// The snapshot a volume is made from: its id, size (GiB) and origin.
struct MadeFrom {
    id: String,
    size: u64,
    origin: String,
}

/// Whether `snap` is the record of a member of a group snapshot this run
/// took, complete enough to make a volume of it without reading it again.
fn this_runs_member(cx: &Ctx<'_>, snap: &SnapshotRec) -> bool {
    made_by_this_run(cx.call, &snap.group_snapshot_name)
        && snap.size_gb > 0
        && !snap.origin.is_empty()
}

/// Planned `cinder.show_snapshot`: the snapshot given.
pub fn planned_show_snapshot(p: &crate::projection::Planned<'_>) -> Option<Value> {
    p.arg("snapshot").cloned()
}

/// Planned `cinder.volume_from_snapshot`: a volume of the snapshot's origin.
pub fn planned_volume_from_snapshot(p: &crate::projection::Planned<'_>) -> Option<Value> {
    Some(p.mark(json!({"name": p.name(), "origin": p.field("snapshot", "origin")})))
}
