//! The Keystone service catalogue: finding a service's endpoint by type
//! (with the block-storage aliases `block-storage`, `volumev3`, `volume`),
//! region and interface, and filling in `{project_id}`, `%(tenant_id)s` and
//! `$(project_id)s` placeholders.

use crate::config::Interface;
use crate::error::{Error, ErrorKind, Result};
use serde::Deserialize;

/// One catalogue entry (Keystone v3 `token.catalog[]`).
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogEntry {
    #[serde(rename = "type")]
    pub service_type: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    pub url: String,
    pub interface: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub region_id: Option<String>,
}

/// The services Lifeboat talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Identity,
    Compute,
    BlockStorage,
    Image,
    ObjectStore,
    Network,
    Dns,
}

impl Service {
    /// Catalogue types that stand for the service, preferred first.
    pub fn catalog_types(&self) -> &'static [&'static str] {
        match self {
            Service::Identity => &["identity"],
            Service::Compute => &["compute"],
            Service::BlockStorage => &["block-storage", "volumev3", "volume"],
            Service::Image => &["image"],
            Service::ObjectStore => &["object-store"],
            Service::Network => &["network"],
            Service::Dns => &["dns"],
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Service::Identity => "keystone",
            Service::Compute => "nova",
            Service::BlockStorage => "cinder",
            Service::Image => "glance",
            Service::ObjectStore => "swift",
            Service::Network => "neutron",
            Service::Dns => "designate",
        }
    }

    /// The version path the client speaks, appended when the catalogue gives
    /// an unversioned root.
    fn version_path(&self) -> Option<&'static str> {
        match self {
            Service::Compute => Some("v2.1"),
            Service::BlockStorage => Some("v3"),
            Service::Image => Some("v2"),
            Service::Network => Some("v2.0"),
            Service::Dns => Some("v2"),
            Service::Identity => Some("v3"),
            Service::ObjectStore => None,
        }
    }
}

/// Find the endpoint URL (no trailing slash) of `service` in `region`.
pub fn endpoint_for(
    catalog: &[CatalogEntry],
    service: Service,
    region: Option<&str>,
    interface: Interface,
    project_id: &str,
    site: &str,
) -> Result<String> {
    for ty in service.catalog_types() {
        for entry in catalog.iter().filter(|e| e.service_type == *ty) {
            let found = entry.endpoints.iter().find(|ep| {
                ep.interface
                    .trim_end_matches("URL")
                    .eq_ignore_ascii_case(interface.as_str())
                    && match region {
                        None => true,
                        Some(r) => {
                            ep.region_id.as_deref() == Some(r) || ep.region.as_deref() == Some(r)
                        }
                    }
            });
            if let Some(ep) = found {
                return Ok(normalize(&ep.url, service, project_id));
            }
        }
    }
    let regions: Vec<String> = catalog
        .iter()
        .filter(|e| service.catalog_types().contains(&e.service_type.as_str()))
        .flat_map(|e| {
            e.endpoints.iter().map(|ep| {
                format!(
                    "{}/{}",
                    ep.region_id
                        .clone()
                        .or(ep.region.clone())
                        .unwrap_or_default(),
                    ep.interface
                )
            })
        })
        .collect();
    Err(Error::new(
        ErrorKind::Catalog,
        "catalogue lookup",
        format!(
            "service {} ({})",
            service.name(),
            service.catalog_types().join("/")
        ),
        site,
        format!(
            "no {} endpoint in region {}; the catalogue offers [{}]",
            interface.as_str(),
            region.unwrap_or("(any)"),
            regions.join(", ")
        ),
    ))
}

fn normalize(url: &str, service: Service, project_id: &str) -> String {
    let mut u = url
        .replace("%(tenant_id)s", project_id)
        .replace("%(project_id)s", project_id)
        .replace("$(tenant_id)s", project_id)
        .replace("$(project_id)s", project_id)
        .replace("{project_id}", project_id)
        .replace("{tenant_id}", project_id);
    while u.ends_with('/') {
        u.pop();
    }
    if let Some(v) = service.version_path() {
        // Unversioned roots (`http://h:9292`, devstack's `http://h/image`)
        // get the version the client speaks.
        let path = url::Url::parse(&u)
            .map(|p| p.path().to_string())
            .unwrap_or_default();
        let major = v.split('.').next().unwrap_or(v);
        let versioned = path.split('/').any(|seg| {
            seg == v
                || seg == major
                || (seg.starts_with(major) && seg[major.len()..].starts_with('.'))
        });
        if !versioned {
            u = format!("{u}/{v}");
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<CatalogEntry> {
        serde_json::from_value(serde_json::json!([
            {"type": "volumev3", "endpoints": [
                {"url": "http://c:8776/v3/%(tenant_id)s", "interface": "public", "region_id": "RegionOne", "region": "RegionOne"},
                {"url": "http://c2:8776/v3/$(project_id)s", "interface": "public", "region_id": "RegionTwo"}]},
            {"type": "compute", "endpoints": [{"url": "http://n:8774/", "interface": "internal", "region_id": "RegionOne"}]},
            {"type": "image", "endpoints": [{"url": "http://g:9292", "interface": "public", "region_id": "RegionOne"}]}
        ]))
        .unwrap()
    }

    #[test]
    fn aliases_regions_and_placeholders() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        let c = sample();
        assert_eq!(
            endpoint_for(
                &c,
                Service::BlockStorage,
                Some("RegionOne"),
                Interface::Public,
                "p1",
                "a"
            )
            .unwrap(),
            "http://c:8776/v3/p1"
        );
        assert_eq!(
            endpoint_for(
                &c,
                Service::BlockStorage,
                Some("RegionTwo"),
                Interface::Public,
                "p1",
                "b"
            )
            .unwrap(),
            "http://c2:8776/v3/p1"
        );
        assert_eq!(
            endpoint_for(
                &c,
                Service::Compute,
                Some("RegionOne"),
                Interface::Internal,
                "p1",
                "a"
            )
            .unwrap(),
            "http://n:8774/v2.1"
        );
        assert_eq!(
            endpoint_for(&c, Service::Image, None, Interface::Public, "p1", "a").unwrap(),
            "http://g:9292/v2"
        );
        assert_eq!(
            normalize("http://h/image", Service::Image, "p"),
            "http://h/image/v2"
        );
        assert_eq!(
            normalize("http://h/compute/v2.1", Service::Compute, "p"),
            "http://h/compute/v2.1"
        );
        assert_eq!(
            normalize("http://h/compute/v2", Service::Compute, "p"),
            "http://h/compute/v2"
        );
        assert_eq!(
            normalize(
                "http://h/volume/v3/{project_id}",
                Service::BlockStorage,
                "p"
            ),
            "http://h/volume/v3/p"
        );
        assert_eq!(
            normalize(
                "http://h/object/v1/AUTH_%(tenant_id)s",
                Service::ObjectStore,
                "p"
            ),
            "http://h/object/v1/AUTH_p"
        );
        let e = endpoint_for(
            &c,
            Service::Compute,
            Some("RegionOne"),
            Interface::Public,
            "p1",
            "a",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("RegionOne/internal") && e.contains("nova"),
            "{e}"
        );
    }

    #[test]
    fn keystone_sample_catalogue_parses() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/openstack-api-samples/keystone/admin/auth-password-project-scoped-response.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let c: Vec<CatalogEntry> = serde_json::from_value(v["token"]["catalog"].clone()).unwrap();
        assert!(!c.is_empty());
        assert!(endpoint_for(
            &c,
            Service::Identity,
            Some("RegionOne"),
            Interface::Public,
            "p",
            "a"
        )
        .is_ok());
    }
}
