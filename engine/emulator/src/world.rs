//! The state of both sites: servers, volumes, snapshots, groups, backups,
//! images, containers, backend replicas, and the backup stores. Plain data
//! behind one mutex (`Shared::world`); handlers lock, change, unlock.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::content::Content;

/// One of the two sites. Its name is the Keystone region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Site {
    A,
    B,
}

impl Site {
    pub const ALL: [Site; 2] = [Site::A, Site::B];
    pub fn name(self) -> &'static str {
        match self {
            Site::A => "site-a",
            Site::B => "site-b",
        }
    }
    pub fn parse(s: &str) -> Option<Site> {
        match s {
            "site-a" | "a" | "A" => Some(Site::A),
            "site-b" | "b" | "B" => Some(Site::B),
            _ => None,
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn other(self) -> Site {
        match self {
            Site::A => Site::B,
            Site::B => Site::A,
        }
    }
    /// The Cinder volume backend host of the site.
    pub fn volume_host(self) -> String {
        format!("{}@lvm#pool", self.name())
    }
    /// The backend holding replicas received from the other site.
    pub fn replica_host(self) -> String {
        format!("{}@replica#pool", self.name())
    }
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

pub fn now_iso() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}
pub fn now_z() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[derive(Clone, Debug)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    pub vcpus: u64,
    pub ram: u64,
    pub disk: u64,
    pub extra_specs: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct VolumeType {
    pub id: String,
    pub name: String,
    pub extra_specs: BTreeMap<String, String>,
}

impl VolumeType {
    pub fn replicated(&self) -> bool {
        self.extra_specs
            .get("replication_enabled")
            .map(|v| v.contains("True"))
            .unwrap_or(false)
    }
}

#[derive(Clone, Debug)]
pub struct GroupType {
    pub id: String,
    pub name: String,
    pub group_specs: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct Attachment {
    pub id: String,
    pub server_id: String,
    pub volume_id: String,
    pub device: String,
    pub attached_at: String,
}

impl Attachment {
    /// The server's side of this attachment.
    pub fn server_ref(&self) -> AttachmentRef {
        AttachmentRef {
            id: self.id.clone(),
            volume_id: self.volume_id.clone(),
        }
    }
}

/// A server's link to one of its attachments: the attachment lives on its
/// volume (as in Cinder), the server keeps where to find it, so a server's
/// view never scans every volume of the site.
#[derive(Clone, Debug, PartialEq)]
pub struct AttachmentRef {
    pub id: String,
    pub volume_id: String,
}

#[derive(Clone, Debug)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub seq: u64,
    pub status: String,
    pub vm_state: String,
    pub task_state: Option<String>,
    pub power_state: u8,
    pub quiesced: bool,
    /// `lock`ed (2.73+: with a reason): every action but lock/unlock, a
    /// delete, volume attach/detach and metadata changes answer 409.
    pub locked: bool,
    pub locked_reason: Option<String>,
    pub flavor_id: String,
    /// Neutron ports in attach order (`Port.device_id` is this server).
    pub ports: Vec<String>,
    /// Ports Nova made for `networks: [{"uuid": …}]`: deleted with the
    /// server (the others are only unbound, as Nova's preserve_on_delete).
    pub made_ports: Vec<String>,
    pub host: String,
    pub key_name: Option<String>,
    pub availability_zone: String,
    pub metadata: Map<String, Value>,
    pub tags: Vec<String>,
    pub created: String,
    pub updated: String,
    pub launched_at: Option<String>,
    /// Attachments in attach order (boot volume first).
    pub attachments: Vec<AttachmentRef>,
    pub user_id: String,
    pub project_id: String,
    /// The server group it was booted into (the `group` scheduler hint):
    /// where its view looks for its membership, which the group's
    /// `members` decide — not a scan of every group of the site.
    pub group: Option<String>,
}

impl Server {
    /// Whether the guest runs (and so writes).
    pub fn running(&self) -> bool {
        self.status == "ACTIVE" && !self.quiesced
    }
}

#[derive(Clone, Debug)]
pub struct Volume {
    pub id: String,
    pub name: String,
    pub seq: u64,
    pub description: Option<String>,
    pub size: u64,
    pub status: String,
    pub volume_type: String,
    pub bootable: bool,
    pub metadata: Map<String, Value>,
    pub content: Content,
    pub attachments: Vec<Attachment>,
    pub snapshot_id: Option<String>,
    pub source_volid: Option<String>,
    pub group_id: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub host: String,
    pub replication_status: Option<String>,
    pub migration_status: Option<String>,
    pub user_id: String,
    pub project_id: String,
}

impl Volume {
    /// A volume with every optional field empty (status `creating`); callers
    /// fill in what they know with struct update syntax.
    pub fn blank(
        id: String,
        seq: u64,
        host: String,
        user_id: String,
        project_id: String,
    ) -> Volume {
        Volume {
            id,
            name: String::new(),
            seq,
            description: None,
            size: 0,
            status: "creating".into(),
            volume_type: String::new(),
            bootable: false,
            metadata: Map::new(),
            content: Content::default(),
            attachments: vec![],
            snapshot_id: None,
            source_volid: None,
            group_id: None,
            created_at: now_iso(),
            updated_at: None,
            host,
            replication_status: Some("disabled".into()),
            migration_status: None,
            user_id,
            project_id,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Snapshot {
    pub id: String,
    pub name: String,
    pub seq: u64,
    pub description: Option<String>,
    pub volume_id: String,
    pub size: u64,
    pub status: String,
    pub metadata: Map<String, Value>,
    pub content: Content,
    pub group_snapshot_id: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub user_id: String,
    pub project_id: String,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub seq: u64,
    pub description: Option<String>,
    pub status: String,
    pub group_type: String,
    pub volume_types: Vec<String>,
    pub volumes: Vec<String>,
    pub group_snapshot_id: Option<String>,
    pub source_group_id: Option<String>,
    pub replication_status: Option<String>,
    pub created_at: String,
    pub project_id: String,
}

#[derive(Clone, Debug)]
pub struct GroupSnapshot {
    pub id: String,
    pub name: String,
    pub seq: u64,
    pub description: Option<String>,
    pub group_id: String,
    pub group_type_id: String,
    pub status: String,
    pub snapshots: Vec<String>,
    pub created_at: String,
    pub project_id: String,
}

/// Backup data as stored in a backup store (the other site's object store).
#[derive(Clone, Debug)]
pub struct StoredBackup {
    pub id: String,
    pub content: Content,
    pub size: u64,
    pub volume_id: String,
    pub parent_id: Option<String>,
    pub changed_blocks: u64,
    pub container: String,
    pub created_at: String,
    pub name: String,
    pub description: Option<String>,
    pub metadata: Map<String, Value>,
    pub snapshot_id: Option<String>,
    /// Whether the backed-up volume was bootable (restored with the data, as Cinder does).
    pub bootable: bool,
    /// The backed-up volume's name, description and metadata when the backup
    /// was made (Cinder keeps them in the backup's metadata object and puts
    /// them back on restore).
    pub volume_name: String,
    pub volume_description: Option<String>,
    pub volume_metadata: Map<String, Value>,
    /// Site whose Cinder made the backup.
    pub made_at: Site,
}

/// A backup as one site's Cinder knows it (the data lives in `store_site`).
#[derive(Clone, Debug)]
pub struct Backup {
    pub id: String,
    pub name: String,
    pub seq: u64,
    pub description: Option<String>,
    pub volume_id: String,
    pub snapshot_id: Option<String>,
    pub size: u64,
    pub status: String,
    pub incremental: bool,
    pub parent_id: Option<String>,
    pub container: String,
    pub metadata: Map<String, Value>,
    pub changed_blocks: u64,
    pub object_count: u64,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub data_timestamp: String,
    pub store_site: Site,
    pub fail_reason: Option<String>,
    pub user_id: String,
    pub project_id: String,
}

#[derive(Clone, Debug)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub seq: u64,
    pub status: String,
    pub properties: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
    pub owner: String,
    pub size: Option<u64>,
    pub checksum: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SwiftObject {
    pub data: bytes::Bytes,
    pub etag: String,
    pub content_type: String,
    pub meta: BTreeMap<String, String>,
    pub last_modified: String,
    /// The container row of the PUT that stored it (container sync's order).
    pub row: u64,
    /// When that PUT was (container sync copies rows older than its lag).
    pub written: std::time::Instant,
}

#[derive(Clone, Debug, Default)]
pub struct Container {
    pub objects: BTreeMap<String, SwiftObject>,
    pub meta: BTreeMap<String, String>,
    pub created_at: String,
    /// Container sync: `X-Container-Sync-To` and `X-Container-Sync-Key`
    /// (empty when not set), and the highest row already synced.
    pub sync_to: String,
    pub sync_key: String,
    pub sync_point: u64,
    /// The last row given out: each object PUT or DELETE is a new row.
    pub last_row: u64,
    /// Deleted objects' rows, kept for container sync (name, row, when).
    pub tombstones: Vec<(String, u64, std::time::Instant)>,
}

impl Container {
    /// Store an object as a new row.
    pub fn put(&mut self, name: &str, mut o: SwiftObject) {
        self.last_row += 1;
        o.row = self.last_row;
        o.written = std::time::Instant::now();
        self.objects.insert(name.to_string(), o);
    }

    /// Delete an object as a new row; false when there was none.
    pub fn delete(&mut self, name: &str) -> bool {
        if self.objects.remove(name).is_none() {
            return false;
        }
        self.last_row += 1;
        self.tombstones
            .push((name.to_string(), self.last_row, std::time::Instant::now()));
        // Rows synced already, or (without sync) more than a container
        // keeps, are reclaimed, as Swift reclaims old tombstones.
        let (point, keep) = (self.sync_point, crate::swift_sync::TOMBSTONES_KEPT);
        self.tombstones.retain(|t| t.1 > point);
        if self.tombstones.len() > keep {
            let cut = self.tombstones.len() - keep;
            self.tombstones.drain(..cut);
        }
        true
    }
}

/// A Nova server group: its policy and members.
#[derive(Clone, Debug)]
pub struct ServerGroup {
    pub id: String,
    pub name: String,
    pub policy: String,
    pub max_server_per_host: Option<u64>,
    pub members: Vec<String>,
    pub project_id: String,
    pub user_id: String,
}

/// A Nova key pair (public half only; keyed by user and name).
#[derive(Clone, Debug)]
pub struct Keypair {
    pub name: String,
    pub public_key: String,
    pub fingerprint: String,
    pub kind: String,
    pub user_id: String,
    pub created_at: String,
}

/// A replica volume on a site's replica backend, not known to Cinder until managed.
#[derive(Clone, Debug)]
pub struct Replica {
    /// Backend reference (`source-name`), `volume-<source id>`.
    pub reference: String,
    pub source_volume_id: String,
    pub source_name: String,
    pub size: u64,
    pub bootable: bool,
    pub content: Content,
    /// Whether replication still feeds it (false once managed/promoted).
    pub active: bool,
    pub managed_as: Option<String>,
}

/// Everything one site holds.
#[derive(Debug, Default)]
pub struct SiteState {
    pub flavors: Vec<Flavor>,
    /// Neutron: networks, subnets, ports, security groups, floating IPs.
    pub net: crate::neutron::state::Net,
    /// Nova server groups and key pairs.
    pub server_groups: BTreeMap<String, ServerGroup>,
    pub keypairs: BTreeMap<(String, String), Keypair>,
    /// The compute hosts Nova schedules on.
    pub hosts: Vec<String>,
    pub volume_types: Vec<VolumeType>,
    pub group_types: Vec<GroupType>,
    pub servers: crate::table::Table<Server>,
    /// Servers deleted here (status DELETED): only `changes-since` lists them, as Nova.
    pub deleted_servers: BTreeMap<String, Server>,
    pub volumes: crate::table::Table<Volume>,
    /// Added and removed only through [`SiteState::add_snapshot`] and
    /// [`SiteState::remove_snapshot`], which keep `volume_snapshots` with them.
    pub snapshots: crate::table::Table<Snapshot>,
    /// Volume id → how many snapshots here are of it: a volume with
    /// snapshots is not deleted (Cinder), told without a scan of them all.
    volume_snapshots: std::collections::HashMap<String, u32>,
    pub groups: crate::table::Table<Group>,
    pub group_snapshots: crate::table::Table<GroupSnapshot>,
    /// Added and removed only through [`SiteState::add_backup`] and
    /// [`SiteState::remove_backup`], which keep `backup_children` and
    /// `volume_backups` with them.
    pub backups: crate::table::Table<Backup>,
    /// Backup id → how many backups here name it their parent: Cinder's
    /// `has_dependent_backups` on every view without a scan of them all.
    backup_children: std::collections::HashMap<String, u32>,
    /// Volume id → its backups here: an incremental backup finds its parent
    /// without a scan of every backup of the site.
    volume_backups: std::collections::HashMap<String, Vec<String>>,
    pub images: BTreeMap<String, Image>,
    pub containers: BTreeMap<String, Container>,
    pub replicas: BTreeMap<String, Replica>,
    /// Backup data held by this site's object store (made here or at the other site).
    pub backup_store: BTreeMap<String, StoredBackup>,
    /// Backends failed over (`os-services/failover_host`) → active backend id.
    pub failed_over: BTreeMap<String, String>,
    /// Quota limits per project (usage is computed from the state, see `quota`).
    pub quotas: BTreeMap<String, crate::quota::Quotas>,
    /// The limits of a project without its own (Cinder's default quota class).
    pub default_quotas: crate::quota::Quotas,
}

impl SiteState {
    pub fn add_backup(&mut self, b: Backup) {
        if let Some(p) = &b.parent_id {
            *self.backup_children.entry(p.clone()).or_default() += 1;
        }
        self.volume_backups
            .entry(b.volume_id.clone())
            .or_default()
            .push(b.id.clone());
        if let Some(old) = self.backups.insert(b.id.clone(), b) {
            self.forget_parent(&old);
            self.forget_volume(&old);
        }
    }

    pub fn remove_backup(&mut self, id: &str) -> Option<Backup> {
        let b = self.backups.remove(id)?;
        self.forget_parent(&b);
        self.forget_volume(&b);
        Some(b)
    }

    /// The backups here of volume `volume_id`, in no particular order.
    pub fn backups_of_volume<'a>(&'a self, volume_id: &str) -> impl Iterator<Item = &'a Backup> {
        self.volume_backups
            .get(volume_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.backups.get(id))
    }

    fn forget_volume(&mut self, b: &Backup) {
        if let Some(ids) = self.volume_backups.get_mut(&b.volume_id) {
            if let Some(i) = ids.iter().position(|x| *x == b.id) {
                ids.swap_remove(i);
            }
            if ids.is_empty() {
                self.volume_backups.remove(&b.volume_id);
            }
        }
    }

    pub fn add_snapshot(&mut self, sn: Snapshot) {
        *self
            .volume_snapshots
            .entry(sn.volume_id.clone())
            .or_default() += 1;
        if let Some(old) = self.snapshots.insert(sn.id.clone(), sn) {
            self.forget_snapshot(&old);
        }
    }

    pub fn remove_snapshot(&mut self, id: &str) -> Option<Snapshot> {
        let sn = self.snapshots.remove(id)?;
        self.forget_snapshot(&sn);
        Some(sn)
    }

    /// Whether volume `volume_id` has snapshots here.
    pub fn has_snapshots(&self, volume_id: &str) -> bool {
        self.volume_snapshots.get(volume_id).is_some_and(|n| *n > 0)
    }

    fn forget_snapshot(&mut self, sn: &Snapshot) {
        if let Some(n) = self.volume_snapshots.get_mut(&sn.volume_id) {
            *n -= 1;
            if *n == 0 {
                self.volume_snapshots.remove(&sn.volume_id);
            }
        }
    }

    /// Whether an incremental backup here builds on backup `id`.
    pub fn has_dependent_backups(&self, id: &str) -> bool {
        self.backup_children.get(id).is_some_and(|n| *n > 0)
    }

    fn forget_parent(&mut self, b: &Backup) {
        if let Some(p) = &b.parent_id {
            if let Some(n) = self.backup_children.get_mut(p) {
                *n -= 1;
                if *n == 0 {
                    self.backup_children.remove(p);
                }
            }
        }
    }
}

impl SiteState {
    /// The volume and attachment a server's link points at.
    pub fn attachment(&self, r: &AttachmentRef) -> Option<(&Volume, &Attachment)> {
        let v = self.volumes.get(&r.volume_id)?;
        let a = v.attachments.iter().find(|a| a.id == r.id)?;
        Some((v, a))
    }

    pub fn volume_type_by_name_or_id(&self, key: &str) -> Option<&VolumeType> {
        self.volume_types
            .iter()
            .find(|t| t.name == key || t.id == key)
    }
    pub fn default_volume_type(&self) -> Option<&VolumeType> {
        self.volume_types.first()
    }
    pub fn flavor(&self, key: &str) -> Option<&Flavor> {
        self.flavors.iter().find(|f| f.id == key || f.name == key)
    }
    pub fn network(&self, key: &str) -> Option<&crate::neutron::state::Network> {
        self.net.network(key)
    }
}

/// Contents sent by replication and not yet applied to the replica, oldest first.
pub type InFlight = std::collections::VecDeque<(std::time::Instant, Content)>;

/// The whole world: both sites.
#[derive(Debug, Default)]
pub struct World {
    pub sites: [SiteState; 2],
    pub seq: u64,
    /// Per-VNF workload progress: vnf → (txn, position in the transaction).
    pub writers: BTreeMap<String, (u64, usize)>,
    /// Replication in flight: (source site, volume id) → contents not yet applied to the replica.
    pub replication: BTreeMap<(Site, String), InFlight>,
    /// Designate: zones and recordsets, one service for both regions.
    pub dns: crate::designate::Dns,
}

impl World {
    pub fn site(&self, s: Site) -> &SiteState {
        &self.sites[s.index()]
    }
    pub fn site_mut(&mut self, s: Site) -> &mut SiteState {
        &mut self.sites[s.index()]
    }
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

/// The guest device of the `i`-th disk: vda, vdb, …, vdz, vdaa, vdab, …
pub fn device_name(i: usize) -> String {
    let letter = |n: usize| (b'a' + (n % 26) as u8) as char;
    if i < 26 {
        format!("/dev/vd{}", letter(i))
    } else {
        format!("/dev/vd{}{}", letter(i / 26 - 1), letter(i))
    }
}

/// A fresh random id in UUID form.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A stable id in UUID form derived from a seed (seeded resources keep their
/// ids across restarts).
pub fn stable_id(seed: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

/// A stable 32-hex id (Keystone style) from a seed.
pub fn stable_hex(seed: &str) -> String {
    stable_id(seed).replace('-', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_never_overflow() {
        assert_eq!(device_name(0), "/dev/vda");
        assert_eq!(device_name(25), "/dev/vdz");
        assert_eq!(device_name(26), "/dev/vdaa");
        assert_eq!(device_name(27), "/dev/vdab");
        assert_eq!(device_name(700), "/dev/vdzy");
    }

    #[test]
    fn stable_ids_are_stable_uuids() {
        assert_eq!(stable_id("x"), stable_id("x"));
        assert_ne!(stable_id("x"), stable_id("y"));
        assert!(uuid::Uuid::parse_str(&stable_id("x")).is_ok());
        assert_eq!(stable_hex("x").len(), 32);
    }
}
