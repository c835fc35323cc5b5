//! Nova (compute v2.1) objects: servers, flavors, volume attachments.

use super::{loose_bool, loose_string, string_map};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
pub struct Server {
    pub id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub name: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: String,
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
    /// Network name → addresses, in the order Nova lists them.
    #[serde(default)]
    pub addresses: Addresses,
    /// An id + links (< 2.47) or the embedded flavor with `original_name`.
    #[serde(default)]
    pub flavor: Value,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(rename = "os-extended-volumes:volumes_attached", default)]
    pub volumes_attached: Vec<AttachedRef>,
    #[serde(rename = "OS-EXT-SRV-ATTR:root_device_name", default)]
    pub root_device_name: Option<String>,
    #[serde(rename = "OS-EXT-STS:task_state", default)]
    pub task_state: Option<String>,
    #[serde(default)]
    pub fault: Option<Fault>,
    #[serde(default)]
    pub key_name: Option<String>,
    #[serde(rename = "OS-EXT-AZ:availability_zone", default)]
    pub availability_zone: Option<String>,
    /// Locked (2.9+): Nova refuses changes by its owner until unlocked.
    #[serde(default, deserialize_with = "loose_bool")]
    pub locked: bool,
    /// Why (2.73+).
    #[serde(default)]
    pub locked_reason: Option<String>,
}

/// A server group (2.64+ shape: one `policy`).
#[derive(Debug, Clone, Deserialize)]
pub struct ServerGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub policy: String,
    #[serde(default)]
    pub members: Vec<String>,
}

/// A key pair's public half.
#[derive(Debug, Clone, Deserialize)]
pub struct Keypair {
    pub name: String,
    #[serde(default)]
    pub public_key: String,
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// One of a server's network interfaces (`os-interface`).
#[derive(Debug, Clone, Deserialize)]
pub struct Interface {
    pub port_id: String,
    pub net_id: String,
    #[serde(default)]
    pub mac_addr: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Fault {
    #[serde(default, deserialize_with = "loose_string")]
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AttachedRef {
    pub id: String,
}

impl Server {
    /// The flavor's name: `original_name` (2.47+), else its id.
    pub fn flavor_name(&self) -> String {
        self.flavor
            .get("original_name")
            .or_else(|| self.flavor.get("name"))
            .or_else(|| self.flavor.get("id"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// vcpus, ram (MiB), disk (GiB) of the embedded flavor (2.47+).
    pub fn flavor_sizes(&self) -> Option<(u64, u64, u64)> {
        Some((
            self.flavor.get("vcpus")?.as_u64()?,
            self.flavor.get("ram")?.as_u64()?,
            self.flavor.get("disk")?.as_u64()?,
        ))
    }

    pub fn network_names(&self) -> Vec<String> {
        self.addresses.0.iter().map(|(n, _)| n.clone()).collect()
    }
}

/// A server's `addresses` in document order. Nova builds the map from the
/// instance's network info, NIC by NIC, so this order — unlike the
/// interface list, which is Neutron's port order — is the guest's NIC order.
#[derive(Debug, Clone, Default)]
pub struct Addresses(pub Vec<(String, Vec<Value>)>);

impl Addresses {
    /// The NICs' MAC addresses in the guest's order, each once.
    pub fn macs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, addrs) in &self.0 {
            for a in addrs {
                if let Some(m) = a.get("OS-EXT-IPS-MAC:mac_addr").and_then(Value::as_str) {
                    if !out.iter().any(|x| x == m) {
                        out.push(m.to_string());
                    }
                }
            }
        }
        out
    }
}

impl<'de> Deserialize<'de> for Addresses {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Addresses;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of network name to addresses")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Addresses, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    out.push((k, v.as_array().cloned().unwrap_or_default()));
                }
                Ok(Addresses(out))
            }
            fn visit_unit<E>(self) -> Result<Addresses, E> {
                Ok(Addresses::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerBody {
    pub server: Server,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub vcpus: u64,
    #[serde(default)]
    pub ram: u64,
    #[serde(default)]
    pub disk: u64,
    /// From 2.61, where the policy lets the project read them.
    #[serde(default)]
    pub extra_specs: std::collections::BTreeMap<String, String>,
}

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

/// createImage at 2.45+: `{"image_id": …}`.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateImageBody {
    pub image_id: String,
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;

    #[test]
    fn server_samples_parse() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        let s: ServerBody =
            serde_json::from_str(&sample("nova/servers/v2.96/server-get-resp.json")).unwrap();
        assert_eq!(s.server.flavor_name(), "m1.tiny");
        assert_eq!(s.server.flavor_sizes(), Some((1, 512, 1)));
        assert_eq!(s.server.network_names(), vec!["private"]);
        assert_eq!(s.server.volumes_attached.len(), 2);
        let list: Value =
            serde_json::from_str(&sample("nova/servers/v2.96/servers-details-resp.json")).unwrap();
        let servers: Vec<Server> = serde_json::from_value(list["servers"].clone()).unwrap();
        assert!(!servers.is_empty());
        let tagged: Value = serde_json::from_str(&sample(
            "nova/os-server-tags/v2.26/servers-tags-details-resp.json",
        ))
        .unwrap();
        let s: Server = serde_json::from_value(tagged["servers"][0].clone()).unwrap();
        assert!(!s.tags.is_empty());
    }

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
