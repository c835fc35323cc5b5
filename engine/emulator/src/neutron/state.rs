//! What one site's Neutron holds: networks, subnets with their allocation
//! pools, ports with their addresses, security groups and rules, floating
//! IPs; and the rules Neutron keeps while changing them (an address is
//! allocated once per subnet, a MAC once per network). IPv4 only.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::Ipv4Addr;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use rand::Rng;

/// A network (`router:external` ones hold floating IPs).
#[derive(Clone, Debug)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub external: bool,
    pub shared: bool,
    pub mtu: u32,
    pub port_security_enabled: bool,
    pub admin_state_up: bool,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision: u64,
}

/// An IPv4 range, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    pub start: u32,
    pub end: u32,
}

#[derive(Clone, Debug)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    /// Network address and prefix length.
    pub net: u32,
    pub prefix: u8,
    pub gateway: Option<u32>,
    pub pools: Vec<Pool>,
    pub enable_dhcp: bool,
    pub dns_nameservers: Vec<String>,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision: u64,
    /// Addresses allocated in this subnet (ports, floating IPs, gateway).
    pub used: BTreeSet<u32>,
}

impl Subnet {
    pub fn cidr(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.net), self.prefix)
    }
    pub fn contains(&self, ip: u32) -> bool {
        mask(self.prefix) & ip == self.net
    }
    pub fn in_pools(&self, ip: u32) -> bool {
        self.pools.iter().any(|p| p.start <= ip && ip <= p.end)
    }
    /// The lowest free address of the pools.
    pub fn next_free(&self) -> Option<u32> {
        for p in &self.pools {
            let mut ip = p.start;
            // Skip the used run from the start of the pool quickly.
            for u in self.used.range(p.start..=p.end) {
                if *u != ip {
                    break;
                }
                ip += 1;
            }
            if ip <= p.end {
                return Some(ip);
            }
        }
        None
    }
    pub fn free_count(&self) -> u64 {
        self.pools
            .iter()
            .map(|p| {
                let size = (p.end - p.start) as u64 + 1;
                size - self.used.range(p.start..=p.end).count() as u64
            })
            .sum()
    }
}

pub fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix as u32)
    }
}

/// `a.b.c.d/n` → (network address, n); None unless a valid IPv4 CIDR.
pub fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    if len > 32 {
        return None;
    }
    Some((u32::from(ip) & mask(len), len))
}

pub fn parse_ip(s: &str) -> Option<u32> {
    s.parse::<Ipv4Addr>().ok().map(u32::from)
}

pub fn ip_str(ip: u32) -> String {
    Ipv4Addr::from(ip).to_string()
}

/// A MAC address in Neutron's form (lower case, colon separated), or None.
pub fn normal_mac(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    if parts.len() != 6
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return None;
    }
    Some(parts.join(":").to_ascii_lowercase())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedIp {
    pub subnet_id: String,
    pub ip: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressPair {
    /// An address or a CIDR.
    pub ip_address: String,
    pub mac_address: String,
}

#[derive(Clone, Debug)]
pub struct Port {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    pub mac: String,
    pub fixed_ips: Vec<FixedIp>,
    pub allowed_address_pairs: Vec<AddressPair>,
    pub security_groups: Vec<String>,
    pub port_security_enabled: bool,
    pub device_id: String,
    pub device_owner: String,
    pub host: String,
    pub vnic_type: String,
    pub dns_name: String,
    pub admin_state_up: bool,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision: u64,
}

impl Port {
    /// A new unbound port with Neutron's defaults for what is not given.
    #[allow(clippy::too_many_arguments)]
    pub fn unbound(
        id: String,
        name: String,
        network_id: String,
        project_id: String,
        mac: String,
        fixed_ips: Vec<FixedIp>,
        security_groups: Vec<String>,
        port_security_enabled: bool,
    ) -> Port {
        let t = crate::world::now_z();
        Port {
            id,
            name,
            network_id,
            project_id,
            mac,
            fixed_ips,
            allowed_address_pairs: vec![],
            security_groups,
            port_security_enabled,
            device_id: String::new(),
            device_owner: String::new(),
            host: String::new(),
            vnic_type: "normal".into(),
            dns_name: String::new(),
            admin_state_up: true,
            description: String::new(),
            tags: vec![],
            created_at: t.clone(),
            updated_at: t,
            revision: 1,
        }
    }

    /// Bound to a host: ACTIVE (the emulator's fake hypervisor plugs at once).
    pub fn status(&self) -> &'static str {
        if self.device_owner.starts_with("compute:") && !self.host.is_empty() {
            "ACTIVE"
        } else {
            "DOWN"
        }
    }
}

#[derive(Clone, Debug)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub project_id: String,
    pub stateful: bool,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub security_group_id: String,
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<u32>,
    pub port_range_max: Option<u32>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    pub description: String,
    pub project_id: String,
    pub created_at: String,
}

impl Rule {
    /// What makes two rules the same to Neutron (`SecurityGroupRuleExists`).
    pub fn same_as(&self, o: &Rule) -> bool {
        self.security_group_id == o.security_group_id
            && self.direction == o.direction
            && self.ethertype == o.ethertype
            && self.protocol == o.protocol
            && self.port_range_min == o.port_range_min
            && self.port_range_max == o.port_range_max
            && self.remote_ip_prefix == o.remote_ip_prefix
            && self.remote_group_id == o.remote_group_id
    }
}

#[derive(Clone, Debug)]
pub struct FloatingIp {
    pub id: String,
    pub network_id: String,
    pub subnet_id: String,
    pub address: u32,
    pub port_id: Option<String>,
    pub fixed_ip: Option<u32>,
    pub project_id: String,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision: u64,
}

/// A site's ports by id, and beside them which ports each device has: a
/// port list filtered by device (how a VNF's ports are read, a hundred
/// servers at a time) looks at those ports only, as Neutron's database
/// answers it from its index, not at each of a site's ports (tens of
/// thousands at 10,000 VMs). Every change goes through `DerefMut`, which
/// drops the device index; the next list by device builds it again.
#[derive(Debug, Default)]
pub struct Ports {
    by_id: crate::table::Table<Port>,
    by_device: OnceLock<HashMap<String, Vec<String>>>,
}

impl Deref for Ports {
    type Target = crate::table::Table<Port>;
    fn deref(&self) -> &Self::Target {
        &self.by_id
    }
}

impl DerefMut for Ports {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.by_device.take();
        &mut self.by_id
    }
}

impl Ports {
    /// The ports bound to any of `devices`, in id order (as the whole list).
    pub fn of_devices(&self, devices: &HashSet<&str>) -> Vec<&Port> {
        let index = self.by_device.get_or_init(|| {
            let mut index: HashMap<String, Vec<String>> = HashMap::new();
            for p in self.by_id.values() {
                index
                    .entry(p.device_id.clone())
                    .or_default()
                    .push(p.id.clone());
            }
            index
        });
        let mut ids: Vec<&String> = devices
            .iter()
            .filter_map(|d| index.get(*d))
            .flatten()
            .collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| self.by_id.get(id))
            .collect()
    }
}

/// One site's Neutron.
#[derive(Debug, Default)]
pub struct Net {
    pub networks: crate::table::Table<Network>,
    pub subnets: crate::table::Table<Subnet>,
    pub ports: Ports,
    pub security_groups: crate::table::Table<SecurityGroup>,
    pub rules: BTreeMap<String, Rule>,
    pub floating_ips: BTreeMap<String, FloatingIp>,
}

impl Net {
    /// A network by id, or by name when exactly one carries it.
    pub fn network(&self, key: &str) -> Option<&Network> {
        self.networks.get(key).or_else(|| {
            let mut it = self.networks.values().filter(|n| n.name == key);
            match (it.next(), it.next()) {
                (Some(n), None) => Some(n),
                _ => None,
            }
        })
    }
    pub fn subnets_of(&self, network_id: &str) -> Vec<&Subnet> {
        self.subnets
            .values()
            .filter(|s| s.network_id == network_id)
            .collect()
    }
    /// Whether `mac` is taken on `network_id`.
    pub fn mac_in_use(&self, network_id: &str, mac: &str) -> bool {
        self.ports
            .values()
            .any(|p| p.network_id == network_id && p.mac == mac)
    }
    /// A fresh MAC with OpenStack's base `fa:16:3e`, free on the network.
    pub fn new_mac(&self, network_id: &str) -> String {
        let mut rng = rand::thread_rng();
        loop {
            let m = format!(
                "fa:16:3e:{:02x}:{:02x}:{:02x}",
                rng.gen::<u8>(),
                rng.gen::<u8>(),
                rng.gen::<u8>()
            );
            if !self.mac_in_use(network_id, &m) {
                return m;
            }
        }
    }
    /// The project's `default` security group, made (with Neutron's four
    /// default rules) the first time the project needs it.
    pub fn default_sg(&mut self, project_id: &str, now: &str) -> String {
        if let Some(g) = self
            .security_groups
            .values()
            .find(|g| g.project_id == project_id && g.name == "default")
        {
            return g.id.clone();
        }
        let id = crate::world::stable_id(&format!("sg:default:{project_id}"));
        self.security_groups.insert(
            id.clone(),
            SecurityGroup {
                id: id.clone(),
                name: "default".into(),
                description: "Default security group".into(),
                project_id: project_id.into(),
                stateful: true,
                tags: vec![],
                created_at: now.into(),
                updated_at: now.into(),
                revision: 1,
            },
        );
        for (dir, eth) in [
            ("egress", "IPv4"),
            ("egress", "IPv6"),
            ("ingress", "IPv4"),
            ("ingress", "IPv6"),
        ] {
            let rid = crate::world::stable_id(&format!("sgr:default:{project_id}:{dir}:{eth}"));
            self.rules.insert(
                rid.clone(),
                Rule {
                    id: rid,
                    security_group_id: id.clone(),
                    direction: dir.into(),
                    ethertype: eth.into(),
                    protocol: None,
                    port_range_min: None,
                    port_range_max: None,
                    remote_ip_prefix: None,
                    remote_group_id: (dir == "ingress").then(|| id.clone()),
                    description: String::new(),
                    project_id: project_id.into(),
                    created_at: now.into(),
                },
            );
        }
        id
    }
    /// Release a port's addresses and remove it (floating IPs on it are
    /// disassociated, as Neutron does).
    pub fn remove_port(&mut self, id: &str) -> Option<Port> {
        let p = self.ports.remove(id)?;
        for f in &p.fixed_ips {
            if let Some(s) = self.subnets.get_mut(&f.subnet_id) {
                s.used.remove(&f.ip);
            }
        }
        for fip in self.floating_ips.values_mut() {
            if fip.port_id.as_deref() == Some(id) {
                fip.port_id = None;
                fip.fixed_ip = None;
            }
        }
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_and_pools() {
        assert_eq!(
            parse_cidr("10.1.2.3/24"),
            Some((u32::from(Ipv4Addr::new(10, 1, 2, 0)), 24))
        );
        assert_eq!(parse_cidr("10.1.2.3/33"), None);
        assert_eq!(parse_cidr("nope/24"), None);
        let mut s = Subnet {
            id: "s".into(),
            name: "s".into(),
            network_id: "n".into(),
            project_id: "p".into(),
            net: parse_cidr("10.0.0.0/29").unwrap().0,
            prefix: 29,
            gateway: None,
            pools: vec![Pool {
                start: parse_ip("10.0.0.2").unwrap(),
                end: parse_ip("10.0.0.4").unwrap(),
            }],
            enable_dhcp: true,
            dns_nameservers: vec![],
            description: String::new(),
            tags: vec![],
            created_at: String::new(),
            updated_at: String::new(),
            revision: 1,
            used: BTreeSet::new(),
        };
        assert_eq!(s.next_free().map(ip_str).as_deref(), Some("10.0.0.2"));
        s.used.insert(parse_ip("10.0.0.2").unwrap());
        s.used.insert(parse_ip("10.0.0.4").unwrap());
        assert_eq!(s.next_free().map(ip_str).as_deref(), Some("10.0.0.3"));
        assert_eq!(s.free_count(), 1);
        s.used.insert(parse_ip("10.0.0.3").unwrap());
        assert_eq!(s.next_free(), None);
        assert!(s.contains(parse_ip("10.0.0.7").unwrap()));
        assert!(!s.contains(parse_ip("10.0.0.8").unwrap()));
    }

    #[test]
    fn a_list_by_device_sees_every_change_to_the_ports() {
        let port = |id: &str, device: &str| {
            let mut p = Port::unbound(
                id.into(),
                id.into(),
                "n".into(),
                "p".into(),
                format!("fa:16:3e:00:00:{id}"),
                vec![],
                vec![],
                true,
            );
            p.device_id = device.into();
            p
        };
        let ids = |ports: &Ports, devices: &[&str]| -> Vec<String> {
            let devices: HashSet<&str> = devices.iter().copied().collect();
            ports
                .of_devices(&devices)
                .iter()
                .map(|p| p.id.clone())
                .collect()
        };
        let mut ports = Ports::default();
        for (id, dev) in [("03", "a"), ("01", "b"), ("02", "a"), ("04", "")] {
            ports.insert(id.into(), port(id, dev));
        }
        assert_eq!(ids(&ports, &["a"]), ["02", "03"]);
        assert_eq!(ids(&ports, &["a", "b", "c"]), ["01", "02", "03"]);
        assert_eq!(ids(&ports, &[""]), ["04"], "unbound ports have device \"\"");
        // Bound elsewhere, added, removed: each seen by the next list.
        ports.get_mut("02").unwrap().device_id = "b".into();
        assert_eq!(ids(&ports, &["a"]), ["03"]);
        ports.insert("00".into(), port("00", "a"));
        assert_eq!(ids(&ports, &["a"]), ["00", "03"]);
        ports.remove("03");
        assert_eq!(ids(&ports, &["a"]), ["00"]);
        assert_eq!(ids(&ports, &["b"]), ["01", "02"]);
    }

    #[test]
    fn macs_normalise() {
        assert_eq!(
            normal_mac("FA-16-3E-00-11-22").as_deref(),
            Some("fa:16:3e:00:11:22")
        );
        assert_eq!(normal_mac("fa:16:3e:00:11"), None);
        assert_eq!(normal_mac("fa:16:3e:00:11:zz"), None);
    }
}
