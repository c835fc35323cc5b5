//! The actions retention runs with (`cinder.delete_backup_id`,
//! `lifeboat.delete_manifest`): deletions by id or by run, idempotent (what
//! is already gone counts as deleted, so a resumed retention run goes on).
//! The daemon decides what to delete (lifeboat-daemon's retention policy);
//! these only carry it out.

use crate::args::from_client;
use crate::records::{BackupRec, ObjectRec};
use crate::wait::Poll;
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::ErrorKind;

/// `cinder.delete_backup_id(site, id)`: delete the backup and wait until it
/// is gone. A backup with dependent incrementals is refused by Cinder (409):
/// that error is permanent here — the caller deletes children first.
pub async fn delete_backup_id(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let site = cx.args.required_string("site")?;
    let id = cx.args.required_string("id")?;
    let c = cx.acts.client(&site)?;
    let mut rec = BackupRec {
        id: id.clone(),
        site: site.clone(),
        status: "deleted".into(),
        ..Default::default()
    };
    match c.cinder().backup(&id).await {
        Ok(b) => {
            rec.name = b.name.clone();
            rec.volume_id = b.volume_id.clone();
            rec.container = b.container.clone();
            rec.created_at = b.created_at.clone();
        }
        Err(e) if e.kind == ErrorKind::NotFound => return cx.value(rec),
        Err(e) => return Err(from_client(cx.action(), e)),
    }
    match c.cinder().delete_backup(&id).await {
        Ok(()) => {}
        Err(e) if e.kind == ErrorKind::NotFound => return cx.value(rec),
        Err(e) => {
            return Err(from_client(cx.action(), e).with_hint("a backup with dependent incremental backups cannot be deleted: delete its children first"))
        }
    }
    cx.wait(&format!("backup {id} at site {site} being deleted"), || {
        let id = id.clone();
        async move {
            match c.cinder().backup(&id).await {
                Err(e) if e.kind == ErrorKind::NotFound => Ok(Poll::Ready(())),
                Err(e) => Err(e),
                Ok(b) if b.status == "deleted" => Ok(Poll::Ready(())),
                Ok(b) if b.status == "error_deleting" || b.status == "error" => {
                    Ok(Poll::Failed(b.status))
                }
                Ok(b) => Ok(Poll::Pending(b.status)),
            }
        }
    })
    .await?;
    cx.value(rec)
}

/// `lifeboat.delete_manifest(site, vnf, run_id)`: delete the manifest the
/// protect run `run_id` wrote (`{vnf}/…-{run_id}.json`). Refused when
/// a pointer names it (`lifeboat::points::pinned`): the newest point of an
/// option and the newest a drill verified are never expired.
pub async fn delete_manifest(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let site = cx.args.required_string("site")?;
    let vnf = cx.args.required_string("vnf")?;
    let run_id = cx.args.required_string("run_id")?;
    if run_id.is_empty() || run_id.contains('/') {
        return Err(ActionError::permanent(format!(
            "{}: `{run_id}` is not a run id",
            cx.action()
        )));
    }
    let c = cx.acts.client(&site)?;
    let container = cx.acts.manifest_container.clone();
    let suffix = format!("-{run_id}.json");
    let listed = match c.swift().list(&container, &format!("{vnf}/")).await {
        Ok(l) => l,
        Err(e) if e.kind == ErrorKind::NotFound => vec![],
        Err(e) => return Err(from_client(cx.action(), e)),
    };
    let mine: Vec<_> = listed
        .into_iter()
        .filter(|o| o.name.ends_with(&suffix))
        .collect();
    let pinned = crate::lifeboat::points::pinned(cx, c, &vnf).await?;
    if let Some((object, pointer)) = mine.iter().find_map(|o| pinned.get_key_value(&o.name)) {
        let base = pointer.rsplit('/').next().unwrap_or(pointer);
        let what = match base.strip_suffix(".json").unwrap_or(base).split_once('-') {
            Some(("verified", option)) => {
                format!("the newest recovery point of {vnf} a drill of {option} verified")
            }
            Some((_, option)) => format!("the newest recovery point of {vnf} written by {option}"),
            None => format!("the newest recovery point of {vnf}"),
        };
        return Err(ActionError::permanent(format!(
            "{}: {object} at site {site} is {what} ({base} names it); it is never expired",
            cx.action()
        )));
    }
    let mut out = ObjectRec {
        container: container.clone(),
        name: format!("{vnf}/{run_id}"),
        site: site.clone(),
        etag: String::new(),
        bytes: 0,
    };
    for o in mine {
        match c.swift().delete_object(&container, &o.name).await {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(from_client(cx.action(), e)),
        }
        out.name = o.name;
        out.etag = o.hash;
        out.bytes = o.bytes as i64;
    }
    cx.value(out)
}
