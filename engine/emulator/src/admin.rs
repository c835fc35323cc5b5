//! `/_emulator/...`: the control plane of the emulator on the Keystone
//! listener (no auth): site outage, faults, checksums, the workload invariant,
//! timing, token expiry, status and the clouds.yaml.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::content::Content;
use crate::faults::FaultProfile;
use crate::keystone::sh_tokens;
use crate::server::Shared;
use crate::world::{Site, World};

fn err(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"code": status.as_u16(), "message": msg.into()}})),
    )
        .into_response()
}

fn site_of(s: &str) -> Result<Site, Response> {
    Site::parse(s).ok_or_else(|| err(StatusCode::NOT_FOUND, format!("unknown site {s:?}")))
}

pub async fn status(State(sh): State<Arc<Shared>>) -> Response {
    let w = sh.lock();
    let mut sites = serde_json::Map::new();
    for site in Site::ALL {
        let s = w.site(site);
        sites.insert(
            site.name().into(),
            json!({
                "down": sh.switches[site.index()].is_down(),
                "connections_accepted": sh.switches[site.index()].accepted(),
                "url": sh.site_base(site),
                "servers": s.servers.len(), "volumes": s.volumes.len(), "snapshots": s.snapshots.len(),
                "backups": s.backups.len(), "images": s.images.len(), "replicas": s.replicas.len(),
                "backup_store": s.backup_store.len(),
                "ports": s.net.ports.len(),
                "security_groups": s.net.security_groups.values_unordered().filter(|g| g.name != "default").count(),
                "floating_ips": s.net.floating_ips.len(),
                "server_groups": s.server_groups.len(),
                "keypairs": s.keypairs.len(),
            }),
        );
    }
    let t = sh.timing();
    Json(json!({
        "keystone": format!("{}/v3", sh.keystone_base),
        "sites": sites,
        "timing": timing_json(&t),
        "writers": w.writers.iter().map(|(k, (txn, pos))| (k.clone(), json!({"txn": txn, "pos": pos}))).collect::<serde_json::Map<_, _>>(),
    }))
    .into_response()
}

fn timing_json(t: &crate::server::Timing) -> Value {
    json!({
        "token_ttl_s": t.token_ttl.as_secs_f64(),
        "transition_ms": t.transition.as_millis() as u64,
        "write_interval_ms": t.write_interval.as_secs_f64() * 1000.0,
        "replication_lag_ms": t.replication_lag.as_millis() as u64,
    })
}

/// How long `down`/`up` wait for the site's listener to close or reopen its port.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

pub async fn site_down(State(sh): State<Arc<Shared>>, Path(site): Path<String>) -> Response {
    match site_of(&site) {
        Ok(s) => {
            sh.switches[s.index()].set(true);
            // Answer once the port really is closed, so the caller's next connection sees it.
            let settled = sh.switches[s.index()].settled(SETTLE_LIMIT).await;
            Json(json!({"site": s.name(), "down": true, "settled": settled})).into_response()
        }
        Err(r) => r,
    }
}

pub async fn site_up(State(sh): State<Arc<Shared>>, Path(site): Path<String>) -> Response {
    match site_of(&site) {
        Ok(s) => {
            sh.switches[s.index()].set(false);
            // Answer once the port really is open again, so the caller's next connection sees it.
            let settled = sh.switches[s.index()].settled(SETTLE_LIMIT).await;
            Json(json!({"site": s.name(), "down": false, "settled": settled})).into_response()
        }
        Err(r) => r,
    }
}

pub async fn get_faults(State(sh): State<Arc<Shared>>) -> Response {
    Json(serde_json::to_value(&sh.fault_state().profile).unwrap_or(Value::Null)).into_response()
}

pub async fn put_faults(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    match FaultProfile::from_yaml_str(&text) {
        Ok(p) => {
            sh.fault_state().set(p.clone());
            Json(serde_json::to_value(&p).unwrap_or(Value::Null)).into_response()
        }
        Err(e) => err(
            StatusCode::BAD_REQUEST,
            format!("invalid fault profile: {e}"),
        ),
    }
}

pub async fn delete_faults(State(sh): State<Arc<Shared>>) -> Response {
    sh.fault_state().set(FaultProfile::none());
    StatusCode::NO_CONTENT.into_response()
}

/// The content of a volume, snapshot or backup (for backups: the stored data,
/// wherever it is held).
pub fn content_of(w: &World, site: Site, kind: &str, id: &str) -> Option<Content> {
    let s = w.site(site);
    match kind {
        "volumes" => s.volumes.get(id).map(|v| v.content.clone()),
        "snapshots" => s.snapshots.get(id).map(|v| v.content.clone()),
        "backups" => {
            let store = s.backups.get(id).map(|b| b.store_site).unwrap_or(site);
            w.site(store)
                .backup_store
                .get(id)
                .or_else(|| s.backup_store.get(id))
                .map(|b| b.content.clone())
        }
        "replicas" => s.replicas.get(id).map(|r| r.content.clone()),
        _ => None,
    }
}

pub async fn checksum(
    State(sh): State<Arc<Shared>>,
    Path((site, kind, id)): Path<(String, String, String)>,
) -> Response {
    let s = match site_of(&site) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let w = sh.lock();
    match content_of(&w, s, &kind, &id) {
        Some(c) => Json(json!({"site": s.name(), "kind": kind, "id": id, "checksum": c.checksum(), "blocks": c.block_count()})).into_response(),
        None => err(StatusCode::NOT_FOUND, format!("no {kind} {id} at {}", s.name())),
    }
}

/// `POST /_emulator/invariant {"site", "volume_ids": [...]}` (also `snapshot_ids`, `backup_ids`).
pub async fn invariant(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return err(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"site\": .., \"volume_ids\": [..]}",
        );
    };
    let Some(site) = v["site"].as_str().and_then(Site::parse) else {
        return err(StatusCode::BAD_REQUEST, "missing or unknown \"site\"");
    };
    let w = sh.lock();
    let mut items = Vec::new();
    for (key, kind) in [
        ("volume_ids", "volumes"),
        ("snapshot_ids", "snapshots"),
        ("backup_ids", "backups"),
    ] {
        for id in v[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str())
        {
            match content_of(&w, site, kind, id) {
                Some(c) => items.push((id.to_string(), c)),
                None => {
                    return err(
                        StatusCode::NOT_FOUND,
                        format!("no {kind} {id} at {}", site.name()),
                    )
                }
            }
        }
    }
    if items.is_empty() {
        return err(StatusCode::BAD_REQUEST, "no ids given");
    }
    let (ok, detail, records) = crate::workload::check_invariant(&items);
    Json(json!({"ok": ok, "detail": detail, "records": records})).into_response()
}

pub async fn get_timing(State(sh): State<Arc<Shared>>) -> Response {
    Json(timing_json(&sh.timing())).into_response()
}

/// `PUT /_emulator/timing {"transition_ms", "write_interval_ms", "replication_lag_ms", "token_ttl_s"}` (any subset).
pub async fn put_timing(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return err(StatusCode::BAD_REQUEST, "expected a JSON object");
    };
    let mut t = sh.timing();
    // Seconds from a JSON number; out-of-range values (negative, > 1 year) are refused.
    let secs = |key: &str, scale: f64, min: f64| -> Result<Option<Duration>, Response> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => match x.as_f64().map(|f| f / scale) {
                Some(s) if (0.0..=31_536_000.0).contains(&s) => {
                    Ok(Some(Duration::from_secs_f64(s.max(min))))
                }
                _ => Err(err(
                    StatusCode::BAD_REQUEST,
                    format!("{key} must be a number between 0 and one year"),
                )),
            },
        }
    };
    let parsed = (|| -> Result<(), Response> {
        if let Some(d) = secs("transition_ms", 1000.0, 0.0)? {
            t.transition = d;
        }
        if let Some(d) = secs("write_interval_ms", 1000.0, 0.00001)? {
            t.write_interval = d;
        }
        if let Some(d) = secs("replication_lag_ms", 1000.0, 0.0)? {
            t.replication_lag = d;
        }
        if let Some(d) = secs("token_ttl_s", 1.0, 0.0)? {
            t.token_ttl = d;
        }
        Ok(())
    })();
    if let Err(r) = parsed {
        return r;
    }
    match sh.timing.write() {
        Ok(mut g) => *g = t.clone(),
        Err(p) => *p.into_inner() = t.clone(),
    }
    Json(timing_json(&t)).into_response()
}

pub async fn expire_tokens(State(sh): State<Arc<Shared>>) -> Response {
    sh_tokens(&sh).expire_all();
    Json(json!({"expired": true})).into_response()
}

pub async fn clouds(State(sh): State<Arc<Shared>>) -> Response {
    crate::clouds::clouds_yaml(&sh.keystone_base, &sh.topology).into_response()
}

/// `GET /_emulator/sites/{site}/replicas`: the backend replicas a site holds.
pub async fn replicas(State(sh): State<Arc<Shared>>, Path(site): Path<String>) -> Response {
    let s = match site_of(&site) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let w = sh.lock();
    let list: Vec<Value> = w
        .site(s)
        .replicas
        .values()
        .map(|r| json!({"ref": r.reference, "source_volume_id": r.source_volume_id, "size": r.size, "active": r.active, "checksum": r.content.checksum(), "managed_as": r.managed_as}))
        .collect();
    Json(json!({"replicas": list})).into_response()
}

/// The subject of a hook call: a server id or name, or an object carrying
/// `id`/`name` (possibly nested under `server` or `subject`).
fn hook_subject(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => {
            // A JSON-encoded record passed as a string.
            match serde_json::from_str::<Value>(s) {
                Ok(inner @ Value::Object(_)) => hook_subject(&inner),
                _ => Some(s.clone()),
            }
        }
        Value::Object(o) => o
            .get("id")
            .and_then(|x| x.as_str().map(str::to_string))
            .or_else(|| o.get("server").and_then(hook_subject))
            .or_else(|| o.get("subject").and_then(hook_subject))
            .or_else(|| o.get("name").and_then(|x| x.as_str().map(str::to_string))),
        _ => None,
    }
}

/// `POST /_emulator/vnfm/hook`: an emulated VNF manager for the `hook`
/// quiesce method. `{"event": "...freeze..." | "...thaw...", "subject": <server>}`
/// freezes or thaws the guest I/O of the server (either site), like the
/// `quiesce`/`unquiesce` server actions. Other events are acknowledged.
pub async fn vnfm_hook(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return err(
            StatusCode::BAD_REQUEST,
            "expected a JSON object with \"event\" and \"subject\"",
        );
    };
    let event = v["event"].as_str().unwrap_or("").to_ascii_lowercase();
    let freeze = if event.contains("thaw") || event.contains("unquiesce") {
        false
    } else if event.contains("freeze") || event.contains("quiesce") {
        true
    } else {
        return Json(json!({"ok": true, "output": format!("event {event:?} acknowledged")}))
            .into_response();
    };
    let Some(subject) = hook_subject(&v["subject"]).or_else(|| hook_subject(&v["server"])) else {
        return err(
            StatusCode::BAD_REQUEST,
            "missing \"subject\" (a server id or name)",
        );
    };
    let mut w = sh.lock();
    for site in Site::ALL {
        let s = w.site_mut(site);
        let Some(srv) = s
            .servers
            .values_mut()
            .find(|x| x.id == subject || x.name == subject)
        else {
            continue;
        };
        if srv.status != "ACTIVE" {
            return err(
                StatusCode::CONFLICT,
                format!("server {} is {}, not ACTIVE", srv.name, srv.status),
            );
        }
        srv.quiesced = freeze;
        let what = if freeze { "frozen" } else { "thawed" };
        return Json(
            json!({"ok": true, "output": format!("{} ({}) {what}", srv.name, site.name())}),
        )
        .into_response();
    }
    err(
        StatusCode::NOT_FOUND,
        format!("no server {subject:?} at either site"),
    )
}

/// `GET /_emulator/sites/{site}/quotas[?project=ID]`: the limits and usage
/// of the topology's project (or `project`) at a site.
pub async fn get_quotas(
    State(sh): State<Arc<Shared>>,
    Path(site): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    let site = match site_of(&site) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let project = q
        .get("project")
        .cloned()
        .unwrap_or_else(|| sh.topology.project_id());
    let w = sh.lock();
    Json(crate::quota::admin_view(w.site(site), &project)).into_response()
}

/// `PUT /_emulator/sites/{site}/quotas[?project=ID]` with `{"volumes": 5, …}`
/// (any Cinder, Nova or Neutron quota name): sets those limits; a bad name or value
/// is a 400 and changes nothing.
pub async fn put_quotas(
    State(sh): State<Arc<Shared>>,
    Path(site): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::BTreeMap<String, String>>,
    body: Bytes,
) -> Response {
    let site = match site_of(&site) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let changes: serde_json::Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => m,
        _ => {
            return err(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON object of quota name → limit",
            )
        }
    };
    let project = q
        .get("project")
        .cloned()
        .unwrap_or_else(|| sh.topology.project_id());
    let mut w = sh.lock();
    let s = w.site_mut(site);
    let mut quotas = crate::quota::quotas_of(s, &project);
    if let Err(e) = quotas.apply(&changes, &crate::quota::all_keys()) {
        return err(StatusCode::BAD_REQUEST, e);
    }
    s.quotas.insert(project.clone(), quotas);
    Json(crate::quota::admin_view(s, &project)).into_response()
}

type QueryMap = axum::extract::Query<std::collections::BTreeMap<String, String>>;

/// The `site` (optional: both sites when absent) and `since` (default 0) of a
/// request-log query; a bad or unknown parameter is a 400.
fn log_query(
    q: &std::collections::BTreeMap<String, String>,
) -> Result<(Option<Site>, u64), Response> {
    if let Some(k) = q.keys().find(|k| !matches!(k.as_str(), "site" | "since")) {
        return Err(err(
            StatusCode::BAD_REQUEST,
            format!("unknown parameter {k:?} (site, since)"),
        ));
    }
    let site = match q.get("site") {
        Some(s) => Some(Site::parse(s).ok_or_else(|| {
            err(
                StatusCode::BAD_REQUEST,
                format!("unknown site {s:?} (site-a, site-b)"),
            )
        })?),
        None => None,
    };
    let since = match q.get("since") {
        Some(n) => n.parse::<u64>().map_err(|_| {
            err(
                StatusCode::BAD_REQUEST,
                format!("since must be a sequence number, not {n:?}"),
            )
        })?,
        None => 0,
    };
    Ok((site, since))
}

/// `GET /_emulator/requests[?site=site-a][&since=N]`: the requests a site (or
/// both) answered after sequence number `N`, oldest first, as
/// `{"requests": [{seq, time_ms, site, method, path, status, action?}], "last_seq", "dropped"}`.
/// Pass the answer's `last_seq` as `since` to read only what came after.
pub async fn get_requests(
    State(sh): State<Arc<Shared>>,
    axum::extract::Query(q): QueryMap,
) -> Response {
    let (site, since) = match log_query(&q) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let log = sh.request_log();
    let sites: Vec<Site> = site.map(|s| vec![s]).unwrap_or_else(|| Site::ALL.to_vec());
    let mut entries: Vec<_> = sites.iter().flat_map(|s| log.since(*s, since)).collect();
    entries.sort_by_key(|e| e.seq);
    let dropped: u64 = sites.iter().map(|s| log.dropped(*s)).sum();
    Json(json!({"requests": entries, "last_seq": log.last_seq(), "dropped": dropped}))
        .into_response()
}

/// `DELETE /_emulator/requests[?site=site-a]`: forget the logged requests
/// (sequence numbers go on increasing).
pub async fn delete_requests(
    State(sh): State<Arc<Shared>>,
    axum::extract::Query(q): QueryMap,
) -> Response {
    if q.contains_key("since") {
        return err(StatusCode::BAD_REQUEST, "DELETE takes only site");
    }
    match log_query(&q) {
        Ok((site, _)) => {
            sh.request_log().clear(site);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}
