//! Nova calls (compute v2.1). Microversion 2.96 (the newest a current Nova
//! offers that Lifeboat needs) is pinned on every call: the `tags` filter
//! needs ≥ 2.26, createImage answers `image_id` from 2.45, the embedded flavor
//! with `original_name` comes from 2.47, `networks: "none"` needs ≥ 2.37.

use crate::catalog::Service;
use crate::error::{ErrorKind, Result};
use crate::http::Client;
use crate::types::nova::*;
use crate::types::requests::*;
use reqwest::Method;
use serde_json::{json, Value};

/// The compute microversion Lifeboat speaks.
pub const COMPUTE_MICROVERSION: &str = "2.96";

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

    /// createImage; the new image's id (2.45+ answers it in the body).
    pub async fn create_image(
        &self,
        id: &str,
        name: &str,
        metadata: &serde_json::Map<String, Value>,
    ) -> Result<String> {
        let r = self
            .req(Method::POST, format!("servers/{id}/action"))
            .json(to_value(&CreateImage {
                create_image: NameMeta { name, metadata },
            }))
            .call("POST /servers/{id}/action createImage")
            .resource(format!("server {id}"));
        let resp = r.send().await?;
        if let Ok(b) = serde_json::from_slice::<CreateImageBody>(&resp.body) {
            return Ok(b.image_id);
        }
        // Older microversions: the Location header ends in the image id.
        resp.header("location")
            .and_then(|l| l.rsplit('/').next().map(str::to_string))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                crate::error::Error::new(
                    ErrorKind::Decode,
                    "nova POST /servers/{id}/action createImage",
                    format!("server {id}"),
                    self.c.site(),
                    "the answer names no image (neither image_id nor Location)",
                )
            })
    }

    pub async fn flavors(&self) -> Result<Vec<Flavor>> {
        let items = self
            .req(Method::GET, "flavors/detail")
            .call("GET /flavors/detail")
            .resource("flavors")
            .send_paged("flavors")
            .await?;
        parse_items(self.c, "GET /flavors/detail", items)
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

impl Nova<'_> {
    /// The project's server groups (2.64+: `policy`).
    pub async fn server_groups(&self) -> Result<Vec<ServerGroup>> {
        let v: Value = self
            .req(Method::GET, "os-server-groups")
            .call("GET /os-server-groups")
            .resource("server groups")
            .send_json()
            .await?;
        let items = v
            .get("server_groups")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        parse_items(self.c, "GET /os-server-groups", items)
    }

    pub async fn create_server_group(&self, name: &str, policy: &str) -> Result<ServerGroup> {
        let v: Value = self
            .req(Method::POST, "os-server-groups")
            .json(json!({"server_group": {"name": name, "policy": policy}}))
            .call("POST /os-server-groups")
            .resource(format!("server group {name}"))
            .send_json()
            .await?;
        serde_json::from_value(v.get("server_group").cloned().unwrap_or_default()).map_err(|e| {
            crate::error::Error::new(
                ErrorKind::Decode,
                "nova POST /os-server-groups",
                name,
                self.c.site(),
                format!("unexpected answer: {e}"),
            )
        })
    }

    /// Delete a server group; one already gone counts as deleted.
    pub async fn delete_server_group(&self, id: &str) -> Result<()> {
        self.req(Method::DELETE, format!("os-server-groups/{id}"))
            .call("DELETE /os-server-groups/{id}")
            .resource(format!("server group {id}"))
            .send_delete()
            .await
    }

    /// The absolute limits and usage of the project (`maxTotalInstances`,
    /// `totalInstancesUsed`, `maxTotalCores`, …, `maxServerGroups`).
    pub async fn limits(&self) -> Result<serde_json::Map<String, Value>> {
        let v: Value = self
            .req(Method::GET, "limits")
            .call("GET /limits")
            .resource("compute limits")
            .send_json()
            .await?;
        Ok(v.pointer("/limits/absolute")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    /// The availability zones that take servers now (`zoneState.available`).
    pub async fn availability_zones(&self) -> Result<Vec<String>> {
        let v: Value = self
            .req(Method::GET, "os-availability-zone")
            .call("GET /os-availability-zone")
            .resource("availability zones")
            .send_json()
            .await?;
        Ok(v.get("availabilityZoneInfo")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|z| z.pointer("/zoneState/available").and_then(Value::as_bool) == Some(true))
            .filter_map(|z| {
                z.get("zoneName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect())
    }

    /// The user's key pairs (public halves).
    pub async fn keypairs(&self) -> Result<Vec<Keypair>> {
        let v: Value = self
            .req(Method::GET, "os-keypairs")
            .call("GET /os-keypairs")
            .resource("key pairs")
            .send_json()
            .await?;
        let items: Vec<Value> = v
            .get("keypairs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| k.get("keypair").cloned())
            .collect();
        parse_items(self.c, "GET /os-keypairs", items)
    }

    /// Import a public key under `name`.
    pub async fn import_keypair(
        &self,
        name: &str,
        public_key: &str,
        kind: &str,
    ) -> Result<Keypair> {
        let v: Value = self
            .req(Method::POST, "os-keypairs")
            .json(json!({"keypair": {"name": name, "public_key": public_key, "type": kind}}))
            .call("POST /os-keypairs")
            .resource(format!("key pair {name}"))
            .send_json()
            .await?;
        serde_json::from_value(v.get("keypair").cloned().unwrap_or_default()).map_err(|e| {
            crate::error::Error::new(
                ErrorKind::Decode,
                "nova POST /os-keypairs",
                name,
                self.c.site(),
                format!("unexpected answer: {e}"),
            )
        })
    }

    /// Delete a key pair; one already gone counts as deleted.
    pub async fn delete_keypair(&self, name: &str) -> Result<()> {
        self.req(Method::DELETE, format!("os-keypairs/{name}"))
            .call("DELETE /os-keypairs/{name}")
            .resource(format!("key pair {name}"))
            .send_delete()
            .await
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
