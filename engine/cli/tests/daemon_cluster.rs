//! Two `lifeboat daemon`s in a cluster on a REAL etcd (issue 17): the same
//! configuration, a member each (site-a, site-b). Every job runs once in
//! the cluster, on the member that owns it; `lifeboat cluster status` shows
//! both members and the owners, and each member's `/metrics` and `/healthz`
//! what it owns; kill -9 the owner of the jobs and the other member owns
//! them all once the dead one's lease expires, and counts the takeovers.
//!
//! Without `etcd` on the PATH this skips with a line saying so; under CI
//! (`CI` set) it fails instead.

mod common;
use common::daemon::{daemon_in, runs_in, wait_for};
use common::*;
use lifeboat_daemon::cluster::local::{self, LocalEtcd};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const JOBS: usize = 6;
const TTL: u64 = 2;

fn status(cfg: &std::path::Path) -> Value {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args([
            "cluster",
            "status",
            "--json",
            "--config",
            cfg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)))
}

/// (`/metrics` as name{labels} → value, `/healthz` status and body) of the
/// daemon whose state dir is `state`.
fn listener(env: &Env, state: &std::path::Path) -> (BTreeMap<String, f64>, u16, String) {
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("daemon.json")).unwrap()).unwrap();
    let addr = info["metrics"].as_str().unwrap().to_string();
    env.rt.block_on(async {
        let body = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let m = body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect();
        let h = reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap();
        let code = h.status().as_u16();
        (m, code, h.text().await.unwrap())
    })
}

/// The emulator, an etcd of some members on loopback, and a runbook that
/// reads one thing (`tick.dr`: a parameter `n` to tell jobs apart): what
/// every test here starts from. `None` (and a line saying so) without etcd
/// on the PATH; under CI a missing etcd fails instead.
struct Fixture {
    env: Env,
    etcd: LocalEtcd,
    runbook: std::path::PathBuf,
}

fn fixture(etcd_members: usize) -> Option<Fixture> {
    if !local::installed() {
        assert!(
            std::env::var_os("CI").is_none(),
            "etcd is not installed; .ci/run installs Debian's etcd-server"
        );
        eprintln!("skipped: etcd is not installed (apt install etcd-server)");
        return None;
    }
    let env = start(three_servers(), None);
    let etcd = LocalEtcd::start(etcd_members, &env.dir.path().join("etcd"));
    let runbook = env.dir.path().join("tick.dr");
    std::fs::write(
        &runbook,
        "runbook tick \"One read\" {\n  param n: string\n  param at: site = \"site-a\"\n  s = nova.find_servers(site: at, tag: \"vims\")\n}\n",
    )
    .unwrap();
    Some(Fixture { env, etcd, runbook })
}

impl Fixture {
    /// Member `name`'s configuration (`head` before its `cluster` section):
    /// one job per `(name, schedule, run_at_start)`.
    fn config(
        &self,
        name: &str,
        site: &str,
        head: &str,
        jobs: &[(String, &str, bool)],
    ) -> std::path::PathBuf {
        let endpoints = self
            .etcd
            .clients
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut y = format!(
            "{head}cluster:\n  etcd: [{endpoints}]\n  name: {name}\n  site: {site}\n  lease_ttl: {TTL}\njobs:\n"
        );
        for (job, schedule, at_start) in jobs {
            y.push_str(&format!(
                "  - name: {job}\n    runbook: {}\n    params: {{n: {job}}}\n    cloud: emulator\n    schedule: \"{schedule}\"\n    run_at_start: {at_start}\n",
                self.runbook.display()
            ));
        }
        let p = self.env.dir.path().join(format!("{name}.yaml"));
        std::fs::write(&p, y).unwrap();
        p
    }

    /// A daemon of member `name` with its own state dir and log.
    fn daemon(
        &self,
        name: &str,
        cfg: &std::path::Path,
    ) -> (common::daemon::Guard, std::path::PathBuf) {
        let state = self.env.dir.path().join(format!("state-{name}"));
        let d = daemon_in(&self.env, cfg, &state, &format!("{name}.log"));
        (d, state)
    }

    /// Job → when its runs started (at or after `from`), over the histories
    /// of `states`.
    fn starts(
        &self,
        states: &[&std::path::Path],
        from: chrono::DateTime<chrono::Utc>,
    ) -> BTreeMap<String, Vec<chrono::DateTime<chrono::Utc>>> {
        let mut m: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for st in states {
            for r in runs_in(&self.env, st) {
                let Some(t) = r["started"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                else {
                    continue;
                };
                let t = t.with_timezone(&chrono::Utc);
                if t >= from {
                    m.entry(r["job"].as_str().unwrap_or_default().to_string())
                        .or_default()
                        .push(t);
                }
            }
        }
        m
    }
}

/// Two members, a at site-a and b at site-b, of one job run at start and
/// every minute, once it first ran with both live.
struct Pair {
    a: common::daemon::Guard,
    b: common::daemon::Guard,
    state_a: std::path::PathBuf,
    state_b: std::path::PathBuf,
    cfg_a: std::path::PathBuf,
    /// The member owning the job.
    owner: String,
}

impl Fixture {
    fn every_minute_pair(&self) -> Pair {
        let jobs = [("every-minute".to_string(), "* * * * *", true)];
        let (cfg_a, cfg_b) = (
            self.config("a", "site-a", "", &jobs),
            self.config("b", "site-b", "", &jobs),
        );
        let (mut a, state_a) = self.daemon("a", &cfg_a);
        let (b, state_b) = self.daemon("b", &cfg_b);
        let epoch = chrono::DateTime::<chrono::Utc>::MIN_UTC;
        let owner = wait_for(
            "the first run and both members",
            60,
            &mut a,
            || {
                let s = status(&cfg_a);
                let owner = s["owners"]["every-minute"].as_str()?.to_string();
                let ran = self.runs(&[&state_a, &state_b], epoch).len();
                (ran >= 1 && s["members"].as_array().map(Vec::len) == Some(2)).then_some(owner)
            },
            &self.env.dir.path().join("a.log"),
        );
        Pair {
            a,
            b,
            state_a,
            state_b,
            cfg_a,
            owner,
        }
    }

    /// When runs started (at or after `from`), over the histories of `states`.
    fn runs(
        &self,
        states: &[&std::path::Path],
        from: chrono::DateTime<chrono::Utc>,
    ) -> Vec<chrono::DateTime<chrono::Utc>> {
        self.starts(states, from).into_values().flatten().collect()
    }
}

/// The next whole minute at least `room` seconds away, and sleep until a
/// second before it.
fn a_second_before_the_next_minute(room: i64) -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    let mut minute =
        chrono::DateTime::from_timestamp(now.timestamp() - now.timestamp() % 60 + 60, 0).unwrap();
    if (minute - now).num_milliseconds() < room * 1000 {
        minute += chrono::Duration::seconds(60);
    }
    std::thread::sleep(
        (minute - chrono::Duration::seconds(1) - chrono::Utc::now())
            .to_std()
            .unwrap(),
    );
    minute
}

#[test]
fn each_job_runs_once_in_the_cluster_and_a_killed_members_jobs_move_to_the_other() {
    let Some(f) = fixture(1) else {
        return;
    };
    let env = &f.env;
    // Six jobs, each run at start.
    let jobs: Vec<(String, &str, bool)> = (0..JOBS)
        .map(|i| (format!("t{i}"), "0 0 1 1 *", true))
        .collect();
    let head = "metrics: 127.0.0.1:0\n";
    let (cfg_a, cfg_b) = (
        f.config("a", "site-a", head, &jobs),
        f.config("b", "site-b", head, &jobs),
    );
    let (mut a, state_a) = f.daemon("a", &cfg_a);
    let (mut b, state_b) = f.daemon("b", &cfg_b);
    let log = env.dir.path().join("a.log");

    // Both members live; every job owned, and run exactly once between them.
    wait_for(
        "both members and every job owned",
        60,
        &mut a,
        || {
            let s = status(&cfg_a);
            (s["members"].as_array().map(Vec::len) == Some(2)
                && s["owners"].as_object().map(|o| o.len()) == Some(JOBS))
            .then_some(())
        },
        &log,
    );
    let finished = |state: &std::path::Path| -> Vec<String> {
        runs_in(env, state)
            .into_iter()
            .filter(|r| !r["outcome"].is_null())
            .map(|r| r["job"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let ran = wait_for(
        "every job's run",
        60,
        &mut a,
        || {
            let mut all = finished(&state_a);
            all.extend(finished(&state_b));
            (all.len() >= JOBS).then_some(all)
        },
        &log,
    );
    std::thread::sleep(Duration::from_secs(1));
    let (ran_a, ran_b) = (finished(&state_a), finished(&state_b));
    for state in [&state_a, &state_b] {
        for r in runs_in(env, state) {
            let shown = env
                .cmd_in(state, &["show", r["id"].as_str().unwrap()])
                .output()
                .unwrap();
            assert_eq!(r["outcome"], "succeeded", "{r}\n{}", text(&shown));
        }
    }
    let mut all: Vec<String> = ran_a.iter().chain(&ran_b).cloned().collect();
    all.sort();
    let want: Vec<String> = (0..JOBS).map(|i| format!("t{i}")).collect();
    assert_eq!(
        all, want,
        "each job once in the cluster (a ran {ran_a:?}, b ran {ran_b:?}; first seen {ran:?})"
    );
    let owners = status(&cfg_a)["owners"].clone();
    for j in &ran_a {
        assert_eq!(owners[j], "a", "{j} ran at a: {owners}");
    }
    for j in &ran_b {
        assert_eq!(owners[j], "b", "{j} ran at b: {owners}");
    }
    // Each member's listener says what it owns (after its next sweep).
    for (state, name, site) in [(&state_a, "a", "site-a"), (&state_b, "b", "site-b")] {
        let mine = owners
            .as_object()
            .unwrap()
            .values()
            .filter(|o| *o == name)
            .count() as f64;
        let labels = format!("{{member=\"{name}\",site=\"{site}\"}}");
        let (m, code, body) = wait_for(
            "the listener's view of the cluster",
            30,
            &mut a,
            || {
                let (m, code, body) = listener(env, state);
                (m.get(&format!("lifeboat_cluster_jobs_owned{labels}")) == Some(&mine)
                    && m.get(&format!("lifeboat_cluster_members{labels}")) == Some(&2.0))
                .then_some((m, code, body))
            },
            &log,
        );
        assert_eq!(m[&format!("lifeboat_cluster_member_live{labels}")], 1.0);
        assert_eq!(
            m[&format!("lifeboat_cluster_lease_ttl_seconds{labels}")],
            TTL as f64
        );
        assert!(m[&format!("lifeboat_cluster_lease_age_seconds{labels}")] <= TTL as f64);
        assert_eq!(code, 200, "{body}");
        assert!(
            body.starts_with(&format!("ok member={name} site={site} owns={mine}")),
            "{body}"
        );
    }

    // kill -9 the member owning the most jobs: the other owns every job once
    // the dead one's lease expires (within the lease and a sweep).
    let (victim, survivor) = if ran_a.len() >= ran_b.len() {
        (&mut a, "b")
    } else {
        (&mut b, "a")
    };
    victim.kill().unwrap();
    victim.wait().unwrap();
    let killed = Instant::now();
    loop {
        let s = status(&cfg_a);
        let all_theirs = s["owners"]
            .as_object()
            .is_some_and(|o| o.len() == JOBS && o.values().all(|m| m == survivor));
        if all_theirs && s["members"].as_array().map(Vec::len) == Some(1) {
            eprintln!(
                "every job owned by {survivor} {:.1} s after the kill (lease {TTL} s)",
                killed.elapsed().as_secs_f64()
            );
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(TTL + 6),
            "after {:?}: {s}",
            killed.elapsed()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The survivor counts what it took over.
    let (survivor_state, site, took) = if survivor == "a" {
        (&state_a, "site-a", ran_b.len())
    } else {
        (&state_b, "site-b", ran_a.len())
    };
    let labels = format!("{{member=\"{survivor}\",site=\"{site}\"}}");
    let t = Instant::now();
    loop {
        let (m, _, _) = listener(env, survivor_state);
        if m.get(&format!("lifeboat_cluster_takeovers_total{labels}")) == Some(&(took as f64))
            && m.get(&format!("lifeboat_cluster_jobs_owned{labels}")) == Some(&(JOBS as f64))
        {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{m:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A due time that passes while the job's owner is dead is made up by the
/// member that takes the job over, within the lease: the job runs every
/// minute (and at start); its owner is killed a second before a minute
/// begins; the other member, once the dead one's lease expired, finds in
/// etcd that the job last started before that minute and runs it.
#[test]
fn a_due_time_missed_while_the_owner_was_dead_is_made_up_by_the_member_taking_over() {
    let Some(f) = fixture(1) else {
        return;
    };
    let Pair {
        mut a,
        mut b,
        state_a,
        state_b,
        owner,
        ..
    } = f.every_minute_pair();
    let epoch = chrono::DateTime::<chrono::Utc>::MIN_UTC;
    let runs = |states: &[&std::path::Path], from| f.runs(states, from);
    // Killed a second before the next minute begins (after its run of the
    // minute now, when the daemons started at its very end).
    let minute = a_second_before_the_next_minute(2);
    let (victim, survivor_state, victim_state) = if owner == "a" {
        (&mut a, &state_b, &state_a)
    } else {
        (&mut b, &state_a, &state_b)
    };
    victim.kill().unwrap();
    victim.wait().unwrap();
    let before = runs(&[victim_state, survivor_state], epoch).len();
    // The survivor runs it once the lease expired: within the lease and a
    // sweep of the minute, not a minute later.
    let t = std::time::Instant::now();
    let made_up = loop {
        if let Some(s) = runs(&[survivor_state], minute).first() {
            break *s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(TTL + 8),
            "no run of the minute {minute} by the surviving member"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let late = (made_up - minute).num_milliseconds() as f64 / 1000.0;
    eprintln!("the missed minute {minute} made up {late:.1} s late (lease {TTL} s)");
    assert!(late <= (TTL + 3) as f64, "{late} s late");
    assert_eq!(
        runs(&[victim_state, survivor_state], epoch).len(),
        before + 1,
        "one run for the minute"
    );
}

/// Three daemons on a three-member etcd share 30 every-minute jobs; a
/// second before a minute begins, the daemon owning the most is killed and
/// one etcd member of three is killed too. Every job still runs in that
/// minute, within the lease and a sweep of its start: none missed, none
/// twice.
#[test]
fn three_daemons_keep_every_jobs_schedule_through_a_kill_and_the_loss_of_an_etcd_member() {
    const N: usize = 30;
    let Some(mut f) = fixture(3) else {
        return;
    };
    let jobs: Vec<(String, &str, bool)> = (0..N)
        .map(|i| (format!("j{i:02}"), "* * * * *", false))
        .collect();
    let members = [("a", "site-a"), ("b", "site-b"), ("c", "site-b")];
    let (mut daemons, states): (Vec<_>, Vec<_>) = members
        .iter()
        .map(|(n, s)| f.daemon(n, &f.config(n, s, "", &jobs)))
        .unzip();
    let env = &f.env;
    let cfg = env.dir.path().join("a.yaml");
    let log = env.dir.path().join("a.log");
    let owners = wait_for(
        "three members owning every job",
        60,
        &mut daemons[0],
        || {
            let s = status(&cfg);
            (s["members"].as_array().map(Vec::len) == Some(3)
                && s["owners"].as_object().map(|o| o.len()) == Some(N))
            .then_some(s["owners"].clone())
        },
        &log,
    );
    let minute = a_second_before_the_next_minute(3);
    let busiest = members
        .iter()
        .enumerate()
        .max_by_key(|(_, (n, _))| {
            owners
                .as_object()
                .unwrap()
                .values()
                .filter(|o| *o == n)
                .count()
        })
        .map(|(i, _)| i)
        .unwrap();
    daemons[busiest].kill().unwrap();
    daemons[busiest].wait().unwrap();
    f.etcd.down(0);
    let killed_owned = owners
        .as_object()
        .unwrap()
        .values()
        .filter(|o| *o == members[busiest].0)
        .count();

    // Every job runs once in this minute, the dead member's within the
    // lease and a sweep of its start.
    let t = std::time::Instant::now();
    let ran = loop {
        let ran = f.starts(
            &states.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
            minute,
        );
        if ran.len() == N {
            break ran;
        }
        assert!(
            t.elapsed() < Duration::from_secs(TTL + 20),
            "after {:?}, {} of {N} jobs ran in the minute {minute} ({} were {}'s)",
            t.elapsed(),
            ran.len(),
            killed_owned,
            members[busiest].0
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    std::thread::sleep(Duration::from_secs(2));
    let ran = {
        let again = f.starts(
            &states.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
            minute,
        );
        assert_eq!(again.len(), ran.len());
        again
    };
    let latest = ran
        .values()
        .flatten()
        .map(|t| (*t - minute).num_milliseconds() as f64 / 1000.0)
        .fold(0.0, f64::max);
    for (job, times) in &ran {
        assert_eq!(
            times.len(),
            1,
            "{job} ran {} times in the minute",
            times.len()
        );
    }
    eprintln!(
        "{N} jobs, {killed_owned} of them the killed member's, one etcd member of three down: every job ran once in the minute, the last {latest:.1} s after it began (lease {TTL} s)"
    );
    assert!(latest <= (TTL + 8) as f64, "{latest} s");
}

/// The owner of a job stopped (SIGSTOP) past its lease: the other member
/// takes the job over and runs it at its next due time; the stopped one,
/// continued (SIGCONT), starts nothing — its claim is gone, and a start is
/// recorded only under a live claim — and the job keeps one owner.
#[test]
fn an_owner_paused_past_its_lease_starts_nothing_once_it_wakes() {
    let Some(f) = fixture(1) else {
        return;
    };
    let Pair {
        mut a,
        mut b,
        state_a,
        state_b,
        cfg_a,
        owner,
    } = f.every_minute_pair();
    let runs = |states: &[&std::path::Path], from| f.runs(states, from);
    let (paused, paused_state, other, other_state) = if owner == "a" {
        (&mut a, &state_a, "b", &state_b)
    } else {
        (&mut b, &state_b, "a", &state_a)
    };
    let signal = |sig: &str, pid: u32| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid}");
    };
    let stopped_at = chrono::Utc::now();
    signal("-STOP", paused.id());
    // The other member owns the job once the paused one's lease expired …
    let t = Instant::now();
    while status(&cfg_a)["owners"]["every-minute"] != other {
        assert!(
            t.elapsed() < Duration::from_secs(TTL + 6),
            "{other} never took the job over"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // … and runs it when the next minute begins.
    let minute = a_second_before_the_next_minute(2);
    let t = Instant::now();
    while runs(&[other_state], minute).is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{other} did not run the minute {minute}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The paused one wakes up past a due time: it starts nothing.
    signal("-CONT", paused.id());
    std::thread::sleep(Duration::from_secs(TTL + 3));
    assert!(
        runs(&[paused_state], stopped_at).is_empty(),
        "the member paused past its lease started a run after waking"
    );
    assert_eq!(
        runs(&[paused_state, other_state], minute).len(),
        1,
        "one run for the minute"
    );
    assert_eq!(status(&cfg_a)["owners"]["every-minute"], other);
    assert!(
        paused.try_wait().unwrap().is_none(),
        "it runs on, owning nothing"
    );
}
