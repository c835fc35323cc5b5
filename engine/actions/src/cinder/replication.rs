//! `cinder.retype`, `replica_of`, `check_replica`, `manage_existing`,
//! `unmanage`, `failover_host`, `failover_group`: volumes replicated by
//! the storage backend and taken over at the other site.

use super::*;

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
    let is_it = |m: &Value| {
        m.pointer("/reference/source-name").and_then(Value::as_str) == Some(rep.reference.as_str())
    };
    let candidates = c
        .cinder()
        .manageable_volumes_until(&rep.host, |page| page.iter().any(is_it))
        .await
        .act(cx.action())?;
    let found = candidates.iter().find(|m| is_it(m));
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
            let is_it = |m: &Value| {
                m.pointer("/reference/source-name").and_then(Value::as_str) == Some(wanted.as_str())
                    || m.get("cinder_id").and_then(Value::as_str) == Some(v.id.as_str())
            };
            let candidates = match other
                .cinder()
                .manageable_volumes_until(&host, |page| page.iter().any(is_it))
                .await
            {
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

/// Planned `cinder.retype`: the volume given, of its new type.
pub fn planned_retype(p: &crate::projection::Planned<'_>) -> Option<Value> {
    let mut v = p.arg("volume")?.clone();
    v["volume_type"] = p.arg("volume_type")?.clone();
    Some(p.mark(v))
}
