//! Nova calls (compute v2.1). Microversion 2.96 (the newest a current Nova
//! offers that Lifeboat needs) is pinned on every call: the `tags` filter
//! needs ≥ 2.26, createImage answers `image_id` from 2.45, the embedded flavor
//! with `original_name` comes from 2.47, `networks: "none"` needs ≥ 2.37.
//!
//! One file per resource, its calls beside their request bodies and result
//! types (Nova's objects: servers, flavors, volume attachments, …):
//! `servers.rs` (servers, actions, lock, metadata, interfaces, boot from a
//! volume), `images.rs` (createImage), `flavors.rs`, `volume_attachments.rs`,
//! `server_groups.rs`, `keypairs.rs`, `limits.rs`, `availability_zones.rs`.

mod availability_zones;
mod flavors;
mod images;
mod keypairs;
mod limits;
mod server_groups;
mod servers;
mod volume_attachments;

use crate::catalog::Service;
use crate::error::{ErrorKind, Result};
use crate::http::Client;
use reqwest::Method;
use serde_json::{json, Value};

pub use flavors::Flavor;
pub use images::{CreateImage, CreateImageBody, NameMeta};
pub use keypairs::Keypair;
pub use server_groups::ServerGroup;
pub use servers::{
    Addresses, AttachedRef, BlockDeviceMapping, Boot, CreateServer, Fault, Interface, Nics, Server,
    ServerBody, ServerSpec,
};
pub use volume_attachments::{
    AttachVolume, VolumeAttachment, VolumeAttachmentBody, VolumeAttachmentsBody, VolumeRef,
};

/// The compute microversion Lifeboat speaks.
pub const COMPUTE_MICROVERSION: &str = "2.96";

pub struct Nova<'a> {
    c: &'a Client,
}

impl Client {
    pub fn nova(&self) -> Nova<'_> {
        Nova { c: self }
    }
}

impl<'a> Nova<'a> {
    fn req(&self, method: Method, path: impl Into<String>) -> crate::http::Request<'a> {
        self.c
            .request(Service::Compute, method, path)
            .microversion(COMPUTE_MICROVERSION)
    }
}

pub(crate) fn parse_items<T: serde::de::DeserializeOwned>(
    c: &Client,
    call: &str,
    items: Vec<Value>,
) -> Result<Vec<T>> {
    items
        .into_iter()
        .map(|v| {
            serde_json::from_value(v).map_err(|e| {
                crate::error::Error::new(
                    ErrorKind::Decode,
                    call,
                    "list item",
                    c.site(),
                    format!("unexpected item: {e}"),
                )
            })
        })
        .collect()
}

/// A request body as JSON (serializing these plain structs cannot fail).
pub(crate) fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::sample;

    #[test]
    fn flavor_attachment_image_samples_parse() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        let f: Value =
            serde_json::from_str(&sample("nova/flavors/flavors-detail-resp.json")).unwrap();
        let flavors: Vec<Flavor> = serde_json::from_value(f["flavors"].clone()).unwrap();
        assert!(flavors.iter().any(|f| f.name == "m1.tiny" && f.ram == 512));
        let a: VolumeAttachmentBody = serde_json::from_str(&sample(
            "nova/os-volume_attachments/attach-volume-to-server-resp.json",
        ))
        .unwrap();
        assert!(!a.volume_attachment.volume_id.is_empty());
        let l: VolumeAttachmentsBody = serde_json::from_str(&sample(
            "nova/os-volume_attachments/list-volume-attachments-resp.json",
        ))
        .unwrap();
        assert!(!l.volume_attachments.is_empty());
        let l89: VolumeAttachmentsBody = serde_json::from_str(&sample(
            "nova/os-volume_attachments/v2.89/list-volume-attachments-resp.json",
        ))
        .unwrap();
        assert!(l89.volume_attachments[0].attachment_id.is_some());
        let img: CreateImageBody = serde_json::from_str(&sample(
            "nova/servers/v2.45/server-action-create-image-resp.json",
        ))
        .unwrap();
        assert!(!img.image_id.is_empty());
    }
}
