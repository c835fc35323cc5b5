//! `cargo bench -p lifeboat-tests --bench makespan`: the one bench command
//! for short freezes at any size (issue 15). In one run it prints five tables
//! and a summary of the targets, each figure measured in that run:
//!
//! 1. **sizes** — the quiesce window of `option1/protect` for 6 / 30 / 60 /
//!    120 servers (db/app/lb in thirds, 20 ms per call) against its bound
//!    and against the smallest size's window;
//! 2. **makespan** — a 100-VM protect's makespan ÷ its critical-path bound
//!    (below), with default, eager and fixed-backoff waits;
//! 3. **compile** — `check` + `plan` of a generated 10,000-step runbook and
//!    of a bundled one;
//! 4. **scale** — many VNFs protected at once against the emulator (in its
//!    own process) at zero latency: steps per second, Lifeboat's peak RSS
//!    and CPU per step;
//! 5. **executor** — 100 VNFs × 100 VMs protected at once with every action
//!    answered in memory: the executor's own steps per second and peak RSS
//!    at 10,000 VMs, journal fsynced.
//!
//! `LIFEBOAT_BENCH_ONLY=sizes,compile` runs some of them;
//! `LIFEBOAT_BENCH_SIZES`, `LIFEBOAT_BENCH_SIZE_LATENCY_MS`,
//! `LIFEBOAT_BENCH_VMS`, `LIFEBOAT_BENCH_LATENCY_MS` and
//! `LIFEBOAT_BENCH_SCALE=VNFSxVMS` (default 10x100) change their sizes;
//! `LIFEBOAT_BENCH_FREEZES=N` gives the scale table's runs one freeze gate
//! of N places (as the daemon's `freezes_at_once`; default none).
//! `LIFEBOAT_BENCH_SCALE_RUNS=N` repeats the scale table's run N times
//! (default 3), each against an emulator process of its own: the summary
//! takes the median steps/s and the largest peak RSS, as one run's speed
//! moves with the machine's.
//!
//! ## The makespan table
//!
//! A 100-VM VNF (`vnf001`, db/app/lb in thirds, 200 volumes) is protected
//! with the bundled `option1/protect` on the embedded emulator, every API
//! call delayed by a fixed latency (fault profile `latency: fixed`), the
//! executor as the CLI runs it (site limits 8 per site) with
//! `Durability::Flush`.
//!
//! **The bound.** A lower bound on the makespan of *any* schedule that keeps
//! the runbook's semantics — its dependencies, the sequential ordered freeze
//! and reverse thaw, `parallel 4` of the backup loop, the per-site limit of
//! the cleanup — built from the durations the steps took in this very run:
//!
//! | phase | bound |
//! |---|---|
//! | discovery | find_servers + volumes_of + ensure_group (a chain) |
//! | quiesce scope | Σ over groups of the slowest freeze + group snapshot + Σ over groups of the slowest thaw (groups one after the other, a group's targets at once) |
//! | backup loop | max(longest iteration, Σ iterations ÷ 4); an iteration is volume_from_snapshot → backup → export (a chain) |
//! | manifest | write_manifest |
//! | cleanup | ⌈temporary volumes ÷ site limit⌉ × shortest delete + group snapshot delete |
//!
//! Durations that may include waiting for a site permit (the cleanup
//! deletes run 200 at once under a limit of 8) enter the bound only as their
//! minimum, so queueing is never counted as work. Makespan ÷ bound is the
//! executor's overhead: gaps between steps, the journal, scheduling, limits.
//! The table also shows each phase's measured span against its bound.
//!
//! The protect runs twice, each on a fresh emulator: with the actions'
//! default waits (poll after 25 ms, ×1.5 each time, at most 5 s) and with
//! eager waits (after 5 ms, ×1.25, at most 100 ms), whose step durations
//! come close to what the emulator itself takes. The summary gives the
//! executor's overhead (makespan ÷ bound, each run against its own
//! durations) and what the default waits' polling backoff costs on top
//! (default makespan ÷ eager bound).
//!

// The lifeboat binary's allocator, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use lifeboat_actions::wait::PollPolicy;
use lifeboat_actions::{OpenStackActions, SiteCloud};
use lifeboat_dsl::compiler;
use lifeboat_dsl::loader::FsLoader;
use lifeboat_emulator::{Emulator, EmulatorConfig, FaultProfile, Topology};
use lifeboat_exec::action::Actions;
use lifeboat_exec::{Durability, Event, EventKind, ExecConfig, Executor, Limits, RunOptions};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

const TARGET: f64 = 1.05;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Start/end (ms since the run started) of every step instance, and the
/// freeze/thaw spans, from the run's events.
#[derive(Default)]
struct Spans {
    steps: HashMap<String, (String, u64, u64)>,
    freezes: Vec<u64>,
    thaws: Vec<u64>,
    /// Per freeze group, in freeze order: (group, slowest freeze, slowest thaw).
    groups: Vec<(String, u64, u64)>,
    cleanups: HashMap<String, (u64, u64)>,
    cleanup_actions: HashMap<String, String>,
    scope: (u64, u64),
    end: u64,
}

fn spans(events: &[Event]) -> Spans {
    let mut s = Spans::default();
    let mut started: HashMap<String, (String, u64)> = HashMap::new();
    let mut freeze_at: HashMap<String, u64> = HashMap::new();
    let mut thaw_at: HashMap<String, u64> = HashMap::new();
    let mut clean_at: HashMap<String, u64> = HashMap::new();
    let mut first_freeze = None;
    let mut group_of: HashMap<String, String> = HashMap::new();
    for e in events {
        let t = e.at_ms;
        match &e.kind {
            EventKind::StepStarted {
                instance,
                action,
                attempt: 1,
            } => {
                started.insert(instance.clone(), (action.clone(), t));
            }
            EventKind::StepSucceeded {
                instance, action, ..
            } => {
                let st = started.get(instance).map(|x| x.1).unwrap_or(t);
                s.steps.insert(instance.clone(), (action.clone(), st, t));
            }
            EventKind::FreezeStarted { target, group, .. } => {
                first_freeze.get_or_insert(t);
                freeze_at.insert(target.clone(), t);
                group_of.insert(target.clone(), group.clone());
                if s.groups.last().map(|g| &g.0) != Some(group) {
                    s.groups.push((group.clone(), 0, 0));
                }
            }
            EventKind::Frozen { target, .. } => {
                let d = t - freeze_at.get(target).copied().unwrap_or(t);
                s.freezes.push(d);
                if let Some(g) = s
                    .groups
                    .iter_mut()
                    .find(|g| Some(&g.0) == group_of.get(target))
                {
                    g.1 = g.1.max(d);
                }
            }
            EventKind::ThawStarted { target, .. } => {
                thaw_at.insert(target.clone(), t);
            }
            EventKind::Thawed { target, .. } => {
                let d = t - thaw_at.get(target).copied().unwrap_or(t);
                s.thaws.push(d);
                if let Some(g) = s
                    .groups
                    .iter_mut()
                    .find(|g| Some(&g.0) == group_of.get(target))
                {
                    g.2 = g.2.max(d);
                }
                s.scope = (first_freeze.unwrap_or(t), t);
            }
            EventKind::CleanupStarted { instance, action } => {
                clean_at.insert(instance.clone(), t);
                s.cleanup_actions.insert(instance.clone(), action.clone());
            }
            EventKind::CleanedUp { instance } => {
                s.cleanups.insert(
                    instance.clone(),
                    (clean_at.get(instance).copied().unwrap_or(t), t),
                );
            }
            EventKind::RunFinished { duration_ms, .. } => s.end = *duration_ms,
            _ => {}
        }
    }
    s
}

struct Row {
    phase: &'static str,
    measured: u64,
    bound: u64,
}

struct Measured {
    rows: Vec<Row>,
    makespan: u64,
    bound: u64,
    steps: usize,
    volumes: usize,
    freeze_mean: f64,
    thaw_mean: f64,
    iter_mean: f64,
    wall: f64,
    /// Requests sent to both sites (each retry counts).
    requests: u64,
    /// The quiesce bound's parts: Σ slowest freezes, the snapshot, Σ
    /// slowest thaws (ms).
    scope_parts: (u64, u64, u64),
}

/// One protect of the 100-VM VNF on a fresh emulator, with the actions'
/// waits polling per `poll`.
async fn run_once(vms: usize, latency: u64, poll: PollPolicy) -> Measured {
    let mut config = EmulatorConfig::fast();
    config.topology = Topology::generate(1, vms);
    config.faults = FaultProfile::fixed_latency(latency);
    let emu = Emulator::start(config).await.expect("emulator starts");
    let dir = tempfile::tempdir().expect("tempdir");
    emu.write_clouds_yaml(&dir.path().join("clouds.yaml"))
        .expect("clouds.yaml");
    let loader =
        lifeboat_openstack::ConfigLoader::new(BTreeMap::new(), vec![dir.path().to_path_buf()]);
    let acts = OpenStackActions::from_clouds(
        &loader,
        &[
            SiteCloud::new("site-a", "emulator"),
            SiteCloud::new("site-b", "emulator"),
        ],
    )
    .expect("actions")
    .with_poll_policy(poll);
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows/option1/protect.dr");
    let c = compiler::compile(&path.to_string_lossy(), &FsLoader).expect("protect.dr readable");
    assert!(!c.has_errors(), "{:?}", c.diagnostics.list);
    let plan = c.plan(None).expect("one runbook").clone();
    let limits = Limits::default();
    let site_limit = limits.limit_for("site-a") as u64;
    let acts = Arc::new(acts);
    let exec = Executor::new(acts.clone() as Arc<dyn Actions>).with_config(ExecConfig {
        durability: Durability::Flush,
        limits,
        ..ExecConfig::default()
    });
    let (tx, mut rx) = lifeboat_exec::event::channel();
    let mut opts = RunOptions::new(dir.path().join("run"));
    opts.events = Some(tx);
    let params = json!({"vnf": "vnf001"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let wall = std::time::Instant::now();
    let result = exec.run(&plan, params, opts).await.expect("run starts");
    let wall = wall.elapsed();
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    let requests = acts.pressure().iter().map(|p| p.requests).sum();
    emu.shutdown().await;
    assert!(
        result.outcome.is_success(),
        "protect failed: {:?}",
        result.outcome
    );
    let s = spans(&events);
    let one = |name: &str| -> (u64, u64, u64) {
        let (_, a, b) = s
            .steps
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no step {name}"));
        (a, b, b - a)
    };
    let (d0, _, find) = one("servers");
    let (_, _, vols) = one("volumes");
    let (_, d1, grp) = one("grp");
    let (_, _, snap) = one("snap");
    let (m0, m1, manifest) = s
        .steps
        .values()
        .find(|v| v.0 == "lifeboat.write_manifest")
        .map(|v| (v.1, v.2, v.2 - v.1))
        .expect("manifest step");
    // The loop: iteration i = tmp[i] → b[i] → rec[i].
    let n = s.steps.keys().filter(|k| k.starts_with("tmp[")).count();
    let mut iters = Vec::new();
    let (mut l0, mut l1) = (u64::MAX, 0);
    for i in 0..n {
        let (a, _, d_tmp) = one(&format!("tmp[{i}]"));
        let (_, _, d_b) = one(&format!("b[{i}]"));
        let (_, z, d_rec) = one(&format!("rec[{i}]"));
        iters.push(d_tmp + d_b + d_rec);
        l0 = l0.min(a);
        l1 = l1.max(z);
    }
    let parallel = 4u64;
    let loop_bound =
        (*iters.iter().max().unwrap_or(&0)).max(iters.iter().sum::<u64>().div_ceil(parallel));
    // The groups are frozen one after the other, a group's targets at once:
    // Σ over groups of the slowest freeze + the snapshot + Σ of the slowest thaws.
    let scope_bound = s.groups.iter().map(|g| g.1).sum::<u64>()
        + snap
        + s.groups.iter().map(|g| g.2).sum::<u64>();
    // Cleanup: the temporary volumes' deletes (one group, under the site
    // limit), then the group snapshot's.
    let deletes: Vec<u64> = s
        .cleanups
        .iter()
        .filter(|(k, _)| k.starts_with("tmp["))
        .map(|(_, (a, b))| b - a)
        .collect();
    let gs: u64 = s
        .cleanups
        .iter()
        .filter(|(k, _)| !k.starts_with("tmp["))
        .map(|(_, (a, b))| b - a)
        .sum();
    let cleanup_bound = (deletes.len() as u64).div_ceil(site_limit)
        * deletes.iter().copied().min().unwrap_or(0)
        + gs;
    let (c0, c1) = s
        .cleanups
        .values()
        .fold((u64::MAX, 0), |(a, b), (x, y)| (a.min(*x), b.max(*y)));
    let rows = vec![
        Row {
            phase: "discovery (find, volumes_of, ensure_group)",
            measured: d1 - d0,
            bound: find + vols + grp,
        },
        Row {
            phase: "quiesce scope (freeze ×N, snapshot, thaw ×N)",
            measured: s.scope.1 - s.scope.0,
            bound: scope_bound,
        },
        Row {
            phase: "backup loop (parallel 4)",
            measured: l1 - l0,
            bound: loop_bound,
        },
        Row {
            phase: "manifest",
            measured: m1 - m0,
            bound: manifest,
        },
        Row {
            phase: "cleanup (site limit)",
            measured: c1.saturating_sub(c0),
            bound: cleanup_bound,
        },
    ];
    let bound: u64 = rows.iter().map(|r| r.bound).sum();
    let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len().max(1) as f64;
    Measured {
        makespan: s.end,
        bound,
        steps: s.steps.len(),
        volumes: n,
        freeze_mean: mean(&s.freezes),
        thaw_mean: mean(&s.thaws),
        iter_mean: mean(&iters),
        wall: wall.as_secs_f64(),
        requests,
        scope_parts: (
            s.groups.iter().map(|g| g.1).sum::<u64>(),
            snap,
            s.groups.iter().map(|g| g.2).sum::<u64>(),
        ),
        rows,
    }
}

fn print_table(title: &str, m: &Measured) {
    println!();
    println!("{title}");
    println!();
    println!("| phase | measured ms | bound ms | ratio |");
    println!("|---|---:|---:|---:|");
    for r in &m.rows {
        println!(
            "| {} | {} | {} | {:.3} |",
            r.phase,
            r.measured,
            r.bound,
            r.measured as f64 / r.bound.max(1) as f64
        );
    }
    let gaps = m
        .makespan
        .saturating_sub(m.rows.iter().map(|r| r.measured).sum());
    println!("| between phases (start, hand-offs, journal) | {gaps} | 0 | — |");
    println!(
        "| **whole run** | **{}** | **{}** | **{:.3}** |",
        m.makespan,
        m.bound,
        m.makespan as f64 / m.bound.max(1) as f64
    );
    println!();
    println!(
        "{} steps · freeze mean {:.0} ms · thaw mean {:.0} ms · backup iteration mean {:.0} ms · wall {:.1} s",
        m.steps, m.freeze_mean, m.thaw_mean, m.iter_mean, m.wall
    );
}

/// The quiesce window (first freeze → last thaw) of a protect per VNF size
/// (`LIFEBOAT_BENCH_SIZES`), with the default waits, against its bound and
/// against the smallest size's window, in one table. Returns (servers,
/// window ms, bound ms) per size.
fn sizes_table(
    rt: &tokio::runtime::Runtime,
    sizes: &[usize],
    latency: u64,
) -> Vec<(usize, u64, u64)> {
    let mut rows = Vec::new();
    for &vms in sizes {
        let m = rt.block_on(run_once(vms, latency, PollPolicy::default()));
        let q = m
            .rows
            .iter()
            .find(|r| r.phase.starts_with("quiesce scope"))
            .map(|r| (r.measured, r.bound))
            .expect("a quiesce row");
        rows.push((vms, q.0, q.1, m.makespan, m.scope_parts));
    }
    let first = rows.first().map(|r| r.1.max(1)).unwrap_or(1) as f64;
    println!();
    println!("quiesce window by VNF size — option1/protect (bundled, `within 30s`), db/app/lb in thirds, fixed latency {latency} ms per call, default waits");
    println!();
    println!("| servers | quiesce window ms | bound ms (Σ freezes + snapshot + Σ thaws) | window ÷ bound | window ÷ {}-server window | protect makespan ms |", sizes[0]);
    println!("|---:|---:|---:|---:|---:|---:|");
    let mut out = Vec::new();
    for (vms, w, b, mk, (f, sn, t)) in rows {
        println!(
            "| {vms} | {w} | {b} ({f} + {sn} + {t}) | {:.3} | {:.2} | {mk} |",
            w as f64 / b.max(1) as f64,
            w as f64 / first
        );
        out.push((vms, w, b));
    }
    out
}

// ---------------------------------------------------------------- compile

/// A runbook of `steps` action steps: chains of reads, loops with cleanups,
/// quiesce scopes, an approval and guarded destroys.
fn generate(steps: usize) -> String {
    let mut s = String::from("runbook big \"generated\" {\n  param vnf: string\n  param from: site = \"site-a\"\n  approve \"go\"\n");
    let mut n = 0;
    let mut i = 0;
    while n < steps {
        let _ = writeln!(
            s,
            "  s{i} = nova.find_servers(site: from, tag: \"{{vnf}}-{i}\") retry 2 timeout 1m"
        );
        let _ = writeln!(s, "  v{i} = cinder.volumes_of(s{i})");
        let _ = writeln!(
            s,
            "  quiesce s{i} by role in [\"db\", \"app\"] via pause within 30s {{"
        );
        let _ = writeln!(
            s,
            "    g{i} = cinder.ensure_group(site: from, name: \"lb-{i}\", volumes: v{i})"
        );
        let _ = writeln!(s, "  }}");
        let _ = writeln!(s, "  for x{i} in s{i} parallel 4 {{");
        let _ = writeln!(s, "    img{i} = nova.create_image(x{i}, name: \"lb-{{vnf}}-{{run.id}}-{i}\") cleanup glance.delete_image(img{i})");
        let _ = writeln!(
            s,
            "    snaps{i} = glance.image_snapshots(img{i}) when x{i}.role != \"lb\""
        );
        let _ = writeln!(s, "    gone{i} = nova.delete_server(x{i}) after snaps{i}");
        let _ = writeln!(s, "  }}");
        n += 6;
        i += 1;
    }
    s.push_str("}\n");
    s
}

/// `check` + `plan` of a generated 10,000-step runbook (parse, analyse,
/// lower, build the graph, render it as text) and of the bundled
/// `option1/protect`: the median of `n` runs each, in ms.
fn compile_times(n: usize) -> (usize, f64, f64) {
    let median = |f: &dyn Fn() -> usize| {
        median_ms(
            (0..n)
                .map(|_| {
                    let start = std::time::Instant::now();
                    std::hint::black_box(f());
                    start.elapsed().as_secs_f64() * 1000.0
                })
                .collect(),
        )
    };
    let big = generate(10_000);
    let steps = compiler::compile_text("big.dr", &big, &FsLoader).plans[0]
        .action_steps()
        .count();
    let protect_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows/option1/protect.dr");
    let protect = std::fs::read_to_string(&protect_path).expect("protect.dr");
    let p = protect_path.to_string_lossy().to_string();
    (
        steps,
        median(&|| check_plan("big.dr", &big)),
        median(&|| check_plan(&p, &protect)),
    )
}

/// `check` + `plan` of one runbook's text: compile, build the graph, render
/// it as text; the text's length.
fn check_plan(path: &str, text: &str) -> usize {
    use lifeboat_dsl::graph::PlanGraph;
    use lifeboat_dsl::render::{self, Format};
    let c = compiler::compile_text(path, text, &FsLoader);
    assert!(!c.has_errors(), "{:?}", c.diagnostics.list.first());
    let g = PlanGraph::build(&c.plans[0]);
    render::render(&g, Format::Text).len()
}

/// The median of some times.
fn median_ms(mut t: Vec<f64>) -> f64 {
    t.sort_by(|a, b| a.total_cmp(b));
    t[t.len() / 2]
}

/// Set in a copy of this bench that compiles the generated runbook once
/// and prints the milliseconds: a fresh process, as `lifeboat check` runs,
/// whose every page of heap is touched for the first time.
const COMPILE_ONCE: &str = "LIFEBOAT_BENCH_COMPILE_ONCE";

fn compile_once() {
    let big = generate(10_000);
    let start = std::time::Instant::now();
    std::hint::black_box(check_plan("big.dr", &big));
    println!("{}", start.elapsed().as_secs_f64() * 1000.0);
}

/// The medians of `n` fresh processes' [`compile_once`], in ms: free to
/// use every core, and held to one (`taskset -c 0`: the parser then reads
/// the file on one thread; `None` where `taskset` cannot run). The two
/// kinds take turns, so that both see the machine as it is at the time.
fn compile_cold(n: usize) -> (f64, Option<f64>) {
    let exe = std::env::current_exe().expect("this bench");
    let once = |one_core: bool| -> Option<f64> {
        let mut cmd = if one_core {
            let mut c = std::process::Command::new("taskset");
            c.args(["-c", "0"]).arg(&exe);
            c
        } else {
            std::process::Command::new(&exe)
        };
        let out = match cmd.env(COMPILE_ONCE, "1").output() {
            Ok(o) => o,
            Err(_) if one_core => return None,
            Err(e) => panic!("a copy of the bench: {e}"),
        };
        match String::from_utf8_lossy(&out.stdout).trim().parse::<f64>() {
            Ok(ms) => Some(ms),
            Err(_) if one_core => None,
            Err(_) => panic!("compile once: {}", String::from_utf8_lossy(&out.stderr)),
        }
    };
    let (mut every, mut one) = (Vec::with_capacity(n), Some(Vec::with_capacity(n)));
    for _ in 0..n {
        every.push(once(false).expect("a fresh process"));
        if let Some(v) = one.as_mut() {
            match once(true) {
                Some(ms) => v.push(ms),
                None => one = None,
            }
        }
    }
    (median_ms(every), one.map(median_ms))
}

// ---------------------------------------------------------------- scale

/// A cloud that answers every call of `option1/protect` at once, in memory:
/// what is left is the executor's own cost per step (scheduling, the
/// journal with `Durability::Fsync`, events). Servers `vms` per VNF, db/app/lb
/// in thirds, two volumes each.
struct InstantCloud {
    vms: usize,
}

#[async_trait::async_trait]
impl Actions for InstantCloud {
    async fn run(
        &self,
        call: &lifeboat_exec::action::ActionCall,
    ) -> Result<lifeboat_exec::action::ActionOutput, lifeboat_exec::action::ActionError> {
        let site = call.site.clone().unwrap_or_else(|| "site-a".into());
        let arg = |k: &str| call.args.get(k).cloned().unwrap_or(serde_json::Value::Null);
        let value = match call.action.as_str() {
            "nova.find_servers" => {
                let vnf = arg("tag");
                let vnf = vnf.as_str().unwrap_or("vnf");
                serde_json::Value::Array(
                    (0..self.vms)
                        .map(|i| {
                            let role = ["db", "app", "lb"][i * 3 / self.vms.max(1)];
                            json!({"id": format!("{vnf}-s{i}"), "name": format!("{vnf}-{role}-{i}"),
                                   "role": role, "site": site, "status": "ACTIVE"})
                        })
                        .collect(),
                )
            }
            "cinder.volumes_of" => {
                let servers = arg("servers");
                let servers = servers.as_array().cloned().unwrap_or_default();
                serde_json::Value::Array(
                    servers
                        .iter()
                        .flat_map(|s| {
                            let id = s["id"].as_str().unwrap_or("s").to_string();
                            (0..2).map(move |d| {
                                json!({"id": format!("{id}-v{d}"), "name": format!("{id}-v{d}"),
                                       "site": "site-a", "server_id": id, "size_gb": 10})
                            })
                        })
                        .collect(),
                )
            }
            "cinder.ensure_group" => json!({"id": call.tag, "name": call.tag, "site": site}),
            "cinder.create_group_snapshot" => {
                let n = self.vms * 2;
                json!({"id": call.tag, "site": site, "created_at": "2026-12-02T00:00:00Z",
                       "snapshots": (0..n).map(|i| json!({"id": format!("{}-{i}", call.tag),
                           "site": site, "volume_id": format!("v{i}"), "origin": format!("v{i}")}))
                           .collect::<Vec<_>>()})
            }
            "nova.pause" | "nova.unpause" => arg("server"),
            _ => json!({"id": call.tag, "site": site}),
        };
        Ok(lifeboat_exec::action::ActionOutput::new(value))
    }

    async fn find_created(
        &self,
        _call: &lifeboat_exec::action::ActionCall,
    ) -> Result<Option<lifeboat_exec::action::ActionOutput>, lifeboat_exec::action::ActionError>
    {
        Ok(None)
    }
}

/// Counts the steps a run finished (actions, freezes, thaws, cleanups) as
/// its events arrive, so that no event queues up in memory.
fn count_steps(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut steps = 0u64;
        while let Some(e) = rx.recv().await {
            if matches!(
                e.kind,
                EventKind::StepSucceeded { .. }
                    | EventKind::Frozen { .. }
                    | EventKind::Thawed { .. }
                    | EventKind::CleanedUp { .. }
            ) {
                steps += 1;
            }
        }
        steps
    })
}

/// `vnfs` runs of `option1/protect` at once against [`InstantCloud`], one
/// executor each as the daemon's jobs run them: the executor's throughput
/// and the process's peak RSS.
async fn scale_executor(vnfs: usize, vms: usize) -> Scale {
    let dir = tempfile::tempdir().expect("tempdir");
    protect_all(dir.path(), vnfs, vms, None, || {
        Arc::new(InstantCloud { vms }) as Arc<dyn Actions>
    })
    .await
}

/// `vnfs` runs of the bundled `option1/protect` at once (VNFs `vnf001`…),
/// one executor each with the actions `actions()` makes, run directories
/// under `dir`, sharing `gate` if any: steps, journal records, wall time,
/// and this process's peak RSS and CPU over the runs.
async fn protect_all(
    dir: &std::path::Path,
    vnfs: usize,
    vms: usize,
    gate: Option<lifeboat_exec::FreezeGate>,
    actions: impl Fn() -> Arc<dyn Actions>,
) -> Scale {
    let cpu_before = cpu_seconds("self");
    // The peak RSS from here on: sections before may have run emulators in
    // this process (writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows/option1/protect.dr");
    let c = compiler::compile(&path.to_string_lossy(), &FsLoader).expect("protect.dr readable");
    let plan = Arc::new(c.plan(None).expect("one runbook").clone());
    let wall = std::time::Instant::now();
    let mut runs = Vec::new();
    for v in 1..=vnfs {
        let exec = Executor::new(actions()).with_config(ExecConfig {
            freeze_gate: gate.clone(),
            ..ExecConfig::default()
        });
        let plan = plan.clone();
        let run_dir = dir.join(format!("run-{v:03}"));
        runs.push(tokio::spawn(async move {
            let (tx, rx) = lifeboat_exec::event::channel();
            let counter = count_steps(rx);
            let mut opts = RunOptions::new(run_dir.clone());
            opts.events = Some(tx);
            let params = json!({"vnf": format!("vnf{v:03}")})
                .as_object()
                .cloned()
                .unwrap_or_default();
            let result = exec.run(&plan, params, opts).await.expect("run starts");
            let steps = counter.await.unwrap_or(0);
            let records = std::fs::read_to_string(run_dir.join("journal.jsonl"))
                .map(|j| j.lines().count() as u64)
                .unwrap_or(0);
            if !result.outcome.is_success() {
                eprintln!("vnf{v:03}: {:?}", result.outcome);
            }
            (result.outcome.is_success(), steps, records)
        }));
    }
    let mut out = Scale {
        vnfs,
        vms,
        runs_ok: 0,
        steps: 0,
        wall: 0.0,
        peak_rss_mb: 0.0,
        journal_records: 0,
        cpu_lifeboat: 0.0,
        cpu_emulator: 0.0,
        requests: None,
    };
    for r in runs {
        let (ok, steps, records) = r.await.expect("run task");
        out.runs_ok += ok as usize;
        out.steps += steps;
        out.journal_records += records;
    }
    out.wall = wall.elapsed().as_secs_f64();
    out.peak_rss_mb = peak_rss_mb();
    out.cpu_lifeboat = cpu_seconds("self") - cpu_before;
    out
}

/// Scale runs as a table, a row each; `emulator`: with the emulator
/// process's CPU.
fn scale_table(runs: &[Scale], emulator: bool) {
    let (head, rule) = if emulator {
        (
            " Lifeboat CPU s | emulator CPU s | requests ÷ steps |",
            "---:|---:|---:|",
        )
    } else {
        (" CPU s |", "---:|")
    };
    println!("| runs ok | steps (incl. freezes, thaws, cleanups) | wall s | steps/s | peak RSS MiB (Lifeboat) |{head} CPU µs/step (Lifeboat) | journal records |");
    println!("|---:|---:|---:|---:|---:|{rule}---:|---:|");
    for sc in runs {
        let cell = if emulator {
            let per_step = sc.requests.map_or("?".to_string(), |n| {
                format!("{:.2}", n as f64 / sc.steps.max(1) as f64)
            });
            format!(
                " {:.1} | {:.1} | {per_step} |",
                sc.cpu_lifeboat, sc.cpu_emulator
            )
        } else {
            format!(" {:.1} |", sc.cpu_lifeboat)
        };
        println!(
            "| {}/{} | {} | {:.1} | {:.0} | {:.0} |{cell} {:.0} | {} |",
            sc.runs_ok,
            sc.vnfs,
            sc.steps,
            sc.wall,
            sc.rate(),
            sc.peak_rss_mb,
            sc.cpu_lifeboat * 1e6 / sc.steps.max(1) as f64,
            sc.journal_records
        );
    }
}

/// The targets of a scale table (issue 15: at least 5,000 steps/s, peak
/// RSS under 500 MiB at 10,000 VMs), each repetition's every protect
/// succeeding: the median steps/s (one run's speed moves with the
/// machine's), the largest peak.
fn scale_summary(runs: &[Scale], what: &str, summary: &mut Vec<(String, String, String, bool)>) {
    let Some(first) = runs.first() else { return };
    let vms = first.vnfs * first.vms;
    let all_ok = runs.iter().all(|r| r.runs_ok == r.vnfs);
    let mut rates: Vec<f64> = runs.iter().map(Scale::rate).collect();
    rates.sort_by(f64::total_cmp);
    // With an even count, the mean of the two middle runs: the upper
    // one alone would flatter the figure.
    let mid = rates.len() / 2;
    let median = if rates.len() % 2 == 1 {
        rates[mid]
    } else {
        (rates[mid - 1] + rates[mid]) / 2.0
    };
    let peak = runs.iter().map(|r| r.peak_rss_mb).fold(0.0, f64::max);
    let measured = if runs.len() > 1 {
        format!(
            "{median:.0} (median of {}: {:.0}–{:.0})",
            runs.len(),
            rates[0],
            rates[rates.len() - 1]
        )
    } else {
        format!("{median:.0}")
    };
    let failed = if all_ok { "" } else { " (protects failed)" };
    summary.push((
        format!("{what}steps/s at {vms} VMs{failed}"),
        measured,
        "≥ 5000 at 10,000 VMs".into(),
        all_ok && median >= 5000.0 && vms >= 10_000,
    ));
    summary.push((
        format!("{what}peak RSS at {vms} VMs (MiB)"),
        format!("{peak:.0}"),
        "< 500 at 10,000 VMs".into(),
        peak < 500.0 && vms >= 10_000,
    ));
}

/// What the scale run measured.
struct Scale {
    vnfs: usize,
    vms: usize,
    runs_ok: usize,
    steps: u64,
    wall: f64,
    peak_rss_mb: f64,
    journal_records: u64,
    /// CPU seconds (user + system) of this process and of the emulator's.
    cpu_lifeboat: f64,
    cpu_emulator: f64,
    /// Requests the emulator answered (both sites), when it could say.
    requests: Option<u64>,
}

impl Scale {
    fn rate(&self) -> f64 {
        self.steps as f64 / self.wall.max(1e-9)
    }
}

/// User + system CPU seconds of a process, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after `)`.
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) / hz
}

/// The environment variable that makes this bench serve the emulator of a
/// scale run instead (`DIR:VNFS:VMS`): clouds.yaml into DIR, `ready` on
/// stdout, until stdin closes.
const SERVE_EMULATOR: &str = "LIFEBOAT_BENCH_SERVE_EMULATOR";

/// The emulator of a scale run, in a process of its own so that the peak
/// RSS and CPU of Lifeboat are measured apart from it. Every call answered
/// at once, transitions of 1 ms; the VNFs' simulated disk writes at one
/// transaction a second (their consistency is not what this run measures).
fn serve_emulator(spec: &str) {
    let mut parts = spec.rsplitn(3, ':');
    let vms: usize = parts.next().and_then(|x| x.parse().ok()).expect("VMS");
    let vnfs: usize = parts.next().and_then(|x| x.parse().ok()).expect("VNFS");
    let dir = std::path::PathBuf::from(parts.next().expect("DIR"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut config = EmulatorConfig::fast();
        config.timing.transition = Duration::from_millis(1);
        config.timing.write_interval = Duration::from_secs(1);
        config.topology = Topology::generate(vnfs, vms);
        let emu = Emulator::start(config).await.expect("emulator starts");
        emu.write_clouds_yaml(&dir.join("clouds.yaml"))
            .expect("clouds.yaml");
        println!("ready");
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
        })
        .await;
        // How many requests the sites answered (the request log numbers
        // every one from 1, also those its window has dropped).
        let url = format!(
            "{}/_emulator/requests?since=18446744073709551615",
            emu.admin_url()
        );
        let answered = match reqwest::get(&url).await {
            Ok(r) => r.json::<serde_json::Value>().await.ok(),
            Err(_) => None,
        }
        .and_then(|v| v["last_seq"].as_u64());
        if let Some(n) = answered {
            println!("requests {n}");
        }
        // What was asked, by call (the log keeps the last 4,096 requests
        // per site: a 1 × 60 run fits whole), to find requests to spare.
        if std::env::var_os("LIFEBOAT_BENCH_MIX").is_some() {
            let url = format!("{}/_emulator/requests", emu.admin_url());
            if let Ok(r) = reqwest::get(&url).await {
                if let Ok(v) = r.json::<serde_json::Value>().await {
                    let mut mix: BTreeMap<String, usize> = BTreeMap::new();
                    for e in v["requests"].as_array().into_iter().flatten() {
                        let path: Vec<String> = e["path"]
                            .as_str()
                            .unwrap_or("")
                            .split('/')
                            .map(|seg| {
                                if seg.len() >= 20 && seg.chars().any(|c| c.is_ascii_digit()) {
                                    "{id}".to_string()
                                } else {
                                    seg.to_string()
                                }
                            })
                            .collect();
                        let k = format!(
                            "{} {} {} {} {}",
                            e["site"].as_str().unwrap_or(""),
                            e["method"].as_str().unwrap_or(""),
                            path.join("/"),
                            e["action"].as_str().unwrap_or(""),
                            e["status"]
                        );
                        *mix.entry(k).or_default() += 1;
                    }
                    let mut mix: Vec<_> = mix.into_iter().collect();
                    mix.sort_by_key(|m| std::cmp::Reverse(m.1));
                    eprintln!("\nrequest mix (site, method, path, action, status); dropped from the log: {}\n", v["dropped"]);
                    eprintln!("| requests | call |\n|---:|---|");
                    for (k, n) in mix {
                        eprintln!("| {n} | {k} |");
                    }
                }
            }
        }
        emu.shutdown().await;
    });
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// `vnfs` VNFs of `vms` servers at site-a, every call answered at once
/// (no latency, transitions of 1 ms), each protected by the bundled
/// `option1/protect` at the same time, as the daemon's jobs run them: one
/// executor and one set of clients per run (their connections pooled, as the
/// daemon pools them), `Durability::Fsync`.
async fn scale(vnfs: usize, vms: usize, gate: Option<lifeboat_exec::FreezeGate>) -> Scale {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut emulator = std::process::Command::new(std::env::current_exe().expect("this bench"))
        .env(
            SERVE_EMULATOR,
            format!("{}:{vnfs}:{vms}", dir.path().display()),
        )
        // The emulator stands in for a cloud that runs on other machines;
        // here it shares the two cores with Lifeboat, so its allocator keeps
        // the memory it frees instead of handing it back to the kernel and
        // faulting it in again (zeroed) moments later: 49,000 page faults a
        // run without this, 2,300 with it.
        .env("MIMALLOC_PURGE_DELAY", "-1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the emulator process starts");
    let mut emulator_out = std::io::BufReader::new(emulator.stdout.take().expect("piped"));
    {
        use std::io::BufRead;
        let mut line = String::new();
        emulator_out
            .read_line(&mut line)
            .expect("the emulator says ready");
        assert_eq!(line.trim(), "ready", "emulator: {line}");
    }
    let clouds = dir.path().to_path_buf();
    // As the daemon's runs: clients of their own, connections pooled.
    let connections = lifeboat_openstack::Connections::new();
    let mut out = protect_all(dir.path(), vnfs, vms, gate, || {
        let loader = lifeboat_openstack::ConfigLoader::new(BTreeMap::new(), vec![clouds.clone()]);
        let acts = OpenStackActions::from_clouds_sharing(
            &loader,
            &[
                SiteCloud::new("site-a", "emulator"),
                SiteCloud::new("site-b", "emulator"),
            ],
            &connections,
        )
        .expect("actions");
        Arc::new(acts) as Arc<dyn Actions>
    })
    .await;
    out.cpu_emulator = cpu_seconds(&emulator.id().to_string());
    drop(emulator.stdin.take());
    let mut said = String::new();
    let _ = std::io::Read::read_to_string(&mut emulator_out, &mut said);
    out.requests = said
        .lines()
        .find_map(|l| l.strip_prefix("requests ")?.trim().parse().ok());
    let _ = emulator.wait();
    out
}

fn main() {
    // Each process as the lifeboat command it stands for: the emulator and
    // the runs without transparent huge pages, a compile with them.
    use lifeboat_daemon::memory::transparent_huge_pages;
    if let Ok(spec) = std::env::var(SERVE_EMULATOR) {
        transparent_huge_pages(false);
        serve_emulator(&spec);
        return;
    }
    if std::env::var_os(COMPILE_ONCE).is_some() {
        transparent_huge_pages(true);
        compile_once();
        return;
    }
    transparent_huge_pages(false);
    let vms = env_num("LIFEBOAT_BENCH_VMS", 100) as usize;
    let latency = env_num("LIFEBOAT_BENCH_LATENCY_MS", 10);
    let size_latency = env_num("LIFEBOAT_BENCH_SIZE_LATENCY_MS", 20);
    let only = std::env::var("LIFEBOAT_BENCH_ONLY").unwrap_or_default();
    let wants = |part: &str| only.is_empty() || only.split(',').any(|o| o.trim() == part);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sizes: Vec<usize> = std::env::var("LIFEBOAT_BENCH_SIZES")
        .unwrap_or_else(|_| "6,30,60,120".into())
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    let (scale_vnfs, scale_vms) = std::env::var("LIFEBOAT_BENCH_SCALE")
        .ok()
        .and_then(|s| {
            let (a, b) = s.split_once('x')?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        })
        .unwrap_or((10, 100));
    // (figure, measured, target, met)
    let mut summary: Vec<(String, String, String, bool)> = Vec::new();

    if wants("sizes") && !sizes.is_empty() {
        let rows = sizes_table(&rt, &sizes, size_latency);
        let first = rows[0].1.max(1) as f64;
        for &(n, w, _) in &rows[1..] {
            if n == 60 {
                summary.push((
                    format!("quiesce window, 60 ÷ {} servers", rows[0].0),
                    format!("{:.2}", w as f64 / first),
                    "≤ 1.50".into(),
                    w as f64 / first <= 1.5,
                ));
            }
        }
        for &(n, w, b) in &rows {
            if n == 60 {
                summary.push((
                    "quiesce window ÷ its bound, 60 servers".into(),
                    format!("{:.3}", w as f64 / b.max(1) as f64),
                    "≤ 1.10".into(),
                    w as f64 / b.max(1) as f64 <= 1.10,
                ));
            }
            if n == 120 {
                summary.push((
                    "quiesce window, 120 servers (ms)".into(),
                    format!("{w}"),
                    "< 30000 (the watchdog)".into(),
                    w < 30_000,
                ));
            }
        }
    }

    if wants("makespan") {
        let default = PollPolicy::default();
        // A poller that looks again almost at once: its step durations are close
        // to what the emulator itself takes (latency + transitions).
        let eager = PollPolicy {
            first: Duration::from_millis(5),
            max: Duration::from_millis(100),
            factor: 1.25,
            learn: false,
        };
        // The default backoff without learning (the waits before they learned).
        let fixed = PollPolicy {
            learn: false,
            ..default
        };
        let (d, e, f) = rt.block_on(async {
            (
                run_once(vms, latency, default).await,
                run_once(vms, latency, eager).await,
                run_once(vms, latency, fixed).await,
            )
        });
        println!();
        println!("makespan ÷ critical-path bound — option1/protect, {vms} VMs ({} volumes), fixed latency {latency} ms per call,", d.volumes);
        println!(
            "emulator transitions {:?}, site limit {}, Durability::Flush",
            EmulatorConfig::fast().timing.transition,
            Limits::default().default_per_site
        );
        let pname = |p: &PollPolicy| {
            format!(
                "waits poll after {:?}, ×{} each time, at most {:?}{}",
                p.first,
                p.factor,
                p.max,
                if p.learn {
                    ", learning when to look"
                } else {
                    ""
                }
            )
        };
        print_table(
            &format!("Run 1 — the default waits ({})", pname(&default)),
            &d,
        );
        print_table(&format!("Run 2 — eager waits ({})", pname(&eager)), &e);
        print_table(
            &format!("Run 3 — fixed backoff, no learning ({})", pname(&fixed)),
            &f,
        );
        let ratio = d.makespan as f64 / d.bound.max(1) as f64;
        let with_polling = d.makespan as f64 / e.bound.max(1) as f64;
        let extra_requests = d.requests as f64 / e.requests.max(1) as f64;
        println!();
        println!("| figure | value |");
        println!("|---|---:|");
        println!("| makespan ÷ bound, default waits (the executor's overhead) | {ratio:.3} |");
        println!(
            "| makespan ÷ bound, eager waits | {:.3} |",
            e.makespan as f64 / e.bound.max(1) as f64
        );
        println!("| default makespan ÷ eager bound (overhead incl. the waits' polling) | {with_polling:.3} |");
        println!(
            "| default makespan ÷ eager makespan (what the polling backoff costs) | {:.3} |",
            d.makespan as f64 / e.makespan.max(1) as f64
        );
        println!(
            "| fixed-backoff makespan ÷ eager bound (the waits before they learned) | {:.3} |",
            f.makespan as f64 / e.bound.max(1) as f64
        );
        println!(
            "| requests: default {} · eager {} · fixed backoff {} — default ÷ fixed | {:.3} |",
            d.requests,
            e.requests,
            f.requests,
            d.requests as f64 / f.requests.max(1) as f64
        );
        summary.push((
            "makespan ÷ bound (executor)".into(),
            format!("{ratio:.3}"),
            format!("≤ {TARGET}"),
            ratio <= TARGET,
        ));
        summary.push((
            "default makespan ÷ eager bound (incl. polling)".into(),
            format!("{with_polling:.3}"),
            "≤ 1.05".into(),
            with_polling <= 1.05,
        ));
        summary.push((
            "requests, default ÷ eager waits".into(),
            format!("{extra_requests:.3}"),
            "≤ 1.20".into(),
            extra_requests <= 1.20,
        ));
    }

    if wants("compile") {
        let (steps, big, bundled) = compile_times(11);
        let (cold, one_core) = compile_cold(11);
        println!();
        println!(
            "compile — `check` + `plan` (parse, analyse, lower, graph, text render), median of 11"
        );
        println!();
        println!("| runbook | ms |");
        println!("|---|---:|");
        println!("| generated, {steps} action steps, again in one process | {big:.1} |");
        println!("| generated, {steps} action steps, a fresh process each time | {cold:.1} |");
        match one_core {
            Some(one) => println!(
                "| generated, {steps} action steps, a fresh process held to one core | {one:.1} (÷ every core: {:.2}) |",
                one / cold
            ),
            None => println!("| generated, held to one core | not measured: `taskset` did not run |"),
        }
        println!("| bundled option1/protect | {bundled:.2} |");
        summary.push((
            format!("compile, {steps}-step runbook, again in one process (ms)"),
            format!("{big:.1}"),
            "< 100".into(),
            big < 100.0,
        ));
        summary.push((
            format!("compile, {steps}-step runbook, a fresh process (ms)"),
            format!("{cold:.1}"),
            "< 100".into(),
            cold < 100.0,
        ));
        summary.push((
            "compile, a bundled runbook (ms)".into(),
            format!("{bundled:.2}"),
            "≤ 5".into(),
            bundled <= 5.0,
        ));
    }

    if wants("scale") {
        let places = env_num("LIFEBOAT_BENCH_FREEZES", 0) as usize;
        let gate = (places > 0).then(|| lifeboat_exec::FreezeGate::new(places));
        let repeats = env_num("LIFEBOAT_BENCH_SCALE_RUNS", 3).max(1);
        // Each repetition against a new emulator process, the gate's
        // places free again between them.
        let runs: Vec<Scale> = (0..repeats)
            .map(|_| rt.block_on(scale(scale_vnfs, scale_vms, gate.clone())))
            .collect();
        println!();
        println!(
            "scale — {scale_vnfs} VNFs × {scale_vms} VMs at site-a, all protected at once (option1/protect, one executor and client set per run, connections pooled, Durability::Fsync, {}); the emulator in its own process: no latency, 1 ms transitions; {repeats} repetition(s), a row each",
            if places > 0 {
                format!("a freeze gate of {places} places")
            } else {
                "no freeze gate".to_string()
            }
        );
        println!();
        scale_table(&runs, true);
        scale_summary(&runs, "Lifeboat ", &mut summary);
    }

    if wants("executor") {
        let (v, m) = (100, 100);
        let sc = rt.block_on(scale_executor(v, m));
        println!();
        println!(
            "executor — {v} VNFs × {m} VMs ({} VMs), all protected at once (option1/protect, one executor per run, Durability::Fsync), every action answered at once in memory",
            v * m
        );
        println!();
        scale_table(std::slice::from_ref(&sc), false);
        scale_summary(
            std::slice::from_ref(&sc),
            "executor (instant actions) ",
            &mut summary,
        );
    }

    println!();
    println!("summary (issue 15's targets, measured in this run)");
    println!();
    println!("| figure | measured | target | met |");
    println!("|---|---:|---|---|");
    for (f, m, t, ok) in summary {
        println!(
            "| {f} | {m} | {t} | {} |",
            if ok { "yes" } else { "**no**" }
        );
    }
}
