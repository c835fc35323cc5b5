//! Volume attachments: attach and detach, waited for on the volume.

use super::*;

fn attachment_rec(a: &VolumeAttachment, server_id: &str, site: &str) -> AttachmentRec {
    AttachmentRec {
        id: a.attachment_id.clone().unwrap_or_else(|| a.id.clone()),
        server_id: if a.server_id.is_empty() {
            server_id.to_string()
        } else {
            a.server_id.clone()
        },
        volume_id: a.volume_id.clone(),
        device: a.device.clone(),
        site: site.to_string(),
    }
}

async fn wait_volume_status(
    cx: &Ctx<'_>,
    c: &Client,
    volume_id: &str,
    want: &'static [&'static str],
    what: &str,
) -> Result<(), ActionError> {
    cx.wait(what, || {
        let cinder = c.cinder();
        let id = volume_id.to_string();
        async move {
            let v = cinder.volume(&id).await?;
            Ok(if want.contains(&v.status.as_str()) {
                Poll::Ready(())
            } else if is_failed(&v.status) {
                Poll::Failed(v.status)
            } else {
                Poll::Pending(v.status)
            })
        }
    })
    .await
}

pub async fn attach_volume(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
    let vol: VolumeRec = cx.args.record("volume")?;
    let existing = c.nova().attachments(&srv.id).await.act(cx.action())?;
    let att = match existing.into_iter().find(|a| a.volume_id == vol.id) {
        Some(a) => a,
        None => c.nova().attach(&srv.id, &vol.id).await.act(cx.action())?,
    };
    wait_volume_status(
        cx,
        c,
        &vol.id,
        &["in-use"],
        &format!("volume {} attaching to server {}", vol.id, srv.id),
    )
    .await?;
    let atts = c.nova().attachments(&srv.id).await.act(cx.action())?;
    let a = atts
        .into_iter()
        .find(|a| a.volume_id == vol.id)
        .unwrap_or(att);
    cx.value(attachment_rec(&a, &srv.id, c.site()))
}

pub async fn detach_volume(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
    let vol: VolumeRec = cx.args.record("volume")?;
    let existing = c.nova().attachments(&srv.id).await.act(cx.action())?;
    let Some(a) = existing.into_iter().find(|a| a.volume_id == vol.id) else {
        // Already detached (a retried call).
        return cx.value(AttachmentRec {
            id: String::new(),
            server_id: srv.id.clone(),
            volume_id: vol.id.clone(),
            device: vol.device.clone(),
            site: c.site().to_string(),
        });
    };
    // Nova refuses a detach of a volume already `detaching`: an earlier
    // send of this DELETE was taken and its answer lost. Wait for it.
    crate::wait::ok_if_under_way(
        cx.action(),
        c.nova().detach(&srv.id, &vol.id).await,
        async { c.cinder().volume(&vol.id).await.map(|v| v.status) },
        &["detaching", "available"],
    )
    .await?;
    wait_volume_status(
        cx,
        c,
        &vol.id,
        &["available"],
        &format!("volume {} detaching from server {}", vol.id, srv.id),
    )
    .await?;
    cx.value(attachment_rec(&a, &srv.id, c.site()))
}
