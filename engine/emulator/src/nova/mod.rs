//! Nova (compute API v2.1): version discovery and the dispatcher of the
//! calls the runbooks make (servers, actions, metadata, tags, volume
//! attachments, interfaces, flavors, key pairs, server groups).
//! Microversions 2.1–2.96.

pub mod actions;
pub mod attachments;
pub mod flavors;
pub mod interfaces;
pub mod keypairs;
pub mod server_groups;
pub mod servers;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::errors::{bad_request, error, not_found, Flavor as F, Reply};
use crate::microversion::{negotiate, stamp, Mv, NOVA_MAX, NOVA_MIN};
use crate::routing::Ctx;

fn version_value(base: &str) -> Value {
    json!({
        "id": "v2.1",
        "links": [{"href": format!("{base}/compute/v2.1/"), "rel": "self"}, {"href": "http://docs.openstack.org/", "rel": "describedby", "type": "text/html"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
        "status": "CURRENT",
        "version": NOVA_MAX.to_string(),
        "min_version": NOVA_MIN.to_string(),
        "updated": "2013-07-23T11:33:21Z"
    })
}

pub fn versions(base: &str) -> Value {
    json!({"versions": [version_value(base)]})
}

pub fn version_doc(base: &str) -> Value {
    json!({"version": version_value(base)})
}

pub(crate) fn nf(what: &str, id: &str) -> Response {
    not_found(F::Nova, format!("{what} {id} could not be found."))
}

/// Nova's `[api] max_limit`: the most items one list answers, whatever
/// `limit` asks.
pub(crate) const MAX_LIMIT: usize = 1000;

/// A count in the query (`limit`, `offset`), as Nova's query schemas take
/// it (digits only), or their 400.
pub(crate) fn count_param(ctx: &Ctx, key: &str) -> Result<Option<usize>, Response> {
    match ctx.q(key) {
        None => Ok(None),
        Some(v) => v.parse::<usize>().map(Some).map_err(|_| {
            bad_request(
                F::Nova,
                format!("Invalid input for query parameters {key}. Value: {v}. '{v}' does not match '^[0-9]*$'"),
            )
        }),
    }
}

/// A page's size as Nova's paged lists take it (servers, key pairs):
/// `limit` if asked (digits only), never more than [`MAX_LIMIT`], which is
/// also the size when `limit` is absent.
pub(crate) fn page_size(ctx: &Ctx) -> Result<usize, Response> {
    Ok(count_param(ctx, "limit")?
        .unwrap_or(MAX_LIMIT)
        .min(MAX_LIMIT))
}

/// Dispatch one compute call.
pub async fn handle(ctx: &mut Ctx) -> Response {
    let mv = match negotiate(&ctx.headers, F::Nova) {
        Ok(mv) => mv,
        Err(r) => return r,
    };
    // Path: v2.1[/{project_id}]/...
    if ctx.seg(0) == "v2.1" || ctx.seg(0) == "v2" {
        ctx.segs.remove(0);
    } else {
        return not_found(F::Nova, "The resource could not be found.");
    }
    if ctx.seg(0) == ctx.token.project_id {
        ctx.segs.remove(0);
    }
    let mut resp = match route(ctx, mv).await {
        Ok(r) => r,
        Err(r) => r,
    };
    stamp(&mut resp, F::Nova, mv);
    resp
}

async fn route(ctx: &Ctx, mv: Mv) -> Reply {
    let segs: Vec<&str> = ctx.segs.iter().map(|s| s.as_str()).collect();
    let m = ctx.method.clone();
    match (m, segs.as_slice()) {
        (Method::GET, ["servers"]) => servers::list(ctx, mv, false),
        (Method::GET, ["servers", "detail"]) => servers::list(ctx, mv, true),
        (Method::POST, ["servers"]) => servers::create(ctx, mv),
        (Method::GET, ["servers", id]) => servers::show(ctx, mv, id),
        (Method::PUT, ["servers", id]) => servers::update(ctx, mv, id),
        (Method::DELETE, ["servers", id]) => servers::delete(ctx, id),
        (Method::POST, ["servers", id, "action"]) => actions::action(ctx, mv, id),
        (Method::GET, ["servers", id, "metadata"]) => servers::metadata_get(ctx, id),
        (Method::PUT, ["servers", id, "metadata"]) => servers::metadata_set(ctx, id, true),
        (Method::POST, ["servers", id, "metadata"]) => servers::metadata_set(ctx, id, false),
        (Method::GET, ["servers", id, "metadata", key]) => servers::metadata_item(ctx, id, key, None),
        (Method::PUT, ["servers", id, "metadata", key]) => servers::metadata_item(ctx, id, key, Some(false)),
        (Method::DELETE, ["servers", id, "metadata", key]) => servers::metadata_item(ctx, id, key, Some(true)),
        (m, ["servers", id, "tags", rest @ ..]) => {
            if !mv.at_least(2, 26) {
                return Err(not_found(F::Nova, "The resource could not be found."));
            }
            servers::tags(ctx, &m, id, rest.first().copied())
        }
        (Method::GET, ["servers", id, "os-volume_attachments"]) => attachments::list(ctx, mv, id),
        (Method::POST, ["servers", id, "os-volume_attachments"]) => attachments::attach(ctx, mv, id),
        (Method::GET, ["servers", id, "os-volume_attachments", vid]) => attachments::show(ctx, mv, id, vid),
        (Method::DELETE, ["servers", id, "os-volume_attachments", vid]) => attachments::detach(ctx, id, vid),
        (Method::GET, ["servers", id, "os-interface"]) => interfaces::list(ctx, mv, id),
        (Method::POST, ["servers", id, "os-interface"]) => interfaces::attach(ctx, mv, id),
        (Method::GET, ["servers", id, "os-interface", pid]) => interfaces::show(ctx, mv, id, pid),
        (Method::DELETE, ["servers", id, "os-interface", pid]) => interfaces::detach(ctx, id, pid),
        (Method::GET, ["os-keypairs"]) => keypairs::list(ctx, mv),
        (Method::POST, ["os-keypairs"]) => keypairs::create(ctx, mv),
        (Method::GET, ["os-keypairs", name]) => keypairs::show(ctx, mv, name),
        (Method::DELETE, ["os-keypairs", name]) => keypairs::delete(ctx, mv, name),
        (Method::GET, ["os-server-groups"]) => server_groups::list(ctx, mv),
        (Method::POST, ["os-server-groups"]) => server_groups::create(ctx, mv),
        (Method::GET, ["os-server-groups", id]) => server_groups::show(ctx, mv, id),
        (Method::DELETE, ["os-server-groups", id]) => server_groups::delete(ctx, id),
        (Method::GET, ["flavors"]) => flavors::list(ctx, mv, false),
        (Method::GET, ["flavors", "detail"]) => flavors::list(ctx, mv, true),
        (Method::GET, ["flavors", id]) => flavors::show(ctx, mv, id),
        (Method::GET, ["flavors", id, "os-extra_specs"]) => flavors::extra_specs(ctx, id),
        (Method::GET, ["os-availability-zone"]) => Ok(axum::Json(json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}, "hosts": null}]})).into_response_ok()),
        // The legacy extension listing: the one extension this emulator adds
        // to the API (the proposed quiesce/unquiesce server actions).
        (Method::GET, ["extensions"]) => Ok(axum::Json(json!({"extensions": [{"alias": "os-server-quiesce", "name": "ServerQuiesce", "namespace": "http://docs.openstack.org/compute/ext/fake_xml", "updated": "2026-01-01T00:00:00Z", "description": "Quiesce and unquiesce a server's guest (the proposed Nova API; actions `quiesce` and `unquiesce`).", "links": []}]})).into_response_ok()),
        (Method::GET, ["limits"]) => {
            let w = ctx.shared.lock();
            Ok(axum::Json(crate::quota::nova_limits(w.site(ctx.site), &ctx.token.project_id, |a, b| mv.at_least(a, b))).into_response_ok())
        }
        (_, ["servers", ..]) | (_, ["flavors", ..]) => Err(error(F::Nova, StatusCode::METHOD_NOT_ALLOWED, "The method specified is not allowed for this resource.")),
        _ => Err(not_found(F::Nova, "The resource could not be found.")),
    }
}

trait IntoOk {
    fn into_response_ok(self) -> Response;
}
impl<T: axum::response::IntoResponse> IntoOk for T {
    fn into_response_ok(self) -> Response {
        self.into_response()
    }
}
