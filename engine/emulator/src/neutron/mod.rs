//! Neutron (networking API v2.0): version discovery, the dispatcher, and
//! what every collection shares: filters on any attribute (repeated = any
//! of), `fields`, `tags` / `tags-any` / `not-tags` / `not-tags-any`,
//! `limit` / `marker` pagination with a `next` link, and the errors real
//! Neutron gives (`{"NeutronError": {type, message, detail}}`).

pub mod floating_ips;
pub mod networks;
pub mod ports;
pub mod quotas;
pub mod security_groups;
pub mod seed;
pub mod state;
pub mod subnets;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::errors::{neutron, Reply};
use crate::routing::Ctx;

pub fn versions(base: &str) -> Value {
    json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"href": format!("{base}/network/v2.0/"), "rel": "self"}]}]})
}

pub fn version_doc(base: &str) -> Value {
    let res = |n: &str, c: &str| json!({"name": n, "collection": c, "links": [{"href": format!("{base}/network/v2.0/{c}"), "rel": "self"}]});
    json!({"resources": [res("subnet", "subnets"), res("network", "networks"), res("port", "ports"), res("security_group", "security-groups"), res("security_group_rule", "security-group-rules"), res("floatingip", "floatingips"), res("quota", "quotas")]})
}

/// The extensions the emulator's Neutron carries (clients ask before
/// using some attributes).
fn extensions() -> Value {
    let ext = |alias: &str, name: &str, d: &str| json!({"alias": alias, "name": name, "description": d, "updated": "2013-02-03T10:00:00-00:00", "links": []});
    json!({"extensions": [
        ext("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
        ext("port-security", "Port Security", "Provides port security"),
        ext("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
        ext("security-group", "security-group", "The security groups extension."),
        ext("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
        ext("external-net", "Neutron external network", "Adds external network attribute to network resource."),
        ext("quotas", "Quota management support", "Expose functions for quotas management per project"),
        ext("quota_details", "Quota details management support", "Expose functions for quotas usage statistics per project"),
        ext("standard-attr-tag", "Tag support for resources with standard attribute: subnet, trunk, network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip", "Enables to set tag on resources with standard attribute."),
        ext("dns-integration", "DNS Integration", "Provides integration with DNS."),
        ext("fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute to Floating IP resource"),
    ]})
}

pub(crate) fn not_found(kind: &str, message: impl Into<String>) -> Response {
    neutron(StatusCode::NOT_FOUND, kind, message)
}
pub(crate) fn bad(message: impl Into<String>) -> Response {
    neutron(StatusCode::BAD_REQUEST, "HTTPBadRequest", message)
}
pub(crate) fn invalid(message: impl Into<String>) -> Response {
    neutron(
        StatusCode::BAD_REQUEST,
        "InvalidInput",
        format!("Invalid input for operation: {}.", message.into()),
    )
}
pub(crate) fn conflict(kind: &str, message: impl Into<String>) -> Response {
    neutron(StatusCode::CONFLICT, kind, message)
}

/// The body's object under `key`, or Neutron's 400.
pub(crate) fn body_of(ctx: &Ctx, key: &str) -> Result<Map<String, Value>, Response> {
    let v: Value = serde_json::from_slice(&ctx.body)
        .map_err(|_| bad("The server could not comply with the request since it is either malformed or otherwise incorrect."))?;
    match v.get(key) {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(bad(format!("Resource body required: '{key}'"))),
    }
}

pub(crate) fn str_of(m: &Map<String, Value>, key: &str) -> Result<Option<String>, Response> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(invalid(format!("'{v}' is not a valid string"))),
    }
}

pub(crate) fn bool_of(m: &Map<String, Value>, key: &str) -> Result<Option<bool>, Response> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(invalid(format!("'{v}' cannot be converted to boolean"))),
    }
}

pub(crate) fn tags_of(m: &Map<String, Value>) -> Vec<String> {
    m.get("tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Query keys that are not attribute filters.
const NOT_FILTERS: [&str; 10] = [
    "fields",
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "page_reverse",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
];

fn matches_value(item: &Value, want: &str) -> bool {
    match item {
        Value::String(s) => s == want,
        Value::Bool(b) => want.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(n) => n.to_string() == want,
        Value::Null => want.is_empty(),
        Value::Array(a) => a.iter().any(|x| matches_value(x, want)),
        Value::Object(_) => false,
    }
}

/// `fixed_ips=ip_address=…` / `subnet_id=…` / `ip_address_substr=…`.
fn fixed_ip_matches(item: &Value, want: &str) -> bool {
    let Some((k, v)) = want.split_once('=') else {
        return false;
    };
    item.get("fixed_ips")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|f| match k {
            "ip_address_substr" => f
                .get("ip_address")
                .and_then(Value::as_str)
                .is_some_and(|a| a.contains(v)),
            _ => f.get(k).and_then(Value::as_str) == Some(v),
        })
}

/// The tag filters: `tags` (all of), `tags-any`, `not-tags` (not all of),
/// `not-tags-any`, each a comma list, each met by `tags`.
fn tags_match(ctx: &Ctx, tags: &[&str]) -> bool {
    let wanted = |q: &str| -> Vec<String> {
        ctx.q_all(q)
            .flat_map(|v| v.split(',').map(str::to_string))
            .collect()
    };
    let has = |t: &String| tags.contains(&t.as_str());
    [
        ("tags", false, true),
        ("tags-any", false, false),
        ("not-tags", true, true),
        ("not-tags-any", true, false),
    ]
    .iter()
    .all(|(q, negate, all)| {
        let w = wanted(q);
        if w.is_empty() {
            return true;
        }
        let hit = if *all {
            w.iter().all(has)
        } else {
            w.iter().any(has)
        };
        hit != *negate
    })
}

/// Filter, select fields and page one collection as Neutron does.
pub(crate) fn list(ctx: &Ctx, collection: &str, items: Vec<Value>) -> Reply {
    let mut filters: Vec<(&str, Vec<&str>)> = Vec::new();
    for (k, v) in &ctx.query {
        if NOT_FILTERS.contains(&k.as_str()) {
            continue;
        }
        match filters.iter_mut().find(|(fk, _)| fk == k) {
            Some((_, vs)) => vs.push(v),
            None => filters.push((k, vec![v])),
        }
    }
    let mut out = Vec::new();
    for item in items {
        let mut keep = true;
        for (k, wants) in &filters {
            if *k == "fixed_ips" {
                keep &= wants.iter().all(|w| fixed_ip_matches(&item, w));
                continue;
            }
            match item.get(*k) {
                Some(v) => keep &= wants.iter().any(|w| matches_value(v, w)),
                None => return Err(bad(format!("[{k}] is invalid attribute for filtering"))),
            }
        }
        let tags: Vec<&str> = item
            .get("tags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        keep &= tags_match(ctx, &tags);
        if keep {
            out.push(item);
        }
    }
    if let Some(marker) = ctx.q("marker") {
        match out
            .iter()
            .position(|x| x.get("id").and_then(Value::as_str) == Some(marker))
        {
            Some(i) => out = out.split_off(i + 1),
            None => {
                return Err(not_found(
                    "NotFound",
                    format!("Marker {marker} could not be found."),
                ))
            }
        }
    }
    let mut next = None;
    if let Some(l) = ctx.q("limit") {
        let Ok(n) = l.parse::<usize>() else {
            return Err(bad(format!(
                "Invalid input for operation: '{l}' is not an integer."
            )));
        };
        if n > 0 && out.len() > n {
            out.truncate(n);
            let last = out[n - 1].get("id").and_then(Value::as_str).unwrap_or("");
            let qs = ctx.query_with_marker(last);
            next = Some(format!("{}/network/v2.0/{collection}?{qs}", ctx.base));
        }
    }
    let fields: Vec<&str> = ctx.q_all("fields").flat_map(|v| v.split(',')).collect();
    if !fields.is_empty() {
        for item in &mut out {
            if let Value::Object(m) = item {
                m.retain(|k, _| fields.contains(&k.as_str()));
            }
        }
    }
    let key = collection.replace('-', "_");
    let mut body = json!({ key.clone(): out });
    if let Some(href) = next {
        body[format!("{key}_links")] = json!([{"href": href, "rel": "next"}]);
    }
    Ok(Json(body).into_response())
}

/// One object as `{key: value}` with `fields` applied.
pub(crate) fn one(ctx: &Ctx, key: &str, mut v: Value, status: StatusCode) -> Response {
    let fields: Vec<&str> = ctx.q_all("fields").flat_map(|v| v.split(',')).collect();
    if !fields.is_empty() {
        if let Value::Object(m) = &mut v {
            m.retain(|k, _| fields.contains(&k.as_str()));
        }
    }
    (status, Json(json!({ key: v }))).into_response()
}

/// Dispatch one networking call.
pub async fn handle(ctx: &mut Ctx) -> Response {
    if ctx.seg(0) != "v2.0" {
        return not_found("HTTPNotFound", "The resource could not be found.");
    }
    ctx.segs.remove(0);
    if let Some(last) = ctx.segs.last_mut() {
        if let Some(stripped) = last.strip_suffix(".json") {
            *last = stripped.to_string();
        }
    }
    match route(ctx) {
        Ok(r) | Err(r) => r,
    }
}

fn route(ctx: &Ctx) -> Reply {
    let segs: Vec<&str> = ctx.segs.iter().map(|s| s.as_str()).collect();
    let m = ctx.method.clone();
    match (m, segs.as_slice()) {
        (Method::GET, ["extensions"]) => Ok(Json(extensions()).into_response()),
        (Method::GET, ["networks"]) => networks::list(ctx),
        (Method::POST, ["networks"]) => networks::create(ctx),
        (Method::GET, ["networks", id]) => networks::show(ctx, id),
        (Method::DELETE, ["networks", id]) => networks::delete(ctx, id),
        (Method::GET, ["subnets"]) => subnets::list(ctx),
        (Method::POST, ["subnets"]) => subnets::create(ctx),
        (Method::GET, ["subnets", id]) => subnets::show(ctx, id),
        (Method::DELETE, ["subnets", id]) => subnets::delete(ctx, id),
        (Method::GET, ["network-ip-availabilities", id]) => subnets::availability(ctx, id),
        (Method::GET, ["ports"]) => ports::list(ctx),
        (Method::POST, ["ports"]) => ports::create(ctx),
        (Method::GET, ["ports", id]) => ports::show(ctx, id),
        (Method::PUT, ["ports", id]) => ports::update(ctx, id),
        (Method::DELETE, ["ports", id]) => ports::delete(ctx, id),
        (Method::GET, ["security-groups"]) => security_groups::list(ctx),
        (Method::POST, ["security-groups"]) => security_groups::create(ctx),
        (Method::GET, ["security-groups", id]) => security_groups::show(ctx, id),
        (Method::DELETE, ["security-groups", id]) => security_groups::delete(ctx, id),
        (Method::GET, ["security-group-rules"]) => security_groups::list_rules(ctx),
        (Method::POST, ["security-group-rules"]) => security_groups::create_rule(ctx),
        (Method::GET, ["security-group-rules", id]) => security_groups::show_rule(ctx, id),
        (Method::DELETE, ["security-group-rules", id]) => security_groups::delete_rule(ctx, id),
        (Method::GET, ["floatingips"]) => floating_ips::list(ctx),
        (Method::POST, ["floatingips"]) => floating_ips::create(ctx),
        (Method::GET, ["floatingips", id]) => floating_ips::show(ctx, id),
        (Method::PUT, ["floatingips", id]) => floating_ips::update(ctx, id),
        (Method::DELETE, ["floatingips", id]) => floating_ips::delete(ctx, id),
        (Method::GET, ["quotas", project]) => quotas::show(ctx, project, false),
        (Method::GET, ["quotas", project, "details"]) => quotas::show(ctx, project, true),
        (
            _,
            ["networks"
            | "subnets"
            | "ports"
            | "security-groups"
            | "security-group-rules"
            | "floatingips", ..],
        ) => Err(neutron(
            StatusCode::METHOD_NOT_ALLOWED,
            "HTTPMethodNotAllowed",
            "The method is not allowed for the requested URL.",
        )),
        _ => Err(not_found(
            "HTTPNotFound",
            "The resource could not be found.",
        )),
    }
}

/// The attributes every standard resource shows.
pub(crate) fn standard(
    o: &mut Map<String, Value>,
    project_id: &str,
    tags: &[String],
    created: &str,
    updated: &str,
    revision: u64,
) {
    o.insert("project_id".into(), json!(project_id));
    o.insert("tenant_id".into(), json!(project_id));
    o.insert("tags".into(), json!(tags));
    o.insert("created_at".into(), json!(created));
    o.insert("updated_at".into(), json!(updated));
    o.insert("revision_number".into(), json!(revision));
}

/// Neutron's timestamps: seconds, `Z`.
pub(crate) fn now() -> String {
    crate::world::now_z()
}
