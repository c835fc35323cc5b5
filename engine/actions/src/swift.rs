//! The `swift.*` actions: put, get and delete an object; replicate a
//! container to another site with Swift container sync, check a replica,
//! and stop replicating.

use crate::args::{from_client, ClientResult};
use crate::records::{ContainerReplicaRec, ObjectRec};
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::{ErrorKind, Secret};
use serde_json::Value;

pub async fn put_object(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let container = cx.args.required_string("container")?;
    let name = cx.args.required_string("name")?;
    let content = cx.args.string("content")?;
    let ct = if content.trim_start().starts_with('{') || content.trim_start().starts_with('[') {
        "application/json"
    } else {
        "text/plain"
    };
    let stored = c
        .swift()
        .put_object(&container, &name, content.into_bytes(), ct)
        .await
        .act(cx.action())?;
    let mut out = cx.value(ObjectRec {
        container,
        name,
        site: c.site().to_string(),
        etag: stored.etag,
        bytes: stored.bytes as i64,
    })?;
    out.bytes_moved = stored.bytes;
    Ok(out)
}

/// The object is there with the same content: nothing to redo.
pub async fn put_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let c = cx.client_for_call()?;
    let container = cx.args.required_string("container")?;
    let name = cx.args.required_string("name")?;
    let content = cx.args.string("content")?;
    match c.swift().get_object(&container, &name).await {
        Ok(body) if body == content.as_bytes() => {
            let listed = c.swift().list(&container, &name).await.act(cx.action())?;
            let etag = listed
                .into_iter()
                .find(|o| o.name == name)
                .map(|o| o.hash)
                .unwrap_or_default();
            Ok(Some(cx.value(ObjectRec {
                container,
                name,
                site: c.site().to_string(),
                etag,
                bytes: body.len() as i64,
            })?))
        }
        Ok(_) => Ok(None),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(from_client(cx.action(), e)),
    }
}

pub async fn get_object(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let container = cx.args.required_string("container")?;
    let name = cx.args.required_string("name")?;
    let body = c
        .swift()
        .get_object(&container, &name)
        .await
        .act(cx.action())?;
    let text = String::from_utf8(body).map_err(|_| {
        ActionError::permanent(format!(
            "{}: object {container}/{name} at site {} is not UTF-8 text",
            cx.action(),
            c.site()
        ))
    })?;
    cx.value(Value::String(text))
}

pub async fn delete_object(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, o) = cx.record_on_site::<ObjectRec>("object")?;
    match c.swift().delete_object(&o.container, &o.name).await {
        Ok(()) => {}
        Err(e) if e.kind == ErrorKind::NotFound => {}
        Err(e) => return Err(from_client(cx.action(), e)),
    }
    cx.value(o)
}

// ---------- container sync (option 3 for object data) ----------

/// Where a replica's sync key is kept, for the record: never the key.
const KEY_REF: &str = "X-Container-Sync-Key of the two containers (never copied elsewhere)";
/// Container metadata saying which call set the sync, and what the sync
/// target was before: a retried call knows its own work, and taking it
/// back restores what was there.
const META_BY: &str = "X-Container-Meta-Lifeboat-Sync-By";
const META_BEFORE: &str = "X-Container-Meta-Lifeboat-Sync-Before";

/// A new sync key: 32 random bytes, hex.
fn new_key() -> Secret {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    Secret::new(hex::encode(b))
}

fn missing_container(cx: &Ctx<'_>, container: &str, site: &str) -> ActionError {
    ActionError::permanent(format!(
        "{}: there is no container {container:?} at site {site}",
        cx.action()
    ))
    .with_hint("name the VNF's existing containers in the runbook's `containers` parameter")
}

/// Replicate a container to the same name at `to` with Swift container
/// sync: the target is made when missing and given the sync key (the
/// source's own when it has one, else a new random one); the source is
/// pointed at it through the realm and cluster its `/info` lists.
pub async fn replicate_container(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let to = cx.args.required_string("to")?;
    let t = cx.acts.client(&to)?;
    let container = cx.args.required_string("container")?;
    let src = match c.swift().container(&container).await {
        Ok(i) => i,
        Err(e) if e.kind == ErrorKind::NotFound => {
            return Err(missing_container(cx, &container, c.site()))
        }
        Err(e) => return Err(from_client(cx.action(), e)),
    };
    let realms = c.swift().sync_realms().await.act(cx.action())?;
    let want_realm = cx.args.string("realm")?.to_ascii_uppercase();
    let (realm, clusters) = match (want_realm.as_str(), realms.len()) {
        (_, 0) => {
            return Err(ActionError::permanent(format!("{}: the Swift of site {} knows no container-sync realm", cx.action(), c.site()))
                .with_hint("configure container-sync-realms.conf and the container_sync middleware at both sites (see docs/option3-objects.md)"))
        }
        ("", 1) => realms.iter().next().map(|(r, cl)| (r.clone(), cl.clone())).unwrap_or_default(),
        ("", _) => {
            return Err(ActionError::permanent(format!("{}: site {} knows several container-sync realms ({}); say which", cx.action(), c.site(), realms.keys().cloned().collect::<Vec<_>>().join(", "))).with_hint("give the runbook's `realm` parameter"))
        }
        (r, _) => match realms.get(r) {
            Some(cl) => (r.to_string(), cl.clone()),
            None => return Err(ActionError::permanent(format!("{}: site {} knows no container-sync realm {r} (it knows {})", cx.action(), c.site(), realms.keys().cloned().collect::<Vec<_>>().join(", "))).with_hint("give one of those as `realm`")),
        },
    };
    let mut cluster = cx.args.string("cluster")?.to_ascii_uppercase();
    if cluster.is_empty() {
        cluster = to.to_ascii_uppercase();
    }
    if !clusters.contains(&cluster) {
        return Err(ActionError::permanent(format!(
            "{}: realm {realm} of site {} has no cluster {cluster} (it has {})",
            cx.action(),
            c.site(),
            clusters.join(", ")
        ))
        .with_hint("give the backup site's cluster name as `cluster`"));
    }
    let account_url = t.swift().account_url().await.act(cx.action())?;
    let account = account_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let sync_to = format!("//{realm}/{cluster}/{account}/{container}");
    let key = if src.sync_key.is_empty() {
        new_key()
    } else {
        src.sync_key.clone()
    };
    // The replica first, so the source never syncs to a container that
    // would refuse it.
    t.swift()
        .set_sync(&container, None, &key, true)
        .await
        .act(cx.action())?;
    // A retried call finds its own mark; the first one records what the
    // source synced to before.
    let ours = src
        .meta
        .get("lifeboat-sync-by")
        .is_some_and(|b| *b == cx.call.tag);
    if !ours {
        let before = if src.sync_to == sync_to {
            "unchanged".to_string()
        } else {
            src.sync_to.clone()
        };
        c.swift()
            .set_meta(
                &container,
                &[
                    (META_BY, cx.call.tag.as_str()),
                    (META_BEFORE, before.as_str()),
                ],
            )
            .await
            .act(cx.action())?;
    }
    c.swift()
        .set_sync(&container, Some(&sync_to), &key, false)
        .await
        .act(cx.action())?;
    let rec = ContainerReplicaRec {
        container,
        site: c.site().to_string(),
        replica_site: to,
        sync_to,
        key_ref: KEY_REF.into(),
        ..Default::default()
    };
    let rec = observe(cx, rec, true).await?;
    cx.value(rec)
}

/// Take back a `replicate_container`: the source syncs where it synced
/// before (nowhere, most often). The replica keeps what it has.
pub async fn stop_replication(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, rec) = cx.record_on_site::<ContainerReplicaRec>("replica")?;
    let info = match c.swift().container(&rec.container).await {
        Ok(i) => i,
        Err(e) if e.kind == ErrorKind::NotFound => return cx.value(rec),
        Err(e) => return Err(from_client(cx.action(), e)),
    };
    let before = info
        .meta
        .get("lifeboat-sync-before")
        .cloned()
        .unwrap_or_default();
    if before != "unchanged" {
        // Removing the target leaves the key: another sync may share it.
        c.swift()
            .set_sync(&rec.container, Some(&before), &info.sync_key, false)
            .await
            .act(cx.action())?;
    }
    c.swift()
        .set_meta(&rec.container, &[(META_BY, ""), (META_BEFORE, "")])
        .await
        .act(cx.action())?;
    cx.value(rec)
}

/// Check a replica at `site` (the backup site): the container is there and
/// readable (listed, its first object read); how far behind the source it
/// is — against the source's counts now when it answers, else against the
/// counts recorded when prepare looked. Holding fewer objects than at that
/// look is reported, not refused: the VNF may have deleted some since, and
/// a failover must not wait on it.
pub async fn check_replica(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let site = cx.args.required_string("site")?;
    let mut rec: ContainerReplicaRec = cx.args.record("replica")?;
    let t = cx.acts.client(&site)?;
    let listed = match t.swift().list(&rec.container, "").await {
        Ok(l) => l,
        Err(e) if e.kind == ErrorKind::NotFound => {
            return Err(missing_container(cx, &rec.container, &site).with_hint(
                "the replica was never made, or was deleted: run option3/prepare again",
            ))
        }
        Err(e) => return Err(from_client(cx.action(), e)),
    };
    if let Some(first) = listed.first() {
        t.swift()
            .get_object(&rec.container, &first.name)
            .await
            .act(cx.action())?;
    }
    let (floor, then) = (rec.replica_objects, rec.checked_at.clone());
    rec.replica_site = site;
    // The source is looked at only when the runbook names it (a drill): a
    // failover never waits on the lost site; it compares with the counts
    // recorded.
    let source = cx.args.string("source")?;
    let look = !source.is_empty();
    if look {
        rec.site = source;
    }
    let rec = observe(cx, rec, look).await?;
    if rec.replica_objects < floor {
        tracing::warn!(step = %cx.call.step, container = %rec.container, site = %rec.replica_site, now = rec.replica_objects, then = floor, checked = %then, "the replica holds fewer objects than when prepare looked (deleted since?)");
    }
    cx.value(rec)
}

/// Both sides' counts now (the source's only when `look_at_source`); the
/// source's stay as recorded when it is not looked at or does not
/// answer (it is down: that is when a failover looks).
async fn observe(
    cx: &Ctx<'_>,
    mut rec: ContainerReplicaRec,
    look_at_source: bool,
) -> Result<ContainerReplicaRec, ActionError> {
    let t = cx.acts.client(&rec.replica_site)?;
    let replica = t.swift().container(&rec.container).await.act(cx.action())?;
    rec.replica_objects = replica.object_count as i64;
    rec.replica_bytes = replica.bytes_used as i64;
    rec.source_seen = false;
    if let Some(c) = cx.acts.client(&rec.site).ok().filter(|_| look_at_source) {
        if let Ok(src) = c.swift().container(&rec.container).await {
            rec.objects = src.object_count as i64;
            rec.bytes = src.bytes_used as i64;
            rec.source_seen = true;
        }
    }
    rec.behind_objects = (rec.objects - rec.replica_objects).max(0);
    rec.behind_bytes = (rec.bytes - rec.replica_bytes).max(0);
    rec.checked_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(rec)
}
