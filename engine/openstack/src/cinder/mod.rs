//! Cinder calls (block storage v3), each pinned to the smallest microversion
//! that gives what Lifeboat relies on: `group_id` on volumes (3.13), generic
//! group snapshots and `group_snapshot_id` (3.14), groups with their volume
//! list (3.25), `failover` of a backend (3.26), group replication failover
//! (3.38), backup metadata (3.43). Real Cinder offers up to 3.71.
//!
//! One file per resource: `volumes.rs`, `snapshots.rs`, `groups.rs`,
//! `group_snapshots.rs`, `backups.rs`, `services.rs` (hosts, failover);
//! their result types in `crate::types::cinder`.

mod backups;
mod group_snapshots;
mod groups;
mod services;
mod snapshots;
mod volumes;

use crate::catalog::Service;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Client, Request};
use crate::nova::parse_items;
use crate::nova::to_value;
use crate::types::cinder::*;
use crate::types::requests::*;
use reqwest::Method;
use serde_json::{json, Map, Value};

pub const MV_VOLUMES: &str = "3.13";
pub const MV_MANAGEABLE: &str = "3.8";
pub const MV_GROUP_SNAPSHOTS: &str = "3.14";
pub const MV_GROUPS: &str = "3.25";
pub const MV_FAILOVER_HOST: &str = "3.26";
pub const MV_GROUP_REPLICATION: &str = "3.38";
pub const MV_BACKUPS: &str = "3.43";

pub struct Cinder<'a> {
    c: &'a Client,
}

impl Client {
    pub fn cinder(&self) -> Cinder<'_> {
        Cinder { c: self }
    }
}

impl<'a> Cinder<'a> {
    fn req(&self, mv: &'static str, method: Method, path: impl Into<String>) -> Request<'a> {
        self.c
            .request(Service::BlockStorage, method, path)
            .microversion(mv)
    }

    fn decode(&self, call: &str, resource: &str, detail: impl Into<String>) -> Error {
        Error::new(
            ErrorKind::Decode,
            format!("cinder {call}"),
            resource,
            self.c.site(),
            detail,
        )
    }
}

/// A cinder service (named so to avoid clashing with the catalogue's).
pub type Service_ = crate::types::cinder::Service;
