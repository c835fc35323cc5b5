//! A recovery manifest as the target site will take it: every name,
//! address and MAC the mapping changes, changed once, here. What follows in
//! a runbook (the target check, the recreation of ports and groups, the
//! boots, the comparison) reads the translated manifest and needs no
//! mapping of its own.
//!
//! In the translated records an empty `ip_address` means "a new address on
//! that subnet" and an empty `mac_address` "a new MAC": the policy is in
//! the records, not beside them.

use super::addresses::move_text;
use super::document::{GroupPolicy, SiteMapping};
use crate::records::*;
use std::net::IpAddr;

/// A flavor at the target, for the choice of one that fits.
#[derive(Debug, Clone, PartialEq)]
pub struct FlavorAt {
    pub name: String,
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    /// `key=value`, as the manifest records a flavor's.
    pub extra_specs: Vec<String>,
}

/// What the mapping did to the manifest, for the step's detail.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Changes {
    pub lines: Vec<String>,
}

/// The flavor a server takes at the target: its mapped name; else its own
/// name when the target has it; else the smallest flavor there that fits
/// the recorded sizes (vCPUs, RAM, disk) and has every recorded extra spec
/// with the same value. `Err` says why none.
pub fn flavor(map: &SiteMapping, s: &ManifestServerRec, at: &[FlavorAt]) -> Result<String, String> {
    if map.maps("flavors", &s.flavor) {
        return Ok(map.map("flavors", &s.flavor).to_string());
    }
    if at.iter().any(|f| f.name == s.flavor) {
        return Ok(s.flavor.clone());
    }
    if s.vcpus <= 0 || s.ram_mb <= 0 {
        return Err(format!(
            "server {}: flavor {} is not at the target and its sizes were not recorded",
            s.name, s.flavor
        ));
    }
    at.iter()
        .filter(|f| {
            f.vcpus >= s.vcpus
                && f.ram_mb >= s.ram_mb
                && f.disk_gb >= s.disk_gb
                && s.flavor_extra_specs.iter().all(|x| f.extra_specs.contains(x))
        })
        .min_by_key(|f| (f.vcpus, f.ram_mb, f.disk_gb, f.name.clone()))
        .map(|f| f.name.clone())
        .ok_or_else(|| {
            let specs = if s.flavor_extra_specs.is_empty() {
                String::new()
            } else {
                format!(", {}", s.flavor_extra_specs.join(", "))
            };
            format!(
                "server {}: flavor {} ({} vCPU, {} MiB RAM, {} GB disk{specs}) is not at the target and no flavor there is as large{}",
                s.name,
                s.flavor,
                s.vcpus,
                s.ram_mb,
                s.disk_gb,
                if specs.is_empty() { "" } else { " with those extra specs" }
            )
        })
}

/// `text` (an address, or a pair's address or CIDR) moved by the first
/// re-IP rule that holds it; itself when none does.
fn reip_text(map: &SiteMapping, text: &str) -> String {
    move_text(text, |ip: IpAddr| map.reip(ip)).unwrap_or_else(|| text.to_string())
}

/// The port as the target takes it.
fn port(map: &SiteMapping, p: &PortRec, drill: bool) -> PortRec {
    let keep_ip = map.ports.keeps_addresses();
    let keep_mac = map.ports.keeps_macs();
    let mut t = p.clone();
    t.network = map.network(&p.network, drill);
    t.fixed_ips = p
        .fixed_ips
        .iter()
        .map(|f| FixedIpRec {
            subnet: map.map("subnets", &f.subnet).to_string(),
            cidr: reip_text(map, &f.cidr),
            ip_address: if keep_ip {
                reip_text(map, &f.ip_address)
            } else {
                String::new()
            },
        })
        .collect();
    if !keep_mac {
        t.mac_address = String::new();
    }
    t.allowed_address_pairs = p
        .allowed_address_pairs
        .iter()
        .map(|a| AddressPairRec {
            // With new addresses the pairs are moved after the VIP ports
            // have theirs (`neutron.remap_address_pairs`).
            ip_address: if keep_ip {
                reip_text(map, &a.ip_address)
            } else {
                a.ip_address.clone()
            },
            // A pair that named the port's own MAC follows its new one.
            mac_address: if !keep_mac && a.mac_address == p.mac_address {
                String::new()
            } else {
                a.mac_address.clone()
            },
        })
        .collect();
    if map.security_groups == GroupPolicy::Map {
        t.security_groups = p
            .security_groups
            .iter()
            .map(|g| map.map("security_group_map", g).to_string())
            .collect();
    }
    t.floating_network = map.map("floating_pools", &p.floating_network).to_string();
    t
}

fn volume(map: &SiteMapping, v: &ManifestVolumeRec) -> ManifestVolumeRec {
    let mut t = v.clone();
    if !v.volume_type.is_empty() {
        t.volume_type = map.map("volume_types", &v.volume_type).to_string();
    }
    t
}

/// The manifest with the mapping applied (the test networks for a drill).
/// `flavors` are the target's; every server must get one, else `Err` names
/// each that cannot.
pub fn apply(
    m: &ManifestRec,
    map: &SiteMapping,
    drill: bool,
    flavors: &[FlavorAt],
) -> Result<(ManifestRec, Changes), Vec<String>> {
    let mut problems = Vec::new();
    let mut changes = Changes::default();
    let mut note = |what: &str, from: &str, to: &str| {
        let line = format!("{what} {from} → {to}");
        if from != to && !changes.lines.contains(&line) {
            changes.lines.push(line);
        }
    };
    let server = |s: &ManifestServerRec, problems: &mut Vec<String>| -> ManifestServerRec {
        let mut t = s.clone();
        match flavor(map, s, flavors) {
            Ok(f) => t.flavor = f,
            Err(e) => problems.push(e),
        }
        t.networks = s.networks.iter().map(|n| map.network(n, drill)).collect();
        if !s.key_name.is_empty() {
            t.key_name = map.map("keypairs", &s.key_name).to_string();
        }
        if !s.availability_zone.is_empty() {
            t.availability_zone = map
                .map("availability_zones", &s.availability_zone)
                .to_string();
        }
        t.boot_volume = volume(map, &s.boot_volume);
        t.data_volumes = s.data_volumes.iter().map(|v| volume(map, v)).collect();
        t
    };
    let mut t = m.clone();
    t.servers = m.servers.iter().map(|s| server(s, &mut problems)).collect();
    for (a, b) in m.servers.iter().zip(&t.servers) {
        note("flavor", &a.flavor, &b.flavor);
        note("key pair", &a.key_name, &b.key_name);
        note("zone", &a.availability_zone, &b.availability_zone);
        for (x, y) in a.networks.iter().zip(&b.networks) {
            note("network", x, y);
        }
    }
    // The boot groups hold the same servers: take them translated.
    for g in t.boot_groups.iter_mut() {
        for s in g.servers.iter_mut() {
            if let Some(x) = t.servers.iter().find(|x| x.id == s.id && x.name == s.name) {
                *s = x.clone();
            }
        }
    }
    t.volumes = m.volumes.iter().map(|v| volume(map, v)).collect();
    for (a, b) in m.volumes.iter().zip(&t.volumes) {
        note("volume type", &a.volume_type, &b.volume_type);
    }
    let id = &mut t.network;
    id.ports = m
        .network
        .ports
        .iter()
        .map(|p| port(map, p, drill))
        .collect();
    for (a, b) in m.network.ports.iter().zip(&id.ports) {
        note("network", &a.network, &b.network);
        for (x, y) in a.fixed_ips.iter().zip(&b.fixed_ips) {
            if !y.ip_address.is_empty() {
                note("address", &x.ip_address, &y.ip_address);
            }
        }
        note("floating pool", &a.floating_network, &b.floating_network);
    }
    match (map.ports.keeps_addresses(), map.ports.keeps_macs()) {
        (true, true) => {}
        (true, false) => changes.lines.push("every port takes a new MAC".into()),
        _ => changes
            .lines
            .push("every port takes a new address and MAC".into()),
    }
    if map.security_groups == GroupPolicy::Map {
        for g in id.security_groups.iter_mut() {
            let to = map.map("security_group_map", &g.name).to_string();
            changes
                .lines
                .push(format!("security group {} → existing {to}", g.name));
            g.name = to;
        }
    }
    for g in id.security_groups.iter_mut() {
        for r in g.rules.iter_mut() {
            if !r.remote_group.is_empty() && map.security_groups == GroupPolicy::Map {
                r.remote_group = map.map("security_group_map", &r.remote_group).to_string();
            }
            if map.ports.keeps_addresses() && !r.remote_ip_prefix.is_empty() {
                r.remote_ip_prefix = reip_text(map, &r.remote_ip_prefix);
            }
        }
    }
    for k in id.keypairs.iter_mut() {
        k.name = map.map("keypairs", &k.name).to_string();
    }
    if problems.is_empty() {
        Ok((t, changes))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::super::document::parse;
    use super::*;

    fn manifest() -> ManifestRec {
        let port = |name: &str, ip: &str, mac: &str, pairs: Vec<(&str, &str)>| PortRec {
            id: format!("id-{name}"),
            name: name.into(),
            network: "mgmt".into(),
            fixed_ips: vec![FixedIpRec {
                subnet: "mgmt-v4".into(),
                cidr: "10.10.0.0/24".into(),
                ip_address: ip.into(),
            }],
            mac_address: mac.into(),
            allowed_address_pairs: pairs
                .into_iter()
                .map(|(i, m)| AddressPairRec {
                    ip_address: i.into(),
                    mac_address: m.into(),
                })
                .collect(),
            security_groups: vec!["web".into()],
            floating_network: "public".into(),
            ..Default::default()
        };
        let server = ManifestServerRec {
            name: "lb-1".into(),
            flavor: "vims.lb".into(),
            vcpus: 2,
            ram_mb: 4096,
            disk_gb: 0,
            networks: vec!["mgmt".into()],
            key_name: "ops".into(),
            availability_zone: "az1".into(),
            boot_volume: ManifestVolumeRec {
                volume_type: "ssd".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        ManifestRec {
            servers: vec![server.clone()],
            boot_groups: vec![BootGroupRec {
                priority: 1,
                servers: vec![server],
            }],
            network: NetworkIdentityRec {
                ports: vec![
                    port(
                        "lb-1#0",
                        "10.10.0.11",
                        "fa:16:3e:00:00:01",
                        vec![("10.10.0.100", "fa:16:3e:00:00:01")],
                    ),
                    port("vip", "10.10.0.100", "fa:16:3e:00:00:09", vec![]),
                ],
                security_groups: vec![SecurityGroupRec {
                    name: "web".into(),
                    rules: vec![SgRuleRec {
                        remote_ip_prefix: "10.10.0.0/24".into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                keypairs: vec![KeypairRec {
                    name: "ops".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn flavors() -> Vec<FlavorAt> {
        let f = |n: &str, c, r| FlavorAt {
            name: n.into(),
            vcpus: c,
            ram_mb: r,
            disk_gb: 20,
            extra_specs: vec![],
        };
        vec![
            f("m1.small", 1, 2048),
            f("m1.large", 4, 8192),
            f("m1.medium", 2, 4096),
        ]
    }

    const HEAD: &str = "version: 1\nsource: site-a\ntarget: site-b\n";

    #[test]
    fn identity_mapping_changes_nothing_but_a_missing_flavor() {
        let m = manifest();
        let map = super::super::document::SiteMapping::identity("site-a", "site-b");
        let (t, ch) = apply(&m, &map, false, &flavors()).unwrap();
        // vims.lb is not at the target: the smallest that fits is chosen.
        assert_eq!(t.servers[0].flavor, "m1.medium");
        assert_eq!(t.boot_groups[0].servers[0].flavor, "m1.medium");
        assert_eq!(ch.lines, vec!["flavor vims.lb → m1.medium"]);
        let mut back = t.clone();
        back.servers = m.servers.clone();
        back.boot_groups = m.boot_groups.clone();
        assert_eq!(back, m);
    }

    #[test]
    fn reip_moves_addresses_pairs_rules_and_keeps_macs() {
        let map = parse(&format!("{HEAD}networks:\n  - {{from: mgmt, to: mgmt-b}}\nsubnets:\n  - {{from: mgmt-v4, to: mgmt-b-v4}}\nreip:\n  - {{from: 10.10.0.0/24, to: 172.16.0.0/24}}\nfloating_pools:\n  - {{from: public, to: ext-b}}\n")).unwrap();
        let (t, ch) = apply(&manifest(), &map, false, &flavors()).unwrap();
        let p = &t.network.ports[0];
        assert_eq!(p.network, "mgmt-b");
        assert_eq!(p.fixed_ips[0].ip_address, "172.16.0.11");
        assert_eq!(p.fixed_ips[0].cidr, "172.16.0.0/24");
        assert_eq!(p.fixed_ips[0].subnet, "mgmt-b-v4");
        assert_eq!(p.mac_address, "fa:16:3e:00:00:01");
        assert_eq!(p.allowed_address_pairs[0].ip_address, "172.16.0.100");
        assert_eq!(p.floating_network, "ext-b");
        assert_eq!(
            t.network.security_groups[0].rules[0].remote_ip_prefix,
            "172.16.0.0/24"
        );
        assert_eq!(t.servers[0].networks, vec!["mgmt-b"]);
        assert!(
            ch.lines
                .contains(&"address 10.10.0.11 → 172.16.0.11".to_string()),
            "{ch:?}"
        );
    }

    #[test]
    fn policies_empty_what_the_target_chooses() {
        let keep_ip = parse(&format!("{HEAD}ports: keep-ip\n")).unwrap();
        let (t, _) = apply(&manifest(), &keep_ip, false, &flavors()).unwrap();
        let p = &t.network.ports[0];
        assert_eq!(p.fixed_ips[0].ip_address, "10.10.0.11");
        assert_eq!(p.mac_address, "");
        // The pair that named the port's own MAC follows the new one.
        assert_eq!(p.allowed_address_pairs[0].mac_address, "");
        let new = parse(&format!("{HEAD}ports: new\n")).unwrap();
        let (t, ch) = apply(&manifest(), &new, false, &flavors()).unwrap();
        let p = &t.network.ports[0];
        assert_eq!(p.fixed_ips[0].ip_address, "");
        assert_eq!(p.fixed_ips[0].subnet, "mgmt-v4");
        assert_eq!(p.mac_address, "");
        // Pairs keep the recorded VIP until the VIP port has its new address.
        assert_eq!(p.allowed_address_pairs[0].ip_address, "10.10.0.100");
        assert!(ch
            .lines
            .contains(&"every port takes a new address and MAC".to_string()));
    }

    #[test]
    fn drills_use_the_test_networks() {
        let map = parse(&format!(
            "{HEAD}networks:\n  - {{from: mgmt, to: mgmt-b, test: lab}}\n"
        ))
        .unwrap();
        let (t, _) = apply(&manifest(), &map, true, &flavors()).unwrap();
        assert_eq!(t.network.ports[0].network, "lab");
        assert_eq!(t.servers[0].networks, vec!["lab"]);
        let none = super::super::document::SiteMapping::identity("site-a", "site-b");
        let (t, _) = apply(&manifest(), &none, true, &flavors()).unwrap();
        assert_eq!(t.network.ports[0].network, "mgmt-test");
    }

    #[test]
    fn names_are_mapped_and_groups_mapped_to_existing() {
        let map = parse(&format!("{HEAD}security_groups: map\nsecurity_group_map:\n  - {{from: web, to: web-b}}\nflavors:\n  - {{from: vims.lb, to: m1.large}}\nkeypairs:\n  - {{from: ops, to: ops-b}}\navailability_zones:\n  - {{from: az1, to: nova}}\nvolume_types:\n  - {{from: ssd, to: fast}}\n")).unwrap();
        let (t, _) = apply(&manifest(), &map, false, &flavors()).unwrap();
        let s = &t.servers[0];
        assert_eq!(
            (
                s.flavor.as_str(),
                s.key_name.as_str(),
                s.availability_zone.as_str()
            ),
            ("m1.large", "ops-b", "nova")
        );
        assert_eq!(s.boot_volume.volume_type, "fast");
        assert_eq!(t.network.ports[0].security_groups, vec!["web-b"]);
        assert_eq!(t.network.security_groups[0].name, "web-b");
        assert_eq!(t.network.keypairs[0].name, "ops-b");
    }

    #[test]
    fn a_flavor_that_cannot_be_found_or_fitted_is_named() {
        let mut m = manifest();
        m.servers[0].vcpus = 64;
        let map = super::super::document::SiteMapping::identity("site-a", "site-b");
        let e = apply(&m, &map, false, &flavors()).unwrap_err();
        assert!(e[0].contains("server lb-1: flavor vims.lb (64 vCPU, 4096 MiB RAM, 0 GB disk) is not at the target and no flavor there is as large"), "{e:?}");
        m.servers[0].vcpus = 0;
        let e = apply(&m, &map, false, &flavors()).unwrap_err();
        assert!(e[0].contains("its sizes were not recorded"), "{e:?}");
    }

    #[test]
    fn a_fitting_flavor_has_the_recorded_extra_specs() {
        let mut m = manifest();
        m.servers[0].flavor_extra_specs = vec!["hw:cpu_policy=dedicated".into()];
        let map = super::super::document::SiteMapping::identity("site-a", "site-b");
        let mut at = flavors();
        let e = apply(&m, &map, false, &at).unwrap_err();
        assert!(e[0].contains("hw:cpu_policy=dedicated) is not at the target and no flavor there is as large with those extra specs"), "{e:?}");
        at.push(FlavorAt {
            name: "pinned.large".into(),
            vcpus: 8,
            ram_mb: 16384,
            disk_gb: 20,
            extra_specs: vec![
                "hw:cpu_policy=dedicated".into(),
                "hw:mem_page_size=large".into(),
            ],
        });
        at.push(FlavorAt {
            name: "shared.medium".into(),
            vcpus: 2,
            ram_mb: 4096,
            disk_gb: 20,
            extra_specs: vec!["hw:cpu_policy=shared".into()],
        });
        let (t, _) = apply(&m, &map, false, &at).unwrap();
        assert_eq!(t.servers[0].flavor, "pinned.large");
    }
}
