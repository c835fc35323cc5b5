//! Cinder volumes: the view (fields gated by microversion), list/detail with
//! filters and pagination, create (blank, from snapshot, from volume), update,
//! delete, metadata, and the actions (reset status, bootable, retype, unmanage,
//! extend, force delete).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::metadata::{on_item, on_map, string_map, ItemOp, MapOp};
use super::{accepted, invalid_volume, links, nf, paginate};
use crate::body::{One, Seq};
use crate::content::Content;
use crate::errors::{bad_request, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::world::{new_id, now_iso, Replica, Site, SiteState, Volume, World};

/// Which answer a body is for. Cinder adds the `os-vol-host-attr:host`,
/// `os-vol-mig-status-attr:*` and `os-vol-tenant-attr:tenant_id` fields by
/// extensions of show and the `detail` list only: the 202 of a create (blank,
/// from a snapshot, a volume or a backup), the 202 of a manage and the 200 of
/// an update carry none of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Plain,
    Extended,
}

/// A volume as Cinder shows it at `mv`, written straight into the answer
/// (fields in Cinder's order): the volume shown most often, built as JSON
/// values first, took about twice the instructions of the whole HTTP
/// exchange around it.
pub fn view<'a>(ctx: &'a Ctx, s: &'a SiteState, v: &'a Volume, mv: Mv, shape: Shape) -> View<'a> {
    View {
        ctx,
        s,
        v,
        mv,
        shape,
    }
}

/// See [`view`].
#[derive(Clone, Copy)]
pub struct View<'a> {
    ctx: &'a Ctx,
    s: &'a SiteState,
    v: &'a Volume,
    mv: Mv,
    shape: Shape,
}

/// One attachment as a volume lists it.
#[derive(Serialize)]
struct AttachmentView<'a> {
    server_id: &'a str,
    attachment_id: &'a str,
    attached_at: &'a str,
    host_name: Option<&'a str>,
    volume_id: &'a str,
    device: &'a str,
    id: &'a str,
}

impl Serialize for View<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let View {
            ctx,
            s,
            v,
            mv,
            shape,
        } = *self;
        let vt = s.volume_type_by_name_or_id(&v.volume_type);
        let atts = v.attachments.iter().map(|a| AttachmentView {
            server_id: &a.server_id,
            attachment_id: &a.id,
            attached_at: &a.attached_at,
            host_name: None,
            volume_id: &v.id,
            device: &a.device,
            id: &v.id,
        });
        let mut o = ser.serialize_map(None)?;
        o.serialize_entry("attachments", &Seq(atts))?;
        o.serialize_entry("availability_zone", "nova")?;
        o.serialize_entry("bootable", if v.bootable { "true" } else { "false" })?;
        o.serialize_entry("consistencygroup_id", &None::<&str>)?;
        o.serialize_entry("created_at", &v.created_at)?;
        o.serialize_entry("description", &v.description)?;
        o.serialize_entry("encrypted", &false)?;
        o.serialize_entry("id", &v.id)?;
        o.serialize_entry("links", &links(ctx, "volumes", &v.id))?;
        o.serialize_entry("metadata", &v.metadata)?;
        o.serialize_entry("migration_status", &v.migration_status)?;
        o.serialize_entry("multiattach", &false)?;
        o.serialize_entry("name", &v.name)?;
        o.serialize_entry("replication_status", &v.replication_status)?;
        o.serialize_entry("size", &v.size)?;
        o.serialize_entry("snapshot_id", &v.snapshot_id)?;
        o.serialize_entry("source_volid", &v.source_volid)?;
        o.serialize_entry("status", &v.status)?;
        o.serialize_entry("updated_at", &v.updated_at)?;
        o.serialize_entry("user_id", &v.user_id)?;
        o.serialize_entry(
            "volume_type",
            vt.map_or(v.volume_type.as_str(), |t| t.name.as_str()),
        )?;
        if shape == Shape::Extended {
            o.serialize_entry("os-vol-host-attr:host", &v.host)?;
            o.serialize_entry("os-vol-mig-status-attr:migstat", &v.migration_status)?;
            o.serialize_entry("os-vol-mig-status-attr:name_id", &None::<&str>)?;
            o.serialize_entry("os-vol-tenant-attr:tenant_id", &v.project_id)?;
        }
        if mv.at_least(3, 13) {
            o.serialize_entry("group_id", &v.group_id)?;
        }
        if mv.at_least(3, 21) {
            o.serialize_entry("provider_id", &None::<&str>)?;
        }
        if mv.at_least(3, 48) {
            o.serialize_entry(
                "service_uuid",
                &crate::world::stable_id(&format!("svc:{}", v.host)),
            )?;
            o.serialize_entry("shared_targets", &true)?;
        }
        if mv.at_least(3, 61) {
            o.serialize_entry("cluster_name", &None::<&str>)?;
        }
        if mv.at_least(3, 63) {
            o.serialize_entry("volume_type_id", &vt.map(|t| &t.id))?;
        }
        if mv.at_least(3, 64) {
            o.serialize_entry("encryption_key_id", &None::<&str>)?;
        }
        if mv.at_least(3, 65) {
            o.serialize_entry("consumes_quota", &true)?;
        }
        o.end()
    }
}

fn summary(ctx: &Ctx, v: &Volume) -> Value {
    json!({"id": v.id, "name": v.name, "links": links(ctx, "volumes", &v.id)})
}

pub fn list(ctx: &Ctx, mv: Mv, detail: bool) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    // In no particular order: `paginate` sorts what is left by age.
    let mut vols: Vec<&Volume> = s.volumes.values_unordered().collect();
    if let Some(n) = ctx.q("name") {
        vols.retain(|v| v.name == n);
    }
    if let Some(st) = ctx.q("status") {
        vols.retain(|v| v.status == st);
    }
    if let Some(b) = ctx.q("bootable") {
        let want = matches!(b.to_ascii_lowercase().as_str(), "true" | "1" | "yes");
        vols.retain(|v| v.bootable == want);
    }
    if let Some(g) = ctx.q("group_id") {
        vols.retain(|v| v.group_id.as_deref() == Some(g));
    }
    if let Some(want) = super::metadata_filter(ctx)? {
        vols.retain(|v| want.iter().all(|(k, val)| v.metadata.get(k) == Some(val)));
    }
    let total = vols.len();
    let next = paginate(
        ctx,
        &mut vols,
        |v| v.seq,
        |v| &v.id,
        false,
        if detail { "volumes/detail" } else { "volumes" },
    )?;
    Ok(if detail {
        let items = vols.iter().map(|v| view(ctx, s, v, mv, Shape::Extended));
        super::list_body(ctx, mv, "volumes", Seq(items), next, total)
    } else {
        let items = vols.iter().map(|v| summary(ctx, v));
        super::list_body(ctx, mv, "volumes", Seq(items), next, total)
    })
}

pub fn show(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let v = s.volumes.get(id).ok_or_else(|| nf("Volume", id))?;
    Ok(Json(One("volume", view(ctx, s, v, mv, Shape::Extended))).into_response())
}

/// Insert a new volume in `creating`, and schedule it to become available.
#[allow(clippy::too_many_arguments)]
pub fn insert_new(
    ctx: &Ctx,
    w: &mut World,
    name: String,
    description: Option<String>,
    size: u64,
    volume_type: String,
    bootable: bool,
    metadata: Map<String, Value>,
    content: Content,
    snapshot_id: Option<String>,
    source_volid: Option<String>,
    status: &str,
) -> String {
    let id = new_id();
    let seq = w.next_seq();
    let site = ctx.site;
    let vol = Volume {
        name,
        description,
        size,
        status: status.into(),
        volume_type,
        bootable,
        metadata,
        content,
        snapshot_id,
        source_volid,
        ..Volume::blank(
            id.clone(),
            seq,
            site.volume_host(),
            ctx.token.user_id.clone(),
            ctx.token.project_id.clone(),
        )
    };
    register(w, site, vol);
    id
}

/// Put a volume into a site's Cinder; a replication-enabled type starts replicating it.
pub fn register(w: &mut World, site: Site, mut vol: Volume) {
    let replicated = w
        .site(site)
        .volume_type_by_name_or_id(&vol.volume_type)
        .map(|t| t.replicated())
        .unwrap_or(false);
    vol.replication_status = Some(if replicated {
        "enabled".into()
    } else {
        "disabled".into()
    });
    let id = vol.id.clone();
    w.site_mut(site).volumes.insert(id.clone(), vol);
    if replicated {
        super::replication::enable(w, site, &id);
    }
}

pub fn schedule_status(
    ctx: &Ctx,
    op: &'static str,
    factor: u32,
    id: String,
    ok: &'static str,
    err: &'static str,
) {
    let site = ctx.site;
    let id2 = id.clone();
    ctx.shared.later(
        site,
        op,
        factor,
        move |w: &mut World| {
            if let Some(v) = w.site_mut(site).volumes.get_mut(&id) {
                v.status = ok.into();
                v.updated_at = Some(now_iso());
            }
        },
        move |w: &mut World| {
            if let Some(v) = w.site_mut(site).volumes.get_mut(&id2) {
                v.status = err.into();
                v.updated_at = Some(now_iso());
            }
        },
    );
}

pub fn create(ctx: &Ctx, mv: Mv) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("volume").and_then(|v| v.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'volume' is a required property",
        ));
    };
    let name = req
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    let description = req
        .get("description")
        .and_then(|n| n.as_str())
        .map(str::to_string);
    let metadata = string_map(req.get("metadata"))?;
    let snapshot_id = req
        .get("snapshot_id")
        .and_then(|x| x.as_str())
        .map(str::to_string);
    let source_volid = req
        .get("source_volid")
        .and_then(|x| x.as_str())
        .map(str::to_string);
    let backup_id = req
        .get("backup_id")
        .and_then(|x| x.as_str())
        .map(str::to_string);
    let size_v = req.get("size");
    let size = match size_v {
        None | Some(Value::Null) => None,
        Some(v) => match v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        {
            Some(n) if n > 0 => Some(n),
            _ => {
                return Err(bad_request(
                    F::Cinder,
                    format!(
                        "Invalid input received: size {v} must be an integer and greater than 0"
                    ),
                ))
            }
        },
    };
    let mut w = ctx.shared.lock();
    let site = ctx.site;
    let s = w.site(site);
    let mut from_backup = None;
    let (content, src_size, bootable_src) = if let Some(sid) = &snapshot_id {
        let snap = s.snapshots.get(sid).ok_or_else(|| nf("Snapshot", sid))?;
        if snap.status != "available" {
            return Err(bad_request(
                F::Cinder,
                "Invalid snapshot: Originating snapshot status must be one of 'available' values"
                    .to_string(),
            ));
        }
        let boot = s
            .volumes
            .get(&snap.volume_id)
            .map(|v| v.bootable)
            .unwrap_or(false);
        (snap.content.clone(), Some(snap.size), boot)
    } else if let Some(vid) = &source_volid {
        let src = s.volumes.get(vid).ok_or_else(|| nf("Volume", vid))?;
        if !["available", "in-use"].contains(&src.status.as_str()) {
            return Err(invalid_volume(format!(
                "Volume {vid} status must be available or in-use"
            )));
        }
        (src.content.clone(), Some(src.size), src.bootable)
    } else if let Some(bid) = &backup_id {
        if !mv.at_least(3, 47) {
            return Err(bad_request(
                F::Cinder,
                "Invalid input received: backup_id requires microversion 3.47",
            ));
        }
        let b = s.backups.get(bid).ok_or_else(|| nf("Backup", bid))?;
        if b.status != "available" {
            return Err(bad_request(
                F::Cinder,
                format!(
                    "Invalid backup: Backup status must be available, but current status is: {}.",
                    b.status
                ),
            ));
        }
        let Some(d) = w.site(b.store_site).backup_store.get(bid) else {
            return Err(bad_request(
                F::Cinder,
                format!(
                    "Invalid backup: the data of backup {bid} is not in its backup store at {}.",
                    b.store_site.name()
                ),
            ));
        };
        from_backup = Some(d.clone());
        (Content::new(), Some(b.size), false)
    } else {
        (Content::new(), None, false)
    };
    let s = w.site(site);
    let size = match (size, src_size) {
        (Some(n), Some(m)) if n < m => return Err(bad_request(F::Cinder, format!("Invalid input received: Volume size '{n}'GB cannot be smaller than the snapshot size {m}GB. They must be >= original snapshot size."))),
        (Some(n), _) => n,
        (None, Some(m)) => m,
        (None, None) => return Err(bad_request(F::Cinder, "Invalid input received: size is a required property when creating a blank volume")),
    };
    let vt = match req.get("volume_type").and_then(|t| t.as_str()) {
        Some(t) => s
            .volume_type_by_name_or_id(t)
            .map(|t| t.name.clone())
            .ok_or_else(|| nf("Volume type", t))?,
        None => s
            .default_volume_type()
            .map(|t| t.name.clone())
            .unwrap_or_default(),
    };
    crate::quota::check_volume(s, &ctx.token.project_id, size)?;
    let id = insert_new(
        ctx,
        &mut w,
        name,
        description,
        size,
        vt,
        bootable_src,
        metadata,
        content,
        snapshot_id,
        source_volid,
        "creating",
    );
    if let (Some(d), Some(v)) = (&from_backup, w.site_mut(site).volumes.get_mut(&id)) {
        // Cinder restores the backup into the new volume: data, metadata, src_backup_id.
        super::backups::restore_into(v, d);
    }
    // Written while the world is at hand (the view borrows it).
    let s = w.site(site);
    let answer = accepted(One(
        "volume",
        s.volumes
            .get(&id)
            .map(|v| view(ctx, s, v, mv, Shape::Plain)),
    ));
    drop(w);
    schedule_status(
        ctx,
        "volume.create",
        if backup_id.is_some() { 3 } else { 1 },
        id,
        "available",
        "error",
    );
    Ok(answer)
}

pub fn update(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("volume").and_then(|v| v.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'volume' is a required property",
        ));
    };
    let metadata = if req.contains_key("metadata") {
        Some(string_map(req.get("metadata"))?)
    } else {
        None
    };
    let mut w = ctx.shared.lock();
    let v = w
        .site_mut(ctx.site)
        .volumes
        .get_mut(id)
        .ok_or_else(|| nf("Volume", id))?;
    if let Some(n) = req.get("name").and_then(|n| n.as_str()) {
        v.name = n.into();
    }
    if let Some(d) = req.get("description") {
        v.description = d.as_str().map(str::to_string);
    }
    if let Some(m) = metadata {
        v.metadata = m;
    }
    v.updated_at = Some(now_iso());
    let s = w.site(ctx.site);
    let v = s.volumes.get(id).ok_or_else(|| nf("Volume", id))?;
    Ok(Json(One("volume", view(ctx, s, v, mv, Shape::Plain))).into_response())
}

const DELETABLE: &[&str] = &[
    "available",
    "error",
    "error_restoring",
    "error_extending",
    "error_managing",
];

fn delete_inner(ctx: &Ctx, id: &str, force: bool) -> Reply {
    let mut w = ctx.shared.lock();
    let site = ctx.site;
    let s = w.site(site);
    let v = s.volumes.get(id).ok_or_else(|| nf("Volume", id))?;
    if !force && (!DELETABLE.contains(&v.status.as_str()) || !v.attachments.is_empty()) {
        return Err(invalid_volume("Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer."));
    }
    if !force && v.group_id.is_some() {
        return Err(invalid_volume("Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or be disassociated from snapshots after volume transfer."));
    }
    if s.has_snapshots(id) {
        return Err(invalid_volume("Volume still has 1 dependent snapshots."));
    }
    if let Some(v) = w.site_mut(site).volumes.get_mut(id) {
        v.status = "deleting".into();
        v.updated_at = Some(now_iso());
    }
    drop(w);
    let id1 = id.to_string();
    let id2 = id.to_string();
    ctx.shared.later(
        site,
        "volume.delete",
        1,
        move |w: &mut World| {
            w.site_mut(site).volumes.remove(&id1);
            super::replication::disable(w, site, &id1);
        },
        move |w: &mut World| {
            if let Some(v) = w.site_mut(site).volumes.get_mut(&id2) {
                v.status = "error_deleting".into();
            }
        },
    );
    Ok(StatusCode::ACCEPTED.into_response())
}

pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    delete_inner(ctx, id, false)
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
        "os-force_delete" => delete_inner(ctx, id, true),
        "os-reset_status" => {
            let mut w = ctx.shared.lock();
            let v = w
                .site_mut(site)
                .volumes
                .get_mut(id)
                .ok_or_else(|| nf("Volume", id))?;
            if let Some(st) = arg.get("status").and_then(|s| s.as_str()) {
                v.status = st.into();
            }
            if let Some(ms) = arg.get("migration_status") {
                v.migration_status = ms.as_str().map(str::to_string);
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-set_bootable" => {
            let b = arg.get("bootable").and_then(|b| {
                b.as_bool()
                    .or_else(|| b.as_str().map(|s| s.eq_ignore_ascii_case("true")))
            });
            let Some(b) = b else {
                return Err(bad_request(
                    F::Cinder,
                    "Invalid input received: bootable must be a boolean",
                ));
            };
            let mut w = ctx.shared.lock();
            let v = w
                .site_mut(site)
                .volumes
                .get_mut(id)
                .ok_or_else(|| nf("Volume", id))?;
            v.bootable = b;
            Ok(StatusCode::OK.into_response())
        }
        "os-extend" => {
            let Some(n) = arg.get("new_size").and_then(|n| n.as_u64()) else {
                return Err(bad_request(
                    F::Cinder,
                    "Invalid input received: new_size must be an integer",
                ));
            };
            let mut w = ctx.shared.lock();
            let v = w
                .site_mut(site)
                .volumes
                .get_mut(id)
                .ok_or_else(|| nf("Volume", id))?;
            if v.status != "available" && !(v.status == "in-use" && mv.at_least(3, 42)) {
                return Err(invalid_volume(format!(
                    "Volume status must be 'available' to extend, currently {}.",
                    v.status
                )));
            }
            if n <= v.size {
                return Err(bad_request(F::Cinder, format!("Invalid input received: New size for extend must be greater than current size. (current: {}, extended: {n}).", v.size)));
            }
            let (delta, project) = (n - v.size, v.project_id.clone());
            crate::quota::check_extend(w.site(site), &project, n, delta)?;
            if let Some(v) = w.site_mut(site).volumes.get_mut(id) {
                v.size = n;
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-retype" => retype(ctx, id, arg),
        "os-unmanage" => unmanage(ctx, id),
        other => Err(bad_request(
            F::Cinder,
            format!("Invalid input received: unknown volume action {other}"),
        )),
    }
}

fn retype(ctx: &Ctx, id: &str, arg: &Value) -> Reply {
    let Some(new_type) = arg.get("new_type").and_then(|t| t.as_str()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: new_type is required",
        ));
    };
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w.site(site);
    let t = s
        .volume_type_by_name_or_id(new_type)
        .cloned()
        .ok_or_else(|| nf("Volume type", new_type))?;
    let v = s.volumes.get(id).ok_or_else(|| nf("Volume", id))?;
    if !["available", "in-use"].contains(&v.status.as_str()) {
        return Err(invalid_volume(format!(
            "Volume status must be available or in-use, but current status is: {}",
            v.status
        )));
    }
    if v.volume_type == t.name {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: New volume type must be different from the current one.",
        ));
    }
    let prior = v.status.clone();
    if let Some(v) = w.site_mut(site).volumes.get_mut(id) {
        v.status = "retyping".into();
        v.volume_type = t.name.clone();
    }
    drop(w);
    let id1 = id.to_string();
    let id2 = id.to_string();
    let prior2 = prior.clone();
    let replicated = t.replicated();
    ctx.shared.later(
        site,
        "volume.retype",
        1,
        move |w: &mut World| {
            if let Some(v) = w.site_mut(site).volumes.get_mut(&id1) {
                v.status = prior;
                v.replication_status = Some(if replicated {
                    "enabled".into()
                } else {
                    "disabled".into()
                });
            }
            if replicated {
                super::replication::enable(w, site, &id1);
            } else {
                super::replication::disable(w, site, &id1);
            }
        },
        move |w: &mut World| {
            if let Some(v) = w.site_mut(site).volumes.get_mut(&id2) {
                v.status = prior2;
            }
        },
    );
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `os-unmanage`: Cinder forgets the volume; its data stays on the backend
/// (listed by `GET /manageable_volumes`, manageable again by `volume-<id>`).
fn unmanage(ctx: &Ctx, id: &str) -> Reply {
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w.site(site);
    let v = s.volumes.get(id).ok_or_else(|| nf("Volume", id))?;
    if !["available", "error"].contains(&v.status.as_str()) || !v.attachments.is_empty() {
        return Err(invalid_volume(format!(
            "Volume status must be available or error, but current status is: {}",
            v.status
        )));
    }
    if s.has_snapshots(id) {
        return Err(invalid_volume(
            "Volume cannot have snapshots to be unmanaged.",
        ));
    }
    let v = v.clone();
    let sm = w.site_mut(site);
    sm.volumes.remove(id);
    sm.replicas.insert(
        format!("volume-{id}"),
        Replica {
            reference: format!("volume-{id}"),
            source_volume_id: id.into(),
            source_name: v.name.clone(),
            size: v.size,
            bootable: v.bootable,
            content: v.content.clone(),
            active: false,
            managed_as: None,
        },
    );
    super::replication::disable(&mut w, site, id);
    Ok(StatusCode::ACCEPTED.into_response())
}

pub fn metadata(ctx: &Ctx, op: MapOp, id: &str) -> Reply {
    let site = ctx.site;
    on_map(ctx, op, "Volume", id, |w| {
        w.site_mut(site)
            .volumes
            .get_mut(id)
            .map(|v| &mut v.metadata)
    })
}

pub fn metadata_item(ctx: &Ctx, op: ItemOp, id: &str, key: &str) -> Reply {
    let site = ctx.site;
    on_item(ctx, op, "Volume", id, key, |w| {
        w.site_mut(site)
            .volumes
            .get_mut(id)
            .map(|v| &mut v.metadata)
    })
}
