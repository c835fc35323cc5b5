//! Volume attachments of a server: list, attach, detach.

use super::*;
use crate::types::loose_string;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct VolumeAttachment {
    #[serde(default, deserialize_with = "loose_string")]
    pub id: String,
    #[serde(rename = "volumeId")]
    pub volume_id: String,
    #[serde(rename = "serverId", default, deserialize_with = "loose_string")]
    pub server_id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub device: String,
    /// 2.89+: the attachment's own id (`id` then is the volume id).
    #[serde(default)]
    pub attachment_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VolumeAttachmentBody {
    #[serde(rename = "volumeAttachment")]
    pub volume_attachment: VolumeAttachment,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VolumeAttachmentsBody {
    #[serde(rename = "volumeAttachments")]
    pub volume_attachments: Vec<VolumeAttachment>,
}

/// `POST /servers/{id}/os-volume_attachments`.
#[derive(Debug, Clone, Serialize)]
pub struct AttachVolume<'a> {
    #[serde(rename = "volumeAttachment")]
    pub volume_attachment: VolumeRef<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VolumeRef<'a> {
    #[serde(rename = "volumeId")]
    pub volume_id: &'a str,
}

impl Nova<'_> {
    pub async fn attachments(&self, server_id: &str) -> Result<Vec<VolumeAttachment>> {
        let b: VolumeAttachmentsBody = self
            .req(
                Method::GET,
                format!("servers/{server_id}/os-volume_attachments"),
            )
            .call("GET /servers/{id}/os-volume_attachments")
            .resource(format!("server {server_id}"))
            .send_json()
            .await?;
        Ok(b.volume_attachments)
    }

    pub async fn attach(&self, server_id: &str, volume_id: &str) -> Result<VolumeAttachment> {
        let b: VolumeAttachmentBody = self
            .req(
                Method::POST,
                format!("servers/{server_id}/os-volume_attachments"),
            )
            .json(to_value(&AttachVolume {
                volume_attachment: VolumeRef { volume_id },
            }))
            .call("POST /servers/{id}/os-volume_attachments")
            .resource(format!("volume {volume_id} on server {server_id}"))
            .send_json()
            .await?;
        Ok(b.volume_attachment)
    }

    pub async fn detach(&self, server_id: &str, volume_id: &str) -> Result<()> {
        self.req(
            Method::DELETE,
            format!("servers/{server_id}/os-volume_attachments/{volume_id}"),
        )
        .call("DELETE /servers/{id}/os-volume_attachments/{volume_id}")
        .resource(format!("volume {volume_id} on server {server_id}"))
        .send()
        .await?;
        Ok(())
    }
}
