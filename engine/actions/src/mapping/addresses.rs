//! Addresses and CIDRs of both families, and the one rule re-IP is made of:
//! an address inside a rule's `from` CIDR moves to the same offset inside
//! its `to` CIDR (SRM's IP customisation by subnet, first match wins).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A network in CIDR form, its host bits zero (`10.1.0.0/24`, `fd00::/64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    len: u8,
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(a) => (u32::from(a) as u128, 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

fn from_bits(v: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4((v as u32).into())
    } else {
        IpAddr::V6(v.into())
    }
}

/// The host-part mask of a `len`-bit prefix in a `width`-bit address.
fn host_mask(len: u8, width: u8) -> u128 {
    let host = (width - len) as u32;
    if host == 0 {
        0
    } else if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    }
}

impl Cidr {
    pub fn prefix_len(&self) -> u8 {
        self.len
    }
    pub fn is_v4(&self) -> bool {
        self.net.is_ipv4()
    }
    /// Whether `ip` lies inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.is_v4() {
            return false;
        }
        let (n, w) = bits(self.net);
        let (a, _) = bits(ip);
        a & !host_mask(self.len, w) == n
    }
    /// Whether `other` lies wholly inside.
    pub fn covers(&self, other: &Cidr) -> bool {
        other.len >= self.len && self.contains(other.net)
    }
    /// The network address.
    pub fn network(&self) -> IpAddr {
        self.net
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, len) = s.split_once('/').ok_or_else(|| {
            format!("`{s}` is not a CIDR (address/prefix length, e.g. 10.1.0.0/24)")
        })?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("`{ip}` in `{s}` is not an IPv4 or IPv6 address"))?;
        let (v, width) = bits(ip);
        let len: u8 = len
            .parse()
            .ok()
            .filter(|l| *l <= width)
            .ok_or_else(|| format!("`/{len}` in `{s}` is not a prefix length (0–{width})"))?;
        let net = v & !host_mask(len, width);
        if net != v {
            return Err(format!(
                "`{s}` has host bits set: the network is {}/{len}",
                from_bits(net, ip.is_ipv4())
            ));
        }
        Ok(Cidr { net: ip, len })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.len)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An address, written as a string in documents and records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip(pub IpAddr);

impl Serialize for Ip {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Ip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(Ip)
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not an IPv4 or IPv6 address")))
    }
}

/// An optional address: absent or `""` is none (records carry `""`).
pub mod opt_ip {
    use super::Ip;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Ip>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(ip) => s.collect_str(&ip.0),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ip>, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Ok(None);
        }
        s.parse()
            .map(|a| Some(Ip(a)))
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not an IPv4 or IPv6 address")))
    }
}

/// `ip` moved from `from` to the same offset inside `to` (same family and
/// prefix length; the document's validation sees to that). `None` when
/// `ip` is not inside `from`.
pub fn move_address(ip: IpAddr, from: &Cidr, to: &Cidr) -> Option<IpAddr> {
    if !from.contains(ip) || from.is_v4() != to.is_v4() || from.len != to.len {
        return None;
    }
    let (a, w) = bits(ip);
    let offset = a & host_mask(from.len, w);
    let (n, _) = bits(to.net);
    Some(from_bits(n | offset, to.is_v4()))
}

/// An address pair's `ip_address`: an address or a CIDR. The same text
/// moved by `f` (a CIDR keeps its prefix length); unchanged when `f` says
/// nothing or the text is neither.
pub fn move_text(text: &str, f: impl Fn(IpAddr) -> Option<IpAddr>) -> Option<String> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return f(ip).map(|a| a.to_string());
    }
    let (ip, len) = text.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    f(ip).map(|a| format!("{a}/{len}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        s.parse().unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_strictly() {
        assert_eq!(c("10.1.0.0/24").to_string(), "10.1.0.0/24");
        assert_eq!(c("fd00:1::/64").to_string(), "fd00:1::/64");
        assert!("10.1.0.5/24"
            .parse::<Cidr>()
            .unwrap_err()
            .contains("the network is 10.1.0.0/24"));
        assert!("10.1.0.0/33"
            .parse::<Cidr>()
            .unwrap_err()
            .contains("prefix length (0–32)"));
        assert!("10.1.0.0"
            .parse::<Cidr>()
            .unwrap_err()
            .contains("not a CIDR"));
        assert!("mgmt/24"
            .parse::<Cidr>()
            .unwrap_err()
            .contains("not an IPv4 or IPv6"));
        assert!(c("0.0.0.0/0").contains(ip("192.0.2.1")));
        assert!(c("::/0").contains(ip("fd00::1")));
    }

    #[test]
    fn addresses_move_to_the_same_offset() {
        let (a, b) = (c("10.10.0.0/24"), c("172.16.5.0/24"));
        assert_eq!(
            move_address(ip("10.10.0.17"), &a, &b),
            Some(ip("172.16.5.17"))
        );
        assert_eq!(move_address(ip("10.10.1.17"), &a, &b), None);
        let (a6, b6) = (c("fd00:a::/64"), c("fd00:b::/64"));
        assert_eq!(
            move_address(ip("fd00:a::5"), &a6, &b6),
            Some(ip("fd00:b::5"))
        );
        // Families and prefix lengths must agree.
        assert_eq!(
            move_address(ip("10.10.0.17"), &a, &c("172.16.0.0/16")),
            None
        );
        assert_eq!(move_address(ip("10.10.0.17"), &a, &b6), None);
    }

    #[test]
    fn pair_text_moves_as_address_or_cidr() {
        let (a, b) = (c("10.10.0.0/24"), c("172.16.5.0/24"));
        let f = |x| move_address(x, &a, &b);
        assert_eq!(move_text("10.10.0.9", f).as_deref(), Some("172.16.5.9"));
        assert_eq!(
            move_text("10.10.0.0/28", f).as_deref(),
            Some("172.16.5.0/28")
        );
        assert_eq!(move_text("192.0.2.1", f), None);
        assert_eq!(move_text("not-an-address", f), None);
    }

    #[test]
    fn covers() {
        assert!(c("10.0.0.0/8").covers(&c("10.1.0.0/24")));
        assert!(!c("10.1.0.0/24").covers(&c("10.0.0.0/8")));
        assert!(!c("10.0.0.0/8").covers(&c("fd00::/64")));
    }
}
