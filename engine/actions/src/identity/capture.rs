//! `neutron.capture`: the identity of a VNF's servers, read at their site.

use super::*;

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
