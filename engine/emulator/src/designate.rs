//! Designate (DNS API v2): zones and their recordsets, as a tenant sees
//! them. Every change is asynchronous as in real Designate: the answer is
//! `202` with `status: PENDING` and the `action` (CREATE / UPDATE /
//! DELETE); one transition later the object is `ACTIVE` with action `NONE`
//! (or `ERROR`, when the fault profile fails the operation `dns`), and a
//! deleted one is gone. A zone carries its SOA and NS recordsets (managed:
//! they cannot be changed), its serial grows with every change, and it shows
//! `PENDING` / `UPDATE` while a recordset change is being applied. Lists
//! take the attribute filters, `limit` / `marker`, and answer `links` and
//! `metadata.total_count`. Errors are Designate's
//! (`{"code", "type", "message", "request_id"}`).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::errors::Reply;
use crate::routing::Ctx;
use crate::world::{new_id, stable_id, World};

/// The DNS service: its zones and recordsets. One for both sites, as
/// Designate is deployed across regions (one database and pool spanning
/// the sites, an endpoint per region): a zone changed through one
/// region's endpoint is the same zone through the other's, and it stays
/// reachable through the site that is up.
#[derive(Debug, Default)]
pub struct Dns {
    pub zones: BTreeMap<String, Zone>,
    pub recordsets: BTreeMap<String, RecordSet>,
    seq: u64,
}

#[derive(Clone, Debug)]
pub struct Zone {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub email: String,
    pub ttl: u64,
    pub serial: u64,
    pub status: String,
    pub action: String,
    pub description: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub attributes: Map<String, Value>,
    seq: u64,
}

#[derive(Clone, Debug)]
pub struct RecordSet {
    pub id: String,
    pub zone_id: String,
    pub project_id: String,
    pub name: String,
    pub kind: String,
    pub ttl: Option<u64>,
    pub records: Vec<String>,
    pub status: String,
    pub action: String,
    pub description: Option<String>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: Option<String>,
    /// SOA and NS: made with the zone, never changed by a tenant.
    pub managed: bool,
    seq: u64,
}

/// The record types the API accepts.
const TYPES: &[&str] = &[
    "A", "AAAA", "CNAME", "MX", "SRV", "TXT", "SPF", "NS", "PTR", "SSHFP", "SOA", "NAPTR", "CAA",
    "CERT",
];

/// The operation name fault rules use for Designate's transitions.
const OP: &str = "dns";

/// The pool every zone is in (Designate's default pool id).
const POOL: &str = "794ccc2c-d751-44fe-b57f-8894c9f5c842";

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// Designate's error body.
fn err(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({"code": status.as_u16(), "type": kind, "message": message.into(), "request_id": format!("req-{}", new_id())});
    (status, Json(body)).into_response()
}

/// Designate's answer to an error that is not its own (a fault, a token).
pub fn error_body(status: StatusCode, message: &str) -> Response {
    let kind = match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 | 429 => "over_quota",
        503 => "service_unavailable",
        _ => "internal_server_error",
    };
    err(status, kind, message)
}

fn schema_error(message: impl Into<String>) -> Response {
    let message = message.into();
    let body = json!({"code": 400, "type": "invalid_object", "message": "Provided object does not match schema", "errors": {"errors": [{"path": [], "message": message, "validator": "type", "validator_value": "object", "raw": message}]}, "request_id": format!("req-{}", new_id())});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn zone_not_found() -> Response {
    err(
        StatusCode::NOT_FOUND,
        "zone_not_found",
        "Could not find Zone",
    )
}
fn recordset_not_found() -> Response {
    err(
        StatusCode::NOT_FOUND,
        "recordset_not_found",
        "Could not find RecordSet",
    )
}

pub fn versions(base: &str) -> Value {
    json!({"versions": [
        {"id": "v2.1", "status": "CURRENT", "links": [{"href": format!("{base}/dns/v2"), "rel": "self"}]},
        {"id": "v2.0", "status": "SUPPORTED", "links": [{"href": format!("{base}/dns/v2"), "rel": "self"}]},
    ]})
}

pub async fn handle(ctx: &mut Ctx) -> Response {
    if ctx.seg(0) != "v2" {
        return err(
            StatusCode::NOT_FOUND,
            "not_found",
            "The resource could not be found.",
        );
    }
    let segs: Vec<String> = ctx.segs[1..].to_vec();
    let segs: Vec<&str> = segs.iter().map(|s| s.as_str()).collect();
    let r = match (ctx.method.clone(), segs.as_slice()) {
        (Method::GET, ["zones"]) => list_zones(ctx),
        (Method::POST, ["zones"]) => create_zone(ctx),
        (Method::GET, ["zones", id]) => show_zone(ctx, id),
        (Method::PATCH, ["zones", id]) => update_zone(ctx, id),
        (Method::DELETE, ["zones", id]) => delete_zone(ctx, id),
        (Method::GET, ["zones", id, "recordsets"]) => list_recordsets(ctx, Some(id)),
        (Method::POST, ["zones", id, "recordsets"]) => create_recordset(ctx, id),
        (Method::GET, ["zones", id, "recordsets", rs]) => show_recordset(ctx, id, rs),
        (Method::PUT, ["zones", id, "recordsets", rs]) => update_recordset(ctx, id, rs),
        (Method::DELETE, ["zones", id, "recordsets", rs]) => delete_recordset(ctx, id, rs),
        (Method::GET, ["recordsets"]) => list_recordsets(ctx, None),
        (_, ["zones", ..]) | (_, ["recordsets"]) => Err(err(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "The method is not allowed for this resource.",
        )),
        _ => Err(err(
            StatusCode::NOT_FOUND,
            "not_found",
            "The resource could not be found.",
        )),
    };
    match r {
        Ok(r) | Err(r) => r,
    }
}

// ---------------------------------------------------------------- views

fn zone_view(ctx: &Ctx, z: &Zone) -> Value {
    json!({
        "id": z.id, "pool_id": POOL, "project_id": z.project_id, "name": z.name, "email": z.email,
        "ttl": z.ttl, "serial": z.serial, "status": z.status, "action": z.action,
        "description": z.description, "masters": [], "type": "PRIMARY", "transferred_at": null,
        "version": z.version, "created_at": z.created_at, "updated_at": z.updated_at,
        "attributes": z.attributes, "shared": false,
        "links": {"self": format!("{}/dns/v2/zones/{}", ctx.base, z.id)},
    })
}

fn recordset_view(ctx: &Ctx, zone_name: &str, r: &RecordSet) -> Value {
    json!({
        "id": r.id, "name": r.name, "type": r.kind, "ttl": r.ttl, "records": r.records,
        "description": r.description, "status": r.status, "action": r.action,
        "version": r.version, "zone_id": r.zone_id, "zone_name": zone_name,
        "project_id": r.project_id, "created_at": r.created_at, "updated_at": r.updated_at,
        "links": {"self": format!("{}/dns/v2/zones/{}/recordsets/{}", ctx.base, r.zone_id, r.id)},
    })
}

/// `limit` / `marker` over an ordered list, and the `links` of the page.
fn page<T>(
    ctx: &Ctx,
    items: &mut Vec<T>,
    id_of: impl Fn(&T) -> &str,
    path: &str,
) -> Result<Value, Response> {
    if let Some(marker) = ctx.q("marker") {
        match items.iter().position(|x| id_of(x) == marker) {
            Some(i) => {
                items.drain(..=i);
            }
            None => {
                return Err(err(
                    StatusCode::BAD_REQUEST,
                    "invalid_marker",
                    format!("Marker {marker} could not be found"),
                ))
            }
        }
    }
    let mut links = json!({"self": format!("{}/dns/v2/{path}", ctx.base)});
    if let Some(l) = ctx.q("limit") {
        let n = match l.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(err(
                    StatusCode::BAD_REQUEST,
                    "invalid_limit",
                    format!("limit must be an integer between 1 and 1000, got {l}"),
                ))
            }
        };
        if items.len() > n {
            items.truncate(n);
            if let Some(last) = items.last() {
                links["next"] = json!(format!(
                    "{}/dns/v2/{path}?limit={n}&marker={}",
                    ctx.base,
                    id_of(last)
                ));
            }
        }
    }
    Ok(links)
}

fn answer(status: StatusCode, v: Value) -> Reply {
    Ok((status, Json(v)).into_response())
}

/// A create's answer: 202 with the new object, and its address in
/// `Location`, as Designate gives it.
fn created(v: Value) -> Reply {
    let location = v["links"]["self"].as_str().unwrap_or_default().to_string();
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, location)],
        Json(v),
    )
        .into_response())
}

// ---------------------------------------------------------------- body helpers

fn body(ctx: &Ctx) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(&ctx.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(err(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Request body is not valid JSON",
        )),
    }
}

/// An update's body: only the `allowed` fields may change (name, type
/// and the rest are refused as Designate's schema refuses them).
fn update_body(ctx: &Ctx, allowed: &[&str]) -> Result<Map<String, Value>, Response> {
    let m = body(ctx)?;
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(schema_error(format!(
            "Additional properties are not allowed ('{k}' was unexpected)"
        ))),
        None => Ok(m),
    }
}

fn str_field(m: &Map<String, Value>, key: &str) -> Result<Option<String>, Response> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(schema_error(format!("{v} is not of type 'string'"))),
    }
}

/// A TTL: absent, null (the zone's), or an integer in Designate's range.
fn ttl_field(m: &Map<String, Value>) -> Result<Option<Option<u64>>, Response> {
    match m.get("ttl") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(v) => match v.as_u64() {
            Some(t) if (1..=2_147_483_647).contains(&t) => Ok(Some(Some(t))),
            _ => Err(schema_error(format!(
                "{v} is not valid under any of the given schemas"
            ))),
        },
    }
}

/// A DNS name as Designate takes it: fully qualified (trailing dot),
/// labels of 1–63 characters, 255 in all.
fn valid_name(n: &str) -> bool {
    n.len() <= 255
        && n.ends_with('.')
        && n.len() > 1
        && n[..n.len() - 1]
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l != "-")
}

fn check_records(kind: &str, records: &[String]) -> Result<(), Response> {
    for r in records {
        let ok = match kind {
            "A" => r.parse::<Ipv4Addr>().is_ok(),
            "AAAA" => r.parse::<Ipv6Addr>().is_ok(),
            "CNAME" | "NS" | "PTR" => valid_name(r),
            _ => !r.is_empty(),
        };
        if !ok {
            return Err(schema_error(format!("'{r}' is not a '{kind}' record")));
        }
    }
    Ok(())
}

fn records_field(m: &Map<String, Value>) -> Result<Option<Vec<String>>, Response> {
    match m.get("records") {
        None => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| schema_error(format!("{v} is not of type 'string'")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(v) => Err(schema_error(format!("{v} is not of type 'array'"))),
    }
}

// ---------------------------------------------------------------- zones

fn visible<'a>(ctx: &Ctx, w: &'a World, id: &str) -> Option<&'a Zone> {
    w.dns
        .zones
        .get(id)
        .filter(|z| z.project_id == ctx.token.project_id)
}

fn list_zones(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    let mut zs: Vec<&Zone> = w
        .dns
        .zones
        .values()
        .filter(|z| z.project_id == ctx.token.project_id)
        .collect();
    zs.sort_by_key(|z| z.seq);
    for (k, v) in &ctx.query {
        match k.as_str() {
            "name" => zs.retain(|z| z.name == *v),
            "email" => zs.retain(|z| z.email == *v),
            "status" => zs.retain(|z| z.status.eq_ignore_ascii_case(v)),
            "ttl" => zs.retain(|z| z.ttl.to_string() == *v),
            "description" => zs.retain(|z| z.description.as_deref() == Some(v)),
            "type" => zs.retain(|_| v.eq_ignore_ascii_case("PRIMARY")),
            _ => {}
        }
    }
    let total = zs.len();
    let links = page(ctx, &mut zs, |z| &z.id, "zones")?;
    let views: Vec<Value> = zs.iter().map(|z| zone_view(ctx, z)).collect();
    answer(
        StatusCode::OK,
        json!({"zones": views, "links": links, "metadata": {"total_count": total}}),
    )
}

/// The project's zone `id`, to change it.
fn zone_mut<'a>(ctx: &Ctx, w: &'a mut World, id: &str) -> Result<&'a mut Zone, Response> {
    w.dns
        .zones
        .get_mut(id)
        .filter(|z| z.project_id == ctx.token.project_id)
        .ok_or_else(zone_not_found)
}

fn show_zone(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let z = visible(ctx, &w, id).ok_or_else(zone_not_found)?;
    answer(StatusCode::OK, zone_view(ctx, z))
}

fn create_zone(ctx: &Ctx) -> Reply {
    let m = body(ctx)?;
    let name =
        str_field(&m, "name")?.ok_or_else(|| schema_error("'name' is a required property"))?;
    if !valid_name(&name) || !name.trim_end_matches('.').contains('.') && name.len() < 2 {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "invalid_zone_name",
            format!("Invalid zone name {name}: it must be fully qualified (end with a dot)"),
        ));
    }
    let email =
        str_field(&m, "email")?.ok_or_else(|| schema_error("'email' is a required property"))?;
    if !email.contains('@') {
        return Err(schema_error(format!("'{email}' is not a 'email'")));
    }
    if let Some(t) = str_field(&m, "type")? {
        if t != "PRIMARY" {
            return Err(err(
                StatusCode::BAD_REQUEST,
                "invalid_object",
                "Only PRIMARY zones are offered by this cloud",
            ));
        }
    }
    let ttl = ttl_field(&m)?.flatten().unwrap_or(3600);
    let description = str_field(&m, "description")?;
    let attributes = match m.get("attributes") {
        Some(Value::Object(a)) => a.clone(),
        _ => Map::new(),
    };
    let sh = ctx.shared.clone();
    let mut w = sh.lock();
    let dns = &mut w.dns;
    if dns
        .zones
        .values()
        .any(|z| z.name == name && z.project_id == ctx.token.project_id)
    {
        return Err(err(
            StatusCode::CONFLICT,
            "duplicate_zone",
            "Duplicate Zone",
        ));
    }
    dns.seq += 1;
    let created_at = now();
    let serial = chrono::Utc::now().timestamp() as u64;
    let z = Zone {
        id: new_id(),
        project_id: ctx.token.project_id.clone(),
        name: name.clone(),
        email: email.clone(),
        ttl,
        serial,
        status: "PENDING".into(),
        action: "CREATE".into(),
        description,
        version: 1,
        created_at: created_at.clone(),
        updated_at: None,
        attributes,
        seq: dns.seq,
    };
    // The managed recordsets every zone has.
    let ns = format!("ns1.{name}");
    let soa = format!(
        "{ns} {} {serial} 3585 600 86400 3600",
        email.replace('@', ".") + "."
    );
    for (kind, records) in [("SOA", vec![soa]), ("NS", vec![ns])] {
        dns.seq += 1;
        let rs = RecordSet {
            id: stable_id(&format!("rs:{}:{kind}", z.id)),
            zone_id: z.id.clone(),
            project_id: z.project_id.clone(),
            name: name.clone(),
            kind: kind.into(),
            ttl: None,
            records,
            status: "PENDING".into(),
            action: "CREATE".into(),
            description: None,
            version: 1,
            created_at: created_at.clone(),
            updated_at: None,
            managed: true,
            seq: dns.seq,
        };
        dns.recordsets.insert(rs.id.clone(), rs);
    }
    let view = zone_view(ctx, &z);
    let id = z.id.clone();
    dns.zones.insert(id.clone(), z);
    drop(w);
    settle_zone(ctx, &id);
    created(view)
}

fn update_zone(ctx: &Ctx, id: &str) -> Reply {
    let m = update_body(ctx, &["ttl", "email", "description"])?;
    let ttl = ttl_field(&m)?;
    let email = str_field(&m, "email")?;
    let description = str_field(&m, "description")?;
    let sh = ctx.shared.clone();
    let mut w = sh.lock();
    let z = zone_mut(ctx, &mut w, id)?;
    if z.action == "DELETE" {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Zone is being deleted",
        ));
    }
    if let Some(Some(t)) = ttl {
        z.ttl = t;
    }
    if let Some(e) = email {
        z.email = e;
    }
    if m.contains_key("description") {
        z.description = description;
    }
    touch(z, "UPDATE");
    let view = zone_view(ctx, z);
    drop(w);
    settle_zone(ctx, id);
    answer(StatusCode::ACCEPTED, view)
}

fn delete_zone(ctx: &Ctx, id: &str) -> Reply {
    let sh = ctx.shared.clone();
    let mut w = sh.lock();
    let z = zone_mut(ctx, &mut w, id)?;
    z.status = "PENDING".into();
    z.action = "DELETE".into();
    z.updated_at = Some(now());
    let view = zone_view(ctx, z);
    drop(w);
    let site = ctx.site;
    let zid = id.to_string();
    let zid2 = zid.clone();
    ctx.shared.later(
        site,
        OP,
        1,
        move |w| {
            let dns = &mut w.dns;
            dns.zones.remove(&zid);
            dns.recordsets.retain(|_, r| r.zone_id != zid);
        },
        move |w| {
            if let Some(z) = w.dns.zones.get_mut(&zid2) {
                z.status = "ERROR".into();
            }
        },
    );
    answer(StatusCode::ACCEPTED, view)
}

/// A change to the zone: a new serial and version, PENDING until applied.
fn touch(z: &mut Zone, action: &str) {
    z.serial += 1;
    z.version += 1;
    z.status = "PENDING".into();
    if z.action != "CREATE" {
        z.action = action.into();
    }
    z.updated_at = Some(now());
}

/// One transition later, the zone and every pending recordset of it are
/// applied (ACTIVE / NONE; deleted ones gone), or in ERROR.
fn settle_zone(ctx: &Ctx, zone_id: &str) {
    let site = ctx.site;
    let (a, b) = (zone_id.to_string(), zone_id.to_string());
    ctx.shared.later(
        site,
        OP,
        1,
        move |w| {
            let dns = &mut w.dns;
            dns.recordsets
                .retain(|_, r| !(r.zone_id == a && r.action == "DELETE"));
            for r in dns.recordsets.values_mut().filter(|r| r.zone_id == a) {
                r.status = "ACTIVE".into();
                r.action = "NONE".into();
            }
            if let Some(z) = dns.zones.get_mut(&a) {
                if z.action != "DELETE" {
                    z.status = "ACTIVE".into();
                    z.action = "NONE".into();
                    // Designate's worker writes the status, so the zone
                    // shows when it last changed from then on.
                    z.updated_at = Some(now());
                }
            }
        },
        move |w| {
            let dns = &mut w.dns;
            for r in dns
                .recordsets
                .values_mut()
                .filter(|r| r.zone_id == b && r.status == "PENDING")
            {
                r.status = "ERROR".into();
            }
            if let Some(z) = dns.zones.get_mut(&b) {
                z.status = "ERROR".into();
            }
        },
    );
}

// ---------------------------------------------------------------- recordsets

fn list_recordsets(ctx: &Ctx, zone: Option<&str>) -> Reply {
    let w = ctx.shared.lock();
    if let Some(z) = zone {
        visible(ctx, &w, z).ok_or_else(zone_not_found)?;
    }
    let dns = &w.dns;
    let mut rs: Vec<&RecordSet> = dns
        .recordsets
        .values()
        .filter(|r| r.project_id == ctx.token.project_id)
        .filter(|r| zone.is_none_or(|z| r.zone_id == z))
        .collect();
    rs.sort_by_key(|r| r.seq);
    for (k, v) in &ctx.query {
        match k.as_str() {
            "name" => rs.retain(|r| r.name == *v),
            "type" => rs.retain(|r| r.kind.eq_ignore_ascii_case(v)),
            "status" => rs.retain(|r| r.status.eq_ignore_ascii_case(v)),
            "ttl" => rs.retain(|r| r.ttl.map(|t| t.to_string()).as_deref() == Some(v)),
            "data" => rs.retain(|r| r.records.iter().any(|d| d == v)),
            "zone_id" => rs.retain(|r| r.zone_id == *v),
            "description" => rs.retain(|r| r.description.as_deref() == Some(v)),
            _ => {}
        }
    }
    let path = match zone {
        Some(z) => format!("zones/{z}/recordsets"),
        None => "recordsets".to_string(),
    };
    let total = rs.len();
    let mut items = rs;
    let links = page(ctx, &mut items, |r| &r.id, &path)?;
    let zone_name = |id: &str| {
        dns.zones
            .get(id)
            .map(|z| z.name.clone())
            .unwrap_or_default()
    };
    let views: Vec<Value> = items
        .iter()
        .map(|r| recordset_view(ctx, &zone_name(&r.zone_id), r))
        .collect();
    answer(
        StatusCode::OK,
        json!({"recordsets": views, "links": links, "metadata": {"total_count": total}}),
    )
}

fn find_recordset<'a>(
    ctx: &Ctx,
    w: &'a World,
    zone: &str,
    id: &str,
) -> Result<(&'a Zone, &'a RecordSet), Response> {
    let z = visible(ctx, w, zone).ok_or_else(zone_not_found)?;
    let r = w
        .dns
        .recordsets
        .get(id)
        .filter(|r| r.zone_id == zone)
        .ok_or_else(recordset_not_found)?;
    Ok((z, r))
}

fn show_recordset(ctx: &Ctx, zone: &str, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let (z, r) = find_recordset(ctx, &w, zone, id)?;
    answer(StatusCode::OK, recordset_view(ctx, &z.name, r))
}

fn create_recordset(ctx: &Ctx, zone: &str) -> Reply {
    let m = body(ctx)?;
    let name =
        str_field(&m, "name")?.ok_or_else(|| schema_error("'name' is a required property"))?;
    let kind = str_field(&m, "type")?
        .ok_or_else(|| schema_error("'type' is a required property"))?
        .to_ascii_uppercase();
    if !TYPES.contains(&kind.as_str()) {
        return Err(schema_error(format!("'{kind}' is not one of {TYPES:?}")));
    }
    if kind == "SOA" {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Creating a SOA recordset is not allowed",
        ));
    }
    let records =
        records_field(&m)?.ok_or_else(|| schema_error("'records' is a required property"))?;
    if records.is_empty() {
        return Err(schema_error("[] is too short"));
    }
    check_records(&kind, &records)?;
    let ttl = ttl_field(&m)?.flatten();
    let description = str_field(&m, "description")?;
    if !valid_name(&name) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "invalid_object",
            format!("Invalid recordset name {name}: it must be fully qualified (end with a dot)"),
        ));
    }
    let sh = ctx.shared.clone();
    let mut w = sh.lock();
    let z = visible(ctx, &w, zone).ok_or_else(zone_not_found)?.clone();
    if name != z.name && !name.ends_with(&format!(".{}", z.name)) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "invalid_recordset_location",
            "RecordSet is not contained within it's parent zone",
        ));
    }
    let dns = &mut w.dns;
    if dns
        .recordsets
        .values()
        .any(|r| r.zone_id == z.id && r.name == name && r.kind == kind)
    {
        return Err(err(
            StatusCode::CONFLICT,
            "duplicate_recordset",
            "Duplicate RecordSet",
        ));
    }
    let clash_cname = |r: &RecordSet| r.zone_id == z.id && r.name == name;
    if (kind == "CNAME" && dns.recordsets.values().any(clash_cname))
        || dns
            .recordsets
            .values()
            .any(|r| clash_cname(r) && r.kind == "CNAME")
    {
        return Err(err(
            StatusCode::BAD_REQUEST,
            "invalid_recordset_location",
            "CNAME recordsets may not share a name with any other records",
        ));
    }
    dns.seq += 1;
    let rs = RecordSet {
        id: new_id(),
        zone_id: z.id.clone(),
        project_id: z.project_id.clone(),
        name,
        kind,
        ttl,
        records,
        status: "PENDING".into(),
        action: "CREATE".into(),
        description,
        version: 1,
        created_at: now(),
        updated_at: None,
        managed: false,
        seq: dns.seq,
    };
    let view = recordset_view(ctx, &z.name, &rs);
    dns.recordsets.insert(rs.id.clone(), rs);
    if let Some(zm) = dns.zones.get_mut(&z.id) {
        touch(zm, "UPDATE");
    }
    drop(w);
    settle_zone(ctx, zone);
    created(view)
}

fn update_recordset(ctx: &Ctx, zone: &str, id: &str) -> Reply {
    let m = update_body(ctx, &["ttl", "records", "description"])?;
    let records = records_field(&m)?;
    let ttl = ttl_field(&m)?;
    let description = str_field(&m, "description")?;
    let sh = ctx.shared.clone();
    let mut w = sh.lock();
    let (z, r) = find_recordset(ctx, &w, zone, id)?;
    if r.managed {
        return Err(err(
            StatusCode::FORBIDDEN,
            "bad_request",
            "Managed records may not be updated",
        ));
    }
    if r.action == "DELETE" {
        return Err(recordset_not_found());
    }
    if let Some(rec) = &records {
        if rec.is_empty() {
            return Err(schema_error("[] is too short"));
        }
        check_records(&r.kind, rec)?;
    }
    let zone_name = z.name.clone();
    let dns = &mut w.dns;
    let r = dns.recordsets.get_mut(id).ok_or_else(recordset_not_found)?;
    if let Some(rec) = records {
        r.records = rec;
    }
    if let Some(t) = ttl {
        r.ttl = t;
    }
    if m.contains_key("description") {
        r.description = description;
    }
    r.version += 1;
    if r.action != "CREATE" {
        r.action = "UPDATE".into();
    }
    accepted(ctx, w, zone, id, &zone_name)
}

/// A recordset change taken: the recordset PENDING (its `action` set by
/// the caller), the zone PENDING with a new serial; both applied one
/// transition later. Answers 202 with the recordset.
fn accepted(
    ctx: &Ctx,
    mut w: std::sync::MutexGuard<'_, World>,
    zone: &str,
    id: &str,
    zone_name: &str,
) -> Reply {
    let dns = &mut w.dns;
    let r = dns.recordsets.get_mut(id).ok_or_else(recordset_not_found)?;
    r.status = "PENDING".into();
    r.updated_at = Some(now());
    let view = recordset_view(ctx, zone_name, r);
    if let Some(zm) = dns.zones.get_mut(zone) {
        touch(zm, "UPDATE");
    }
    drop(w);
    settle_zone(ctx, zone);
    answer(StatusCode::ACCEPTED, view)
}

fn delete_recordset(ctx: &Ctx, zone: &str, id: &str) -> Reply {
    let sh = ctx.shared.clone();
    let mut w = sh.lock();
    let (z, r) = find_recordset(ctx, &w, zone, id)?;
    if r.managed {
        return Err(err(
            StatusCode::FORBIDDEN,
            "bad_request",
            "Managed records may not be deleted",
        ));
    }
    let zone_name = z.name.clone();
    if let Some(r) = w.dns.recordsets.get_mut(id) {
        r.action = "DELETE".into();
    }
    accepted(ctx, w, zone, id, &zone_name)
}
