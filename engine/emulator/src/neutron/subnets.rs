//! Subnets (IPv4): CIDR, gateway, allocation pools (default: the CIDR less
//! its network, gateway and broadcast addresses), and the network's IP
//! availability.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};

use super::networks::{nf as network_nf, visible};
use super::state::{ip_str, mask, parse_cidr, parse_ip, Net, Pool, Subnet};
use super::{
    bad, body_of, bool_of, conflict, invalid, list as page, not_found, now, one, standard, str_of,
    tags_of,
};
use crate::errors::Reply;
use crate::routing::Ctx;
use crate::world::new_id;

pub fn view(s: &Subnet) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(s.id));
    o.insert("name".into(), json!(s.name));
    o.insert("network_id".into(), json!(s.network_id));
    o.insert("cidr".into(), json!(s.cidr()));
    o.insert("ip_version".into(), json!(4));
    o.insert("gateway_ip".into(), json!(s.gateway.map(ip_str)));
    let pools: Vec<Value> = s
        .pools
        .iter()
        .map(|p| json!({"start": ip_str(p.start), "end": ip_str(p.end)}))
        .collect();
    o.insert("allocation_pools".into(), json!(pools));
    o.insert("enable_dhcp".into(), json!(s.enable_dhcp));
    o.insert("dns_nameservers".into(), json!(s.dns_nameservers));
    o.insert("host_routes".into(), json!([]));
    o.insert("description".into(), json!(s.description));
    o.insert("ipv6_address_mode".into(), Value::Null);
    o.insert("ipv6_ra_mode".into(), Value::Null);
    o.insert("service_types".into(), json!([]));
    o.insert("subnetpool_id".into(), Value::Null);
    o.insert("router:external".into(), json!(false));
    standard(
        &mut o,
        &s.project_id,
        &s.tags,
        &s.created_at,
        &s.updated_at,
        s.revision,
    );
    Value::Object(o)
}

fn visible_subnet(net: &Net, s: &Subnet, project: &str) -> bool {
    net.networks
        .get(&s.network_id)
        .is_some_and(|n| visible(n, project))
}

pub fn list(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    let net = &w.site(ctx.site).net;
    let items = net
        .subnets
        .values()
        .filter(|s| visible_subnet(net, s, &ctx.token.project_id))
        .map(|s| {
            let mut v = view(s);
            v["router:external"] =
                json!(net.networks.get(&s.network_id).is_some_and(|n| n.external));
            v
        })
        .collect();
    page(ctx, "subnets", items)
}

fn nf(id: &str) -> axum::response::Response {
    not_found("SubnetNotFound", format!("Subnet {id} could not be found."))
}

pub fn show(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let net = &w.site(ctx.site).net;
    match net.subnets.get(id) {
        Some(s) if visible_subnet(net, s, &ctx.token.project_id) => {
            Ok(one(ctx, "subnet", view(s), StatusCode::OK))
        }
        _ => Err(nf(id)),
    }
}

/// A subnet as Neutron builds it from the request's attributes (used by the
/// API and by the topology's seed).
#[allow(clippy::too_many_arguments)]
pub fn build(
    name: &str,
    network_id: &str,
    project_id: &str,
    cidr: &str,
    gateway: Option<&str>,
    pools: Option<&[(String, String)]>,
    enable_dhcp: bool,
    dns: Vec<String>,
) -> Result<Subnet, String> {
    let Some((net, prefix)) = parse_cidr(cidr) else {
        return Err(format!("'{cidr}' is not a valid IP subnet"));
    };
    if prefix > 30 {
        return Err(format!(
            "Invalid input for operation: '{cidr}' is too small a subnet."
        ));
    }
    let broadcast = net | !mask(prefix);
    let gateway = match gateway {
        Some(g) => Some(parse_ip(g).ok_or_else(|| format!("'{g}' is not a valid IP address"))?),
        None => Some(net + 1),
    };
    if let Some(g) = gateway {
        if mask(prefix) & g != net {
            return Err(format!(
                "Gateway IP {} conflicts with the subnet {cidr}",
                ip_str(g)
            ));
        }
    }
    let pools = match pools {
        Some(list) => {
            let mut out = Vec::new();
            for (a, b) in list {
                let (Some(start), Some(end)) = (parse_ip(a), parse_ip(b)) else {
                    return Err(format!("Invalid allocation pool {a}-{b}"));
                };
                if start > end || mask(prefix) & start != net || mask(prefix) & end != net {
                    return Err(format!(
                        "The allocation pool {a}-{b} spans beyond the subnet cidr {cidr}."
                    ));
                }
                out.push(Pool { start, end });
            }
            out
        }
        None => {
            let first = net + 1;
            let last = broadcast - 1;
            // The gateway is left out of the pool (at its start or end).
            match gateway {
                Some(g) if g == first => vec![Pool {
                    start: first + 1,
                    end: last,
                }],
                Some(g) if g == last => vec![Pool {
                    start: first,
                    end: last - 1,
                }],
                Some(g) => vec![
                    Pool {
                        start: first,
                        end: g - 1,
                    },
                    Pool {
                        start: g + 1,
                        end: last,
                    },
                ],
                None => vec![Pool {
                    start: first,
                    end: last,
                }],
            }
        }
    };
    if let Some(g) = gateway {
        if pools.iter().any(|p| p.start <= g && g <= p.end) {
            return Err(format!(
                "Gateway ip {} conflicts with allocation pool",
                ip_str(g)
            ));
        }
    }
    let t = now();
    Ok(Subnet {
        id: new_id(),
        name: name.into(),
        network_id: network_id.into(),
        project_id: project_id.into(),
        net,
        prefix,
        gateway,
        pools,
        enable_dhcp,
        dns_nameservers: dns,
        description: String::new(),
        tags: vec![],
        created_at: t.clone(),
        updated_at: t,
        revision: 0,
        used: Default::default(),
    })
}

pub fn create(ctx: &Ctx) -> Reply {
    let b = body_of(ctx, "subnet")?;
    let Some(network_id) = str_of(&b, "network_id")? else {
        return Err(bad(
            "Failed to parse request. Required attribute 'network_id' not specified",
        ));
    };
    let Some(cidr) = str_of(&b, "cidr")? else {
        return Err(bad(
            "Bad subnets request: a subnetpool must be specified in the absence of a cidr.",
        ));
    };
    match b.get("ip_version").and_then(Value::as_i64) {
        Some(4) => {}
        Some(6) => return Err(invalid("the emulator's Neutron carries IPv4 subnets only")),
        _ => {
            return Err(bad(
                "Failed to parse request. Required attribute 'ip_version' not specified",
            ))
        }
    }
    let pools: Option<Vec<(String, String)>> = b
        .get("allocation_pools")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p.get("start")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        p.get("end")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                    )
                })
                .collect()
        });
    let dns: Vec<String> = b
        .get("dns_nameservers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let gateway = str_of(&b, "gateway_ip")?;
    let project = ctx.token.project_id.clone();
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    match s.net.networks.get(&network_id) {
        Some(n) if n.project_id == project || n.shared => {}
        _ => return Err(network_nf(&network_id)),
    }
    super::quotas::check(s, &project, "subnet", 1)?;
    let mut sub = build(
        &str_of(&b, "name")?.unwrap_or_default(),
        &network_id,
        &project,
        &cidr,
        gateway.as_deref(),
        pools.as_deref(),
        bool_of(&b, "enable_dhcp")?.unwrap_or(true),
        dns,
    )
    .map_err(invalid)?;
    if s.net.subnets_of(&network_id).iter().any(|o| {
        let m = mask(o.prefix.min(sub.prefix));
        o.net & m == sub.net & m
    }) {
        return Err(invalid(format!("Requested subnet with cidr: {cidr} for network: {network_id} overlaps with another subnet")));
    }
    sub.description = str_of(&b, "description")?.unwrap_or_default();
    sub.tags = tags_of(&b);
    let v = view(&sub);
    s.net.subnets.insert(sub.id.clone(), sub);
    Ok(one(ctx, "subnet", v, StatusCode::CREATED))
}

pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let net = &mut w.site_mut(ctx.site).net;
    match net.subnets.get(id) {
        Some(s) if s.project_id == ctx.token.project_id => {}
        _ => return Err(nf(id)),
    }
    if net
        .ports
        .values()
        .any(|p| p.fixed_ips.iter().any(|f| f.subnet_id == id))
    {
        return Err(conflict("SubnetInUse", format!("Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet.")));
    }
    net.subnets.remove(id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v2.0/network-ip-availabilities/{network_id}`.
pub fn availability(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let net = &w.site(ctx.site).net;
    let Some(n) = net
        .networks
        .get(id)
        .filter(|n| visible(n, &ctx.token.project_id))
    else {
        return Err(network_nf(id));
    };
    let mut total = 0u64;
    let mut used = 0u64;
    let subs: Vec<Value> = net
        .subnets_of(id)
        .iter()
        .map(|s| {
            let size: u64 = s.pools.iter().map(|p| (p.end - p.start) as u64 + 1).sum();
            let u = size - s.free_count();
            total += size;
            used += u;
            json!({"subnet_id": s.id, "subnet_name": s.name, "cidr": s.cidr(), "ip_version": 4, "total_ips": size, "used_ips": u})
        })
        .collect();
    Ok(one(
        ctx,
        "network_ip_availability",
        json!({"network_id": n.id, "network_name": n.name, "project_id": n.project_id, "tenant_id": n.project_id, "total_ips": total, "used_ips": used, "subnet_ip_availability": subs}),
        StatusCode::OK,
    ))
}
