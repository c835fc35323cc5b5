//! `os-volume_attachments`: list, show, attach (volume attaching → in-use)
//! and detach (detaching → available); fields gated by microversion
//! (tag 2.70, delete_on_termination 2.79, attachment_id/bdm_uuid 2.89).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::nf;
use super::servers::invalid_state;
use crate::errors::{bad_request, conflict, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::world::{new_id, now_iso, stable_id, Attachment, World};

fn view(a: &Attachment, mv: Mv) -> Value {
    view_as(a, mv, false)
}

/// The POST answer keeps `id` and has no attachment_id/bdm_uuid, even at 2.89.
fn view_as(a: &Attachment, mv: Mv, created: bool) -> Value {
    let mut o = json!({"device": a.device, "serverId": a.server_id, "volumeId": a.volume_id});
    if !mv.at_least(2, 89) || created {
        o["id"] = json!(a.volume_id);
    }
    if mv.at_least(2, 70) {
        o["tag"] = Value::Null;
    }
    if mv.at_least(2, 79) {
        o["delete_on_termination"] = json!(false);
    }
    if mv.at_least(2, 89) && !created {
        o["attachment_id"] = json!(a.id);
        o["bdm_uuid"] = json!(stable_id(&format!("bdm:{}", a.id)));
    }
    o
}

fn attachments_of(
    w: &World,
    ctx: &Ctx,
    server_id: &str,
) -> Result<Vec<Attachment>, axum::response::Response> {
    let s = w.site(ctx.site);
    let srv = s
        .servers
        .get(server_id)
        .ok_or_else(|| nf("Instance", server_id))?;
    Ok(srv
        .attachments
        .iter()
        .filter_map(|r| s.attachment(r).map(|(_, a)| a.clone()))
        .collect())
}

pub fn list(ctx: &Ctx, mv: Mv, server_id: &str) -> Reply {
    let w = ctx.shared.lock();
    let atts = attachments_of(&w, ctx, server_id)?;
    Ok(
        Json(json!({"volumeAttachments": atts.iter().map(|a| view(a, mv)).collect::<Vec<_>>()}))
            .into_response(),
    )
}

pub fn show(ctx: &Ctx, mv: Mv, server_id: &str, volume_id: &str) -> Reply {
    let w = ctx.shared.lock();
    let atts = attachments_of(&w, ctx, server_id)?;
    match atts.iter().find(|a| a.volume_id == volume_id) {
        Some(a) => Ok(Json(json!({"volumeAttachment": view(a, mv)})).into_response()),
        None => Err(nf("Volume attachment", volume_id).into_response()),
    }
}

pub fn attach(ctx: &Ctx, mv: Mv, server_id: &str) -> Reply {
    let body = ctx.json(F::Nova)?;
    let Some(vid) = body
        .get("volumeAttachment")
        .and_then(|a| a.get("volumeId"))
        .and_then(|v| v.as_str())
    else {
        return Err(bad_request(
            F::Nova,
            "Invalid input for field/attribute volumeAttachment. 'volumeId' is a required property",
        ));
    };
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w.site_mut(site);
    let srv = s
        .servers
        .get(server_id)
        .ok_or_else(|| nf("Instance", server_id))?
        .clone();
    super::servers::check_unlocked(&srv)?;
    if let Some(t) = &srv.task_state {
        return Err(invalid_state("attach_volume", server_id, "task_state", t));
    }
    if !["ACTIVE", "PAUSED", "SUSPENDED", "SHUTOFF"].contains(&srv.status.as_str()) {
        return Err(invalid_state(
            "attach_volume",
            server_id,
            "vm_state",
            &srv.vm_state,
        ));
    }
    let Some(v) = s.volumes.get_mut(vid) else {
        return Err(nf("Volume", vid));
    };
    if v.attachments.iter().any(|a| a.server_id == server_id) {
        return Err(bad_request(
            F::Nova,
            format!("Invalid volume: volume {vid} already attached"),
        ));
    }
    if v.status != "available" {
        return Err(bad_request(
            F::Nova,
            format!(
                "Invalid volume: volume '{vid}' status must be 'available'. Currently in '{}'",
                v.status
            ),
        ));
    }
    let used = srv.attachments.len();
    let device = body["volumeAttachment"]["device"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| crate::world::device_name(used));
    let att = Attachment {
        id: new_id(),
        server_id: server_id.to_string(),
        volume_id: vid.to_string(),
        device,
        attached_at: now_iso(),
    };
    v.status = "attaching".into();
    v.attachments.push(att.clone());
    v.updated_at = Some(now_iso());
    if let Some(srv) = s.servers.get_mut(server_id) {
        srv.attachments.push(att.server_ref());
    }
    drop(w);
    let (vid1, vid2, att_id) = (vid.to_string(), vid.to_string(), att.id.clone());
    let sid = server_id.to_string();
    ctx.shared.later(
        site,
        "volume.attach",
        1,
        move |w: &mut World| {
            if let Some(v) = w.site_mut(site).volumes.get_mut(&vid1) {
                if v.status == "attaching" {
                    v.status = "in-use".into();
                }
            }
        },
        move |w: &mut World| {
            let s = w.site_mut(site);
            if let Some(v) = s.volumes.get_mut(&vid2) {
                v.attachments.retain(|a| a.id != att_id);
                v.status = "available".into();
            }
            if let Some(srv) = s.servers.get_mut(&sid) {
                srv.attachments.retain(|a| a.id != att_id);
            }
        },
    );
    Ok(Json(json!({"volumeAttachment": view_as(&att, mv, true)})).into_response())
}

pub fn detach(ctx: &Ctx, server_id: &str, volume_id: &str) -> Reply {
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w.site_mut(site);
    let srv = s
        .servers
        .get(server_id)
        .ok_or_else(|| nf("Instance", server_id))?
        .clone();
    super::servers::check_unlocked(&srv)?;
    if let Some(t) = &srv.task_state {
        return Err(invalid_state("detach_volume", server_id, "task_state", t));
    }
    let Some(v) = s.volumes.get_mut(volume_id) else {
        return Err(nf("Volume", volume_id));
    };
    let Some(att) = v
        .attachments
        .iter()
        .find(|a| a.server_id == server_id)
        .cloned()
    else {
        return Err(nf("Volume attachment", volume_id));
    };
    if srv.attachments.first().map(|a| &a.id) == Some(&att.id) {
        return Err(bad_request(F::Nova, "Cannot detach a root device volume"));
    }
    if v.status != "in-use" {
        return Err(conflict(F::Nova, format!("Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach. Currently in '{}'", v.status)));
    }
    v.status = "detaching".into();
    drop(w);
    let vid = volume_id.to_string();
    let sid = server_id.to_string();
    let vid2 = vid.clone();
    ctx.shared.later(
        site,
        "volume.detach",
        1,
        move |w: &mut World| {
            let s = w.site_mut(site);
            if let Some(v) = s.volumes.get_mut(&vid) {
                v.attachments.retain(|a| a.id != att.id);
                v.status = if v.attachments.is_empty() {
                    "available".into()
                } else {
                    "in-use".into()
                };
                v.updated_at = Some(now_iso());
            }
            if let Some(srv) = s.servers.get_mut(&sid) {
                srv.attachments.retain(|a| a.id != att.id);
            }
        },
        move |w: &mut World| {
            if let Some(v) = w.site_mut(site).volumes.get_mut(&vid2) {
                v.status = "error_detaching".into();
            }
        },
    );
    Ok(StatusCode::ACCEPTED.into_response())
}
