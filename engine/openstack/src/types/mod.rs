//! Typed responses of the calls Lifeboat makes, lenient where real services
//! are (Cinder's `bootable: "false"`, nulls, strings `"null"`), and the
//! helpers that deserialize them.

pub mod cinder;
pub mod glance;
pub mod nova;
pub mod requests;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An OpenStack timestamp: RFC 3339 (`2026-12-02T10:00:00Z`) or, as Cinder
/// and Nova write them, without a zone and read as UTC
/// (`2026-12-02T10:00:00.000000`). `None` if neither.
pub fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// A bool that may arrive as `true`, `"true"`, `"True"` or null.
pub(crate) fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
        _ => false,
    })
}

/// A string that may arrive as null or `"null"` (Cinder's manage sample):
/// both become the empty string.
pub(crate) fn loose_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if s == "null" => String::new(),
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// Metadata values as strings (Glance and Swift may use non-strings).
pub(crate) fn string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k, s)
            })
            .collect(),
        _ => Default::default(),
    })
}

/// The official API samples beside the clone (`../shared/fixtures/…`), or
/// `None` with a one-line reason when they are not there (a clone with
/// nothing beside it); under CI their absence is a failure.
#[cfg(test)]
pub(crate) fn fixtures_or_skip() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(format!(
        "{}/../../../shared/fixtures/openstack-api-samples",
        env!("CARGO_MANIFEST_DIR")
    ));
    if p.is_dir() {
        return Some(p);
    }
    let under_ci = std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && v != "false")
        .unwrap_or(false);
    assert!(
        !under_ci,
        "the API samples are required under CI: {} is missing",
        p.display()
    );
    eprintln!(
        "skipping: the API samples are not beside this clone ({})",
        p.display()
    );
    None
}

#[cfg(test)]
pub(crate) fn sample(rel: &str) -> String {
    let p = format!(
        "{}/../../../shared/fixtures/openstack-api-samples/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}
