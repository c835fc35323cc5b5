//! Project quotas, per project per site, as Cinder and Nova keep them: the
//! limits (seeded from the topology, changed by `PUT /os-quota-sets/{project}`
//! or the admin API), the usage computed from the live state (never stored,
//! so it follows every create and delete), and the over-quota answers the
//! real services give: Cinder 413 `overLimit` with the exception's name in
//! the message and `Retry-After: 0`, Nova 403 `forbidden` "Quota exceeded
//! for …". -1 means unlimited.

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use crate::errors::{error, Flavor as F};
use crate::world::SiteState;

/// The limits of one project at one site. Missing fields in YAML take the
/// default of a fresh real project (Cinder's and Nova's shipped defaults).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Quotas {
    pub volumes: i64,
    pub gigabytes: i64,
    pub snapshots: i64,
    pub backups: i64,
    pub backup_gigabytes: i64,
    pub groups: i64,
    pub per_volume_gigabytes: i64,
    pub instances: i64,
    pub cores: i64,
    pub ram: i64,
    pub server_groups: i64,
    pub server_group_members: i64,
    pub key_pairs: i64,
    pub network: i64,
    pub subnet: i64,
    pub port: i64,
    pub security_group: i64,
    pub security_group_rule: i64,
    pub floatingip: i64,
}

impl Default for Quotas {
    /// A real default project: Cinder `quota_*` and Nova `[quota]` defaults.
    fn default() -> Self {
        Quotas {
            volumes: 10,
            gigabytes: 1000,
            snapshots: 10,
            backups: 10,
            backup_gigabytes: 1000,
            groups: 10,
            per_volume_gigabytes: -1,
            instances: 10,
            cores: 20,
            ram: 51200,
            server_groups: 10,
            server_group_members: 10,
            key_pairs: 100,
            network: 100,
            subnet: 100,
            port: 500,
            security_group: 10,
            security_group_rule: 100,
            floatingip: 50,
        }
    }
}

/// The block-storage quota names, in Cinder's order of checking.
pub const CINDER_KEYS: [&str; 7] = [
    "volumes",
    "gigabytes",
    "snapshots",
    "backups",
    "backup_gigabytes",
    "groups",
    "per_volume_gigabytes",
];
/// The compute quota names the emulator keeps.
pub const NOVA_KEYS: [&str; 6] = [
    "instances",
    "cores",
    "ram",
    "server_groups",
    "server_group_members",
    "key_pairs",
];
/// Every quota name the emulator keeps: block storage, compute, networking.
pub fn all_keys() -> Vec<&'static str> {
    CINDER_KEYS
        .iter()
        .chain(NOVA_KEYS.iter())
        .chain(NEUTRON_KEYS.iter())
        .copied()
        .collect()
}

/// The networking quota names (Neutron's own, singular).
pub const NEUTRON_KEYS: [&str; 6] = [
    "network",
    "subnet",
    "port",
    "security_group",
    "security_group_rule",
    "floatingip",
];

impl Quotas {
    /// Room for a demo VNF or a fleet and many runs: what an operator sets
    /// for a project that is protected by snapshots and backups.
    pub fn roomy() -> Quotas {
        Quotas {
            volumes: 1000,
            gigabytes: 10000,
            snapshots: 1000,
            backups: 1000,
            backup_gigabytes: 10000,
            groups: 100,
            per_volume_gigabytes: -1,
            instances: 100,
            cores: 200,
            ram: 512000,
            server_groups: 100,
            server_group_members: 100,
            key_pairs: 100,
            network: 100,
            subnet: 100,
            port: 1000,
            security_group: 100,
            security_group_rule: 1000,
            floatingip: 100,
        }
    }

    pub fn get(&self, key: &str) -> Option<i64> {
        Some(match key {
            "volumes" => self.volumes,
            "gigabytes" => self.gigabytes,
            "snapshots" => self.snapshots,
            "backups" => self.backups,
            "backup_gigabytes" => self.backup_gigabytes,
            "groups" => self.groups,
            "per_volume_gigabytes" => self.per_volume_gigabytes,
            "instances" => self.instances,
            "cores" => self.cores,
            "ram" => self.ram,
            "server_groups" => self.server_groups,
            "server_group_members" => self.server_group_members,
            "key_pairs" => self.key_pairs,
            "network" => self.network,
            "subnet" => self.subnet,
            "port" => self.port,
            "security_group" => self.security_group,
            "security_group_rule" => self.security_group_rule,
            "floatingip" => self.floatingip,
            _ => return None,
        })
    }

    fn slot(&mut self, key: &str) -> Option<&mut i64> {
        Some(match key {
            "volumes" => &mut self.volumes,
            "gigabytes" => &mut self.gigabytes,
            "snapshots" => &mut self.snapshots,
            "backups" => &mut self.backups,
            "backup_gigabytes" => &mut self.backup_gigabytes,
            "groups" => &mut self.groups,
            "per_volume_gigabytes" => &mut self.per_volume_gigabytes,
            "instances" => &mut self.instances,
            "cores" => &mut self.cores,
            "ram" => &mut self.ram,
            "server_groups" => &mut self.server_groups,
            "server_group_members" => &mut self.server_group_members,
            "key_pairs" => &mut self.key_pairs,
            "network" => &mut self.network,
            "subnet" => &mut self.subnet,
            "port" => &mut self.port,
            "security_group" => &mut self.security_group,
            "security_group_rule" => &mut self.security_group_rule,
            "floatingip" => &mut self.floatingip,
            _ => return None,
        })
    }

    /// Validate every `name: limit` pair (known name, integer ≥ -1, given as
    /// a number or a numeric string) and only then apply them: a bad pair
    /// changes nothing.
    pub fn apply(&mut self, changes: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
        let mut parsed = Vec::new();
        let bad: Vec<&str> = changes
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed.contains(k))
            .collect();
        if !bad.is_empty() {
            return Err(format!("Bad key(s) in quota set: {}", bad.join(", ")));
        }
        for (k, v) in changes {
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match n {
                Some(n) if n >= -1 => parsed.push((k.as_str(), n)),
                _ => {
                    return Err(format!(
                        "Quota limit {v} for {k} must be an integer -1 or greater."
                    ))
                }
            }
        }
        for (k, n) in parsed {
            if let Some(slot) = self.slot(k) {
                *slot = n;
            }
        }
        Ok(())
    }
}

/// What a project uses at a site, from the live state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub volumes: u64,
    /// Volume sizes plus snapshot sizes (Cinder counts snapshots in `gigabytes`).
    pub gigabytes: u64,
    pub snapshots: u64,
    pub backups: u64,
    pub backup_gigabytes: u64,
    pub groups: u64,
    pub instances: u64,
    pub cores: u64,
    pub ram: u64,
    /// Per volume type: (volumes, gigabytes, snapshots).
    pub per_type: BTreeMap<String, (u64, u64, u64)>,
}

impl Usage {
    pub fn get(&self, key: &str) -> u64 {
        match key {
            "volumes" => self.volumes,
            "gigabytes" => self.gigabytes,
            "snapshots" => self.snapshots,
            "backups" => self.backups,
            "backup_gigabytes" => self.backup_gigabytes,
            "groups" => self.groups,
            "instances" => self.instances,
            "cores" => self.cores,
            "ram" => self.ram,
            _ => 0,
        }
    }
}

/// The limits of `project` at a site: its own, or the site's defaults.
pub fn quotas_of(s: &SiteState, project: &str) -> Quotas {
    s.quotas
        .get(project)
        .cloned()
        .unwrap_or_else(|| s.default_quotas.clone())
}

/// Compute the usage of `project` at a site.
pub fn usage(s: &SiteState, project: &str) -> Usage {
    let mut u = Usage::default();
    for v in s
        .volumes
        .values_unordered()
        .filter(|v| v.project_id == project)
    {
        u.volumes += 1;
        u.gigabytes += v.size;
        let t = per_type_entry(&mut u.per_type, &v.volume_type);
        t.0 += 1;
        t.1 += v.size;
    }
    for sn in s
        .snapshots
        .values_unordered()
        .filter(|x| x.project_id == project)
    {
        u.snapshots += 1;
        u.gigabytes += sn.size;
        let vt = s
            .volumes
            .get(&sn.volume_id)
            .map(|v| v.volume_type.as_str())
            .unwrap_or_default();
        let t = per_type_entry(&mut u.per_type, vt);
        t.1 += sn.size;
        t.2 += 1;
    }
    for b in s
        .backups
        .values_unordered()
        .filter(|b| b.project_id == project)
    {
        u.backups += 1;
        u.backup_gigabytes += b.size;
    }
    u.groups = s
        .groups
        .values_unordered()
        .filter(|g| g.project_id == project)
        .count() as u64;
    for sv in s
        .servers
        .values_unordered()
        .filter(|x| x.project_id == project)
    {
        u.instances += 1;
        if let Some(f) = s.flavors.iter().find(|f| f.id == sv.flavor_id) {
            u.cores += f.vcpus;
            u.ram += f.ram;
        }
    }
    u
}

/// A volume type's counters, allocating its name only the first time (this
/// runs once per volume and snapshot of a project on every create).
fn per_type_entry<'a>(
    per_type: &'a mut BTreeMap<String, (u64, u64, u64)>,
    name: &str,
) -> &'a mut (u64, u64, u64) {
    if !per_type.contains_key(name) {
        per_type.insert(name.to_string(), Default::default());
    }
    per_type.get_mut(name).expect("inserted above")
}

/// Whether every limit a check reads is -1: then nothing can exceed it, and
/// the usage (a walk over the site's resources) need not be computed.
fn unlimited(limits: &[i64]) -> bool {
    limits.iter().all(|l| *l < 0)
}

fn exceeds(limit: i64, used: u64, delta: u64) -> bool {
    limit >= 0 && used + delta > limit as u64
}

/// Cinder's answer to a QuotaError: 413 `overLimit`, the message prefixed
/// with the exception's class name (Cinder's fault wrapper does that for
/// "safe" exceptions), `retryAfter` in the body and `Retry-After: 0`.
pub fn cinder_over(exception: &str, message: String) -> Response {
    let body = json!({"overLimit": {"code": 413, "message": format!("{exception}: {message}"), "retryAfter": "0"}});
    let mut r = (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response_ok();
    r.headers_mut()
        .insert("Retry-After", HeaderValue::from_static("0"));
    r
}

trait IntoOk {
    fn into_response_ok(self) -> Response;
}
impl<T: axum::response::IntoResponse> IntoOk for T {
    fn into_response_ok(self) -> Response {
        self.into_response()
    }
}

/// A new volume of `size` GB. Cinder's order: the per-volume size first,
/// then the names over quota sorted (`OverQuota(overs=sorted(overs))`), so
/// `gigabytes` is reported before `volumes` when both are over.
pub fn check_volume(s: &SiteState, project: &str, size: u64) -> Result<(), Response> {
    let q = quotas_of(s, project);
    per_volume(&q, size)?;
    if unlimited(&[q.gigabytes, q.volumes]) {
        return Ok(());
    }
    let u = usage(s, project);
    if exceeds(q.gigabytes, u.gigabytes, size) {
        return Err(gigabytes_over(&q, &u, size));
    }
    if exceeds(q.volumes, u.volumes, 1) {
        return Err(cinder_over(
            "VolumeLimitExceeded",
            format!(
                "Maximum number of volumes allowed ({}) exceeded for quota 'volumes'.",
                q.volumes
            ),
        ));
    }
    Ok(())
}

fn per_volume(q: &Quotas, size: u64) -> Result<(), Response> {
    if q.per_volume_gigabytes >= 0 && size > q.per_volume_gigabytes as u64 {
        return Err(cinder_over(
            "VolumeSizeExceedsLimit",
            format!(
                "Requested volume size {size}G is larger than maximum allowed limit {}G.",
                q.per_volume_gigabytes
            ),
        ));
    }
    Ok(())
}

/// Extending a volume to `new_size` GB (`delta` more).
pub fn check_extend(
    s: &SiteState,
    project: &str,
    new_size: u64,
    delta: u64,
) -> Result<(), Response> {
    let q = quotas_of(s, project);
    per_volume(&q, new_size)?;
    if unlimited(&[q.gigabytes]) {
        return Ok(());
    }
    let u = usage(s, project);
    if exceeds(q.gigabytes, u.gigabytes, delta) {
        return Err(gigabytes_over(&q, &u, delta));
    }
    Ok(())
}

fn gigabytes_over(q: &Quotas, u: &Usage, size: u64) -> Response {
    cinder_over(
        "VolumeSizeExceedsAvailableQuota",
        format!("Requested volume or snapshot exceeds allowed gigabytes quota. Requested {size}G, quota is {}G and {}G has been consumed.", q.gigabytes, u.gigabytes),
    )
}

/// `count` new snapshots of `gigabytes` GB in all (one, or a group
/// snapshot's); `gigabytes` before `snapshots`, as Cinder's sorted overs.
pub fn check_snapshots(
    s: &SiteState,
    project: &str,
    count: u64,
    gigabytes: u64,
) -> Result<(), Response> {
    let q = quotas_of(s, project);
    if unlimited(&[q.gigabytes, q.snapshots]) {
        return Ok(());
    }
    let u = usage(s, project);
    if exceeds(q.gigabytes, u.gigabytes, gigabytes) {
        return Err(gigabytes_over(&q, &u, gigabytes));
    }
    if exceeds(q.snapshots, u.snapshots, count) {
        return Err(cinder_over(
            "SnapshotLimitExceeded",
            format!(
                "Maximum number of snapshots allowed ({}) exceeded",
                q.snapshots
            ),
        ));
    }
    Ok(())
}

/// A new backup of `size` GB; `backup_gigabytes` before `backups`, as
/// Cinder's sorted overs.
pub fn check_backup(s: &SiteState, project: &str, size: u64) -> Result<(), Response> {
    let q = quotas_of(s, project);
    if unlimited(&[q.backup_gigabytes, q.backups]) {
        return Ok(());
    }
    let u = usage(s, project);
    if exceeds(q.backup_gigabytes, u.backup_gigabytes, size) {
        return Err(cinder_over(
            "VolumeBackupSizeExceedsAvailableQuota",
            format!("Requested backup exceeds allowed Backup gigabytes quota. Requested {size}G, quota is {}G and {}G has been consumed.", q.backup_gigabytes, u.backup_gigabytes),
        ));
    }
    if exceeds(q.backups, u.backups, 1) {
        return Err(cinder_over(
            "BackupLimitExceeded",
            format!("Maximum number of backups allowed ({}) exceeded", q.backups),
        ));
    }
    Ok(())
}

/// A new group.
pub fn check_group(s: &SiteState, project: &str) -> Result<(), Response> {
    let q = quotas_of(s, project);
    if unlimited(&[q.groups]) {
        return Ok(());
    }
    let u = usage(s, project);
    if exceeds(q.groups, u.groups, 1) {
        return Err(cinder_over(
            "GroupLimitExceeded",
            format!("Maximum number of groups allowed ({}) exceeded", q.groups),
        ));
    }
    Ok(())
}

/// A new server of `vcpus` and `ram` MB: Nova answers 403 with
/// "Quota exceeded for cores, instances, ram: Requested …, but already used
/// … of … …" (nova.compute.utils.get_over_quota_detail), the names over
/// quota sorted as Nova's `OverQuota(overs=sorted(overs))`.
pub fn check_server(s: &SiteState, project: &str, vcpus: u64, ram: u64) -> Result<(), Response> {
    let q = quotas_of(s, project);
    if unlimited(&[q.cores, q.instances, q.ram]) {
        return Ok(());
    }
    let u = usage(s, project);
    // (name, requested, used, limit) of each name over quota.
    let (mut names, mut reqs, mut useds, mut limits) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, delta) in [("cores", vcpus), ("instances", 1), ("ram", ram)] {
        let limit = q.get(k).unwrap_or(-1);
        if exceeds(limit, u.get(k), delta) {
            names.push(k.to_string());
            reqs.push(delta.to_string());
            useds.push(u.get(k).to_string());
            limits.push(limit.to_string());
        }
    }
    if names.is_empty() {
        return Ok(());
    }
    let names = names.join(", ");
    let msg = format!(
        "Quota exceeded for {names}: Requested {}, but already used {} of {} {names}",
        reqs.join(", "),
        useds.join(", "),
        limits.join(", ")
    );
    Err(error(F::Nova, StatusCode::FORBIDDEN, msg))
}

/// Cinder's quota set of a project at a site: plain limits, or
/// `{in_use, limit, reserved}` per name with `usage`. Per-type names
/// (`volumes_<type>`, …) are listed for every volume type, unlimited.
pub fn cinder_quota_set(
    s: &SiteState,
    project: &str,
    q: &Quotas,
    with_usage: bool,
    with_id: bool,
) -> Value {
    let u = usage(s, project);
    let mut m = Map::new();
    let entry = |limit: i64, used: u64| {
        if with_usage {
            json!({"in_use": used, "limit": limit, "reserved": 0})
        } else {
            json!(limit)
        }
    };
    for k in CINDER_KEYS {
        let used = if k == "per_volume_gigabytes" {
            0
        } else {
            u.get(k)
        };
        m.insert(k.to_string(), entry(q.get(k).unwrap_or(-1), used));
    }
    for t in &s.volume_types {
        let (v, g, sn) = u.per_type.get(&t.name).copied().unwrap_or_default();
        m.insert(format!("volumes_{}", t.name), entry(-1, v));
        m.insert(format!("gigabytes_{}", t.name), entry(-1, g));
        m.insert(format!("snapshots_{}", t.name), entry(-1, sn));
    }
    if with_id {
        m.insert("id".into(), json!(project));
    }
    Value::Object(m)
}

/// Cinder's `GET /limits` absolute limits.
pub fn cinder_limits(s: &SiteState, project: &str) -> Value {
    let q = quotas_of(s, project);
    let u = usage(s, project);
    json!({"limits": {"rate": [], "absolute": {
        "totalSnapshotsUsed": u.snapshots,
        "maxTotalBackups": q.backups,
        "maxTotalVolumeGigabytes": q.gigabytes,
        "maxTotalSnapshots": q.snapshots,
        "maxTotalBackupGigabytes": q.backup_gigabytes,
        "totalBackupGigabytesUsed": u.backup_gigabytes,
        "maxTotalVolumes": q.volumes,
        "totalVolumesUsed": u.volumes,
        "totalBackupsUsed": u.backups,
        "totalGigabytesUsed": u.gigabytes
    }}})
}

/// Nova's `GET /limits` at microversion `(major, minor)`: 2.36 drops the
/// network proxies (floating IPs, security groups), 2.39 `maxImageMeta`,
/// 2.57 the personality limits.
pub fn nova_limits(s: &SiteState, project: &str, at_least: impl Fn(u16, u16) -> bool) -> Value {
    let q = quotas_of(s, project);
    let u = usage(s, project);
    let groups = s
        .server_groups
        .values()
        .filter(|g| g.project_id == project)
        .count();
    let mut a = json!({
        "maxServerMeta": 128,
        "maxTotalCores": q.cores,
        "maxTotalInstances": q.instances,
        "maxTotalKeypairs": q.key_pairs,
        "maxTotalRAMSize": q.ram,
        "maxServerGroups": q.server_groups,
        "maxServerGroupMembers": q.server_group_members,
        "totalCoresUsed": u.cores,
        "totalInstancesUsed": u.instances,
        "totalRAMUsed": u.ram,
        "totalServerGroupsUsed": groups
    });
    let o = a.as_object_mut().expect("object");
    if !at_least(2, 57) {
        o.insert("maxPersonality".into(), json!(5));
        o.insert("maxPersonalitySize".into(), json!(10240));
    }
    if !at_least(2, 39) {
        o.insert("maxImageMeta".into(), json!(128));
    }
    if !at_least(2, 36) {
        for k in [
            "maxSecurityGroupRules",
            "maxSecurityGroups",
            "maxTotalFloatingIps",
        ] {
            o.insert(k.into(), json!(-1));
        }
        for k in ["totalSecurityGroupsUsed", "totalFloatingIpsUsed"] {
            o.insert(k.into(), json!(0));
        }
    }
    json!({"limits": {"absolute": a, "rate": []}})
}

/// The admin view: limits and usage of every quota name.
pub fn admin_view(s: &SiteState, project: &str) -> Value {
    let q = quotas_of(s, project);
    let u = usage(s, project);
    let mut m = Map::new();
    for k in all_keys() {
        let used = match k {
            "per_volume_gigabytes" => 0,
            k if NEUTRON_KEYS.contains(&k) => crate::neutron::quotas::used(s, project, k),
            k => u.get(k),
        };
        m.insert(k.to_string(), json!({"limit": q.get(k), "in_use": used}));
    }
    json!({"project_id": project, "quotas": m})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_validates_everything_before_changing_anything() {
        let mut q = Quotas::default();
        let bad: Map<String, Value> =
            serde_json::from_value(json!({"volumes": 3, "gigabytes": -2})).unwrap();
        assert!(q.apply(&bad, &CINDER_KEYS).is_err());
        assert_eq!(q, Quotas::default());
        let unknown: Map<String, Value> =
            serde_json::from_value(json!({"volumes": 3, "floppies": 1})).unwrap();
        assert!(q
            .apply(&unknown, &CINDER_KEYS)
            .unwrap_err()
            .contains("floppies"));
        let nova_in_cinder: Map<String, Value> =
            serde_json::from_value(json!({"cores": 3})).unwrap();
        assert!(q.apply(&nova_in_cinder, &CINDER_KEYS).is_err());
        let good: Map<String, Value> =
            serde_json::from_value(json!({"volumes": "3", "gigabytes": -1})).unwrap();
        q.apply(&good, &CINDER_KEYS).unwrap();
        assert_eq!((q.volumes, q.gigabytes, q.snapshots), (3, -1, 10));
    }

    #[test]
    fn unlimited_never_exceeds() {
        assert!(!exceeds(-1, u64::MAX - 1, 1));
        assert!(exceeds(0, 0, 1));
        assert!(!exceeds(1, 0, 1));
        assert!(exceeds(1, 1, 1));
    }
}
