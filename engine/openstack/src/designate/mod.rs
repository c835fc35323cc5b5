//! Designate (DNS v2), one module per resource with its calls and result
//! types side by side: zones, recordsets. Lists follow every page
//! (`links.next`). Every change is asynchronous: the answer is `PENDING`,
//! and the caller waits for `ACTIVE` by showing the object again.

pub mod recordsets;
pub mod zones;

use crate::catalog::Service;
use crate::error::Result;
use crate::http::Client;
use reqwest::Method;
use serde::de::DeserializeOwned;

pub use recordsets::RecordSet;
pub use zones::Zone;

pub struct Designate<'a> {
    pub(crate) c: &'a Client,
}

impl Client {
    pub fn designate(&self) -> Designate<'_> {
        Designate { c: self }
    }
}

impl<'a> Designate<'a> {
    pub(crate) fn req(&self, method: Method, path: impl Into<String>) -> crate::http::Request<'a> {
        self.c.request(Service::Dns, method, path)
    }

    /// Every item of a collection matching `filters` (every page).
    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        filters: &[(&str, &str)],
    ) -> Result<Vec<T>> {
        let call = format!("GET /v2/{path}");
        let mut r = self.req(Method::GET, path).call(&call).resource(key);
        for (k, v) in filters {
            r = r.query(k, *v);
        }
        let items = r.send_paged(key).await?;
        crate::nova::parse_items(self.c, &call, items)
    }
}
