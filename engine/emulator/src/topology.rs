//! The seed of the world: projects, users and their application credentials,
//! flavors, networks, volume and group types (all seeded at both sites), and
//! servers with boot and data volumes. Read from YAML, built in (`demo`), or
//! generated for large fleets (`generate`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::content::Content;
use crate::errors::EmulatorError;
use crate::quota::{all_keys, Quotas};
use crate::world::{
    new_id, now_iso, now_z, stable_hex, stable_id, Attachment, Flavor, GroupType, Server, Site,
    Volume, VolumeType, World,
};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Topology {
    #[serde(default = "default_domain")]
    pub domain: String,
    pub project: String,
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub flavors: Vec<FlavorSpec>,
    #[serde(default)]
    pub networks: Vec<String>,
    #[serde(default)]
    pub volume_types: Vec<TypeSpec>,
    #[serde(default)]
    pub group_types: Vec<TypeSpec>,
    #[serde(default)]
    pub servers: Vec<ServerSpec>,
    /// The project's quota limits at both sites (missing names: a real
    /// default project's).
    #[serde(default)]
    pub quotas: Quotas,
    /// Per-site changes to `quotas`: `site-b: {volumes: 5, gigabytes: 50}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub site_quotas: BTreeMap<String, Map<String, Value>>,
}

fn default_domain() -> String {
    "Default".into()
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserSpec {
    pub name: String,
    pub password: String,
    #[serde(default)]
    pub app_credentials: Vec<AppCredSpec>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AppCredSpec {
    pub id: String,
    pub name: String,
    pub secret: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FlavorSpec {
    pub name: String,
    pub vcpus: u64,
    pub ram: u64,
    pub disk: u64,
    /// Extra specs (`hw:cpu_policy: dedicated`, …); none by default.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra_specs: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TypeSpec {
    pub name: String,
    #[serde(default)]
    pub specs: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct VolumeSpec {
    pub size_gb: u64,
    #[serde(default)]
    pub volume_type: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ServerSpec {
    #[serde(default = "default_site")]
    pub site: String,
    pub name: String,
    pub flavor: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub networks: Vec<String>,
    pub boot_volume: VolumeSpec,
    #[serde(default)]
    pub data_volumes: Vec<VolumeSpec>,
}

fn default_site() -> String {
    "site-a".into()
}

impl Default for Topology {
    fn default() -> Self {
        Topology::demo()
    }
}

impl Topology {
    /// Everything but servers: one project, the `operator` user, flavors, networks, types.
    pub fn base() -> Topology {
        let spec = |k: &str, v: &str| {
            let mut m = BTreeMap::new();
            m.insert(k.to_string(), v.to_string());
            m
        };
        Topology {
            domain: "Default".into(),
            project: "vnf-ops".into(),
            users: vec![UserSpec {
                name: "operator".into(),
                password: "lifeboat".into(),
                app_credentials: vec![AppCredSpec {
                    id: "lifeboat-appcred-id".into(),
                    name: "lifeboat".into(),
                    secret: "lifeboat-secret".into(),
                }],
            }],
            flavors: vec![
                FlavorSpec {
                    name: "m1.small".into(),
                    vcpus: 1,
                    ram: 2048,
                    disk: 20,
                    extra_specs: BTreeMap::new(),
                },
                FlavorSpec {
                    name: "m1.medium".into(),
                    vcpus: 2,
                    ram: 4096,
                    disk: 40,
                    extra_specs: BTreeMap::new(),
                },
                FlavorSpec {
                    name: "m1.large".into(),
                    vcpus: 4,
                    ram: 8192,
                    disk: 80,
                    extra_specs: BTreeMap::new(),
                },
            ],
            networks: vec!["mgmt".into(), "signalling".into(), "media".into()],
            volume_types: vec![
                TypeSpec {
                    name: "standard".into(),
                    specs: spec("volume_backend_name", "lvm"),
                },
                TypeSpec {
                    name: "replicated".into(),
                    specs: spec("replication_enabled", "<is> True"),
                },
            ],
            group_types: vec![TypeSpec {
                name: "consistent".into(),
                specs: spec("consistent_group_snapshot_enabled", "<is> True"),
            }],
            servers: vec![],
            quotas: Quotas::roomy(),
            site_quotas: BTreeMap::new(),
        }
    }

    /// The demo VNF `vims` at site-a: 2 db, 2 app, 2 lb servers.
    pub fn demo() -> Topology {
        let mut t = Topology::base();
        t.servers = vnf_servers("vims", 6);
        t
    }

    /// A large fleet: `vnfs` VNFs (`vnf001`, ...) of `vms_per_vnf` servers each at site-a.
    pub fn generate(vnfs: usize, vms_per_vnf: usize) -> Topology {
        let mut t = Topology::base();
        for v in 1..=vnfs {
            t.servers
                .extend(vnf_servers(&format!("vnf{v:03}"), vms_per_vnf));
        }
        // Room for the fleet, its restore at the other site and many runs:
        // what the checks walk every resource to count is unlimited (a
        // fleet's DR project is sized by its operator, not by defaults),
        // the rest sized to the fleet.
        let n = t.servers.len() as i64;
        let q = &mut t.quotas;
        for unlimited in [
            &mut q.instances,
            &mut q.cores,
            &mut q.ram,
            &mut q.volumes,
            &mut q.snapshots,
            &mut q.backups,
            &mut q.gigabytes,
            &mut q.backup_gigabytes,
            &mut q.groups,
        ] {
            *unlimited = -1;
        }
        q.port = q.port.max(8 * n);
        q.server_group_members = q.server_group_members.max(n);
        q.server_groups = q.server_groups.max(4 * vnfs as i64);
        q.security_group = q.security_group.max(4 * vnfs as i64);
        q.security_group_rule = q.security_group_rule.max(40 * vnfs as i64);
        q.floatingip = q.floatingip.max(4 * vnfs as i64);
        t
    }

    pub fn from_yaml_str(s: &str) -> Result<Topology, EmulatorError> {
        let t: Topology =
            serde_yaml::from_str(s).map_err(|e| EmulatorError::Topology(e.to_string()))?;
        t.validate()?;
        Ok(t)
    }

    pub fn from_yaml_file(path: &std::path::Path) -> Result<Topology, EmulatorError> {
        let s = std::fs::read_to_string(path)?;
        Topology::from_yaml_str(&s)
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_default()
    }

    pub fn validate(&self) -> Result<(), EmulatorError> {
        if self.users.is_empty() {
            return Err(EmulatorError::Topology(
                "at least one user is needed".into(),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for s in &self.servers {
            if Site::parse(&s.site).is_none() {
                return Err(EmulatorError::Topology(format!(
                    "server {}: unknown site {:?}",
                    s.name, s.site
                )));
            }
            if !self.flavors.iter().any(|f| f.name == s.flavor) {
                return Err(EmulatorError::Topology(format!(
                    "server {}: unknown flavor {:?}",
                    s.name, s.flavor
                )));
            }
            for n in &s.networks {
                if !self.networks.contains(n) {
                    return Err(EmulatorError::Topology(format!(
                        "server {}: unknown network {n:?}",
                        s.name
                    )));
                }
            }
            for v in std::iter::once(&s.boot_volume).chain(s.data_volumes.iter()) {
                if let Some(t) = &v.volume_type {
                    if !self.volume_types.iter().any(|x| &x.name == t) {
                        return Err(EmulatorError::Topology(format!(
                            "server {}: unknown volume type {t:?}",
                            s.name
                        )));
                    }
                }
            }
            if !names.insert((s.site.clone(), s.name.clone())) {
                return Err(EmulatorError::Topology(format!(
                    "duplicate server name {}",
                    s.name
                )));
            }
        }
        for k in self.site_quotas.keys() {
            if Site::parse(k).is_none() {
                return Err(EmulatorError::Topology(format!(
                    "site_quotas: unknown site {k:?}"
                )));
            }
        }
        self.quotas_at(Site::A)?;
        self.quotas_at(Site::B)?;
        Ok(())
    }

    /// The project's quotas at `site`: `quotas` with the site's changes.
    pub fn quotas_at(&self, site: Site) -> Result<Quotas, EmulatorError> {
        for k in all_keys() {
            if self.quotas.get(k).is_some_and(|v| v < -1) {
                return Err(EmulatorError::Topology(format!(
                    "quotas: {k} must be -1 (unlimited) or more"
                )));
            }
        }
        let mut q = self.quotas.clone();
        for (k, changes) in &self.site_quotas {
            if Site::parse(k) == Some(site) {
                q.apply(changes, &all_keys())
                    .map_err(|e| EmulatorError::Topology(format!("site_quotas.{k}: {e}")))?;
            }
        }
        Ok(q)
    }

    pub fn project_id(&self) -> String {
        stable_hex(&format!("project:{}", self.project))
    }
    pub fn user_id(&self, name: &str) -> String {
        stable_hex(&format!("user:{name}"))
    }

    /// Build the world this topology describes.
    pub fn seed(&self) -> World {
        let mut w = World::default();
        let project_id = self.project_id();
        let user_id = self
            .users
            .first()
            .map(|u| self.user_id(&u.name))
            .unwrap_or_default();
        for site in Site::ALL {
            let s = w.site_mut(site);
            for (i, f) in self.flavors.iter().enumerate() {
                s.flavors.push(Flavor {
                    id: (i + 1).to_string(),
                    name: f.name.clone(),
                    vcpus: f.vcpus,
                    ram: f.ram,
                    disk: f.disk,
                    extra_specs: f.extra_specs.clone(),
                });
            }
            crate::neutron::seed::seed_site(s, site, &self.networks, &project_id);
            for t in &self.volume_types {
                s.volume_types.push(VolumeType {
                    id: stable_id(&format!("{site}:vt:{}", t.name)),
                    name: t.name.clone(),
                    extra_specs: t.specs.clone(),
                });
            }
            for t in &self.group_types {
                s.group_types.push(GroupType {
                    id: stable_id(&format!("{site}:gt:{}", t.name)),
                    name: t.name.clone(),
                    group_specs: t.specs.clone(),
                });
            }
            s.default_quotas = Quotas::default();
            s.quotas.insert(
                project_id.clone(),
                self.quotas_at(site).unwrap_or_else(|_| self.quotas.clone()),
            );
        }
        // Network identity first: each server's ports, host and key pair.
        let mut placed = BTreeMap::new();
        for site in Site::ALL {
            let here: Vec<crate::neutron::seed::Seeded> = self
                .servers
                .iter()
                .filter(|x| Site::parse(&x.site) == Some(site))
                .map(|x| crate::neutron::seed::Seeded {
                    id: stable_id(&format!("{site}:server:{}", x.name)),
                    name: &x.name,
                    vnf: x.metadata.get("vnf").map(String::as_str),
                    role: x.metadata.get("role").map(String::as_str),
                    networks: &x.networks,
                })
                .collect();
            let ids: Vec<String> = here.iter().map(|x| x.id.clone()).collect();
            let out = crate::neutron::seed::seed_servers(
                w.site_mut(site),
                site,
                &here,
                &project_id,
                &user_id,
            );
            placed.extend(ids.into_iter().zip(out));
        }
        for spec in &self.servers {
            let Some(site) = Site::parse(&spec.site) else {
                continue;
            };
            let server_id = stable_id(&format!("{site}:server:{}", spec.name));
            let created = now_z();
            let mut attachments = Vec::new();
            let vols: Vec<(&VolumeSpec, bool)> = std::iter::once((&spec.boot_volume, true))
                .chain(spec.data_volumes.iter().map(|v| (v, false)))
                .collect();
            for (i, (v, boot)) in vols.into_iter().enumerate() {
                let vname = if boot {
                    format!("{}-boot", spec.name)
                } else if i == 1 {
                    format!("{}-data", spec.name)
                } else {
                    format!("{}-data{}", spec.name, i)
                };
                let vid = stable_id(&format!("{site}:volume:{vname}"));
                let device = crate::world::device_name(i);
                let att = Attachment {
                    id: new_id(),
                    server_id: server_id.clone(),
                    volume_id: vid.clone(),
                    device,
                    attached_at: now_iso(),
                };
                let vt = v
                    .volume_type
                    .clone()
                    .or_else(|| w.site(site).default_volume_type().map(|t| t.name.clone()))
                    .unwrap_or_default();
                let seq = w.next_seq();
                let volume = Volume {
                    name: vname.clone(),
                    size: v.size_gb,
                    status: "in-use".into(),
                    volume_type: vt,
                    bootable: boot,
                    content: Content::seeded(&vname, if boot { 32 } else { 8 }),
                    attachments: vec![att.clone()],
                    ..Volume::blank(
                        vid.clone(),
                        seq,
                        site.volume_host(),
                        user_id.clone(),
                        project_id.clone(),
                    )
                };
                crate::cinder::volumes::register(&mut w, site, volume);
                attachments.push(att.server_ref());
            }
            let s = w.site(site);
            let flavor_id = s
                .flavor(&spec.flavor)
                .map(|f| f.id.clone())
                .unwrap_or_default();
            let place = placed.remove(&server_id);
            let mut metadata = Map::new();
            for (k, v) in &spec.metadata {
                metadata.insert(k.clone(), Value::String(v.clone()));
            }
            let seq = w.next_seq();
            let server = Server {
                id: server_id.clone(),
                name: spec.name.clone(),
                seq,
                status: "ACTIVE".into(),
                vm_state: "active".into(),
                task_state: None,
                power_state: 1,
                quiesced: false,
                locked: false,
                locked_reason: None,
                flavor_id,
                ports: place.as_ref().map(|p| p.ports.clone()).unwrap_or_default(),
                made_ports: vec![],
                host: place.as_ref().map(|p| p.host.clone()).unwrap_or_default(),
                key_name: place.as_ref().and_then(|p| p.key_name.clone()),
                availability_zone: "nova".into(),
                metadata,
                tags: spec.tags.clone(),
                created: created.clone(),
                updated: created.clone(),
                launched_at: Some(now_iso()),
                attachments,
                user_id: user_id.clone(),
                project_id: project_id.clone(),
                group: place.as_ref().and_then(|p| p.group.clone()),
            };
            w.site_mut(site).servers.insert(server_id, server);
        }
        w
    }
}

/// The servers of one VNF: roles db, app, lb in turn (priorities 1, 2, 3).
fn vnf_servers(vnf: &str, count: usize) -> Vec<ServerSpec> {
    let roles = [
        ("db", "1", "m1.large"),
        ("app", "2", "m1.medium"),
        ("lb", "3", "m1.small"),
    ];
    let per_role = count.div_ceil(3).max(1);
    let mut out = Vec::new();
    for (role, prio, flavor) in roles.iter() {
        for k in 1..=per_role {
            if out.len() >= count {
                break;
            }
            let mut metadata = BTreeMap::new();
            metadata.insert("role".to_string(), role.to_string());
            metadata.insert("priority".to_string(), prio.to_string());
            metadata.insert("vnf".to_string(), vnf.to_string());
            out.push(ServerSpec {
                site: "site-a".into(),
                name: format!("{vnf}-{role}-{k}"),
                flavor: flavor.to_string(),
                tags: vec![vnf.to_string(), format!("vnf:{vnf}")],
                metadata,
                networks: if *role == "lb" {
                    vec!["mgmt".into(), "media".into()]
                } else {
                    vec!["mgmt".into(), "signalling".into()]
                },
                boot_volume: VolumeSpec {
                    size_gb: 10,
                    volume_type: None,
                },
                data_volumes: vec![VolumeSpec {
                    size_gb: 20,
                    volume_type: None,
                }],
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_has_six_servers_and_twelve_volumes() {
        let t = Topology::demo();
        assert_eq!(t.servers.len(), 6);
        let w = t.seed();
        assert_eq!(w.site(Site::A).servers.len(), 6);
        assert_eq!(w.site(Site::A).volumes.len(), 12);
        assert_eq!(w.site(Site::B).servers.len(), 0);
        let roles: Vec<_> = t
            .servers
            .iter()
            .map(|s| s.metadata["role"].clone())
            .collect();
        assert_eq!(roles, ["db", "db", "app", "app", "lb", "lb"]);
    }

    #[test]
    fn yaml_round_trip_and_validation() {
        let t = Topology::generate(3, 4);
        assert_eq!(t.servers.len(), 12);
        let back = Topology::from_yaml_str(&t.to_yaml()).expect("valid yaml");
        assert_eq!(back, t);
        let bad = t.to_yaml().replace("flavor: m1.large", "flavor: nope");
        assert!(Topology::from_yaml_str(&bad).is_err());
    }
}
