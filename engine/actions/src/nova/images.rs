//! `nova.create_image`: createImage of a server, waited for in Glance.

use super::*;

async fn image_record(cx: &Ctx<'_>, c: &Client, id: &str) -> Result<ImageRec, ActionError> {
    let img = c.glance().image(id).await.act(cx.action())?;
    crate::glance::image_rec(cx, c, &img, false).await
}

pub async fn create_image(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let mut meta = tag_metadata(cx.call, "");
    meta.insert("lifeboat_server".into(), json!(srv.id));
    let id = c
        .nova()
        .create_image(&srv.id, &name, &meta)
        .await
        .act(cx.action())?;
    // Waited for here (the image and the volume snapshots Nova made for it),
    // so that one that ends `killed` or `error` is discarded and made again
    // by this call rather than failing a later step.
    let waited = wait_image_ready(cx, c, &id, &name).await;
    if let Err(e) = waited {
        return Err(discard_failed(
            e,
            &format!("image {name} ({id}) at site {}", c.site()),
            discard_image(c, &id),
        )
        .await);
    }
    cx.value(image_record(cx, c, &id).await?)
}

/// The twins of the image a call made (`kept`): other images with its name
/// or tag, once settled. The volume snapshots Nova made for a twin are
/// deleted here (the step's undo deletes an image, not its snapshots); the
/// image is left to the undo.
pub async fn image_twins(
    cx: &Ctx<'_>,
    kept: &serde_json::Value,
) -> Result<Vec<serde_json::Value>, ActionError> {
    let (c, _srv) = cx.record_on_site::<ServerRec>("server")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let kept = kept_ids(kept);
    let found = c.glance().images_named(&name).await.act(cx.action())?;
    let mut out = Vec::new();
    for img in found.into_iter().filter(|i| {
        (i.property(META_TAG).as_deref() == Some(cx.call.tag.as_str())
            || i.name.as_deref() == Some(name.as_str()))
            && !kept.contains(&i.id.as_str())
            && !crate::wait::is_going(&i.status)
    }) {
        // One that ended broken is disposed of all the same.
        let _ = wait_image_ready(cx, c, &img.id, &name).await;
        let rec = match image_record(cx, c, &img.id).await {
            Ok(r) => r,
            Err(_) => ImageRec {
                id: img.id.clone(),
                name: name.clone(),
                site: c.site().to_string(),
                status: img.status.clone(),
                ..Default::default()
            },
        };
        let now = c.glance().image(&img.id).await.act(cx.action())?;
        for m in now.mapped_snapshots().unwrap_or_default() {
            match c.cinder().delete_snapshot(&m.snapshot_id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(crate::args::from_client(cx.action(), e)),
            }
        }
        out.push(cx.value(rec)?.value);
    }
    Ok(out)
}

/// Waits for a snapshot image to be active and its volume snapshots
/// available.
async fn wait_image_ready(
    cx: &Ctx<'_>,
    c: &Client,
    id: &str,
    name: &str,
) -> Result<(), ActionError> {
    cx.wait(
        &format!("image {name} ({id}) at site {} becoming active", c.site()),
        || {
            let g = c.glance();
            let id = id.to_string();
            async move {
                let i = g.image(&id).await?;
                Ok(match i.status.as_str() {
                    "active" => Poll::Ready(()),
                    st if is_discarded(st) || st == "deactivated" => Poll::Failed(st.to_string()),
                    st => Poll::Pending(st.to_string()),
                })
            }
        },
    )
    .await?;
    let img = c.glance().image(id).await.act(cx.action())?;
    let mapped = img.mapped_snapshots().map_err(|e| {
        ActionError::permanent(format!(
            "{}: image {id} at site {}: {e}",
            cx.action(),
            c.site()
        ))
    })?;
    for m in mapped {
        crate::cinder::wait_snapshot(cx, c, &m.snapshot_id).await?;
    }
    Ok(())
}

/// Deletes a failed snapshot image and the volume snapshots Nova made for
/// it (deleting an image leaves its snapshots).
async fn discard_image(c: &Client, id: &str) -> lifeboat_openstack::Result<()> {
    let img = c.glance().image(id).await?;
    if let Ok(mapped) = img.mapped_snapshots() {
        for m in mapped {
            match c.cinder().delete_snapshot(&m.snapshot_id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
    }
    c.glance().delete_image(id).await
}

pub async fn create_image_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let (c, _srv) = cx.record_on_site::<ServerRec>("server")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let found = c.glance().images_named(&name).await.act(cx.action())?;
    match found.into_iter().find(|i| {
        (i.property(META_TAG).as_deref() == Some(cx.call.tag.as_str())
            || i.name.as_deref() == Some(name.as_str()))
            && !is_discarded(&i.status)
    }) {
        Some(img) => match wait_image_ready(cx, c, &img.id, &name).await {
            Ok(()) => Ok(Some(cx.value(image_record(cx, c, &img.id).await?)?)),
            // Made, but broken: discarded, so the call makes a new one.
            Err(e) => match discard_failed(
                e,
                &format!("image {name} ({}) at site {}", img.id, c.site()),
                discard_image(c, &img.id),
            )
            .await
            {
                e if e.is_transient() => Ok(None),
                e => Err(e),
            },
        },
        None => Ok(None),
    }
}

/// Planned `nova.create_image`: one snapshot per attached volume.
pub fn planned_image(p: &crate::projection::Planned<'_>) -> Option<serde_json::Value> {
    let mut f = json!({"name": p.name(), "server_id": p.field("server", "id")});
    if let Some(ids) = p
        .arg("server")
        .and_then(|s| s.get("volumes"))
        .and_then(serde_json::Value::as_array)
    {
        f["snapshots"] = p.snapshots_of(ids);
    }
    Some(p.mark(f))
}
