//! Swift container sync between the emulator's two sites, as Swift's
//! `container_sync` middleware and `swift-container-sync` daemon do it.
//!
//! - **Realms.** The two sites are the clusters `SITE-A` and `SITE-B` of one
//!   realm, `LIFEBOAT` (as a `container-sync-realms.conf` would name them);
//!   `GET /object/info` lists them under `container_sync.realms`, as Swift
//!   does. A container syncs to `//LIFEBOAT/SITE-B/AUTH_{project}/{name}`
//!   (realm and cluster names are case-insensitive), or to the full URL of
//!   the other site's container on an allowed host (`127.0.0.1`).
//! - **Validation**, with Swift's messages, when `X-Container-Sync-To` is set
//!   ([`validate_sync_to`]): a 400 for a bad format, an unknown realm or
//!   cluster, a bad scheme, a query, a host not allowed.
//! - **Copying**, on the workload tick ([`tick`]): the rows of a container
//!   that has both `X-Container-Sync-To` and `X-Container-Sync-Key` — each
//!   object PUT or DELETE is a row — are sent in order to the target
//!   container once they are older than the replication lag (`timing
//!   .replication_lag`): objects with their data, ETag, content type,
//!   metadata and last-modified time; deletes as deletes. The target must
//!   exist and hold the same `X-Container-Sync-Key` (else Swift answers the
//!   sync 401 and the rows wait). A site that is down neither sends nor
//!   receives; the rows wait for it. An object the target already holds
//!   with the same ETag and time is not sent again (so a sync back, b → a,
//!   does not echo).
//! - **What a user sees** is what Swift shows: the two containers' object
//!   counts and bytes (`HEAD`), and the sync headers to the account's owner.
//!   The sync points are internal, as in Swift.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::server::Shared;
use crate::world::{Site, World};

/// The one realm of the emulator's clusters.
pub const REALM: &str = "LIFEBOAT";

/// Tombstones a container keeps for sync when nothing consumes them.
pub const TOMBSTONES_KEPT: usize = 10_000;

/// The cluster name of a site in the realm.
pub fn cluster(site: Site) -> String {
    site.name().to_ascii_uppercase()
}

/// `container_sync` of `GET /info`.
pub fn info() -> Value {
    json!({"realms": {REALM: {"clusters": {cluster(Site::A): {}, cluster(Site::B): {}}}}})
}

/// Where a container's rows go.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub site: Site,
    pub account: String,
    pub container: String,
}

/// Validate `X-Container-Sync-To` as Swift's container server does, and
/// say where it leads (`None`: a valid URL that is not one of the
/// emulator's sites — rows to it wait forever, as a real sync to an
/// unreachable cluster would).
pub fn validate_sync_to(value: &str, sh: &Shared) -> Result<Option<Target>, String> {
    let orig = value;
    if let Some(rest) = value.strip_prefix("//") {
        let data: Vec<&str> = rest.split('/').collect();
        if data.len() != 4 || data.iter().any(|d| d.is_empty()) {
            return Err(format!("Invalid X-Container-Sync-To format '{orig}'"));
        }
        let (realm, cl, account, container) = (data[0], data[1], data[2], data[3]);
        if !realm.eq_ignore_ascii_case(REALM) {
            return Err(format!("No realm key for '{realm}'"));
        }
        let site = [Site::A, Site::B]
            .into_iter()
            .find(|s| cluster(*s).eq_ignore_ascii_case(cl));
        let Some(site) = site else {
            return Err(format!("No cluster endpoint for '{realm}' '{cl}'"));
        };
        return Ok(Some(Target {
            site,
            account: account.to_string(),
            container: container.to_string(),
        }));
    }
    let (scheme, rest) = value.split_once("://").unwrap_or(("", value));
    if scheme != "http" && scheme != "https" {
        return Err(format!("Invalid scheme '{scheme}' in X-Container-Sync-To, must be \"//\", \"http\", or \"https\"."));
    }
    let (hostport, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, String::new()));
    if path.is_empty() || path == "/" {
        return Err("Path required in X-Container-Sync-To".into());
    }
    if path.contains(['?', '#', ';']) {
        return Err("Params, queries, and fragments not allowed in X-Container-Sync-To".into());
    }
    let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
    if host != "127.0.0.1" && host != "localhost" {
        return Err(format!("Invalid host '{host}' in X-Container-Sync-To"));
    }
    for site in [Site::A, Site::B] {
        let base = format!("{}/object/v1/", sh.site_base(site));
        if let Some(p) = value.strip_prefix(&base) {
            if let Some((account, container)) = p.split_once('/') {
                if !container.is_empty() && !container.contains('/') {
                    return Ok(Some(Target {
                        site,
                        account: account.to_string(),
                        container: container.to_string(),
                    }));
                }
            }
        }
    }
    Ok(None)
}

/// One row to send.
enum Row {
    Put(String),
    Delete(String),
}

/// Send what is due. Runs with the workload tick.
pub fn tick(sh: &Arc<Shared>, w: &mut World) {
    let lag = sh.timing().replication_lag;
    let now = Instant::now();
    for site in [Site::A, Site::B] {
        if sh.switches[site.index()].is_down() {
            continue;
        }
        let names: Vec<String> = w
            .site(site)
            .containers
            .iter()
            .filter(|(_, c)| !c.sync_to.is_empty() && !c.sync_key.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            let (to, key, point) = {
                let c = &w.site(site).containers[&name];
                (c.sync_to.clone(), c.sync_key.clone(), c.sync_point)
            };
            let Ok(Some(target)) = validate_sync_to(&to, sh) else {
                continue;
            };
            if sh.switches[target.site.index()].is_down()
                || (target.site == site && target.container == name)
            {
                continue;
            }
            // Swift checks the account through the signature; the emulator
            // has one project, so the account must be its own.
            let key_ok = w
                .site(target.site)
                .containers
                .get(&target.container)
                .is_some_and(|t| t.sync_key == key);
            if !key_ok {
                continue;
            }
            // The rows after the sync point, in order, up to the first one
            // younger than the lag.
            let c = &w.site(site).containers[&name];
            let mut rows: Vec<(u64, Instant, Row)> = c
                .objects
                .iter()
                .filter(|(_, o)| o.row > point)
                .map(|(n, o)| (o.row, o.written, Row::Put(n.clone())))
                .collect();
            rows.extend(
                c.tombstones
                    .iter()
                    .filter(|t| t.1 > point)
                    .map(|(n, r, at)| (*r, *at, Row::Delete(n.clone()))),
            );
            rows.sort_by_key(|r| r.0);
            let mut reached = point;
            for (row, at, what) in rows {
                if now.duration_since(at) < lag {
                    break;
                }
                match what {
                    Row::Put(n) => {
                        let Some(o) = w.site(site).containers[&name].objects.get(&n).cloned()
                        else {
                            continue;
                        };
                        let Some(t) = w
                            .site_mut(target.site)
                            .containers
                            .get_mut(&target.container)
                        else {
                            break;
                        };
                        let same = t.objects.get(&n).is_some_and(|x| {
                            x.etag == o.etag && x.last_modified == o.last_modified
                        });
                        if !same {
                            // The copy keeps the source's time, as Swift's
                            // X-Timestamp does.
                            t.put(&n, o);
                        }
                    }
                    Row::Delete(n) => {
                        if let Some(t) = w
                            .site_mut(target.site)
                            .containers
                            .get_mut(&target.container)
                        {
                            t.delete(&n);
                        }
                    }
                }
                reached = row;
            }
            if let Some(c) = w.site_mut(site).containers.get_mut(&name) {
                c.sync_point = reached;
                c.tombstones.retain(|t| t.1 > reached);
            }
        }
    }
}
