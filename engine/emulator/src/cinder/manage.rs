//! Manage existing backend volumes (`POST /manageable_volumes`, legacy
//! `POST /os-volume-manage`) by `ref: {"source-name": ...}` or `source-id`,
//! and list them (`GET /manageable_volumes[/detail]`). This is how a replica
//! at the backup site is adopted into its Cinder.

use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::accepted;
use crate::body::One;
use crate::errors::{bad_request, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;

pub fn list(ctx: &Ctx, detail: bool) -> Reply {
    let w = ctx.shared.lock();
    let items: Vec<Value> = w
        .site(ctx.site)
        .replicas
        .values()
        .map(|r| {
            let safe = r.managed_as.is_none();
            if detail {
                json!({"reference": {"source-name": r.reference}, "size": r.size, "safe_to_manage": safe,
                       "reason_not_safe": if safe { Value::Null } else { json!("already managed") },
                       "cinder_id": r.managed_as, "extra_info": null})
            } else {
                json!({"reference": {"source-name": r.reference}, "size": r.size, "safe_to_manage": safe})
            }
        })
        .collect();
    Ok(Json(json!({"manageable-volumes": items})).into_response())
}

pub fn manage(ctx: &Ctx, mv: Mv) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("volume").and_then(|v| v.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'volume' is a required property",
        ));
    };
    let Some(host) = req
        .get("host")
        .or_else(|| req.get("cluster"))
        .and_then(|h| h.as_str())
    else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: Either host or cluster must be specified.",
        ));
    };
    let Some(r) = req.get("ref").and_then(|r| r.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: ref must be specified.",
        ));
    };
    let site = ctx.site;
    let backend = host.split('#').next().unwrap_or("");
    let ok_hosts = [site.replica_host(), site.volume_host()];
    if !ok_hosts
        .iter()
        .any(|h| h.split('#').next() == Some(backend))
    {
        return Err(bad_request(
            F::Cinder,
            format!("Invalid input received: Service {host} not found."),
        ));
    }
    let reference = match (
        r.get("source-name").and_then(|x| x.as_str()),
        r.get("source-id").and_then(|x| x.as_str()),
    ) {
        (Some(n), _) => n.to_string(),
        (None, Some(id)) => format!("volume-{id}"),
        _ => {
            return Err(bad_request(
                F::Cinder,
                "Invalid input received: ref must contain source-name or source-id.",
            ))
        }
    };
    // The scheduler places the volume on `host` only when the type's
    // `volume_backend_name` (if it names one) is that backend's: otherwise
    // the volume ends in `error_managing` and the backend volume is left as
    // it was (Cinder's CapabilitiesFilter, then NoValidBackend).
    let backend_name = backend.split('@').nth(1).unwrap_or("").to_string();
    let (vt, fits) = match req
        .get("volume_type")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
    {
        Some(t) => {
            let w = ctx.shared.lock();
            match w.site(site).volume_type_by_name_or_id(t) {
                Some(t) => (
                    Some(t.name.clone()),
                    t.extra_specs
                        .get("volume_backend_name")
                        .is_none_or(|b| *b == backend_name),
                ),
                None => return Err(super::nf("Volume type", t)),
            }
        }
        None => (None, true),
    };
    let bootable = req.get("bootable").and_then(|b| b.as_bool());
    let name = req.get("name").and_then(|n| n.as_str()).map(str::to_string);
    let mut w = ctx.shared.lock();
    match w.site(site).replicas.get(&reference) {
        None => return Err(bad_request(F::Cinder, format!("Manage existing volume failed due to invalid backend reference {{'source-name': '{reference}'}}: volume not found on {host}"))),
        Some(r) if r.managed_as.is_some() => return Err(bad_request(F::Cinder, format!("Manage existing volume failed due to invalid backend reference {{'source-name': '{reference}'}}: already managed"))),
        Some(r) => {
            let size = r.size;
            crate::quota::check_volume(w.site(site), &ctx.token.project_id, size)?;
        }
    }
    let Some(id) = super::replication::promote(
        &mut w,
        site,
        &reference,
        name,
        vt.clone(),
        bootable,
        &ctx.token.project_id,
        &ctx.token.user_id,
        "creating",
    ) else {
        return Err(bad_request(F::Cinder, "Manage existing volume failed."));
    };
    // Adopted with a replication-enabled type, the volume replicates to
    // the backend's peer (the other site) from now on, as drivers that
    // manage into a replicated type do (Pure, NetApp: replication is
    // enabled on manage): after a failover, the way back is replicated.
    let replicated = fits
        && vt
            .as_deref()
            .and_then(|t| w.site(site).volume_type_by_name_or_id(t))
            .is_some_and(|t| t.replicated());
    if replicated {
        super::replication::enable(&mut w, site, &id);
    }
    if let Some(m) = req.get("metadata").and_then(|m| m.as_object()) {
        if let Some(v) = w.site_mut(site).volumes.get_mut(&id) {
            for (k, val) in m {
                v.metadata.insert(k.clone(), val.clone());
            }
        }
    }
    if let Some(d) = req.get("description").and_then(|d| d.as_str()) {
        if let Some(v) = w.site_mut(site).volumes.get_mut(&id) {
            v.description = Some(d.into());
        }
    }
    // Written while the world is at hand (the view borrows it).
    let s = w.site(site);
    let answer = accepted(One(
        "volume",
        s.volumes
            .get(&id)
            .map(|v| super::volumes::view(ctx, s, v, mv, super::volumes::Shape::Plain)),
    ));
    drop(w);
    if fits {
        super::volumes::schedule_status(ctx, "volume.manage", 1, id, "available", "error_managing");
    } else {
        let unplaced = move |w: &mut crate::world::World| {
            let sm = w.site_mut(site);
            if let Some(v) = sm.volumes.get_mut(&id) {
                v.status = "error_managing".into();
                v.updated_at = Some(crate::world::now_iso());
            }
            if let Some(r) = sm.replicas.get_mut(&reference) {
                r.active = true;
                r.managed_as = None;
            }
        };
        ctx.shared
            .later(site, "volume.manage", 1, unplaced.clone(), unplaced);
    }
    Ok(answer)
}
