//! `neutron.compare_identity`: the recreated identity against the
//! translated manifest's, as the target reports it.

use super::*;

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
