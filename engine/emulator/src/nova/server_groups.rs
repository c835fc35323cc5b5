//! Nova server groups (`os-server-groups`): a policy (affinity,
//! anti-affinity and their soft forms) that the scheduler keeps when a
//! server boots with the `group` scheduler hint; `policies` (a list) before
//! 2.64, `policy` and `rules` from 2.64.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::{count_param, nf, MAX_LIMIT};
use crate::errors::{bad_request, error, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::world::{new_id, ServerGroup};

const POLICIES: [&str; 4] = [
    "anti-affinity",
    "affinity",
    "soft-anti-affinity",
    "soft-affinity",
];

fn view(g: &ServerGroup, mv: Mv) -> Value {
    let mut o = json!({"id": g.id, "name": g.name, "members": g.members});
    if mv.at_least(2, 64) {
        o["policy"] = json!(g.policy);
        o["rules"] = match g.max_server_per_host {
            Some(n) => json!({"max_server_per_host": n}),
            None => json!({}),
        };
    } else {
        o["policies"] = json!([g.policy]);
        o["metadata"] = json!({});
    }
    o["project_id"] = json!(g.project_id);
    if mv.at_least(2, 13) {
        o["user_id"] = json!(g.user_id);
    }
    o
}

/// The project's groups, as Nova pages them: at most `limit` (its
/// `max_limit`, 1,000, when absent, 0 or more) from `offset`, and no link
/// to the rest — a caller asks again from the next offset.
pub fn list(ctx: &Ctx, mv: Mv) -> Reply {
    let limit = match count_param(ctx, "limit")? {
        Some(n) if n > 0 => n.min(MAX_LIMIT),
        _ => MAX_LIMIT,
    };
    let offset = count_param(ctx, "offset")?.unwrap_or(0);
    let w = ctx.shared.lock();
    let items: Vec<Value> = w
        .site(ctx.site)
        .server_groups
        .values()
        .filter(|g| g.project_id == ctx.token.project_id)
        .skip(offset)
        .take(limit)
        .map(|g| view(g, mv))
        .collect();
    Ok(Json(json!({"server_groups": items})).into_response())
}

pub fn show(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let w = ctx.shared.lock();
    match w.site(ctx.site).server_groups.get(id) {
        Some(g) if g.project_id == ctx.token.project_id => {
            Ok(Json(json!({"server_group": view(g, mv)})).into_response())
        }
        _ => Err(nf("Instance group", id)),
    }
}

pub fn create(ctx: &Ctx, mv: Mv) -> Reply {
    let body = ctx.json(F::Nova)?;
    let Some(req) = body.get("server_group").and_then(Value::as_object) else {
        return Err(bad_request(F::Nova, "Invalid input for field/attribute server_group. Value: None. 'server_group' is a required property"));
    };
    let Some(name) = req
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
    else {
        return Err(bad_request(
            F::Nova,
            "Invalid input for field/attribute name. Value: None. 'name' is a required property",
        ));
    };
    let policy = if mv.at_least(2, 64) {
        req.get("policy")
            .and_then(Value::as_str)
            .map(str::to_string)
    } else {
        match req
            .get("policies")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            Some([one]) => one.as_str().map(str::to_string),
            _ => None,
        }
    };
    let Some(policy) = policy.filter(|p| POLICIES.contains(&p.as_str())) else {
        return Err(bad_request(F::Nova, format!("Invalid input for field/attribute policy. Value: {:?}. It must be one of {POLICIES:?}", req.get("policy").or_else(|| req.get("policies")))));
    };
    let max = req
        .get("rules")
        .and_then(|r| r.get("max_server_per_host"))
        .and_then(Value::as_u64);
    if max.is_some() && policy != "anti-affinity" {
        return Err(bad_request(
            F::Nova,
            "Only anti-affinity policy supports the max_server_per_host rule.",
        ));
    }
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    let limit = crate::quota::quotas_of(s, &ctx.token.project_id).server_groups;
    let used = s
        .server_groups
        .values()
        .filter(|g| g.project_id == ctx.token.project_id)
        .count() as i64;
    if limit >= 0 && used >= limit {
        return Err(error(
            F::Nova,
            StatusCode::FORBIDDEN,
            "Quota exceeded, too many server groups.",
        ));
    }
    let g = ServerGroup {
        id: new_id(),
        name: name.to_string(),
        policy,
        max_server_per_host: max,
        members: vec![],
        project_id: ctx.token.project_id.clone(),
        user_id: ctx.token.user_id.clone(),
    };
    let v = view(&g, mv);
    s.server_groups.insert(g.id.clone(), g);
    Ok(Json(json!({"server_group": v})).into_response())
}

pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    match s.server_groups.get(id) {
        Some(g) if g.project_id == ctx.token.project_id => {}
        _ => return Err(nf("Instance group", id)),
    }
    s.server_groups.remove(id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
