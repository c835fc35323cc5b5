//! A VNF's network and compute identity: captured at the source
//! (`neutron.capture`) into the manifest, and compared at the target after
//! recovery (`neutron.compare_identity`): ports with their fixed IPs, MACs
//! and allowed-address pairs (VIPs), security groups with their rules,
//! floating IPs, server groups with their policy, key pairs.
//!
//! One file per phase: `capture.rs`, `compare.rs`, `check.rs` (what the
//! target lacks, read before anything is made); the records they share
//! here.

mod capture;
mod check;
mod compare;

pub use capture::*;
pub use check::*;
pub use compare::*;

use std::collections::{BTreeMap, BTreeSet};

use crate::args::ClientResult;
use crate::mapping::document::{GroupPolicy, SiteMapping};
use crate::prerun::{Finding, Found, Seen, Severity};
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
