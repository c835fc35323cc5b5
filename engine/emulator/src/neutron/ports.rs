//! Ports: fixed IPs allocated from the subnets' pools (or asked for, then
//! refused with `IpAddressAlreadyAllocated` when taken), MACs generated
//! with OpenStack's `fa:16:3e` base (or asked for, refused with
//! `MacAddressInUse` when taken on the network), allowed-address pairs,
//! port security and security groups, and the `device_id` / `device_owner`
//! Nova sets when it binds a port to a server.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::networks::nf as network_nf;
use super::state::{ip_str, normal_mac, parse_ip, AddressPair, FixedIp, Net, Port};
use super::{
    bad, body_of, bool_of, conflict, invalid, list as page, not_found, now, one, standard, str_of,
    tags_of,
};
use crate::errors::Reply;
use crate::routing::Ctx;
use crate::world::{new_id, SiteState};

pub fn view(p: &Port) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(p.id));
    o.insert("name".into(), json!(p.name));
    o.insert("network_id".into(), json!(p.network_id));
    o.insert("mac_address".into(), json!(p.mac));
    let fixed: Vec<Value> = p
        .fixed_ips
        .iter()
        .map(|f| json!({"subnet_id": f.subnet_id, "ip_address": ip_str(f.ip)}))
        .collect();
    o.insert("fixed_ips".into(), json!(fixed));
    let pairs: Vec<Value> = p
        .allowed_address_pairs
        .iter()
        .map(|a| json!({"ip_address": a.ip_address, "mac_address": a.mac_address}))
        .collect();
    o.insert("allowed_address_pairs".into(), json!(pairs));
    o.insert("security_groups".into(), json!(p.security_groups));
    o.insert(
        "port_security_enabled".into(),
        json!(p.port_security_enabled),
    );
    o.insert("device_id".into(), json!(p.device_id));
    o.insert("device_owner".into(), json!(p.device_owner));
    o.insert("binding:vnic_type".into(), json!(p.vnic_type));
    o.insert("admin_state_up".into(), json!(p.admin_state_up));
    o.insert("status".into(), json!(p.status()));
    o.insert("description".into(), json!(p.description));
    o.insert("dns_name".into(), json!(p.dns_name));
    let hostname = if p.dns_name.is_empty() {
        p.fixed_ips
            .first()
            .map(|f| format!("host-{}", ip_str(f.ip).replace('.', "-")))
            .unwrap_or_default()
    } else {
        p.dns_name.clone()
    };
    let dns: Vec<Value> = p
        .fixed_ips
        .iter()
        .map(|f| json!({"hostname": hostname, "ip_address": ip_str(f.ip), "fqdn": format!("{hostname}.openstacklocal.")}))
        .collect();
    o.insert("dns_assignment".into(), json!(dns));
    o.insert("extra_dhcp_opts".into(), json!([]));
    standard(
        &mut o,
        &p.project_id,
        &p.tags,
        &p.created_at,
        &p.updated_at,
        p.revision,
    );
    Value::Object(o)
}

pub fn list(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    let net = &w.site(ctx.site).net;
    // Only the asked-for devices' ports are looked at (found by the
    // site's device index) and viewed; the generic filter then applies as
    // to any list: a site may hold tens of thousands of ports.
    let devices: std::collections::HashSet<&str> = ctx.q_all("device_id").collect();
    // Likewise the asked-for addresses (`fixed_ips=ip_address=…`, a VIP
    // looked up by address): a port without one is never viewed. The
    // generic filter still decides; this only skips what it would drop.
    let wanted: Vec<FixedIpWant> = ctx
        .q_all("fixed_ips")
        .filter_map(FixedIpWant::parse)
        .collect();
    let keep = |p: &&Port| {
        p.project_id == ctx.token.project_id
            && wanted
                .iter()
                .all(|w| p.fixed_ips.iter().any(|f| w.met_by(f)))
    };
    // In id order, as every list: the device index gives it; the whole
    // site's ports are sorted once filtered (few are left).
    let ports: Vec<&Port> = if devices.is_empty() {
        let mut all: Vec<&Port> = net.ports.values_unordered().filter(keep).collect();
        all.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        all
    } else {
        net.ports
            .of_devices(&devices)
            .into_iter()
            .filter(keep)
            .collect()
    };
    page(ctx, "ports", ports.into_iter().map(view).collect())
}

/// One `fixed_ips=KEY=VALUE` filter a port's own fields can answer; other
/// keys (`ip_address_substr`) are left to the generic filter.
enum FixedIpWant {
    Address(u32),
    Subnet(String),
}

impl FixedIpWant {
    fn parse(q: &str) -> Option<Self> {
        match q.split_once('=')? {
            ("ip_address", v) => parse_ip(v).map(FixedIpWant::Address),
            ("subnet_id", v) => Some(FixedIpWant::Subnet(v.to_string())),
            _ => None,
        }
    }

    fn met_by(&self, f: &FixedIp) -> bool {
        match self {
            FixedIpWant::Address(ip) => f.ip == *ip,
            FixedIpWant::Subnet(id) => f.subnet_id == *id,
        }
    }
}

pub(crate) fn nf(id: &str) -> Response {
    not_found("PortNotFound", format!("Port {id} could not be found."))
}

pub fn show(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    match w.site(ctx.site).net.ports.get(id) {
        Some(p) if p.project_id == ctx.token.project_id => {
            Ok(one(ctx, "port", view(p), StatusCode::OK))
        }
        _ => Err(nf(id)),
    }
}

/// What a create or update asks for the port's addresses.
struct Wanted {
    subnet_id: Option<String>,
    ip: Option<u32>,
}

fn wanted_fixed_ips(v: &Value) -> Result<Vec<Wanted>, Response> {
    let Some(list) = v.as_array() else {
        return Err(invalid(format!("Invalid data format for fixed IP: '{v}'")));
    };
    let mut out = Vec::new();
    for f in list {
        let subnet_id = f
            .get("subnet_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        let ip = match f.get("ip_address").and_then(Value::as_str) {
            Some(a) => Some(
                parse_ip(a).ok_or_else(|| invalid(format!("'{a}' is not a valid IP address")))?,
            ),
            None => None,
        };
        if subnet_id.is_none() && ip.is_none() {
            return Err(invalid(format!("Invalid data format for fixed IP: '{f}'")));
        }
        out.push(Wanted { subnet_id, ip });
    }
    Ok(out)
}

/// Allocate the wanted addresses on `network_id` (all or none).
fn allocate(
    net: &mut Net,
    network_id: &str,
    wanted: Option<Vec<Wanted>>,
) -> Result<Vec<FixedIp>, Response> {
    let subnets: Vec<String> = net
        .subnets_of(network_id)
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let mut picked: Vec<FixedIp> = Vec::new();
    let wanted = match wanted {
        Some(w) => w,
        // No fixed_ips: one address from the first subnet with room.
        None => {
            if subnets.is_empty() {
                return Ok(vec![]);
            }
            for sid in &subnets {
                if let Some(ip) = net.subnets[sid].next_free() {
                    net.subnets.get_mut(sid).expect("listed").used.insert(ip);
                    return Ok(vec![FixedIp {
                        subnet_id: sid.clone(),
                        ip,
                    }]);
                }
            }
            return Err(conflict(
                "IpAddressGenerationFailure",
                format!("No more IP addresses available on network {network_id}."),
            ));
        }
    };
    let undo = |net: &mut Net, picked: &[FixedIp]| {
        for f in picked {
            if let Some(s) = net.subnets.get_mut(&f.subnet_id) {
                s.used.remove(&f.ip);
            }
        }
    };
    for w in wanted {
        let sid = match (&w.subnet_id, w.ip) {
            (Some(sid), _) => {
                if !subnets.contains(sid) {
                    undo(net, &picked);
                    return Err(invalid(format!("Failed to create port on network {network_id}, because fixed_ips included invalid subnet {sid}")));
                }
                sid.clone()
            }
            (None, Some(ip)) => match subnets.iter().find(|s| net.subnets[*s].contains(ip)) {
                Some(s) => s.clone(),
                None => {
                    undo(net, &picked);
                    return Err(bad(format!("IP address {} is not a valid IP for any of the subnets on the specified network.", ip_str(ip))));
                }
            },
            (None, None) => unreachable!("checked when parsed"),
        };
        let s = net.subnets.get_mut(&sid).expect("on the network");
        let ip = match w.ip {
            Some(ip) => {
                if !s.contains(ip) {
                    undo(net, &picked);
                    return Err(bad(format!(
                        "IP address {} is not a valid IP for the specified subnet.",
                        ip_str(ip)
                    )));
                }
                if s.used.contains(&ip) {
                    let msg = format!(
                        "IP address {} already allocated in subnet {sid}",
                        ip_str(ip)
                    );
                    undo(net, &picked);
                    return Err(conflict("IpAddressAlreadyAllocated", msg));
                }
                ip
            }
            None => match s.next_free() {
                Some(ip) => ip,
                None => {
                    undo(net, &picked);
                    return Err(conflict(
                        "IpAddressGenerationFailure",
                        format!("No more IP addresses available for subnet {sid}."),
                    ));
                }
            },
        };
        net.subnets
            .get_mut(&sid)
            .expect("on the network")
            .used
            .insert(ip);
        picked.push(FixedIp { subnet_id: sid, ip });
    }
    Ok(picked)
}

fn pairs_of(v: &Value, port_mac: &str) -> Result<Vec<AddressPair>, Response> {
    let Some(list) = v.as_array() else {
        return Err(invalid("Allowed address pairs must be a list."));
    };
    let mut out: Vec<AddressPair> = Vec::new();
    for p in list {
        let Some(ip) = p.get("ip_address").and_then(Value::as_str) else {
            return Err(bad("AllowedAddressPair must contain ip_address"));
        };
        let ok = parse_ip(ip).is_some() || super::state::parse_cidr(ip).is_some();
        if !ok {
            return Err(invalid(format!("'{ip}' is not a valid IP address")));
        }
        let mac = match p.get("mac_address").and_then(Value::as_str) {
            Some(m) => {
                normal_mac(m).ok_or_else(|| invalid(format!("'{m}' is not a valid MAC address")))?
            }
            None => port_mac.to_string(),
        };
        let pair = AddressPair {
            ip_address: ip.to_string(),
            mac_address: mac,
        };
        if out.contains(&pair) {
            return Err(bad(
                "Request contains duplicate address pair: mac_address and ip_address.",
            ));
        }
        out.push(pair);
    }
    Ok(out)
}

fn groups_of(s: &SiteState, v: &Value, project: &str) -> Result<Vec<String>, Response> {
    let Some(list) = v.as_array() else {
        return Err(invalid(format!("'{v}' is not a list")));
    };
    let mut out = Vec::new();
    for g in list {
        let id = g.as_str().unwrap_or("");
        match s.net.security_groups.get(id) {
            Some(sg) if sg.project_id == project => {
                if !out.contains(&sg.id) {
                    out.push(sg.id.clone())
                }
            }
            _ => {
                return Err(not_found(
                    "SecurityGroupNotFound",
                    format!("Security group {id} does not exist"),
                ))
            }
        }
    }
    Ok(out)
}

fn check_security(
    port_security: bool,
    groups: &[String],
    pairs: &[AddressPair],
) -> Result<(), Response> {
    if !port_security && !groups.is_empty() {
        return Err(conflict("PortSecurityAndIPRequiredForSecurityGroups", "Port security must be enabled and port must have an IP address in order to use security groups."));
    }
    if !port_security && !pairs.is_empty() {
        return Err(conflict(
            "AddressPairAndPortSecurityRequired",
            "Port Security must be enabled in order to have allowed address pairs on a port.",
        ));
    }
    Ok(())
}

pub fn create(ctx: &Ctx) -> Reply {
    let b = body_of(ctx, "port")?;
    let Some(network_id) = str_of(&b, "network_id")? else {
        return Err(bad(
            "Failed to parse request. Required attribute 'network_id' not specified",
        ));
    };
    let project = ctx.token.project_id.clone();
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    let Some(n) = s
        .net
        .networks
        .get(&network_id)
        .filter(|n| n.project_id == project || n.shared)
    else {
        return Err(network_nf(&network_id));
    };
    let port_security = bool_of(&b, "port_security_enabled")?.unwrap_or(n.port_security_enabled);
    let mac = match str_of(&b, "mac_address")? {
        Some(m) => {
            let m = normal_mac(&m)
                .ok_or_else(|| invalid(format!("'{m}' is not a valid MAC address")))?;
            if s.net.mac_in_use(&network_id, &m) {
                return Err(conflict("MacAddressInUse", format!("Unable to complete operation for network {network_id}. The mac address {m} is in use.")));
            }
            m
        }
        None => s.net.new_mac(&network_id),
    };
    let pairs = match b.get("allowed_address_pairs") {
        Some(v) => pairs_of(v, &mac)?,
        None => vec![],
    };
    let groups = match b.get("security_groups") {
        Some(v) => groups_of(s, v, &project)?,
        None if port_security => vec![s.net.default_sg(&project, &now())],
        None => vec![],
    };
    check_security(port_security, &groups, &pairs)?;
    let wanted = match b.get("fixed_ips") {
        Some(v) => Some(wanted_fixed_ips(v)?),
        None => None,
    };
    super::quotas::check(s, &project, "port", 1)?;
    let fixed_ips = allocate(&mut s.net, &network_id, wanted)?;
    let p = Port {
        allowed_address_pairs: pairs,
        device_id: str_of(&b, "device_id")?.unwrap_or_default(),
        device_owner: str_of(&b, "device_owner")?.unwrap_or_default(),
        host: str_of(&b, "binding:host_id")?.unwrap_or_default(),
        vnic_type: str_of(&b, "binding:vnic_type")?.unwrap_or_else(|| "normal".into()),
        dns_name: str_of(&b, "dns_name")?.unwrap_or_default(),
        admin_state_up: bool_of(&b, "admin_state_up")?.unwrap_or(true),
        description: str_of(&b, "description")?.unwrap_or_default(),
        tags: tags_of(&b),
        ..Port::unbound(
            new_id(),
            str_of(&b, "name")?.unwrap_or_default(),
            network_id,
            project,
            mac,
            fixed_ips,
            groups,
            port_security,
        )
    };
    let v = view(&p);
    s.net.ports.insert(p.id.clone(), p);
    Ok(one(ctx, "port", v, StatusCode::CREATED))
}

pub fn update(ctx: &Ctx, id: &str) -> Reply {
    let b = body_of(ctx, "port")?;
    let project = ctx.token.project_id.clone();
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    let Some(old) = s
        .net
        .ports
        .get(id)
        .filter(|p| p.project_id == project)
        .cloned()
    else {
        return Err(nf(id));
    };
    let mut p = old.clone();
    if let Some(n) = str_of(&b, "name")? {
        p.name = n;
    }
    if let Some(d) = str_of(&b, "description")? {
        p.description = d;
    }
    if let Some(d) = str_of(&b, "device_id")? {
        p.device_id = d;
    }
    if let Some(d) = str_of(&b, "device_owner")? {
        p.device_owner = d;
    }
    if let Some(h) = str_of(&b, "binding:host_id")? {
        p.host = h;
    }
    if let Some(d) = str_of(&b, "dns_name")? {
        p.dns_name = d;
    }
    if let Some(a) = bool_of(&b, "admin_state_up")? {
        p.admin_state_up = a;
    }
    if let Some(ps) = bool_of(&b, "port_security_enabled")? {
        p.port_security_enabled = ps;
    }
    if let Some(m) = str_of(&b, "mac_address")? {
        let m =
            normal_mac(&m).ok_or_else(|| invalid(format!("'{m}' is not a valid MAC address")))?;
        if m != p.mac {
            if !p.host.is_empty() {
                return Err(conflict("PortBound", format!("Unable to complete operation on port {id}, port is already bound, port type: ovs, old_mac {}, new_mac {m}.", p.mac)));
            }
            if s.net.mac_in_use(&p.network_id, &m) {
                return Err(conflict("MacAddressInUse", format!("Unable to complete operation for network {}. The mac address {m} is in use.", p.network_id)));
            }
            p.mac = m;
        }
    }
    if let Some(v) = b.get("allowed_address_pairs") {
        p.allowed_address_pairs = pairs_of(v, &p.mac)?;
    }
    if let Some(v) = b.get("security_groups") {
        p.security_groups = groups_of(s, v, &project)?;
    }
    check_security(
        p.port_security_enabled,
        &p.security_groups,
        &p.allowed_address_pairs,
    )?;
    if let Some(v) = b.get("fixed_ips") {
        let wanted = wanted_fixed_ips(v)?;
        // Keep the addresses asked for again; release the others after.
        for f in &old.fixed_ips {
            if let Some(sub) = s.net.subnets.get_mut(&f.subnet_id) {
                sub.used.remove(&f.ip);
            }
        }
        match allocate(&mut s.net, &p.network_id, Some(wanted)) {
            Ok(ips) => p.fixed_ips = ips,
            Err(e) => {
                for f in &old.fixed_ips {
                    if let Some(sub) = s.net.subnets.get_mut(&f.subnet_id) {
                        sub.used.insert(f.ip);
                    }
                }
                return Err(e);
            }
        }
    }
    p.updated_at = now();
    p.revision += 1;
    let v = view(&p);
    s.net.ports.insert(id.to_string(), p);
    Ok(one(ctx, "port", v, StatusCode::OK))
}

pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    match s.net.ports.get(id) {
        Some(p) if p.project_id == ctx.token.project_id => {}
        _ => return Err(nf(id)),
    }
    s.net.remove_port(id);
    // Nova hears of it (network-vif-deleted): the interface is gone.
    for srv in s.servers.values_unordered_mut() {
        srv.ports.retain(|p| p != id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A port Nova makes for `networks: [{"uuid": …, "fixed_ip": …}]`: the
/// network's defaults, the project's default security group. Err: Nova's
/// message for the failure.
pub fn make(
    s: &mut SiteState,
    project: &str,
    network_id: &str,
    fixed_ip: Option<u32>,
) -> Result<String, String> {
    let Some(n) = s.net.networks.get(network_id) else {
        return Err(format!("Network {network_id} could not be found."));
    };
    let port_security = n.port_security_enabled;
    if super::quotas::check(s, project, "port", 1).is_err() {
        return Err("Maximum number of ports exceeded".into());
    }
    let wanted = fixed_ip.map(|ip| {
        vec![Wanted {
            subnet_id: None,
            ip: Some(ip),
        }]
    });
    let fixed_ips = allocate(&mut s.net, network_id, wanted).map_err(|_| match fixed_ip {
        Some(ip) => format!("Fixed IP address {} is already in use.", ip_str(ip)),
        None => format!("No more IP addresses available on network {network_id}."),
    })?;
    let t = now();
    let groups = if port_security {
        vec![s.net.default_sg(project, &t)]
    } else {
        vec![]
    };
    let mac = s.net.new_mac(network_id);
    let p = Port::unbound(
        new_id(),
        String::new(),
        network_id.to_string(),
        project.to_string(),
        mac,
        fixed_ips,
        groups,
        port_security,
    );
    let id = p.id.clone();
    s.net.ports.insert(id.clone(), p);
    Ok(id)
}
