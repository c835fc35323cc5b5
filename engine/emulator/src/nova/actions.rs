//! Server actions: pause/unpause, suspend/resume, os-stop/os-start,
//! lock/unlock (a locked server refuses every other action: 409), the
//! emulator's quiesce/unquiesce extension, and createImage of a volume-backed
//! server (every attached volume snapshotted in Cinder, a Glance image whose
//! `block_device_mapping` property lists the snapshots).

use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use super::nf;
use super::servers::invalid_state;
use crate::errors::{bad_request, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::world::{new_id, now_z, Image, World};

/// (action, required status, transitional task_state, final status, final vm_state, power_state)
const SIMPLE: &[(&str, &str, &str, &str, &str, u8)] = &[
    ("pause", "ACTIVE", "pausing", "PAUSED", "paused", 3),
    ("unpause", "PAUSED", "unpausing", "ACTIVE", "active", 1),
    (
        "suspend",
        "ACTIVE",
        "suspending",
        "SUSPENDED",
        "suspended",
        4,
    ),
    ("resume", "SUSPENDED", "resuming", "ACTIVE", "active", 1),
    ("os-stop", "ACTIVE", "powering-off", "SHUTOFF", "stopped", 4),
    ("os-start", "SHUTOFF", "powering-on", "ACTIVE", "active", 1),
];

pub fn action(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let body = ctx.json(F::Nova)?;
    let Some(obj) = body.as_object().filter(|o| o.len() == 1) else {
        return Err(bad_request(
            F::Nova,
            "Malformed request body: exactly one action expected.",
        ));
    };
    let Some((name, arg)) = obj.iter().next() else {
        return Err(bad_request(F::Nova, "Malformed request body"));
    };
    match name.as_str() {
        "lock" => return lock(ctx, mv, id, arg),
        "unlock" => return unlock(ctx, id),
        _ => {
            let w = ctx.shared.lock();
            let srv = w
                .site(ctx.site)
                .servers
                .get(id)
                .ok_or_else(|| nf("Instance", id))?;
            super::servers::check_unlocked(srv)?;
        }
    }
    if let Some(&(act, need, task, fin, vm, power)) = SIMPLE.iter().find(|a| a.0 == name) {
        return simple(ctx, id, act, need, task, fin, vm, power);
    }
    match name.as_str() {
        "quiesce" => quiesce(ctx, id, true),
        "unquiesce" => quiesce(ctx, id, false),
        "createImage" => create_image(ctx, mv, id, arg),
        other => Err(bad_request(
            F::Nova,
            format!("There is no such action: {other}"),
        )),
    }
}

#[allow(clippy::too_many_arguments)]
fn simple(
    ctx: &Ctx,
    id: &str,
    act: &str,
    need: &str,
    task: &str,
    fin: &'static str,
    vm: &'static str,
    power: u8,
) -> Reply {
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let srv = w
        .site_mut(site)
        .servers
        .get_mut(id)
        .ok_or_else(|| nf("Instance", id))?;
    let label = act.trim_start_matches("os-");
    if let Some(t) = &srv.task_state {
        return Err(invalid_state(label, id, "task_state", t));
    }
    if srv.status != need {
        return Err(invalid_state(label, id, "vm_state", &srv.vm_state));
    }
    srv.task_state = Some(task.to_string());
    srv.updated = now_z();
    drop(w);
    let id = id.to_string();
    let id2 = id.clone();
    ctx.shared.later(
        site,
        "server.action",
        1,
        move |w: &mut World| {
            if let Some(srv) = w.site_mut(site).servers.get_mut(&id) {
                srv.status = fin.into();
                srv.vm_state = vm.into();
                srv.power_state = power;
                srv.task_state = None;
                srv.updated = now_z();
            }
        },
        move |w: &mut World| {
            if let Some(srv) = w.site_mut(site).servers.get_mut(&id2) {
                srv.status = "ERROR".into();
                srv.vm_state = "error".into();
                srv.task_state = None;
            }
        },
    );
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `lock` (`null`, or from 2.73 `{"locked_reason": "…"}`, at most 255
/// characters): the server refuses changes until `unlock`. Locking a locked
/// server changes nothing.
fn lock(ctx: &Ctx, mv: Mv, id: &str, arg: &Value) -> Reply {
    let reason = match arg {
        Value::Null => None,
        Value::Object(o) if mv.at_least(2, 73) => {
            if let Some(k) = o.keys().find(|k| *k != "locked_reason") {
                return Err(bad_request(F::Nova, format!("Invalid input for field/attribute lock. Value: {arg}. Additional properties are not allowed ('{k}' was unexpected)")));
            }
            match o.get("locked_reason") {
                None => None,
                Some(Value::String(r)) if r.chars().count() <= 255 => Some(r.clone()),
                Some(v) => return Err(bad_request(F::Nova, format!("Invalid input for field/attribute locked_reason. Value: {v}. It is not a string of at most 255 characters"))),
            }
        }
        other => {
            return Err(bad_request(
                F::Nova,
                format!("Invalid input for field/attribute lock. Value: {other}. {other} is not of type 'null'"),
            ))
        }
    };
    let mut w = ctx.shared.lock();
    let srv = w
        .site_mut(ctx.site)
        .servers
        .get_mut(id)
        .ok_or_else(|| nf("Instance", id))?;
    if !srv.locked {
        srv.locked = true;
        srv.locked_reason = reason;
        srv.updated = now_z();
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `unlock`: an unlocked server stays so.
fn unlock(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let srv = w
        .site_mut(ctx.site)
        .servers
        .get_mut(id)
        .ok_or_else(|| nf("Instance", id))?;
    srv.locked = false;
    srv.locked_reason = None;
    srv.updated = now_z();
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Emulator extension (the proposed Nova quiesce API): freeze/thaw guest I/O
/// at once; the server stays ACTIVE, its workload stops writing.
fn quiesce(ctx: &Ctx, id: &str, on: bool) -> Reply {
    let mut w = ctx.shared.lock();
    let srv = w
        .site_mut(ctx.site)
        .servers
        .get_mut(id)
        .ok_or_else(|| nf("Instance", id))?;
    let act = if on { "quiesce" } else { "unquiesce" };
    if srv.status != "ACTIVE" || srv.task_state.is_some() {
        return Err(invalid_state(act, id, "vm_state", &srv.vm_state));
    }
    if srv.quiesced == on {
        let state = if on { "quiesced" } else { "unquiesced" };
        return Err(crate::errors::conflict(
            F::Nova,
            format!("Cannot '{act}' instance {id}: it is already {state}"),
        ));
    }
    srv.quiesced = on;
    srv.updated = now_z();
    Ok(StatusCode::ACCEPTED.into_response())
}

fn create_image(ctx: &Ctx, mv: Mv, id: &str, arg: &Value) -> Reply {
    let Some(name) = arg
        .get("name")
        .and_then(|n| n.as_str())
        .filter(|n| !n.trim().is_empty())
    else {
        return Err(bad_request(
            F::Nova,
            "Invalid input for field/attribute name. 'name' is a required property",
        ));
    };
    let mut extra = Map::new();
    if let Some(m) = arg.get("metadata") {
        let Some(m) = m.as_object() else {
            return Err(bad_request(
                F::Nova,
                "Invalid input for field/attribute metadata.",
            ));
        };
        for (k, v) in m {
            if !v.is_string() {
                return Err(bad_request(F::Nova, format!("Invalid input for field/attribute metadata. Value: {v} is not of type 'string'")));
            }
            extra.insert(k.clone(), v.clone());
        }
    }
    let site = ctx.site;
    let shared = ctx.shared.clone();
    let mut w = shared.lock();
    let srv = w
        .site(site)
        .servers
        .get(id)
        .ok_or_else(|| nf("Instance", id))?
        .clone();
    if let Some(t) = &srv.task_state {
        return Err(invalid_state("createImage", id, "task_state", t));
    }
    if !["ACTIVE", "PAUSED", "SUSPENDED", "SHUTOFF"].contains(&srv.status.as_str()) {
        return Err(invalid_state("createImage", id, "vm_state", &srv.vm_state));
    }
    // Snapshot every attached volume at this one instant (Nova quiesces the guest).
    let mut bdm = Vec::new();
    let mut snaps = Vec::new();
    for (i, att) in srv.attachments.iter().enumerate() {
        let Some((v, device)) = w
            .site(site)
            .attachment(att)
            .map(|(v, a)| (v.clone(), a.device.clone()))
        else {
            continue;
        };
        let sid = crate::cinder::snapshots::capture(
            &mut w,
            site,
            &v.id,
            &format!("snapshot for {name}"),
            None,
            &ctx.token.project_id,
            &ctx.token.user_id,
        );
        snaps.push(sid.clone());
        bdm.push(json!({
            "source_type": "snapshot", "destination_type": "volume", "snapshot_id": sid,
            "volume_size": v.size, "device_name": device, "boot_index": if i == 0 { json!(0) } else { Value::Null },
            "delete_on_termination": false, "disk_bus": "virtio", "device_type": "disk", "volume_type": v.volume_type,
            "guest_format": null, "image_id": null, "volume_id": null, "no_device": null, "tag": null,
        }));
    }
    let image_id = new_id();
    let mut props = Map::new();
    props.insert(
        "block_device_mapping".into(),
        Value::String(Value::Array(bdm).to_string()),
    );
    props.insert("bdm_v2".into(), json!("True"));
    props.insert("root_device_name".into(), json!("/dev/vda"));
    props.insert("image_type".into(), json!("snapshot"));
    props.insert("instance_uuid".into(), json!(srv.id));
    props.insert("base_image_ref".into(), json!(""));
    props.insert("user_id".into(), json!(ctx.token.user_id));
    for (k, v) in extra {
        props.insert(k, v);
    }
    let seq = w.next_seq();
    let now = now_z();
    w.site_mut(site).images.insert(
        image_id.clone(),
        Image {
            id: image_id.clone(),
            name: name.to_string(),
            seq,
            status: "queued".into(),
            properties: props,
            created_at: now.clone(),
            updated_at: now,
            owner: ctx.token.project_id.clone(),
            size: Some(0),
            checksum: None,
        },
    );
    if let Some(s) = w.site_mut(site).servers.get_mut(id) {
        s.task_state = Some("image_snapshot".into());
    }
    drop(w);
    for sid in &snaps {
        crate::cinder::snapshots::schedule_available(&shared, site, sid.clone());
    }
    let (iid, iid2, sid_srv, sid_srv2) = (
        image_id.clone(),
        image_id.clone(),
        id.to_string(),
        id.to_string(),
    );
    shared.later(
        site,
        "image.create",
        2,
        move |w: &mut World| {
            if let Some(img) = w.site_mut(site).images.get_mut(&iid) {
                img.status = "active".into();
                img.updated_at = now_z();
                // A volume-backed snapshot image holds no data: the hashes of zero bytes.
                img.checksum = Some(crate::swift::md5_hex(b""));
                img.properties.insert(
                    "os_hash_value".into(),
                    json!(hex::encode(<sha2::Sha512 as sha2::Digest>::digest(b""))),
                );
            }
            if let Some(s) = w.site_mut(site).servers.get_mut(&sid_srv) {
                s.task_state = None;
            }
        },
        move |w: &mut World| {
            if let Some(img) = w.site_mut(site).images.get_mut(&iid2) {
                img.status = "killed".into();
            }
            if let Some(s) = w.site_mut(site).servers.get_mut(&sid_srv2) {
                s.task_state = None;
            }
        },
    );
    let location = format!("{}/image/v2/images/{}", ctx.base, image_id);
    let mut r = if mv.at_least(2, 45) {
        (StatusCode::ACCEPTED, Json(json!({"image_id": image_id}))).into_response()
    } else {
        StatusCode::ACCEPTED.into_response()
    };
    if !mv.at_least(2, 45) {
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert("location", v);
        }
    }
    Ok(r)
}
