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
    let fips = c.neutron().floating_ips(&[]).await.act(cx.action())?;
    // Each server's ports (bound to it), in the guest's NIC order: the
    // order of the server's addresses (Nova lists them NIC by NIC, and
    // the record keeps their MACs), not Neutron's port order; a port
    // without an address goes last.
    let mut bound: Vec<(&Port, &ServerRec, i64)> = Vec::new();
    for s in &servers {
        let macs = if s.macs.is_empty() {
            c.nova()
                .server(&s.id)
                .await
                .act(cx.action())?
                .addresses
                .macs()
        } else {
            s.macs.clone()
        };
        let mut mine: Vec<&Port> = all_ports.iter().filter(|p| p.device_id == s.id).collect();
        mine.sort_by_key(|p| {
            macs.iter()
                .position(|m| *m == p.mac_address)
                .unwrap_or(usize::MAX)
        });
        bound.extend(mine.into_iter().enumerate().map(|(i, p)| (p, s, i as i64)));
    }
    // VIPs: unbound ports holding an address the servers' ports allow.
    let pairs: BTreeSet<(&str, &str)> = bound
        .iter()
        .flat_map(|(p, _, _)| {
            p.allowed_address_pairs
                .iter()
                .map(|a| (p.network_id.as_str(), a.ip_address.as_str()))
        })
        .collect();
    // Asked for by address (a VNF has a few VIPs; the site many ports).
    let mut holders = Vec::new();
    let addresses: BTreeSet<&str> = pairs.iter().map(|(_, ip)| *ip).collect();
    for ip in addresses {
        let filter = format!("ip_address={ip}");
        let found = c.neutron().ports(&[("fixed_ips", &filter)]).await;
        holders.extend(found.act(cx.action())?);
    }
    let mut seen: BTreeSet<String> = bound.iter().map(|(p, _, _)| p.id.clone()).collect();
    holders.retain(|p: &Port| {
        p.device_id.is_empty()
            && seen.insert(p.id.clone())
            && p.fixed_ips
                .iter()
                .any(|f| pairs.contains(&(p.network_id.as_str(), f.ip_address.as_str())))
    });
    // Security groups the ports use, and the groups their rules name,
    // asked for by id.
    let mut groups: Vec<SecurityGroup> = Vec::new();
    let mut wanted: BTreeSet<String> = bound
        .iter()
        .map(|(p, _, _)| *p)
        .chain(holders.iter())
        .flat_map(|p| p.security_groups.iter().cloned())
        .collect();
    let mut asked: BTreeSet<String> = BTreeSet::new();
    while !wanted.is_empty() {
        let ask: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let found = c
            .neutron()
            .security_groups_by_id(&ask)
            .await
            .act(cx.action())?;
        groups.extend(found);
        asked.extend(std::mem::take(&mut wanted));
        wanted = groups
            .iter()
            .flat_map(|g| g.security_group_rules.iter())
            .filter_map(|r| r.remote_group_id.clone())
            .filter(|id| !asked.contains(id))
            .collect();
    }
    let sg_names: BTreeMap<String, String> = groups
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    let mut ports: Vec<PortRec> = bound
        .iter()
        .map(|(p, s, i)| {
            let mut r = port_rec(p, &site, &names, &sg_names);
            r.server = s.name.clone();
            r.index = *i;
            r
        })
        .collect();
    ports.extend(holders.iter().map(|p| {
        let mut r = port_rec(p, &site, &names, &sg_names);
        r.index = -1;
        r
    }));
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
    let mut security_groups: Vec<SecurityGroupRec> =
        groups.iter().map(|g| sg_rec(g, &site, &sg_names)).collect();
    security_groups.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
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
