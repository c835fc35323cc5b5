//! Cinder (block storage API v3, microversions 3.0–3.71): version discovery
//! and the dispatcher. Paths are `/volume/v3/{project_id}/...`.

pub mod backups;
pub mod groups;
pub mod manage;
pub mod metadata;
pub mod quotas;
pub mod replication;
pub mod snapshots;
pub mod types;
pub mod volumes;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::body::{self_and_bookmark, Link};
use crate::errors::{error, not_found, Flavor as F, Reply};
use crate::microversion::{negotiate, stamp, Mv, CINDER_MAX, CINDER_MIN};
use crate::routing::Ctx;

fn version_value(base: &str) -> Value {
    json!({
        "id": "v3.0",
        "links": [{"href": "https://docs.openstack.org/", "rel": "describedby", "type": "text/html"}, {"href": format!("{base}/volume/v3/"), "rel": "self"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}],
        "min_version": CINDER_MIN.to_string(),
        "status": "CURRENT",
        "updated": "2022-08-31T00:00:00Z",
        "version": CINDER_MAX.to_string()
    })
}

pub fn versions(base: &str) -> Value {
    json!({"versions": [version_value(base)]})
}

pub fn version_doc(base: &str) -> Value {
    json!({"versions": [version_value(base)]})
}

pub(crate) fn nf(what: &str, id: &str) -> Response {
    not_found(F::Cinder, format!("{what} {id} could not be found."))
}

pub(crate) fn links(ctx: &Ctx, kind: &str, id: &str) -> [Link; 2] {
    let p = &ctx.token.project_id;
    self_and_bookmark(
        format!("{}/volume/v3/{p}/{kind}/{id}", ctx.base),
        format!("{}/volume/{p}/{kind}/{id}", ctx.base),
    )
}

/// Cinder's `osapi_max_limit`: the most items one list answers, whatever
/// `limit` asks.
pub(crate) const MAX_LIMIT: usize = 1000;

/// A list's `limit` as Cinder takes it (`_get_limit_param`): at most
/// [`MAX_LIMIT`], which is also the limit when none is asked; not an
/// integer, or negative, is its 400.
pub(crate) fn limit_param(ctx: &Ctx) -> Result<usize, Response> {
    let Some(l) = ctx.q("limit") else {
        return Ok(MAX_LIMIT);
    };
    match l.trim().parse::<i64>() {
        Err(_) => Err(crate::errors::bad_request(
            F::Cinder,
            "limit param must be an integer",
        )),
        Ok(n) if n < 0 => Err(crate::errors::bad_request(
            F::Cinder,
            "limit param must be positive",
        )),
        Ok(n) => Ok((n as usize).min(MAX_LIMIT)),
    }
}

/// Cinder's list order and paging over the already filtered `items`:
/// newest first (`created_at` descending; `asc` reverses it), those after
/// `marker`, at most `limit` (and never more than [`MAX_LIMIT`], asked or
/// not); returns the `*_links` value if more remain.
/// `seq` orders (creation order, unique), `id` names an item for the marker;
/// the next link keeps the request's filters and sort, as Cinder's does.
/// A page of a large list costs one pass, not a sort of the whole list.
pub(crate) fn paginate<T>(
    ctx: &Ctx,
    items: &mut Vec<&T>,
    seq: impl Fn(&T) -> u64,
    id: impl Fn(&T) -> &str,
    asc: bool,
    path: &str,
) -> Result<Option<Value>, Response> {
    // Ascending key = the order shown.
    let key = |x: &&T| if asc { seq(x) } else { u64::MAX - seq(x) };
    if let Some(marker) = ctx.q("marker") {
        let Some(m) = items.iter().find(|x| id(x) == marker).map(key) else {
            return Err(crate::errors::bad_request(
                F::Cinder,
                format!("Invalid input received: marker [{marker}] not found"),
            ));
        };
        items.retain(|x| key(x) > m);
    }
    let mut more = false;
    let limit = limit_param(ctx)?;
    if items.len() > limit {
        if limit > 0 {
            items.select_nth_unstable_by_key(limit - 1, key);
        }
        items.truncate(limit);
        more = true;
    }
    items.sort_unstable_by_key(key);
    match items.last() {
        Some(last) if more => {
            let href = format!(
                "{}/volume/v3/{}/{path}?{}",
                ctx.base,
                ctx.token.project_id,
                ctx.query_with_marker(id(last))
            );
            Ok(Some(json!([{"href": href, "rel": "next"}])))
        }
        _ => Ok(None),
    }
}

/// A list's `metadata` filter (`{"k": "v"}`; clients also send it with
/// single quotes), or the 400 Cinder answers when it is not a JSON object.
pub(crate) fn metadata_filter(ctx: &Ctx) -> Result<Option<Map<String, Value>>, Response> {
    let Some(m) = ctx.q("metadata") else {
        return Ok(None);
    };
    serde_json::from_str(m)
        .ok()
        .or_else(|| serde_json::from_str(&m.replace('\'', "\"")).ok())
        .map(Some)
        .ok_or_else(|| {
            crate::errors::bad_request(
                F::Cinder,
                format!("Invalid input received: metadata filter {m} is not a JSON object"),
            )
        })
}

/// A list's answer: the page's `items` under `key`, the next page's link
/// under `{key}_links`, and (3.45+, asked with `with_count=true`) how many
/// matched the filters before paging.
pub(crate) fn list_body(
    ctx: &Ctx,
    mv: Mv,
    key: &str,
    items: impl Serialize,
    next: Option<Value>,
    total: usize,
) -> Response {
    let count = (mv.at_least(3, 45)
        && ctx
            .q("with_count")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")))
    .then_some(total);
    Json(ListBody {
        key,
        items,
        next,
        count,
    })
    .into_response()
}

/// See [`list_body`].
struct ListBody<'a, T> {
    key: &'a str,
    items: T,
    next: Option<Value>,
    count: Option<usize>,
}

impl<T: Serialize> Serialize for ListBody<'_, T> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry(self.key, &self.items)?;
        if let Some(n) = &self.next {
            m.serialize_entry(&format!("{}_links", self.key), n)?;
        }
        if let Some(c) = self.count {
            m.serialize_entry("count", &c)?;
        }
        m.end()
    }
}

pub async fn handle(ctx: &mut Ctx) -> Response {
    let mv = match negotiate(&ctx.headers, F::Cinder) {
        Ok(mv) => mv,
        Err(r) => return r,
    };
    if ctx.seg(0) != "v3" {
        return not_found(F::Cinder, "The resource could not be found.");
    }
    ctx.segs.remove(0);
    if ctx.seg(0) != ctx.token.project_id {
        let msg = if ctx.segs.is_empty() {
            "The resource could not be found."
        } else {
            "Malformed request url"
        };
        return error(F::Cinder, StatusCode::BAD_REQUEST, msg);
    }
    ctx.segs.remove(0);
    let mut resp = match route(ctx, mv) {
        Ok(r) => r,
        Err(r) => r,
    };
    stamp(&mut resp, F::Cinder, mv);
    resp
}

fn need(mv: Mv, min: Mv) -> Result<(), Response> {
    if mv < min {
        return Err(not_found(F::Cinder, "The resource could not be found."));
    }
    Ok(())
}

fn map_op(m: &Method) -> metadata::MapOp {
    match *m {
        Method::PUT => metadata::MapOp::Replace,
        Method::POST => metadata::MapOp::Merge,
        _ => metadata::MapOp::Get,
    }
}

fn item_op(m: &Method) -> metadata::ItemOp {
    match *m {
        Method::PUT => metadata::ItemOp::Put,
        Method::DELETE => metadata::ItemOp::Delete,
        _ => metadata::ItemOp::Get,
    }
}

fn route(ctx: &Ctx, mv: Mv) -> Reply {
    let segs: Vec<&str> = ctx.segs.iter().map(|s| s.as_str()).collect();
    match (ctx.method.clone(), segs.as_slice()) {
        (Method::GET, ["volumes"]) => volumes::list(ctx, mv, false),
        (Method::GET, ["volumes", "detail"]) => volumes::list(ctx, mv, true),
        (Method::POST, ["volumes"]) => volumes::create(ctx, mv),
        (Method::GET, ["volumes", id]) => volumes::show(ctx, mv, id),
        (Method::PUT, ["volumes", id]) => volumes::update(ctx, mv, id),
        (Method::DELETE, ["volumes", id]) => volumes::delete(ctx, id),
        (Method::POST, ["volumes", id, "action"]) => volumes::action(ctx, mv, id),
        (m @ (Method::GET | Method::PUT | Method::POST), ["volumes", id, "metadata"]) => volumes::metadata(ctx, map_op(&m), id),
        (m @ (Method::GET | Method::PUT | Method::DELETE), ["volumes", id, "metadata", key]) => volumes::metadata_item(ctx, item_op(&m), id, key),
        (Method::GET, ["snapshots"]) => snapshots::list(ctx, mv, false),
        (Method::GET, ["snapshots", "detail"]) => snapshots::list(ctx, mv, true),
        (Method::POST, ["snapshots"]) => snapshots::create(ctx, mv),
        (Method::GET, ["snapshots", id]) => snapshots::show(ctx, mv, id),
        (Method::DELETE, ["snapshots", id]) => snapshots::delete(ctx, id),
        (Method::PUT, ["snapshots", id]) => snapshots::update(ctx, mv, id),
        (m @ (Method::GET | Method::PUT | Method::POST), ["snapshots", id, "metadata"]) => snapshots::metadata(ctx, map_op(&m), id),
        (m @ (Method::GET | Method::PUT | Method::DELETE), ["snapshots", id, "metadata", key]) => snapshots::metadata_item(ctx, item_op(&m), id, key),
        (Method::POST, ["snapshots", id, "action"]) => snapshots::action(ctx, id),
        (Method::GET, ["types"]) => types::list(ctx),
        (Method::GET, ["types", "default"]) => types::default_type(ctx),
        (Method::GET, ["types", id]) => types::show(ctx, id),
        (Method::GET, ["types", id, "extra_specs"]) => types::extra_specs(ctx, id),
        (Method::GET, ["group_types"]) => need(mv, Mv(3, 11)).and_then(|_| types::group_types(ctx)),
        (Method::GET, ["group_types", "default"]) => need(mv, Mv(3, 11)).and_then(|_| types::group_type(ctx, "default")),
        (Method::GET, ["group_types", id]) => need(mv, Mv(3, 11)).and_then(|_| types::group_type(ctx, id)),
        (Method::GET, ["group_types", id, "group_specs"]) => need(mv, Mv(3, 11)).and_then(|_| types::group_specs(ctx, id)),
        (Method::GET, ["groups"]) => need(mv, Mv(3, 13)).and_then(|_| groups::list(ctx, mv, false)),
        (Method::GET, ["groups", "detail"]) => need(mv, Mv(3, 13)).and_then(|_| groups::list(ctx, mv, true)),
        (Method::POST, ["groups"]) => need(mv, Mv(3, 13)).and_then(|_| groups::create(ctx)),
        (Method::GET, ["groups", id]) => need(mv, Mv(3, 13)).and_then(|_| groups::show(ctx, mv, id)),
        (Method::PUT, ["groups", id]) => need(mv, Mv(3, 13)).and_then(|_| groups::update(ctx, id)),
        (Method::POST, ["groups", id, "action"]) => need(mv, Mv(3, 13)).and_then(|_| groups::action(ctx, mv, id)),
        (Method::GET, ["group_snapshots"]) => need(mv, Mv(3, 14)).and_then(|_| groups::list_snapshots(ctx, mv, false)),
        (Method::GET, ["group_snapshots", "detail"]) => need(mv, Mv(3, 14)).and_then(|_| groups::list_snapshots(ctx, mv, true)),
        (Method::POST, ["group_snapshots"]) => need(mv, Mv(3, 14)).and_then(|_| groups::create_snapshot(ctx)),
        (Method::GET, ["group_snapshots", id]) => need(mv, Mv(3, 14)).and_then(|_| groups::show_snapshot(ctx, mv, id)),
        (Method::DELETE, ["group_snapshots", id]) => need(mv, Mv(3, 14)).and_then(|_| groups::delete_snapshot(ctx, id)),
        (Method::GET, ["backups"]) => backups::list(ctx, mv, false),
        (Method::GET, ["backups", "detail"]) => backups::list(ctx, mv, true),
        (Method::POST, ["backups"]) => backups::create(ctx, mv),
        (Method::POST, ["backups", "import_record"]) => backups::import_record(ctx),
        (Method::GET, ["backups", id]) => backups::show(ctx, mv, id),
        (Method::DELETE, ["backups", id]) => backups::delete(ctx, id),
        (Method::POST, ["backups", id, "restore"]) => backups::restore(ctx, id),
        (Method::GET, ["backups", id, "export_record"]) => backups::export_record(ctx, id),
        (Method::POST, ["backups", id, "action"]) => backups::action(ctx, id),
        (Method::GET, ["manageable_volumes"]) => need(mv, Mv(3, 8)).and_then(|_| manage::list(ctx, false)),
        (Method::GET, ["manageable_volumes", "detail"]) => need(mv, Mv(3, 8)).and_then(|_| manage::list(ctx, true)),
        (Method::POST, ["manageable_volumes"]) | (Method::POST, ["os-volume-manage"]) => manage::manage(ctx, mv),
        (Method::GET, ["os-services"]) => replication::services(ctx),
        (Method::PUT, ["os-services", "failover_host"]) => replication::failover_host(ctx),
        (Method::PUT, ["os-services", "failover"]) => need(mv, Mv(3, 26)).and_then(|_| replication::failover_host(ctx)),
        (Method::GET, ["os-availability-zone"]) => Ok(Json(json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}}]})).into_response()),
        (Method::GET, ["limits"]) => quotas::limits(ctx),
        (Method::GET, ["os-quota-sets", p]) => quotas::show(ctx, p),
        (Method::GET, ["os-quota-sets", p, "defaults"]) => quotas::defaults(ctx, p),
        (Method::PUT, ["os-quota-sets", p]) => quotas::update(ctx, p),
        (Method::GET, ["extensions"]) => Ok(Json(json!({"extensions": []})).into_response()),
        _ => Err(not_found(F::Cinder, "The resource could not be found.")),
    }
}

/// A volume-state error in Cinder's wording (400 InvalidVolume, as real Cinder).
pub(crate) fn invalid_volume(msg: impl Into<String>) -> Response {
    crate::errors::bad_request(F::Cinder, format!("Invalid volume: {}", msg.into()))
}

pub(crate) fn accepted(body: impl Serialize) -> Response {
    (StatusCode::ACCEPTED, Json(body)).into_response()
}
