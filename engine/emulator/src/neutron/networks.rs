//! Networks: list, show, create, delete. A project sees its own networks,
//! shared ones and external ones (those hold floating IPs).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};

use super::state::{Net, Network};
use super::{
    body_of, bool_of, conflict, list as page, not_found, now, one, standard, str_of, tags_of,
};
use crate::errors::Reply;
use crate::routing::Ctx;
use crate::world::new_id;

pub fn view(net: &Net, n: &Network) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(n.id));
    o.insert("name".into(), json!(n.name));
    o.insert("admin_state_up".into(), json!(n.admin_state_up));
    o.insert("availability_zone_hints".into(), json!([]));
    o.insert("description".into(), json!(n.description));
    o.insert("dns_domain".into(), json!(""));
    o.insert("ipv4_address_scope".into(), Value::Null);
    o.insert("ipv6_address_scope".into(), Value::Null);
    o.insert("mtu".into(), json!(n.mtu));
    o.insert(
        "port_security_enabled".into(),
        json!(n.port_security_enabled),
    );
    o.insert("router:external".into(), json!(n.external));
    o.insert("shared".into(), json!(n.shared));
    o.insert("status".into(), json!("ACTIVE"));
    o.insert("qinq".into(), json!(false));
    o.insert("availability_zones".into(), json!([]));
    if n.external {
        o.insert("is_default".into(), json!(false));
    }
    o.insert("vlan_transparent".into(), json!(false));
    let subnets: Vec<&str> = net
        .subnets_of(&n.id)
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    o.insert("subnets".into(), json!(subnets));
    standard(
        &mut o,
        &n.project_id,
        &n.tags,
        &n.created_at,
        &n.updated_at,
        n.revision,
    );
    Value::Object(o)
}

pub(crate) fn visible(n: &Network, project: &str) -> bool {
    n.project_id == project || n.shared || n.external
}

pub fn list(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    let net = &w.site(ctx.site).net;
    let items = net
        .networks
        .values()
        .filter(|n| visible(n, &ctx.token.project_id))
        .map(|n| view(net, n))
        .collect();
    page(ctx, "networks", items)
}

pub(crate) fn nf(id: &str) -> axum::response::Response {
    not_found(
        "NetworkNotFound",
        format!("Network {id} could not be found."),
    )
}

pub fn show(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let net = &w.site(ctx.site).net;
    match net.networks.get(id) {
        Some(n) if visible(n, &ctx.token.project_id) => {
            Ok(one(ctx, "network", view(net, n), StatusCode::OK))
        }
        _ => Err(nf(id)),
    }
}

pub fn create(ctx: &Ctx) -> Reply {
    let b = body_of(ctx, "network")?;
    let name = str_of(&b, "name")?.unwrap_or_default();
    let external = bool_of(&b, "router:external")?.unwrap_or(false);
    let shared = bool_of(&b, "shared")?.unwrap_or(false);
    let port_security = bool_of(&b, "port_security_enabled")?.unwrap_or(true);
    let admin = bool_of(&b, "admin_state_up")?.unwrap_or(true);
    let description = str_of(&b, "description")?.unwrap_or_default();
    let project = ctx.token.project_id.clone();
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    super::quotas::check(s, &project, "network", 1)?;
    let t = now();
    let n = Network {
        id: new_id(),
        name,
        project_id: project,
        external,
        shared,
        mtu: 1500,
        port_security_enabled: port_security,
        admin_state_up: admin,
        description,
        tags: tags_of(&b),
        created_at: t.clone(),
        updated_at: t,
        revision: 1,
    };
    let v = view(&s.net, &n);
    s.net.networks.insert(n.id.clone(), n);
    Ok(one(ctx, "network", v, StatusCode::CREATED))
}

pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let net = &mut w.site_mut(ctx.site).net;
    match net.networks.get(id) {
        Some(n) if n.project_id == ctx.token.project_id => {}
        _ => return Err(nf(id)),
    }
    // Ports other than the network's own (DHCP) keep it in use.
    if net.ports.values_unordered().any(|p| p.network_id == id) {
        return Err(conflict("NetworkInUse", format!("Unable to complete operation on network {id}. There are one or more ports still in use on the network.")));
    }
    net.subnets.retain(|_, s| s.network_id != id);
    net.networks.remove(id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
