//! Asynchronous replication of volumes whose type has
//! `replication_enabled='<is> True'` to the other site, with a configurable
//! lag. The replica is a backend volume of the other site's replica backend
//! (`<site>@replica#pool`), not known to its Cinder until managed. The source
//! volume exposes it the way a driver's model update would, in its metadata:
//! `replica_site`, `replica_ref` (the `source-name` to manage it by,
//! `volume-<source id>`) and `replica_host`; `replication_status` is
//! `enabled`. Also here: `os-services` (list, failover_host/failover) and the
//! group replication actions.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use super::nf;
use crate::errors::{bad_request, Flavor as F, Reply};
use crate::routing::Ctx;
use crate::server::Shared;
use crate::world::{new_id, now_iso, Replica, Site, Volume, World};

/// Start replicating `vol_id` of `site` to the other site.
pub fn enable(w: &mut World, site: Site, vol_id: &str) {
    let other = site.other();
    let reference = format!("volume-{vol_id}");
    let Some(v) = w.site_mut(site).volumes.get_mut(vol_id) else {
        return;
    };
    v.metadata
        .insert("replica_site".into(), json!(other.name()));
    v.metadata.insert("replica_ref".into(), json!(reference));
    v.metadata
        .insert("replica_host".into(), json!(other.replica_host()));
    v.replication_status = Some("enabled".into());
    let (name, size, bootable, content) = (v.name.clone(), v.size, v.bootable, v.content.clone());
    let replicas = &mut w.site_mut(other).replicas;
    let r = replicas
        .entry(reference.clone())
        .or_insert_with(|| Replica {
            reference: reference.clone(),
            source_volume_id: vol_id.to_string(),
            source_name: name,
            size,
            bootable,
            content: Default::default(),
            active: true,
            managed_as: None,
        });
    if r.managed_as.is_none() {
        r.active = true;
    }
    let mut q = VecDeque::new();
    q.push_back((Instant::now(), content));
    w.replication.insert((site, vol_id.to_string()), q);
}

/// Stop replicating (the replica keeps what it has).
pub fn disable(w: &mut World, site: Site, vol_id: &str) {
    w.replication.remove(&(site, vol_id.to_string()));
    if let Some(r) = w
        .site_mut(site.other())
        .replicas
        .get_mut(&format!("volume-{vol_id}"))
    {
        r.active = false;
    }
}

/// Push the current contents and apply those older than the lag. Runs with the
/// workload tick. A site that is down neither sends nor delivers: what is in
/// flight is lost (that is the RPO of option 3).
pub fn tick(sh: &Arc<Shared>, w: &mut World) {
    let lag = sh.timing().replication_lag;
    let now = Instant::now();
    let keys: Vec<(Site, String)> = w.replication.keys().cloned().collect();
    for key in keys {
        let (site, vid) = (key.0, key.1.clone());
        if sh.switches[site.index()].is_down() {
            continue;
        }
        let current = w
            .site(site)
            .volumes
            .get(&vid)
            .map(|v| (v.content.clone(), v.size));
        let Some((current, size)) = current else {
            w.replication.remove(&key);
            continue;
        };
        let mut apply = None;
        if let Some(q) = w.replication.get_mut(&key) {
            let push = q.back().is_none_or(|(t, _)| {
                now.duration_since(*t)
                    >= Duration::from_millis(20).min(lag.max(Duration::from_millis(1)))
            });
            if push {
                q.push_back((now, current));
            }
            while q
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) >= lag)
            {
                apply = q.pop_front().map(|(_, c)| c);
            }
        }
        if let Some(c) = apply {
            if let Some(r) = w
                .site_mut(site.other())
                .replicas
                .get_mut(&format!("volume-{vid}"))
            {
                if r.active {
                    r.content = c;
                    r.size = size;
                }
            }
        }
    }
}

/// Adopt a replica (or unmanaged backend volume) of `site` into its Cinder.
#[allow(clippy::too_many_arguments)]
pub fn promote(
    w: &mut World,
    site: Site,
    reference: &str,
    name: Option<String>,
    volume_type: Option<String>,
    bootable: Option<bool>,
    project: &str,
    user: &str,
    status: &str,
) -> Option<String> {
    let r = w.site(site).replicas.get(reference)?.clone();
    if r.managed_as.is_some() {
        return None;
    }
    let id = new_id();
    let seq = w.next_seq();
    let vt = volume_type
        .or_else(|| w.site(site).default_volume_type().map(|t| t.name.clone()))
        .unwrap_or_default();
    let mut metadata = Map::new();
    metadata.insert("replicated_from".into(), json!(r.source_volume_id));
    let vol = Volume {
        name: name.unwrap_or_else(|| r.source_name.clone()),
        size: r.size,
        status: status.into(),
        volume_type: vt,
        bootable: bootable.unwrap_or(r.bootable),
        metadata,
        content: r.content.clone(),
        replication_status: Some("failed-over".into()),
        ..Volume::blank(
            id.clone(),
            seq,
            site.replica_host(),
            user.into(),
            project.into(),
        )
    };
    let sm = w.site_mut(site);
    sm.volumes.insert(id.clone(), vol);
    if let Some(r) = sm.replicas.get_mut(reference) {
        r.active = false;
        r.managed_as = Some(id.clone());
    }
    Some(id)
}

pub fn services(ctx: &Ctx) -> Reply {
    let site = ctx.site;
    let w = ctx.shared.lock();
    let s = w.site(site);
    let now = now_iso();
    let svc = |binary: &str, host: String| {
        let backend = host.split('#').next().unwrap_or("").to_string();
        let failed = s.failed_over.get(&backend).cloned();
        json!({
            "binary": binary, "host": backend, "zone": "nova", "status": "enabled", "state": "up",
            "updated_at": now, "disabled_reason": null, "cluster": null, "frozen": false,
            "replication_status": if binary == "cinder-volume" { if failed.is_some() { "failed-over" } else { "enabled" } } else { "disabled" },
            "active_backend_id": failed,
        })
    };
    let list = vec![
        svc("cinder-scheduler", site.name().to_string()),
        svc("cinder-volume", site.volume_host()),
        svc("cinder-volume", site.replica_host()),
        svc("cinder-backup", site.name().to_string()),
    ];
    Ok(Json(json!({"services": list})).into_response())
}

/// `PUT /os-services/failover_host {"host", "backend_id"}` (and 3.26 `failover`).
/// At the replica backend of a site: every replica it holds is promoted into
/// the site's Cinder. At a site's own backend: its replicated volumes are marked
/// failed-over and replication stops.
pub fn failover_host(ctx: &Ctx) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(host) = body
        .get("host")
        .or_else(|| body.get("cluster"))
        .and_then(|h| h.as_str())
    else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: host or cluster must be specified",
        ));
    };
    let backend = host.split('#').next().unwrap_or("");
    let site = ctx.site;
    let own = site.volume_host();
    let rep = site.replica_host();
    let own_b = own.split('#').next().unwrap_or("");
    let rep_b = rep.split('#').next().unwrap_or("");
    let backend_id = body
        .get("backend_id")
        .and_then(|b| b.as_str())
        .unwrap_or("")
        .to_string();
    let mut w = ctx.shared.lock();
    if backend == rep_b {
        let refs: Vec<String> = w
            .site(site)
            .replicas
            .values()
            .filter(|r| r.managed_as.is_none() && r.active)
            .map(|r| r.reference.clone())
            .collect();
        for r in refs {
            promote(
                &mut w,
                site,
                &r,
                None,
                None,
                None,
                &ctx.token.project_id,
                &ctx.token.user_id,
                "available",
            );
        }
        w.site_mut(site).failed_over.insert(
            rep_b.to_string(),
            if backend_id.is_empty() {
                site.other().name().into()
            } else {
                backend_id
            },
        );
    } else if backend == own_b {
        let vids: Vec<String> = w
            .site(site)
            .volumes
            .values()
            .filter(|v| v.replication_status.as_deref() == Some("enabled"))
            .map(|v| v.id.clone())
            .collect();
        for vid in vids {
            disable(&mut w, site, &vid);
            if let Some(v) = w.site_mut(site).volumes.get_mut(&vid) {
                v.replication_status = Some("failed-over".into());
            }
        }
        w.site_mut(site).failed_over.insert(
            own_b.to_string(),
            if backend_id.is_empty() {
                site.other().name().into()
            } else {
                backend_id
            },
        );
    } else {
        return Err(bad_request(
            F::Cinder,
            format!(
                "Invalid input received: Host {host} not found or not a volume backend of {}.",
                site.name()
            ),
        ));
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

pub fn group_action(ctx: &Ctx, id: &str, name: &str, _arg: &Value) -> Reply {
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w.site(site);
    let g = s.groups.get(id).ok_or_else(|| nf("Group", id))?.clone();
    if name == "list_replication_targets" {
        return Ok(Json(json!({"replication_targets": [{"backend_id": site.other().name(), "unique_key": site.other().replica_host()}]})).into_response());
    }
    let all_replicated = g.volumes.iter().all(|v| {
        s.volumes
            .get(v)
            .and_then(|v| s.volume_type_by_name_or_id(&v.volume_type))
            .map(|t| t.replicated())
            .unwrap_or(false)
    });
    if !all_replicated || g.volumes.is_empty() {
        return Err(bad_request(F::Cinder, format!("Invalid group: Group {id} has volumes that are not replication-enabled; replication is not supported.")));
    }
    match name {
        "enable_replication" => {
            if let Some(g) = w.site_mut(site).groups.get_mut(id) {
                g.replication_status = Some("enabled".into());
            }
        }
        "disable_replication" => {
            if let Some(g) = w.site_mut(site).groups.get_mut(id) {
                g.replication_status = Some("disabled".into());
            }
        }
        _ => {
            // failover_replication: stop replication and promote each replica at the other site.
            let other = site.other();
            for vid in &g.volumes {
                disable(&mut w, site, vid);
                if let Some(v) = w.site_mut(site).volumes.get_mut(vid) {
                    v.replication_status = Some("failed-over".into());
                }
                let vt = w.site(site).volumes.get(vid).map(|v| v.volume_type.clone());
                promote(
                    &mut w,
                    other,
                    &format!("volume-{vid}"),
                    None,
                    vt,
                    None,
                    &ctx.token.project_id,
                    &ctx.token.user_id,
                    "available",
                );
            }
            if let Some(g) = w.site_mut(site).groups.get_mut(id) {
                g.replication_status = Some("failed-over".into());
            }
        }
    }
    Ok(StatusCode::ACCEPTED.into_response())
}
