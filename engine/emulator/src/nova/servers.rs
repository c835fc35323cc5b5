//! Nova servers: the server view (gated by microversion), list/detail with
//! filters and pagination, show, create (boot from volume), update, delete,
//! metadata and tags.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use crate::body::{self_and_bookmark, Link, One, Seq};
use sha2::{Digest, Sha256};

use super::nf;
use crate::errors::{bad_request, conflict, error, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::world::{new_id, now_iso, now_z, Attachment, Server, SiteState, World};

pub(crate) fn links(base: &str, project: &str, kind: &str, id: &str) -> [Link; 2] {
    self_and_bookmark(
        format!("{base}/compute/v2.1/{kind}/{id}"),
        format!("{base}/compute/{project}/{kind}/{id}"),
    )
}

fn host_id(project: &str, host: &str) -> String {
    if host.is_empty() {
        return String::new();
    }
    let d = Sha256::digest(format!("{project}{host}").as_bytes());
    hex::encode(d)[..56].to_string()
}

/// Where a server body goes. From 2.71 Nova shows `server_groups` in the
/// answers about one server (show, update, rebuild) but not in
/// `GET /servers/detail`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum For {
    One,
    List,
}

/// The full server body at microversion `mv`.
/// A server as Nova shows it at `mv`, written straight into the answer
/// (fields in Nova's order): a server shown, built as JSON values first,
/// cost about 150 k instructions, most of them keys hashed and copied.
pub fn view<'a>(s: &'a SiteState, srv: &'a Server, mv: Mv, base: &'a str, target: For) -> View<'a> {
    View {
        s,
        srv,
        mv,
        base,
        target,
    }
}

/// See [`view`].
#[derive(Clone, Copy)]
pub struct View<'a> {
    s: &'a SiteState,
    srv: &'a Server,
    mv: Mv,
    base: &'a str,
    target: For,
}

/// One address of a server, as `addresses` lists it under its network.
#[derive(Serialize)]
struct Address<'a> {
    addr: String,
    version: u8,
    #[serde(rename = "OS-EXT-IPS:type")]
    kind: &'static str,
    #[serde(rename = "OS-EXT-IPS-MAC:mac_addr")]
    mac: &'a str,
}

/// The network name → addresses map, networks in the order the server's
/// ports first name them.
struct Addresses<'a>(Vec<(&'a str, Vec<Address<'a>>)>);

impl Serialize for Addresses<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

fn addresses<'a>(s: &'a SiteState, srv: &'a Server) -> Addresses<'a> {
    let mut out: Vec<(&str, Vec<Address>)> = Vec::new();
    for pid in &srv.ports {
        let Some(p) = s.net.ports.get(pid) else {
            continue;
        };
        let net_name = s
            .net
            .networks
            .get(&p.network_id)
            .map_or(p.network_id.as_str(), |n| n.name.as_str());
        let at = match out.iter().position(|(n, _)| *n == net_name) {
            Some(i) => i,
            None => {
                out.push((net_name, Vec::new()));
                out.len() - 1
            }
        };
        let list = &mut out[at].1;
        for f in &p.fixed_ips {
            list.push(Address {
                addr: crate::neutron::state::ip_str(f.ip),
                version: 4,
                kind: "fixed",
                mac: &p.mac,
            });
            for fip in s.net.floating_ips.values() {
                if fip.port_id.as_deref() == Some(pid.as_str()) && fip.fixed_ip == Some(f.ip) {
                    list.push(Address {
                        addr: crate::neutron::state::ip_str(fip.address),
                        version: 4,
                        kind: "floating",
                        mac: &p.mac,
                    });
                }
            }
        }
    }
    Addresses(out)
}

/// The flavor as a server embeds it: the whole flavor (2.47+), else its id
/// and a link.
#[derive(Serialize)]
#[serde(untagged)]
enum FlavorView<'a> {
    Embedded {
        vcpus: u64,
        ram: u64,
        disk: u64,
        ephemeral: u64,
        swap: u64,
        original_name: &'a str,
        extra_specs: &'a BTreeMap<String, String>,
    },
    Linked {
        id: &'a str,
        links: [Link; 1],
    },
}

/// The extra specs of a flavor the site does not know.
static NO_SPECS: BTreeMap<String, String> = BTreeMap::new();

/// An attached volume as the server lists it.
#[derive(Serialize)]
struct AttachedVolume<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    delete_on_termination: Option<bool>,
}

#[derive(Serialize)]
struct GroupName<'a> {
    name: &'a str,
}

impl Serialize for View<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let View {
            s,
            srv,
            mv,
            base,
            target,
        } = *self;
        let flavor = if mv.at_least(2, 47) {
            match s.flavor(&srv.flavor_id) {
                Some(f) => FlavorView::Embedded {
                    vcpus: f.vcpus,
                    ram: f.ram,
                    disk: f.disk,
                    ephemeral: 0,
                    swap: 0,
                    original_name: &f.name,
                    extra_specs: &f.extra_specs,
                },
                None => FlavorView::Embedded {
                    vcpus: 0,
                    ram: 0,
                    disk: 0,
                    ephemeral: 0,
                    swap: 0,
                    original_name: &srv.flavor_id,
                    extra_specs: &NO_SPECS,
                },
            }
        } else {
            FlavorView::Linked {
                id: &srv.flavor_id,
                links: [Link::new(
                    format!(
                        "{base}/compute/{}/flavors/{}",
                        srv.project_id, srv.flavor_id
                    ),
                    "bookmark",
                )],
            }
        };
        let volumes = srv
            .attachments
            .iter()
            .filter_map(|r| s.attachment(r))
            .map(|(v, _)| AttachedVolume {
                id: &v.id,
                delete_on_termination: mv.at_least(2, 3).then_some(false),
            });
        let groups = security_group_names(s, srv);
        let mut o = ser.serialize_map(None)?;
        o.serialize_entry("id", &srv.id)?;
        o.serialize_entry("name", &srv.name)?;
        o.serialize_entry("status", &srv.status)?;
        o.serialize_entry("tenant_id", &srv.project_id)?;
        o.serialize_entry("user_id", &srv.user_id)?;
        o.serialize_entry("metadata", &srv.metadata)?;
        o.serialize_entry("hostId", &host_id(&srv.project_id, &srv.host))?;
        o.serialize_entry("image", "")?;
        o.serialize_entry("flavor", &flavor)?;
        o.serialize_entry("created", &srv.created)?;
        o.serialize_entry("updated", &srv.updated)?;
        o.serialize_entry("addresses", &addresses(s, srv))?;
        o.serialize_entry("accessIPv4", "")?;
        o.serialize_entry("accessIPv6", "")?;
        o.serialize_entry("links", &links(base, &srv.project_id, "servers", &srv.id))?;
        o.serialize_entry("OS-DCF:diskConfig", "AUTO")?;
        o.serialize_entry("progress", &0)?;
        o.serialize_entry("OS-EXT-AZ:availability_zone", &srv.availability_zone)?;
        o.serialize_entry("config_drive", "")?;
        o.serialize_entry("key_name", &srv.key_name)?;
        o.serialize_entry("OS-SRV-USG:launched_at", &srv.launched_at)?;
        o.serialize_entry("OS-SRV-USG:terminated_at", &None::<&str>)?;
        o.serialize_entry("OS-EXT-STS:task_state", &srv.task_state)?;
        o.serialize_entry("OS-EXT-STS:vm_state", &srv.vm_state)?;
        o.serialize_entry("OS-EXT-STS:power_state", &srv.power_state)?;
        o.serialize_entry("os-extended-volumes:volumes_attached", &Seq(volumes))?;
        o.serialize_entry(
            "security_groups",
            &Seq(groups.iter().map(|name| GroupName { name })),
        )?;
        o.serialize_entry("OS-EXT-SRV-ATTR:host", &srv.host)?;
        o.serialize_entry("OS-EXT-SRV-ATTR:hypervisor_hostname", &srv.host)?;
        o.serialize_entry(
            "OS-EXT-SRV-ATTR:instance_name",
            &format!("instance-{:08x}", srv.seq),
        )?;
        if mv.at_least(2, 3) {
            o.serialize_entry(
                "OS-EXT-SRV-ATTR:reservation_id",
                &format!("r-{:08x}", srv.seq),
            )?;
            o.serialize_entry("OS-EXT-SRV-ATTR:launch_index", &0)?;
            o.serialize_entry("OS-EXT-SRV-ATTR:hostname", &srv.name.to_lowercase())?;
            o.serialize_entry("OS-EXT-SRV-ATTR:kernel_id", "")?;
            o.serialize_entry("OS-EXT-SRV-ATTR:ramdisk_id", "")?;
            o.serialize_entry("OS-EXT-SRV-ATTR:root_device_name", "/dev/vda")?;
            o.serialize_entry("OS-EXT-SRV-ATTR:user_data", &None::<&str>)?;
        }
        if mv.at_least(2, 9) {
            o.serialize_entry("locked", &srv.locked)?;
        }
        if mv.at_least(2, 16) {
            o.serialize_entry("host_status", "UP")?;
        }
        if mv.at_least(2, 19) {
            o.serialize_entry("description", &None::<&str>)?;
        }
        if mv.at_least(2, 26) {
            o.serialize_entry("tags", &srv.tags)?;
        }
        if mv.at_least(2, 63) {
            o.serialize_entry("trusted_image_certificates", &None::<&str>)?;
        }
        if mv.at_least(2, 71) && target == For::One {
            let groups = srv
                .group
                .as_ref()
                .and_then(|g| s.server_groups.get(g))
                .filter(|g| g.members.contains(&srv.id))
                .map(|g| g.id.as_str());
            o.serialize_entry("server_groups", &Seq(groups.into_iter()))?;
        }
        if mv.at_least(2, 73) {
            o.serialize_entry("locked_reason", &srv.locked_reason)?;
        }
        if mv.at_least(2, 96) {
            o.serialize_entry("pinned_availability_zone", &None::<&str>)?;
        }
        o.end()
    }
}

pub(crate) fn summary(srv: &Server, base: &str) -> Value {
    json!({"id": srv.id, "name": srv.name, "links": links(base, &srv.project_id, "servers", &srv.id)})
}

fn name_matches(pattern: &str, name: &str) -> bool {
    // Nova treats `name` as a regular expression; support anchors and substrings.
    let (start, p) = match pattern.strip_prefix('^') {
        Some(p) => (true, p),
        None => (false, pattern),
    };
    let (end, p) = match p.strip_suffix('$') {
        Some(p) => (true, p),
        None => (false, p),
    };
    let p = p.replace(".*", "\u{0}");
    let parts: Vec<&str> = p.split('\u{0}').collect();
    if parts.len() == 1 {
        return match (start, end) {
            (true, true) => name == p,
            (true, false) => name.starts_with(p.as_str()),
            (false, true) => name.ends_with(p.as_str()),
            (false, false) => name.contains(p.as_str()),
        };
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 && start {
            if !rest.starts_with(part) {
                return false;
            }
            rest = &rest[part.len()..];
        } else if let Some(ix) = rest.find(part) {
            rest = &rest[ix + part.len()..];
        } else {
            return false;
        }
    }
    !end || parts.last().is_some_and(|l| name.ends_with(l))
}

/// An ISO 8601 time as Nova's query parameters take it (`2026-11-25T03:41:48Z`, an offset, or none = UTC).
fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
    .map(|n| n.and_utc())
}

pub fn list(ctx: &Ctx, mv: Mv, detail: bool) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    // In no particular order: sorted by age below.
    let mut servers: Vec<&Server> = s.servers.values_unordered().collect();
    // `changes-since`: servers updated since then, deleted ones included (status DELETED), as Nova.
    if let Some(since) = ctx.q("changes-since") {
        let Some(t) = parse_time(since) else {
            return Err(bad_request(F::Nova, format!("Invalid input for query parameters changes-since. Value: {since}. '{since}' is not a 'date-time'")));
        };
        servers.extend(s.deleted_servers.values());
        servers.retain(|x| parse_time(&x.updated).is_some_and(|u| u >= t));
    }
    servers.sort_by_key(|x| std::cmp::Reverse(x.seq));
    let split = |v: &str| {
        v.split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
    };
    if let Some(n) = ctx.q("name") {
        servers.retain(|x| name_matches(n, &x.name));
    }
    if let Some(st) = ctx.q("status") {
        servers.retain(|x| x.status.eq_ignore_ascii_case(st));
    }
    if mv.at_least(2, 26) {
        if let Some(t) = ctx.q("tags") {
            let want = split(t);
            servers.retain(|x| want.iter().all(|t| x.tags.contains(t)));
        }
        if let Some(t) = ctx.q("tags-any") {
            let want = split(t);
            servers.retain(|x| want.iter().any(|t| x.tags.contains(t)));
        }
        if let Some(t) = ctx.q("not-tags") {
            let want = split(t);
            servers.retain(|x| !want.iter().all(|t| x.tags.contains(t)));
        }
        if let Some(t) = ctx.q("not-tags-any") {
            let want = split(t);
            servers.retain(|x| !want.iter().any(|t| x.tags.contains(t)));
        }
    }
    if let Some(marker) = ctx.q("marker") {
        match servers.iter().position(|x| x.id == marker) {
            Some(i) => servers = servers.split_off(i + 1),
            None => return Err(bad_request(F::Nova, format!("marker [{marker}] not found"))),
        }
    }
    // At most `max_limit`, asked or not; a full page links to the next.
    let n = super::page_size(ctx)?;
    servers.truncate(n);
    let mut next = None;
    if n > 0 && servers.len() == n {
        if let Some(last) = servers.last() {
            let qs = ctx.query_with_marker(&last.id);
            let path = if detail { "servers/detail" } else { "servers" };
            next = Some(format!("{}/compute/v2.1/{path}?{qs}", ctx.base));
        }
    }
    let servers_links = next.map(|href| [Link::new(href, "next")]);
    Ok(if detail {
        let servers = servers.iter().map(|x| view(s, x, mv, &ctx.base, For::List));
        Json(Page {
            servers: Seq(servers),
            servers_links,
        })
        .into_response()
    } else {
        let servers = servers.iter().map(|x| summary(x, &ctx.base));
        Json(Page {
            servers: Seq(servers),
            servers_links,
        })
        .into_response()
    })
}

/// A page of servers, and the link to the next one if there is more.
#[derive(Serialize)]
struct Page<T: Serialize> {
    servers: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    servers_links: Option<[Link; 1]>,
}

pub fn show(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let srv = s.servers.get(id).ok_or_else(|| nf("Instance", id))?;
    Ok(Json(One("server", view(s, srv, mv, &ctx.base, For::One))).into_response())
}

pub fn update(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let body = ctx.json(F::Nova)?;
    let Some(upd) = body.get("server").and_then(|s| s.as_object()) else {
        return Err(bad_request(
            F::Nova,
            "Invalid input for field/attribute server.",
        ));
    };
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    let srv = s.servers.get_mut(id).ok_or_else(|| nf("Instance", id))?;
    if let Some(n) = upd.get("name") {
        match n.as_str() {
            Some(n) if !n.trim().is_empty() => srv.name = n.to_string(),
            _ => {
                return Err(bad_request(
                    F::Nova,
                    "Invalid input for field/attribute name.",
                ))
            }
        }
    }
    srv.updated = now_z();
    let srv = srv.clone();
    let s = w.site(ctx.site);
    Ok(Json(One("server", view(s, &srv, mv, &ctx.base, For::One))).into_response())
}

/// `POST /servers`: boot from a volume (block_device_mapping_v2, boot_index 0).
pub fn create(ctx: &Ctx, mv: Mv) -> Reply {
    let body = ctx.json(F::Nova)?;
    let Some(req) = body.get("server").and_then(|s| s.as_object()) else {
        return Err(bad_request(F::Nova, "Invalid input for field/attribute server. Value: None. 'server' is a required property"));
    };
    let Some(name) = req
        .get("name")
        .and_then(|n| n.as_str())
        .filter(|n| !n.trim().is_empty())
    else {
        return Err(bad_request(
            F::Nova,
            "Invalid input for field/attribute name. 'name' is a required property",
        ));
    };
    let flavor_ref = req.get("flavorRef").and_then(|f| {
        f.as_str()
            .map(str::to_string)
            .or_else(|| f.as_u64().map(|n| n.to_string()))
    });
    let Some(flavor_ref) = flavor_ref else {
        return Err(bad_request(
            F::Nova,
            "Invalid input for field/attribute flavorRef. 'flavorRef' is a required property",
        ));
    };
    let flavor_key = flavor_ref.rsplit('/').next().unwrap_or("").to_string();
    let bdms: Vec<Value> = req
        .get("block_device_mapping_v2")
        .and_then(|b| b.as_array())
        .cloned()
        .unwrap_or_default();
    let image_ref = req.get("imageRef").and_then(|i| i.as_str()).unwrap_or("");
    if bdms.is_empty() {
        if image_ref.is_empty() {
            return Err(bad_request(F::Nova, "Missing imageRef attribute"));
        }
        return Err(bad_request(
            F::Nova,
            format!("Image {image_ref} could not be found."),
        ));
    }
    // Networks.
    let networks_v = req.get("networks");
    if networks_v.is_none() && mv.at_least(2, 37) {
        return Err(bad_request(F::Nova, "Invalid input for field/attribute server. Value: ... 'networks' is a required property"));
    }
    let mut w = ctx.shared.lock();
    let project_id = ctx.token.project_id.clone();
    let user_id = ctx.token.user_id.clone();
    let site = ctx.site;
    let s = w.site(site);
    let Some(flavor) = s.flavor(&flavor_key) else {
        return Err(bad_request(
            F::Nova,
            format!("Flavor {flavor_key} could not be found."),
        ));
    };
    let flavor_id = flavor.id.clone();
    let mut wanted: Vec<NetReq> = Vec::new();
    match networks_v {
        None | Some(Value::Null) => {}
        Some(Value::String(x)) if x == "none" || x == "auto" => {
            if !mv.at_least(2, 37) {
                return Err(bad_request(F::Nova, format!("Invalid input for field/attribute networks. Value: {x}. '{x}' is not of type 'array'")));
            }
            if x == "auto" {
                let own = s
                    .net
                    .networks
                    .values()
                    .find(|n| n.project_id == project_id && !n.external);
                if let Some(n) = own {
                    wanted.push(NetReq::Network {
                        id: n.id.clone(),
                        fixed_ip: None,
                    });
                }
            }
        }
        Some(Value::Array(list)) => {
            for n in list {
                wanted.push(net_req(s, n, &project_id)?);
            }
        }
        Some(other) => {
            return Err(bad_request(
                F::Nova,
                format!("Invalid input for field/attribute networks. Value: {other}."),
            ))
        }
    }
    let key_name = match req.get("key_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => {
            if !s.keypairs.contains_key(&(user_id.clone(), k.clone())) {
                return Err(bad_request(F::Nova, "Invalid key_name provided."));
            }
            Some(k.clone())
        }
        Some(_) => {
            return Err(bad_request(
                F::Nova,
                "Invalid input for field/attribute key_name.",
            ))
        }
    };
    let availability_zone = match req.get("availability_zone").and_then(Value::as_str) {
        None => "nova".to_string(),
        Some(z) if z == "nova" || z.starts_with("nova:") => "nova".to_string(),
        Some(z) => {
            return Err(bad_request(
                F::Nova,
                format!("The requested availability zone is not available: {z}"),
            ))
        }
    };
    // Nova reads the hints beside `server`, under either name (the stock
    // CLI's SDK sends the old `OS-SCH-HNT:` one).
    let group = match req
        .get("os:scheduler_hints")
        .or_else(|| body.get("os:scheduler_hints"))
        .or_else(|| body.get("OS-SCH-HNT:scheduler_hints"))
        .and_then(|h| h.get("group"))
        .and_then(Value::as_str)
    {
        Some(g) => match s.server_groups.get(g) {
            Some(sg) if sg.project_id == project_id => {
                let limit = crate::quota::quotas_of(s, &project_id).server_group_members;
                if limit >= 0 && sg.members.len() as i64 >= limit {
                    return Err(error(F::Nova, StatusCode::FORBIDDEN, "Quota exceeded, too many servers in group"));
                }
                Some(sg.clone())
            }
            _ => return Err(bad_request(F::Nova, format!("Invalid input for field/attribute os:scheduler_hints. Value: group {g}: Instance group {g} could not be found."))),
        },
        None => None,
    };
    // Block devices: every mapping must name an available volume.
    let mut vols: Vec<(String, i64)> = Vec::new();
    for b in &bdms {
        let src = b.get("source_type").and_then(|x| x.as_str()).unwrap_or("");
        if src != "volume" {
            return Err(bad_request(F::Nova, format!("Block Device Mapping is Invalid: the emulator boots only from volumes (source_type {src:?}).")));
        }
        let Some(vid) = b.get("uuid").and_then(|x| x.as_str()) else {
            return Err(bad_request(
                F::Nova,
                "Block Device Mapping is Invalid: missing uuid.",
            ));
        };
        let idx = b
            .get("boot_index")
            .and_then(|x| {
                x.as_i64()
                    .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(-1);
        let Some(v) = s.volumes.get(vid) else {
            return Err(bad_request(
                F::Nova,
                format!("Block Device Mapping is Invalid: failed to get volume {vid}."),
            ));
        };
        if v.status != "available" {
            return Err(bad_request(
                F::Nova,
                format!(
                    "Invalid volume: volume '{vid}' status must be 'available'. Currently in '{}'",
                    v.status
                ),
            ));
        }
        vols.push((vid.to_string(), idx));
    }
    if !vols.iter().any(|(_, i)| *i == 0) {
        return Err(bad_request(F::Nova, "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid."));
    }
    vols.sort_by_key(|(_, i)| if *i < 0 { i64::MAX } else { *i });
    // Quota last, as Nova's compute API does (after the request is validated).
    if let Some(f) = s.flavor(&flavor_id) {
        crate::quota::check_server(s, &project_id, f.vcpus, f.ram)?;
    }
    let mut metadata = Map::new();
    if let Some(m) = req.get("metadata") {
        match m.as_object() {
            Some(m) => {
                for (k, v) in m {
                    match v.as_str() {
                        Some(s) => {
                            metadata.insert(k.clone(), Value::String(s.to_string()));
                        }
                        None => return Err(bad_request(F::Nova, format!("Invalid input for field/attribute metadata. Value: {v} is not of type 'string'"))),
                    }
                }
            }
            None => {
                return Err(bad_request(
                    F::Nova,
                    "Invalid input for field/attribute metadata.",
                ))
            }
        }
    }
    let tags: Vec<String> = if mv.at_least(2, 52) {
        req.get("tags")
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        vec![]
    };
    let id = new_id();
    let host = schedule(s, group.as_ref());
    let seq = w.next_seq();
    let mut att_ids = Vec::new();
    let sm = w.site_mut(site);
    // Ports: made on the asked networks, or the given ones bound to the server.
    let mut ports = Vec::new();
    let mut made_ports = Vec::new();
    for r in &wanted {
        let pid = match r {
            NetReq::Port(pid) => pid.clone(),
            NetReq::Network {
                id: net_id,
                fixed_ip,
            } => match crate::neutron::ports::make(sm, &project_id, net_id, *fixed_ip) {
                Ok(pid) => {
                    made_ports.push(pid.clone());
                    pid
                }
                Err(msg) => {
                    for p in &made_ports {
                        sm.net.remove_port(p);
                    }
                    return Err(bad_request(F::Nova, msg));
                }
            },
        };
        if let Some(p) = sm.net.ports.get_mut(&pid) {
            p.device_id = id.clone();
            p.device_owner = "compute:nova".into();
            p.host = host.clone().unwrap_or_default();
            p.updated_at = now_z();
            p.revision += 1;
        }
        ports.push(pid);
    }
    if let Some(g) = &group {
        if let Some(g) = sm.server_groups.get_mut(&g.id) {
            g.members.push(id.clone());
        }
    }
    for (i, (vid, _)) in vols.iter().enumerate() {
        if let Some(v) = sm.volumes.get_mut(vid) {
            let att = Attachment {
                id: new_id(),
                server_id: id.clone(),
                volume_id: vid.clone(),
                device: crate::world::device_name(i),
                attached_at: now_iso(),
            };
            att_ids.push(att.server_ref());
            v.status = "attaching".into();
            v.attachments.push(att);
            v.updated_at = Some(now_iso());
        }
    }
    let now = now_z();
    let srv = Server {
        id: id.clone(),
        name: name.to_string(),
        seq,
        status: "BUILD".into(),
        vm_state: "building".into(),
        task_state: Some("scheduling".into()),
        power_state: 0,
        quiesced: false,
        locked: false,
        locked_reason: None,
        flavor_id,
        ports,
        made_ports,
        host: host.unwrap_or_default(),
        key_name,
        availability_zone,
        metadata,
        tags,
        created: now.clone(),
        updated: now,
        launched_at: None,
        attachments: att_ids,
        user_id,
        project_id: project_id.clone(),
        group: group.as_ref().map(|g| g.id.clone()),
    };
    // BUILD goes scheduling → spawning → (ACTIVE, no task), as Nova's task states.
    let (me, id4, step) = (
        ctx.shared.clone(),
        id.clone(),
        ctx.shared.timing().transition,
    );
    tokio::spawn(async move {
        tokio::time::sleep(step).await;
        if let Some(srv) = me.lock().site_mut(site).servers.get_mut(&id4) {
            if srv.status == "BUILD" && srv.task_state.as_deref() == Some("scheduling") {
                srv.task_state = Some("spawning".into());
            }
        }
    });
    let summary_links = json!(links(&ctx.base, &project_id, "servers", &id));
    let sg = json!(security_group_names(sm, &srv)
        .into_iter()
        .map(|n| json!({"name": n}))
        .collect::<Vec<_>>());
    sm.servers.insert(id.clone(), srv);
    drop(w);
    let id2 = id.clone();
    let id3 = id.clone();
    ctx.shared.later(
        site,
        "server.create",
        2,
        move |w: &mut World| {
            let s = w.site_mut(site);
            let Some(srv) = s.servers.get_mut(&id2) else {
                return;
            };
            if srv.status != "BUILD" {
                return;
            }
            if srv.host.is_empty() {
                // The scheduler found no host the server's group allows.
                fail_build(s, &id2);
                return;
            }
            srv.status = "ACTIVE".into();
            srv.vm_state = "active".into();
            srv.task_state = None;
            srv.power_state = 1;
            srv.launched_at = Some(now_iso());
            srv.updated = now_z();
            for v in s.volumes.values_unordered_mut() {
                if v.attachments.iter().any(|a| a.server_id == id2) && v.status == "attaching" {
                    v.status = "in-use".into();
                }
            }
        },
        move |w: &mut World| fail_build(w.site_mut(site), &id3),
    );
    let admin_pass = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let server = json!({"id": id, "links": summary_links, "OS-DCF:diskConfig": "AUTO", "security_groups": sg, "adminPass": admin_pass});
    let mut r = (StatusCode::ACCEPTED, Json(json!({"server": server}))).into_response();
    if let Ok(v) =
        axum::http::HeaderValue::from_str(&format!("{}/compute/v2.1/servers/{}", ctx.base, id))
    {
        r.headers_mut().insert("location", v);
    }
    Ok(r)
}

/// A build that failed: ERROR, its volumes released (its ports stay
/// until the server is deleted, as Nova).
fn fail_build(s: &mut SiteState, id: &str) {
    if let Some(srv) = s.servers.get_mut(id) {
        srv.status = "ERROR".into();
        srv.vm_state = "error".into();
        srv.task_state = None;
        srv.updated = now_z();
    }
    for v in s.volumes.values_unordered_mut() {
        if v.attachments.iter().any(|a| a.server_id == id) {
            v.attachments.retain(|a| a.server_id != id);
            v.status = "available".into();
        }
    }
}

/// One entry of `networks`, checked as nova-api checks it before it
/// accepts the boot.
pub(crate) enum NetReq {
    Network { id: String, fixed_ip: Option<u32> },
    Port(String),
}

fn net_req(s: &SiteState, n: &Value, project: &str) -> Result<NetReq, Response> {
    use crate::neutron::state::{ip_str, parse_ip};
    if let Some(pid) = n.get("port").and_then(Value::as_str) {
        let Some(p) = s.net.ports.get(pid).filter(|p| p.project_id == project) else {
            return Err(bad_request(
                F::Nova,
                format!("Port id {pid} could not be found."),
            ));
        };
        if !p.device_id.is_empty() {
            return Err(conflict(F::Nova, format!("Port {pid} is still in use.")));
        }
        return Ok(NetReq::Port(pid.to_string()));
    }
    let key = n.get("uuid").and_then(Value::as_str).unwrap_or("");
    if key.is_empty() {
        return Err(bad_request(
            F::Nova,
            "Bad networks format: network uuid is not in proper format ()",
        ));
    }
    if uuid::Uuid::parse_str(key).is_err() {
        return Err(bad_request(
            F::Nova,
            format!("Bad networks format: network uuid is not in proper format ({key})"),
        ));
    }
    let Some(net) = s
        .net
        .networks
        .get(key)
        .filter(|x| x.project_id == project || x.shared)
    else {
        return Err(bad_request(
            F::Nova,
            format!("Network {key} could not be found."),
        ));
    };
    let fixed_ip = match n.get("fixed_ip").and_then(Value::as_str) {
        Some(a) => {
            let Some(ip) = parse_ip(a) else {
                return Err(bad_request(F::Nova, format!("Invalid input for field/attribute fixed_ip. Value: {a}. '{a}' is not a 'ipv4'")));
            };
            if let Some(owner) = s
                .net
                .ports
                .values()
                .find(|p| p.network_id == net.id && p.fixed_ips.iter().any(|f| f.ip == ip))
            {
                return Err(bad_request(
                    F::Nova,
                    format!(
                        "Fixed IP address {} is already in use on instance {}.",
                        ip_str(ip),
                        owner.device_id
                    ),
                ));
            }
            Some(ip)
        }
        None => None,
    };
    Ok(NetReq::Network {
        id: net.id.clone(),
        fixed_ip,
    })
}

/// The host for a new server: the least loaded one its group's policy
/// allows; None when a hard policy leaves none ("No valid host").
fn schedule(s: &SiteState, group: Option<&crate::world::ServerGroup>) -> Option<String> {
    let load = |h: &str| s.servers.values_unordered().filter(|x| x.host == h).count();
    let member_hosts: Vec<&str> = group
        .map(|g| {
            g.members
                .iter()
                .filter_map(|m| s.servers.get(m))
                .map(|x| x.host.as_str())
                .collect()
        })
        .unwrap_or_default();
    let least = |hosts: Vec<&String>| hosts.into_iter().min_by_key(|h| load(h)).cloned();
    match group.map(|g| g.policy.as_str()) {
        Some("anti-affinity") => least(
            s.hosts
                .iter()
                .filter(|h| !member_hosts.contains(&h.as_str()))
                .collect(),
        ),
        Some("affinity") => match member_hosts.first() {
            Some(h) => Some(h.to_string()),
            None => least(s.hosts.iter().collect()),
        },
        Some("soft-anti-affinity") => least(
            s.hosts
                .iter()
                .filter(|h| !member_hosts.contains(&h.as_str()))
                .collect(),
        )
        .or_else(|| least(s.hosts.iter().collect())),
        Some("soft-affinity") => member_hosts
            .first()
            .map(|h| h.to_string())
            .or_else(|| least(s.hosts.iter().collect())),
        _ => least(s.hosts.iter().collect()),
    }
}

/// The names of the security groups on a server's ports, each once.
pub(crate) fn security_group_names(s: &SiteState, srv: &Server) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for pid in &srv.ports {
        for g in s
            .net
            .ports
            .get(pid)
            .map(|p| p.security_groups.as_slice())
            .unwrap_or(&[])
        {
            if let Some(sg) = s.net.security_groups.get(g) {
                if !out.contains(&sg.name) {
                    out.push(sg.name.clone());
                }
            }
        }
    }
    out
}

/// Nova's `check_instance_lock`: a locked server refuses what would change
/// it (409 `InstanceIsLocked`) until it is unlocked.
pub(crate) fn check_unlocked(srv: &Server) -> Result<(), axum::response::Response> {
    if srv.locked {
        return Err(crate::errors::conflict(
            F::Nova,
            format!("Instance {} is locked", srv.id),
        ));
    }
    Ok(())
}

/// `DELETE /servers/{id}`: volumes are detached (→ available) and kept.
pub fn delete(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let site = ctx.site;
    let s = w.site_mut(site);
    let srv = s.servers.get_mut(id).ok_or_else(|| nf("Instance", id))?;
    check_unlocked(srv)?;
    if srv.task_state.as_deref() == Some("deleting") {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    srv.task_state = Some("deleting".into());
    srv.updated = now_z();
    drop(w);
    let id = id.to_string();
    ctx.shared.later(
        site,
        "server.delete",
        1,
        move |w: &mut World| {
            let s = w.site_mut(site);
            if let Some(mut gone) = s.servers.remove(&id) {
                // Ports Nova made go with the server; given ones are unbound.
                for p in &gone.made_ports {
                    s.net.remove_port(p);
                }
                for pid in &gone.ports {
                    if let Some(p) = s.net.ports.get_mut(pid) {
                        p.device_id.clear();
                        p.device_owner.clear();
                        p.host.clear();
                        p.updated_at = now_z();
                        p.revision += 1;
                    }
                }
                for g in s.server_groups.values_mut() {
                    g.members.retain(|m| m != &id);
                }
                gone.status = "DELETED".into();
                gone.vm_state = "deleted".into();
                gone.task_state = None;
                gone.power_state = 0;
                gone.attachments.clear();
                gone.updated = now_z();
                s.deleted_servers.insert(id.clone(), gone);
            }
            for v in s.volumes.values_unordered_mut() {
                if v.attachments.iter().any(|a| a.server_id == id) {
                    v.attachments.retain(|a| a.server_id != id);
                    if v.attachments.is_empty()
                        && (v.status == "in-use"
                            || v.status == "attaching"
                            || v.status == "detaching")
                    {
                        v.status = "available".into();
                    }
                    v.updated_at = Some(now_iso());
                }
            }
        },
        |_w: &mut World| {},
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn string_map(v: &Value, key: &str) -> Result<Map<String, Value>, Response> {
    let Some(m) = v.get(key).and_then(|m| m.as_object()) else {
        return Err(bad_request(
            F::Nova,
            format!("Invalid input for field/attribute {key}. '{key}' is a required property"),
        ));
    };
    for (k, val) in m {
        if !val.is_string() {
            return Err(bad_request(F::Nova, format!("Invalid input for field/attribute {k}. Value: {val}. {val} is not of type 'string'")));
        }
    }
    Ok(m.clone())
}

pub fn metadata_get(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let srv = w
        .site(ctx.site)
        .servers
        .get(id)
        .ok_or_else(|| nf("Instance", id))?;
    Ok(Json(json!({"metadata": srv.metadata})).into_response())
}

/// PUT replaces all metadata; POST merges.
pub fn metadata_set(ctx: &Ctx, id: &str, replace: bool) -> Reply {
    let body = ctx.json(F::Nova)?;
    let m = string_map(&body, "metadata")?;
    let mut w = ctx.shared.lock();
    let srv = w
        .site_mut(ctx.site)
        .servers
        .get_mut(id)
        .ok_or_else(|| nf("Instance", id))?;
    check_unlocked(srv)?;
    if replace {
        srv.metadata = m;
    } else {
        for (k, v) in m {
            srv.metadata.insert(k, v);
        }
    }
    srv.updated = now_z();
    Ok(Json(json!({"metadata": srv.metadata})).into_response())
}

/// One metadata item: get (`None`), put (`Some(false)`), delete (`Some(true)`).
pub fn metadata_item(ctx: &Ctx, id: &str, key: &str, op: Option<bool>) -> Reply {
    let body = if op == Some(false) {
        Some(ctx.json(F::Nova)?)
    } else {
        None
    };
    let mut w = ctx.shared.lock();
    let srv = w
        .site_mut(ctx.site)
        .servers
        .get_mut(id)
        .ok_or_else(|| nf("Instance", id))?;
    if op.is_some() {
        check_unlocked(srv)?;
    }
    match op {
        None => match srv.metadata.get(key) {
            Some(v) => Ok(Json(json!({"meta": {key: v}})).into_response()),
            None => Err(nf("Metadata item", key)),
        },
        Some(true) => match srv.metadata.remove(key) {
            Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
            None => Err(nf("Metadata item", key)),
        },
        Some(false) => {
            let m = string_map(body.as_ref().unwrap_or(&Value::Null), "meta")?;
            if m.len() != 1 || !m.contains_key(key) {
                return Err(bad_request(F::Nova, "Request body and URI mismatch"));
            }
            for (k, v) in m.clone() {
                srv.metadata.insert(k, v);
            }
            Ok(Json(json!({"meta": m})).into_response())
        }
    }
}

/// `/servers/{id}/tags[/{tag}]` (2.26+).
pub fn tags(ctx: &Ctx, m: &Method, id: &str, tag: Option<&str>) -> Reply {
    let body = if *m == Method::PUT && tag.is_none() {
        Some(ctx.json(F::Nova)?)
    } else {
        None
    };
    let mut w = ctx.shared.lock();
    let srv = w
        .site_mut(ctx.site)
        .servers
        .get_mut(id)
        .ok_or_else(|| nf("Instance", id))?;
    let valid = |t: &str| !t.is_empty() && t.len() <= 60 && !t.contains(',') && !t.contains('/');
    match (m.clone(), tag) {
        (Method::GET, None) => Ok(Json(json!({"tags": srv.tags})).into_response()),
        (Method::PUT, None) => {
            let Some(list) = body
                .as_ref()
                .and_then(|b| b.get("tags"))
                .and_then(|t| t.as_array())
            else {
                return Err(bad_request(
                    F::Nova,
                    "Invalid input for field/attribute tags. 'tags' is a required property",
                ));
            };
            let mut tags = Vec::new();
            for t in list {
                match t.as_str() {
                    Some(t) if valid(t) => {
                        if !tags.contains(&t.to_string()) {
                            tags.push(t.to_string());
                        }
                    }
                    _ => {
                        return Err(bad_request(
                            F::Nova,
                            format!("Invalid input for field/attribute tags. Value: {t}."),
                        ))
                    }
                }
            }
            if tags.len() > 50 {
                return Err(bad_request(
                    F::Nova,
                    "The number of tags exceeded the per-server limit 50",
                ));
            }
            srv.tags = tags;
            Ok(Json(json!({"tags": srv.tags})).into_response())
        }
        (Method::DELETE, None) => {
            srv.tags.clear();
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (Method::GET, Some(t)) => {
            if srv.tags.iter().any(|x| x == t) {
                Ok(StatusCode::NO_CONTENT.into_response())
            } else {
                Err(nf("Tag", t))
            }
        }
        (Method::PUT, Some(t)) => {
            if !valid(t) {
                return Err(bad_request(F::Nova, format!("Tag '{t}' is invalid.")));
            }
            let created = !srv.tags.iter().any(|x| x == t);
            if created {
                if srv.tags.len() >= 50 {
                    return Err(bad_request(
                        F::Nova,
                        "The number of tags exceeded the per-server limit 50",
                    ));
                }
                srv.tags.push(t.to_string());
            }
            let code = if created {
                StatusCode::CREATED
            } else {
                StatusCode::NO_CONTENT
            };
            let mut r = code.into_response();
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
                "{}/compute/v2.1/servers/{id}/tags/{t}",
                ctx.base
            )) {
                r.headers_mut().insert("location", v);
            }
            Ok(r)
        }
        (Method::DELETE, Some(t)) => {
            let before = srv.tags.len();
            srv.tags.retain(|x| x != t);
            if srv.tags.len() == before {
                return Err(nf("Tag", t));
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(error(
            F::Nova,
            StatusCode::METHOD_NOT_ALLOWED,
            "The method specified is not allowed for this resource.",
        )),
    }
}

/// 409 in Nova's wording for an action in the wrong state.
pub fn invalid_state(action: &str, id: &str, attr: &str, state: &str) -> Response {
    conflict(
        F::Nova,
        format!("Cannot '{action}' instance {id} while it is in {attr} {state}"),
    )
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn name_filter_is_regex_like() {
        assert!(name_matches("vims", "vims-db-1"));
        assert!(name_matches("^vims-db", "vims-db-1"));
        assert!(!name_matches("^db", "vims-db-1"));
        assert!(name_matches("db-1$", "vims-db-1"));
        assert!(name_matches("^vims.*1$", "vims-db-1"));
        assert!(!name_matches("^vims.*2$", "vims-db-1"));
    }
}
