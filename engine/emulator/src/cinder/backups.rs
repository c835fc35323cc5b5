//! Cinder backups. The data of a backup made at one site is stored in the
//! OTHER site's object store (container `container`), so losing the primary
//! site loses no backup. Incremental backups store only the blocks changed
//! since their parent (the newest available backup of the same volume) and
//! report it: `object_count` = stored 4 KiB blocks, `emulator:bytes_moved` =
//! object_count × 4096. Restore rebuilds the full content; export_record's
//! `backup_url` is base64 JSON naming the backup and its store, which the
//! other site's `import_record` accepts.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{accepted, invalid_volume, links, nf, paginate};
use crate::body::{One, Seq};
use crate::content::BLOCK_SIZE;
use crate::errors::{bad_request, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::world::{new_id, now_iso, Backup, Site, StoredBackup, SwiftObject, Volume, World};

pub const BACKUP_SERVICE: &str = "cinder.backup.drivers.swift.SwiftBackupDriver";

/// A backup as Cinder shows it at `mv`, written straight into the answer.
pub fn view<'a>(ctx: &'a Ctx, w: &'a World, b: &'a Backup, mv: Mv) -> View<'a> {
    View { ctx, w, b, mv }
}

/// See [`view`].
#[derive(Clone, Copy)]
pub struct View<'a> {
    ctx: &'a Ctx,
    w: &'a World,
    b: &'a Backup,
    mv: Mv,
}

impl Serialize for View<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let View { ctx, w, b, mv } = *self;
        let mut o = ser.serialize_map(None)?;
        o.serialize_entry("availability_zone", "nova")?;
        o.serialize_entry("container", &b.container)?;
        o.serialize_entry("created_at", &b.created_at)?;
        o.serialize_entry("data_timestamp", &b.data_timestamp)?;
        o.serialize_entry("description", &b.description)?;
        o.serialize_entry("fail_reason", &b.fail_reason)?;
        o.serialize_entry(
            "has_dependent_backups",
            &w.site(ctx.site).has_dependent_backups(&b.id),
        )?;
        o.serialize_entry("id", &b.id)?;
        o.serialize_entry("is_incremental", &b.incremental)?;
        o.serialize_entry("links", &links(ctx, "backups", &b.id))?;
        o.serialize_entry("name", &b.name)?;
        o.serialize_entry("object_count", &b.object_count)?;
        o.serialize_entry("size", &b.size)?;
        o.serialize_entry("snapshot_id", &b.snapshot_id)?;
        o.serialize_entry("status", &b.status)?;
        o.serialize_entry("updated_at", &b.updated_at)?;
        o.serialize_entry("volume_id", &b.volume_id)?;
        o.serialize_entry("os-backup-project-attr:project_id", &b.project_id)?;
        o.serialize_entry(
            "emulator:bytes_moved",
            &(b.changed_blocks * BLOCK_SIZE as u64),
        )?;
        o.serialize_entry("emulator:store_site", b.store_site.name())?;
        if mv.at_least(3, 43) {
            o.serialize_entry("metadata", &b.metadata)?;
        }
        if mv.at_least(3, 56) {
            o.serialize_entry("user_id", &b.user_id)?;
        }
        o.end()
    }
}

pub fn list(ctx: &Ctx, mv: Mv, detail: bool) -> Reply {
    let w = ctx.shared.lock();
    let site = w.site(ctx.site);
    let mut bs: Vec<&Backup> = match ctx.q("volume_id") {
        Some(v) => site.backups_of_volume(v).collect(),
        // In no particular order: `paginate` sorts what is left by age.
        None => site.backups.values_unordered().collect(),
    };
    if let Some(n) = ctx.q("name") {
        bs.retain(|b| b.name == n);
    }
    if let Some(st) = ctx.q("status") {
        bs.retain(|b| b.status == st);
    }
    let total = bs.len();
    let next = paginate(
        ctx,
        &mut bs,
        |b| b.seq,
        |b| &b.id,
        false,
        if detail { "backups/detail" } else { "backups" },
    )?;
    Ok(if detail {
        let items = bs.iter().map(|b| view(ctx, &w, b, mv));
        super::list_body(ctx, mv, "backups", Seq(items), next, total)
    } else {
        let items = bs
            .iter()
            .map(|b| json!({"id": b.id, "name": b.name, "links": links(ctx, "backups", &b.id)}));
        super::list_body(ctx, mv, "backups", Seq(items), next, total)
    })
}

pub fn show(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let b = w
        .site(ctx.site)
        .backups
        .get(id)
        .ok_or_else(|| nf("Backup", id))?;
    Ok(Json(One("backup", view(ctx, &w, b, mv))).into_response())
}

fn flag(v: Option<&Value>, name: &str) -> Result<bool, axum::response::Response> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(bad_request(
            F::Cinder,
            format!("Invalid input received: Invalid value '{other}' for {name}."),
        )),
    }
}

pub fn create(ctx: &Ctx, mv: Mv) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("backup").and_then(|b| b.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'backup' is a required property",
        ));
    };
    let Some(vid) = req.get("volume_id").and_then(|v| v.as_str()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'volume_id' is a required property",
        ));
    };
    let incremental = flag(req.get("incremental"), "incremental")?;
    let force = flag(req.get("force"), "force")?;
    let snapshot_id = req
        .get("snapshot_id")
        .and_then(|s| s.as_str())
        .map(str::to_string);
    let container = req
        .get("container")
        .and_then(|c| c.as_str())
        .unwrap_or("volumebackups")
        .to_string();
    let name = req
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("")
        .to_string();
    let mut metadata = Map::new();
    if let Some(m) = req.get("metadata") {
        if !mv.at_least(3, 43) {
            return Err(bad_request(
                F::Cinder,
                "Invalid input received: metadata requires microversion 3.43",
            ));
        }
        match m.as_object() {
            Some(m) => metadata = m.clone(),
            None => {
                return Err(bad_request(
                    F::Cinder,
                    "Invalid input received: metadata must be a dictionary",
                ))
            }
        }
    }
    let site = ctx.site;
    let store = site.other();
    if ctx.shared.switches[store.index()].is_down() {
        return Err(crate::errors::error(F::Cinder, StatusCode::SERVICE_UNAVAILABLE, format!("Service cinder-backup could not be found or is down: its object store at {} is unreachable.", store.name())));
    }
    let mut w = ctx.shared.lock();
    let s = w.site(site);
    let v = s.volumes.get(vid).ok_or_else(|| nf("Volume", vid))?;
    let content = if let Some(sid) = &snapshot_id {
        let sn = s.snapshots.get(sid).ok_or_else(|| nf("Snapshot", sid))?;
        if sn.volume_id != vid {
            return Err(bad_request(
                F::Cinder,
                format!("Invalid input received: snapshot {sid} does not belong to volume {vid}"),
            ));
        }
        if sn.status != "available" {
            return Err(bad_request(F::Cinder, format!("Invalid snapshot: Snapshot to be backed up must be available, but the current status is \"{}\".", sn.status)));
        }
        sn.content.clone()
    } else {
        match v.status.as_str() {
            "available" => {}
            "in-use" if force => {}
            "in-use" => return Err(invalid_volume("Volume to be backed up must be available or in-use, but the current status is \"in-use\". (use force to back up an in-use volume)".to_string())),
            st => return Err(invalid_volume(format!("Volume to be backed up must be available or in-use, but the current status is \"{st}\"."))),
        }
        v.content.clone()
    };
    let size = v.size;
    let bootable = v.bootable;
    let (volume_name, volume_description, volume_metadata) =
        (v.name.clone(), v.description.clone(), v.metadata.clone());
    // Parent: the newest available backup of this volume.
    let parent = s
        .backups_of_volume(vid)
        .filter(|b| b.status == "available")
        .max_by_key(|b| b.seq)
        .map(|b| b.id.clone());
    if incremental && parent.is_none() {
        return Err(bad_request(
            F::Cinder,
            "Invalid backup: No backups available to do an incremental backup.",
        ));
    }
    let parent = if incremental { parent } else { None };
    let changed = match &parent {
        Some(p) => match w.site(store).backup_store.get(p) {
            Some(pd) => content.changed_since(&pd.content) as u64,
            None => content.block_count() as u64,
        },
        None => content.block_count() as u64,
    };
    crate::quota::check_backup(w.site(site), &ctx.token.project_id, size)?;
    let prior_status = w
        .site(site)
        .volumes
        .get(vid)
        .map(|v| v.status.clone())
        .unwrap_or_default();
    let id = new_id();
    let seq = w.next_seq();
    let now = now_iso();
    let backup = Backup {
        id: id.clone(),
        name: name.clone(),
        seq,
        description: req
            .get("description")
            .and_then(|d| d.as_str())
            .map(str::to_string),
        volume_id: vid.to_string(),
        snapshot_id: snapshot_id.clone(),
        size,
        status: "creating".into(),
        incremental,
        parent_id: parent.clone(),
        container: container.clone(),
        metadata: metadata.clone(),
        changed_blocks: changed,
        object_count: changed,
        created_at: now.clone(),
        updated_at: Some(now.clone()),
        data_timestamp: now.clone(),
        store_site: store,
        fail_reason: None,
        user_id: ctx.token.user_id.clone(),
        project_id: ctx.token.project_id.clone(),
    };
    let stored = StoredBackup {
        id: id.clone(),
        content,
        size,
        volume_id: vid.to_string(),
        parent_id: parent,
        changed_blocks: changed,
        container: container.clone(),
        created_at: now.clone(),
        name: name.clone(),
        description: backup.description.clone(),
        metadata,
        snapshot_id,
        bootable,
        volume_name,
        volume_description,
        volume_metadata,
        made_at: site,
    };
    w.site_mut(site).add_backup(backup);
    if prior_status == "available" {
        if let Some(v) = w.site_mut(site).volumes.get_mut(vid) {
            v.status = "backing-up".into();
        }
    }
    drop(w);
    // Backup duration grows with the data moved: one transition per 256 blocks (1 MiB), at least one.
    let factor = 1 + (changed / 256).min(20) as u32;
    let (i1, i2, v1, v2) = (id.clone(), id.clone(), vid.to_string(), vid.to_string());
    let (p1, p2) = (prior_status.clone(), prior_status);
    ctx.shared.later(
        site,
        "backup.create",
        factor,
        move |w: &mut World| {
            let (cont, bid, blocks) = (
                stored.container.clone(),
                stored.id.clone(),
                stored.changed_blocks,
            );
            w.site_mut(store)
                .backup_store
                .insert(stored.id.clone(), stored);
            let c = w.site_mut(store).containers.entry(cont).or_default();
            if c.created_at.is_empty() {
                c.created_at = now_iso();
            }
            let meta = json!({"backup_id": bid, "object_count": blocks, "block_size": BLOCK_SIZE})
                .to_string();
            c.put(
                &format!("backup_{bid}_metadata"),
                SwiftObject {
                    etag: crate::swift::md5_hex(meta.as_bytes()),
                    data: bytes::Bytes::from(meta),
                    content_type: "application/json".into(),
                    meta: Default::default(),
                    last_modified: now_iso(),
                    row: 0,
                    written: std::time::Instant::now(),
                },
            );
            let sm = w.site_mut(site);
            if let Some(b) = sm.backups.get_mut(&i1) {
                b.status = "available".into();
                b.updated_at = Some(now_iso());
            }
            if let Some(v) = sm.volumes.get_mut(&v1) {
                if v.status == "backing-up" {
                    v.status = p1;
                }
            }
        },
        move |w: &mut World| {
            let sm = w.site_mut(site);
            if let Some(b) = sm.backups.get_mut(&i2) {
                b.status = "error".into();
                b.fail_reason = Some("Injected fault: backup driver failed".into());
            }
            if let Some(v) = sm.volumes.get_mut(&v2) {
                if v.status == "backing-up" {
                    v.status = p2;
                }
            }
        },
    );
    Ok(accepted(
        json!({"backup": {"id": id, "links": links(ctx, "backups", &id), "name": name}}),
    ))
}

pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let s = w.site(site);
    let b = s.backups.get(id).ok_or_else(|| nf("Backup", id))?;
    if !["available", "error"].contains(&b.status.as_str()) {
        return Err(bad_request(F::Cinder, format!("Invalid backup: Backup status must be available or error, but current status is: {}.", b.status)));
    }
    if s.has_dependent_backups(id) {
        return Err(bad_request(
            F::Cinder,
            "Invalid backup: Incremental backups exist for this backup.",
        ));
    }
    let store = b.store_site;
    if let Some(b) = w.site_mut(site).backups.get_mut(id) {
        b.status = "deleting".into();
    }
    drop(w);
    let (i1, i2) = (id.to_string(), id.to_string());
    ctx.shared.later(
        site,
        "backup.delete",
        1,
        move |w: &mut World| {
            w.site_mut(site).remove_backup(&i1);
            // The data goes when no site's Cinder knows the backup any more.
            if !Site::ALL
                .iter()
                .any(|s| w.site(*s).backups.contains_key(&i1))
            {
                if let Some(d) = w.site_mut(store).backup_store.remove(&i1) {
                    if let Some(c) = w.site_mut(store).containers.get_mut(&d.container) {
                        c.delete(&format!("backup_{i1}_metadata"));
                    }
                }
            }
        },
        move |w: &mut World| {
            if let Some(b) = w.site_mut(site).backups.get_mut(&i2) {
                b.status = "error_deleting".into();
            }
        },
    );
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /backups/{id}/restore {"restore": {"volume_id"?, "name"?}}`.
pub fn restore(ctx: &Ctx, id: &str) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("restore").and_then(|r| r.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'restore' is a required property",
        ));
    };
    let site = ctx.site;
    let mut w = ctx.shared.lock();
    let b = w
        .site(site)
        .backups
        .get(id)
        .ok_or_else(|| nf("Backup", id))?
        .clone();
    if b.status != "available" {
        return Err(bad_request(
            F::Cinder,
            format!(
                "Invalid backup: Backup status must be available, but current status is: {}.",
                b.status
            ),
        ));
    }
    let target = req
        .get("volume_id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let name = req
        .get("name")
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("restore_backup_{id}"));
    let vid = match target {
        Some(vid) => {
            let v = w
                .site_mut(site)
                .volumes
                .get_mut(&vid)
                .ok_or_else(|| nf("Volume", &vid))?;
            if v.status != "available" {
                return Err(invalid_volume(format!(
                    "Volume to be restored to must be available, but the current status is \"{}\".",
                    v.status
                )));
            }
            if v.size < b.size {
                return Err(invalid_volume(format!(
                    "volume size {}GB is too small to restore backup of size {}GB.",
                    v.size, b.size
                )));
            }
            v.status = "restoring-backup".into();
            vid
        }
        None => {
            crate::quota::check_volume(w.site(site), &ctx.token.project_id, b.size)?;
            let vt = w
                .site(site)
                .default_volume_type()
                .map(|t| t.name.clone())
                .unwrap_or_default();
            super::volumes::insert_new(
                ctx,
                &mut w,
                name.clone(),
                Some(RESTORE_DESCRIPTION.into()),
                b.size,
                vt,
                false,
                Map::new(),
                Default::default(),
                None,
                None,
                "restoring-backup",
            )
        }
    };
    let vname = w
        .site(site)
        .volumes
        .get(&vid)
        .map(|v| v.name.clone())
        .unwrap_or_default();
    if let Some(bm) = w.site_mut(site).backups.get_mut(id) {
        bm.status = "restoring".into();
    }
    drop(w);
    let store = b.store_site;
    let shared = ctx.shared.clone();
    let factor = 1 + (b.size / 10).min(10) as u32;
    let (bid, bid2, v1, v2) = (id.to_string(), id.to_string(), vid.clone(), vid.clone());
    ctx.shared.later(
        site,
        "backup.restore",
        factor,
        move |w: &mut World| {
            let reachable = !shared.switches[store.index()].is_down();
            let data = if reachable {
                w.site(store).backup_store.get(&bid).cloned()
            } else {
                None
            };
            let sm = w.site_mut(site);
            if let Some(b) = sm.backups.get_mut(&bid) {
                b.status = "available".into();
            }
            if let Some(v) = sm.volumes.get_mut(&v1) {
                match data {
                    Some(d) => {
                        restore_into(v, &d);
                        v.status = "available".into();
                    }
                    None => v.status = "error_restoring".into(),
                }
                v.updated_at = Some(now_iso());
            }
        },
        move |w: &mut World| {
            let sm = w.site_mut(site);
            if let Some(b) = sm.backups.get_mut(&bid2) {
                b.status = "available".into();
            }
            if let Some(v) = sm.volumes.get_mut(&v2) {
                v.status = "error_restoring".into();
            }
        },
    );
    Ok(accepted(
        json!({"restore": {"backup_id": id, "volume_id": vid, "volume_name": vname}}),
    ))
}

/// The description Cinder gives a volume it creates for a restore.
pub const RESTORE_DESCRIPTION: &str = "auto-created_from_restore_from_backup";

/// What a finished restore does to its target volume, as Cinder's backup
/// manager and backup metadata API do:
/// - the data (and the bootable flag the emulator keeps with it);
/// - the name and description of the backed-up volume, when the target still
///   has the name Cinder generated (`restore_backup_<id>`) or none, and the
///   backed-up volume had one;
/// - the backed-up volume's metadata replaces the target's, when there was any;
/// - `src_backup_id` = the backup, unless the target is the backed-up volume
///   itself and carries no other `src_backup_id`.
pub fn restore_into(v: &mut Volume, d: &StoredBackup) {
    v.content = d.content.clone();
    v.bootable = v.bootable || d.bootable;
    if !d.volume_name.is_empty() && (v.name.is_empty() || v.name.starts_with("restore_backup_")) {
        v.name = d.volume_name.clone();
        v.description = d.volume_description.clone();
    }
    if !d.volume_metadata.is_empty() {
        v.metadata = d.volume_metadata.clone();
    }
    let other_src = v
        .metadata
        .get("src_backup_id")
        .and_then(|x| x.as_str())
        .is_some_and(|x| x != d.id);
    if d.volume_id != v.id || other_src {
        v.metadata.insert("src_backup_id".into(), json!(d.id));
    }
}

pub fn export_record(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let b = w
        .site(ctx.site)
        .backups
        .get(id)
        .ok_or_else(|| nf("Backup", id))?;
    if b.status != "available" {
        return Err(bad_request(F::Cinder, format!("Invalid backup: Backup status must be available and not restoring, current status is: {}.", b.status)));
    }
    let rec = json!({
        "id": b.id, "display_name": b.name, "display_description": b.description, "volume_id": b.volume_id,
        "size": b.size, "container": b.container, "parent_id": b.parent_id, "snapshot_id": b.snapshot_id,
        "object_count": b.object_count, "changed_blocks": b.changed_blocks, "is_incremental": b.incremental,
        "store_site": b.store_site.name(), "made_at": ctx.site.name(), "created_at": b.created_at,
        "data_timestamp": b.data_timestamp, "metadata": b.metadata,
    });
    let url = base64_encode(rec.to_string().as_bytes());
    Ok(
        Json(json!({"backup-record": {"backup_service": BACKUP_SERVICE, "backup_url": url}}))
            .into_response(),
    )
}

pub fn import_record(ctx: &Ctx) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let rec = body.get("backup-record").and_then(|r| r.as_object());
    let (Some(service), Some(url)) = (
        rec.and_then(|r| r.get("backup_service"))
            .and_then(|s| s.as_str()),
        rec.and_then(|r| r.get("backup_url"))
            .and_then(|s| s.as_str()),
    ) else {
        return Err(bad_request(F::Cinder, "Invalid input received: Incorrect request body format: backup_service and backup_url are required."));
    };
    if service != BACKUP_SERVICE && !BACKUP_SERVICE.starts_with(service) {
        return Err(bad_request(
            F::Cinder,
            format!("Invalid input received: Unsupported backup_service {service}"),
        ));
    }
    let decoded = base64_decode(url).and_then(|b| serde_json::from_slice::<Value>(&b).ok());
    let Some(r) = decoded else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: Can't parse backup record.",
        ));
    };
    let (Some(id), Some(store)) = (
        r["id"].as_str(),
        r["store_site"].as_str().and_then(Site::parse),
    ) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: Can't parse backup record.",
        ));
    };
    let site = ctx.site;
    if store != site && ctx.shared.switches[store.index()].is_down() {
        return Err(crate::errors::error(
            F::Cinder,
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Backup store at {} is unreachable.", store.name()),
        ));
    }
    let mut w = ctx.shared.lock();
    if w.site(site).backups.contains_key(id) {
        return Err(bad_request(
            F::Cinder,
            format!("Invalid backup: Backup already exists in database: {id}"),
        ));
    }
    if !w.site(store).backup_store.contains_key(id) {
        return Err(bad_request(F::Cinder, format!("Invalid backup: the data of backup {id} is not in the backup store (container {}).", r["container"].as_str().unwrap_or(""))));
    }
    let seq = w.next_seq();
    let changed = r["changed_blocks"].as_u64().unwrap_or(0);
    let name = r["display_name"].as_str().unwrap_or("").to_string();
    let parent = r["parent_id"].as_str().map(str::to_string);
    let b = Backup {
        id: id.to_string(),
        name: name.clone(),
        seq,
        description: r["display_description"].as_str().map(str::to_string),
        volume_id: r["volume_id"].as_str().unwrap_or("").to_string(),
        snapshot_id: r["snapshot_id"].as_str().map(str::to_string),
        size: r["size"].as_u64().unwrap_or(0),
        status: "available".into(),
        incremental: r["is_incremental"].as_bool().unwrap_or(false),
        parent_id: parent.filter(|p| w.site(site).backups.contains_key(p)),
        container: r["container"].as_str().unwrap_or("").to_string(),
        metadata: r["metadata"].as_object().cloned().unwrap_or_default(),
        changed_blocks: changed,
        object_count: r["object_count"].as_u64().unwrap_or(changed),
        created_at: now_iso(),
        updated_at: Some(now_iso()),
        data_timestamp: r["data_timestamp"].as_str().unwrap_or("").to_string(),
        store_site: store,
        fail_reason: None,
        user_id: ctx.token.user_id.clone(),
        project_id: ctx.token.project_id.clone(),
    };
    w.site_mut(site).add_backup(b);
    Ok((
        StatusCode::CREATED,
        Json(json!({"backup": {"id": id, "links": links(ctx, "backups", id), "name": name}})),
    )
        .into_response())
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
    let b = w
        .site_mut(ctx.site)
        .backups
        .get_mut(id)
        .ok_or_else(|| nf("Backup", id))?;
    match name.as_str() {
        "os-reset_status" => {
            if let Some(st) = arg.get("status").and_then(|s| s.as_str()) {
                b.status = st.into();
            }
            Ok(StatusCode::ACCEPTED.into_response())
        }
        "os-force_delete" => {
            w.site_mut(ctx.site).remove_backup(id);
            Ok(StatusCode::ACCEPTED.into_response())
        }
        other => Err(bad_request(
            F::Cinder,
            format!("Invalid input received: unknown backup action {other}"),
        )),
    }
}

/// Cinder's record encoding (Python's `base64.encodebytes` without line
/// breaks): standard alphabet, padded.
pub fn base64_encode(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// As Cinder reads a record: line breaks ignored.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let s: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for s in ["", "a", "ab", "abc", "abcd", "{\"id\": \"x\"}"] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).as_deref(), Some(s.as_bytes()));
        }
        assert_eq!(base64_encode(b"abc"), "YWJj");
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert!(base64_decode("a!b").is_none());
    }
}
