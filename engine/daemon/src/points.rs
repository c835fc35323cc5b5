//! What a protect run made, read from its journal: the recovery point (the
//! manifest `lifeboat.write_manifest` wrote: vnf, snapshot time, the site it
//! went to) and the backups (`cinder.backup` results), each with its
//! incremental parent read from its exported record (`cinder.export_backup`:
//! Cinder's `backup_url` is base64 of the backup's JSON, `parent_id` in it);
//! and the manifest any run wrote or read (the report's recovery point, a
//! recovery's source site). The one reader of those actions' results.

use lifeboat_exec::journal::Record;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct MadeBackup {
    pub id: String,
    pub parent: Option<String>,
    pub origin: String,
    pub site: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MadePoint {
    pub run_id: String,
    pub vnf: String,
    /// The snapshot time (RFC 3339, or Cinder's zone-less UTC).
    pub taken: String,
    pub manifest_site: String,
    pub backups: Vec<MadeBackup>,
}

/// The point a finished protect run wrote, `None` when it wrote none.
pub fn made_point(journal: &[Record]) -> Option<MadePoint> {
    let mut action_of: HashMap<&str, (&str, Option<&str>)> = HashMap::new();
    let mut run_id = String::new();
    let mut point: Option<MadePoint> = None;
    let mut backups: Vec<MadeBackup> = Vec::new();
    let mut parents: HashMap<String, Option<String>> = HashMap::new();
    for r in journal {
        match r {
            Record::RunStarted { run_id: id, .. } => run_id = id.clone(),
            Record::StepIntent { instance, call, .. } => {
                action_of.insert(instance, (&call.action, call.site.as_deref()));
            }
            Record::StepOutcome {
                instance,
                value: Some(v),
                error: None,
                ..
            } => {
                let Some((action, site)) = action_of.get(instance.as_str()) else {
                    continue;
                };
                match *action {
                    "lifeboat.write_manifest" => {
                        point = Some(MadePoint {
                            run_id: String::new(),
                            vnf: str_of(v, "vnf"),
                            taken: str_of(v, "snapshot_time"),
                            manifest_site: site.unwrap_or_default().to_string(),
                            backups: Vec::new(),
                        })
                    }
                    "cinder.backup" => backups.push(MadeBackup {
                        id: str_of(v, "id"),
                        parent: None,
                        origin: str_of(v, "origin"),
                        site: if str_of(v, "site").is_empty() {
                            site.unwrap_or_default().to_string()
                        } else {
                            str_of(v, "site")
                        },
                    }),
                    "cinder.export_backup" => {
                        if let Some(doc) = record_doc(v) {
                            let id = doc
                                .get("id")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string();
                            let parent = doc
                                .get("parent_id")
                                .and_then(Value::as_str)
                                .filter(|s| !s.is_empty())
                                .map(str::to_string);
                            parents.insert(id, parent);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let mut p = point?;
    p.run_id = run_id;
    for mut b in backups {
        b.parent = parents.get(&b.id).cloned().flatten();
        p.backups.push(b);
    }
    Some(p)
}

/// The manifest a recover run read (its protect run id), from its journal.
pub fn read_point(journal: &[Record]) -> Option<String> {
    read_manifest(journal).map(|m| str_of(m, "run_id"))
}

/// What a recovery left behind: the VNF now runs at another site, and its
/// copies at `from` (the site the manifest it read was protected from)
/// must be fenced when that site answers again.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    pub vnf: String,
    pub from: String,
}

/// The VNF a recover (failover, migrate) run brought up and the site it
/// came from, from the manifest it read; `None` when it read none.
pub fn recovered(journal: &[Record]) -> Option<Recovered> {
    let m = read_manifest(journal)?;
    let (vnf, from) = (str_of(m, "vnf"), str_of(m, "source_site"));
    (!vnf.is_empty() && !from.is_empty()).then_some(Recovered { vnf, from })
}

/// The manifest a run is about, as its step returned it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Manifest<'a> {
    /// A protect wrote it (the last `lifeboat.write_manifest` result).
    Written(&'a serde_json::Map<String, Value>),
    /// A recovery read it (the first `lifeboat.read_manifest` result): a
    /// run that reads one is a recovery, whatever else it writes.
    Read(&'a serde_json::Map<String, Value>),
}

/// The manifest a run read, else the one it wrote; `None`: neither.
pub fn manifest(journal: &[Record]) -> Option<Manifest<'_>> {
    let (mut reads, mut writes): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let mut written = None;
    for r in journal {
        match r {
            Record::StepIntent { instance, call, .. } => match call.action.as_str() {
                "lifeboat.read_manifest" => reads.push(instance),
                "lifeboat.write_manifest" => writes.push(instance),
                _ => {}
            },
            Record::StepOutcome {
                instance,
                value: Some(Value::Object(m)),
                error: None,
                ..
            } => {
                if reads.contains(&instance.as_str()) {
                    return Some(Manifest::Read(m));
                }
                if writes.contains(&instance.as_str()) {
                    written = Some(Manifest::Written(m));
                }
            }
            _ => {}
        }
    }
    written
}

/// The first manifest a run read (`lifeboat.read_manifest`'s result).
fn read_manifest(journal: &[Record]) -> Option<&Value> {
    let mut reads: Vec<&str> = Vec::new();
    for r in journal {
        if let Record::StepIntent { instance, call, .. } = r {
            if call.action == "lifeboat.read_manifest" {
                reads.push(instance);
            }
        }
        if let Record::StepOutcome {
            instance,
            value: Some(v),
            error: None,
            ..
        } = r
        {
            if reads.contains(&instance.as_str()) && !str_of(v, "run_id").is_empty() {
                return Some(v);
            }
        }
    }
    None
}

fn str_of(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The JSON document inside an exported backup record.
fn record_doc(v: &Value) -> Option<Value> {
    lifeboat_openstack::cinder::BackupRecord::document(v.get("backup_url")?.as_str()?)
}
