//! The site-mapping document (docs/mapping.md): what a source site's names,
//! addresses and policies become at a target site. YAML on disk and in the
//! target's object store; the same fields, in the same order, are the
//! catalogue's `site_mapping` record (stdlib/types.dr), so what a run reads
//! is what `lifeboat check` validated.
//!
//! [`parse`] is the one way in: the YAML is read into these types (a wrong
//! type, an unknown field, a bad address or CIDR is reported where it
//! stands), then [`SiteMapping::problems`] checks what spans several
//! fields. Each [`Problem`] carries a byte span of the text.

use super::addresses::{opt_ip, Cidr, Ip};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::ops::Range;

/// The document format this code reads and writes.
pub const VERSION: u32 = 1;

/// What becomes of a recorded port's addresses and MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortPolicy {
    /// The same fixed IPs (moved by the re-IP rules where one matches) and
    /// the same MAC.
    #[default]
    Keep,
    /// The same fixed IPs (re-IP rules apply); a new MAC.
    KeepIp,
    /// New addresses on the mapped subnets and new MACs; VIP pairs follow
    /// the VIP ports' new addresses.
    New,
}

impl PortPolicy {
    pub fn keeps_addresses(self) -> bool {
        self != PortPolicy::New
    }
    pub fn keeps_macs(self) -> bool {
        self == PortPolicy::Keep
    }
}

/// Where a port's security groups come from at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupPolicy {
    /// Made from the recorded rules (a group of the same name there already
    /// is used as it is).
    #[default]
    Recreate,
    /// Existing groups at the target, by `security_group_map` (else by the
    /// same name); nothing is made.
    Map,
}

/// One name at the source and what it is at the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameMap {
    pub from: String,
    pub to: String,
    /// Networks only: the isolated network a drill uses instead of `to`
    /// (default `<to>-test`).
    #[serde(default)]
    pub test: String,
}

/// An SRM-style re-IP rule: an address inside `from` moves to the same
/// offset inside `to`; the target subnet must offer `gateway` and `dns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReipRule {
    pub from: Cidr,
    pub to: Cidr,
    #[serde(default, with = "opt_ip")]
    pub gateway: Option<Ip>,
    #[serde(default)]
    pub dns: Vec<Ip>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteMapping {
    pub version: u32,
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub ports: PortPolicy,
    #[serde(default)]
    pub security_groups: GroupPolicy,
    #[serde(default)]
    pub networks: Vec<NameMap>,
    #[serde(default)]
    pub subnets: Vec<NameMap>,
    #[serde(default)]
    pub reip: Vec<ReipRule>,
    #[serde(default)]
    pub flavors: Vec<NameMap>,
    #[serde(default)]
    pub availability_zones: Vec<NameMap>,
    #[serde(default)]
    pub keypairs: Vec<NameMap>,
    #[serde(default)]
    pub volume_types: Vec<NameMap>,
    #[serde(default)]
    pub floating_pools: Vec<NameMap>,
    #[serde(default)]
    pub security_group_map: Vec<NameMap>,
}

/// Something wrong in a document, where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub span: Range<usize>,
    pub message: String,
    pub hint: String,
}

impl Problem {
    fn new(span: Range<usize>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Problem {
            span,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The 1-based line and column where it stands in `src`.
    pub fn position(&self, src: &str) -> (usize, usize) {
        let before = &src[..self.span.start.min(src.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, col)
    }

    /// `path:line:col: message (hint)` — for logs and action errors.
    pub fn one_line(&self, path: &str, src: &str) -> String {
        let (line, col) = self.position(src);
        let hint = if self.hint.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.hint)
        };
        format!("{path}:{line}:{col}: {}{hint}", self.message)
    }
}

/// The name maps of the document, by key, for the checks all of them share.
const NAME_MAPS: [&str; 8] = [
    "networks",
    "subnets",
    "flavors",
    "availability_zones",
    "keypairs",
    "volume_types",
    "floating_pools",
    "security_group_map",
];

impl SiteMapping {
    /// The mapping that changes nothing: same names, addresses and MACs.
    pub fn identity(source: &str, target: &str) -> SiteMapping {
        SiteMapping {
            version: VERSION,
            source: source.into(),
            target: target.into(),
            ports: PortPolicy::Keep,
            security_groups: GroupPolicy::Recreate,
            networks: vec![],
            subnets: vec![],
            reip: vec![],
            flavors: vec![],
            availability_zones: vec![],
            keypairs: vec![],
            volume_types: vec![],
            floating_pools: vec![],
            security_group_map: vec![],
        }
    }

    /// The mapping the other way round, for a failback (target → source):
    /// every name map and re-IP rule turned round, the policies kept. A
    /// re-IP rule's `gateway` and `dns` describe the target's subnet, and
    /// a network's `test` its drill network: neither says anything of the
    /// source, so they are dropped (drills there use `<to>-test`). Refused
    /// when two entries lead to one name or two rules into overlapping
    /// ranges: the way back would be ambiguous.
    pub fn reversed(&self) -> Result<SiteMapping, String> {
        let flip = |key: &str| -> Result<Vec<NameMap>, String> {
            let list = self.name_map(key);
            let mut out = Vec::with_capacity(list.len());
            for (i, m) in list.iter().enumerate() {
                if let Some(o) = list[..i].iter().find(|o| o.to == m.to) {
                    return Err(format!(
                        "`{key}` maps both {} and {} to {}: the way back is ambiguous \
                         (write the reverse document yourself)",
                        o.from, m.from, m.to
                    ));
                }
                out.push(NameMap {
                    from: m.to.clone(),
                    to: m.from.clone(),
                    test: String::new(),
                });
            }
            Ok(out)
        };
        let mut reip = Vec::with_capacity(self.reip.len());
        for (i, r) in self.reip.iter().enumerate() {
            if let Some(o) = self.reip[..i]
                .iter()
                .find(|o| o.to.covers(&r.to) || r.to.covers(&o.to))
            {
                return Err(format!(
                    "re-IP rules from {} and {} lead into overlapping ranges ({} and {}): \
                     the way back is ambiguous (write the reverse document yourself)",
                    o.from, r.from, o.to, r.to
                ));
            }
            reip.push(ReipRule {
                from: r.to,
                to: r.from,
                gateway: None,
                dns: vec![],
            });
        }
        Ok(SiteMapping {
            version: self.version,
            source: self.target.clone(),
            target: self.source.clone(),
            ports: self.ports,
            security_groups: self.security_groups,
            networks: flip("networks")?,
            subnets: flip("subnets")?,
            reip,
            flavors: flip("flavors")?,
            availability_zones: flip("availability_zones")?,
            keypairs: flip("keypairs")?,
            volume_types: flip("volume_types")?,
            floating_pools: flip("floating_pools")?,
            security_group_map: flip("security_group_map")?,
        })
    }

    fn name_map(&self, key: &str) -> &[NameMap] {
        match key {
            "networks" => &self.networks,
            "subnets" => &self.subnets,
            "flavors" => &self.flavors,
            "availability_zones" => &self.availability_zones,
            "keypairs" => &self.keypairs,
            "volume_types" => &self.volume_types,
            "floating_pools" => &self.floating_pools,
            "security_group_map" => &self.security_group_map,
            _ => &[],
        }
    }

    /// What `name` of kind `key` becomes at the target (itself unmapped).
    pub fn map<'a>(&'a self, key: &str, name: &'a str) -> &'a str {
        self.name_map(key)
            .iter()
            .find(|m| m.from == name)
            .map_or(name, |m| m.to.as_str())
    }

    /// Whether `name` of kind `key` has an entry.
    pub fn maps(&self, key: &str, name: &str) -> bool {
        self.name_map(key).iter().any(|m| m.from == name)
    }

    /// The network a port on source network `name` goes on: the mapped one,
    /// or for a drill its isolated twin (`test`, default `<to>-test`).
    pub fn network(&self, name: &str, drill: bool) -> String {
        let entry = self.networks.iter().find(|m| m.from == name);
        let to = entry.map_or(name, |m| m.to.as_str());
        match (drill, entry) {
            (false, _) => to.to_string(),
            (true, Some(m)) if !m.test.is_empty() => m.test.clone(),
            (true, _) => format!("{to}-test"),
        }
    }

    /// The first re-IP rule whose `from` holds `ip`, and where it moves it.
    pub fn reip(&self, ip: std::net::IpAddr) -> Option<std::net::IpAddr> {
        self.reip
            .iter()
            .find_map(|r| super::addresses::move_address(ip, &r.from, &r.to))
    }

    /// Problems no single field shows: the version, the sites, empty or
    /// repeated names, a drill network that is the production one, re-IP
    /// rules that cannot move an address or are never reached, a
    /// `security_group_map` the policy ignores. Spans come from `src`.
    pub fn problems(&self, src: &str) -> Vec<Problem> {
        let at = Locator(src);
        let mut out = Vec::new();
        if self.version != VERSION {
            out.push(Problem::new(
                at.field("", "version", &self.version.to_string(), 0),
                format!(
                    "version {} is not a site-mapping version this Lifeboat reads ({VERSION})",
                    self.version
                ),
                "write `version: 1`",
            ));
        }
        for (k, v) in [("source", &self.source), ("target", &self.target)] {
            if v.trim().is_empty() {
                out.push(Problem::new(
                    at.key(k),
                    format!("`{k}` names no site"),
                    "name the site (a region), e.g. site-a",
                ));
            }
        }
        if !self.source.is_empty() && self.source == self.target {
            out.push(Problem::new(
                at.field("", "target", &self.target, 0),
                format!("source and target are both {}", self.target),
                "a mapping is between two sites",
            ));
        }
        for key in NAME_MAPS {
            let list = self.name_map(key);
            for (i, m) in list.iter().enumerate() {
                if m.from.trim().is_empty() || m.to.trim().is_empty() {
                    let field = if m.from.trim().is_empty() {
                        "from"
                    } else {
                        "to"
                    };
                    out.push(Problem::new(
                        at.field(key, field, "", 0),
                        format!("an entry of `{key}` has an empty name"),
                        "give both `from` and `to`",
                    ));
                }
                let earlier = list[..i].iter().filter(|x| x.from == m.from).count();
                if earlier > 0 {
                    out.push(Problem::new(
                        at.field(key, "from", &m.from, earlier),
                        format!("`{key}` maps {} twice", m.from),
                        "keep one entry per source name",
                    ));
                }
                if !m.test.is_empty() && key != "networks" {
                    out.push(Problem::new(
                        at.field(key, "test", &m.test, 0),
                        format!("`test` is for networks only, not `{key}`"),
                        "remove it",
                    ));
                }
            }
        }
        // A drill network must never be a production network of the map.
        let production: BTreeSet<&str> = self.networks.iter().map(|m| m.to.as_str()).collect();
        for m in &self.networks {
            let test = if m.test.is_empty() {
                format!("{}-test", m.to)
            } else {
                m.test.clone()
            };
            if test == m.to {
                out.push(Problem::new(
                    at.field("networks", "test", &m.test, 0),
                    format!(
                        "network {}: the drill network is the production network {}",
                        m.from, m.to
                    ),
                    "a drill must run on an isolated network: name another one",
                ));
            } else if production.contains(test.as_str()) {
                let span = if m.test.is_empty() {
                    at.field("networks", "to", &m.to, 0)
                } else {
                    at.field("networks", "test", &m.test, 0)
                };
                out.push(Problem::new(
                    span,
                    format!(
                        "network {}: its drill network {test} is where another network recovers",
                        m.from
                    ),
                    "a drill must run on an isolated network: name another one",
                ));
            }
        }
        for (i, r) in self.reip.iter().enumerate() {
            let span = || at.field("reip", "from", &r.from.to_string(), 0);
            if r.from.is_v4() != r.to.is_v4() {
                out.push(Problem::new(
                    span(),
                    format!(
                        "re-IP rule {}: {} and {} are of different families",
                        i + 1,
                        r.from,
                        r.to
                    ),
                    "map IPv4 to IPv4 and IPv6 to IPv6",
                ));
            } else if r.from.prefix_len() != r.to.prefix_len() {
                out.push(Problem::new(span(), format!("re-IP rule {}: {} and {} differ in prefix length, so an address cannot keep its offset", i + 1, r.from, r.to), "give both the same prefix length (split a rule per subnet)"));
            }
            if let Some(g) = r.gateway {
                if !r.to.contains(g.0) {
                    out.push(Problem::new(
                        at.field("reip", "gateway", &g.0.to_string(), 0),
                        format!(
                            "re-IP rule {}: gateway {} lies outside {}",
                            i + 1,
                            g.0,
                            r.to
                        ),
                        "the gateway is an address of the target subnet",
                    ));
                } else if g.0 == r.to.network() {
                    out.push(Problem::new(
                        at.field("reip", "gateway", &g.0.to_string(), 0),
                        format!(
                            "re-IP rule {}: gateway {} is the network address of {}",
                            i + 1,
                            g.0,
                            r.to
                        ),
                        "the gateway is a host address of the target subnet",
                    ));
                }
            }
            if let Some((j, e)) = self.reip[..i]
                .iter()
                .enumerate()
                .find(|(_, e)| e.from.covers(&r.from))
            {
                out.push(Problem::new(span(), format!("re-IP rule {} is never used: rule {} ({}) matches every address of {} first", i + 1, j + 1, e.from, r.from), "first match wins: put the narrower rule first, or remove it"));
            }
        }
        if self.security_groups == GroupPolicy::Recreate && !self.security_group_map.is_empty() {
            out.push(Problem::new(
                at.key("security_group_map"),
                "`security_group_map` is used only with `security_groups: map`",
                "set `security_groups: map`, or remove the map",
            ));
        }
        out
    }
}

/// The site mapping in `src`, or every problem found in it. A YAML or type
/// error stops the reading (one problem, where it stands); the rest are
/// all reported.
pub fn parse(src: &str) -> Result<SiteMapping, Vec<Problem>> {
    let doc: SiteMapping = serde_yaml::from_str(src).map_err(|e| {
        let mut i = e.location().map_or(0, |l| l.index()).min(src.len());
        // serde_yaml places a value's error at the start of its entry: the
        // value the message quotes (`…`), from there on, is where it stands.
        let msg = e.to_string();
        if let Some(quoted) = msg.split('`').nth(1).filter(|q| !q.is_empty()) {
            if let Some(k) = src[i..].find(quoted) {
                i += k;
            }
        }
        let end = src[i..]
            .find(['\n', ',', '}', ']'])
            .map_or(src.len(), |n| i + n)
            .max(i);
        let message = e.to_string();
        // serde_yaml appends " at line L column C": the span says it.
        let message = match message.rfind(" at line ") {
            Some(k) => message[..k].to_string(),
            None => message,
        };
        vec![Problem::new(
            i..end,
            message,
            "see docs/mapping.md for the fields and their types",
        )]
    })?;
    let problems = doc.problems(src);
    if problems.is_empty() {
        Ok(doc)
    } else {
        Err(problems)
    }
}

/// Finds where a value stands in the text: after a top-level `key:`, the
/// `nth` `field: value` (quoted or not, flow or block style).
struct Locator<'a>(&'a str);

impl Locator<'_> {
    /// The top-level `key:` (start of a line), else the start of the text.
    fn key(&self, key: &str) -> Range<usize> {
        let mut pos = 0;
        for line in self.0.split_inclusive('\n') {
            if line.starts_with(&format!("{key}:")) {
                return pos..pos + key.len();
            }
            pos += line.len();
        }
        0..0
    }

    fn field(&self, section: &str, field: &str, value: &str, nth: usize) -> Range<usize> {
        let (start, end) = if section.is_empty() {
            (0, self.0.len())
        } else {
            let k = self.key(section);
            if k == (0..0) {
                return 0..0;
            }
            // The section ends at the next top-level key.
            let rest = &self.0[k.end..];
            let stop = rest
                .match_indices('\n')
                .map(|(i, _)| i + 1)
                .find(|i| rest[*i..].starts_with(|c: char| c.is_ascii_alphabetic()))
                .map_or(self.0.len(), |i| k.end + i);
            (k.start, stop)
        };
        let text = &self.0[start..end];
        let mut seen = 0;
        let mut from = 0;
        while let Some(i) = text[from..].find(field) {
            let at = from + i;
            from = at + field.len();
            let before_ok =
                at == 0 || !text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
            let after = &text[at + field.len()..];
            let Some(after) = after.trim_start_matches(' ').strip_prefix(':') else {
                continue;
            };
            if !before_ok {
                continue;
            }
            let lead = after.len() - after.trim_start_matches(' ').len();
            let v = after.trim_start_matches(' ');
            let quoted = v.starts_with(['"', '\'']);
            let v = v.trim_start_matches(['"', '\'']);
            let matches = if value.is_empty() {
                true
            } else {
                v.starts_with(value)
                    && v[value.len()..].chars().next().is_none_or(|c| {
                        matches!(c, '"' | '\'' | ',' | '}' | ']' | '\n' | ' ' | '#' | '\r')
                    })
            };
            if matches {
                if seen == nth {
                    let vstart = start + (text.len() - after.len()) + lead + usize::from(quoted);
                    return if value.is_empty() {
                        start + at..start + at + field.len()
                    } else {
                        vstart..vstart + value.len()
                    };
                }
                seen += 1;
            }
        }
        if section.is_empty() {
            self.key(field)
        } else {
            self.key(section)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
version: 1
source: site-a
target: site-b
ports: keep-ip
networks:
  - from: mgmt
    to: mgmt-b
    test: mgmt-b-drill
  - {from: signalling, to: sig-b}
reip:
  - from: 10.10.0.0/24
    to: 10.20.0.0/24
    gateway: 10.20.0.1
    dns: [10.20.0.2]
flavors:
  - {from: vims.db, to: m1.large}
";

    #[test]
    fn the_reverse_turns_every_map_and_rule_round_and_is_a_valid_document() {
        let m = parse(GOOD).unwrap();
        let r = m.reversed().unwrap();
        assert_eq!((r.source.as_str(), r.target.as_str()), ("site-b", "site-a"));
        assert_eq!(r.ports, PortPolicy::KeepIp);
        assert_eq!(r.map("networks", "mgmt-b"), "mgmt");
        assert_eq!(r.map("networks", "sig-b"), "signalling");
        assert_eq!(r.map("flavors", "m1.large"), "vims.db");
        assert!(r.networks.iter().all(|n| n.test.is_empty()), "{r:?}");
        assert_eq!(
            r.reip("10.20.0.7".parse().unwrap()),
            Some("10.10.0.7".parse().unwrap())
        );
        assert_eq!((r.reip[0].gateway, r.reip[0].dns.len()), (None, 0));
        // What `mapping put --with-reverse` stores reads back clean.
        let text = serde_yaml::to_string(&r).unwrap();
        assert_eq!(parse(&text).unwrap(), r);
        // Twice round: the original's maps and rules.
        let back = r.reversed().unwrap();
        assert_eq!(back.networks.len(), 2);
        assert_eq!(back.map("networks", "mgmt"), "mgmt-b");
        assert_eq!(back.reip[0].from, m.reip[0].from);
    }

    #[test]
    fn a_reverse_that_would_be_ambiguous_is_refused() {
        let two_to_one = GOOD.replace(
            "flavors:\n  - {from: vims.db, to: m1.large}\n",
            "flavors:\n  - {from: vims.db, to: m1.large}\n  - {from: vims.app, to: m1.large}\n",
        );
        let e = parse(&two_to_one).unwrap().reversed().unwrap_err();
        assert!(
            e.contains("maps both vims.db and vims.app to m1.large"),
            "{e}"
        );
        let overlapping = GOOD.replace(
            "reip:\n",
            "reip:\n  - {from: 10.11.0.0/24, to: 10.20.0.0/24}\n",
        );
        let e = parse(&overlapping).unwrap().reversed().unwrap_err();
        assert!(e.contains("overlapping ranges"), "{e}");
    }

    fn problems(src: &str) -> Vec<(String, String)> {
        match parse(src) {
            Ok(_) => vec![],
            Err(ps) => ps
                .iter()
                .map(|p| (src[p.span.clone()].to_string(), p.message.clone()))
                .collect(),
        }
    }

    #[test]
    fn a_good_document_reads_typed() {
        let m = parse(GOOD).unwrap();
        assert_eq!(m.ports, PortPolicy::KeepIp);
        assert_eq!(m.network("mgmt", false), "mgmt-b");
        assert_eq!(m.network("mgmt", true), "mgmt-b-drill");
        assert_eq!(m.network("signalling", true), "sig-b-test");
        assert_eq!(m.network("other", false), "other");
        assert_eq!(m.network("other", true), "other-test");
        assert_eq!(m.map("flavors", "vims.db"), "m1.large");
        assert_eq!(m.map("flavors", "vims.lb"), "vims.lb");
        assert_eq!(
            m.reip("10.10.0.7".parse().unwrap()),
            Some("10.20.0.7".parse().unwrap())
        );
        assert_eq!(m.reip("10.30.0.7".parse().unwrap()), None);
        // The record a run carries is the document itself, as JSON.
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["reip"][0]["gateway"], "10.20.0.1");
        assert_eq!(v["ports"], "keep-ip");
        let back: SiteMapping = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let src = GOOD.replace("to: 10.20.0.0/24", "to: 10.20.0.9/24");
        let p = problems(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].1
                .contains("host bits set: the network is 10.20.0.0/24"),
            "{p:?}"
        );
        assert!(p[0].0.starts_with("10.20.0.9/24"), "{p:?}");
        let p = problems(&GOOD.replace("ports: keep-ip", "ports: keep-mac"));
        assert!(p[0].1.contains("unknown variant `keep-mac`"), "{p:?}");
        assert!(p[0].0.starts_with("keep-mac"), "{p:?}");
        let p = problems(&GOOD.replace("    test: mgmt-b-drill", "    tset: mgmt-b-drill"));
        assert!(p[0].1.contains("unknown field `tset`"), "{p:?}");
        assert!(p[0].0.starts_with("tset"), "{p:?}");
        let p = problems(&GOOD.replace("dns: [10.20.0.2]", "dns: [ten.twenty]"));
        assert!(
            p[0].1
                .contains("`ten.twenty` is not an IPv4 or IPv6 address"),
            "{p:?}"
        );
        let p = problems("version: 1\nsource: site-a\n");
        assert!(p[0].1.contains("missing field `target`"), "{p:?}");
        let p = problems("version: 1\nsource: [site-a\n");
        assert_eq!(p.len(), 1, "{p:?}");
    }

    #[test]
    fn cross_field_problems_are_all_reported_where_they_stand() {
        let src = "\
version: 2
source: site-a
target: site-a
networks:
  - {from: mgmt, to: mgmt-b, test: mgmt-b}
  - {from: mgmt, to: other}
  - {from: sig, to: sig-b, test: other}
flavors:
  - {from: a, to: b, test: c}
reip:
  - {from: 10.0.0.0/8, to: 11.0.0.0/8}
  - {from: 10.1.0.0/24, to: 11.1.0.0/16, gateway: 12.0.0.1}
  - {from: 192.168.2.0/24, to: fd00::/120}
security_group_map:
  - {from: web, to: web-b}
";
        let p = problems(src);
        let msgs: Vec<&str> = p.iter().map(|(_, m)| m.as_str()).collect();
        let has = |needle: &str, at: &str| {
            assert!(
                p.iter().any(|(t, m)| m.contains(needle) && t == at),
                "{needle:?} at {at:?} not in {p:#?}"
            )
        };
        has("version 2 is not a site-mapping version", "2");
        has("source and target are both site-a", "site-a");
        has(
            "the drill network is the production network mgmt-b",
            "mgmt-b",
        );
        has("`networks` maps mgmt twice", "mgmt");
        has(
            "its drill network other is where another network recovers",
            "other",
        );
        has("`test` is for networks only", "c");
        has(
            "re-IP rule 2: 10.1.0.0/24 and 11.1.0.0/16 differ in prefix length",
            "10.1.0.0/24",
        );
        has(
            "re-IP rule 2: gateway 12.0.0.1 lies outside 11.1.0.0/16",
            "12.0.0.1",
        );
        has(
            "re-IP rule 2 is never used: rule 1 (10.0.0.0/8)",
            "10.1.0.0/24",
        );
        has(
            "re-IP rule 3: 192.168.2.0/24 and fd00::/120 are of different families",
            "192.168.2.0/24",
        );
        has(
            "`security_group_map` is used only with `security_groups: map`",
            "security_group_map",
        );
        assert_eq!(msgs.len(), 11, "{msgs:#?}");
    }

    #[test]
    fn one_line_names_line_and_column() {
        let src = GOOD.replace("ports: keep-ip", "ports: sideways");
        let e = parse(&src).unwrap_err();
        assert!(
            e[0].one_line("m.yaml", &src)
                .starts_with("m.yaml:4:8: ports: unknown variant `sideways`"),
            "{}",
            e[0].one_line("m.yaml", &src)
        );
    }
}
