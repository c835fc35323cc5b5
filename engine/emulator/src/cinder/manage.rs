//! Manage existing backend volumes (`POST /manageable_volumes`, legacy
//! `POST /os-volume-manage`) by `ref: {"source-name": ...}` or `source-id`,
//! and list them (`GET /manageable_volumes[/detail]`). This is how a replica
//! at the backup site is adopted into its Cinder.

use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::{accepted, limit_param};
use crate::body::One;
use crate::errors::{bad_request, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;

/// How Cinder pages the manageable list (`get_pagination_params`,
/// `get_sort_params`, `paginate_entries_list`): sorted by `reference`
/// (descending unless asked) or `size`, the entries after `marker` (a
/// reference as JSON) and `offset` more, at most `limit` — which is the
/// `osapi_max_limit` when absent or larger. The answer carries no link to
/// the rest: a client pages by `marker` (or `offset`) itself.
struct Paging {
    limit: usize,
    offset: usize,
    marker: Option<Value>,
    /// (by size, descending) for each sort key, in order.
    sort: Vec<(bool, bool)>,
}

fn invalid(msg: String) -> axum::response::Response {
    bad_request(F::Cinder, format!("Invalid input received: {msg}"))
}

impl Paging {
    fn of(ctx: &Ctx) -> Result<Paging, axum::response::Response> {
        let limit = limit_param(ctx)?;
        let offset = match ctx.q("offset") {
            None => 0,
            Some(o) => match o.trim().parse::<i64>() {
                Err(_) => return Err(invalid("offset must be an integer.".into())),
                Ok(n) if n < 0 => return Err(invalid("offset must be >= 0".into())),
                Ok(n) => n as usize,
            },
        };
        let marker = match ctx.q("marker") {
            None | Some("") => None,
            Some(m) => Some(serde_json::from_str::<Value>(m).map_err(|_| {
                invalid(format!(
                    "marker {m} can not be analysed, please use json like format"
                ))
            })?),
        };
        let pairs: Vec<(String, String)> = match ctx.q("sort") {
            Some(s) => {
                if ctx.q("sort_key").is_some() || ctx.q("sort_dir").is_some() {
                    return Err(invalid("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the 'sort' parameter.".into()));
                }
                s.trim()
                    .split(',')
                    .map(|one| {
                        let (k, d) = one.split_once(':').unwrap_or((one, ""));
                        let d = if d.trim().is_empty() {
                            "desc"
                        } else {
                            d.trim()
                        };
                        (k.trim().to_string(), d.to_string())
                    })
                    .collect()
            }
            None => vec![(
                ctx.q("sort_key").unwrap_or("reference").to_string(),
                ctx.q("sort_dir").unwrap_or("desc").to_string(),
            )],
        };
        let refused = |what: &str, bad: Vec<&str>| {
            invalid(format!("Invalid sort {what} passed: {}", bad.join(", ")))
        };
        let bad_keys: Vec<&str> = pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !matches!(*k, "reference" | "size"))
            .collect();
        if !bad_keys.is_empty() {
            return Err(refused("keys", bad_keys));
        }
        let bad_dirs: Vec<&str> = pairs
            .iter()
            .map(|(_, d)| d.as_str())
            .filter(|d| !matches!(*d, "asc" | "desc"))
            .collect();
        if !bad_dirs.is_empty() {
            return Err(refused("dirs", bad_dirs));
        }
        let sort = pairs
            .iter()
            .map(|(k, d)| (k == "size", d == "desc"))
            .collect();
        Ok(Paging {
            limit,
            offset,
            marker,
            sort,
        })
    }

    /// The page of `entries` (each with `reference` and `size`).
    fn page(&self, mut entries: Vec<Value>) -> Result<Vec<Value>, axum::response::Response> {
        // A reference compares by its (first) value, as Cinder's comparer does.
        let key = |e: &Value| -> String {
            let mut vals: Vec<&str> = e["reference"]
                .as_object()
                .map(|o| o.values().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            vals.sort_unstable();
            vals.first().copied().unwrap_or("").to_string()
        };
        entries.sort_by(|a, b| {
            for (by_size, desc) in &self.sort {
                let o = if *by_size {
                    a["size"].as_u64().cmp(&b["size"].as_u64())
                } else {
                    key(a).cmp(&key(b))
                };
                let o = if *desc { o.reverse() } else { o };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        let start = match &self.marker {
            None => 0,
            Some(m) => match entries.iter().position(|e| &e["reference"] == m) {
                Some(i) => i + 1,
                None => return Err(invalid(format!("marker not found: {m}"))),
            },
        };
        Ok(entries
            .into_iter()
            .skip(start + self.offset)
            .take(self.limit)
            .collect())
    }
}

pub fn list(ctx: &Ctx, detail: bool) -> Reply {
    let paging = Paging::of(ctx)?;
    let w = ctx.shared.lock();
    let items: Vec<Value> = w
        .site(ctx.site)
        .replicas
        .values()
        .map(|r| {
            let safe = r.managed_as.is_none();
            if detail {
                json!({"reference": {"source-name": r.reference}, "size": r.size, "safe_to_manage": safe,
                       "reason_not_safe": if safe { Value::Null } else { json!("already managed") },
                       "cinder_id": r.managed_as, "extra_info": null})
            } else {
                json!({"reference": {"source-name": r.reference}, "size": r.size, "safe_to_manage": safe})
            }
        })
        .collect();
    drop(w);
    let items = paging.page(items)?;
    Ok(Json(json!({"manageable-volumes": items})).into_response())
}

pub fn manage(ctx: &Ctx, mv: Mv) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(req) = body.get("volume").and_then(|v| v.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'volume' is a required property",
        ));
    };
    let Some(host) = req
        .get("host")
        .or_else(|| req.get("cluster"))
        .and_then(|h| h.as_str())
    else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: Either host or cluster must be specified.",
        ));
    };
    let Some(r) = req.get("ref").and_then(|r| r.as_object()) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: ref must be specified.",
        ));
    };
    let site = ctx.site;
    let backend = host.split('#').next().unwrap_or("");
    let ok_hosts = [site.replica_host(), site.volume_host()];
    if !ok_hosts
        .iter()
        .any(|h| h.split('#').next() == Some(backend))
    {
        return Err(bad_request(
            F::Cinder,
            format!("Invalid input received: Service {host} not found."),
        ));
    }
    let reference = match (
        r.get("source-name").and_then(|x| x.as_str()),
        r.get("source-id").and_then(|x| x.as_str()),
    ) {
        (Some(n), _) => n.to_string(),
        (None, Some(id)) => format!("volume-{id}"),
        _ => {
            return Err(bad_request(
                F::Cinder,
                "Invalid input received: ref must contain source-name or source-id.",
            ))
        }
    };
    // The scheduler places the volume on `host` only when the type's
    // `volume_backend_name` (if it names one) is that backend's: otherwise
    // the volume ends in `error_managing` and the backend volume is left as
    // it was (Cinder's CapabilitiesFilter, then NoValidBackend).
    let backend_name = backend.split('@').nth(1).unwrap_or("").to_string();
    let (vt, fits) = match req
        .get("volume_type")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
    {
        Some(t) => {
            let w = ctx.shared.lock();
            match w.site(site).volume_type_by_name_or_id(t) {
                Some(t) => (
                    Some(t.name.clone()),
                    t.extra_specs
                        .get("volume_backend_name")
                        .is_none_or(|b| *b == backend_name),
                ),
                None => return Err(super::nf("Volume type", t)),
            }
        }
        None => (None, true),
    };
    let bootable = req.get("bootable").and_then(|b| b.as_bool());
    let name = req.get("name").and_then(|n| n.as_str()).map(str::to_string);
    let mut w = ctx.shared.lock();
    match w.site(site).replicas.get(&reference) {
        None => return Err(bad_request(F::Cinder, format!("Manage existing volume failed due to invalid backend reference {{'source-name': '{reference}'}}: volume not found on {host}"))),
        Some(r) if r.managed_as.is_some() => return Err(bad_request(F::Cinder, format!("Manage existing volume failed due to invalid backend reference {{'source-name': '{reference}'}}: already managed"))),
        Some(r) => {
            let size = r.size;
            crate::quota::check_volume(w.site(site), &ctx.token.project_id, size)?;
        }
    }
    let Some(id) = super::replication::promote(
        &mut w,
        site,
        &reference,
        name,
        vt.clone(),
        bootable,
        &ctx.token.project_id,
        &ctx.token.user_id,
        "creating",
    ) else {
        return Err(bad_request(F::Cinder, "Manage existing volume failed."));
    };
    // Adopted with a replication-enabled type, the volume replicates to
    // the backend's peer (the other site) from now on, as drivers that
    // manage into a replicated type do (Pure, NetApp: replication is
    // enabled on manage): after a failover, the way back is replicated.
    let replicated = fits
        && vt
            .as_deref()
            .and_then(|t| w.site(site).volume_type_by_name_or_id(t))
            .is_some_and(|t| t.replicated());
    if replicated {
        super::replication::enable(&mut w, site, &id);
    }
    if let Some(m) = req.get("metadata").and_then(|m| m.as_object()) {
        if let Some(v) = w.site_mut(site).volumes.get_mut(&id) {
            for (k, val) in m {
                v.metadata.insert(k.clone(), val.clone());
            }
        }
    }
    if let Some(d) = req.get("description").and_then(|d| d.as_str()) {
        if let Some(v) = w.site_mut(site).volumes.get_mut(&id) {
            v.description = Some(d.into());
        }
    }
    // Written while the world is at hand (the view borrows it).
    let s = w.site(site);
    let answer = accepted(One(
        "volume",
        s.volumes
            .get(&id)
            .map(|v| super::volumes::view(ctx, s, v, mv, super::volumes::Shape::Plain)),
    ));
    drop(w);
    if fits {
        super::volumes::schedule_status(ctx, "volume.manage", 1, id, "available", "error_managing");
    } else {
        let unplaced = move |w: &mut crate::world::World| {
            let sm = w.site_mut(site);
            if let Some(v) = sm.volumes.get_mut(&id) {
                v.status = "error_managing".into();
                v.updated_at = Some(crate::world::now_iso());
            }
            if let Some(r) = sm.replicas.get_mut(&reference) {
                r.active = true;
                r.managed_as = None;
            }
        };
        ctx.shared
            .later(site, "volume.manage", 1, unplaced.clone(), unplaced);
    }
    Ok(answer)
}
