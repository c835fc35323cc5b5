//! The recovery manifest: the document (docs/manifest.md), writing it to
//! the backup site and reading it back.

use super::points;
use super::verify::checksum;
use crate::args::{from_client, ClientResult};
use crate::prerun::{Finding, Found, Seen, Severity};
use crate::records::*;
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::{Client, ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The Swift container manifests go to.
pub const MANIFEST_CONTAINER: &str = "lifeboat-manifests";
/// The manifest format version this code writes. Version 2 adds the VNF's
/// network identity (`network`) and each server's key pair and zone.
pub const MANIFEST_VERSION: i64 = 2;
/// The versions this code reads (a version 1 manifest has no network
/// identity: its servers boot on networks looked up by name).
pub const MANIFEST_READS: [i64; 2] = [1, 2];

/// Flavor sizes, so recovery can pick or check a flavor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlavorSizes {
    pub vcpus: u64,
    pub ram_mb: u64,
    pub disk_gb: u64,
    /// The flavor's extra specs (CPU pinning, huge pages, NUMA, …) a
    /// flavor at the backup site must have too to fit.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_specs: BTreeMap<String, String>,
}

/// A manifest volume as stored: the record's fields plus provenance and the
/// content checksum of its backup (when the cloud offers checksums).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocVolume {
    #[serde(flatten)]
    pub rec: ManifestVolumeRec,
    pub server_id: String,
    pub backup: Option<BackupRec>,
    pub checksum: String,
    /// Exported records of the backup's incremental parents, oldest first.
    pub chain: Vec<BackupRecordRec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocServer {
    pub id: String,
    pub name: String,
    pub role: String,
    pub priority: i64,
    pub flavor: String,
    pub flavor_sizes: Option<FlavorSizes>,
    pub networks: Vec<String>,
    pub key_name: String,
    pub availability_zone: String,
    pub tags: Vec<String>,
    pub boot_volume: DocVolume,
    pub data_volumes: Vec<DocVolume>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DocBootGroup {
    pub priority: i64,
    pub servers: Vec<String>,
}

/// The manifest document (docs/manifest.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ManifestDoc {
    pub version: i64,
    pub vnf: String,
    pub option: String,
    pub run_id: String,
    pub tag: String,
    pub snapshot_time: String,
    pub written_at: String,
    pub source_site: String,
    pub backup_site: String,
    pub servers: Vec<DocServer>,
    pub volumes: Vec<DocVolume>,
    /// Server names by priority, ascending.
    pub boot_groups: Vec<DocBootGroup>,
    /// Swift containers replicated by container sync (option 3); absent
    /// from manifests written before.
    #[serde(default)]
    pub containers: Vec<ContainerReplicaRec>,
    /// The VNF's network identity (version 2).
    #[serde(default)]
    pub network: NetworkIdentityRec,
}

impl ManifestDoc {
    /// The `manifest` record of the catalogue.
    pub fn record(&self) -> ManifestRec {
        let server = |s: &DocServer| ManifestServerRec {
            id: s.id.clone(),
            name: s.name.clone(),
            role: s.role.clone(),
            priority: s.priority,
            flavor: s.flavor.clone(),
            vcpus: s.flavor_sizes.as_ref().map_or(0, |f| f.vcpus as i64),
            ram_mb: s.flavor_sizes.as_ref().map_or(0, |f| f.ram_mb as i64),
            disk_gb: s.flavor_sizes.as_ref().map_or(0, |f| f.disk_gb as i64),
            flavor_extra_specs: s
                .flavor_sizes
                .as_ref()
                .map(|f| {
                    f.extra_specs
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect()
                })
                .unwrap_or_default(),
            networks: s.networks.clone(),
            key_name: s.key_name.clone(),
            availability_zone: s.availability_zone.clone(),
            tags: s.tags.clone(),
            boot_volume: s.boot_volume.rec.clone(),
            data_volumes: s.data_volumes.iter().map(|v| v.rec.clone()).collect(),
        };
        ManifestRec {
            version: self.version,
            vnf: self.vnf.clone(),
            option: self.option.clone(),
            run_id: self.run_id.clone(),
            snapshot_time: self.snapshot_time.clone(),
            source_site: self.source_site.clone(),
            servers: self.servers.iter().map(server).collect(),
            volumes: self.volumes.iter().map(|v| v.rec.clone()).collect(),
            boot_groups: self
                .boot_groups
                .iter()
                .map(|g| BootGroupRec {
                    priority: g.priority,
                    servers: g
                        .servers
                        .iter()
                        .filter_map(|n| self.servers.iter().find(|s| &s.name == n))
                        .map(server)
                        .collect(),
                })
                .collect(),
            containers: self.containers.clone(),
            network: self.network.clone(),
        }
    }

    /// Build the document from the protect run's results.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        vnf: &str,
        option: &str,
        run_id: &str,
        tag: &str,
        snapshot_time: &str,
        source: &str,
        backup_site: &str,
        servers: &[ServerRec],
        volumes: &[VolumeRec],
        backups: &[BackupRec],
        records: &[BackupRecordRec],
        replicas: &[ReplicaRec],
        flavors: &BTreeMap<String, FlavorSizes>,
    ) -> Result<ManifestDoc, String> {
        // Which exported record goes with which backup: by the id inside the
        // record, else by position.
        let mut record_of: BTreeMap<String, BackupRecordRec> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            let id = crate::cinder::record_backup_id(r).or_else(|| {
                if records.len() == backups.len() {
                    backups.get(i).map(|b| b.id.clone())
                } else {
                    None
                }
            });
            match id {
                Some(id) => {
                    record_of.insert(id, r.clone());
                }
                None => return Err(format!("backup record {i} names no backup id and records ({}) do not pair with backups ({}) by position", records.len(), backups.len())),
            }
        }
        // Every lookup below goes through an index built once: a VNF of a
        // thousand servers would otherwise compare every volume with every
        // backup, replica and server (and every server's volumes with every
        // volume twice over).
        //
        // A volume's backup: the newest of those made from its production
        // volume (by origin) or, carrying no origin, from the volume
        // itself; of equally new ones, the last listed.
        let mut newest_by_origin: HashMap<&str, usize> = HashMap::new();
        let mut newest_unoriginated: HashMap<&str, usize> = HashMap::new();
        let newer = |i: usize, j: usize| (&backups[i].created_at, i) > (&backups[j].created_at, j);
        for (i, b) in backups.iter().enumerate() {
            let (map, key) = if b.origin.is_empty() {
                (&mut newest_unoriginated, b.volume_id.as_str())
            } else {
                (&mut newest_by_origin, b.origin.as_str())
            };
            let slot = map.entry(key).or_insert(i);
            if newer(i, *slot) {
                *slot = i;
            }
        }
        // A volume's replica: the first listed of its production volume's
        // or its own.
        let mut first_replica: HashMap<&str, usize> = HashMap::new();
        for (i, r) in replicas.iter().enumerate() {
            first_replica.entry(r.volume_id.as_str()).or_insert(i);
        }
        let boot_volumes: HashSet<&str> = servers
            .iter()
            .filter_map(|s| s.volumes.first().map(String::as_str))
            .collect();
        let mut doc_volumes = Vec::new();
        for v in volumes {
            let production = v.production();
            let by_origin = newest_by_origin.get(production.as_str()).copied();
            let unoriginated = newest_unoriginated.get(v.id.as_str()).copied();
            let backup = match (by_origin, unoriginated) {
                (Some(i), Some(j)) => Some(if newer(j, i) { j } else { i }),
                (i, j) => i.or(j),
            }
            .map(|i| backups[i].clone());
            let replica = [production.as_str(), v.id.as_str()]
                .iter()
                .filter_map(|id| first_replica.get(id).copied())
                .min()
                .map(|i| replicas[i].clone())
                .unwrap_or_default();
            let record = backup
                .as_ref()
                .and_then(|b| record_of.get(&b.id).cloned())
                .unwrap_or_default();
            // Option 3 protects only chosen data volumes: the others carry
            // neither a backup nor a replica, and recovery knows it.
            let boot = boot_volumes.contains(v.id.as_str());
            doc_volumes.push(DocVolume {
                rec: ManifestVolumeRec {
                    id: production,
                    name: v.name.clone(),
                    size_gb: v.size_gb,
                    volume_type: v.volume_type.clone(),
                    bootable: v.bootable,
                    device: v.device.clone(),
                    boot,
                    record,
                    backup_id: backup.as_ref().map(|b| b.id.clone()).unwrap_or_default(),
                    replica,
                },
                server_id: v.server_id.clone(),
                backup,
                checksum: String::new(),
                chain: vec![],
            });
        }
        // A server's volume id names the first manifest volume that is it,
        // or that is the production volume of a volume listed with that id.
        let mut first_doc: HashMap<&str, usize> = HashMap::new();
        for (i, d) in doc_volumes.iter().enumerate() {
            first_doc.entry(d.rec.id.as_str()).or_insert(i);
        }
        let mut also_known_as: HashMap<&str, Vec<&str>> = HashMap::new();
        for v in volumes {
            also_known_as
                .entry(v.id.as_str())
                .or_default()
                .push(v.origin.as_str());
        }
        let mine = |id: &String| {
            std::iter::once(id.as_str())
                .chain(
                    also_known_as
                        .get(id.as_str())
                        .into_iter()
                        .flatten()
                        .copied(),
                )
                .filter_map(|key| first_doc.get(key).copied())
                .min()
                .map(|i| doc_volumes[i].clone())
        };
        let mut doc_servers = Vec::new();
        for s in servers {
            let boot_volume = s.volumes.first().and_then(mine).unwrap_or_default();
            let data_volumes = s.volumes.iter().skip(1).filter_map(mine).collect();
            doc_servers.push(DocServer {
                id: s.id.clone(),
                name: s.name.clone(),
                role: s.role.clone(),
                priority: s.priority,
                flavor: s.flavor.clone(),
                flavor_sizes: flavors.get(&s.flavor).cloned(),
                networks: s.networks.clone(),
                key_name: s.key_name.clone(),
                availability_zone: s.availability_zone.clone(),
                tags: s.tags.clone(),
                boot_volume,
                data_volumes,
            });
        }
        doc_servers.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        let mut groups: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for s in &doc_servers {
            groups.entry(s.priority).or_default().push(s.name.clone());
        }
        Ok(ManifestDoc {
            version: MANIFEST_VERSION,
            vnf: vnf.to_string(),
            option: option.to_string(),
            run_id: run_id.to_string(),
            tag: tag.to_string(),
            snapshot_time: snapshot_time.to_string(),
            written_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            source_site: source.to_string(),
            backup_site: backup_site.to_string(),
            servers: doc_servers,
            volumes: doc_volumes,
            boot_groups: groups
                .into_iter()
                .map(|(priority, servers)| DocBootGroup { priority, servers })
                .collect(),
            containers: Vec::new(),
            network: NetworkIdentityRec::default(),
        })
    }
}

fn object_name(vnf: &str, run_id: &str) -> String {
    format!(
        "{vnf}/{}-{run_id}.json",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    )
}

pub async fn write_manifest(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let site = cx.args.required_string("site")?;
    let c = cx.acts.client(&site)?;
    let vnf = cx.args.required_string("vnf")?;
    let option = cx.args.string("option")?;
    let source = cx.args.required_string("source")?;
    let servers: Vec<ServerRec> = cx.args.list("servers")?;
    let volumes: Vec<VolumeRec> = cx.args.list("volumes")?;
    let backups: Vec<BackupRec> = cx.args.list_flat("backups")?;
    let records: Vec<BackupRecordRec> = cx.args.list_flat("records")?;
    let replicas: Vec<ReplicaRec> = cx.args.list_flat("replicas")?;
    let containers: Vec<ContainerReplicaRec> = cx.args.list_flat("containers")?;
    let mut snapshot_time = cx.args.string("snapshot_time")?;
    if snapshot_time.is_empty() {
        snapshot_time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    }
    // Flavor sizes from the source site (best effort: it is up at protect time).
    let mut flavors = BTreeMap::new();
    if let Ok(src) = cx.acts.client(&source) {
        match src.nova().flavors().await {
            Ok(fs) => {
                for f in fs {
                    flavors.insert(
                        f.name.clone(),
                        FlavorSizes {
                            vcpus: f.vcpus,
                            ram_mb: f.ram,
                            disk_gb: f.disk,
                            extra_specs: f.extra_specs.clone(),
                        },
                    );
                }
            }
            Err(e) => {
                tracing::warn!(site = %source, error = %e, "flavor sizes not recorded in the manifest")
            }
        }
    }
    let mut doc = ManifestDoc::build(
        &vnf,
        &option,
        &cx.call.run_id,
        &cx.call.tag,
        &snapshot_time,
        &source,
        &site,
        &servers,
        &volumes,
        &backups,
        &records,
        &replicas,
        &flavors,
    )
    .map_err(|e| ActionError::permanent(format!("{}: manifest of {vnf}: {e}", cx.action())))?;
    doc.containers = containers;
    if cx.args.raw("network").is_some_and(|v| !v.is_null()) {
        doc.network = cx.args.record("network")?;
    }
    for v in doc.volumes.iter_mut() {
        if let Some(b) = &v.backup {
            v.checksum = checksum(cx, &b.site, "backups", &b.id)
                .await?
                .unwrap_or_default();
        }
    }
    // Incremental backups: the parents' records too, from the source site.
    for v in doc.volumes.iter_mut() {
        let mut parent = crate::cinder::record_field(&v.rec.record, "parent_id");
        let mut guard = 0;
        while let Some(p) = parent {
            guard += 1;
            if guard > 1000 {
                return Err(ActionError::permanent(format!(
                    "{}: backup chain of {} is longer than 1000",
                    cx.action(),
                    v.rec.name
                )));
            }
            let src = cx.acts.client(&source)?;
            let r = src.cinder().export_backup(&p).await.act(cx.action())?;
            let r = BackupRecordRec {
                backup_service: r.backup_service,
                backup_url: r.backup_url,
            };
            parent = crate::cinder::record_field(&r, "parent_id");
            v.chain.insert(0, r);
        }
    }
    let by_id: BTreeMap<String, (String, Vec<BackupRecordRec>)> = doc
        .volumes
        .iter()
        .map(|v| (v.rec.id.clone(), (v.checksum.clone(), v.chain.clone())))
        .collect();
    for s in doc.servers.iter_mut() {
        for v in std::iter::once(&mut s.boot_volume).chain(s.data_volumes.iter_mut()) {
            if let Some((sum, chain)) = by_id.get(&v.rec.id) {
                v.checksum = sum.clone();
                v.chain = chain.clone();
            }
        }
    }
    let body = serde_json::to_vec_pretty(&doc).map_err(|e| {
        ActionError::permanent(format!("{}: cannot encode the manifest: {e}", cx.action()))
    })?;
    let container = &cx.acts.manifest_container;
    let name = object_name(&vnf, &cx.call.run_id);
    // The document is the largest thing a protect holds: not copied.
    let bytes = body.len() as u64;
    c.swift()
        .put_object(container, &name, body, "application/json")
        .await
        .act(cx.action())?;
    points::set_latest(cx, c, &name, &doc).await?;
    let mut out = cx.value(doc.record())?;
    out.bytes_moved = bytes;
    Ok(out)
}

pub async fn manifest_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let site = cx.args.required_string("site")?;
    let c = cx.acts.client(&site)?;
    let vnf = cx.args.required_string("vnf")?;
    let container = &cx.acts.manifest_container;
    let listed = match c.swift().list(container, &format!("{vnf}/")).await {
        Ok(l) => l,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(from_client(cx.action(), e)),
    };
    let suffix = format!("-{}.json", cx.call.run_id);
    for o in listed.iter().rev().filter(|o| o.name.ends_with(&suffix)) {
        let doc = fetch_doc(cx, c, &o.name).await?;
        if doc.tag == cx.call.tag {
            // The pointer may not have been written before the crash.
            points::set_latest(cx, c, &o.name, &doc).await?;
            return Ok(Some(cx.value(doc.record())?));
        }
    }
    Ok(None)
}

pub(super) async fn fetch_doc(
    cx: &Ctx<'_>,
    c: &Client,
    name: &str,
) -> Result<ManifestDoc, ActionError> {
    let body = c
        .swift()
        .get_object(&cx.acts.manifest_container, name)
        .await
        .act(cx.action())?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ActionError::permanent(format!(
            "{}: manifest {name} at site {} is not JSON: {e}",
            cx.action(),
            c.site()
        ))
    })?;
    let version = v.get("version").and_then(Value::as_i64).unwrap_or(0);
    if !MANIFEST_READS.contains(&version) {
        return Err(ActionError::permanent(format!("{}: manifest {name} at site {} has version {version}; this Lifeboat reads versions {MANIFEST_READS:?}", cx.action(), c.site())).with_hint("use the Lifeboat release that wrote it"));
    }
    serde_json::from_value(v).map_err(|e| {
        ActionError::permanent(format!(
            "{}: manifest {name} at site {}: {e}",
            cx.action(),
            c.site()
        ))
    })
}

/// The parent records a manifest at the client's site recorded for the
/// backup `rec` (oldest first); empty when no manifest has it.
pub async fn chain_of(
    cx: &Ctx<'_>,
    c: &Client,
    rec: &BackupRecordRec,
) -> Result<Vec<BackupRecordRec>, ActionError> {
    let listed = match c.swift().list(&cx.acts.manifest_container, "").await {
        Ok(l) => l,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(from_client(cx.action(), e)),
    };
    let mut names: Vec<String> = listed
        .into_iter()
        .map(|o| o.name)
        .filter(|n| points::is_manifest(n))
        .collect();
    names.sort();
    for name in names.iter().rev() {
        let Ok(doc) = fetch_doc(cx, c, name).await else {
            continue;
        };
        if let Some(v) = doc.volumes.iter().find(|v| v.rec.record == *rec) {
            return Ok(v.chain.clone());
        }
    }
    Ok(vec![])
}

/// `lifeboat.read_manifest(site, vnf, option, point, name)`: the recovery
/// point `point` (see [`points::Choice`]; `name`, the older argument, names
/// one) of `vnf` written by `option` (`""`: any option).
pub async fn read_manifest(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let site = cx.args.required_string("site")?;
    let c = cx.acts.client(&site)?;
    let vnf = cx.args.required_string("vnf")?;
    let option = cx.args.string("option")?;
    let name = cx.args.string("name")?;
    let point = cx.args.string("point")?;
    let choice = if name.is_empty() {
        points::Choice::parse(&point)
            .map_err(|e| ActionError::permanent(format!("{}: point: {e}", cx.action())))?
    } else {
        points::Choice::Named(name)
    };
    let (_, doc) = points::select(cx, c, &vnf, &option, &choice).await?;
    cx.value(doc.record())
}

pub fn volume_for(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let volumes: Vec<VolumeRec> = cx.args.list("volumes")?;
    let source: ManifestVolumeRec = cx.args.record("source")?;
    match volumes.iter().find(|v| v.origin == source.id) {
        Some(v) => cx.value(v.clone()),
        None => Err(ActionError::permanent(format!(
            "{}: none of the {} volumes descends from manifest volume {} ({}); origins: [{}]",
            cx.action(),
            volumes.len(),
            source.name,
            source.id,
            volumes
                .iter()
                .map(|v| v.origin.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .with_hint("restore every manifest volume before picking from the restored ones")),
    }
}

/// Planned `lifeboat.volume_for`: the volume of `volumes` restored from the
/// source, else a planned one of its origin.
pub fn planned_volume_for(p: &crate::projection::Planned<'_>) -> Option<serde_json::Value> {
    let source = p.field("source", "id")?;
    let found = p
        .arg("volumes")
        .and_then(serde_json::Value::as_array)
        .and_then(|vs| {
            vs.iter()
                .find(|v| v.get("origin").and_then(serde_json::Value::as_str) == Some(source))
                .cloned()
        });
    Some(found.unwrap_or_else(|| p.mark(serde_json::json!({"origin": source}))))
}

/// Pre-run check of `lifeboat.read_manifest`: none can be read (`manifest`),
/// or the backup site's volume quota is too small for what the run restores
/// or adopts from it (`quota`; a run that checks its target with
/// `lifeboat.check_target` has that check report it instead).
pub(crate) async fn check_read_manifest(seen: &Seen<'_>) -> Vec<Finding> {
    match seen.found {
        Found::Failed(message) => {
            let site = seen.site.unwrap_or("the backup site");
            vec![Finding::new(Severity::Error, "manifest", seen.step(), seen.site, format!("no recovery manifest of VNF `{}` can be read at {site}: {message}", seen.arg("vnf")), "run the protect (or prepare) runbook first: it writes the manifest at the backup site")]
        }
        Found::Read(doc) if makes_volumes(seen.plan) && !checks_target(seen.plan) => {
            let vols = doc["volumes"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            quota(seen, vols, "this run restores", Severity::Error).await
        }
        _ => Vec::new(),
    }
}

/// Pre-run check of `lifeboat.write_manifest` (`quota`, a warning): the
/// backup site's volume quota is too small for a restore of what the run
/// protects.
pub(crate) async fn check_write_manifest(seen: &Seen<'_>) -> Vec<Finding> {
    let Found::Planned(_) = seen.found else {
        return Vec::new();
    };
    let Some(vols) = seen.args.get("volumes").and_then(Value::as_array) else {
        return Vec::new();
    };
    quota(
        seen,
        vols,
        "a restore of what this run protects would need",
        Severity::Warning,
    )
    .await
}

/// Whether `plan` makes volumes: a step whose action creates one (a
/// change returning a volume that its undo takes back).
fn makes_volumes(plan: &lifeboat_dsl::plan::Plan) -> bool {
    use lifeboat_dsl::catalogue::Undo;
    use lifeboat_dsl::types::Ty;
    let cat = crate::registry::catalogue();
    plan.action_steps().any(|(_, a)| {
        cat.actions.get(&a.call.action).is_some_and(|sig| {
            sig.effect == lifeboat_dsl::plan::Effect::Mutate
                && sig.ret == Ty::Record("volume".into())
                && matches!(sig.undo, Undo::Call(_))
        })
    })
}

/// Whether `plan` checks its target site (which reports a short volume
/// quota itself).
fn checks_target(plan: &lifeboat_dsl::plan::Plan) -> bool {
    plan.action_steps()
        .any(|(_, a)| a.call.action == "lifeboat.check_target")
}

/// A `quota` finding when `vols` (manifest volumes, `size_gb` each) do not
/// fit the block-storage limits at the instance's site.
async fn quota(seen: &Seen<'_>, vols: &[Value], reason: &str, sev: Severity) -> Vec<Finding> {
    let Some(site) = seen.site else {
        return Vec::new();
    };
    let n = vols.len() as u64;
    let gb: u64 = vols.iter().filter_map(|v| v["size_gb"].as_u64()).sum();
    match seen.acts.prerun_volume_limits(site).await {
        Ok(l) => {
            let free_v = l.max_volumes.map(|m| m.saturating_sub(l.used_volumes));
            let free_g = l.max_gigabytes.map(|m| m.saturating_sub(l.used_gigabytes));
            let mut short = Vec::new();
            if let Some(f) = free_v.filter(|f| *f < n) {
                short.push(format!(
                    "{n} volumes, {f} left of {}",
                    l.max_volumes.unwrap_or(0)
                ));
            }
            if let Some(f) = free_g.filter(|f| *f < gb) {
                short.push(format!(
                    "{gb} GB, {f} GB left of {}",
                    l.max_gigabytes.unwrap_or(0)
                ));
            }
            if short.is_empty() {
                return Vec::new();
            }
            vec![Finding::new(sev, "quota", seen.step(), Some(site), format!("quota at {site} too small: {reason} {}", short.join("; ")), &format!("raise the project's volume quota at {site} (`openstack quota set --volumes N --gigabytes G PROJECT`) or free space there"))]
        }
        Err(e) => vec![Finding::new(
            Severity::Warning,
            "quota",
            seen.step(),
            Some(site),
            format!("cannot read the volume limits at {site}: {e}"),
            "the check was not made",
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(id: &str, server: &str, device: &str, bootable: bool) -> VolumeRec {
        VolumeRec {
            id: id.into(),
            name: format!("{id}-name"),
            site: "site-a".into(),
            status: "in-use".into(),
            size_gb: 10,
            volume_type: "standard".into(),
            bootable,
            server_id: server.into(),
            device: device.into(),
            origin: String::new(),
            snapshot_id: String::new(),
        }
    }

    fn server(id: &str, prio: i64, vols: &[&str]) -> ServerRec {
        ServerRec {
            id: id.into(),
            name: format!("{id}-name"),
            site: "site-a".into(),
            status: "ACTIVE".into(),
            role: "db".into(),
            priority: prio,
            flavor: "m1.small".into(),
            networks: vec!["mgmt".into()],
            tags: vec![],
            key_name: String::new(),
            availability_zone: String::new(),
            volumes: vols.iter().map(|s| s.to_string()).collect(),
            macs: vec![],
        }
    }

    /// What each volume is paired with, read through the indexes: the
    /// newest backup of its production volume (the last listed of equally
    /// new ones), the first replica of it or of itself, and a server's
    /// volume found through the production volume it was restored from.
    #[test]
    fn volumes_pair_with_the_newest_backup_the_first_replica_and_their_production_volume() {
        let b = |id: &str, volume: &str, origin: &str, at: &str| BackupRec {
            id: id.into(),
            volume_id: volume.into(),
            origin: origin.into(),
            created_at: at.into(),
            ..Default::default()
        };
        let backups = [
            b("old", "v1", "", "t1"),
            b("by-origin", "x", "v1", "t2"),
            b("same-time-later", "v1", "", "t2"),
            b("restored-older", "x", "v2", "t0"),
            b("restored", "r2", "v2", "t3"),
        ];
        let replica = |volume: &str, reference: &str| ReplicaRec {
            volume_id: volume.into(),
            reference: reference.into(),
            ..Default::default()
        };
        let replicas = [replica("r2", "of-restored"), replica("v2", "of-production")];
        let mut r2 = vol("r2", "s1", "/dev/vdb", false);
        r2.origin = "v2".into();
        let vols = [vol("v1", "s1", "/dev/vda", true), r2];
        let servers = [server("s1", 1, &["v1", "r2"])];
        let records: Vec<BackupRecordRec> = backups
            .iter()
            .map(|b| BackupRecordRec {
                backup_service: "svc".into(),
                backup_url: format!("url-{}", b.id),
            })
            .collect();
        let doc = ManifestDoc::build(
            "vims",
            "1",
            "r1",
            "lb-r1-m",
            "t",
            "site-a",
            "site-b",
            &servers,
            &vols,
            &backups,
            &records,
            &replicas,
            &BTreeMap::new(),
        )
        .unwrap();
        let rec = doc.record();
        let pairs: Vec<(&str, &str, &str)> = rec
            .volumes
            .iter()
            .map(|v| {
                (
                    v.id.as_str(),
                    v.backup_id.as_str(),
                    v.replica.reference.as_str(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [
                ("v1", "same-time-later", ""),
                ("v2", "restored", "of-restored")
            ]
        );
        assert!(rec.volumes[0].boot && !rec.volumes[1].boot);
        let s = &rec.servers[0];
        assert_eq!(s.boot_volume.id, "v1");
        assert_eq!(
            s.data_volumes
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>(),
            ["v2"],
            "the restored volume r2 is its production volume v2"
        );
    }

    #[test]
    fn option1_manifest_pairs_backups_and_records() {
        let servers = [
            server("s2", 2, &["v3", "v4"]),
            server("s1", 1, &["v1", "v2"]),
        ];
        let vols = [
            vol("v1", "s1", "/dev/vda", true),
            vol("v2", "s1", "/dev/vdb", false),
            vol("v3", "s2", "/dev/vda", true),
            vol("v4", "s2", "/dev/vdb", false),
        ];
        let backups: Vec<BackupRec> = ["v1", "v2", "v3", "v4"]
            .iter()
            .map(|o| BackupRec {
                id: format!("b-{o}"),
                origin: o.to_string(),
                volume_id: o.to_string(),
                ..Default::default()
            })
            .collect();
        // Records whose backup_url names no id pair by position.
        let records: Vec<BackupRecordRec> = backups
            .iter()
            .map(|b| BackupRecordRec {
                backup_service: "svc".into(),
                backup_url: format!("opaque-{}", b.id),
            })
            .collect();
        let mut flavors = BTreeMap::new();
        flavors.insert(
            "m1.small".to_string(),
            FlavorSizes {
                vcpus: 1,
                ram_mb: 2048,
                disk_gb: 20,
                extra_specs: [("hw:cpu_policy".to_string(), "dedicated".to_string())].into(),
            },
        );
        let doc = ManifestDoc::build(
            "vims",
            "1",
            "r1",
            "lb-r1-m",
            "t",
            "site-a",
            "site-b",
            &servers,
            &vols,
            &backups,
            &records,
            &[],
            &flavors,
        )
        .unwrap();
        let rec = doc.record();
        assert_eq!(rec.servers[0].name, "s1-name", "servers by priority");
        assert_eq!(
            rec.boot_groups
                .iter()
                .map(|g| g.priority)
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(rec.servers[0].boot_volume.id, "v1");
        assert!(rec.servers[0].boot_volume.boot);
        assert_eq!(rec.servers[0].data_volumes[0].device, "/dev/vdb");
        let v3 = rec.volumes.iter().find(|v| v.id == "v3").unwrap();
        assert_eq!(v3.backup_id, "b-v3");
        assert_eq!(v3.record.backup_url, "opaque-b-v3");
        assert_eq!(doc.servers[0].flavor_sizes.as_ref().unwrap().ram_mb, 2048);
        // The record carries the sizes and the extra specs a fitting flavor needs.
        let rec = doc.record();
        assert_eq!((rec.servers[0].vcpus, rec.servers[0].ram_mb), (1, 2048));
        assert_eq!(
            rec.servers[0].flavor_extra_specs,
            vec!["hw:cpu_policy=dedicated"]
        );
        // Round trip through JSON keeps the record.
        let back: ManifestDoc = serde_json::from_slice(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(back.record(), rec);
    }

    #[test]
    fn option3_manifest_holds_replicas_of_chosen_volumes() {
        let servers = [server("s1", 1, &["v1", "v2"])];
        let vols = [
            vol("v1", "s1", "/dev/vda", true),
            vol("v2", "s1", "/dev/vdb", false),
        ];
        let reps = [ReplicaRec {
            volume_id: "v2".into(),
            site: "site-b".into(),
            reference: "volume-v2".into(),
            host: "site-b@replica#pool".into(),
            status: "enabled".into(),
        }];
        let doc = ManifestDoc::build(
            "vims",
            "3",
            "r1",
            "t",
            "t",
            "site-a",
            "site-b",
            &servers,
            &vols,
            &[],
            &[],
            &reps,
            &BTreeMap::new(),
        )
        .unwrap();
        let rec = doc.record();
        assert_eq!(
            rec.servers[0].data_volumes[0].replica.reference,
            "volume-v2"
        );
        assert_eq!(rec.servers[0].boot_volume.replica.reference, "");
        assert!(doc.servers[0].flavor_sizes.is_none());
    }

    #[test]
    fn unpaired_records_are_an_error() {
        let vols = [vol("v1", "s1", "/dev/vda", true)];
        let backups = [BackupRec {
            id: "b1".into(),
            origin: "v1".into(),
            ..Default::default()
        }];
        let records = [BackupRecordRec::default(), BackupRecordRec::default()];
        let e = ManifestDoc::build(
            "vims",
            "1",
            "r",
            "t",
            "t",
            "a",
            "b",
            &[],
            &vols,
            &backups,
            &records,
            &[],
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert!(e.contains("do not pair"), "{e}");
    }
}
