//! Cinder quotas over HTTP: `GET /limits` (absolute limits and usage of the
//! caller's project), `GET /os-quota-sets/{project}[?usage=true]`,
//! `GET /os-quota-sets/{project}/defaults` and `PUT /os-quota-sets/{project}`.
//! The numbers and the enforcement live in `crate::quota`.

use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::errors::{bad_request, Flavor as F, Reply};
use crate::quota::{cinder_limits, cinder_quota_set, quotas_of, usage, CINDER_KEYS};
use crate::routing::Ctx;

pub fn limits(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    Ok(Json(cinder_limits(w.site(ctx.site), &ctx.token.project_id)).into_response())
}

fn truthy(v: Option<&str>) -> bool {
    v.map(|s| ["true", "1", "yes", "on"].contains(&s.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

pub fn show(ctx: &Ctx, project: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let q = quotas_of(s, project);
    Ok(
        Json(json!({"quota_set": cinder_quota_set(s, project, &q, truthy(ctx.q("usage")), true)}))
            .into_response(),
    )
}

pub fn defaults(ctx: &Ctx, project: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let q = s.default_quotas.clone();
    Ok(Json(json!({"quota_set": cinder_quota_set(s, project, &q, false, true)})).into_response())
}

/// As Cinder: unknown names are a 400 (`Bad key(s) in quota set`), so is a
/// limit below what the project already uses; nothing changes on error.
pub fn update(ctx: &Ctx, project: &str) -> Reply {
    let body = ctx.json(F::Cinder)?;
    let Some(changes) = body.get("quota_set").and_then(Value::as_object) else {
        return Err(bad_request(
            F::Cinder,
            "Invalid input received: 'quota_set' is a required property",
        ));
    };
    let mut changes = changes.clone();
    // Cinder ignores these when sent back from a GET.
    for k in ["id", "tenant_id"] {
        changes.remove(k);
    }
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    let mut q = quotas_of(s, project);
    q.apply(&changes, &CINDER_KEYS)
        .map_err(|e| bad_request(F::Cinder, format!("Invalid input received: {e}")))?;
    let u = usage(s, project);
    for k in changes.keys() {
        let limit = q.get(k).unwrap_or(-1);
        if k != "per_volume_gigabytes" && limit >= 0 && (limit as u64) < u.get(k) {
            return Err(bad_request(
                F::Cinder,
                format!("Invalid input received: Quota {k} limit must be equal or greater than existing resources. Current usage is {} and the requested limit is {limit}.", u.get(k)),
            ));
        }
    }
    s.quotas.insert(project.to_string(), q.clone());
    Ok(Json(json!({"quota_set": cinder_quota_set(s, project, &q, false, false)})).into_response())
}
