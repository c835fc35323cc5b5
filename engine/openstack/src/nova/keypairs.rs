//! Key pairs: list (public halves), import, delete.

use super::*;
use serde::Deserialize;

/// A key pair's public half.
#[derive(Debug, Clone, Deserialize)]
pub struct Keypair {
    pub name: String,
    #[serde(default)]
    pub public_key: String,
    #[serde(rename = "type", default)]
    pub kind: String,
}

impl Nova<'_> {
    /// The user's key pairs (public halves), every page: from 2.35 Nova
    /// answers at most its `max_limit` (1,000) a request and links to the
    /// next page.
    pub async fn keypairs(&self) -> Result<Vec<Keypair>> {
        let items: Vec<Value> = self
            .req(Method::GET, "os-keypairs")
            .call("GET /os-keypairs")
            .resource("key pairs")
            .send_paged("keypairs")
            .await?
            .into_iter()
            .filter_map(|mut k| k.get_mut("keypair").map(Value::take))
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
}
