//! `cinder.backup`, `delete_backup`, `export_backup`, `import_backup`,
//! `restore_backup`: backups (full or incremental on the chain), their
//! exported records, and restores byte for byte.

use super::*;

// ---------- backups ----------

/// Bytes a backup moved: what the service reports (the emulator's
/// `emulator:bytes_moved`, or `changed_blocks` of 4 KiB), else the whole
/// volume for a full backup and, for an incremental one without a report,
/// its object count × chunk.
pub fn bytes_moved(b: &Backup) -> u64 {
    if let Some(n) = b.emulator_bytes_moved {
        return n;
    }
    if let Some(n) = b.changed_blocks {
        return n * 4096;
    }
    if let Some(n) = b.bytes_moved {
        return n;
    }
    if b.is_incremental {
        b.object_count.unwrap_or(0) * 32 * 1024 * 1024
    } else {
        b.size * GIB
    }
}

async fn wait_backup(cx: &Ctx<'_>, c: &Client, id: &str) -> Result<Backup, ActionError> {
    cx.wait(
        &format!("backup {id} at site {} becoming available", c.site()),
        || {
            let cinder = c.cinder();
            let id = id.to_string();
            async move {
                let b = cinder.backup(&id).await?;
                Ok(match b.status.as_str() {
                    "available" => Poll::Ready(b),
                    s if is_failed(s) => Poll::Failed(format!("{s} ({})", b.fail_reason)),
                    s => Poll::Pending(s.to_string()),
                })
            }
        },
    )
    .await
}

/// The record of a settled backup (as the last read of it showed it).
fn backup_value(
    cx: &Ctx<'_>,
    c: &Client,
    b: &Backup,
    fallback_origin: &str,
) -> Result<ActionOutput, ActionError> {
    let moved = bytes_moved(b);
    let mut out = cx.value(backup_rec(b, c.site(), fallback_origin, moved))?;
    out.bytes_moved = moved;
    Ok(out)
}

/// The volume a backup is asked of, as far as its chain goes: its id,
/// status, the snapshot it was made from, and the production volume it
/// descends from (itself for a production volume).
struct BackupSource {
    id: String,
    status: String,
    snapshot_id: String,
    origin: String,
}

impl BackupSource {
    /// What to back up so that backups of one origin form one incremental
    /// chain. Cinder chains backups per volume id, and each protect run makes a
    /// fresh temporary volume from a snapshot of the production volume; so when
    /// the volume is such an untouched copy (available, made from a snapshot,
    /// of a known origin), back up that snapshot under the production volume's
    /// id (`snapshot_id`, same bytes). Otherwise the volume. Cinder itself
    /// refuses a snapshot that is gone, not available or not the origin's (404,
    /// 400), so the snapshot is not read first (a request less per volume, on a
    /// Cinder that every VNF's protect is calling at once): `backup` then backs
    /// up the copy.
    fn chain_target(&self) -> (&str, Option<&str>) {
        if self.origin == self.id || self.snapshot_id.is_empty() || self.status != "available" {
            return (&self.id, None);
        }
        (&self.origin, Some(&self.snapshot_id))
    }

    /// The volume `vol` names. A copy this run made (from a snapshot, of a
    /// known origin) is as its record says: nothing but this run touches it,
    /// and Cinder refuses a backup of a volume or snapshot that is no longer
    /// fit (see [`BackupSource::chain_target`]). Any other volume is read.
    async fn of(cx: &Ctx<'_>, c: &Client, vol: &VolumeRec) -> Result<BackupSource, ActionError> {
        if made_by_this_run(cx.call, &vol.name)
            && !vol.snapshot_id.is_empty()
            && !vol.origin.is_empty()
        {
            return Ok(BackupSource {
                id: vol.id.clone(),
                status: vol.status.clone(),
                snapshot_id: vol.snapshot_id.clone(),
                origin: vol.origin.clone(),
            });
        }
        let v = c.cinder().volume(&vol.id).await.act(cx.action())?;
        Ok(BackupSource {
            origin: origin_of(&v),
            id: v.id,
            status: v.status,
            snapshot_id: v.snapshot_id,
        })
    }
}

/// A backup to make: full, or incremental on the newest of its chain.
struct NewBackup<'a> {
    name: &'a str,
    incremental: bool,
    container: &'a str,
    meta: &'a serde_json::Map<String, Value>,
}

impl NewBackup<'_> {
    /// Create it of `volume` (or of its `snapshot`); its id.
    async fn create(
        &self,
        c: &Client,
        volume: &str,
        snapshot: Option<&str>,
    ) -> lifeboat_openstack::Result<String> {
        let cinder = c.cinder();
        let make = |incremental| {
            cinder.create_backup(
                volume,
                snapshot,
                self.name,
                incremental,
                self.container,
                self.meta,
            )
        };
        match make(self.incremental).await {
            // Cinder: incremental needs an earlier backup in the chain; the
            // first one is full.
            Err(e)
                if self.incremental
                    && e.kind == ErrorKind::BadRequest
                    && e.detail
                        .to_ascii_lowercase()
                        .contains("no backups available") =>
            {
                make(false).await
            }
            made => made,
        }
    }
}

pub async fn backup(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let incremental = cx.args.bool("incremental", true)?;
    let container = cx.args.string("container")?;
    let v = BackupSource::of(cx, c, &vol).await?;
    let origin = v.origin.clone();
    let meta = tag_metadata(cx.call, &origin);
    let (target, snapshot) = v.chain_target();
    let new = NewBackup {
        name: &name,
        incremental,
        container: &container,
        meta: &meta,
    };
    let id = match new.create(c, target, snapshot).await {
        // The origin or its snapshot is gone, or the snapshot is not
        // available or not the origin's: the copy.
        Err(e)
            if snapshot.is_some()
                && matches!(e.kind, ErrorKind::NotFound | ErrorKind::BadRequest) =>
        {
            new.create(c, &v.id, None).await
        }
        made => made,
    }
    .act(cx.action())?;
    let b = match wait_backup(cx, c, &id).await {
        Ok(b) => b,
        Err(e) => {
            return Err(discard_failed(
                e,
                &format!("backup {id} at site {}", c.site()),
                c.cinder().delete_backup(&id),
            )
            .await)
        }
    };
    backup_value(cx, c, &b, &origin)
}

pub async fn backup_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let found = c
        .cinder()
        .backups(&[("name", name.clone())])
        .await
        .act(cx.action())?;
    match found
        .into_iter()
        .find(|b| b.name == name && !is_discarded(&b.status))
    {
        Some(b) => {
            let b = wait_backup(cx, c, &b.id).await?;
            Ok(Some(backup_value(cx, c, &b, &vol.production())?))
        }
        None => Ok(None),
    }
}

/// The twins of the backup a call made (`kept`): every other backup
/// carrying its name, once settled.
pub async fn backup_twins(cx: &Ctx<'_>, kept: &Value) -> Result<Vec<Value>, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let found = c
        .cinder()
        .backups(&[("name", name.clone())])
        .await
        .act(cx.action())?;
    let kept = kept_ids(kept);
    let origin = vol.production();
    let mut out = Vec::new();
    for b in found
        .into_iter()
        .filter(|b| b.name == name && !kept.contains(&b.id.as_str()) && !is_going(&b.status))
    {
        let b = match wait_backup(cx, c, &b.id).await {
            Ok(b) => b,
            Err(_) => c.cinder().backup(&b.id).await.act(cx.action())?,
        };
        out.push(backup_value(cx, c, &b, &origin)?.value);
    }
    Ok(out)
}

pub async fn delete_backup(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, mut b) = cx.record_on_site::<BackupRec>("backup")?;
    ok_if_gone(cx.action(), c.cinder().delete_backup(&b.id).await, async {
        c.cinder().backup(&b.id).await.map(|b| b.status)
    })
    .await?;
    let id = b.id.clone();
    wait_gone(cx, &format!("backup {id} at site {}", c.site()), || {
        let cinder = c.cinder();
        let id = id.clone();
        async move { cinder.backup(&id).await.map(|b| b.status) }
    })
    .await?;
    b.status = "deleted".into();
    b.bytes_moved = 0;
    cx.value(b)
}

pub async fn export_backup(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, b) = cx.record_on_site::<BackupRec>("backup")?;
    let r = c.cinder().export_backup(&b.id).await.act(cx.action())?;
    cx.value(BackupRecordRec {
        backup_service: r.backup_service,
        backup_url: r.backup_url,
    })
}

/// The backup id inside an exported record (Cinder's backup_url is base64
/// of a JSON object with `id`), when it can be read.
pub fn record_backup_id(r: &BackupRecordRec) -> Option<String> {
    record_field(r, "id")
}

/// A string field of the backup described by an exported record
/// (`id`, `parent_id`), when the record can be read.
pub fn record_field(r: &BackupRecordRec, key: &str) -> Option<String> {
    BackupRecord::field(&r.backup_url, key)
}

async fn imported_existing(
    cx: &Ctx<'_>,
    c: &Client,
    rec: &BackupRecordRec,
) -> Result<Option<Backup>, ActionError> {
    if let Some(id) = record_backup_id(rec) {
        match c.cinder().backup(&id).await {
            Ok(b) if !is_failed(&b.status) => return Ok(Some(b)),
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(from_client(cx.action(), e)),
        }
    }
    Ok(None)
}

/// Import one record unless its backup is already known; its id here.
async fn import_one(
    cx: &Ctx<'_>,
    c: &Client,
    rec: &BackupRecordRec,
) -> Result<String, ActionError> {
    let id = match imported_existing(cx, c, rec).await? {
        Some(b) => b.id,
        None => c
            .cinder()
            .import_backup(&BackupRecord {
                backup_service: rec.backup_service.clone(),
                backup_url: rec.backup_url.clone(),
            })
            .await
            .act(cx.action())?,
    };
    wait_backup(cx, c, &id).await?;
    Ok(id)
}

pub async fn import_backup(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let rec: BackupRecordRec = cx.args.record("record")?;
    // An incremental backup restores only with its parents known here:
    // import the chain the manifest recorded first (oldest first).
    if let Some(parent) = record_field(&rec, "parent_id") {
        let known = match c.cinder().backup(&parent).await {
            Ok(_) => true,
            Err(e) if e.kind == ErrorKind::NotFound => false,
            Err(e) => return Err(from_client(cx.action(), e)),
        };
        if !known {
            let chain = crate::lifeboat::chain_of(cx, c, &rec).await?;
            if chain.is_empty() {
                return Err(ActionError::permanent(format!("{}: backup {} is incremental and its parent {parent} is unknown at site {}; no manifest there records the chain", cx.action(), record_backup_id(&rec).unwrap_or_default(), c.site()))
                    .with_hint("import the parent backups' records first, or make a full backup"));
            }
            for r in &chain {
                import_one(cx, c, r).await?;
            }
        }
    }
    let id = import_one(cx, c, &rec).await?;
    let b = wait_backup(cx, c, &id).await?;
    let origin = b
        .metadata
        .get(META_ORIGIN)
        .cloned()
        .unwrap_or_else(|| b.volume_id.clone());
    let mut out = backup_value(cx, c, &b, &origin)?;
    // Importing moves no data; the report counts the backup's own bytes.
    out.bytes_moved = 0;
    out.value["bytes_moved"] = json!(0);
    Ok(out)
}

pub async fn import_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let c = cx.client_for_call()?;
    let rec: BackupRecordRec = cx.args.record("record")?;
    match imported_existing(cx, c, &rec).await? {
        Some(_) => Ok(Some(import_backup(cx).await?)),
        None => Ok(None),
    }
}

/// What a volume of a mapped type is called while a backup is restored into
/// it: only a finished restore carries the final name, so a volume found by
/// that name (a lost answer, a resume) always holds the restored data.
const RESTORING: &str = ".restoring";

/// `cinder.restore_backup(backup, name, volume_type)`: into a new volume, or
/// with `volume_type` (a site mapping's) into a volume of that type made for
/// it — Cinder's restore cannot choose the type of the volume it makes.
pub async fn restore_backup(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, b) = cx.record_on_site::<BackupRec>("backup")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let vt = cx.args.string("volume_type")?;
    let cur = c.cinder().backup(&b.id).await.act(cx.action())?;
    let origin = if !b.origin.is_empty() {
        b.origin.clone()
    } else {
        cur.metadata
            .get(META_ORIGIN)
            .cloned()
            .unwrap_or_else(|| cur.volume_id.clone())
    };
    let r = if vt.is_empty() {
        c.cinder()
            .restore_backup(&b.id, Some(&name), None)
            .await
            .act(cx.action())?
    } else {
        let into =
            typed_volume(cx, c, &format!("{name}{RESTORING}"), &vt, cur.size, &origin).await?;
        c.cinder()
            .restore_backup(&b.id, None, Some(&into))
            .await
            .act(cx.action())?
    };
    let v = match wait_volume(cx, c, &r.volume_id, &["available"]).await {
        Ok(v) => v,
        Err(e) => {
            let e = discard_failed(
                e,
                &format!("volume {} at site {}", r.volume_id, c.site()),
                c.cinder().delete_volume(&r.volume_id),
            )
            .await;
            // The backup is busy until the failed restore lets it go.
            wait_backup(cx, c, &b.id).await?;
            return Err(e);
        }
    };
    let v = if vt.is_empty() {
        v
    } else {
        c.cinder()
            .rename_volume(&v.id, &name)
            .await
            .act(cx.action())?
    };
    let v = ensure_tagged(cx, c, v, Some(&origin)).await?;
    wait_backup(cx, c, &b.id).await?;
    let mut out = cx.value(volume_rec(&v, c.site()))?;
    out.bytes_moved = restored_bytes(cx, c, &b.id).await;
    Ok(out)
}

/// The twins of the volume a restore made (`kept`): other volumes with its
/// name, or with the name of the typed volume it restores into (one made
/// again after a lost answer, the first landing later, empty).
pub async fn restore_twins(cx: &Ctx<'_>, kept: &Value) -> Result<Vec<Value>, ActionError> {
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let names = [format!("{name}{RESTORING}"), name];
    volumes_named_but(cx, &names, &kept_ids(kept)).await
}

/// The available volume named `name` of type `vt` this call restores into:
/// one an earlier attempt made (restored into again: a restore is the same
/// data each time), else a new one, tagged, of `size` GiB. One that ended
/// in error is deleted and made again.
async fn typed_volume(
    cx: &Ctx<'_>,
    c: &Client,
    name: &str,
    vt: &str,
    size: u64,
    origin: &str,
) -> Result<String, ActionError> {
    let found = c
        .cinder()
        .volumes(&[("name", name.to_string())])
        .await
        .act(cx.action())?;
    let id = match found
        .into_iter()
        .find(|v| v.name == name && !is_discarded(&v.status))
    {
        Some(v) => v.id,
        None => {
            let mut body = serde_json::json!({"name": name, "size": size, "volume_type": vt});
            body["metadata"] = Value::Object(tag_metadata(cx.call, origin));
            c.cinder()
                .create_volume(body, &format!("volume {name}"))
                .await
                .act(cx.action())?
                .id
        }
    };
    match wait_volume(cx, c, &id, &["available"]).await {
        Ok(_) => Ok(id),
        Err(e) => Err(discard_failed(
            e,
            &format!("volume {id} at site {}", c.site()),
            c.cinder().delete_volume(&id),
        )
        .await),
    }
}

/// Bytes a restore read from the backup store: the data of every backup in
/// the chain it rebuilds (an incremental restore reads its parents too),
/// each counted as [`bytes_moved`] counts it — what the service reports
/// (`emulator:bytes_moved`), else the object count (real Cinder), else the
/// logical size of a full backup. The chain is followed through
/// `export_record` (whose record names `parent_id`, on real Cinder as on the
/// emulator). Only a figure for the report: when a member cannot be read,
/// the sum stops there (logged), the restore itself has succeeded.
async fn restored_bytes(cx: &Ctx<'_>, c: &Client, backup_id: &str) -> u64 {
    let mut total = 0u64;
    let mut next = Some(backup_id.to_string());
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = next.take() {
        if !seen.insert(id.clone()) || seen.len() > 1000 {
            break;
        }
        let b = match c.cinder().backup(&id).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(step = %cx.call.step, backup = %id, error = %e, "bytes restored: cannot read a backup of the chain; the figure stops there");
                break;
            }
        };
        total += bytes_moved(&b);
        if !b.is_incremental {
            break;
        }
        next = match c.cinder().export_backup(&id).await {
            Ok(r) => record_field(
                &BackupRecordRec {
                    backup_service: r.backup_service,
                    backup_url: r.backup_url,
                },
                "parent_id",
            ),
            Err(e) => {
                tracing::warn!(step = %cx.call.step, backup = %id, error = %e, "bytes restored: cannot read the parent of a backup; the figure stops there");
                None
            }
        };
    }
    total
}

/// Planned `cinder.backup`: a backup of the volume's origin.
pub fn planned_backup(p: &crate::projection::Planned<'_>) -> Option<Value> {
    Some(p.mark(json!({"name": p.name(), "origin": p.field("volume", "origin")})))
}

/// Planned `cinder.restore_backup`: a volume of the backup's origin.
pub fn planned_restore(p: &crate::projection::Planned<'_>) -> Option<Value> {
    Some(p.mark(json!({"name": p.name(), "origin": p.field("backup", "origin")})))
}
