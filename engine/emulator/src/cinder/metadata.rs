//! Cinder's metadata sub-resources, shared by volumes and snapshots
//! (`/volumes/{id}/metadata[/{key}]`, `/snapshots/{id}/metadata[/{key}]`):
//! GET the map, POST merges (200 with the whole merged map), PUT replaces,
//! and the item calls GET/PUT/DELETE one key (`{"meta": {key: value}}`).
//! Values must be strings, as Cinder's schema requires.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use super::nf;
use crate::errors::{bad_request, not_found, Flavor as F, Reply};
use crate::routing::Ctx;
use crate::world::World;

/// What a call on the whole map does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapOp {
    Get,
    /// `POST`: add or update the given keys, keep the others.
    Merge,
    /// `PUT`: the given keys become the whole map.
    Replace,
}

/// What a call on one key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemOp {
    Get,
    Put,
    Delete,
}

/// A metadata map from a request body: an object whose values are strings.
pub fn string_map(v: Option<&Value>) -> Result<Map<String, Value>, axum::response::Response> {
    match v {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => {
            for (k, val) in m {
                if k.is_empty() || k.len() > 255 {
                    return Err(bad_request(F::Cinder, format!("Invalid input received: metadata key '{k}' must be 1 to 255 characters")));
                }
                if !val.is_string() {
                    return Err(bad_request(
                        F::Cinder,
                        format!("Invalid input received: metadata value of {k} must be a string"),
                    ));
                }
            }
            Ok(m.clone())
        }
        Some(_) => Err(bad_request(
            F::Cinder,
            "Invalid input received: metadata must be a dictionary",
        )),
    }
}

/// `GET|POST|PUT …/{id}/metadata` on the map `get` finds (`what` names the owner in a 404).
pub fn on_map(
    ctx: &Ctx,
    op: MapOp,
    what: &str,
    id: &str,
    get: impl FnOnce(&mut World) -> Option<&mut Map<String, Value>>,
) -> Reply {
    let given = if op == MapOp::Get {
        None
    } else {
        let body = ctx.json(F::Cinder)?;
        if body.get("metadata").is_none() {
            return Err(bad_request(
                F::Cinder,
                "Malformed request body: 'metadata' is a required property",
            ));
        }
        Some(string_map(body.get("metadata"))?)
    };
    let mut w = ctx.shared.lock();
    let m = get(&mut w).ok_or_else(|| nf(what, id))?;
    match (op, given) {
        (MapOp::Replace, Some(given)) => *m = given,
        (MapOp::Merge, Some(given)) => m.extend(given),
        _ => {}
    }
    Ok(Json(json!({"metadata": m})).into_response())
}

/// Cinder's VolumeMetadataNotFound / SnapshotMetadataNotFound (404).
fn no_key(what: &str, id: &str, key: &str) -> axum::response::Response {
    not_found(
        F::Cinder,
        format!("{what} {id} has no metadata with key {key}."),
    )
}

/// `GET|PUT|DELETE …/{id}/metadata/{key}`.
pub fn on_item(
    ctx: &Ctx,
    op: ItemOp,
    what: &str,
    id: &str,
    key: &str,
    get: impl FnOnce(&mut World) -> Option<&mut Map<String, Value>>,
) -> Reply {
    let given = if op == ItemOp::Put {
        let body = ctx.json(F::Cinder)?;
        let Some(meta) = body.get("meta") else {
            return Err(bad_request(
                F::Cinder,
                "Malformed request body: 'meta' is a required property",
            ));
        };
        let m = string_map(Some(meta))?;
        if m.len() > 1 {
            return Err(bad_request(
                F::Cinder,
                "Request body contains too many items",
            ));
        }
        if !m.contains_key(key) {
            return Err(bad_request(F::Cinder, "Request body and URI mismatch"));
        }
        Some(m)
    } else {
        None
    };
    let mut w = ctx.shared.lock();
    let m = get(&mut w).ok_or_else(|| nf(what, id))?;
    match op {
        ItemOp::Get => match m.get(key) {
            Some(val) => Ok(Json(json!({"meta": {key: val}})).into_response()),
            None => Err(no_key(what, id, key)),
        },
        ItemOp::Delete => match m.remove(key) {
            Some(_) => Ok(StatusCode::OK.into_response()),
            None => Err(no_key(what, id, key)),
        },
        ItemOp::Put => {
            let given = given.unwrap_or_default();
            m.extend(given.clone());
            Ok(Json(json!({"meta": given})).into_response())
        }
    }
}
