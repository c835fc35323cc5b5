//! The `glance.*` actions: show an image, wait for a createImage image and
//! read the volume snapshots its `block_device_mapping` names, delete it.

use crate::args::{from_client, ClientResult};
use crate::records::*;
use crate::wait::{is_failed, Poll};
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::glance::Image;
use lifeboat_openstack::{Client, ErrorKind};

/// An image record; with `strict`, every mapped snapshot must exist.
pub async fn image_rec(
    cx: &Ctx<'_>,
    c: &Client,
    img: &Image,
    strict: bool,
) -> Result<ImageRec, ActionError> {
    let mapped = img.mapped_snapshots().map_err(|e| {
        ActionError::permanent(format!(
            "{}: image {} at site {}: {e}",
            cx.action(),
            img.id,
            c.site()
        ))
    })?;
    let mut snaps = Vec::new();
    for m in mapped {
        match c.cinder().snapshot(&m.snapshot_id).await {
            Ok(s) => {
                let origin = match s.metadata.get(META_ORIGIN) {
                    Some(o) => o.clone(),
                    None => crate::cinder::origin_of_id(c, &s.volume_id).await,
                };
                snaps.push(snapshot_rec(&s, c.site(), &origin));
            }
            Err(e) if e.kind == ErrorKind::NotFound && !strict => {}
            Err(e) => return Err(from_client(cx.action(), e)),
        }
    }
    Ok(ImageRec {
        id: img.id.clone(),
        name: img.name.clone().unwrap_or_default(),
        site: c.site().to_string(),
        status: img.status.clone(),
        server_id: img
            .property("instance_uuid")
            .or_else(|| img.property("lifeboat_server"))
            .unwrap_or_default(),
        snapshots: snaps,
    })
}

pub async fn show_image(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, image) = cx.record_on_site::<ImageRec>("image")?;
    let img = c.glance().image(&image.id).await.act(cx.action())?;
    cx.value(image_rec(cx, c, &img, false).await?)
}

pub async fn image_snapshots(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, image) = cx.record_on_site::<ImageRec>("image")?;
    let id = image.id.clone();
    let img = cx
        .wait(
            &format!("image {id} at site {} becoming active", c.site()),
            || {
                let g = c.glance();
                let id = id.clone();
                async move {
                    let i = g.image(&id).await?;
                    Ok(match i.status.as_str() {
                        "active" => Poll::Ready(i),
                        s if is_failed(s) || s == "deleted" || s == "deactivated" => {
                            Poll::Failed(s.to_string())
                        }
                        s => Poll::Pending(s.to_string()),
                    })
                }
            },
        )
        .await?;
    let rec = image_rec(cx, c, &img, true).await?;
    let mut out = Vec::new();
    for s in rec.snapshots {
        let sid = s.id.clone();
        let snap = cx
            .wait(
                &format!("snapshot {sid} of image {} at site {}", img.id, c.site()),
                || {
                    let cinder = c.cinder();
                    let sid = sid.clone();
                    async move {
                        let s = cinder.snapshot(&sid).await?;
                        Ok(match s.status.as_str() {
                            "available" => Poll::Ready(s),
                            st if is_failed(st) => Poll::Failed(st.to_string()),
                            st => Poll::Pending(st.to_string()),
                        })
                    }
                },
            )
            .await?;
        // Provenance survives on the snapshot itself.
        if !snap.metadata.contains_key(META_ORIGIN) && !s.origin.is_empty() {
            crate::cinder::tag_snapshot(cx, c, &snap.id, &s.origin).await?;
        }
        out.push(snapshot_rec(&snap, c.site(), &s.origin));
    }
    cx.value(out)
}

pub async fn delete_image(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, mut image) = cx.record_on_site::<ImageRec>("image")?;
    match c.glance().delete_image(&image.id).await {
        Ok(()) => {}
        Err(e) if e.kind == ErrorKind::NotFound => {}
        Err(e) => return Err(from_client(cx.action(), e)),
    }
    image.status = "deleted".into();
    cx.value(image)
}

/// Planned `glance.show_image`: the image given.
pub fn planned_show_image(p: &crate::projection::Planned<'_>) -> Option<serde_json::Value> {
    p.arg("image").cloned()
}

/// Planned `glance.image_snapshots`: the snapshots the image was planned with.
pub fn planned_image_snapshots(p: &crate::projection::Planned<'_>) -> Option<serde_json::Value> {
    p.arg("image")?.get("snapshots").cloned()
}
