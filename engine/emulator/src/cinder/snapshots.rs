//! Cinder snapshots: content captured at the request instant (a cheap clone
//! of the volume's blocks), creating → available; list with filters
//! (volume_id, group_snapshot_id, name, status), show, delete, actions.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use super::{accepted, invalid_volume, links, nf, paginate};
use crate::errors::{bad_request, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::server::Shared;
use crate::world::{new_id, now_iso, Site, Snapshot, World};

pub fn view(ctx: &Ctx, s: &Snapshot, mv: Mv) -> Value {
    let mut o = json!({
        "created_at": s.created_at,
        "description": s.description,
        "id": s.id,
        "metadata": s.metadata,
        "name": s.name,
        "os-extended-snapshot-attributes:progress": if s.status == "available" { "100%" } else { "0%" },
        "os-extended-snapshot-attributes:project_id": s.project_id,
        "size": s.size,
        "status": s.status,
        "updated_at": s.updated_at,
        "volume_id": s.volume_id,
        "links": links(ctx, "snapshots", &s.id),
    });
    if mv.at_least(3, 14) {
        o["group_snapshot_id"] = json!(s.group_snapshot_id);
    }
    if mv.at_least(3, 41) {
        o["user_id"] = json!(s.user_id);
    }
    if mv.at_least(3, 65) {
        o["consumes_quota"] = json!(true);
    }
    o
}

/// Capture a snapshot of `volume_id` now (status `creating`); returns its id.
pub fn capture(w: &mut World, site: Site, volume_id: &str, name: &str, group_snapshot_id: Option<String>, project: &str, user: &str) -> String {
    let id = new_id();
    let seq = w.next_seq();
    let s = w.site_mut(site);
    let (content, size) = s.volumes.get(volume_id).map(|v| (v.content.clone(), v.size)).unwrap_or_default();
    s.snapshots.insert(
        id.clone(),
        Snapshot {
            id: id.clone(),
            name: name.to_string(),
            seq,
            description: None,
            volume_id: volume_id.to_string(),
            size,
            status: "creating".into(),
            metadata: Map::new(),
            content,
            group_snapshot_id,
            created_at: now_iso(),
            updated_at: None,
            user_id: user.to_string(),
            project_id: project.to_string(),
        },
    );
    id
}

pub fn schedule_available(shared: &Arc<Shared>, site: Site, id: String) {
    let id2 = id.clone();
    shared.later(
        site,
        "snapshot.create",
        1,
        move |w: &mut World| {
            if let Some(s) = w.site_mut(site).snapshots.get_mut(&id) {
                if s.status == "creating" {
                    s.status = "available".into();
                    s.updated_at = Some(now_iso());
                }
            }
        },
        move |w: &mut World| {
            if let Some(s) = w.site_mut(site).snapshots.get_mut(&id2) {
                s.status = "error".into();
            }
        },
    );
}

pub fn create(ctx: &Ctx, mv: Mv) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("snapshot").and_then(|v| v.as_object()) else {
        return Err(bad_request(F::Cinder, "Invalid input received: 'snapshot' is a required property"));
    };
    let Some(vid) = req.get("volume_id").and_then(|v| v.as_str()) else {
        return Err(bad_request(F::Cinder, "Invalid input received: 'volume_id' is a required property"));
    };
    let force = match req.get("force") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if ["true", "false", "1", "0", "yes", "no"].contains(&s.to_ascii_lowercase().as_str()) => ["true", "1", "yes"].contains(&s.to_ascii_lowercase().as_str()),
        Some(other) => return Err(bad_request(F::Cinder, format!("Invalid input received: Invalid value '{other}' for force."))),
    };
    let name = req.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string();
    let mut metadata = Map::new();
    if let Some(m) = req.get("metadata").and_then(|m| m.as_object()) {
        metadata = m.clone();
    }
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let v = w.site(site).volumes.get(vid).ok_or_else(|| nf("Volume", vid))?;
    match v.status.as_str() {
        "available" => {}
        "in-use" if force || mv.at_least(3, 66) => {}
        st => return Err(invalid_volume(format!("Volume {vid} status must be available, but current status is: {st}."))),
    }
    let id = capture(&mut w, site, vid, &name, None, &ctx.token.project_id, &ctx.token.user_id);
    if let Some(s) = w.site_mut(site).snapshots.get_mut(&id) {
        s.description = req.get("description").and_then(|d| d.as_str()).map(str::to_string);
        s.metadata = metadata;
    }
    let body = w.site(site).snapshots.get(&id).map(|s| view(ctx, s, mv)).unwrap_or(Value::Null);
    drop(w);
    schedule_available(&ctx.shared, site, id);
    Ok(accepted(json!({"snapshot": body})))
}

pub fn list(ctx: &Ctx, mv: Mv, detail: bool) -> Reply {
    let w = ctx.shared.lock();
    let mut snaps: Vec<&Snapshot> = w.site(ctx.site).snapshots.values().collect();
    snaps.sort_by_key(|x| std::cmp::Reverse(x.seq));
    if let Some(v) = ctx.q("volume_id") {
        snaps.retain(|s| s.volume_id == v);
    }
    if let Some(g) = ctx.q("group_snapshot_id") {
        snaps.retain(|s| s.group_snapshot_id.as_deref() == Some(g));
    }
    if let Some(n) = ctx.q("name") {
        snaps.retain(|s| s.name == n);
    }
    if let Some(st) = ctx.q("status") {
        snaps.retain(|s| s.status == st);
    }
    if let Some(m) = ctx.q("metadata") {
        let parsed: Option<Map<String, Value>> = serde_json::from_str(m).ok().or_else(|| serde_json::from_str(&m.replace('\'', "\"")).ok());
        let Some(want) = parsed else {
            return Err(bad_request(F::Cinder, format!("Invalid input received: metadata filter {m} is not a JSON object")));
        };
        snaps.retain(|s| want.iter().all(|(k, v)| s.metadata.get(k) == Some(v)));
    }
    let total = snaps.len();
    let next = paginate(ctx, &mut snaps, |s| s.id.clone(), if detail { "snapshots/detail" } else { "snapshots" })?;
    let items: Vec<Value> = snaps.iter().map(|s| view(ctx, s, mv)).collect();
    let mut body = json!({"snapshots": items});
    if let Some(n) = next {
        body["snapshots_links"] = n;
    }
    if mv.at_least(3, 45) && ctx.q("with_count").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        body["count"] = json!(total);
    }
    Ok(Json(body).into_response())
}

pub fn show(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site).snapshots.get(id).ok_or_else(|| nf("Snapshot", id))?;
    Ok(Json(json!({"snapshot": view(ctx, s, mv)})).into_response())
}

/// `PUT /snapshots/{id}`: name, description, metadata.
pub fn update(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("snapshot").and_then(|s| s.as_object()) else {
        return Err(bad_request(F::Cinder, "Invalid input received: 'snapshot' is a required property"));
    };
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site).snapshots.get_mut(id).ok_or_else(|| nf("Snapshot", id))?;
    if let Some(n) = req.get("name") {
        match n.as_str() {
            Some(n) => s.name = n.into(),
            None => return Err(bad_request(F::Cinder, "Invalid input received: name must be a string")),
        }
    }
    if let Some(d) = req.get("description") {
        s.description = d.as_str().map(str::to_string);
    }
    if let Some(m) = req.get("metadata") {
        match m.as_object() {
            Some(m) => s.metadata = m.clone(),
            None => return Err(bad_request(F::Cinder, "Invalid input received: metadata must be a dictionary")),
        }
    }
    s.updated_at = Some(now_iso());
    Ok(Json(json!({"snapshot": view(ctx, s, mv)})).into_response())
}

pub fn metadata_get(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site).snapshots.get(id).ok_or_else(|| nf("Snapshot", id))?;
    Ok(Json(json!({"metadata": s.metadata})).into_response())
}

pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w.site_mut(site).snapshots.get_mut(id).ok_or_else(|| nf("Snapshot", id))?;
    if s.group_snapshot_id.is_some() {
        return Err(bad_request(F::Cinder, format!("Invalid snapshot: Snapshot {id} is part of a group snapshot; delete the group snapshot.")));
    }
    if !["available", "error"].contains(&s.status.as_str()) {
        return Err(bad_request(F::Cinder, format!("Invalid snapshot: Snapshot status must be available or error and must not be part of a group, current status is {}.", s.status)));
    }
    s.status = "deleting".into();
    drop(w);
    let id1 = id.to_string();
    let id2 = id.to_string();
    ctx.shared.later(
        site,
        "snapshot.delete",
        1,
        move |w: &mut World| {
            w.site_mut(site).snapshots.remove(&id1);
        },
        move |w: &mut World| {
            if let Some(s) = w.site_mut(site).snapshots.get_mut(&id2) {
                s.status = "error_deleting".into();
            }
        },
    );
    Ok(StatusCode::ACCEPTED.into_response())
}

pub fn action(ctx: &Ctx, id: &str) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some((name, arg)) = body.as_object().and_then(|o| o.iter().next()) else {
        return Err(bad_request(F::Cinder, "Invalid input received: empty action"));
    };
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site).snapshots.get_mut(id).ok_or_else(|| nf("Snapshot", id))?;
    match name.as_str() {
        "os-reset_status" => {
            if let Some(st) = arg.get("status").and_then(|s| s.as_str()) {
                s.status = st.into();
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-force_delete" => {
            w.site_mut(ctx.site).snapshots.remove(id);
            Ok(StatusCode::ACCEPTED.into_response())
        }
        other => Err(bad_request(F::Cinder, format!("Invalid input received: unknown snapshot action {other}"))),
    }
}
