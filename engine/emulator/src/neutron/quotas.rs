//! Neutron's quotas: the limits come from the site's project quotas (see
//! `crate::quota`), the usage from the live state; over quota is Neutron's
//! 409 `OverQuota` "Quota exceeded for resources: ['port']."

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::{conflict, one};
use crate::errors::Reply;
use crate::quota::{quotas_of, NEUTRON_KEYS};
use crate::routing::Ctx;
use crate::world::SiteState;

/// What `project` uses of the networking resource `key` at a site.
pub fn used(s: &SiteState, project: &str, key: &str) -> u64 {
    let n = &s.net;
    (match key {
        "network" => n
            .networks
            .values_unordered()
            .filter(|x| x.project_id == project)
            .count(),
        "subnet" => n
            .subnets
            .values_unordered()
            .filter(|x| x.project_id == project)
            .count(),
        "port" => n
            .ports
            .values_unordered()
            .filter(|x| x.project_id == project)
            .count(),
        "security_group" => n
            .security_groups
            .values_unordered()
            .filter(|x| x.project_id == project)
            .count(),
        "security_group_rule" => n.rules.values().filter(|x| x.project_id == project).count(),
        "floatingip" => n
            .floating_ips
            .values()
            .filter(|x| x.project_id == project)
            .count(),
        _ => 0,
    }) as u64
}

pub fn check(s: &SiteState, project: &str, key: &str, delta: u64) -> Result<(), Response> {
    let limit = quotas_of(s, project).get(key).unwrap_or(-1);
    if limit >= 0 && used(s, project, key) + delta > limit as u64 {
        return Err(conflict(
            "OverQuota",
            format!("Quota exceeded for resources: ['{key}']."),
        ));
    }
    Ok(())
}

/// `GET /v2.0/quotas/{project}` (limits) and `…/details` (limit, used, reserved).
pub fn show(ctx: &Ctx, project: &str, details: bool) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let q = quotas_of(s, project);
    let mut m = Map::new();
    for k in NEUTRON_KEYS {
        let limit = q.get(k).unwrap_or(-1);
        let v: Value = if details {
            json!({"limit": limit, "used": used(s, project, k), "reserved": 0})
        } else {
            json!(limit)
        };
        m.insert(k.to_string(), v);
    }
    for k in ["router", "rbac_policy", "subnetpool"] {
        let limit = if k == "router" { 10 } else { -1 };
        m.insert(
            k.into(),
            if details {
                json!({"limit": limit, "used": 0, "reserved": 0})
            } else {
                json!(limit)
            },
        );
    }
    Ok(one(ctx, "quota", Value::Object(m), StatusCode::OK))
}
