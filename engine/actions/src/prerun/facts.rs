//! Read-only facts about a site for the pre-run checks of `lifeboat plan
//! --resolve`: every server with its tags and metadata, the volume types and
//! their extra specs, a group type and its group specs, an existing group's
//! volume types, the block-storage absolute limits and the compute API's
//! extension aliases. Every call here is a GET: nothing is changed.
//!
//! The answers are plain data; deciding what is a problem is the checks'
//! (each bound beside its action, see [`crate::prerun`]).

use crate::OpenStackActions;
use lifeboat_openstack::{ErrorKind, Service};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;

/// A server as the checks need it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerFacts {
    pub id: String,
    pub name: String,
    pub tags: Vec<String>,
    pub metadata: BTreeMap<String, String>,
}

/// A volume type or group type and its specs.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeFacts {
    pub id: String,
    pub name: String,
    pub specs: BTreeMap<String, String>,
}

/// An existing volume group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupFacts {
    pub volume_types: Vec<String>,
    pub volumes: Vec<String>,
}

/// Block-storage absolute limits (`None` = unlimited, -1 on the wire).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VolumeLimits {
    pub max_volumes: Option<u64>,
    pub used_volumes: u64,
    pub max_gigabytes: Option<u64>,
    pub used_gigabytes: u64,
}

fn specs(v: &Value, key: &str) -> BTreeMap<String, String> {
    v.get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn s(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl OpenStackActions {
    fn site_client(&self, site: &str) -> Result<&lifeboat_openstack::Client, String> {
        self.client(site).map_err(|e| e.to_string())
    }

    /// Every server at `site` (all pages), whatever its tags.
    pub async fn prerun_servers(&self, site: &str) -> Result<Vec<ServerFacts>, String> {
        let c = self.site_client(site)?;
        let items = c
            .request(Service::Compute, Method::GET, "servers/detail")
            .microversion("2.26")
            .call("GET /servers/detail")
            .resource("servers")
            .send_paged("servers")
            .await
            .map_err(|e| e.to_string())?;
        Ok(items
            .iter()
            .map(|v| ServerFacts {
                id: s(v, "id"),
                name: s(v, "name"),
                tags: v
                    .get("tags")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| t.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                metadata: specs(v, "metadata"),
            })
            .collect())
    }

    /// Every volume type at `site` with its extra specs.
    pub async fn prerun_volume_types(&self, site: &str) -> Result<Vec<TypeFacts>, String> {
        let c = self.site_client(site)?;
        let v: Value = c
            .request(Service::BlockStorage, Method::GET, "types")
            .microversion(lifeboat_openstack::cinder::MV_VOLUMES)
            .call("GET /types")
            .resource("volume types")
            .send_json()
            .await
            .map_err(|e| e.to_string())?;
        Ok(v.get("volume_types")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|t| TypeFacts {
                id: s(t, "id"),
                name: s(t, "name"),
                specs: specs(t, "extra_specs"),
            })
            .collect())
    }

    /// A group type by name or id, or the default one when `name` is empty;
    /// `None` when the site has no such group type.
    pub async fn prerun_group_type(
        &self,
        site: &str,
        name: &str,
    ) -> Result<Option<TypeFacts>, String> {
        let c = self.site_client(site)?;
        let mv = lifeboat_openstack::cinder::MV_GROUPS;
        if name.is_empty() {
            match c
                .request(Service::BlockStorage, Method::GET, "group_types/default")
                .microversion(mv)
                .call("GET /group_types/default")
                .resource("default group type")
                .send_json::<Value>()
                .await
            {
                Ok(v) => {
                    if let Some(t) = v.get("group_type").filter(|t| t.is_object()) {
                        return Ok(Some(TypeFacts {
                            id: s(t, "id"),
                            name: s(t, "name"),
                            specs: specs(t, "group_specs"),
                        }));
                    }
                }
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let v: Value = c
            .request(Service::BlockStorage, Method::GET, "group_types")
            .microversion(mv)
            .call("GET /group_types")
            .resource("group types")
            .send_json()
            .await
            .map_err(|e| e.to_string())?;
        let all: Vec<TypeFacts> = v
            .get("group_types")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|t| TypeFacts {
                id: s(t, "id"),
                name: s(t, "name"),
                specs: specs(t, "group_specs"),
            })
            .collect();
        Ok(if name.is_empty() {
            all.into_iter().next()
        } else {
            all.into_iter().find(|t| t.name == name || t.id == name)
        })
    }

    /// The group named `name` at `site`, if it exists: its volume types
    /// (ids) and member volumes (ids).
    pub async fn prerun_group(&self, site: &str, name: &str) -> Result<Option<GroupFacts>, String> {
        let c = self.site_client(site)?;
        let items = c
            .request(Service::BlockStorage, Method::GET, "groups/detail")
            .microversion(lifeboat_openstack::cinder::MV_GROUPS)
            .query("list_volume", "True")
            .call("GET /groups/detail")
            .resource("groups")
            .send_paged("groups")
            .await
            .map_err(|e| e.to_string())?;
        let ids = |g: &Value, k: &str| {
            g.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(items
            .iter()
            .find(|g| {
                s(g, "name") == name
                    && !s(g, "status").starts_with("error")
                    && s(g, "status") != "deleting"
            })
            .map(|g| GroupFacts {
                volume_types: ids(g, "volume_types"),
                volumes: ids(g, "volumes"),
            }))
    }

    /// The block-storage absolute limits of the project at `site`.
    pub async fn prerun_volume_limits(&self, site: &str) -> Result<VolumeLimits, String> {
        let c = self.site_client(site)?;
        let a = c.cinder().limits().await.map_err(|e| e.to_string())?;
        let max = |k: &str| {
            a.get(k)
                .and_then(Value::as_i64)
                .and_then(|n| u64::try_from(n).ok())
        };
        let used = |k: &str| a.get(k).and_then(Value::as_u64).unwrap_or(0);
        Ok(VolumeLimits {
            max_volumes: max("maxTotalVolumes"),
            used_volumes: used("totalVolumesUsed"),
            max_gigabytes: max("maxTotalVolumeGigabytes"),
            used_gigabytes: used("totalGigabytesUsed"),
        })
    }

    /// The aliases the compute API lists under `GET /extensions`; `None`
    /// when it has no such listing (404).
    pub async fn prerun_compute_extensions(
        &self,
        site: &str,
    ) -> Result<Option<Vec<String>>, String> {
        let c = self.site_client(site)?;
        match c
            .request(Service::Compute, Method::GET, "extensions")
            .call("GET /extensions")
            .resource("extensions")
            .send_json::<Value>()
            .await
        {
            Ok(v) => Ok(Some(
                v.get("extensions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|e| s(e, "alias"))
                    .collect(),
            )),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}
