//! API microversions: parsing `OpenStack-API-Version: <service> X.Y` (and the
//! legacy `X-OpenStack-Nova-API-Version` / `X-OpenStack-Volume-API-Version`),
//! range checks (406 outside), and echoing the chosen version with `Vary`.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use crate::errors::{error, Flavor};

/// A microversion `major.minor`, ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mv(pub u16, pub u16);

impl Mv {
    pub fn parse(s: &str) -> Option<Mv> {
        let (a, b) = s.trim().split_once('.')?;
        Some(Mv(a.parse().ok()?, b.parse().ok()?))
    }
    pub fn at_least(self, major: u16, minor: u16) -> bool {
        self >= Mv(major, minor)
    }
}

impl std::fmt::Display for Mv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

pub const NOVA_MIN: Mv = Mv(2, 1);
pub const NOVA_MAX: Mv = Mv(2, 96);
pub const CINDER_MIN: Mv = Mv(3, 0);
pub const CINDER_MAX: Mv = Mv(3, 71);

/// The service name used in the header (`compute`, `volume`).
fn service_of(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Cinder => "volume",
        _ => "compute",
    }
}

/// The requested version: absent → the minimum; `latest` → the maximum;
/// malformed or out of range → 400/406 in the service's format.
pub fn negotiate(headers: &HeaderMap, flavor: Flavor) -> Result<Mv, Response> {
    let (min, max, legacy) = match flavor {
        Flavor::Cinder => (CINDER_MIN, CINDER_MAX, "x-openstack-volume-api-version"),
        _ => (NOVA_MIN, NOVA_MAX, "x-openstack-nova-api-version"),
    };
    let svc = service_of(flavor);
    let mut requested: Option<String> = None;
    for v in headers.get_all("openstack-api-version") {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(',') {
            let mut it = part.split_whitespace();
            if let (Some(name), Some(ver)) = (it.next(), it.next()) {
                if name.eq_ignore_ascii_case(svc) {
                    requested = Some(ver.to_string());
                }
            }
        }
    }
    if requested.is_none() {
        if let Some(v) = headers.get(legacy).and_then(|v| v.to_str().ok()) {
            requested = Some(v.trim().to_string());
        }
    }
    let Some(req) = requested else { return Ok(min) };
    if req.eq_ignore_ascii_case("latest") {
        return Ok(max);
    }
    let Some(mv) = Mv::parse(&req) else {
        return Err(error(
            flavor,
            StatusCode::BAD_REQUEST,
            format!("API Version String {req} is of invalid format. Must be of format MajorNum.MinorNum."),
        ));
    };
    if mv < min || mv > max {
        return Err(error(
            flavor,
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {mv} is not supported by the API. Minimum is {min} and maximum is {max}."
            ),
        ));
    }
    Ok(mv)
}

/// Echo the version in the response headers as the real services do.
pub fn stamp(resp: &mut Response, flavor: Flavor, mv: Mv) {
    let svc = service_of(flavor);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("{svc} {mv}")) {
        h.insert("openstack-api-version", v);
    }
    let legacy = match flavor {
        Flavor::Cinder => "x-openstack-volume-api-version",
        _ => "x-openstack-nova-api-version",
    };
    if let Ok(v) = HeaderValue::from_str(&mv.to_string()) {
        h.insert(legacy, v);
    }
    let vary = match flavor {
        Flavor::Cinder => "OpenStack-API-Version",
        _ => "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    };
    h.insert("vary", HeaderValue::from_static(vary));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert_eq!(Mv::parse("2.26"), Some(Mv(2, 26)));
        assert!(Mv(2, 47) > Mv(2, 9));
        assert_eq!(Mv::parse("2"), None);
        assert_eq!(Mv::parse("a.b"), None);
    }

    #[test]
    fn negotiates_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(negotiate(&h, Flavor::Nova).ok(), Some(NOVA_MIN));
        h.insert(
            "openstack-api-version",
            HeaderValue::from_static("compute 2.47"),
        );
        assert_eq!(negotiate(&h, Flavor::Nova).ok(), Some(Mv(2, 47)));
        h.insert(
            "openstack-api-version",
            HeaderValue::from_static("compute 2.200"),
        );
        assert!(negotiate(&h, Flavor::Nova).is_err());
        let mut h = HeaderMap::new();
        h.insert(
            "x-openstack-nova-api-version",
            HeaderValue::from_static("2.26"),
        );
        assert_eq!(negotiate(&h, Flavor::Nova).ok(), Some(Mv(2, 26)));
        let mut h = HeaderMap::new();
        h.insert(
            "openstack-api-version",
            HeaderValue::from_static("volume latest"),
        );
        assert_eq!(negotiate(&h, Flavor::Cinder).ok(), Some(CINDER_MAX));
    }
}
