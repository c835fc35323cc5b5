//! Glance calls (image v2), and the images they answer: Glance's images,
//! and the `block_device_mapping` property Nova's createImage of a
//! volume-backed server writes (a JSON string holding a list of
//! block-device-mapping-v2 entries with `snapshot_id`).

use crate::catalog::Service;
use crate::error::Result;
use crate::http::Client;
use crate::nova::parse_items;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: String,
    /// Every other property (Glance images are flat).
    #[serde(flatten)]
    pub properties: Map<String, Value>,
}

/// One entry of `block_device_mapping`.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedSnapshot {
    pub snapshot_id: String,
    pub device_name: String,
    pub boot_index: Option<i64>,
    pub volume_size: Option<u64>,
}

impl Image {
    pub fn property(&self, key: &str) -> Option<String> {
        match self.properties.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// The volume snapshots the image's `block_device_mapping` names.
    pub fn mapped_snapshots(&self) -> Result<Vec<MappedSnapshot>, String> {
        let Some(raw) = self.properties.get("block_device_mapping") else {
            return Ok(vec![]);
        };
        let list: Value = match raw {
            Value::String(s) => serde_json::from_str(s)
                .map_err(|e| format!("block_device_mapping is not JSON: {e}"))?,
            Value::Array(_) => raw.clone(),
            Value::Null => return Ok(vec![]),
            other => {
                return Err(format!(
                    "block_device_mapping has an unexpected shape: {other}"
                ))
            }
        };
        let items = list
            .as_array()
            .ok_or("block_device_mapping is not a list")?;
        Ok(items
            .iter()
            .filter_map(|bdm| {
                let sid = bdm.get("snapshot_id").and_then(Value::as_str)?;
                Some(MappedSnapshot {
                    snapshot_id: sid.to_string(),
                    device_name: bdm
                        .get("device_name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    boot_index: bdm.get("boot_index").and_then(|b| {
                        b.as_i64()
                            .or_else(|| b.as_str().and_then(|s| s.parse().ok()))
                    }),
                    volume_size: bdm.get("volume_size").and_then(Value::as_u64),
                })
            })
            .collect())
    }
}

pub struct Glance<'a> {
    c: &'a Client,
}

impl Client {
    pub fn glance(&self) -> Glance<'_> {
        Glance { c: self }
    }
}

impl Glance<'_> {
    pub async fn image(&self, id: &str) -> Result<Image> {
        self.c
            .request(Service::Image, Method::GET, format!("images/{id}"))
            .call("GET /v2/images/{id}")
            .resource(format!("image {id}"))
            .send_json()
            .await
    }

    /// Images with the exact name, every page.
    pub async fn images_named(&self, name: &str) -> Result<Vec<Image>> {
        let items = self
            .c
            .request(Service::Image, Method::GET, "images")
            .query("name", name)
            .call("GET /v2/images?name=")
            .resource(format!("images named {name:?}"))
            .send_paged("images")
            .await?;
        parse_items(self.c, "GET /v2/images", items)
    }

    pub async fn delete_image(&self, id: &str) -> Result<()> {
        self.c
            .request(Service::Image, Method::DELETE, format!("images/{id}"))
            .call("DELETE /v2/images/{id}")
            .resource(format!("image {id}"))
            .send()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::sample;

    #[test]
    fn image_samples_parse() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        let i: Image = serde_json::from_str(&sample("glance/image-show-response.json")).unwrap();
        assert_eq!(i.status, "active");
        assert_eq!(i.property("disk_format").as_deref(), Some("qcow2"));
        assert_eq!(i.mapped_snapshots().unwrap(), vec![]);
        let l: Value = serde_json::from_str(&sample("glance/images-list-response.json")).unwrap();
        let _: Vec<Image> = serde_json::from_value(l["images"].clone()).unwrap();
    }

    #[test]
    fn block_device_mapping_property() {
        let bdm = r#"[{"boot_index": 0, "source_type": "snapshot", "destination_type": "volume", "snapshot_id": "s1", "device_name": "/dev/vda", "volume_size": 1}, {"source_type": "snapshot", "snapshot_id": "s2", "device_name": "/dev/vdb", "boot_index": null}]"#;
        let i: Image = serde_json::from_value(serde_json::json!({"id": "i", "status": "active", "block_device_mapping": bdm, "bdm_v2": "True"})).unwrap();
        let m = i.mapped_snapshots().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].boot_index, Some(0));
        assert_eq!(m[1].snapshot_id, "s2");
    }
}
