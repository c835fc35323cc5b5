//! From a [`Decision`](super::policy::Decision) to the parameters of the
//! `retention/expire` runbook (embedded in the daemon): the expired points' manifests (by the
//! protect run id in their name) at the backup site, then the backups to
//! delete, children first, at the site that made them.

use super::policy::Decision;
use serde_json::{json, Map, Value};

/// The retention runbook: its bundled name, and the runbook's own.
pub const RETENTION_RUNBOOK_NAME: &str = "retention/expire";
pub const RETENTION_RUNBOOK: &str = "expire";

#[derive(Debug, Clone, PartialEq)]
pub struct RetentionRun {
    pub vnf: String,
    /// Where the backups were made (the protect's `from`).
    pub backup_site: String,
    /// Where the manifests are (the protect's `to`).
    pub manifest_site: String,
    pub manifests: Vec<String>,
    pub backups: Vec<String>,
}

impl RetentionRun {
    /// `None` when there is nothing to delete.
    pub fn from_decision(
        d: &Decision,
        vnf: &str,
        backup_site: &str,
        manifest_site: &str,
    ) -> Option<RetentionRun> {
        if d.expire.is_empty() && d.delete_backups.is_empty() {
            return None;
        }
        Some(RetentionRun {
            vnf: vnf.to_string(),
            backup_site: backup_site.to_string(),
            manifest_site: manifest_site.to_string(),
            manifests: d.expire.clone(),
            backups: d.delete_backups.clone(),
        })
    }

    /// The runbook's parameters.
    pub fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("vnf".into(), json!(self.vnf));
        m.insert("from".into(), json!(self.backup_site));
        m.insert("to".into(), json!(self.manifest_site));
        m.insert("manifests".into(), json!(self.manifests));
        m.insert("backups".into(), json!(self.backups));
        m
    }
}
