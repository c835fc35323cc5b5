//! Networks: list, and a name (or id) turned into the id Nova's boot needs.

use crate::catalog::Service;
use crate::error::{Error, ErrorKind, Result};
use crate::http::Client;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
pub struct Network {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "router:external", default)]
    pub external: bool,
    #[serde(default)]
    pub subnets: Vec<String>,
}

impl super::Neutron<'_> {
    /// The networks matching `filters` (e.g. `[("name", "mgmt")]`).
    pub async fn networks(&self, filters: &[(&str, &str)]) -> Result<Vec<Network>> {
        self.list("networks", "networks", filters).await
    }
}

impl Client {
    /// The id of the network named `name` (or `name` itself when it is
    /// already an id of a network).
    pub async fn network_id(&self, name: &str) -> Result<String> {
        let v: Value = self
            .request(Service::Network, Method::GET, "networks")
            .query("name", name)
            .call("GET /v2.0/networks?name=")
            .resource(format!("network {name:?}"))
            .send_json()
            .await?;
        let nets = v
            .get("networks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        match nets.as_slice() {
            [one] => one
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Decode,
                        "neutron GET /v2.0/networks",
                        name,
                        self.site(),
                        "network without id",
                    )
                }),
            [] => {
                let by_id: Result<Value> = self
                    .request(Service::Network, Method::GET, format!("networks/{name}"))
                    .call("GET /v2.0/networks/{id}")
                    .resource(format!("network {name:?}"))
                    .send_json()
                    .await;
                match by_id {
                    Ok(_) => Ok(name.to_string()),
                    Err(_) => Err(Error::new(
                        ErrorKind::NotFound,
                        "neutron GET /v2.0/networks?name=",
                        format!("network {name:?}"),
                        self.site(),
                        "no network of that name or id",
                    )),
                }
            }
            _ => Err(Error::new(
                ErrorKind::BadRequest,
                "neutron GET /v2.0/networks?name=",
                format!("network {name:?}"),
                self.site(),
                format!("{} networks carry that name; use the id", nets.len()),
            )),
        }
    }
}
