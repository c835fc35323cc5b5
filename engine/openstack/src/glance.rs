//! Glance calls (image v2).

use crate::catalog::Service;
use crate::error::Result;
use crate::http::Client;
use crate::nova::parse_items;
use crate::types::glance::Image;
use reqwest::Method;

pub struct Glance<'a> {
    c: &'a Client,
}

impl Client {
    pub fn glance(&self) -> Glance<'_> {
        Glance { c: self }
    }
}

impl Glance<'_> {
    pub async fn image(&self, id: &str) -> Result<Image> {
        self.c
            .request(Service::Image, Method::GET, format!("images/{id}"))
            .call("GET /v2/images/{id}")
            .resource(format!("image {id}"))
            .send_json()
            .await
    }

    /// Images with the exact name, every page.
    pub async fn images_named(&self, name: &str) -> Result<Vec<Image>> {
        let items = self
            .c
            .request(Service::Image, Method::GET, "images")
            .query("name", name)
            .call("GET /v2/images?name=")
            .resource(format!("images named {name:?}"))
            .send_paged("images")
            .await?;
        parse_items(self.c, "GET /v2/images", items)
    }

    pub async fn delete_image(&self, id: &str) -> Result<()> {
        self.c
            .request(Service::Image, Method::DELETE, format!("images/{id}"))
            .call("DELETE /v2/images/{id}")
            .resource(format!("image {id}"))
            .send()
            .await?;
        Ok(())
    }
}
