//! DNS redirection with Designate: the VNF's names follow it to the site
//! where it now runs. `designate.redirect` rewrites the addresses of a
//! recordset that were the VNF's (as its manifest recorded them) into the
//! addresses its recovered ports and floating IPs have; `designate.set_ttl`
//! lowers the TTL ahead of a planned move; `designate.restore` (the undo
//! of both) puts back what the recordset held. Each change is a PUT
//! (repeatable after a lost answer) followed by a wait for `ACTIVE`: the
//! zone's DNS servers serve it.

use std::collections::BTreeMap;

use crate::args::ClientResult;
use crate::records::{DnsRecordRec, FloatingIpRec, NetworkIdentityRec, PortRec};
use crate::wait::{is_failed, Poll};
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::designate::RecordSet;
use lifeboat_openstack::Client;

/// Old address → new address: the recorded fixed IPs (and VIPs, the VIP
/// ports' fixed IPs) as [`crate::neutron::moved_addresses`] moves them, and
/// each recorded floating IP → the one made for its port.
pub fn address_map(
    recorded: &NetworkIdentityRec,
    ports: &[PortRec],
    fips: &[FloatingIpRec],
) -> BTreeMap<String, String> {
    let mut map = crate::neutron::moved_addresses(recorded, ports);
    for now in ports {
        let Some(was) = recorded.ports.iter().find(|r| r.id == now.origin) else {
            continue;
        };
        if !was.floating_ip.is_empty() {
            if let Some(f) = fips.iter().find(|f| f.port_id == now.id) {
                map.insert(was.floating_ip.clone(), f.address.clone());
            }
        }
    }
    map
}

/// The one recordset `name` of type `kind` in the project's zones.
async fn find(cx: &Ctx<'_>, c: &Client, name: &str, kind: &str) -> Result<RecordSet, ActionError> {
    if !name.ends_with('.') {
        return Err(ActionError::permanent(format!(
            "{}: the DNS name {name:?} is not fully qualified",
            cx.action()
        ))
        .with_hint(format!("write it with the final dot: \"{name}.\"")));
    }
    let found = c
        .designate()
        .recordsets(&[("name", name), ("type", kind)])
        .await
        .act(cx.action())?;
    let mut live = found.into_iter().filter(|r| r.action != "DELETE");
    match (live.next(), live.next()) {
        (Some(r), None) => Ok(r),
        (None, _) => Err(ActionError::permanent(format!(
            "{}: no {kind} recordset named {name} in the project's zones at site {}",
            cx.action(),
            c.site()
        ))
        .with_hint("create it in the zone (`openstack recordset create`), or pass the name the VNF's clients resolve")),
        (Some(_), Some(_)) => Err(ActionError::permanent(format!(
            "{}: more than one {kind} recordset named {name} at site {}",
            cx.action(),
            c.site()
        ))
        .with_hint("keep one zone for the name")),
    }
}

/// Put `records` / `ttl` (None: leave) and wait until the zone serves it.
async fn put(
    cx: &Ctx<'_>,
    c: &Client,
    rs: &RecordSet,
    records: Option<&[String]>,
    ttl: Option<Option<u64>>,
) -> Result<RecordSet, ActionError> {
    let same_records = records.is_none_or(|r| r == rs.records.as_slice());
    let same_ttl = ttl.is_none_or(|t| t == rs.ttl);
    if !(same_records && same_ttl) {
        c.designate()
            .update_recordset(&rs.zone_id, &rs.id, records, ttl)
            .await
            .act(cx.action())?;
    }
    let (zone, id) = (rs.zone_id.clone(), rs.id.clone());
    cx.wait(
        &format!("recordset {} at site {} becoming ACTIVE", rs.name, c.site()),
        || {
            let d = c.designate();
            let (zone, id) = (zone.clone(), id.clone());
            async move {
                let r = d.recordset(&zone, &id).await?;
                Ok(match r.status.as_str() {
                    "ACTIVE" => Poll::Ready(r),
                    s if is_failed(s) => Poll::Failed(s.to_string()),
                    s => Poll::Pending(s.to_string()),
                })
            }
        },
    )
    .await
}

fn ttl_of(t: i64) -> Option<u64> {
    u64::try_from(t).ok().filter(|t| *t > 0)
}

fn record(c: &Client, now: &RecordSet, was: &RecordSet) -> DnsRecordRec {
    DnsRecordRec {
        id: now.id.clone(),
        zone_id: now.zone_id.clone(),
        site: c.site().to_string(),
        name: now.name.clone(),
        kind: now.kind.clone(),
        records: now.records.clone(),
        ttl: now.ttl.unwrap_or(0) as i64,
        was_records: was.records.clone(),
        was_ttl: was.ttl.unwrap_or(0) as i64,
    }
}

/// `designate.redirect(site, name, type, recorded, ports, floating_ips, ttl)`.
pub async fn redirect(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let name = cx.args.required_string("name")?;
    let kind = match cx.args.string("type")?.to_ascii_uppercase() {
        k if k.is_empty() => "A".to_string(),
        k => k,
    };
    let recorded: NetworkIdentityRec = cx.args.record("recorded")?;
    let ports: Vec<PortRec> = cx.args.list_flat("ports")?;
    let fips: Vec<FloatingIpRec> = cx.args.list_flat("floating_ips")?;
    let ttl = ttl_of(cx.args.int("ttl")?);
    let map = address_map(&recorded, &ports, &fips);
    let rs = find(cx, c, &name, &kind).await?;
    let new_addresses: Vec<&String> = map.values().collect();
    // A retry after the PUT landed sees the new addresses: they count as ours.
    let ours = |a: &String| map.contains_key(a) || new_addresses.contains(&a);
    if !rs.records.iter().any(ours) {
        return Err(ActionError::permanent(format!(
            "{}: none of the addresses of {name} ({}) is one of the VNF's recorded addresses ({})",
            cx.action(),
            rs.records.join(", "),
            map.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
        .with_hint("pass the names that resolve to this VNF's fixed IPs, VIPs or floating IPs"));
    }
    let mut records: Vec<String> = Vec::new();
    for a in &rs.records {
        let to = map.get(a).unwrap_or(a).clone();
        if !records.contains(&to) {
            records.push(to);
        }
    }
    let now = put(cx, c, &rs, Some(&records), ttl.map(Some)).await?;
    cx.value(record(c, &now, &rs))
}

/// `designate.set_ttl(site, name, type, ttl)`.
pub async fn set_ttl(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let name = cx.args.required_string("name")?;
    let kind = match cx.args.string("type")?.to_ascii_uppercase() {
        k if k.is_empty() => "A".to_string(),
        k => k,
    };
    let Some(ttl) = ttl_of(cx.args.int("ttl")?) else {
        return Err(ActionError::permanent(format!(
            "{}: ttl must be a number of seconds above 0",
            cx.action()
        )));
    };
    let rs = find(cx, c, &name, &kind).await?;
    let now = put(cx, c, &rs, None, Some(Some(ttl))).await?;
    cx.value(record(c, &now, &rs))
}

/// `designate.restore(record)`: the records and TTL the recordset had.
pub async fn restore(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, r) = cx.record_on_site::<DnsRecordRec>("record")?;
    let rs = match c.designate().recordset(&r.zone_id, &r.id).await {
        Ok(rs) => rs,
        Err(e) if e.kind == lifeboat_openstack::ErrorKind::NotFound => {
            // Deleted since: nothing to put back into.
            return cx.value(r);
        }
        Err(e) => return Err(crate::args::from_client(cx.action(), e)),
    };
    let records = (!r.was_records.is_empty()).then_some(r.was_records.as_slice());
    let now = put(cx, c, &rs, records, Some(ttl_of(r.was_ttl))).await?;
    cx.value(record(c, &now, &rs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::FixedIpRec;

    fn port(id: &str, origin: &str, ips: &[&str], fip: &str) -> PortRec {
        PortRec {
            id: id.into(),
            origin: origin.into(),
            fixed_ips: ips
                .iter()
                .map(|a| FixedIpRec {
                    ip_address: a.to_string(),
                    ..Default::default()
                })
                .collect(),
            floating_ip: fip.into(),
            ..Default::default()
        }
    }

    #[test]
    fn addresses_map_by_origin_position_and_floating_port() {
        let recorded = NetworkIdentityRec {
            ports: vec![
                port("pa", "", &["10.0.0.5", "fd00::5"], "203.0.113.7"),
                port("pb", "", &["10.0.0.6"], ""),
            ],
            ..Default::default()
        };
        let now = vec![
            port("nb", "pb", &["10.1.0.6"], ""),
            port("na", "pa", &["10.1.0.5", "fd01::5"], ""),
        ];
        let fips = vec![FloatingIpRec {
            port_id: "na".into(),
            address: "198.51.100.7".into(),
            ..Default::default()
        }];
        let m = address_map(&recorded, &now, &fips);
        assert_eq!(m["10.0.0.5"], "10.1.0.5");
        assert_eq!(m["fd00::5"], "fd01::5");
        assert_eq!(m["10.0.0.6"], "10.1.0.6");
        assert_eq!(m["203.0.113.7"], "198.51.100.7");
        assert_eq!(m.len(), 4);
    }
}
