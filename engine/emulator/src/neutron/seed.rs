//! The network identity a seeded world starts with. At both sites: each
//! topology network with one IPv4 subnet (the same CIDR at both sites, as a
//! DR pair with stretched or mirrored addressing has), an isolated
//! `<name>-test` twin for drills, and the external network `public`. At the
//! servers' site, per VNF (metadata `vnf`, `role`): a security group and a
//! server group per role (anti-affinity while the hosts suffice), a port per
//! server network, a key pair, and for the `lb` role a VIP port on its last
//! network, shared by the lb servers through allowed-address pairs, with a
//! floating IP.

use std::collections::BTreeMap;

use super::state::{ip_str, AddressPair, FixedIp, FloatingIp, Network, Port, Rule, SecurityGroup};
use crate::world::{now_z, stable_id, Keypair, ServerGroup, Site, SiteState};

/// Compute hosts per site.
pub const HOSTS: usize = 16;
/// The external network of both sites and its CIDR.
pub const PUBLIC: &str = "public";
const PUBLIC_CIDR: &str = "203.0.113.0/24";

/// The subnet CIDR of the `i`-th topology network (same at both sites).
pub fn cidr_of(i: usize) -> String {
    format!("10.{}.0.0/16", i + 1)
}

fn network(site: Site, name: &str, project: &str, external: bool) -> Network {
    let t = now_z();
    Network {
        id: stable_id(&format!("{site}:net:{name}")),
        name: name.into(),
        project_id: project.into(),
        external,
        shared: false,
        mtu: 1500,
        port_security_enabled: true,
        admin_state_up: true,
        description: String::new(),
        tags: vec![],
        created_at: t.clone(),
        updated_at: t,
        revision: 1,
    }
}

fn add_network(
    s: &mut SiteState,
    site: Site,
    name: &str,
    project: &str,
    cidr: &str,
    external: bool,
) {
    let n = network(site, name, project, external);
    let mut sub = super::subnets::build(
        &format!("{name}-subnet"),
        &n.id,
        project,
        cidr,
        None,
        None,
        !external,
        vec![],
    )
    .expect("seeded CIDRs are valid");
    sub.id = stable_id(&format!("{site}:subnet:{name}"));
    s.net.subnets.insert(sub.id.clone(), sub);
    s.net.networks.insert(n.id.clone(), n);
}

/// Networks, subnets, hosts and the default security group of a site.
pub fn seed_site(s: &mut SiteState, site: Site, networks: &[String], project: &str) {
    s.hosts = (1..=HOSTS)
        .map(|k| format!("{}-compute-{k}", site.name()))
        .collect();
    for (i, n) in networks.iter().enumerate() {
        add_network(s, site, n, project, &cidr_of(i), false);
        add_network(s, site, &format!("{n}-test"), project, &cidr_of(i), false);
    }
    add_network(s, site, PUBLIC, project, PUBLIC_CIDR, true);
    s.net.default_sg(project, &now_z());
}

fn stable_mac(seed: &str) -> String {
    let id = stable_id(seed).replace('-', "");
    format!("fa:16:3e:{}:{}:{}", &id[0..2], &id[2..4], &id[4..6])
}

/// One port on `network` for a seeded server (or a VIP when `device` is "").
#[allow(clippy::too_many_arguments)]
pub fn seed_port(
    s: &mut SiteState,
    site: Site,
    name: &str,
    network: &str,
    project: &str,
    device: &str,
    host: &str,
    groups: Vec<String>,
) -> Option<String> {
    let net = s.net.network(network)?.id.clone();
    let sid = s.net.subnets_of(&net).first()?.id.clone();
    let sub = s.net.subnets.get_mut(&sid)?;
    let ip = sub.next_free()?;
    sub.used.insert(ip);
    let id = stable_id(&format!("{site}:port:{name}"));
    s.net.ports.insert(
        id.clone(),
        Port {
            device_id: device.into(),
            device_owner: if device.is_empty() {
                String::new()
            } else {
                "compute:nova".into()
            },
            host: host.into(),
            ..Port::unbound(
                id.clone(),
                name.into(),
                net,
                project.into(),
                stable_mac(&format!("{site}:mac:{name}")),
                vec![FixedIp { subnet_id: sid, ip }],
                groups,
                true,
            )
        },
    );
    Some(id)
}

fn rule(
    sg: &str,
    project: &str,
    proto: &str,
    port: Option<u32>,
    prefix: Option<&str>,
    remote: Option<&str>,
) -> Rule {
    let seed = format!("{sg}:{proto}:{port:?}:{prefix:?}:{remote:?}");
    Rule {
        id: stable_id(&format!("sgr:{seed}")),
        security_group_id: sg.into(),
        direction: "ingress".into(),
        ethertype: "IPv4".into(),
        protocol: Some(proto.into()),
        port_range_min: port,
        port_range_max: port,
        remote_ip_prefix: prefix.map(str::to_string),
        remote_group_id: remote.map(str::to_string),
        description: String::new(),
        project_id: project.into(),
        created_at: now_z(),
    }
}

/// A role's security group: ssh from the management range, icmp, and the
/// role's service port (db from app, app from lb, lb from anywhere).
fn seed_security_group(
    s: &mut SiteState,
    site: Site,
    vnf: &str,
    role: &str,
    project: &str,
) -> String {
    let name = format!("{vnf}-{role}");
    let id = stable_id(&format!("{site}:sg:{name}"));
    if s.net.security_groups.contains_key(&id) {
        return id;
    }
    let t = now_z();
    s.net.security_groups.insert(
        id.clone(),
        SecurityGroup {
            id: id.clone(),
            name: name.clone(),
            description: format!("{vnf} {role} tier"),
            project_id: project.into(),
            stateful: true,
            tags: vec![],
            created_at: t.clone(),
            updated_at: t,
            revision: 1,
        },
    );
    let peer = |r: &str| stable_id(&format!("{site}:sg:{vnf}-{r}"));
    let mut rules = vec![
        rule(&id, project, "tcp", Some(22), Some("10.1.0.0/16"), None),
        rule(&id, project, "icmp", None, Some("0.0.0.0/0"), None),
    ];
    match role {
        "db" => rules.push(rule(
            &id,
            project,
            "tcp",
            Some(5432),
            None,
            Some(&peer("app")),
        )),
        "app" => rules.push(rule(
            &id,
            project,
            "tcp",
            Some(8080),
            None,
            Some(&peer("lb")),
        )),
        "lb" => {
            rules.push(rule(
                &id,
                project,
                "tcp",
                Some(443),
                Some("0.0.0.0/0"),
                None,
            ));
            rules.push(rule(
                &id,
                project,
                "udp",
                Some(5060),
                Some("0.0.0.0/0"),
                None,
            ));
            rules.push(rule(&id, project, "vrrp", None, None, Some(&id)));
        }
        _ => {}
    }
    for e in ["IPv4", "IPv6"] {
        let mut r = rule(&id, project, "any", None, None, None);
        r.id = stable_id(&format!("sgr:{id}:egress:{e}"));
        r.direction = "egress".into();
        r.ethertype = e.into();
        r.protocol = None;
        rules.push(r);
    }
    for r in rules {
        s.net.rules.insert(r.id.clone(), r);
    }
    id
}

/// A seeded server: (site, name, vnf, role, networks).
pub struct Seeded<'a> {
    pub id: String,
    pub name: &'a str,
    pub vnf: Option<&'a str>,
    pub role: Option<&'a str>,
    pub networks: &'a [String],
}

/// What seeding gives a server: its ports, host and key pair.
pub struct Placed {
    pub ports: Vec<String>,
    pub host: String,
    pub key_name: Option<String>,
    /// The server group it joined.
    pub group: Option<String>,
}

/// Ports, security groups, server groups and key pairs of the servers of one
/// site, then the lb VIPs and their floating IPs.
pub fn seed_servers(
    s: &mut SiteState,
    site: Site,
    servers: &[Seeded],
    project: &str,
    user: &str,
) -> Vec<Placed> {
    // Members per (vnf, role), for the groups' policies.
    let mut tiers: BTreeMap<(String, String), usize> = BTreeMap::new();
    for x in servers {
        if let (Some(v), Some(r)) = (x.vnf, x.role) {
            *tiers.entry((v.into(), r.into())).or_default() += 1;
        }
    }
    let mut load: BTreeMap<String, usize> = s.hosts.iter().map(|h| (h.clone(), 0)).collect();
    let mut out = Vec::new();
    let mut placed: BTreeMap<String, String> = BTreeMap::new();
    let mut vips: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for x in servers {
        let mut groups = Vec::new();
        let mut host = None;
        let mut key_name = None;
        let mut group = None;
        if let (Some(vnf), Some(role)) = (x.vnf, x.role) {
            groups.push(seed_security_group(s, site, vnf, role, project));
            let gname = format!("{vnf}-{role}");
            let gid = stable_id(&format!("{site}:sg-group:{gname}"));
            let members = tiers[&(vnf.to_string(), role.to_string())];
            let g = s
                .server_groups
                .entry(gid.clone())
                .or_insert_with(|| ServerGroup {
                    id: gid.clone(),
                    name: gname,
                    policy: if members <= HOSTS {
                        "anti-affinity"
                    } else {
                        "soft-anti-affinity"
                    }
                    .into(),
                    max_server_per_host: None,
                    members: vec![],
                    project_id: project.into(),
                    user_id: user.into(),
                });
            let used: Vec<&String> = g.members.iter().filter_map(|m| placed.get(m)).collect();
            host = load
                .iter()
                .filter(|(h, _)| !used.contains(h))
                .min_by_key(|(_, n)| **n)
                .map(|(h, _)| h.clone());
            g.members.push(x.id.clone());
            group = Some(gid);
            let key = format!("{vnf}-ops");
            s.keypairs
                .entry((user.to_string(), key.clone()))
                .or_insert_with(|| {
                    let public_key = crate::nova::keypairs::ed25519_key(&key, &key);
                    Keypair {
                        name: key.clone(),
                        fingerprint: crate::nova::keypairs::fingerprint(&public_key),
                        public_key,
                        kind: "ssh".into(),
                        user_id: user.into(),
                        created_at: now_z(),
                    }
                });
            key_name = Some(key);
        }
        let host = host.unwrap_or_else(|| {
            load.iter()
                .min_by_key(|(_, n)| **n)
                .map(|(h, _)| h.clone())
                .unwrap_or_default()
        });
        *load.entry(host.clone()).or_default() += 1;
        placed.insert(x.id.clone(), host.clone());
        let mut ports = Vec::new();
        for n in x.networks {
            if let Some(p) = seed_port(
                s,
                site,
                &format!("{}-{n}", x.name),
                n,
                project,
                &x.id,
                &host,
                groups.clone(),
            ) {
                ports.push(p);
            }
        }
        if let (Some(vnf), Some("lb"), Some(last)) = (x.vnf, x.role, ports.last()) {
            let e = vips
                .entry(vnf.to_string())
                .or_insert_with(|| (x.networks.last().cloned().unwrap_or_default(), vec![]));
            e.1.push(last.clone());
        }
        out.push(Placed {
            ports,
            host,
            key_name,
            group,
        });
    }
    for (vnf, (network, members)) in vips {
        let lb_sg = stable_id(&format!("{site}:sg:{vnf}-lb"));
        let Some(vip) = seed_port(
            s,
            site,
            &format!("{vnf}-lb-vip"),
            &network,
            project,
            "",
            "",
            vec![lb_sg],
        ) else {
            continue;
        };
        let vip_ip = s.net.ports[&vip].fixed_ips[0].ip;
        for m in &members {
            if let Some(p) = s.net.ports.get_mut(m) {
                p.allowed_address_pairs.push(AddressPair {
                    ip_address: ip_str(vip_ip),
                    mac_address: p.mac.clone(),
                });
            }
        }
        let Some(public) = s.net.network(PUBLIC).map(|n| n.id.clone()) else {
            continue;
        };
        let Some(sid) = s.net.subnets_of(&public).first().map(|x| x.id.clone()) else {
            continue;
        };
        let sub = s.net.subnets.get_mut(&sid).expect("listed");
        let Some(addr) = sub.next_free() else {
            continue;
        };
        sub.used.insert(addr);
        let t = now_z();
        let id = stable_id(&format!("{site}:fip:{vnf}"));
        s.net.floating_ips.insert(
            id.clone(),
            FloatingIp {
                id,
                network_id: public,
                subnet_id: sid,
                address: addr,
                port_id: Some(vip),
                fixed_ip: Some(vip_ip),
                project_id: project.into(),
                description: format!("{vnf} VIP"),
                tags: vec![],
                created_at: t.clone(),
                updated_at: t,
                revision: 1,
            },
        );
    }
    out
}
