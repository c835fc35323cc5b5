//! `lifeboat.check_target`: what the target site lacks to take the VNF,
//! found by reading only, before anything is created.

use super::*;

/// What the target site lacks to take a VNF as its translated manifest
/// (`lifeboat.apply_mapping`) describes it, found by reading only: the
/// networks; each kept address inside a subnet of its network and held by
/// nothing (but a port an earlier run made for the same source port); for
/// a new address, its subnet on the network; each kept MAC free on its
/// network; the external networks of the floating IPs; what the mapping
/// names — groups to map to, zones, volume types, the gateway and DNS
/// servers a re-IP rule promises; and room in the quotas for the ports,
/// security groups and rules, floating IPs, server groups, instances, cores
/// and RAM. Empty: nothing in the way.
pub(crate) async fn target_problems(
    c: &Client,
    m: &ManifestRec,
    map: &SiteMapping,
    floating: bool,
) -> lifeboat_openstack::Result<Vec<String>> {
    let site = c.site().to_string();
    let id = &m.network;
    let mut out = Vec::new();
    let nets = c.neutron().networks(&[]).await?;
    let subnets = c.neutron().subnets(&[]).await?;
    let ports = if id.ports.is_empty() {
        vec![]
    } else {
        c.neutron().ports(&[]).await?
    };
    let mut adoptable = 0i64;
    for p in &id.ports {
        let name = &p.network;
        let found: Vec<_> = nets.iter().filter(|n| &n.name == name).collect();
        let net = match found.as_slice() {
            [one] => one,
            [] => {
                out.push(format!(
                    "port {}: no network named {name:?} at {site}",
                    p.name
                ));
                continue;
            }
            many => {
                out.push(format!(
                    "port {}: {} networks are named {name:?} at {site}",
                    p.name,
                    many.len()
                ));
                continue;
            }
        };
        let origin = format!("origin={}", p.id);
        let ours = |x: &lifeboat_openstack::neutron::Port| {
            x.device_id.is_empty()
                && x.description
                    .as_deref()
                    .is_some_and(|d| d.starts_with("lifeboat ") && d.ends_with(&origin))
        };
        let on_net: Vec<_> = ports.iter().filter(|x| x.network_id == net.id).collect();
        if on_net.iter().any(|x| ours(x)) {
            adoptable += 1;
        }
        for f in &p.fixed_ips {
            if f.ip_address.is_empty() {
                if !subnets
                    .iter()
                    .any(|s| s.network_id == net.id && (s.name == f.subnet || s.cidr == f.cidr))
                {
                    out.push(format!("port {}: network {name} at {site} has no subnet named {} or with CIDR {} for its new address", p.name, f.subnet, f.cidr));
                }
                continue;
            }
            if !subnets
                .iter()
                .any(|s| s.network_id == net.id && s.contains(&f.ip_address))
            {
                out.push(format!(
                    "port {}: address {} ({}) lies in no subnet of network {name} at {site}",
                    p.name, f.ip_address, f.cidr
                ));
            }
            if let Some(h) = on_net
                .iter()
                .find(|x| !ours(x) && x.fixed_ips.iter().any(|y| y.ip_address == f.ip_address))
            {
                out.push(format!(
                    "port {}: address {} is taken at {site} by port {} ({})",
                    p.name,
                    f.ip_address,
                    h.id,
                    if h.device_id.is_empty() {
                        "unbound".to_string()
                    } else {
                        format!("of {} {}", h.device_owner, h.device_id)
                    }
                ));
            }
        }
        if !p.mac_address.is_empty() {
            if let Some(h) = on_net
                .iter()
                .find(|x| !ours(x) && x.mac_address == p.mac_address)
            {
                out.push(format!(
                    "port {}: MAC {} is taken on network {name} at {site} by port {}",
                    p.name, p.mac_address, h.id
                ));
            }
        }
        if floating
            && !p.floating_ip.is_empty()
            && !nets.iter().any(|n| n.name == p.floating_network)
        {
            out.push(format!(
                "port {}: its floating IP's external network {:?} is not at {site}",
                p.name, p.floating_network
            ));
        }
    }
    // What the mapping promises of the target.
    for (i, r) in map.reip.iter().enumerate() {
        let used = id.ports.iter().any(|p| {
            p.fixed_ips
                .iter()
                .any(|f| f.ip_address.parse().is_ok_and(|ip| r.to.contains(ip)))
        });
        if !used || (r.gateway.is_none() && r.dns.is_empty()) {
            continue;
        }
        let to = r.to.to_string();
        match subnets.iter().find(|s| s.cidr == to) {
            None => out.push(format!(
                "re-IP rule {}: no subnet at {site} has CIDR {to}",
                i + 1
            )),
            Some(s) => {
                if let Some(g) = r.gateway {
                    let g = g.0.to_string();
                    if s.gateway_ip.as_deref() != Some(g.as_str()) {
                        out.push(format!("re-IP rule {}: subnet {} ({to}) at {site} has gateway {} instead of {g}", i + 1, s.name, s.gateway_ip.as_deref().unwrap_or("none")));
                    }
                }
                let dns: Vec<String> = r.dns.iter().map(|d| d.0.to_string()).collect();
                if !dns.iter().all(|d| s.dns_nameservers.contains(d)) {
                    out.push(format!("re-IP rule {}: subnet {} ({to}) at {site} offers DNS servers {:?}, not {dns:?}", i + 1, s.name, s.dns_nameservers));
                }
            }
        }
    }
    // The target's security groups, read once (mapped groups, quotas).
    let groups = if id.ports.is_empty() && id.security_groups.is_empty() {
        vec![]
    } else {
        c.neutron().security_groups(&[]).await?
    };
    if map.security_groups == GroupPolicy::Map {
        for g in &id.security_groups {
            if !groups.iter().any(|x| x.name == g.name) {
                out.push(format!(
                    "security group {} (mapped) is not at {site}",
                    g.name
                ));
            }
        }
    }
    let zones: BTreeSet<&str> = m
        .servers
        .iter()
        .map(|s| s.availability_zone.as_str())
        .filter(|z| !z.is_empty())
        .collect();
    if !zones.is_empty() {
        let there = c.nova().availability_zones().await?;
        for z in zones {
            if !there.iter().any(|t| t == z) {
                out.push(format!(
                    "availability zone {z} is not available at {site} (zones there: {})",
                    there.join(", ")
                ));
            }
        }
    }
    // The types the volumes are restored into or adopted with (mapped).
    let types: BTreeSet<&str> = m
        .volumes
        .iter()
        .map(|v| v.volume_type.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    if !types.is_empty() {
        let there = c.cinder().volume_type_names().await?;
        for t in types {
            if !there.iter().any(|x| x == t) {
                let how = if map.volume_types.iter().any(|x| x.to == t) {
                    "mapped"
                } else {
                    "as recorded; map it in the site mapping's volume_types"
                };
                out.push(format!(
                    "volume type {t} ({how}) is not at {site} (types there: {})",
                    there.join(", ")
                ));
            }
        }
    }
    // Quotas: networking.
    if !id.ports.is_empty() || !id.security_groups.is_empty() {
        let project = c.project_id().await?;
        let q = c.neutron().quota_details(&project).await?;
        let missing: Vec<&SecurityGroupRec> = id
            .security_groups
            .iter()
            .filter(|g| !groups.iter().any(|x| x.name == g.name))
            .collect();
        let fips = if floating {
            id.ports
                .iter()
                .filter(|p| !p.floating_ip.is_empty())
                .count()
        } else {
            0
        };
        let needs = [
            ("port", id.ports.len() as i64 - adoptable),
            ("security_group", missing.len() as i64),
            (
                "security_group_rule",
                missing.iter().map(|g| g.rules.len()).sum::<usize>() as i64,
            ),
            ("floatingip", fips as i64),
        ];
        for (k, n) in needs {
            if let Some(d) = q.get(k) {
                if n > 0 && !d.room_for(n) {
                    out.push(format!(
                        "quota at {site}: {n} more {k}(s) needed, {} used of {}",
                        d.used + d.reserved,
                        d.limit
                    ));
                }
            }
        }
    }
    // Quotas: block storage (the volumes restored or adopted).
    if !m.volumes.is_empty() {
        let l = c.cinder().limits().await?;
        let get = |k: &str| l.get(k).and_then(Value::as_i64);
        let gb: i64 = m.volumes.iter().map(|v| v.size_gb).sum();
        for (what, n, max, used) in [
            (
                "volumes",
                m.volumes.len() as i64,
                "maxTotalVolumes",
                "totalVolumesUsed",
            ),
            (
                "gigabytes",
                gb,
                "maxTotalVolumeGigabytes",
                "totalGigabytesUsed",
            ),
        ] {
            if let (Some(max), Some(used)) = (get(max), get(used)) {
                if max >= 0 && used + n > max {
                    out.push(format!(
                        "quota at {site}: {n} more {what} needed, {used} used of {max}"
                    ));
                }
            }
        }
    }
    // Quotas: compute.
    if !m.servers.is_empty() {
        let flavors = c.nova().flavors().await?;
        let (mut cores, mut ram) = (0i64, 0i64);
        for s in &m.servers {
            match flavors
                .iter()
                .find(|f| f.name == s.flavor || f.id == s.flavor)
            {
                Some(f) => {
                    cores += f.vcpus as i64;
                    ram += f.ram as i64;
                }
                None => out.push(format!(
                    "server {}: flavor {:?} does not exist at {site}",
                    s.name, s.flavor
                )),
            }
        }
        let l = c.nova().limits().await?;
        let get = |k: &str| l.get(k).and_then(Value::as_i64);
        for (what, n, max, used) in [
            (
                "instances",
                m.servers.len() as i64,
                "maxTotalInstances",
                "totalInstancesUsed",
            ),
            ("cores", cores, "maxTotalCores", "totalCoresUsed"),
            ("RAM (MiB)", ram, "maxTotalRAMSize", "totalRAMUsed"),
            (
                "server groups",
                id.server_groups.len() as i64,
                "maxServerGroups",
                "totalServerGroupsUsed",
            ),
        ] {
            if let (Some(max), Some(used)) = (get(max), get(used)) {
                if max >= 0 && used + n > max {
                    out.push(format!(
                        "quota at {site}: {n} more {what} needed, {used} used of {max}"
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// `lifeboat.check_target(site, manifest, mapping, floating_ips)`: fails,
/// naming every problem, when the target site cannot take the VNF as its
/// translated manifest describes it — before anything is created.
pub async fn check_target(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let m: ManifestRec = cx.args.record("manifest")?;
    let map: SiteMapping = cx.args.record("mapping")?;
    let problems = target_problems(c, &m, &map, cx.args.bool("floating_ips", true)?)
        .await
        .act(cx.action())?;
    if !problems.is_empty() {
        return Err(ActionError::permanent(format!(
            "{}: site {} cannot take {} as recorded ({} problem{}): {}",
            cx.action(),
            c.site(),
            m.vnf,
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            problems.join("; ")
        ))
        .with_hint("free the addresses or MACs, create or rename the networks, raise the quotas at the backup site — or change the site mapping (networks, subnets, reip, ports: new); nothing was created"));
    }
    cx.value(VerificationRec {
        ok: true,
        checked: (m.network.ports.len() + m.servers.len()) as i64,
        detail: format!(
            "{}: {} ports, {} servers fit at {}",
            m.vnf,
            m.network.ports.len(),
            m.servers.len(),
            c.site()
        ),
    })
}

/// Pre-run check of `lifeboat.check_target` (`target`): the backup site
/// cannot take the VNF as recorded (a network missing, a kept address or
/// MAC taken, a quota too small), from its failed read.
pub(crate) async fn check_check_target(seen: &Seen<'_>) -> Vec<Finding> {
    let Found::Failed(message) = seen.found else {
        return Vec::new();
    };
    vec![Finding::new(Severity::Error, "target", seen.step(), seen.site, message.to_string(), "free the addresses or MACs, create or rename the networks, or raise the quotas at the backup site; the run would stop at the same check before creating anything")]
}
