//! Servers: list (by tag, by name), show, boot from a volume, actions
//! (pause, quiesce, …), lock and unlock, metadata items, delete; their
//! network interfaces (`os-interface`).

use super::*;
use crate::types::{loose_bool, loose_string, string_map, Meta};
use serde::{Deserialize, Serialize};
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

/// A server's network interfaces at boot.
#[derive(Debug, Clone)]
pub enum Nics {
    /// `networks: "none"`.
    None,
    /// A new port on each network (ids).
    Networks(Vec<String>),
    /// These ports (ids), in order.
    Ports(Vec<String>),
}

/// What a boot from volume asks for.
#[derive(Debug, Clone)]
pub struct Boot<'a> {
    pub name: &'a str,
    pub flavor_id: &'a str,
    pub volume_id: &'a str,
    pub nics: Nics,
    pub metadata: &'a serde_json::Map<String, Value>,
    pub key_name: Option<&'a str>,
    pub availability_zone: Option<&'a str>,
    /// Server group id (the `group` scheduler hint).
    pub server_group: Option<&'a str>,
    pub tags: &'a [String],
}

/// `POST /servers` booting from an existing volume.
#[derive(Debug, Clone, Serialize)]
pub struct CreateServer<'a> {
    pub server: ServerSpec<'a>,
    #[serde(rename = "os:scheduler_hints", skip_serializing_if = "Option::is_none")]
    pub scheduler_hints: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerSpec<'a> {
    pub name: &'a str,
    #[serde(rename = "flavorRef")]
    pub flavor_ref: &'a str,
    /// A list of `{"uuid": …}` or `{"port": …}`, or `"none"` (2.37+).
    pub networks: Value,
    pub metadata: &'a Meta,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<&'a str>,
    /// Server tags at create (2.52+).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub tags: &'a [String],
    pub block_device_mapping_v2: Vec<BlockDeviceMapping<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockDeviceMapping<'a> {
    pub boot_index: i32,
    pub uuid: &'a str,
    pub source_type: &'a str,
    pub destination_type: &'a str,
    pub delete_on_termination: bool,
}

impl Nova<'_> {
    /// Servers carrying `tag` (the `tags` filter, 2.26+), every page.
    pub async fn servers_with_tag(&self, tag: &str) -> Result<Vec<Server>> {
        let items = self
            .req(Method::GET, "servers/detail")
            .query("tags", tag)
            .call("GET /servers/detail?tags=")
            .resource(format!("servers tagged {tag:?}"))
            .send_paged("servers")
            .await?;
        parse_items(self.c, "GET /servers/detail", items)
    }

    /// Servers whose name matches `name` (a regular expression in Nova).
    pub async fn servers_named(&self, name: &str) -> Result<Vec<Server>> {
        let items = self
            .req(Method::GET, "servers/detail")
            .query("name", name)
            .call("GET /servers/detail?name=")
            .resource(format!("servers named {name:?}"))
            .send_paged("servers")
            .await?;
        parse_items(self.c, "GET /servers/detail", items)
    }

    pub async fn server(&self, id: &str) -> Result<Server> {
        let b: ServerBody = self
            .req(Method::GET, format!("servers/{id}"))
            .call("GET /servers/{id}")
            .resource(format!("server {id}"))
            .send_json()
            .await?;
        Ok(b.server)
    }

    /// A server action without an answer body (`pause`, `unpause`, `suspend`,
    /// `resume`, `quiesce`, `unquiesce`). Safe to repeat: a repeat answers
    /// 409, which the callers read as done once the server's state says so.
    pub async fn action(&self, id: &str, action: &str) -> Result<()> {
        self.req(Method::POST, format!("servers/{id}/action"))
            .idempotent()
            .json(json!({ action: null }))
            .call(format!("POST /servers/{{id}}/action {action}"))
            .resource(format!("server {id}"))
            .send()
            .await?;
        Ok(())
    }

    /// Boot a server from an existing volume (boot_index 0, kept on delete).
    pub async fn boot_from_volume(&self, b: &Boot<'_>) -> Result<String> {
        let (name, volume_id) = (b.name, b.volume_id);
        let networks = match &b.nics {
            Nics::None => json!("none"),
            Nics::Networks(ids) => Value::Array(ids.iter().map(|n| json!({"uuid": n})).collect()),
            Nics::Ports(ids) => Value::Array(ids.iter().map(|p| json!({"port": p})).collect()),
        };
        let body = to_value(&CreateServer {
            server: ServerSpec {
                name,
                flavor_ref: b.flavor_id,
                networks,
                metadata: b.metadata,
                key_name: b.key_name,
                availability_zone: b.availability_zone,
                tags: b.tags,
                block_device_mapping_v2: vec![BlockDeviceMapping {
                    boot_index: 0,
                    uuid: volume_id,
                    source_type: "volume",
                    destination_type: "volume",
                    delete_on_termination: false,
                }],
            },
            scheduler_hints: b.server_group.map(|g| json!({"group": g})),
        });
        let v: Value = self
            .req(Method::POST, "servers")
            .json(body)
            .call("POST /servers")
            .resource(format!("server {name} from volume {volume_id}"))
            .send_json()
            .await?;
        v.pointer("/server/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                crate::error::Error::new(
                    ErrorKind::Decode,
                    "nova POST /servers",
                    format!("server {name}"),
                    self.c.site(),
                    "the answer has no server.id",
                )
            })
    }

    /// Lock the server with a reason (2.73+): its owner can change nothing
    /// (stop, start, delete, attach, metadata) until it is unlocked. Safe to
    /// repeat: locking a locked server changes nothing.
    pub async fn lock(&self, id: &str, reason: &str) -> Result<()> {
        self.req(Method::POST, format!("servers/{id}/action"))
            .idempotent()
            .json(json!({"lock": {"locked_reason": reason}}))
            .call("POST /servers/{id}/action lock")
            .resource(format!("server {id}"))
            .send()
            .await?;
        Ok(())
    }

    /// Unlock the server (an unlocked one stays so).
    pub async fn unlock(&self, id: &str) -> Result<()> {
        self.action(id, "unlock").await
    }

    /// Set one metadata item (`PUT /servers/{id}/metadata/{key}`).
    pub async fn set_metadata_item(&self, id: &str, key: &str, value: &str) -> Result<()> {
        self.req(Method::PUT, format!("servers/{id}/metadata/{key}"))
            .json(json!({"meta": {key: value}}))
            .call("PUT /servers/{id}/metadata/{key}")
            .resource(format!("metadata {key} of server {id}"))
            .send()
            .await?;
        Ok(())
    }

    /// Delete one metadata item; one already gone counts as deleted.
    pub async fn delete_metadata_item(&self, id: &str, key: &str) -> Result<()> {
        self.req(Method::DELETE, format!("servers/{id}/metadata/{key}"))
            .call("DELETE /servers/{id}/metadata/{key}")
            .resource(format!("metadata {key} of server {id}"))
            .send_delete()
            .await
    }

    pub async fn delete_server(&self, id: &str) -> Result<()> {
        self.req(Method::DELETE, format!("servers/{id}"))
            .call("DELETE /servers/{id}")
            .resource(format!("server {id}"))
            .send()
            .await?;
        Ok(())
    }

    /// A server's interfaces in Nova's order (the guest's NIC order).
    pub async fn interfaces(&self, server_id: &str) -> Result<Vec<Interface>> {
        let v: Value = self
            .req(Method::GET, format!("servers/{server_id}/os-interface"))
            .call("GET /servers/{id}/os-interface")
            .resource(format!("server {server_id}"))
            .send_json()
            .await?;
        let items = v
            .get("interfaceAttachments")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        parse_items(self.c, "GET /servers/{id}/os-interface", items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::sample;

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
}
