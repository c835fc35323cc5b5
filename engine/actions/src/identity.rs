//! A VNF's network and compute identity: captured at the source
//! (`neutron.capture`) into the manifest, and compared at the target after
//! recovery (`neutron.compare_identity`): ports with their fixed IPs, MACs
//! and allowed-address pairs (VIPs), security groups with their rules,
//! floating IPs, server groups with their policy, key pairs.

use std::collections::{BTreeMap, BTreeSet};

use crate::args::ClientResult;
use crate::mapping::document::{GroupPolicy, SiteMapping};
use crate::records::*;
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::neutron::{Port, SecurityGroup};
use lifeboat_openstack::Client;
use serde_json::Value;

/// Names of networks and subnets (and subnet CIDRs) by id at a site.
pub(crate) struct Names {
    pub networks: BTreeMap<String, String>,
    pub subnets: BTreeMap<String, (String, String)>,
}

impl Names {
    pub async fn of(cx: &Ctx<'_>, c: &Client) -> Result<Names, ActionError> {
        let nets = c.neutron().networks(&[]).await.act(cx.action())?;
        let subs = c.neutron().subnets(&[]).await.act(cx.action())?;
        Ok(Names {
            networks: nets.into_iter().map(|n| (n.id, n.name)).collect(),
            subnets: subs.into_iter().map(|s| (s.id, (s.name, s.cidr))).collect(),
        })
    }
}

pub(crate) fn sg_rec(
    g: &SecurityGroup,
    site: &str,
    names: &BTreeMap<String, String>,
) -> SecurityGroupRec {
    let mut rules: Vec<SgRuleRec> = g
        .security_group_rules
        .iter()
        .map(|r| SgRuleRec {
            direction: r.direction.clone(),
            ethertype: r.ethertype.clone(),
            protocol: r.protocol.clone().unwrap_or_default(),
            port_min: r.port_range_min.map(i64::from).unwrap_or(-1),
            port_max: r.port_range_max.map(i64::from).unwrap_or(-1),
            remote_ip_prefix: r.remote_ip_prefix.clone().unwrap_or_default(),
            remote_group: r
                .remote_group_id
                .as_ref()
                .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()))
                .unwrap_or_default(),
        })
        .collect();
    rules.sort();
    SecurityGroupRec {
        id: g.id.clone(),
        name: g.name.clone(),
        site: site.to_string(),
        description: g.description.clone().unwrap_or_default(),
        rules,
        created: false,
    }
}

pub(crate) fn port_rec(
    p: &Port,
    site: &str,
    names: &Names,
    sg_names: &BTreeMap<String, String>,
) -> PortRec {
    PortRec {
        id: p.id.clone(),
        name: p.name.clone(),
        site: site.to_string(),
        network: names
            .networks
            .get(&p.network_id)
            .cloned()
            .unwrap_or_else(|| p.network_id.clone()),
        fixed_ips: p
            .fixed_ips
            .iter()
            .map(|f| {
                let (subnet, cidr) = names.subnets.get(&f.subnet_id).cloned().unwrap_or_default();
                FixedIpRec {
                    subnet,
                    cidr,
                    ip_address: f.ip_address.clone(),
                }
            })
            .collect(),
        mac_address: p.mac_address.clone(),
        allowed_address_pairs: p
            .allowed_address_pairs
            .iter()
            .map(|a| AddressPairRec {
                ip_address: a.ip_address.clone(),
                mac_address: a.mac_address.clone(),
            })
            .collect(),
        port_security: p.port_security_enabled.unwrap_or(true),
        vnic_type: p.vnic_type.clone().unwrap_or_else(|| "normal".into()),
        dns_name: p.dns_name.clone().unwrap_or_default(),
        security_groups: p
            .security_groups
            .iter()
            .map(|g| sg_names.get(g).cloned().unwrap_or_else(|| g.clone()))
            .collect(),
        ..Default::default()
    }
}

/// `neutron.capture(servers)`: everything the VNF's servers need to answer
/// on the network again, read at their site.
pub async fn capture(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let servers: Vec<ServerRec> = cx.args.list("servers")?;
    let Some(first) = servers.first() else {
        return cx.value(NetworkIdentityRec::default());
    };
    let site = first.site.clone();
    let c = cx.acts.client(&site)?;
    let names = Names::of(cx, c).await?;
    let ids: Vec<&str> = servers.iter().map(|s| s.id.as_str()).collect();
    let all_ports = c.neutron().ports_of_devices(&ids).await.act(cx.action())?;
    let groups = c.neutron().security_groups(&[]).await.act(cx.action())?;
    let sg_names: BTreeMap<String, String> = groups
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    let fips = c.neutron().floating_ips(&[]).await.act(cx.action())?;
    let mut ports = Vec::new();
    for s in &servers {
        // Its ports (bound to it), in the guest's NIC order: the order of
        // the server's addresses (Nova lists them NIC by NIC), not
        // Neutron's port order; a port without an address goes last.
        let macs = c
            .nova()
            .server(&s.id)
            .await
            .act(cx.action())?
            .addresses
            .macs();
        let mut mine: Vec<&lifeboat_openstack::neutron::Port> =
            all_ports.iter().filter(|p| p.device_id == s.id).collect();
        mine.sort_by_key(|p| {
            macs.iter()
                .position(|m| *m == p.mac_address)
                .unwrap_or(usize::MAX)
        });
        for (i, p) in mine.into_iter().enumerate() {
            let mut r = port_rec(p, &site, &names, &sg_names);
            r.server = s.name.clone();
            r.index = i as i64;
            ports.push(r);
        }
    }
    // VIPs: unbound ports holding an address the servers' ports allow.
    let pairs: BTreeSet<(String, String)> = ports
        .iter()
        .flat_map(|p| {
            p.allowed_address_pairs
                .iter()
                .map(|a| (p.network.clone(), a.ip_address.clone()))
        })
        .collect();
    // Asked for by address (a VNF has a few VIPs; the site many ports).
    let mut holders = Vec::new();
    let addresses: BTreeSet<&String> = pairs.iter().map(|(_, ip)| ip).collect();
    for ip in addresses {
        let filter = format!("ip_address={ip}");
        let found = c.neutron().ports(&[("fixed_ips", &filter)]).await;
        holders.extend(found.act(cx.action())?);
    }
    for p in &holders {
        if !p.device_id.is_empty() || ports.iter().any(|x| x.id == p.id) {
            continue;
        }
        let net = names
            .networks
            .get(&p.network_id)
            .cloned()
            .unwrap_or_default();
        if p.fixed_ips
            .iter()
            .any(|f| pairs.contains(&(net.clone(), f.ip_address.clone())))
        {
            let mut r = port_rec(p, &site, &names, &sg_names);
            r.index = -1;
            ports.push(r);
        }
    }
    for r in ports.iter_mut() {
        if let Some(f) = fips
            .iter()
            .find(|f| f.port_id.as_deref() == Some(r.id.as_str()))
        {
            r.floating_ip = f.floating_ip_address.clone();
            r.floating_network = names
                .networks
                .get(&f.floating_network_id)
                .cloned()
                .unwrap_or_default();
        }
    }
    // Security groups the ports use, and the groups their rules name.
    let mut wanted: BTreeSet<String> = ports
        .iter()
        .flat_map(|p| p.security_groups.iter().cloned())
        .collect();
    loop {
        let more: BTreeSet<String> = groups
            .iter()
            .filter(|g| wanted.contains(&g.name))
            .flat_map(|g| {
                g.security_group_rules
                    .iter()
                    .filter_map(|r| r.remote_group_id.as_ref())
            })
            .filter_map(|id| sg_names.get(id).cloned())
            .filter(|n| !wanted.contains(n))
            .collect();
        if more.is_empty() {
            break;
        }
        wanted.extend(more);
    }
    let security_groups = groups
        .iter()
        .filter(|g| wanted.contains(&g.name))
        .map(|g| sg_rec(g, &site, &sg_names))
        .collect();
    let by_id: BTreeMap<&str, &str> = servers
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let server_groups = c
        .nova()
        .server_groups()
        .await
        .act(cx.action())?
        .into_iter()
        .filter(|g| g.members.iter().any(|m| by_id.contains_key(m.as_str())))
        .map(|g| ServerGroupRec {
            id: g.id.clone(),
            name: g.name.clone(),
            site: site.clone(),
            policy: g.policy.clone(),
            members: g
                .members
                .iter()
                .filter_map(|m| by_id.get(m.as_str()).map(|n| n.to_string()))
                .collect(),
            created: false,
        })
        .collect();
    let key_names: BTreeSet<&str> = servers
        .iter()
        .map(|s| s.key_name.as_str())
        .filter(|k| !k.is_empty())
        .collect();
    let keypairs = c
        .nova()
        .keypairs()
        .await
        .act(cx.action())?
        .into_iter()
        .filter(|k| key_names.contains(k.name.as_str()))
        .map(|k| KeypairRec {
            name: k.name,
            site: site.clone(),
            public_key: k.public_key,
            kind: k.kind,
            created: false,
        })
        .collect();
    cx.value(NetworkIdentityRec {
        site,
        ports,
        security_groups,
        server_groups,
        keypairs,
    })
}

/// The address pairs of `live` against the expected ones (a translated
/// manifest's: a pair without a MAC names the port's own).
fn same_pairs(live: &PortRec, w: &PortRec) -> bool {
    let want: Vec<(String, String)> = w
        .allowed_address_pairs
        .iter()
        .map(|a| {
            let mac = if a.mac_address.is_empty() {
                live.mac_address.clone()
            } else {
                a.mac_address.clone()
            };
            (a.ip_address.clone(), mac)
        })
        .collect();
    let got: Vec<(String, String)> = live
        .allowed_address_pairs
        .iter()
        .map(|a| (a.ip_address.clone(), a.mac_address.clone()))
        .collect();
    got == want
}

/// Whether the expected port keeps its addresses (none left to Neutron).
fn keeps_addresses(w: &PortRec) -> bool {
    w.fixed_ips.iter().all(|f| !f.ip_address.is_empty())
}

/// `neutron.compare_identity(site, identity, ports)`: the recreated ports,
/// groups and floating IPs as the target's Neutron and Nova report them,
/// against the identity of the translated manifest (as recorded at the
/// source, mapped): an address or MAC it leaves empty was the target's to
/// choose and is not compared.
pub async fn compare(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let want: NetworkIdentityRec = cx.args.record("identity")?;
    let made: Vec<PortRec> = cx.args.list_flat("ports")?;
    let same_ips = want.ports.iter().all(keeps_addresses);
    let same_macs = want.ports.iter().all(|p| !p.mac_address.is_empty());
    let with_fips = cx.args.bool("floating_ips", true)?;
    let names = Names::of(cx, c).await?;
    let groups = c.neutron().security_groups(&[]).await.act(cx.action())?;
    let sg_names: BTreeMap<String, String> = groups
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    let fips = c.neutron().floating_ips(&[]).await.act(cx.action())?;
    let mut diffs: Vec<String> = Vec::new();
    let mut same_ports = 0;
    // Server id at the target → name at the source, from the ports' binding.
    let mut srv_names: BTreeMap<String, String> = BTreeMap::new();
    for w in &want.ports {
        let Some(m) = made.iter().find(|m| m.origin == w.id) else {
            diffs.push(format!("port {} was not recreated", w.name));
            continue;
        };
        let live = match c.neutron().port(&m.id).await {
            Ok(p) => {
                if !m.server.is_empty() {
                    srv_names.insert(p.device_id.clone(), m.server.clone());
                }
                port_rec(&p, c.site(), &names, &sg_names)
            }
            Err(e) => {
                diffs.push(format!("port {} ({}): {e}", w.name, m.id));
                continue;
            }
        };
        let ips = |p: &PortRec| {
            p.fixed_ips
                .iter()
                .map(|f| f.ip_address.clone())
                .collect::<Vec<_>>()
        };
        let mut d = Vec::new();
        let kept = keeps_addresses(w);
        if kept && ips(&live) != ips(w) {
            d.push(format!(
                "fixed IPs {:?} instead of {:?}",
                ips(&live),
                ips(w)
            ));
        }
        if !w.mac_address.is_empty() && live.mac_address != w.mac_address {
            d.push(format!(
                "MAC {} instead of {}",
                live.mac_address, w.mac_address
            ));
        }
        if kept && !same_pairs(&live, w) {
            d.push("allowed-address pairs differ".into());
        }
        let mut a = live.security_groups.clone();
        let mut b = w.security_groups.clone();
        a.sort();
        b.sort();
        if a != b {
            d.push(format!("security groups {a:?} instead of {b:?}"));
        }
        if d.is_empty() {
            same_ports += 1;
        } else {
            diffs.push(format!("port {}: {}", w.name, d.join(", ")));
        }
    }
    let mut same_rules = 0;
    for w in &want.security_groups {
        match groups.iter().find(|g| g.name == w.name) {
            Some(g) if sg_rec(g, c.site(), &sg_names).rules == w.rules => same_rules += 1,
            Some(_) => diffs.push(format!("security group {}: rules differ", w.name)),
            None => diffs.push(format!("security group {} is missing", w.name)),
        }
    }
    let live_groups = c.nova().server_groups().await.act(cx.action())?;
    let mut same_groups = 0;
    for w in &want.server_groups {
        let found = live_groups.iter().find(|g| {
            g.policy == w.policy && {
                let mut members: Vec<String> = g
                    .members
                    .iter()
                    .filter_map(|m| srv_names.get(m).cloned())
                    .collect();
                let mut want = w.members.clone();
                members.sort();
                want.sort();
                members == want
            }
        });
        match found {
            Some(_) => same_groups += 1,
            None => diffs.push(format!(
                "server group {} ({}): no group at {} holds the same servers with that policy",
                w.name,
                w.policy,
                c.site()
            )),
        }
    }
    let want_fips: Vec<&PortRec> = want
        .ports
        .iter()
        .filter(|p| with_fips && !p.floating_ip.is_empty())
        .collect();
    let mut same_fips = 0;
    for w in &want_fips {
        let port = made
            .iter()
            .find(|m| m.origin == w.id)
            .map(|m| m.id.clone())
            .unwrap_or_default();
        match fips
            .iter()
            .find(|f| f.port_id.as_deref() == Some(port.as_str()))
        {
            Some(f) if f.floating_ip_address == w.floating_ip || !keeps_addresses(w) => {
                same_fips += 1
            }
            Some(f) => diffs.push(format!(
                "floating IP {} instead of {} on port {}",
                f.floating_ip_address, w.floating_ip, w.name
            )),
            None => diffs.push(format!("no floating IP on port {}", w.name)),
        }
    }
    let checked =
        want.ports.len() + want.security_groups.len() + want.server_groups.len() + want_fips.len();
    let mut detail = format!(
        "{same_ports}/{} ports {}, {same_rules}/{} security groups, {same_groups}/{} server groups, {same_fips}/{} floating IP{}",
        want.ports.len(),
        match (same_ips, same_macs) {
            (true, true) => "identical (IPs, MACs, VIP pairs)",
            (true, false) => "as recorded (IPs, VIP pairs; new MACs)",
            (false, true) => "as recorded (MACs; new addresses)",
            (false, false) => "as recorded (networks, groups; new addresses and MACs)",
        },
        want.security_groups.len(),
        want.server_groups.len(),
        want_fips.len(),
        if want_fips.len() == 1 { "" } else { "s" }
    );
    if !diffs.is_empty() {
        detail.push_str("; ");
        detail.push_str(&diffs.join("; "));
    }
    cx.value(VerificationRec {
        ok: diffs.is_empty(),
        checked: checked as i64,
        detail,
    })
}

/// What the target site lacks to take a VNF as its translated manifest
/// (`lifeboat.apply_mapping`) describes it, found by reading only: the
/// networks; each kept address inside a subnet of its network and held by
/// nothing (but a port an earlier run made for the same source port); for
/// a new address, its subnet on the network; each kept MAC free on its
/// network; the external networks of the floating IPs; what the mapping
/// names — groups to map to, zones, volume types, the gateway and DNS
/// servers a re-IP rule promises; and room in the quotas for the ports,
/// security groups and rules, floating IPs, server groups, instances, cores
/// and RAM. Empty: nothing in the way.
pub(crate) async fn target_problems(
    c: &Client,
    m: &ManifestRec,
    map: &SiteMapping,
    floating: bool,
) -> lifeboat_openstack::Result<Vec<String>> {
    let site = c.site().to_string();
    let id = &m.network;
    let mut out = Vec::new();
    let nets = c.neutron().networks(&[]).await?;
    let subnets = c.neutron().subnets(&[]).await?;
    let ports = if id.ports.is_empty() {
        vec![]
    } else {
        c.neutron().ports(&[]).await?
    };
    let mut adoptable = 0i64;
    for p in &id.ports {
        let name = &p.network;
        let found: Vec<_> = nets.iter().filter(|n| &n.name == name).collect();
        let net = match found.as_slice() {
            [one] => one,
            [] => {
                out.push(format!(
                    "port {}: no network named {name:?} at {site}",
                    p.name
                ));
                continue;
            }
            many => {
                out.push(format!(
                    "port {}: {} networks are named {name:?} at {site}",
                    p.name,
                    many.len()
                ));
                continue;
            }
        };
        let origin = format!("origin={}", p.id);
        let ours = |x: &lifeboat_openstack::neutron::Port| {
            x.device_id.is_empty()
                && x.description
                    .as_deref()
                    .is_some_and(|d| d.starts_with("lifeboat ") && d.ends_with(&origin))
        };
        let on_net: Vec<_> = ports.iter().filter(|x| x.network_id == net.id).collect();
        if on_net.iter().any(|x| ours(x)) {
            adoptable += 1;
        }
        for f in &p.fixed_ips {
            if f.ip_address.is_empty() {
                if !subnets
                    .iter()
                    .any(|s| s.network_id == net.id && (s.name == f.subnet || s.cidr == f.cidr))
                {
                    out.push(format!("port {}: network {name} at {site} has no subnet named {} or with CIDR {} for its new address", p.name, f.subnet, f.cidr));
                }
                continue;
            }
            if !subnets
                .iter()
                .any(|s| s.network_id == net.id && s.contains(&f.ip_address))
            {
                out.push(format!(
                    "port {}: address {} ({}) lies in no subnet of network {name} at {site}",
                    p.name, f.ip_address, f.cidr
                ));
            }
            if let Some(h) = on_net
                .iter()
                .find(|x| !ours(x) && x.fixed_ips.iter().any(|y| y.ip_address == f.ip_address))
            {
                out.push(format!(
                    "port {}: address {} is taken at {site} by port {} ({})",
                    p.name,
                    f.ip_address,
                    h.id,
                    if h.device_id.is_empty() {
                        "unbound".to_string()
                    } else {
                        format!("of {} {}", h.device_owner, h.device_id)
                    }
                ));
            }
        }
        if !p.mac_address.is_empty() {
            if let Some(h) = on_net
                .iter()
                .find(|x| !ours(x) && x.mac_address == p.mac_address)
            {
                out.push(format!(
                    "port {}: MAC {} is taken on network {name} at {site} by port {}",
                    p.name, p.mac_address, h.id
                ));
            }
        }
        if floating
            && !p.floating_ip.is_empty()
            && !nets.iter().any(|n| n.name == p.floating_network)
        {
            out.push(format!(
                "port {}: its floating IP's external network {:?} is not at {site}",
                p.name, p.floating_network
            ));
        }
    }
    // What the mapping promises of the target.
    for (i, r) in map.reip.iter().enumerate() {
        let used = id.ports.iter().any(|p| {
            p.fixed_ips
                .iter()
                .any(|f| f.ip_address.parse().is_ok_and(|ip| r.to.contains(ip)))
        });
        if !used || (r.gateway.is_none() && r.dns.is_empty()) {
            continue;
        }
        let to = r.to.to_string();
        match subnets.iter().find(|s| s.cidr == to) {
            None => out.push(format!(
                "re-IP rule {}: no subnet at {site} has CIDR {to}",
                i + 1
            )),
            Some(s) => {
                if let Some(g) = r.gateway {
                    let g = g.0.to_string();
                    if s.gateway_ip.as_deref() != Some(g.as_str()) {
                        out.push(format!("re-IP rule {}: subnet {} ({to}) at {site} has gateway {} instead of {g}", i + 1, s.name, s.gateway_ip.as_deref().unwrap_or("none")));
                    }
                }
                let dns: Vec<String> = r.dns.iter().map(|d| d.0.to_string()).collect();
                if !dns.iter().all(|d| s.dns_nameservers.contains(d)) {
                    out.push(format!("re-IP rule {}: subnet {} ({to}) at {site} offers DNS servers {:?}, not {dns:?}", i + 1, s.name, s.dns_nameservers));
                }
            }
        }
    }
    // The target's security groups, read once (mapped groups, quotas).
    let groups = if id.ports.is_empty() && id.security_groups.is_empty() {
        vec![]
    } else {
        c.neutron().security_groups(&[]).await?
    };
    if map.security_groups == GroupPolicy::Map {
        for g in &id.security_groups {
            if !groups.iter().any(|x| x.name == g.name) {
                out.push(format!(
                    "security group {} (mapped) is not at {site}",
                    g.name
                ));
            }
        }
    }
    let zones: BTreeSet<&str> = m
        .servers
        .iter()
        .map(|s| s.availability_zone.as_str())
        .filter(|z| !z.is_empty())
        .collect();
    if !zones.is_empty() {
        let there = c.nova().availability_zones().await?;
        for z in zones {
            if !there.iter().any(|t| t == z) {
                out.push(format!(
                    "availability zone {z} is not available at {site} (zones there: {})",
                    there.join(", ")
                ));
            }
        }
    }
    // The types the volumes are restored into or adopted with (mapped).
    let types: BTreeSet<&str> = m
        .volumes
        .iter()
        .map(|v| v.volume_type.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    if !types.is_empty() {
        let there = c.cinder().volume_type_names().await?;
        for t in types {
            if !there.iter().any(|x| x == t) {
                let how = if map.volume_types.iter().any(|x| x.to == t) {
                    "mapped"
                } else {
                    "as recorded; map it in the site mapping's volume_types"
                };
                out.push(format!(
                    "volume type {t} ({how}) is not at {site} (types there: {})",
                    there.join(", ")
                ));
            }
        }
    }
    // Quotas: networking.
    if !id.ports.is_empty() || !id.security_groups.is_empty() {
        let project = c.project_id().await?;
        let q = c.neutron().quota_details(&project).await?;
        let missing: Vec<&SecurityGroupRec> = id
            .security_groups
            .iter()
            .filter(|g| !groups.iter().any(|x| x.name == g.name))
            .collect();
        let fips = if floating {
            id.ports
                .iter()
                .filter(|p| !p.floating_ip.is_empty())
                .count()
        } else {
            0
        };
        let needs = [
            ("port", id.ports.len() as i64 - adoptable),
            ("security_group", missing.len() as i64),
            (
                "security_group_rule",
                missing.iter().map(|g| g.rules.len()).sum::<usize>() as i64,
            ),
            ("floatingip", fips as i64),
        ];
        for (k, n) in needs {
            if let Some(d) = q.get(k) {
                if n > 0 && !d.room_for(n) {
                    out.push(format!(
                        "quota at {site}: {n} more {k}(s) needed, {} used of {}",
                        d.used + d.reserved,
                        d.limit
                    ));
                }
            }
        }
    }
    // Quotas: block storage (the volumes restored or adopted).
    if !m.volumes.is_empty() {
        let l = c.cinder().limits().await?;
        let get = |k: &str| l.get(k).and_then(Value::as_i64);
        let gb: i64 = m.volumes.iter().map(|v| v.size_gb).sum();
        for (what, n, max, used) in [
            (
                "volumes",
                m.volumes.len() as i64,
                "maxTotalVolumes",
                "totalVolumesUsed",
            ),
            (
                "gigabytes",
                gb,
                "maxTotalVolumeGigabytes",
                "totalGigabytesUsed",
            ),
        ] {
            if let (Some(max), Some(used)) = (get(max), get(used)) {
                if max >= 0 && used + n > max {
                    out.push(format!(
                        "quota at {site}: {n} more {what} needed, {used} used of {max}"
                    ));
                }
            }
        }
    }
    // Quotas: compute.
    if !m.servers.is_empty() {
        let flavors = c.nova().flavors().await?;
        let (mut cores, mut ram) = (0i64, 0i64);
        for s in &m.servers {
            match flavors
                .iter()
                .find(|f| f.name == s.flavor || f.id == s.flavor)
            {
                Some(f) => {
                    cores += f.vcpus as i64;
                    ram += f.ram as i64;
                }
                None => out.push(format!(
                    "server {}: flavor {:?} does not exist at {site}",
                    s.name, s.flavor
                )),
            }
        }
        let l = c.nova().limits().await?;
        let get = |k: &str| l.get(k).and_then(Value::as_i64);
        for (what, n, max, used) in [
            (
                "instances",
                m.servers.len() as i64,
                "maxTotalInstances",
                "totalInstancesUsed",
            ),
            ("cores", cores, "maxTotalCores", "totalCoresUsed"),
            ("RAM (MiB)", ram, "maxTotalRAMSize", "totalRAMUsed"),
            (
                "server groups",
                id.server_groups.len() as i64,
                "maxServerGroups",
                "totalServerGroupsUsed",
            ),
        ] {
            if let (Some(max), Some(used)) = (get(max), get(used)) {
                if max >= 0 && used + n > max {
                    out.push(format!(
                        "quota at {site}: {n} more {what} needed, {used} used of {max}"
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// `lifeboat.check_target(site, manifest, mapping, floating_ips)`: fails,
/// naming every problem, when the target site cannot take the VNF as its
/// translated manifest describes it — before anything is created.
pub async fn check_target(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let m: ManifestRec = cx.args.record("manifest")?;
    let map: SiteMapping = cx.args.record("mapping")?;
    let problems = target_problems(c, &m, &map, cx.args.bool("floating_ips", true)?)
        .await
        .act(cx.action())?;
    if !problems.is_empty() {
        return Err(ActionError::permanent(format!(
            "{}: site {} cannot take {} as recorded ({} problem{}): {}",
            cx.action(),
            c.site(),
            m.vnf,
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            problems.join("; ")
        ))
        .with_hint("free the addresses or MACs, create or rename the networks, raise the quotas at the backup site — or change the site mapping (networks, subnets, reip, ports: new); nothing was created"));
    }
    cx.value(VerificationRec {
        ok: true,
        checked: (m.network.ports.len() + m.servers.len()) as i64,
        detail: format!(
            "{}: {} ports, {} servers fit at {}",
            m.vnf,
            m.network.ports.len(),
            m.servers.len(),
            c.site()
        ),
    })
}
