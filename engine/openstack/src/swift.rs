//! Swift calls (object storage v1): containers and objects of the token's
//! account.

use crate::catalog::Service;
use crate::error::{ErrorKind, Result};
use crate::http::Client;
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

impl Client {
    pub fn swift(&self) -> Swift<'_> {
        Swift { c: self }
    }
}

fn enc(s: &str) -> String {
    s.split('/').map(|seg| url::form_urlencoded::byte_serialize(seg.as_bytes()).collect::<String>().replace('+', "%20")).collect::<Vec<_>>().join("/")
}

impl Swift<'_> {
    pub async fn ensure_container(&self, container: &str) -> Result<()> {
        self.c.request(Service::ObjectStore, Method::PUT, enc(container)).call("PUT /v1/{account}/{container}").resource(format!("container {container}")).send().await?;
        Ok(())
    }

    /// Store `content`, creating the container when needed.
    pub async fn put_object(&self, container: &str, name: &str, content: Vec<u8>, content_type: &str) -> Result<StoredObject> {
        let bytes = content.len() as u64;
        let put = || {
            self.c
                .request(Service::ObjectStore, Method::PUT, format!("{}/{}", enc(container), enc(name)))
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
        Ok(StoredObject { etag: resp.header("etag").unwrap_or_default().trim_matches('"').to_string(), bytes })
    }

    pub async fn get_object(&self, container: &str, name: &str) -> Result<Vec<u8>> {
        let r = self.c.request(Service::ObjectStore, Method::GET, format!("{}/{}", enc(container), enc(name))).call("GET /v1/{account}/{container}/{object}").resource(format!("object {container}/{name}")).send().await?;
        Ok(r.body)
    }

    pub async fn delete_object(&self, container: &str, name: &str) -> Result<()> {
        self.c.request(Service::ObjectStore, Method::DELETE, format!("{}/{}", enc(container), enc(name))).call("DELETE /v1/{account}/{container}/{object}").resource(format!("object {container}/{name}")).send().await?;
        Ok(())
    }

    /// Objects under `prefix`, every page (marker-based).
    pub async fn list(&self, container: &str, prefix: &str) -> Result<Vec<ObjectEntry>> {
        let mut out: Vec<ObjectEntry> = Vec::new();
        loop {
            let mut r = self.c.request(Service::ObjectStore, Method::GET, enc(container)).query("format", "json").query("prefix", prefix).call("GET /v1/{account}/{container}").resource(format!("container {container}"));
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
        assert_eq!(super::enc("vnf a/2026-01-01T00:00:00Z-r1.json"), "vnf%20a/2026-01-01T00%3A00%3A00Z-r1.json");
    }
}
