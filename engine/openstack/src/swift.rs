//! Swift calls (object storage v1): containers and objects of the token's
//! account, container sync (`X-Container-Sync-To` / `-Key`), and the
//! cluster's `/info` (which sync realms and clusters it knows).

use crate::catalog::Service;
use crate::error::{ErrorKind, Result};
use crate::http::{Client, Response};
use crate::secret::Secret;
use reqwest::Method;
use serde::Deserialize;

pub struct Swift<'a> {
    c: &'a Client,
}

/// An object stored, as the PUT answered.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    pub etag: String,
    pub bytes: u64,
}

/// One entry of a container listing (`?format=json`).
#[derive(Debug, Clone, Deserialize)]
pub struct ObjectEntry {
    pub name: String,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub hash: String,
    #[serde(default)]
    pub last_modified: String,
}

/// A container as `HEAD` shows it to the account's owner: counts, sync
/// settings and metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerInfo {
    pub object_count: u64,
    pub bytes_used: u64,
    /// `X-Container-Sync-To`, empty when the container does not sync.
    pub sync_to: String,
    /// `X-Container-Sync-Key`: a secret, shown as `***`.
    pub sync_key: Secret,
    /// `X-Container-Meta-*`, names lower-cased without the prefix.
    pub meta: std::collections::BTreeMap<String, String>,
}

impl ContainerInfo {
    fn from_response(r: &Response) -> Self {
        let num = |h: &str| r.header(h).and_then(|v| v.parse().ok()).unwrap_or(0);
        ContainerInfo {
            object_count: num("x-container-object-count"),
            bytes_used: num("x-container-bytes-used"),
            sync_to: r.header("x-container-sync-to").unwrap_or_default(),
            sync_key: Secret::new(r.header("x-container-sync-key").unwrap_or_default()),
            meta: r
                .headers
                .iter()
                .filter_map(|(k, v)| {
                    k.as_str()
                        .strip_prefix("x-container-meta-")
                        .and_then(|n| v.to_str().ok().map(|v| (n.to_string(), v.to_string())))
                })
                .collect(),
        }
    }
}

/// The sync realms of a cluster, from `/info` (upper-case names, as Swift
/// gives them): realm → its clusters.
pub type SyncRealms = std::collections::BTreeMap<String, Vec<String>>;

impl Client {
    pub fn swift(&self) -> Swift<'_> {
        Swift { c: self }
    }
}

fn enc(s: &str) -> String {
    s.split('/')
        .map(|seg| {
            url::form_urlencoded::byte_serialize(seg.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Swift<'_> {
    pub async fn ensure_container(&self, container: &str) -> Result<()> {
        self.c
            .request(Service::ObjectStore, Method::PUT, enc(container))
            .call("PUT /v1/{account}/{container}")
            .resource(format!("container {container}"))
            .send()
            .await?;
        Ok(())
    }

    /// Store `content`, creating the container when needed.
    pub async fn put_object(
        &self,
        container: &str,
        name: &str,
        content: Vec<u8>,
        content_type: &str,
    ) -> Result<StoredObject> {
        let bytes = content.len() as u64;
        // Shared by both attempts below and each retry: never copied.
        let content = bytes::Bytes::from(content);
        let put = || {
            self.c
                .request(
                    Service::ObjectStore,
                    Method::PUT,
                    format!("{}/{}", enc(container), enc(name)),
                )
                .raw(content.clone(), content_type)
                .call("PUT /v1/{account}/{container}/{object}")
                .resource(format!("object {container}/{name}"))
        };
        let resp = match put().send().await {
            Err(e) if e.kind == ErrorKind::NotFound => {
                self.ensure_container(container).await?;
                put().send().await?
            }
            other => other?,
        };
        Ok(StoredObject {
            etag: resp
                .header("etag")
                .unwrap_or_default()
                .trim_matches('"')
                .to_string(),
            bytes,
        })
    }

    pub async fn get_object(&self, container: &str, name: &str) -> Result<Vec<u8>> {
        let r = self
            .c
            .request(
                Service::ObjectStore,
                Method::GET,
                format!("{}/{}", enc(container), enc(name)),
            )
            .call("GET /v1/{account}/{container}/{object}")
            .resource(format!("object {container}/{name}"))
            .send()
            .await?;
        Ok(r.body.into())
    }

    pub async fn delete_object(&self, container: &str, name: &str) -> Result<()> {
        self.c
            .request(
                Service::ObjectStore,
                Method::DELETE,
                format!("{}/{}", enc(container), enc(name)),
            )
            .call("DELETE /v1/{account}/{container}/{object}")
            .resource(format!("object {container}/{name}"))
            .send()
            .await?;
        Ok(())
    }

    /// `HEAD` a container: counts and sync settings.
    pub async fn container(&self, container: &str) -> Result<ContainerInfo> {
        let r = self
            .c
            .request(Service::ObjectStore, Method::HEAD, enc(container))
            .call("HEAD /v1/{account}/{container}")
            .resource(format!("container {container}"))
            .send()
            .await?;
        Ok(ContainerInfo::from_response(&r))
    }

    /// Set a container's sync key and, when given, its sync target (an
    /// empty one removes it). `create`: `PUT`, which makes a missing
    /// container; else `POST`, which a missing container refuses (404).
    pub async fn set_sync(
        &self,
        container: &str,
        sync_to: Option<&str>,
        key: &Secret,
        create: bool,
    ) -> Result<()> {
        let method = if create { Method::PUT } else { Method::POST };
        let call = if create {
            "PUT /v1/{account}/{container} sync"
        } else {
            "POST /v1/{account}/{container} sync"
        };
        let mut r = self
            .c
            .request(Service::ObjectStore, method, enc(container))
            .idempotent()
            .header("X-Container-Sync-Key", key.expose());
        if let Some(to) = sync_to {
            r = r.header("X-Container-Sync-To", to);
        }
        r.call(call)
            .resource(format!("container {container}"))
            .send()
            .await?;
        Ok(())
    }

    /// Set container metadata headers (`X-Container-Meta-…`; an empty value
    /// removes one).
    pub async fn set_meta(&self, container: &str, headers: &[(&str, &str)]) -> Result<()> {
        let mut r = self
            .c
            .request(Service::ObjectStore, Method::POST, enc(container))
            .idempotent();
        for (k, v) in headers {
            r = r.header(k, *v);
        }
        r.call("POST /v1/{account}/{container} metadata")
            .resource(format!("container {container}"))
            .send()
            .await?;
        Ok(())
    }

    /// The account's storage URL (`…/v1/AUTH_{project}`), as the catalogue
    /// gives it.
    pub async fn account_url(&self) -> Result<String> {
        self.c.endpoint(Service::ObjectStore).await
    }

    /// The container-sync realms this cluster knows (`GET /info`).
    pub async fn sync_realms(&self) -> Result<SyncRealms> {
        let account = self.account_url().await?;
        let root = account
            .find("/v1/")
            .map_or(account.as_str(), |i| &account[..i]);
        let v: serde_json::Value = self
            .c
            .request(Service::ObjectStore, Method::GET, format!("{root}/info"))
            .call("GET /info")
            .resource("cluster capabilities")
            .send_json()
            .await?;
        let mut out = SyncRealms::new();
        if let Some(realms) = v
            .pointer("/container_sync/realms")
            .and_then(|r| r.as_object())
        {
            for (realm, r) in realms {
                let clusters = r
                    .get("clusters")
                    .and_then(|c| c.as_object())
                    .map(|c| c.keys().cloned().collect())
                    .unwrap_or_default();
                out.insert(realm.to_ascii_uppercase(), clusters);
            }
        }
        Ok(out)
    }

    /// Objects under `prefix`, every page (marker-based).
    pub async fn list(&self, container: &str, prefix: &str) -> Result<Vec<ObjectEntry>> {
        let mut out: Vec<ObjectEntry> = Vec::new();
        loop {
            let mut r = self
                .c
                .request(Service::ObjectStore, Method::GET, enc(container))
                .query("format", "json")
                .query("prefix", prefix)
                .call("GET /v1/{account}/{container}")
                .resource(format!("container {container}"));
            if let Some(last) = out.last() {
                r = r.query("marker", last.name.clone());
            }
            let page: Vec<ObjectEntry> = r.send_json().await?;
            if page.is_empty() {
                break;
            }
            out.extend(page);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn object_names_are_encoded_per_segment() {
        assert_eq!(
            super::enc("vnf a/2026-01-01T00:00:00Z-r1.json"),
            "vnf%20a/2026-01-01T00%3A00%3A00Z-r1.json"
        );
    }
}
