//! `cinder.volumes_of`, `show_volume`, `delete_volume`: the volumes of
//! servers (boot volume first), read and deleted; which production volume
//! a copy descends from.

use super::*;

// ---------- volumes ----------

/// One server's volumes, its boot volume first.
async fn volumes_of_server(
    cx: &Ctx<'_>,
    c: &Client,
    s: ServerRec,
) -> Result<Vec<VolumeRec>, ActionError> {
    let atts = c.nova().attachments(&s.id).await.act(cx.action())?;
    // The record's order (boot volume first) while it names exactly what
    // is attached now; the server read only to order a changed set.
    let same_set = !atts.is_empty()
        && s.volumes.len() == atts.len()
        && atts.iter().all(|a| s.volumes.contains(&a.volume_id));
    let ordered = if same_set {
        s.volumes.clone()
    } else {
        let server = c.nova().server(&s.id).await.act(cx.action())?;
        crate::nova::ordered_volume_ids(&server, &atts)
    };
    let mut out = Vec::with_capacity(ordered.len());
    for vid in &ordered {
        let v = c.cinder().volume(vid).await.act(cx.action())?;
        let mut r = volume_rec(&v, c.site());
        if let Some(a) = atts.iter().find(|a| &a.volume_id == vid) {
            r.server_id = s.id.clone();
            r.device = a.device.clone();
        }
        out.push(r);
    }
    Ok(out)
}

/// Servers `volumes_of` looks at at once.
const VOLUMES_OF_CONCURRENCY: usize = 4;

pub async fn volumes_of(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let servers: Vec<ServerRec> = cx.args.list("servers")?;
    if servers.is_empty() {
        return cx.value(Vec::<VolumeRec>::new());
    }
    let c = cx.client_for_call()?;
    // Servers are looked at side by side (a few at a time: API politeness),
    // the result in the servers' order: with a hundred servers, one after
    // the other took seconds of round trips.
    use futures::stream::{self, StreamExt, TryStreamExt};
    let per_server: Vec<Vec<VolumeRec>> = stream::iter(servers)
        .map(|s| volumes_of_server(cx, c, s))
        .buffered(VOLUMES_OF_CONCURRENCY)
        .try_collect()
        .await?;
    // Boot volumes first (each server's first), then the data volumes.
    let (mut boot, mut data) = (Vec::new(), Vec::new());
    for vols in per_server {
        for (i, r) in vols.into_iter().enumerate() {
            if i == 0 {
                boot.push(r);
            } else {
                data.push(r);
            }
        }
    }
    boot.extend(data);
    cx.value(boot)
}

pub async fn show_volume(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, vol) = cx.record_on_site::<VolumeRec>("volume")?;
    let v = c.cinder().volume(&vol.id).await.act(cx.action())?;
    cx.value(volume_rec(&v, c.site()))
}

pub async fn delete_volume(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, mut vol) = cx.record_on_site::<VolumeRec>("volume")?;
    ok_if_gone(
        cx.action(),
        c.cinder().delete_volume(&vol.id).await,
        async { c.cinder().volume(&vol.id).await.map(|v| v.status) },
    )
    .await?;
    let id = vol.id.clone();
    wait_gone(cx, &format!("volume {id} at site {}", c.site()), || {
        let cinder = c.cinder();
        let id = id.clone();
        async move { cinder.volume(&id).await.map(|v| v.status) }
    })
    .await?;
    vol.status = "deleted".into();
    cx.value(vol)
}

/// After a crash: a volume created by the call (named with its tag).
pub async fn volume_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let c = cx.client_for_call()?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let found = c
        .cinder()
        .volumes(&[("name", name.clone())])
        .await
        .act(cx.action())?;
    let Some(v) = found
        .into_iter()
        .find(|v| v.name == name && !is_discarded(&v.status))
    else {
        return Ok(None);
    };
    let v = wait_volume(cx, c, &v.id, &["available", "in-use"]).await?;
    // The origin the interrupted call would have recorded.
    let hint = ["snapshot", "backup"]
        .iter()
        .find_map(|k| {
            cx.args
                .raw(k)
                .and_then(|r| r.get("origin"))
                .and_then(Value::as_str)
                .filter(|o| !o.is_empty())
                .map(str::to_string)
        })
        .or_else(|| {
            cx.args
                .raw("replica")
                .and_then(|r| r.get("volume_id"))
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let v = ensure_tagged(cx, c, v, hint.as_deref()).await?;
    Ok(Some(cx.value(volume_rec(&v, c.site()))?))
}

/// The twins of the volume a call made (`kept`): every other volume
/// carrying its name, once settled (one that ended in error is taken as it
/// is: deleting it is allowed).
pub async fn volume_twins(cx: &Ctx<'_>, kept: &Value) -> Result<Vec<Value>, ActionError> {
    let name = resource_name(cx.call, &cx.args.string("name")?);
    volumes_named_but(cx, &[name], &kept_ids(kept)).await
}

/// Every volume named one of `names` but `kept`, settled, as records.
pub(super) async fn volumes_named_but(
    cx: &Ctx<'_>,
    names: &[String],
    kept: &[&str],
) -> Result<Vec<Value>, ActionError> {
    let c = cx.client_for_call()?;
    let mut found = Vec::new();
    for name in names {
        found.extend(
            c.cinder()
                .volumes(&[("name", name.clone())])
                .await
                .act(cx.action())?
                .into_iter()
                .filter(|v| &v.name == name),
        );
    }
    let mut out = Vec::new();
    for v in found
        .into_iter()
        .filter(|v| !kept.contains(&v.id.as_str()) && !is_going(&v.status))
    {
        let v = match wait_volume(cx, c, &v.id, &["available", "in-use"]).await {
            Ok(v) => v,
            Err(_) => c.cinder().volume(&v.id).await.act(cx.action())?,
        };
        out.push(cx.value(volume_rec(&v, c.site()))?.value);
    }
    Ok(out)
}

/// Put the tag metadata (and origin) on a volume that lacks it.
pub(super) async fn ensure_tagged(
    cx: &Ctx<'_>,
    c: &Client,
    v: Volume,
    origin: Option<&str>,
) -> Result<Volume, ActionError> {
    let want_origin = origin
        .map(str::to_string)
        .or_else(|| v.metadata.get(META_ORIGIN).cloned())
        .unwrap_or_default();
    if v.metadata.get(META_TAG) == Some(&cx.call.tag)
        && v.metadata.get(META_ORIGIN).cloned().unwrap_or_default() == want_origin
    {
        return Ok(v);
    }
    c.cinder()
        .set_volume_metadata(&v.id, &tag_metadata(cx.call, &want_origin))
        .await
        .act(cx.action())?;
    c.cinder().volume(&v.id).await.act(cx.action())
}

/// The production volume the volume `id` at `c`'s site descends from
/// ([`origin_of`]); the id itself when it cannot be read (gone since).
pub(crate) async fn origin_of_id(c: &Client, id: &str) -> String {
    match c.cinder().volume(id).await {
        Ok(v) => origin_of(&v),
        Err(_) => id.to_string(),
    }
}

/// Planned `cinder.show_volume`: the volume given.
pub fn planned_show_volume(p: &crate::projection::Planned<'_>) -> Option<Value> {
    p.arg("volume").cloned()
}
