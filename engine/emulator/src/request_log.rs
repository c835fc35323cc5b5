//! The request log (an emulator extension, not an OpenStack API): a bounded
//! per-site record of the site requests the emulator answered — time (ms),
//! method, path, status and, for `POST …/action`, the action's name. Never
//! headers, bodies, queries or tokens. Read with `GET /_emulator/requests`,
//! cleared by `DELETE /_emulator/requests`. Tests use it to check what the
//! cloud saw (e.g. the order servers were frozen and thawed in).

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::Value;

use crate::world::Site;

/// Entries kept per site; the oldest are dropped first.
pub const CAPACITY: usize = 4096;

/// One answered request.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Entry {
    /// Sequence number, increasing over both sites, never reused (also after a clear).
    pub seq: u64,
    /// Milliseconds since the Unix epoch when the answer was ready.
    pub time_ms: u64,
    pub site: &'static str,
    pub method: String,
    /// The URL path (no query string).
    pub path: String,
    pub status: u16,
    /// For `POST …/action`: the action (`pause`, `unpause`, `quiesce`, `createImage`, `os-reset_status`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// The per-site logs.
#[derive(Default)]
pub struct RequestLog {
    sites: [VecDeque<Entry>; 2],
    next_seq: u64,
    dropped: [u64; 2],
}

impl RequestLog {
    pub fn record(
        &mut self,
        site: Site,
        method: &str,
        path: &str,
        status: u16,
        action: Option<String>,
    ) {
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        self.next_seq += 1;
        let log = &mut self.sites[site.index()];
        if log.len() >= CAPACITY {
            log.pop_front();
            self.dropped[site.index()] += 1;
        }
        log.push_back(Entry {
            seq: self.next_seq,
            time_ms,
            site: site.name(),
            method: method.to_string(),
            path: path.to_string(),
            status,
            action,
        });
    }
    /// The entries of `site` with `seq > since`, oldest first.
    pub fn since(&self, site: Site, since: u64) -> Vec<Entry> {
        self.sites[site.index()]
            .iter()
            .filter(|e| e.seq > since)
            .cloned()
            .collect()
    }
    /// Entries dropped from `site`'s log because it was full.
    pub fn dropped(&self, site: Site) -> u64 {
        self.dropped[site.index()]
    }
    /// The last sequence number handed out (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.next_seq
    }
    pub fn clear(&mut self, site: Option<Site>) {
        for s in Site::ALL {
            if !matches!(site, Some(x) if x != s) {
                self.sites[s.index()].clear();
                self.dropped[s.index()] = 0;
            }
        }
    }
}

/// The action named by a `POST …/action` body (`{"pause": null}` → `pause`):
/// its single top-level key, if the body is a JSON object with one key.
pub fn action_of(method: &str, path: &str, body: &[u8]) -> Option<String> {
    if method != "POST" || !path.trim_end_matches('/').ends_with("/action") {
        return None;
    }
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(m) if m.len() == 1 => m.keys().next().cloned(),
        _ => None,
    }
}
