//! Flavors: the list, with sizes and extra specs.

use super::*;
use serde::Deserialize;

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

impl Nova<'_> {
    pub async fn flavors(&self) -> Result<Vec<Flavor>> {
        let items = self
            .req(Method::GET, "flavors/detail")
            .call("GET /flavors/detail")
            .resource("flavors")
            .send_paged("flavors")
            .await?;
        parse_items(self.c, "GET /flavors/detail", items)
    }
}
