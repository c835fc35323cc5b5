//! Cinder snapshots: content captured at the request instant (a cheap clone
//! of the volume's blocks), creating → available; list with filters
//! (volume_id, group_snapshot_id, name, status), show, delete, actions.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{Map, Value};

use super::metadata::{on_item, on_map, string_map, ItemOp, MapOp};
use super::{accepted, invalid_volume, nf, paginate};
use crate::body::{One, Seq};
use crate::errors::{bad_request, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::server::Shared;
use crate::world::{new_id, now_iso, Site, Snapshot, World};

/// Which answer a body is for, as Cinder's snapshot views build them:
/// - `Summary` (the plain `GET /snapshots` list): the base fields only, at
///   every microversion;
/// - `Detail` (create, update): the base fields plus `group_snapshot_id`
///   (3.14), `user_id` (3.41) and `consumes_quota` (3.65);
/// - `Extended` (show, `GET /snapshots/detail`): `Detail` plus the
///   extended-snapshot-attributes extension (`os-extended-snapshot-attributes:*`),
///   which extends only show and detail.
///
/// No snapshot answer has `links`, at any microversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Summary,
    Detail,
    Extended,
}

/// A snapshot as Cinder shows it at `mv`, written straight into the answer.
pub fn view(s: &Snapshot, mv: Mv, shape: Shape) -> View<'_> {
    View { s, mv, shape }
}

/// See [`view`].
#[derive(Clone, Copy)]
pub struct View<'a> {
    s: &'a Snapshot,
    mv: Mv,
    shape: Shape,
}

impl Serialize for View<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let View { s, mv, shape } = *self;
        let mut o = ser.serialize_map(None)?;
        o.serialize_entry("created_at", &s.created_at)?;
        o.serialize_entry("description", &s.description)?;
        o.serialize_entry("id", &s.id)?;
        o.serialize_entry("metadata", &s.metadata)?;
        o.serialize_entry("name", &s.name)?;
        o.serialize_entry("size", &s.size)?;
        o.serialize_entry("status", &s.status)?;
        o.serialize_entry("updated_at", &s.updated_at)?;
        o.serialize_entry("volume_id", &s.volume_id)?;
        if shape == Shape::Summary {
            return o.end();
        }
        if shape == Shape::Extended {
            o.serialize_entry(
                "os-extended-snapshot-attributes:progress",
                if s.status == "available" {
                    "100%"
                } else {
                    "0%"
                },
            )?;
            o.serialize_entry("os-extended-snapshot-attributes:project_id", &s.project_id)?;
        }
        if mv.at_least(3, 14) {
            o.serialize_entry("group_snapshot_id", &s.group_snapshot_id)?;
        }
        if mv.at_least(3, 41) {
            o.serialize_entry("user_id", &s.user_id)?;
        }
        if mv.at_least(3, 65) {
            o.serialize_entry("consumes_quota", &true)?;
        }
        o.end()
    }
}

/// Capture a snapshot of `volume_id` now (status `creating`); returns its id.
pub fn capture(
    w: &mut World,
    site: Site,
    volume_id: &str,
    name: &str,
    group_snapshot_id: Option<String>,
    project: &str,
    user: &str,
) -> String {
    let id = new_id();
    let seq = w.next_seq();
    let s = w.site_mut(site);
    let (content, size) = s
        .volumes
        .get(volume_id)
        .map(|v| (v.content.clone(), v.size))
        .unwrap_or_default();
    s.add_snapshot(Snapshot {
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
    });
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
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'snapshot' is a required property",
        ));
    };
    let Some(vid) = req.get("volume_id").and_then(|v| v.as_str()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'volume_id' is a required property",
        ));
    };
    let force = match req.get("force") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s))
            if ["true", "false", "1", "0", "yes", "no"]
                .contains(&s.to_ascii_lowercase().as_str()) =>
        {
            ["true", "1", "yes"].contains(&s.to_ascii_lowercase().as_str())
        }
        Some(other) => {
            return Err(bad_request(
                F::Cinder,
                format!("Invalid input received: Invalid value '{other}' for force."),
            ))
        }
    };
    let name = req
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    let metadata = string_map(req.get("metadata"))?;
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let v = w
        .site(site)
        .volumes
        .get(vid)
        .ok_or_else(|| nf("Volume", vid))?;
    match v.status.as_str() {
        "available" => {}
        "in-use" if force || mv.at_least(3, 66) => {}
        st => {
            return Err(invalid_volume(format!(
                "Volume {vid} status must be available, but current status is: {st}."
            )))
        }
    }
    let size = v.size;
    crate::quota::check_snapshots(w.site(site), &ctx.token.project_id, 1, size)?;
    let id = capture(
        &mut w,
        site,
        vid,
        &name,
        None,
        &ctx.token.project_id,
        &ctx.token.user_id,
    );
    if let Some(s) = w.site_mut(site).snapshots.get_mut(&id) {
        s.description = req
            .get("description")
            .and_then(|d| d.as_str())
            .map(str::to_string);
        s.metadata = metadata;
    }
    // Written while the world is at hand (the view borrows it).
    let answer = accepted(One(
        "snapshot",
        w.site(site)
            .snapshots
            .get(&id)
            .map(|s| view(s, mv, Shape::Detail)),
    ));
    drop(w);
    schedule_available(&ctx.shared, site, id);
    Ok(answer)
}

pub fn list(ctx: &Ctx, mv: Mv, detail: bool) -> Reply {
    let w = ctx.shared.lock();
    // In no particular order: `paginate` sorts what is left by age.
    let mut snaps: Vec<&Snapshot> = w.site(ctx.site).snapshots.values_unordered().collect();
    if let Some(k) = ctx.q("sort_key").filter(|k| *k != "created_at") {
        let why = format!("the emulator sorts snapshots by created_at only, not {k}");
        return Err(bad_request(
            F::Cinder,
            format!("Invalid input received: {why}"),
        ));
    }
    // Cinder's default order, newest first; `sort_key=created_at` and
    // `sort_dir` may say so or reverse it.
    let asc = match ctx.q("sort_dir") {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(d) => {
            let why = format!("Unknown sort direction {d}, must be 'desc' or 'asc'");
            return Err(bad_request(
                F::Cinder,
                format!("Invalid input received: {why}"),
            ));
        }
    };
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
    if let Some(want) = super::metadata_filter(ctx)? {
        snaps.retain(|s| want.iter().all(|(k, v)| s.metadata.get(k) == Some(v)));
    }
    let total = snaps.len();
    let next = paginate(
        ctx,
        &mut snaps,
        |s| s.seq,
        |s| &s.id,
        asc,
        if detail {
            "snapshots/detail"
        } else {
            "snapshots"
        },
    )?;
    let shape = if detail {
        Shape::Extended
    } else {
        Shape::Summary
    };
    let items = snaps.iter().map(|s| view(s, mv, shape));
    Ok(super::list_body(
        ctx,
        mv,
        "snapshots",
        Seq(items),
        next,
        total,
    ))
}

pub fn show(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w
        .site(ctx.site)
        .snapshots
        .get(id)
        .ok_or_else(|| nf("Snapshot", id))?;
    Ok(Json(One("snapshot", view(s, mv, Shape::Extended))).into_response())
}

/// `PUT /snapshots/{id}`: name, description, metadata.
pub fn update(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("snapshot").and_then(|s| s.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'snapshot' is a required property",
        ));
    };
    let name = match req.get("name") {
        None => None,
        Some(n) => match n.as_str() {
            Some(n) => Some(n.to_string()),
            None => {
                return Err(bad_request(
                    F::Cinder,
                    "Invalid input received: name must be a string",
                ))
            }
        },
    };
    let metadata = if req.contains_key("metadata") {
        Some(string_map(req.get("metadata"))?)
    } else {
        None
    };
    let mut w = ctx.shared.lock();
    let s = w
        .site_mut(ctx.site)
        .snapshots
        .get_mut(id)
        .ok_or_else(|| nf("Snapshot", id))?;
    if let Some(n) = name {
        s.name = n;
    }
    if let Some(d) = req.get("description") {
        s.description = d.as_str().map(str::to_string);
    }
    if let Some(m) = metadata {
        s.metadata = m;
    }
    s.updated_at = Some(now_iso());
    Ok(Json(One("snapshot", view(s, mv, Shape::Detail))).into_response())
}

/// `GET|POST|PUT /snapshots/{id}/metadata` (POST merges and answers 200 with the whole map, as Cinder).
pub fn metadata(ctx: &Ctx, op: MapOp, id: &str) -> Reply {
    let site = ctx.site;
    on_map(ctx, op, "Snapshot", id, |w| {
        w.site_mut(site)
            .snapshots
            .get_mut(id)
            .map(|s| &mut s.metadata)
    })
}

pub fn metadata_item(ctx: &Ctx, op: ItemOp, id: &str, key: &str) -> Reply {
    let site = ctx.site;
    on_item(ctx, op, "Snapshot", id, key, |w| {
        w.site_mut(site)
            .snapshots
            .get_mut(id)
            .map(|s| &mut s.metadata)
    })
}

pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w
        .site_mut(site)
        .snapshots
        .get_mut(id)
        .ok_or_else(|| nf("Snapshot", id))?;
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
            w.site_mut(site).remove_snapshot(&id1);
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
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: empty action",
        ));
    };
    let mut w = ctx.shared.lock();
    let s = w
        .site_mut(ctx.site)
        .snapshots
        .get_mut(id)
        .ok_or_else(|| nf("Snapshot", id))?;
    match name.as_str() {
        "os-reset_status" => {
            if let Some(st) = arg.get("status").and_then(|s| s.as_str()) {
                s.status = st.into();
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-force_delete" => {
            w.site_mut(ctx.site).remove_snapshot(id);
            Ok(StatusCode::ACCEPTED.into_response())
        }
        other => Err(bad_request(
            F::Cinder,
            format!("Invalid input received: unknown snapshot action {other}"),
        )),
    }
}
