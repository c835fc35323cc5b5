//! Subnets: CIDR, gateway and the allocation pools a kept address must lie in.

use crate::error::Result;
use serde::Deserialize;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Deserialize)]
pub struct AllocationPool {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Subnet {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub network_id: String,
    #[serde(default)]
    pub cidr: String,
    #[serde(default)]
    pub gateway_ip: Option<String>,
    #[serde(default)]
    pub dns_nameservers: Vec<String>,
    #[serde(default)]
    pub allocation_pools: Vec<AllocationPool>,
}

impl Subnet {
    /// Whether the IPv4 address lies in the subnet's CIDR.
    pub fn contains(&self, ip: &str) -> bool {
        let (Some((net, len)), Ok(ip)) = (parse_cidr(&self.cidr), ip.parse::<Ipv4Addr>()) else {
            return false;
        };
        mask(len) & u32::from(ip) == net
    }
    /// Whether the IPv4 address lies in one of the allocation pools.
    pub fn in_pools(&self, ip: &str) -> bool {
        let Ok(ip) = ip.parse::<Ipv4Addr>().map(u32::from) else {
            return false;
        };
        self.allocation_pools.iter().any(|p| {
            match (p.start.parse::<Ipv4Addr>(), p.end.parse::<Ipv4Addr>()) {
                (Ok(a), Ok(b)) => u32::from(a) <= ip && ip <= u32::from(b),
                _ => false,
            }
        })
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len as u32)
    }
}

/// `a.b.c.d/n` → (network address, n).
pub fn parse_cidr(s: &str) -> Option<(u32, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((u32::from(ip) & mask(len), len))
}

impl super::Neutron<'_> {
    pub async fn subnets(&self, filters: &[(&str, &str)]) -> Result<Vec<Subnet>> {
        self.list("subnets", "subnets", filters).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership() {
        let s = Subnet {
            id: "s".into(),
            name: "s".into(),
            network_id: "n".into(),
            cidr: "10.1.0.0/16".into(),
            gateway_ip: Some("10.1.0.1".into()),
            dns_nameservers: vec![],
            allocation_pools: vec![AllocationPool {
                start: "10.1.0.2".into(),
                end: "10.1.0.200".into(),
            }],
        };
        assert!(s.contains("10.1.255.3"));
        assert!(!s.contains("10.2.0.3"));
        assert!(s.in_pools("10.1.0.2"));
        assert!(!s.in_pools("10.1.0.201"));
        assert!(!s.in_pools("nope"));
    }
}
