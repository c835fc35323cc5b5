//! Version discovery: the microversion range a service offers (its root
//! document: Nova `{"versions": [...]}` / `{"version": {...}}`, Cinder's
//! `300 Multiple Choices`), so an action can say clearly that a cloud is too
//! old instead of failing on a 406.

use crate::catalog::Service;
use crate::error::{Error, ErrorKind, Result};
use crate::http::Client;
use serde_json::Value;

/// `"3.14"` → (3, 14).
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.trim().trim_start_matches('v').split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The (min, max) microversions in a version document, for `major`.
pub fn range_in(doc: &Value, major: u32) -> Option<(String, String)> {
    let entries: Vec<&Value> = match (doc.get("versions"), doc.get("version")) {
        (Some(Value::Array(a)), _) => a.iter().collect(),
        (Some(Value::Object(o)), _) => o
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        (_, Some(v)) => vec![v],
        _ => vec![],
    };
    entries.into_iter().find_map(|e| {
        let id = e.get("id").and_then(Value::as_str).unwrap_or_default();
        if parse_version(id).map(|(m, _)| m) != Some(major)
            && id.trim_start_matches('v') != major.to_string()
        {
            return None;
        }
        let max = e
            .get("version")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())?;
        let min = e
            .get("min_version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        Some((min, max.to_string()))
    })
}

impl Client {
    /// The microversion range of `service` (Compute 2.x, BlockStorage 3.x),
    /// `None` when the service publishes none.
    pub async fn microversion_range(&self, service: Service) -> Result<Option<(String, String)>> {
        let major = match service {
            Service::Compute => 2,
            Service::BlockStorage => 3,
            _ => return Ok(None),
        };
        if let Some(known) = self
            .versions
            .lock()
            .ok()
            .and_then(|m| m.get(&service).cloned())
        {
            return Ok(known);
        }
        let endpoint = self.endpoint(service).await?;
        let mut url = url::Url::parse(&endpoint).map_err(|e| {
            Error::new(
                ErrorKind::Catalog,
                "version discovery",
                service.name(),
                self.site(),
                format!("bad endpoint {endpoint}: {e}"),
            )
        })?;
        // The root: the path up to (not including) the version segment.
        let segs: Vec<String> = url
            .path_segments()
            .map(|s| s.map(str::to_string).collect())
            .unwrap_or_default();
        let cut = segs
            .iter()
            .position(|s| {
                s.starts_with('v') && s[1..].chars().next().is_some_and(|c| c.is_ascii_digit())
            })
            .unwrap_or(segs.len());
        url.set_path(&format!("{}/", segs[..cut].join("/")));
        let resp = self
            .request(service, reqwest::Method::GET, url.to_string())
            .call("GET / (version discovery)")
            .resource(format!("{} versions", service.name()))
            .send_any_status()
            .await?;
        let doc: Value = match serde_json::from_slice(&resp.body) {
            Ok(v) => v,
            Err(_) => return Ok(None),
        };
        let range = range_in(&doc, major);
        if let Ok(mut m) = self.versions.lock() {
            m.insert(service, range.clone());
        }
        Ok(range)
    }

    /// Does `service` offer microversion `wanted`? `true` when it publishes
    /// no range (then the call itself will tell).
    pub async fn supports_microversion(&self, service: Service, wanted: &str) -> Result<bool> {
        let Some((_, max)) = self.microversion_range(service).await? else {
            return Ok(true);
        };
        match (parse_version(&max), parse_version(wanted)) {
            (Some(m), Some(w)) => Ok(m >= w),
            _ => Ok(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rel: &str) -> Value {
        serde_json::from_str(&crate::types::sample(rel)).unwrap()
    }

    #[test]
    fn ranges_from_samples() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        assert_eq!(
            range_in(&sample("cinder/versions/version-show-response.json"), 3),
            Some(("3.0".into(), "3.71".into()))
        );
        let (min, max) = range_in(&sample("nova/versions/versions-get-resp.json"), 2).unwrap();
        assert_eq!(min, "2.1");
        assert!(parse_version(&max).unwrap() >= (2, 96), "{max}");
        let (_, max) = range_in(&sample("nova/versions/v21-version-get-resp.json"), 2).unwrap();
        assert!(parse_version(&max).is_some());
        assert_eq!(parse_version("3.14"), Some((3, 14)));
        assert!(parse_version("3.9") < parse_version("3.14"));
    }
}
