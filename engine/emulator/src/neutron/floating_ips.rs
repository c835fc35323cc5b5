//! Floating IPs: allocated on an external network (a given address when
//! free, else the next of its pools), associated with a port's fixed IP,
//! disassociated, released. Routers are not modelled: every project subnet
//! counts as reachable from every external network.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::state::{ip_str, parse_ip, FloatingIp, Net};
use super::{bad, body_of, conflict, list as page, not_found, now, one, standard, str_of, tags_of};
use crate::errors::Reply;
use crate::routing::Ctx;
use crate::world::new_id;

pub fn view(net: &Net, f: &FloatingIp) -> Value {
    let port = f.port_id.as_ref().and_then(|p| net.ports.get(p));
    let details = port.map(|p| json!({"status": p.status(), "name": p.name, "admin_state_up": p.admin_state_up, "network_id": p.network_id, "device_owner": p.device_owner, "mac_address": p.mac, "device_id": p.device_id}));
    let mut o = serde_json::Map::new();
    o.insert("id".into(), json!(f.id));
    o.insert("floating_network_id".into(), json!(f.network_id));
    o.insert("floating_ip_address".into(), json!(ip_str(f.address)));
    o.insert("fixed_ip_address".into(), json!(f.fixed_ip.map(ip_str)));
    o.insert("port_id".into(), json!(f.port_id));
    o.insert("port_details".into(), json!(details));
    o.insert("router_id".into(), Value::Null);
    o.insert(
        "status".into(),
        json!(if port.is_some() { "ACTIVE" } else { "DOWN" }),
    );
    o.insert("description".into(), json!(f.description));
    o.insert("dns_domain".into(), json!(""));
    o.insert("dns_name".into(), json!(""));
    standard(
        &mut o,
        &f.project_id,
        &f.tags,
        &f.created_at,
        &f.updated_at,
        f.revision,
    );
    Value::Object(o)
}

pub fn list(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    let net = &w.site(ctx.site).net;
    let items = net
        .floating_ips
        .values()
        .filter(|f| f.project_id == ctx.token.project_id)
        .map(|f| view(net, f))
        .collect();
    page(ctx, "floatingips", items)
}

fn nf(id: &str) -> Response {
    not_found(
        "FloatingIPNotFound",
        format!("Floating IP {id} could not be found"),
    )
}

pub fn show(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let net = &w.site(ctx.site).net;
    match net.floating_ips.get(id) {
        Some(f) if f.project_id == ctx.token.project_id => {
            Ok(one(ctx, "floatingip", view(net, f), StatusCode::OK))
        }
        _ => Err(nf(id)),
    }
}

/// The port and fixed address to associate, checked.
fn association(
    net: &Net,
    project: &str,
    port_id: &str,
    fixed: Option<String>,
    fip: &str,
) -> Result<(String, u32), Response> {
    let Some(p) = net.ports.get(port_id).filter(|p| p.project_id == project) else {
        return Err(super::ports::nf(port_id));
    };
    let ip = match fixed {
        Some(a) => {
            let Some(ip) = parse_ip(&a).filter(|ip| p.fixed_ips.iter().any(|f| f.ip == *ip)) else {
                return Err(bad(format!(
                    "Bad floatingip request: Port {port_id} does not have fixed ip {a}."
                )));
            };
            ip
        }
        None => match p.fixed_ips.first() {
            Some(f) => f.ip,
            None => {
                return Err(bad(format!(
                    "Bad floatingip request: Port {port_id} does not have any IPv4 address."
                )))
            }
        },
    };
    if let Some(other) = net
        .floating_ips
        .values()
        .find(|f| f.id != fip && f.port_id.as_deref() == Some(port_id) && f.fixed_ip == Some(ip))
    {
        return Err(conflict("FloatingIPPortAlreadyAssociated", format!("Cannot associate floating IP {} ({}) with port {port_id} using fixed IP {}, as that fixed IP already has a floating IP on external network {}.", ip_str(other.address), other.id, ip_str(ip), other.network_id)));
    }
    Ok((port_id.to_string(), ip))
}

pub fn create(ctx: &Ctx) -> Reply {
    let b = body_of(ctx, "floatingip")?;
    let Some(network_id) = str_of(&b, "floating_network_id")? else {
        return Err(bad(
            "Failed to parse request. Required attribute 'floating_network_id' not specified",
        ));
    };
    let project = ctx.token.project_id.clone();
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    match s.net.networks.get(&network_id) {
        Some(n) if n.external => {}
        Some(_) => {
            return Err(bad(format!(
                "Bad floatingip request: Network {network_id} is not a valid external network."
            )))
        }
        None => return Err(super::networks::nf(&network_id)),
    }
    let id = new_id();
    let assoc = match str_of(&b, "port_id")? {
        Some(p) => Some(association(
            &s.net,
            &project,
            &p,
            str_of(&b, "fixed_ip_address")?,
            &id,
        )?),
        None => None,
    };
    super::quotas::check(s, &project, "floatingip", 1)?;
    let subnets: Vec<String> = s
        .net
        .subnets_of(&network_id)
        .iter()
        .map(|x| x.id.clone())
        .collect();
    let (subnet_id, address) = match str_of(&b, "floating_ip_address")? {
        Some(a) => {
            let Some(ip) = parse_ip(&a) else {
                return Err(super::invalid(format!("'{a}' is not a valid IP address")));
            };
            let Some(sid) = subnets.iter().find(|x| s.net.subnets[*x].contains(ip)) else {
                return Err(bad(format!("IP address {a} is not a valid IP for any of the subnets on the specified network.")));
            };
            if s.net.subnets[sid].used.contains(&ip) {
                return Err(conflict(
                    "IpAddressAlreadyAllocated",
                    format!("IP address {a} already allocated in subnet {sid}"),
                ));
            }
            (sid.clone(), ip)
        }
        None => {
            let found = subnets
                .iter()
                .find_map(|x| s.net.subnets[x].next_free().map(|ip| (x.clone(), ip)));
            match found {
                Some(f) => f,
                None => {
                    return Err(conflict(
                        "ExternalIpAddressExhausted",
                        format!("Unable to find any IP address on external network {network_id}."),
                    ))
                }
            }
        }
    };
    if let Some(sub) = s.net.subnets.get_mut(&subnet_id) {
        sub.used.insert(address);
    }
    let t = now();
    let f = FloatingIp {
        id,
        network_id,
        subnet_id,
        address,
        port_id: assoc.as_ref().map(|a| a.0.clone()),
        fixed_ip: assoc.map(|a| a.1),
        project_id: project,
        description: str_of(&b, "description")?.unwrap_or_default(),
        tags: tags_of(&b),
        created_at: t.clone(),
        updated_at: t,
        revision: 1,
    };
    let v = view(&s.net, &f);
    s.net.floating_ips.insert(f.id.clone(), f);
    Ok(one(ctx, "floatingip", v, StatusCode::CREATED))
}

/// `PUT`: `port_id` associates (with `fixed_ip_address`), null disassociates.
pub fn update(ctx: &Ctx, id: &str) -> Reply {
    let b = body_of(ctx, "floatingip")?;
    let project = ctx.token.project_id.clone();
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    if s.net
        .floating_ips
        .get(id)
        .is_none_or(|f| f.project_id != project)
    {
        return Err(nf(id));
    }
    let assoc = match b.get("port_id") {
        Some(Value::String(p)) => Some(Some(association(
            &s.net,
            &project,
            p,
            str_of(&b, "fixed_ip_address")?,
            id,
        )?)),
        Some(Value::Null) => Some(None),
        Some(v) => return Err(super::invalid(format!("'{v}' is not a valid UUID"))),
        None => None,
    };
    let description = str_of(&b, "description")?;
    let f = s.net.floating_ips.get_mut(id).expect("checked");
    if let Some(a) = assoc {
        f.port_id = a.as_ref().map(|x| x.0.clone());
        f.fixed_ip = a.map(|x| x.1);
    }
    if let Some(d) = description {
        f.description = d;
    }
    f.updated_at = now();
    f.revision += 1;
    let f = f.clone();
    Ok(one(ctx, "floatingip", view(&s.net, &f), StatusCode::OK))
}

pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let net = &mut w.site_mut(ctx.site).net;
    let Some(f) = net
        .floating_ips
        .get(id)
        .filter(|f| f.project_id == ctx.token.project_id)
        .cloned()
    else {
        return Err(nf(id));
    };
    if let Some(sub) = net.subnets.get_mut(&f.subnet_id) {
        sub.used.remove(&f.address);
    }
    net.floating_ips.remove(id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
