//! The live workload: every running server writes to its volumes.
//!
//! The servers of one VNF (server metadata `vnf`; a server without it is a VNF
//! of its own) form one writer. Transaction N walks the VNF's volumes in a
//! fixed order (servers by priority then name, each server's volumes in attach
//! order) and writes to each in turn the record `{"vnf", "txn": N, "pos"}` into
//! block 0 and a log block (`64 + N % 32`). If the next volume's server does not
//! run (paused, suspended, quiesced, stopped), the transaction waits there.
//! Hence, at any one instant, along `pos` the txn values are non-increasing
//! and span at most 1: a set of volumes captured at one instant satisfies
//! `check_invariant`; volumes captured one by one under writes usually do not.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::content::Content;
use crate::server::Shared;
use crate::world::{Site, World};

/// Block that holds the transaction record.
pub const RECORD_BLOCK: u64 = 0;

/// A server as its writer orders it: (priority, name, id).
type Ordered<'w> = (i64, &'w str, &'w str);

/// The writer of one VNF at one site: its servers in write order (by
/// priority, then name, then id).
struct Writer<'w> {
    site: Site,
    servers: Vec<Ordered<'w>>,
}

/// Each VNF's writer, by its key in `World::writers` (`site:vnf`, or
/// `site:server:id` for a server of no VNF). Borrowed from the world, no
/// volume looked up: at 10,000 servers the tick builds this every second
/// under the world's lock, and each VNF writes a volume or two of it.
fn writers(w: &World) -> BTreeMap<String, Writer<'_>> {
    let mut by_vnf: HashMap<(Site, Result<&str, &str>), Vec<Ordered>> = HashMap::new();
    for site in Site::ALL {
        for srv in w.site(site).servers.values_unordered() {
            let vnf = srv
                .metadata
                .get("vnf")
                .and_then(|v| v.as_str())
                .ok_or(srv.id.as_str());
            let prio = srv
                .metadata
                .get("priority")
                .and_then(|v| v.as_str())
                .and_then(|p| p.parse().ok())
                .unwrap_or(99);
            by_vnf
                .entry((site, vnf))
                .or_default()
                .push((prio, srv.name.as_str(), srv.id.as_str()));
        }
    }
    by_vnf
        .into_iter()
        .map(|((site, vnf), mut servers)| {
            servers.sort();
            let key = match vnf {
                Ok(v) => format!("{site}:{v}"),
                Err(id) => format!("{site}:server:{id}"),
            };
            (key, Writer { site, servers })
        })
        .collect()
}

impl Writer<'_> {
    /// The VNF's volumes in write order from position `from`: (volume id,
    /// its server running), each server's attached volumes in attach order.
    fn volumes_from<'a>(
        &'a self,
        w: &'a World,
        from: usize,
    ) -> impl Iterator<Item = (&'a str, bool)> + 'a {
        let s = w.site(self.site);
        self.servers
            .iter()
            .filter_map(move |(_, _, id)| s.servers.get(*id))
            .flat_map(move |srv| {
                srv.attachments
                    .iter()
                    .filter(move |att| s.attachment(att).is_some())
                    .map(move |att| (att.volume_id.as_str(), srv.running()))
            })
            .skip(from)
    }
}

pub fn record(vnf: &str, txn: u64, pos: usize) -> Vec<u8> {
    json!({"vnf": vnf, "txn": txn, "pos": pos})
        .to_string()
        .into_bytes()
}

/// Parse a block-0 record.
pub fn read_record(c: &Content) -> Option<(String, u64, usize)> {
    let b = c.read(RECORD_BLOCK)?;
    let end = b.iter().position(|x| *x == 0).unwrap_or(b.len());
    let v: Value = serde_json::from_slice(&b[..end]).ok()?;
    Some((
        v["vnf"].as_str()?.to_string(),
        v["txn"].as_u64()?,
        v["pos"].as_u64()? as usize,
    ))
}

/// Do up to `steps` writes for every VNF, but no more than
/// `MAX_WRITES_PER_TICK` in all; returns how many steps each VNF was given
/// (`steps`, or fewer when the fleet is too large for that many). Transaction
/// N writes the VNF's volumes in order; past the last, N + 1 starts at the
/// first; a volume whose server does not run stops the writer there until it
/// runs.
pub fn step(w: &mut World, steps: usize) -> usize {
    let writers = writers(w);
    let steps = steps.min((MAX_WRITES_PER_TICK / writers.len().max(1)).max(1));
    let mut writes: Vec<(Site, String, String, u64, usize)> = Vec::new();
    let mut moved: Vec<(String, (u64, usize))> = Vec::new();
    for (vnf, writer) in writers {
        let (mut txn, mut pos) = w.writers.get(&vnf).copied().unwrap_or((1, 0));
        let mut vols = writer.volumes_from(w, pos);
        let mut seen = false;
        for _ in 0..steps {
            let mut next = vols.next();
            if next.is_none() {
                // Past the last volume: the next transaction, from the first.
                vols = writer.volumes_from(w, 0);
                next = vols.next();
                if next.is_some() {
                    pos = 0;
                    txn += 1;
                }
            }
            seen |= next.is_some();
            let Some((vid, true)) = next else {
                break;
            };
            writes.push((writer.site, vnf.clone(), vid.to_string(), txn, pos));
            pos += 1;
        }
        // A VNF with no volume has no writer.
        if seen || writer.volumes_from(w, 0).next().is_some() {
            moved.push((vnf, (txn, pos)));
        }
    }
    for (site, vnf, vid, txn, pos) in writes {
        if let Some(v) = w.site_mut(site).volumes.get_mut(&vid) {
            v.content.write(RECORD_BLOCK, &record(&vnf, txn, pos));
            v.content.write(
                64 + txn % 32,
                format!("log {vnf} txn {txn} pos {pos}").as_bytes(),
            );
        }
    }
    w.writers.extend(moved);
    steps
}

/// Most writes one tick does, whatever the fleet and however far behind the
/// writer is: a tick holds the world's lock, so its work must not grow with
/// the backlog. Without the bound a tick that fell behind (a loaded
/// machine) did more writes, so the next fell further behind: at 340 VNFs
/// a tick grew to millions of writes and every API call waited out its
/// client's timeout.
const MAX_WRITES_PER_TICK: usize = 2048;

/// The writer task: runs until the emulator stops.
pub async fn run(sh: Arc<Shared>, stop: tokio::sync::watch::Receiver<bool>) {
    let mut last = Instant::now();
    loop {
        if *stop.borrow() {
            return;
        }
        let interval = sh.timing().write_interval.max(Duration::from_micros(100));
        tokio::time::sleep(interval.min(Duration::from_millis(20))).await;
        let elapsed = last.elapsed();
        let steps = (elapsed.as_nanos() / interval.as_nanos().max(1)).min(u32::MAX as u128) as u32;
        let mut w = sh.lock();
        let done = if steps > 0 {
            step(&mut w, steps as usize) as u32
        } else {
            0
        };
        if done < steps {
            // Behind by more than a tick may write: the writer runs slower
            // than asked (as a VM on an overloaded host), the backlog is
            // dropped.
            last = Instant::now();
        } else {
            last += interval * steps;
        }
        // Replication runs on this tick whatever the write rate.
        crate::cinder::replication::tick(&sh, &mut w);
        crate::swift_sync::tick(&sh, &mut w);
    }
}

/// Check the workload invariant over contents (each with a label).
/// Returns (ok, detail, records).
pub fn check_invariant(items: &[(String, Content)]) -> (bool, String, Vec<Value>) {
    let mut recs = Vec::new();
    let mut by_vnf: BTreeMap<String, Vec<(usize, u64, String)>> = BTreeMap::new();
    for (label, c) in items {
        match read_record(c) {
            Some((vnf, txn, pos)) => {
                recs.push(json!({"id": label, "vnf": vnf, "txn": txn, "pos": pos}));
                by_vnf
                    .entry(vnf)
                    .or_default()
                    .push((pos, txn, label.clone()));
            }
            None => recs.push(json!({"id": label, "vnf": null, "txn": null, "pos": null})),
        }
    }
    if by_vnf.is_empty() {
        return (
            false,
            "no workload record on any of the volumes".into(),
            recs,
        );
    }
    for (vnf, mut list) in by_vnf {
        list.sort();
        let max = list.iter().map(|x| x.1).max().unwrap_or(0);
        let min = list.iter().map(|x| x.1).min().unwrap_or(0);
        if max - min > 1 {
            return (false, format!("{vnf}: transactions {min}..{max} span more than one: volumes captured at different instants"), recs);
        }
        for pair in list.windows(2) {
            if pair[1].1 > pair[0].1 {
                return (
                    false,
                    format!("{vnf}: volume {} (pos {}) has txn {} newer than volume {} (pos {}) with txn {}", pair[1].2, pair[1].0, pair[1].1, pair[0].2, pair[0].0, pair[0].1),
                    recs,
                );
            }
        }
    }
    (true, "consistent: one instant".into(), recs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::Topology;

    /// The writer as it was before it borrowed the world (session 25): the
    /// reference the new one must match write for write.
    fn reference_order(w: &World) -> BTreeMap<String, Vec<(Site, String, bool)>> {
        let mut by_vnf: BTreeMap<String, Vec<(i64, String, Site, String)>> = BTreeMap::new();
        for site in Site::ALL {
            for srv in w.site(site).servers.values() {
                let vnf = srv
                    .metadata
                    .get("vnf")
                    .and_then(|v| v.as_str())
                    .map(|v| format!("{site}:{v}"))
                    .unwrap_or_else(|| format!("{site}:server:{}", srv.id));
                let prio = srv
                    .metadata
                    .get("priority")
                    .and_then(|v| v.as_str())
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(99);
                by_vnf
                    .entry(vnf)
                    .or_default()
                    .push((prio, srv.name.clone(), site, srv.id.clone()));
            }
        }
        let mut out = BTreeMap::new();
        for (vnf, mut servers) in by_vnf {
            servers.sort();
            let mut vols = Vec::new();
            for (_, _, site, sid) in servers {
                let s = w.site(site);
                let Some(srv) = s.servers.get(&sid) else {
                    continue;
                };
                for att in &srv.attachments {
                    if s.attachment(att).is_some() {
                        vols.push((site, att.volume_id.clone(), srv.running()));
                    }
                }
            }
            out.insert(vnf, vols);
        }
        out
    }

    fn reference_step(w: &mut World, steps: usize) {
        let orders = reference_order(w);
        for (vnf, vols) in orders {
            if vols.is_empty() {
                continue;
            }
            let (mut txn, mut pos) = w.writers.get(&vnf).copied().unwrap_or((1, 0));
            for _ in 0..steps {
                if pos >= vols.len() {
                    pos = 0;
                    txn += 1;
                }
                let (site, vid, running) = &vols[pos];
                if !running {
                    break;
                }
                if let Some(v) = w.site_mut(*site).volumes.get_mut(vid) {
                    v.content.write(RECORD_BLOCK, &record(&vnf, txn, pos));
                    v.content.write(
                        64 + txn % 32,
                        format!("log {vnf} txn {txn} pos {pos}").as_bytes(),
                    );
                }
                pos += 1;
            }
            w.writers.insert(vnf, (txn, pos));
        }
    }

    type Sums = Vec<(String, String)>;
    type At = Vec<(String, (u64, usize))>;

    /// Every volume's content at both sites, and where each writer is.
    fn state(w: &World) -> (Sums, At) {
        let mut sums = Vec::new();
        for site in Site::ALL {
            for v in w.site(site).volumes.values() {
                sums.push((v.id.clone(), v.content.checksum()));
            }
        }
        let mut at: Vec<_> = w.writers.iter().map(|(k, v)| (k.clone(), *v)).collect();
        at.sort();
        (sums, at)
    }

    #[test]
    fn the_writer_writes_what_the_reference_writes() {
        let topo = Topology::generate(3, 7);
        let mut new = topo.seed();
        let mut old = topo.seed();
        // A server of no VNF writes on its own; one with no volume either
        // has no writer at all.
        for w in [&mut new, &mut old] {
            let s = w.site_mut(Site::A);
            for (n, bare) in [(4, false), (9, true)] {
                let id = s.servers.keys().nth(n).cloned().expect("a server");
                if let Some(srv) = s.servers.get_mut(&id) {
                    srv.metadata.remove("vnf");
                    if bare {
                        srv.attachments.clear();
                    }
                }
            }
        }
        let servers: Vec<String> = new.site(Site::A).servers.keys().cloned().collect();
        for (round, steps) in [1, 3, 0, 17, 1, 40, 2, 400, 5].into_iter().enumerate() {
            // Pause one server, then another, then run them again.
            let paused = &servers[(round * 5) % servers.len()];
            for w in [&mut new, &mut old] {
                for srv in w.site_mut(Site::A).servers.values_mut() {
                    srv.status = if &srv.id == paused && round % 3 != 2 {
                        "PAUSED".into()
                    } else {
                        "ACTIVE".into()
                    };
                }
            }
            let done = step(&mut new, steps);
            assert_eq!(done, steps, "a fleet this small is never held back");
            reference_step(&mut old, done);
            assert_eq!(state(&new), state(&old), "round {round}, {steps} steps");
        }
        assert!(
            new.writers.values().any(|(txn, _)| *txn > 3),
            "{:?}",
            new.writers
        );
    }

    /// A tick far behind does a bounded number of writes, whatever the fleet:
    /// it holds the world's lock while it writes.
    #[test]
    fn a_tick_far_behind_writes_a_bounded_amount() {
        let mut w = Topology::generate(40, 3).seed();
        let volumes = |w: &World, vnf: &str| {
            w.site(Site::A)
                .servers
                .values()
                .filter(|s| s.metadata.get("vnf").and_then(|v| v.as_str()) == Some(vnf))
                .map(|s| s.attachments.len())
                .sum::<usize>()
        };
        let done = step(&mut w, 10_000);
        assert_eq!(done, MAX_WRITES_PER_TICK / 40);
        let writes: usize = w
            .writers
            .iter()
            .map(|(key, (txn, pos))| {
                let vnf = key.split_once(':').map(|(_, v)| v).unwrap_or(key);
                (*txn as usize - 1) * volumes(&w, vnf) + pos
            })
            .sum();
        assert_eq!(w.writers.len(), 40);
        assert_eq!(writes, 40 * done, "every VNF wrote its share, no more");
        assert!(writes <= MAX_WRITES_PER_TICK);
    }

    #[test]
    fn writes_stop_at_paused_server_and_invariant_holds_at_an_instant() {
        let mut w = Topology::demo().seed();
        step(&mut w, 30);
        let items: Vec<(String, Content)> = w
            .site(Site::A)
            .volumes
            .values()
            .map(|v| (v.id.clone(), v.content.clone()))
            .collect();
        let (ok, detail, _) = check_invariant(&items);
        assert!(ok, "{detail}");
        // Pause the first server in order: the writer stalls there.
        let first = w
            .site(Site::A)
            .servers
            .values()
            .find(|s| s.name == "vims-db-1")
            .map(|s| s.id.clone())
            .expect("db-1");
        step(&mut w, 12 - 30 % 12);
        if let Some(s) = w.site_mut(Site::A).servers.get_mut(&first) {
            s.status = "PAUSED".into();
        }
        let sums = |w: &World| {
            w.site(Site::A)
                .volumes
                .values()
                .map(|v| v.content.checksum())
                .collect::<Vec<_>>()
        };
        let before = sums(&w);
        step(&mut w, 50);
        assert_eq!(
            before,
            sums(&w),
            "a paused first server must stall the whole VNF"
        );
        if let Some(s) = w.site_mut(Site::A).servers.get_mut(&first) {
            s.status = "ACTIVE".into();
        }
        step(&mut w, 1);
        assert_ne!(before, sums(&w));
    }

    #[test]
    fn captures_at_different_instants_break_it() {
        let mut w = Topology::demo().seed();
        step(&mut w, 5);
        let a: Vec<(String, Content)> = w
            .site(Site::A)
            .volumes
            .values()
            .map(|v| (v.id.clone(), v.content.clone()))
            .collect();
        step(&mut w, 100);
        let b: Vec<(String, Content)> = w
            .site(Site::A)
            .volumes
            .values()
            .map(|v| (v.id.clone(), v.content.clone()))
            .collect();
        let mixed: Vec<(String, Content)> = a
            .iter()
            .take(6)
            .cloned()
            .chain(b.iter().skip(6).cloned())
            .collect();
        let (ok, _, _) = check_invariant(&mixed);
        assert!(!ok);
    }
}
