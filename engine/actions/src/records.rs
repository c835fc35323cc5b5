//! The stdlib record types (stdlib/types.dr) as Rust structs, and the
//! conversions from API objects. Serialized, each gives a JSON object with
//! exactly the record's fields; deserialized (from action arguments), missing
//! fields take their zero value.

use lifeboat_openstack::cinder::{Backup, Snapshot, Volume};
use lifeboat_openstack::nova::Server;
use serde::{Deserialize, Serialize};

/// Metadata keys Lifeboat puts on what it creates.
/// The ids a call's result holds: its `id`, or each element's (a list).
pub fn kept_ids(kept: &serde_json::Value) -> Vec<&str> {
    match kept {
        serde_json::Value::Array(items) => items.iter().filter_map(|x| x["id"].as_str()).collect(),
        v => v["id"].as_str().into_iter().collect(),
    }
}

pub const META_TAG: &str = "lifeboat_tag";
pub const META_RUN: &str = "lifeboat_run";
pub const META_STEP: &str = "lifeboat_step";
pub const META_ORIGIN: &str = "lifeboat_origin";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerRec {
    pub id: String,
    pub name: String,
    pub site: String,
    pub status: String,
    pub role: String,
    pub priority: i64,
    pub flavor: String,
    pub networks: Vec<String>,
    pub tags: Vec<String>,
    pub volumes: Vec<String>,
    pub key_name: String,
    pub availability_zone: String,
    /// Its NICs' MAC addresses in the guest's order (as Nova lists its
    /// addresses): `neutron.capture` orders the server's ports by them.
    pub macs: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeRec {
    pub id: String,
    pub name: String,
    pub site: String,
    pub status: String,
    pub size_gb: i64,
    pub volume_type: String,
    pub bootable: bool,
    pub server_id: String,
    pub device: String,
    pub origin: String,
    pub snapshot_id: String,
}

impl VolumeRec {
    /// The production volume it descends from: its `origin`, else itself.
    pub fn production(&self) -> String {
        if self.origin.is_empty() {
            self.id.clone()
        } else {
            self.origin.clone()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupRec {
    pub id: String,
    pub name: String,
    pub site: String,
    pub volume_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SnapshotRec {
    pub id: String,
    pub name: String,
    pub site: String,
    pub volume_id: String,
    pub size_gb: i64,
    pub status: String,
    pub created_at: String,
    pub origin: String,
    /// The name of the group snapshot that made it, when a group snapshot
    /// of this very run did (set by `cinder.create_group_snapshot`): the
    /// member is then tagged by the step that first uses it, after the thaw.
    pub group_snapshot_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupSnapshotRec {
    pub id: String,
    pub name: String,
    pub site: String,
    pub group_id: String,
    pub created_at: String,
    pub snapshots: Vec<SnapshotRec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupRecordRec {
    pub backup_service: String,
    pub backup_url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupRec {
    pub id: String,
    pub name: String,
    pub site: String,
    pub volume_id: String,
    pub size_gb: i64,
    pub status: String,
    pub incremental: bool,
    pub container: String,
    pub created_at: String,
    pub origin: String,
    pub bytes_moved: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageRec {
    pub id: String,
    pub name: String,
    pub site: String,
    pub status: String,
    pub server_id: String,
    pub snapshots: Vec<SnapshotRec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttachmentRec {
    pub id: String,
    pub server_id: String,
    pub volume_id: String,
    pub device: String,
    pub site: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplicaRec {
    pub volume_id: String,
    pub site: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub host: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManifestVolumeRec {
    pub id: String,
    pub name: String,
    pub size_gb: i64,
    pub volume_type: String,
    pub bootable: bool,
    pub device: String,
    pub boot: bool,
    pub record: BackupRecordRec,
    pub backup_id: String,
    pub replica: ReplicaRec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManifestServerRec {
    pub id: String,
    pub name: String,
    pub role: String,
    pub priority: i64,
    pub flavor: String,
    /// The flavor's sizes at the source (0: not recorded).
    pub vcpus: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    /// Its extra specs as `key=value`, sorted.
    pub flavor_extra_specs: Vec<String>,
    pub networks: Vec<String>,
    pub key_name: String,
    pub availability_zone: String,
    pub tags: Vec<String>,
    pub boot_volume: ManifestVolumeRec,
    pub data_volumes: Vec<ManifestVolumeRec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BootGroupRec {
    pub priority: i64,
    pub servers: Vec<ManifestServerRec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManifestRec {
    pub version: i64,
    pub vnf: String,
    pub option: String,
    pub run_id: String,
    pub snapshot_time: String,
    pub source_site: String,
    pub servers: Vec<ManifestServerRec>,
    pub volumes: Vec<ManifestVolumeRec>,
    pub boot_groups: Vec<BootGroupRec>,
    /// Swift containers replicated by container sync (option 3).
    pub containers: Vec<ContainerReplicaRec>,
    /// The VNF's network identity (version 2 on; empty in version 1).
    pub network: NetworkIdentityRec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FixedIpRec {
    pub subnet: String,
    pub cidr: String,
    pub ip_address: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressPairRec {
    pub ip_address: String,
    pub mac_address: String,
}

/// A port as recorded at the source and as recreated at the target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortRec {
    pub id: String,
    pub name: String,
    pub site: String,
    pub network: String,
    pub fixed_ips: Vec<FixedIpRec>,
    pub mac_address: String,
    pub allowed_address_pairs: Vec<AddressPairRec>,
    pub port_security: bool,
    pub vnic_type: String,
    pub dns_name: String,
    pub security_groups: Vec<String>,
    pub server: String,
    pub index: i64,
    pub floating_ip: String,
    pub floating_network: String,
    pub origin: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(default)]
pub struct SgRuleRec {
    pub direction: String,
    pub ethertype: String,
    pub protocol: String,
    pub port_min: i64,
    pub port_max: i64,
    pub remote_ip_prefix: String,
    pub remote_group: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroupRec {
    pub id: String,
    pub name: String,
    pub site: String,
    pub description: String,
    pub rules: Vec<SgRuleRec>,
    pub created: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerGroupRec {
    pub id: String,
    pub name: String,
    pub site: String,
    pub policy: String,
    pub members: Vec<String>,
    pub created: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeypairRec {
    pub name: String,
    pub site: String,
    pub public_key: String,
    pub kind: String,
    pub created: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FloatingIpRec {
    pub id: String,
    pub site: String,
    pub address: String,
    pub network: String,
    pub port_id: String,
    pub fixed_ip: String,
}

/// What makes a VNF answer on the network: its ports (servers' and VIPs'),
/// their security groups, its server groups and key pairs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkIdentityRec {
    pub site: String,
    pub ports: Vec<PortRec>,
    pub security_groups: Vec<SecurityGroupRec>,
    pub server_groups: Vec<ServerGroupRec>,
    pub keypairs: Vec<KeypairRec>,
}

/// A container replicated by Swift container sync (option 3 for object
/// data): where it syncs, and what each side held when last looked at.
/// Never the sync key: it lives in the two containers' metadata only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerReplicaRec {
    pub container: String,
    /// The site whose container syncs (where the sync is set).
    pub site: String,
    /// The site holding the replica.
    pub replica_site: String,
    /// `X-Container-Sync-To` as set (`//REALM/CLUSTER/AUTH_…/container`).
    pub sync_to: String,
    /// Where the sync key is: never the key itself.
    pub key_ref: String,
    pub objects: i64,
    pub bytes: i64,
    pub replica_objects: i64,
    pub replica_bytes: i64,
    /// How far the replica was behind (objects, bytes) at `checked_at`.
    pub behind_objects: i64,
    pub behind_bytes: i64,
    pub checked_at: String,
    /// The source could be read at `checked_at` (else its counts are the
    /// ones recorded earlier).
    pub source_seen: bool,
}

/// A DNS recordset a redirection changed, and what it held before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DnsRecordRec {
    pub id: String,
    pub zone_id: String,
    pub site: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub records: Vec<String>,
    pub ttl: i64,
    pub was_records: Vec<String>,
    pub was_ttl: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectRec {
    pub container: String,
    pub name: String,
    pub site: String,
    pub etag: String,
    pub bytes: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VerificationRec {
    pub ok: bool,
    pub checked: i64,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HookResultRec {
    pub ok: bool,
    pub output: String,
}

/// The production volume a Cinder volume descends from: its
/// `lifeboat_origin` metadata, else itself.
pub fn origin_of(v: &Volume) -> String {
    v.metadata
        .get(META_ORIGIN)
        .filter(|o| !o.is_empty())
        .cloned()
        .unwrap_or_else(|| v.id.clone())
}

/// A volume record. `server_id`/`device` from its (first) attachment.
pub fn volume_rec(v: &Volume, site: &str) -> VolumeRec {
    let att = v.attachments.first();
    VolumeRec {
        id: v.id.clone(),
        name: v.name.clone(),
        site: site.to_string(),
        status: v.status.clone(),
        size_gb: v.size as i64,
        volume_type: v.volume_type.clone(),
        bootable: v.bootable,
        server_id: att.map(|a| a.server_id.clone()).unwrap_or_default(),
        device: att.map(|a| a.device.clone()).unwrap_or_default(),
        origin: v.metadata.get(META_ORIGIN).cloned().unwrap_or_default(),
        snapshot_id: v.snapshot_id.clone(),
    }
}

/// A snapshot record; `origin` from its metadata, else `fallback_origin`.
pub fn snapshot_rec(s: &Snapshot, site: &str, fallback_origin: &str) -> SnapshotRec {
    SnapshotRec {
        id: s.id.clone(),
        name: s.name.clone(),
        site: site.to_string(),
        volume_id: s.volume_id.clone(),
        size_gb: s.size as i64,
        status: s.status.clone(),
        created_at: s.created_at.clone(),
        origin: s
            .metadata
            .get(META_ORIGIN)
            .filter(|o| !o.is_empty())
            .cloned()
            .unwrap_or_else(|| fallback_origin.to_string()),
        group_snapshot_name: String::new(),
    }
}

pub fn backup_rec(b: &Backup, site: &str, fallback_origin: &str, bytes_moved: u64) -> BackupRec {
    BackupRec {
        id: b.id.clone(),
        name: b.name.clone(),
        site: site.to_string(),
        volume_id: b.volume_id.clone(),
        size_gb: b.size as i64,
        status: b.status.clone(),
        incremental: b.is_incremental,
        container: b.container.clone(),
        created_at: b.created_at.clone(),
        origin: b
            .metadata
            .get(META_ORIGIN)
            .filter(|o| !o.is_empty())
            .cloned()
            .unwrap_or_else(|| fallback_origin.to_string()),
        bytes_moved: bytes_moved as i64,
    }
}

/// A server record; `volumes` are given boot volume first (see
/// `nova::ordered_volume_ids`).
/// Server metadata: the VNF's own name for a server Lifeboat booted (its
/// name at the site the VNF was first protected from).
pub const META_VNF_NAME: &str = "lifeboat_name";

pub fn server_rec(s: &Server, site: &str, volumes: Vec<String>) -> ServerRec {
    ServerRec {
        id: s.id.clone(),
        name: s.name.clone(),
        site: site.to_string(),
        status: s.status.clone(),
        role: s.metadata.get("role").cloned().unwrap_or_default(),
        priority: s
            .metadata
            .get("priority")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0),
        flavor: s.flavor_name(),
        networks: s.network_names(),
        tags: s.tags.clone(),
        volumes,
        key_name: s.key_name.clone().unwrap_or_default(),
        availability_zone: s.availability_zone.clone().unwrap_or_default(),
        macs: s.addresses.macs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Field names of each record exactly as stdlib/types.dr declares them.
    #[test]
    fn records_have_exactly_the_catalogue_fields() {
        let src = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../stdlib/types.dr"
        ))
        .unwrap();
        let mut types: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut current: Option<String> = None;
        for line in src.lines() {
            let l = line.split('#').next().unwrap_or("").trim();
            if let Some(rest) = l.strip_prefix("type ") {
                current = Some(rest.trim_end_matches('{').trim().to_string());
                types.insert(current.clone().unwrap(), vec![]);
            } else if l == "}" {
                current = None;
            } else if let (Some(t), Some((field, _))) = (&current, l.split_once(':')) {
                types.get_mut(t).unwrap().push(field.trim().to_string());
            }
        }
        let check = |name: &str, v: Value| {
            let got: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            assert_eq!(
                &got,
                types.get(name).unwrap_or_else(|| panic!("no type {name}")),
                "record {name}"
            );
        };
        check(
            "server",
            serde_json::to_value(ServerRec::default()).unwrap(),
        );
        check(
            "volume",
            serde_json::to_value(VolumeRec::default()).unwrap(),
        );
        check("group", serde_json::to_value(GroupRec::default()).unwrap());
        check(
            "snapshot",
            serde_json::to_value(SnapshotRec::default()).unwrap(),
        );
        check(
            "group_snapshot",
            serde_json::to_value(GroupSnapshotRec::default()).unwrap(),
        );
        check(
            "backup_record",
            serde_json::to_value(BackupRecordRec::default()).unwrap(),
        );
        check(
            "backup",
            serde_json::to_value(BackupRec::default()).unwrap(),
        );
        check("image", serde_json::to_value(ImageRec::default()).unwrap());
        check(
            "attachment",
            serde_json::to_value(AttachmentRec::default()).unwrap(),
        );
        check(
            "replica",
            serde_json::to_value(ReplicaRec::default()).unwrap(),
        );
        check(
            "manifest_volume",
            serde_json::to_value(ManifestVolumeRec::default()).unwrap(),
        );
        check(
            "manifest_server",
            serde_json::to_value(ManifestServerRec::default()).unwrap(),
        );
        check(
            "boot_group",
            serde_json::to_value(BootGroupRec::default()).unwrap(),
        );
        check(
            "manifest",
            serde_json::to_value(ManifestRec::default()).unwrap(),
        );
        check(
            "object",
            serde_json::to_value(ObjectRec::default()).unwrap(),
        );
        check(
            "verification",
            serde_json::to_value(VerificationRec::default()).unwrap(),
        );
        check(
            "hook_result",
            serde_json::to_value(HookResultRec::default()).unwrap(),
        );
        check(
            "container_replica",
            serde_json::to_value(ContainerReplicaRec::default()).unwrap(),
        );
        for (name, v) in [
            (
                "fixed_ip",
                serde_json::to_value(FixedIpRec::default()).unwrap(),
            ),
            (
                "address_pair",
                serde_json::to_value(AddressPairRec::default()).unwrap(),
            ),
            ("port", serde_json::to_value(PortRec::default()).unwrap()),
            (
                "sg_rule",
                serde_json::to_value(SgRuleRec::default()).unwrap(),
            ),
            (
                "security_group",
                serde_json::to_value(SecurityGroupRec::default()).unwrap(),
            ),
            (
                "server_group",
                serde_json::to_value(ServerGroupRec::default()).unwrap(),
            ),
            (
                "keypair",
                serde_json::to_value(KeypairRec::default()).unwrap(),
            ),
            (
                "floating_ip",
                serde_json::to_value(FloatingIpRec::default()).unwrap(),
            ),
            (
                "network_identity",
                serde_json::to_value(NetworkIdentityRec::default()).unwrap(),
            ),
            (
                "dns_record",
                serde_json::to_value(DnsRecordRec::default()).unwrap(),
            ),
        ] {
            check(name, v);
        }
        // The site mapping's record is its document (mapping::document).
        use crate::mapping::document::{NameMap, ReipRule, SiteMapping};
        check(
            "site_mapping",
            serde_json::to_value(SiteMapping::identity("a", "b")).unwrap(),
        );
        check(
            "name_map",
            serde_json::to_value(NameMap {
                from: "a".into(),
                to: "b".into(),
                test: String::new(),
            })
            .unwrap(),
        );
        check(
            "reip_rule",
            serde_json::to_value(ReipRule {
                from: "10.0.0.0/8".parse().unwrap(),
                to: "11.0.0.0/8".parse().unwrap(),
                gateway: None,
                dns: vec![],
            })
            .unwrap(),
        );
        assert_eq!(
            types.len(),
            31,
            "a record type was added to stdlib/types.dr: map it here"
        );
    }
}
