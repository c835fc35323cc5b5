//! Images of servers: createImage (of a volume-backed server, an image
//! naming the volumes' snapshots).

use super::*;
use crate::types::Meta;
use serde::{Deserialize, Serialize};

/// `POST /servers/{id}/action` createImage.
#[derive(Debug, Clone, Serialize)]
pub struct CreateImage<'a> {
    #[serde(rename = "createImage")]
    pub create_image: NameMeta<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NameMeta<'a> {
    pub name: &'a str,
    pub metadata: &'a Meta,
}

/// createImage at 2.45+: `{"image_id": …}`.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateImageBody {
    pub image_id: String,
}

impl Nova<'_> {
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
}
