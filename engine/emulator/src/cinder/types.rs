//! Volume types (with extra specs, e.g. `replication_enabled='<is> True'`)
//! and group types (group specs, e.g. `consistent_group_snapshot_enabled`).

use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::nf;
use crate::errors::Reply;
use crate::routing::Ctx;
use crate::world::{GroupType, VolumeType};

fn vt_view(t: &VolumeType) -> Value {
    json!({"id": t.id, "name": t.name, "description": null, "qos_specs_id": null, "os-volume-type-access:is_public": true, "is_public": true, "extra_specs": t.extra_specs})
}

fn gt_view(t: &GroupType) -> Value {
    json!({"id": t.id, "name": t.name, "description": null, "is_public": true, "group_specs": t.group_specs})
}

pub fn list(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    Ok(Json(json!({"volume_types": w.site(ctx.site).volume_types.iter().map(vt_view).collect::<Vec<_>>()})).into_response())
}

pub fn show(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let t = w
        .site(ctx.site)
        .volume_type_by_name_or_id(id)
        .ok_or_else(|| nf("Volume type", id))?;
    Ok(Json(json!({"volume_type": vt_view(t)})).into_response())
}

pub fn default_type(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    let t = w
        .site(ctx.site)
        .default_volume_type()
        .ok_or_else(|| nf("Volume type", "default"))?;
    Ok(Json(json!({"volume_type": vt_view(t)})).into_response())
}

pub fn extra_specs(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let t = w
        .site(ctx.site)
        .volume_type_by_name_or_id(id)
        .ok_or_else(|| nf("Volume type", id))?;
    Ok(Json(json!({"extra_specs": t.extra_specs})).into_response())
}

pub fn group_types(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    Ok(Json(json!({"group_types": w.site(ctx.site).group_types.iter().map(gt_view).collect::<Vec<_>>()})).into_response())
}

pub fn group_type(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let t = if id == "default" {
        s.group_types.first()
    } else {
        s.group_types.iter().find(|t| t.id == id || t.name == id)
    };
    let t = t.ok_or_else(|| nf("Group type", id))?;
    Ok(Json(json!({"group_type": gt_view(t)})).into_response())
}

pub fn group_specs(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let t = w
        .site(ctx.site)
        .group_types
        .iter()
        .find(|t| t.id == id || t.name == id)
        .ok_or_else(|| nf("Group type", id))?;
    Ok(Json(json!({"group_specs": t.group_specs})).into_response())
}
