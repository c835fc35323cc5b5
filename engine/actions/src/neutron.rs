//! The `neutron.*` actions that recreate a VNF's network identity at the
//! target site: security groups with their rules, ports with the kept
//! fixed IPs, MACs and allowed-address pairs, floating IPs. What they make
//! carries `lifeboat <tag> origin=<source id>` as its description: a lost
//! answer is found by it, and a rerun adopts an unbound port it made before.

use std::collections::BTreeMap;

use crate::args::{from_client, ClientResult};
use crate::identity::{port_rec, sg_rec, Names};
use crate::records::*;
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::neutron::{AddressPair, FixedIp, PortSpec, RuleSpec};
use lifeboat_openstack::{Client, ErrorKind};
use serde_json::{json, Value};

/// The description of what a call makes from the source resource `origin`.
fn made_by(cx: &Ctx<'_>, origin: &str) -> String {
    format!("lifeboat {} origin={origin}", cx.call.tag)
}

/// What a security group made for source group `origin` ends its
/// description with (after the source's own description).
fn group_mark(cx: &Ctx<'_>, origin: &str) -> String {
    format!("[lifeboat {} origin={origin}]", cx.call.tag)
}

fn is_lifeboat_made(description: Option<&str>) -> bool {
    description.is_some_and(|d| d.starts_with("lifeboat ") || d.contains("[lifeboat "))
}

/// The id of the one network named `name` at the client's site.
async fn network_id(cx: &Ctx<'_>, c: &Client, name: &str) -> Result<String, ActionError> {
    let nets = c
        .neutron()
        .networks(&[("name", name)])
        .await
        .act(cx.action())?;
    match nets.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(ActionError::permanent(format!("{}: no network named {name:?} at site {}", cx.action(), c.site()))
            .with_hint("create it at the backup site (same name, same CIDRs to keep the addresses), or map the network")),
        many => Err(ActionError::permanent(format!("{}: {} networks are named {name:?} at site {}", cx.action(), many.len(), c.site()))
            .with_hint("give the backup site's networks unique names")),
    }
}

/// `neutron.recreate_security_groups(site, identity)`: each recorded group
/// by name — one already there is used as it is (an operator's pre-staged
/// group), a missing one is made with the recorded rules.
pub async fn recreate_security_groups(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let id: NetworkIdentityRec = cx.args.record("identity")?;
    let existing = c.neutron().security_groups(&[]).await.act(cx.action())?;
    let mut ids: BTreeMap<String, String> = existing
        .iter()
        .map(|g| (g.name.clone(), g.id.clone()))
        .collect();
    let mut out = Vec::new();
    let mut fresh = Vec::new();
    for w in &id.security_groups {
        if let Some(g) = existing.iter().find(|g| g.name == w.name) {
            let mut r = sg_rec(g, c.site(), &BTreeMap::new());
            r.created = is_lifeboat_made(g.description.as_deref()) && g.name != "default";
            // A group this run made before a lost answer still needs its rules.
            if r.created {
                fresh.push(w.clone());
            }
            out.push(r);
            continue;
        }
        let description = format!("{} {}", w.description, group_mark(cx, &w.id));
        let g = c
            .neutron()
            .create_security_group(&w.name, description.trim_start())
            .await
            .act(cx.action())?;
        ids.insert(g.name.clone(), g.id.clone());
        let mut r = sg_rec(&g, c.site(), &BTreeMap::new());
        r.created = true;
        out.push(r);
        fresh.push(w.clone());
    }
    for w in &fresh {
        let gid = ids[&w.name].clone();
        for rule in &w.rules {
            let remote_group_id = if rule.remote_group.is_empty() {
                None
            } else {
                match ids.get(&rule.remote_group) {
                    Some(id) => Some(id.clone()),
                    None => return Err(ActionError::permanent(format!("{}: a rule of security group {} names group {}, which the manifest does not hold and site {} lacks", cx.action(), w.name, rule.remote_group, c.site()))),
                }
            };
            let spec = RuleSpec {
                security_group_id: gid.clone(),
                direction: rule.direction.clone(),
                ethertype: rule.ethertype.clone(),
                protocol: Some(rule.protocol.clone()).filter(|p| !p.is_empty()),
                port_range_min: u32::try_from(rule.port_min).ok(),
                port_range_max: u32::try_from(rule.port_max).ok(),
                remote_ip_prefix: Some(rule.remote_ip_prefix.clone()).filter(|p| !p.is_empty()),
                remote_group_id,
            };
            // An equal rule there already (Neutron's defaults, a retry) is fine.
            c.neutron().create_rule(&spec).await.act(cx.action())?;
        }
    }
    // The records as the target shows them now (its ids, its rules).
    let now = c.neutron().security_groups(&[]).await.act(cx.action())?;
    let names: BTreeMap<String, String> =
        now.iter().map(|g| (g.id.clone(), g.name.clone())).collect();
    for r in out.iter_mut() {
        // By id: a twin of the same name may have landed meanwhile.
        if let Some(g) = now.iter().find(|g| g.id == r.id) {
            let created = r.created;
            *r = sg_rec(g, c.site(), &names);
            r.created = created;
        }
    }
    cx.value(out)
}

/// `neutron.delete_security_groups(groups)`: the ones a run made.
pub async fn delete_security_groups(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let groups: Vec<SecurityGroupRec> = cx.args.list("groups")?;
    for g in groups.iter().filter(|g| g.created) {
        let c = cx.acts.client(&g.site)?;
        c.neutron()
            .delete_security_group(&g.id)
            .await
            .act(cx.action())?;
    }
    cx.value(groups)
}

/// `neutron.recreate_port(site, port, groups)`: the port of a translated
/// manifest (`lifeboat.apply_mapping`) on its network: each fixed IP given
/// is kept, an empty one is a new address on that subnet (by name, else by
/// CIDR); an empty MAC is a new one.
pub async fn recreate_port(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let w: PortRec = cx.args.record("port")?;
    let groups: Vec<SecurityGroupRec> = cx.args.list("groups")?;
    let network = w.network.clone();
    let net_id = network_id(cx, c, &network).await?;
    let subnets = c
        .neutron()
        .subnets(&[("network_id", &net_id)])
        .await
        .act(cx.action())?;
    let mut fixed_ips = Vec::new();
    for f in &w.fixed_ips {
        let found = if f.ip_address.is_empty() {
            subnets
                .iter()
                .find(|s| s.name == f.subnet)
                .or_else(|| subnets.iter().find(|s| s.cidr == f.cidr))
        } else {
            subnets.iter().find(|s| s.contains(&f.ip_address))
        };
        let Some(s) = found else {
            let what = if f.ip_address.is_empty() {
                format!("a new address on subnet {} ({})", f.subnet, f.cidr)
            } else {
                format!("address {} (subnet {} {})", f.ip_address, f.subnet, f.cidr)
            };
            return Err(ActionError::permanent(format!("{}: port {}: {what}: no such subnet on network {network} at site {}", cx.action(), w.name, c.site()))
                .with_hint("give the backup network that subnet, or map it in the site mapping (subnets, reip)"));
        };
        fixed_ips.push(FixedIp {
            subnet_id: s.id.clone(),
            ip_address: f.ip_address.clone(),
        });
    }
    let mut sg_ids = Vec::new();
    for name in &w.security_groups {
        match groups.iter().find(|g| &g.name == name) {
            Some(g) => sg_ids.push(g.id.clone()),
            None => {
                return Err(ActionError::permanent(format!(
                    "{}: port {} uses security group {name}, which was not recreated at site {}",
                    cx.action(),
                    w.name,
                    c.site()
                )))
            }
        }
    }
    let spec = PortSpec {
        network_id: net_id.clone(),
        name: w.name.clone(),
        description: made_by(cx, &w.id),
        fixed_ips,
        mac_address: Some(w.mac_address.clone()).filter(|m| !m.is_empty()),
        // A pair without a MAC takes the port's own (a new one, if new).
        allowed_address_pairs: w
            .allowed_address_pairs
            .iter()
            .map(|a| AddressPair {
                ip_address: a.ip_address.clone(),
                mac_address: a.mac_address.clone(),
            })
            .collect(),
        security_groups: sg_ids,
        port_security_enabled: w.port_security,
        vnic_type: if w.vnic_type.is_empty() {
            "normal".into()
        } else {
            w.vnic_type.clone()
        },
        dns_name: w.dns_name.clone(),
    };
    let made = match c.neutron().create_port(&spec).await {
        Ok(p) => p,
        Err(e) if e.kind == ErrorKind::Conflict => match adoptable(cx, c, &net_id, &w).await? {
            Some(p) => {
                tracing::info!(step = %cx.call.step, port = %p.id, site = %c.site(), "an unbound port an earlier run made for {} holds its address: adopted", w.name);
                c.neutron()
                    .update_port(&p.id, json!({"description": made_by(cx, &w.id)}))
                    .await
                    .act(cx.action())?
            }
            None => {
                return Err(from_client(cx.action(), e).with_hint("the kept address or MAC is taken at the backup site: free it, or map the port to new addresses (site mapping: ports, reip)"));
            }
        },
        Err(e) => return Err(from_client(cx.action(), e)),
    };
    // Names of the one network and its subnets, as read above.
    let names = Names {
        networks: [(net_id, network)].into_iter().collect(),
        subnets: subnets
            .into_iter()
            .map(|s| (s.id, (s.name, s.cidr)))
            .collect(),
    };
    cx.value(recreated(c, &names, &made, &w))
}

/// The record of a port made for `w`: the target's view plus what the
/// source recorded about its server, order and floating IP.
fn recreated(
    c: &Client,
    names: &Names,
    p: &lifeboat_openstack::neutron::Port,
    w: &PortRec,
) -> PortRec {
    let mut r = port_rec(p, c.site(), names, &BTreeMap::new());
    r.security_groups = w.security_groups.clone();
    r.server = w.server.clone();
    r.index = w.index;
    r.floating_ip = w.floating_ip.clone();
    r.floating_network = w.floating_network.clone();
    r.origin = w.id.clone();
    r
}

/// An unbound port on the network holding one of `w`'s kept addresses (or
/// its kept MAC) that Lifeboat made for the same source port.
async fn adoptable(
    cx: &Ctx<'_>,
    c: &Client,
    net_id: &str,
    w: &PortRec,
) -> Result<Option<lifeboat_openstack::neutron::Port>, ActionError> {
    let ports = c
        .neutron()
        .ports(&[("network_id", net_id)])
        .await
        .act(cx.action())?;
    let origin = format!("origin={}", w.id);
    Ok(ports.into_iter().find(|p| {
        let holds = (!w.mac_address.is_empty() && p.mac_address == w.mac_address)
            || w.fixed_ips.iter().any(|f| {
                !f.ip_address.is_empty() && p.fixed_ips.iter().any(|x| x.ip_address == f.ip_address)
            });
        holds
            && p.device_id.is_empty()
            && p.description
                .as_deref()
                .is_some_and(|d| d.starts_with("lifeboat ") && d.ends_with(&origin))
    }))
}

/// A port a lost answer made: found by its description.
pub async fn port_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let c = cx.client_for_call()?;
    let w: PortRec = cx.args.record("port")?;
    let ports = c
        .neutron()
        .ports(&[("description", &made_by(cx, &w.id))])
        .await
        .act(cx.action())?;
    match ports.first() {
        Some(p) => {
            let names = Names::of(cx, c).await?;
            Ok(Some(cx.value(recreated(c, &names, p, &w))?))
        }
        None => Ok(None),
    }
}

/// The twins of a made port (`kept`): other ports with its description.
pub async fn port_twins(cx: &Ctx<'_>, kept: &Value) -> Result<Vec<Value>, ActionError> {
    let c = cx.client_for_call()?;
    let w: PortRec = cx.args.record("port")?;
    let kept = kept_ids(kept);
    let mark = made_by(cx, &w.id);
    let ports = c
        .neutron()
        .ports(&[("description", &mark)])
        .await
        .act(cx.action())?;
    // Checked here too (a filter a Neutron does not know is ignored); a
    // port bound to a server is in use, not a twin.
    let twins: Vec<_> = ports
        .iter()
        .filter(|p| {
            p.description.as_deref() == Some(mark.as_str())
                && p.device_id.is_empty()
                && !kept.contains(&p.id.as_str())
        })
        .collect();
    if twins.is_empty() {
        return Ok(Vec::new());
    }
    let names = Names::of(cx, c).await?;
    twins
        .into_iter()
        .map(|p| Ok(cx.value(recreated(c, &names, p, &w))?.value))
        .collect()
}

/// The twins of a made floating IP (`kept`): others with its description.
pub async fn floating_ip_twins(cx: &Ctx<'_>, kept: &Value) -> Result<Vec<Value>, ActionError> {
    let (c, p) = cx.record_on_site::<PortRec>("port")?;
    let kept = kept_ids(kept);
    let mark = made_by(cx, &p.origin);
    let found = c
        .neutron()
        .floating_ips(&[("description", &mark)])
        .await
        .act(cx.action())?;
    // Checked here too: a filter a Neutron does not know is ignored.
    found
        .into_iter()
        .filter(|f| {
            f.description.as_deref() == Some(mark.as_str()) && !kept.contains(&f.id.as_str())
        })
        .map(|f| Ok(cx.value(fip_rec(c, &p, f))?.value))
        .collect()
}

/// The twins of the groups a call made (`kept`): each other group whose
/// description carries the call's tag, as a list of one (the undo's shape).
pub async fn security_group_twins(cx: &Ctx<'_>, kept: &Value) -> Result<Vec<Value>, ActionError> {
    let c = cx.client_for_call()?;
    let id: NetworkIdentityRec = cx.args.record("identity")?;
    let kept = kept_ids(kept);
    // The mark this call appended, at the very end: a source group's own
    // description may carry an earlier run's.
    let marks: Vec<String> = id
        .security_groups
        .iter()
        .map(|w| group_mark(cx, &w.id))
        .collect();
    let groups = c.neutron().security_groups(&[]).await.act(cx.action())?;
    groups
        .iter()
        .filter(|g| {
            !kept.contains(&g.id.as_str())
                && g.description
                    .as_deref()
                    .is_some_and(|d| marks.iter().any(|m| d.ends_with(m.as_str())))
        })
        .map(|g| {
            let mut r = sg_rec(g, c.site(), &BTreeMap::new());
            r.created = true;
            Ok(cx.value(vec![r])?.value)
        })
        .collect()
}

pub async fn delete_port(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, p) = cx.record_on_site::<PortRec>("port")?;
    c.neutron().delete_port(&p.id).await.act(cx.action())?;
    cx.value(p)
}

/// `neutron.retire_port(port)`: release the floating IPs on a stale copy's
/// port, then delete the port (its addresses and MAC free for the VNF
/// when it comes back). Gone already counts as done.
pub async fn retire_port(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, p) = cx.record_on_site::<PortRec>("port")?;
    let fips = c
        .neutron()
        .floating_ips(&[("port_id", &p.id)])
        .await
        .act(cx.action())?;
    for f in fips {
        c.neutron()
            .delete_floating_ip(&f.id)
            .await
            .act(cx.action())?;
    }
    c.neutron().delete_port(&p.id).await.act(cx.action())?;
    cx.value(p)
}

/// `neutron.recreate_floating_ip(port)`: the recorded address on the
/// recreated port when it is free at the target's external network, else a
/// new one from its pool.
pub async fn recreate_floating_ip(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, p) = cx.record_on_site::<PortRec>("port")?;
    let fixed = p.fixed_ips.first().map(|f| f.ip_address.clone());
    let net_id = network_id(cx, c, &p.floating_network).await?;
    let description = made_by(cx, &p.origin);
    let keep = Some(p.floating_ip.as_str()).filter(|a| !a.is_empty());
    let made = match c
        .neutron()
        .create_floating_ip(&net_id, keep, Some(&p.id), fixed.as_deref(), &description)
        .await
    {
        Ok(f) => f,
        Err(e) if e.kind == ErrorKind::Conflict && keep.is_some() => {
            tracing::warn!(step = %cx.call.step, address = %p.floating_ip, site = %c.site(), "the floating IP is taken at the target: a new one from the pool");
            c.neutron()
                .create_floating_ip(&net_id, None, Some(&p.id), fixed.as_deref(), &description)
                .await
                .act(cx.action())?
        }
        Err(e) => return Err(from_client(cx.action(), e)),
    };
    cx.value(fip_rec(c, &p, made))
}

fn fip_rec(c: &Client, p: &PortRec, f: lifeboat_openstack::neutron::FloatingIp) -> FloatingIpRec {
    FloatingIpRec {
        id: f.id,
        site: c.site().to_string(),
        address: f.floating_ip_address,
        network: p.floating_network.clone(),
        port_id: p.id.clone(),
        fixed_ip: f.fixed_ip_address.unwrap_or_default(),
    }
}

pub async fn floating_ip_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let (c, p) = cx.record_on_site::<PortRec>("port")?;
    let found = c
        .neutron()
        .floating_ips(&[("description", &made_by(cx, &p.origin))])
        .await
        .act(cx.action())?;
    Ok(match found.into_iter().next() {
        Some(f) => Some(cx.value(fip_rec(c, &p, f))?),
        None => None,
    })
}

pub async fn delete_floating_ip(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, f) = cx.record_on_site::<FloatingIpRec>("floating_ip")?;
    c.neutron()
        .delete_floating_ip(&f.id)
        .await
        .act(cx.action())?;
    cx.value(f)
}

/// `neutron.remap_address_pairs(site, recorded, identity, ports)`: after
/// every port is made, each made port's allowed-address pairs as the
/// translated `identity` names them, with every address and MAC that a
/// port had at the source (`recorded`, the untranslated identity) replaced
/// by what its made port has now: with new addresses the VIP follows the
/// VIP port's new address, and a pair without a MAC takes its port's. A
/// port whose pairs are right already is not touched (with kept or re-IP'd
/// addresses, none is).
/// Each fixed IP `recorded` names → the address the port made from its
/// port has (`made` matched by `origin`; a made port has one address per
/// recorded one, subnet by subnet).
pub fn moved_addresses(
    recorded: &NetworkIdentityRec,
    made: &[PortRec],
) -> BTreeMap<String, String> {
    let mut addresses = BTreeMap::new();
    for w in &recorded.ports {
        let Some(m) = made.iter().find(|m| m.origin == w.id) else {
            continue;
        };
        for (a, b) in w.fixed_ips.iter().zip(&m.fixed_ips) {
            addresses.insert(a.ip_address.clone(), b.ip_address.clone());
        }
    }
    addresses
}

pub async fn remap_address_pairs(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let recorded: NetworkIdentityRec = cx.args.record("recorded")?;
    let translated: NetworkIdentityRec = cx.args.record("identity")?;
    let made: Vec<PortRec> = cx.args.list_flat("ports")?;
    let addresses = moved_addresses(&recorded, &made);
    let mut macs: BTreeMap<String, String> = BTreeMap::new();
    for w in &recorded.ports {
        if let Some(m) = made.iter().find(|m| m.origin == w.id) {
            macs.insert(w.mac_address.clone(), m.mac_address.clone());
        }
    }
    let mut out = Vec::with_capacity(made.len());
    let mut changed = 0;
    for mut m in made {
        let Some(w) = translated.ports.iter().find(|w| w.id == m.origin) else {
            out.push(m);
            continue;
        };
        let want: Vec<AddressPairRec> = w
            .allowed_address_pairs
            .iter()
            .map(|a| AddressPairRec {
                ip_address: crate::mapping::addresses::move_text(&a.ip_address, |ip| {
                    addresses.get(&ip.to_string()).and_then(|n| n.parse().ok())
                })
                .unwrap_or_else(|| a.ip_address.clone()),
                mac_address: if a.mac_address.is_empty() {
                    m.mac_address.clone()
                } else {
                    macs.get(&a.mac_address)
                        .cloned()
                        .unwrap_or_else(|| a.mac_address.clone())
                },
            })
            .collect();
        if want != m.allowed_address_pairs {
            let pairs: Vec<AddressPair> = want
                .iter()
                .map(|a| AddressPair {
                    ip_address: a.ip_address.clone(),
                    mac_address: a.mac_address.clone(),
                })
                .collect();
            let p = c
                .neutron()
                .update_port(&m.id, json!({ "allowed_address_pairs": pairs }))
                .await
                .act(cx.action())?;
            m.allowed_address_pairs = p
                .allowed_address_pairs
                .iter()
                .map(|a| AddressPairRec {
                    ip_address: a.ip_address.clone(),
                    mac_address: a.mac_address.clone(),
                })
                .collect();
            changed += 1;
        }
        out.push(m);
    }
    if changed > 0 {
        tracing::info!(step = %cx.call.step, site = %c.site(), "allowed-address pairs of {changed} port(s) now name the made ports' addresses");
    }
    cx.value(out)
}
