//! Generic volume groups (3.13+) and group snapshots (3.14+). A group snapshot
//! captures every member volume at one instant (under one lock of the world,
//! so atomically with respect to the workload). Group actions: delete (with
//! `delete-volumes`), reset_status, enable/disable/failover replication,
//! list_replication_targets.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::{accepted, nf, paginate};
use crate::errors::{bad_request, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::world::{new_id, now_iso, Group, GroupSnapshot, SiteState, World};

fn view(s: &SiteState, g: &Group, mv: Mv) -> Value {
    let mut o = json!({
        "id": g.id, "status": g.status, "availability_zone": "nova", "created_at": g.created_at,
        "name": g.name, "description": g.description, "group_type": g.group_type,
        "volume_types": g.volume_types.iter().map(|t| s.volume_type_by_name_or_id(t).map(|t| t.id.clone()).unwrap_or_else(|| t.clone())).collect::<Vec<_>>(),
        "volumes": g.volumes,
        "group_snapshot_id": g.group_snapshot_id, "source_group_id": g.source_group_id,
    });
    if mv.at_least(3, 38) {
        o["replication_status"] = json!(g
            .replication_status
            .clone()
            .unwrap_or_else(|| "disabled".into()));
    }
    if mv.at_least(3, 58) {
        o["project_id"] = json!(g.project_id);
    }
    o
}

fn gs_view(gs: &GroupSnapshot, mv: Mv) -> Value {
    let mut o = json!({
        "id": gs.id, "group_id": gs.group_id, "status": gs.status, "created_at": gs.created_at,
        "name": gs.name, "description": gs.description, "group_type_id": gs.group_type_id,
    });
    if mv.at_least(3, 58) {
        o["project_id"] = json!(gs.project_id);
    }
    o
}

pub fn list(ctx: &Ctx, mv: Mv, detail: bool) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let mut gs: Vec<&Group> = s.groups.values_unordered().collect();
    if let Some(n) = ctx.q("name") {
        gs.retain(|g| g.name == n);
    }
    let next = paginate(
        ctx,
        &mut gs,
        |g| g.seq,
        |g| &g.id,
        false,
        if detail { "groups/detail" } else { "groups" },
    )?;
    let items: Vec<Value> = gs
        .iter()
        .map(|g| {
            if detail {
                view(s, g, mv)
            } else {
                json!({"id": g.id, "name": g.name})
            }
        })
        .collect();
    let mut body = json!({"groups": items});
    if let Some(n) = next {
        body["groups_links"] = n;
    }
    Ok(Json(body).into_response())
}

pub fn show(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let g = s.groups.get(id).ok_or_else(|| nf("Group", id))?;
    Ok(Json(json!({"group": view(s, g, mv)})).into_response())
}

pub fn create(ctx: &Ctx) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("group").and_then(|g| g.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'group' is a required property",
        ));
    };
    let Some(gt) = req.get("group_type").and_then(|t| t.as_str()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: group_type must be provided to create group",
        ));
    };
    let Some(vts) = req
        .get("volume_types")
        .and_then(|t| t.as_array())
        .filter(|a| !a.is_empty())
    else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: volume_types must be provided to create group",
        ));
    };
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w.site(site);
    let gtype = s
        .group_types
        .iter()
        .find(|t| t.id == gt || t.name == gt)
        .ok_or_else(|| nf("Group type", gt))?
        .id
        .clone();
    let mut types = Vec::new();
    for t in vts {
        let key = t.as_str().unwrap_or("");
        let vt = s
            .volume_type_by_name_or_id(key)
            .ok_or_else(|| nf("Volume type", key))?;
        types.push(vt.name.clone());
    }
    crate::quota::check_group(s, &ctx.token.project_id)?;
    let id = new_id();
    let seq = w.next_seq();
    let name = req
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    w.site_mut(site).groups.insert(
        id.clone(),
        Group {
            id: id.clone(),
            name: name.clone(),
            seq,
            description: req
                .get("description")
                .and_then(|d| d.as_str())
                .map(str::to_string),
            status: "creating".into(),
            group_type: gtype,
            volume_types: types,
            volumes: vec![],
            group_snapshot_id: None,
            source_group_id: None,
            replication_status: Some("disabled".into()),
            created_at: now_iso(),
            project_id: ctx.token.project_id.clone(),
        },
    );
    drop(w);
    let (i1, i2) = (id.clone(), id.clone());
    ctx.shared.later(
        site,
        "group.create",
        1,
        move |w: &mut World| {
            if let Some(g) = w.site_mut(site).groups.get_mut(&i1) {
                g.status = "available".into();
            }
        },
        move |w: &mut World| {
            if let Some(g) = w.site_mut(site).groups.get_mut(&i2) {
                g.status = "error".into();
            }
        },
    );
    Ok(accepted(json!({"group": {"id": id, "name": name}})))
}

fn ids(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

pub fn update(ctx: &Ctx, id: &str) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("group").and_then(|g| g.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'group' is a required property",
        ));
    };
    let add = ids(req.get("add_volumes"));
    let remove = ids(req.get("remove_volumes"));
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w.site(site);
    let g = s.groups.get(id).ok_or_else(|| nf("Group", id))?;
    if g.status != "available" {
        return Err(bad_request(
            F::Cinder,
            format!(
                "Invalid group: Group status must be available, but current status is: {}.",
                g.status
            ),
        ));
    }
    if req.get("name").is_none()
        && req.get("description").is_none()
        && add.is_empty()
        && remove.is_empty()
    {
        return Err(bad_request(F::Cinder, "Invalid input received: Name, description, add_volumes, and remove_volumes can not be all empty in the request body."));
    }
    for vid in &add {
        let v = s.volumes.get(vid).ok_or_else(|| bad_request(F::Cinder, format!("Invalid volume: Cannot add volume {vid} to group {id} because volume cannot be found.")))?;
        if let Some(other) = &v.group_id {
            if other != id {
                return Err(bad_request(F::Cinder, format!("Invalid volume: Cannot add volume {vid} to group {id} because it is already in group {other}.")));
            }
        }
        if !["available", "in-use"].contains(&v.status.as_str()) {
            return Err(bad_request(F::Cinder, format!("Invalid volume: Cannot add volume {vid} to group {id} because volume is in an invalid state: {}. Valid states are: ('available', 'in-use').", v.status)));
        }
        if !g.volume_types.contains(&v.volume_type) {
            return Err(bad_request(F::Cinder, format!("Invalid volume: Cannot add volume {vid} to group {id} because volume type {} is not supported by the group.", v.volume_type)));
        }
    }
    for vid in &remove {
        if !g.volumes.contains(vid) {
            return Err(bad_request(F::Cinder, format!("Invalid volume: Cannot remove volume {vid} from group {id} because it is not in the group.")));
        }
    }
    let sm = w.site_mut(site);
    for vid in &add {
        if let Some(v) = sm.volumes.get_mut(vid) {
            v.group_id = Some(id.to_string());
        }
    }
    for vid in &remove {
        if let Some(v) = sm.volumes.get_mut(vid) {
            v.group_id = None;
        }
    }
    if let Some(g) = sm.groups.get_mut(id) {
        for vid in add {
            if !g.volumes.contains(&vid) {
                g.volumes.push(vid);
            }
        }
        g.volumes.retain(|v| !remove.contains(v));
        if let Some(n) = req.get("name").and_then(|n| n.as_str()) {
            g.name = n.into();
        }
        if let Some(d) = req.get("description") {
            g.description = d.as_str().map(str::to_string);
        }
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

pub fn action(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some((name, arg)) = body.as_object().and_then(|o| o.iter().next()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: empty action",
        ));
    };
    let site = ctx.site;
    match name.as_str() {
        "delete" => delete(
            ctx,
            id,
            arg.get("delete-volumes")
                .and_then(|b| {
                    b.as_bool()
                        .or_else(|| b.as_str().map(|s| s.eq_ignore_ascii_case("true")))
                })
                .unwrap_or(false),
        ),
        "reset_status" => {
            let mut w = ctx.shared.lock();
            let g = w
                .site_mut(site)
                .groups
                .get_mut(id)
                .ok_or_else(|| nf("Group", id))?;
            if let Some(st) = arg.get("status").and_then(|s| s.as_str()) {
                g.status = st.into();
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "enable_replication"
        | "disable_replication"
        | "failover_replication"
        | "list_replication_targets" => {
            if !mv.at_least(3, 38) {
                return Err(crate::errors::not_found(
                    F::Cinder,
                    "The resource could not be found.",
                ));
            }
            super::replication::group_action(ctx, id, name, arg)
        }
        other => Err(bad_request(
            F::Cinder,
            format!("Invalid input received: unknown group action {other}"),
        )),
    }
}

fn delete(ctx: &Ctx, id: &str, delete_volumes: bool) -> Reply {
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w.site(site);
    let g = s.groups.get(id).ok_or_else(|| nf("Group", id))?;
    if !["available", "error"].contains(&g.status.as_str()) {
        return Err(bad_request(
            F::Cinder,
            format!(
                "Invalid group: Group status must be available or error, but current status is: {}",
                g.status
            ),
        ));
    }
    if s.group_snapshots
        .values_unordered()
        .any(|gs| gs.group_id == id)
    {
        return Err(bad_request(
            F::Cinder,
            format!("Invalid group: Group {id} still has dependent group snapshots."),
        ));
    }
    if !g.volumes.is_empty() && !delete_volumes {
        return Err(bad_request(F::Cinder, format!("Invalid group: Group {id} still contains volumes. The delete-volumes flag is required to delete it.")));
    }
    for vid in &g.volumes {
        if let Some(v) = s.volumes.get(vid) {
            if !v.attachments.is_empty() || v.status == "in-use" {
                return Err(bad_request(F::Cinder, format!("Invalid volume: Volume {vid} in group {id} is attached. Need to detach first.")));
            }
            if s.has_snapshots(vid) {
                return Err(bad_request(
                    F::Cinder,
                    format!("Invalid volume: Volume {vid} in group {id} has dependent snapshots."),
                ));
            }
        }
    }
    let members = g.volumes.clone();
    let sm = w.site_mut(site);
    if let Some(g) = sm.groups.get_mut(id) {
        g.status = "deleting".into();
    }
    for vid in &members {
        if let Some(v) = sm.volumes.get_mut(vid) {
            v.status = "deleting".into();
        }
    }
    drop(w);
    let (i1, i2) = (id.to_string(), id.to_string());
    ctx.shared.later(
        site,
        "group.delete",
        1,
        move |w: &mut World| {
            let sm = w.site_mut(site);
            sm.groups.remove(&i1);
            for vid in &members {
                sm.volumes.remove(vid);
            }
        },
        move |w: &mut World| {
            if let Some(g) = w.site_mut(site).groups.get_mut(&i2) {
                g.status = "error_deleting".into();
            }
        },
    );
    Ok(StatusCode::ACCEPTED.into_response())
}

pub fn list_snapshots(ctx: &Ctx, mv: Mv, detail: bool) -> Reply {
    let w = ctx.shared.lock();
    let mut gs: Vec<&GroupSnapshot> = w
        .site(ctx.site)
        .group_snapshots
        .values_unordered()
        .collect();
    if let Some(g) = ctx.q("group_id") {
        gs.retain(|x| x.group_id == g);
    }
    let next = paginate(
        ctx,
        &mut gs,
        |g| g.seq,
        |g| &g.id,
        false,
        if detail {
            "group_snapshots/detail"
        } else {
            "group_snapshots"
        },
    )?;
    let items: Vec<Value> = gs
        .iter()
        .map(|g| {
            if detail {
                gs_view(g, mv)
            } else {
                json!({"id": g.id, "name": g.name})
            }
        })
        .collect();
    let mut body = json!({"group_snapshots": items});
    if let Some(n) = next {
        body["group_snapshots_links"] = n;
    }
    Ok(Json(body).into_response())
}

pub fn show_snapshot(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let gs = w
        .site(ctx.site)
        .group_snapshots
        .get(id)
        .ok_or_else(|| nf("GroupSnapshot", id))?;
    Ok(Json(json!({"group_snapshot": gs_view(gs, mv)})).into_response())
}

/// Snapshot every member at one instant.
pub fn create_snapshot(ctx: &Ctx) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("group_snapshot").and_then(|g| g.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'group_snapshot' is a required property",
        ));
    };
    let Some(gid) = req.get("group_id").and_then(|g| g.as_str()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'group_id' must be specified",
        ));
    };
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let g = w
        .site(site)
        .groups
        .get(gid)
        .ok_or_else(|| nf("Group", gid))?
        .clone();
    if g.status != "available" {
        return Err(bad_request(
            F::Cinder,
            format!(
                "Invalid group: Group {gid} status must be available, but current status is: {}.",
                g.status
            ),
        ));
    }
    if g.volumes.is_empty() {
        return Err(bad_request(
            F::Cinder,
            format!("Invalid group: Group {gid} has no volumes; cannot create a group snapshot."),
        ));
    }
    for vid in &g.volumes {
        if let Some(v) = w.site(site).volumes.get(vid) {
            if !["available", "in-use"].contains(&v.status.as_str()) {
                return Err(bad_request(F::Cinder, format!("Invalid volume: Volume {vid} status must be available or in-use, but current status is: {}.", v.status)));
            }
        }
    }
    let gigabytes: u64 = g
        .volumes
        .iter()
        .filter_map(|v| w.site(site).volumes.get(v))
        .map(|v| v.size)
        .sum();
    crate::quota::check_snapshots(
        w.site(site),
        &ctx.token.project_id,
        g.volumes.len() as u64,
        gigabytes,
    )?;
    let id = new_id();
    let seq = w.next_seq();
    let name = req
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    let description = req
        .get("description")
        .and_then(|d| d.as_str())
        .map(str::to_string);
    // Cinder names each member after its group snapshot, and describes it
    // alike (`create_snapshots_in_db(…, group_snapshot.name,
    // group_snapshot.description, …)` in cinder/group/api.py).
    let mut snaps = Vec::new();
    for vid in &g.volumes {
        let sid = super::snapshots::capture(
            &mut w,
            site,
            vid,
            &name,
            Some(id.clone()),
            &ctx.token.project_id,
            &ctx.token.user_id,
        );
        if let Some(s) = w.site_mut(site).snapshots.get_mut(&sid) {
            s.description = description.clone();
        }
        snaps.push(sid);
    }
    let sm = w.site_mut(site);
    sm.group_snapshots.insert(
        id.clone(),
        GroupSnapshot {
            id: id.clone(),
            name: name.clone(),
            seq,
            description,
            group_id: gid.to_string(),
            group_type_id: g.group_type.clone(),
            status: "creating".into(),
            snapshots: snaps.clone(),
            created_at: now_iso(),
            project_id: ctx.token.project_id.clone(),
        },
    );
    if let Some(gm) = sm.groups.get_mut(gid) {
        gm.status = "in-use".into();
    }
    drop(w);
    let (i1, i2) = (id.clone(), id.clone());
    let (g1, g2) = (gid.to_string(), gid.to_string());
    let snaps2 = snaps.clone();
    ctx.shared.later(
        site,
        "group_snapshot.create",
        1,
        move |w: &mut World| {
            let sm = w.site_mut(site);
            if let Some(gs) = sm.group_snapshots.get_mut(&i1) {
                gs.status = "available".into();
            }
            for s in &snaps {
                if let Some(s) = sm.snapshots.get_mut(s) {
                    s.status = "available".into();
                    s.updated_at = Some(now_iso());
                }
            }
            if let Some(g) = sm.groups.get_mut(&g1) {
                g.status = "available".into();
            }
        },
        move |w: &mut World| {
            let sm = w.site_mut(site);
            if let Some(gs) = sm.group_snapshots.get_mut(&i2) {
                gs.status = "error".into();
            }
            for s in &snaps2 {
                if let Some(s) = sm.snapshots.get_mut(s) {
                    s.status = "error".into();
                }
            }
            if let Some(g) = sm.groups.get_mut(&g2) {
                g.status = "available".into();
            }
        },
    );
    Ok(accepted(
        json!({"group_snapshot": {"id": id, "name": name, "group_type_id": g.group_type}}),
    ))
}

pub fn delete_snapshot(ctx: &Ctx, id: &str) -> Reply {
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let gs = w
        .site_mut(site)
        .group_snapshots
        .get_mut(id)
        .ok_or_else(|| nf("GroupSnapshot", id))?;
    if !["available", "error"].contains(&gs.status.as_str()) {
        return Err(bad_request(F::Cinder, format!("Invalid group snapshot: Group snapshot status must be available or error, current status is {}.", gs.status)));
    }
    gs.status = "deleting".into();
    let snaps = gs.snapshots.clone();
    for s in &snaps {
        if let Some(s) = w.site_mut(site).snapshots.get_mut(s) {
            s.status = "deleting".into();
        }
    }
    drop(w);
    let (i1, i2) = (id.to_string(), id.to_string());
    ctx.shared.later(
        site,
        "group_snapshot.delete",
        1,
        move |w: &mut World| {
            let sm = w.site_mut(site);
            sm.group_snapshots.remove(&i1);
            for s in &snaps {
                sm.remove_snapshot(s);
            }
        },
        move |w: &mut World| {
            if let Some(gs) = w.site_mut(site).group_snapshots.get_mut(&i2) {
                gs.status = "error_deleting".into();
            }
        },
    );
    Ok(StatusCode::ACCEPTED.into_response())
}
