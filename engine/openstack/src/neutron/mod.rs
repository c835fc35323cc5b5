//! Neutron (networking v2.0), one module per resource with its calls and
//! result types side by side: networks, subnets, ports, security groups,
//! floating IPs, quotas. Lists follow every page (`<key>_links`).

pub mod floating_ips;
pub mod networks;
pub mod ports;
pub mod quotas;
pub mod security_groups;
pub mod subnets;

use crate::catalog::Service;
use crate::error::{ErrorKind, Result};
use crate::http::Client;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Ids one list asks for (`device_id=…&device_id=…`, `id=…`): 40 keep the
/// URL under 2 KB, well within what API proxies accept.
const IDS_PER_REQUEST: usize = 40;

pub use floating_ips::FloatingIp;
pub use networks::Network;
pub use ports::{AddressPair, FixedIp, Port, PortSpec};
pub use security_groups::{Rule, RuleSpec, SecurityGroup};
pub use subnets::{AllocationPool, Subnet};

pub struct Neutron<'a> {
    pub(crate) c: &'a Client,
}

impl Client {
    pub fn neutron(&self) -> Neutron<'_> {
        Neutron { c: self }
    }
}

impl<'a> Neutron<'a> {
    pub(crate) fn req(&self, method: Method, path: impl Into<String>) -> crate::http::Request<'a> {
        self.c.request(Service::Network, method, path)
    }

    /// Every item of a collection matching `filters` (every page).
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        collection: &str,
        key: &str,
        filters: &[(&str, &str)],
    ) -> Result<Vec<T>> {
        let mut r = self
            .req(Method::GET, collection)
            .call(format!("GET /v2.0/{collection}"))
            .resource(collection.replace('-', " "));
        for (k, v) in filters {
            r = r.query(k, *v);
        }
        let items = r.send_paged(key).await?;
        crate::nova::parse_items(self.c, &format!("GET /v2.0/{collection}"), items)
    }

    /// The items of `collection` whose `field` is any of `values`, asked
    /// for a batch of values at a time (`field` repeated: Neutron matches
    /// any of them), never the whole collection.
    pub(crate) async fn list_any_of<T: DeserializeOwned>(
        &self,
        collection: &str,
        key: &str,
        field: &str,
        values: &[&str],
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for batch in values.chunks(IDS_PER_REQUEST) {
            let filters: Vec<(&str, &str)> = batch.iter().map(|v| (field, *v)).collect();
            out.extend(self.list(collection, key, &filters).await?);
        }
        Ok(out)
    }

    /// One object of the answer's `key`.
    pub(crate) fn one<T: DeserializeOwned>(&self, call: &str, key: &str, v: Value) -> Result<T> {
        let item = v.get(key).cloned().unwrap_or(Value::Null);
        serde_json::from_value(item).map_err(|e| {
            crate::error::Error::new(
                ErrorKind::Decode,
                format!("neutron {call}"),
                key,
                self.c.site(),
                format!("unexpected answer: {e}"),
            )
        })
    }
}
