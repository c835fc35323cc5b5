//! Glue for the option tests: the emulator, the actions built from the
//! clouds.yaml it writes (over real HTTP), the bundled runbooks compiled from
//! `workflows/`, and the executor running them in-process.

#![allow(dead_code)]

use lifeboat_actions::{ContentChecksums, OpenStackActions, SiteCloud};
use lifeboat_dsl::compiler;
use lifeboat_dsl::loader::FsLoader;
use lifeboat_dsl::plan::Plan;
use lifeboat_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use lifeboat_exec::action::Actions;
use lifeboat_exec::{
    Approver, AutoApprove, Event, EventKind, ExecConfig, Executor, Refuse, RunOptions, RunResult,
};
use lifeboat_openstack::ConfigLoader;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

use std::sync::Arc;

pub mod storm;

pub struct Env {
    pub emu: EmulatorHandle,
    pub acts: Arc<OpenStackActions>,
    pub dir: tempfile::TempDir,
    runs: std::sync::atomic::AtomicUsize,
}

/// What a run left: its result and every event, in order.
pub struct Run {
    pub result: RunResult,
    pub events: Vec<Event>,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.result.outcome.is_success()
    }

    /// The run's report, as the CLI renders it, printed; panics when the run
    /// left an orphan (something it made and could not remove).
    pub fn print_report(&self, stage: &str) -> &Self {
        let report = lifeboat_exec::Report::from_events(&self.events);
        eprintln!("---- {stage} ----\n{}", report.render_text());
        assert!(
            report.orphans.is_empty(),
            "{stage}: orphans {:?}",
            report.orphans
        );
        self
    }

    /// Instances (`srv[0][1]`, …) of the successful steps of an action, in
    /// completion order, with the index of their event.
    pub fn succeeded(&self, action: &str) -> Vec<(usize, String)> {
        self.events
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match &e.kind {
                EventKind::StepSucceeded {
                    instance,
                    action: a,
                    ..
                } if a == action => Some((i, instance.clone())),
                _ => None,
            })
            .collect()
    }

    /// The results of the successful instances of the step bound to `binding`
    /// (`vol` gives `vol`, `vol[0]`, `vol[3]`, … but not `volumes`), from the
    /// run's journal, in completion order.
    pub fn values(&self, binding: &str) -> Vec<(String, Value)> {
        let records = lifeboat_exec::read_journal(&self.result.run_dir).expect("journal readable");
        records
            .into_iter()
            .filter_map(|r| match r {
                lifeboat_exec::Record::StepOutcome {
                    instance,
                    value: Some(v),
                    error: None,
                    ..
                } if instance == binding || instance.starts_with(&format!("{binding}[")) => {
                    Some((instance, v))
                }
                _ => None,
            })
            .collect()
    }

    pub fn bytes_moved(&self, action: &str) -> u64 {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::StepSucceeded {
                    action: a,
                    bytes_moved,
                    ..
                } if a == action => Some(*bytes_moved),
                _ => None,
            })
            .sum()
    }

    pub fn describe(&self) -> String {
        let mut s = format!("{:?}\n", self.result.outcome);
        for e in &self.events {
            match &e.kind {
                EventKind::StepFailed { .. }
                | EventKind::CompensationFailed { .. }
                | EventKind::CleanupFailed { .. }
                | EventKind::ThawFailed { .. }
                | EventKind::FreezeFailed { .. }
                | EventKind::StepRetrying { .. } => s.push_str(&format!("  {:?}\n", e.kind)),
                _ => {}
            }
        }
        s
    }
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(EmulatorConfig::fast()).await
    }

    pub async fn start_with(config: EmulatorConfig) -> Env {
        let emu = Emulator::start(config).await.expect("emulator starts");
        let dir = tempfile::tempdir().expect("tempdir");
        emu.write_clouds_yaml(&dir.path().join("clouds.yaml"))
            .expect("clouds.yaml written");
        let loader = ConfigLoader::new(BTreeMap::new(), vec![dir.path().to_path_buf()]);
        let acts = OpenStackActions::from_clouds(
            &loader,
            &[
                SiteCloud::new("site-a", "emulator"),
                SiteCloud::new("site-b", "emulator"),
            ],
        )
        .expect("actions from the emulator's clouds.yaml")
        .with_content_checksums(ContentChecksums::EmulatorAdmin {
            base_url: format!("{}/_emulator", emu.admin_url()),
        });
        Env {
            emu,
            acts: Arc::new(acts),
            dir,
            runs: Default::default(),
        }
    }

    /// Run a plan to its end; the run directory is a fresh one under the
    /// env's tempdir.
    pub async fn run_plan(&self, plan: &Plan, params: Value, approver: Arc<dyn Approver>) -> Run {
        let n = self.runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let run_dir = self.dir.path().join(format!("run-{n}-{}", plan.runbook));
        let (tx, mut rx) = lifeboat_exec::event::channel();
        let mut opts = RunOptions::new(run_dir);
        opts.events = Some(tx);
        let config = ExecConfig {
            durability: lifeboat_exec::Durability::Flush,
            ..ExecConfig::default()
        };
        let exec = Executor::new(self.acts.clone() as Arc<dyn Actions>)
            .with_approver(approver)
            .with_config(config);
        let params: Map<String, Value> = params.as_object().cloned().unwrap_or_default();
        let result = exec
            .run(plan, params, opts)
            .await
            .unwrap_or_else(|e| panic!("run of {} could not start: {e}", plan.runbook));
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        Run { result, events }
    }

    /// Commit or roll back a run awaiting commit (`lifeboat commit` /
    /// `lifeboat rollback`), with the env's actions.
    pub async fn decide(&self, run: &Run, decision: lifeboat_exec::Decision) -> Run {
        self.again(run, &format!("{decision:?}"), |exec, opts| async move {
            exec.decide(opts, lifeboat_exec::DecideBy::Operator(decision))
                .await
        })
        .await
    }

    /// `lifeboat cleanup` of a finished run, with the env's actions.
    pub async fn cleanup(&self, run: &Run) -> Run {
        self.again(run, "cleanup", |exec, opts| async move {
            exec.cleanup(opts).await
        })
        .await
    }

    /// `what` done to a run's directory by an executor with the env's
    /// actions; its result and events.
    async fn again<F, Fut>(&self, run: &Run, what: &str, f: F) -> Run
    where
        F: FnOnce(Executor, RunOptions) -> Fut,
        Fut: std::future::Future<
            Output = Result<lifeboat_exec::RunResult, lifeboat_exec::ExecError>,
        >,
    {
        let (tx, mut rx) = lifeboat_exec::event::channel();
        let mut opts = RunOptions::new(run.result.run_dir.clone());
        opts.events = Some(tx);
        let exec = Executor::new(self.acts.clone() as Arc<dyn Actions>).with_config(ExecConfig {
            durability: lifeboat_exec::Durability::Flush,
            ..ExecConfig::default()
        });
        let result = f(exec, opts)
            .await
            .unwrap_or_else(|e| panic!("{what} of {} refused: {e}", run.result.run_id));
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        Run { result, events }
    }

    /// Run a bundled runbook (`option1/protect`) with auto-approval.
    pub async fn run(&self, name: &str, params: Value) -> Run {
        self.run_plan(&bundled(name), params, Arc::new(AutoApprove))
            .await
    }

    pub async fn run_refused(&self, name: &str, params: Value) -> Run {
        self.run_plan(&bundled(name), params, Arc::new(Refuse))
            .await
    }

    /// Resource counts per site, from the emulator's admin status.
    pub async fn counts(&self) -> Value {
        let st: Value = reqwest::get(format!("{}/_emulator/status", self.emu.admin_url()))
            .await
            .expect("admin status")
            .json()
            .await
            .expect("status json");
        let mut out = Map::new();
        for site in ["site-a", "site-b"] {
            let s = &st["sites"][site];
            out.insert(
                site.into(),
                json!({"servers": s["servers"], "volumes": s["volumes"], "snapshots": s["snapshots"], "backups": s["backups"], "images": s["images"],
                    "ports": s["ports"], "security_groups": s["security_groups"], "floating_ips": s["floating_ips"], "server_groups": s["server_groups"], "keypairs": s["keypairs"]}),
            );
        }
        Value::Object(out)
    }

    /// GET on the emulator's admin API.
    pub async fn admin_get(&self, path: &str) -> Value {
        reqwest::get(format!("{}{path}", self.emu.admin_url()))
            .await
            .expect("admin get")
            .json()
            .await
            .expect("admin json")
    }

    /// One site's API (token from Keystone), for looking at what a run made.
    pub async fn api(&self, site: &str, service: &str, path: &str) -> Value {
        self.api_call(site, service, reqwest::Method::GET, path, None)
            .await
    }

    /// A call to one site's API as the operator (a test's own setup, such
    /// as a network the backup site has and the primary has not); a 4xx or
    /// 5xx answer fails the test.
    pub async fn api_call(
        &self,
        site: &str,
        service: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, v) = self
            .api_answer(site, service, method.clone(), path, body)
            .await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} at {site}: {status} {v}"
        );
        v
    }

    /// [`Env::api_call`] that may fail: the status and the body.
    pub async fn api_answer(
        &self,
        site: &str,
        service: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let token = self.token().await;
        let base = match site {
            "site-a" => self.emu.site_url(lifeboat_emulator::Site::A),
            _ => self.emu.site_url(lifeboat_emulator::Site::B),
        };
        let url = match service {
            "compute" => format!("{base}/compute/v2.1{path}"),
            "volume" => format!("{base}/volume/v3/{}{path}", project_id(&token.1)),
            "network" => format!("{base}/network/v2.0{path}"),
            "dns" => format!("{base}/dns/v2{path}"),
            other => panic!("no service {other}"),
        };
        let mut req = reqwest::Client::new()
            .request(method.clone(), &url)
            .header("X-Auth-Token", &token.0)
            .header(
                "OpenStack-API-Version",
                if service == "compute" {
                    "compute 2.96"
                } else {
                    "volume 3.71"
                },
            );
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn token(&self) -> (String, Value) {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "operator", "domain": {"name": "Default"}, "password": "lifeboat"}}},
            "scope": {"project": {"name": "vnf-ops", "domain": {"name": "Default"}}}}});
        let r = reqwest::Client::new()
            .post(format!("{}/auth/tokens", self.emu.keystone_url()))
            .json(&body)
            .send()
            .await
            .expect("token");
        let tok = r
            .headers()
            .get("X-Subject-Token")
            .expect("X-Subject-Token")
            .to_str()
            .unwrap()
            .to_string();
        let v: Value = r.json().await.expect("token body");
        (tok, v)
    }
}

fn project_id(token_body: &Value) -> String {
    token_body["token"]["project"]["id"]
        .as_str()
        .expect("project id")
        .to_string()
}

/// The bundled runbooks of the source tree, or of `LIFEBOAT_WORKFLOWS_DIR`
/// (a long bench reads a copy, so that editing the tree meanwhile changes
/// nothing it runs).
pub fn workflows_dir() -> std::path::PathBuf {
    match std::env::var_os("LIFEBOAT_WORKFLOWS_DIR") {
        Some(d) => d.into(),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows"),
    }
}

/// Compile `workflows/NAME.dr` from the source tree (so an edited runbook is
/// tested without rebuilding); panics with the diagnostics on error.
pub fn bundled(name: &str) -> Plan {
    let path = workflows_dir().join(format!("{name}.dr"));
    compile_file(&path.to_string_lossy())
}

pub fn compile_file(path: &str) -> Plan {
    let c =
        compiler::compile(path, &FsLoader).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    assert!(
        !c.has_errors(),
        "{path} does not compile: {:?}",
        c.diagnostics.list
    );
    c.plan(None).expect("one runbook").clone()
}

/// The bundled `option1/protect` with its recovery-point steps
/// (`option1/point.dr`) edited by `edit`, in one text (the procedure in the
/// runbook's file instead of imported).
pub fn protect_edited(name: &str, edit: impl Fn(String) -> String) -> Plan {
    let read = |f: &str| std::fs::read_to_string(workflows_dir().join(f)).expect(f);
    let steps = read("option1/point.dr");
    let edited = edit(steps.clone());
    assert_ne!(
        edited, steps,
        "the edit changed nothing in option1/point.dr"
    );
    let protect = read("option1/protect.dr").replace("import \"point.dr\"\n", "");
    compile_text(name, &format!("{protect}\n{edited}"))
}

pub fn compile_text(path: &str, text: &str) -> Plan {
    let c = compiler::compile_text(path, text, &FsLoader);
    assert!(
        !c.has_errors(),
        "{path} does not compile: {:?}",
        c.diagnostics.list
    );
    c.plan(None).expect("one runbook").clone()
}

pub fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// Production volume id → name, and server name → role, at site-a.
pub async fn production(env: &Env) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let vols = env.api("site-a", "volume", "/volumes/detail").await;
    let by_id = vols["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (s(v, "id").to_string(), s(v, "name").to_string()))
        .collect();
    let srvs = env.api("site-a", "compute", "/servers/detail").await;
    let roles = srvs["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                s(v, "name").to_string(),
                s(&v["metadata"], "role").to_string(),
            )
        })
        .collect();
    (by_id, roles)
}

/// The VNF's network identity at `site` as its Neutron and Nova show it, one
/// line per fact with names instead of ids (so two sites compare): each
/// server's NICs in order (network, fixed IPs, MAC, allowed-address pairs,
/// security groups), the VIP ports, floating IPs, security group rules and
/// server groups. Server names are reduced to site-a's (`base`); networks
/// lose a drill's `-test` suffix.
pub async fn network_identity(
    env: &Env,
    site: &str,
    bases: &[String],
    floating: bool,
) -> Vec<String> {
    let base_of = |name: &str| -> Option<String> {
        bases
            .iter()
            .find(|b| {
                name == b.as_str()
                    || name.ends_with(&format!("-{b}"))
                    || name.contains(&format!("-{b}-drill-"))
            })
            .cloned()
    };
    let nets = env.api(site, "network", "/networks").await;
    let net_name: BTreeMap<String, String> = nets["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                s(n, "id").to_string(),
                s(n, "name").trim_end_matches("-test").to_string(),
            )
        })
        .collect();
    let sgs = env.api(site, "network", "/security-groups").await;
    let sg_name: BTreeMap<String, String> = sgs["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (s(g, "id").to_string(), s(g, "name").to_string()))
        .collect();
    let ports = env.api(site, "network", "/ports").await;
    let ports = ports["ports"].as_array().unwrap().clone();
    let describe = |p: &Value| -> String {
        let ips: Vec<&str> = p["fixed_ips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| s(f, "ip_address"))
            .collect();
        let pairs: Vec<String> = p["allowed_address_pairs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| format!("{}@{}", s(a, "ip_address"), s(a, "mac_address")))
            .collect();
        let mut groups: Vec<&str> = p["security_groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                sg_name
                    .get(g.as_str().unwrap())
                    .map(String::as_str)
                    .unwrap_or("?")
            })
            .collect();
        groups.sort();
        format!(
            "net={} ips={ips:?} mac={} pairs={pairs:?} groups={groups:?}",
            net_name
                .get(s(p, "network_id"))
                .map(String::as_str)
                .unwrap_or("?"),
            s(p, "mac_address")
        )
    };
    let mut out = Vec::new();
    let srvs = env.api(site, "compute", "/servers/detail").await;
    let mut server_base = BTreeMap::new();
    let mut used_groups = std::collections::BTreeSet::new();
    for srv in srvs["servers"].as_array().unwrap() {
        let Some(base) = base_of(s(srv, "name")) else {
            continue;
        };
        server_base.insert(s(srv, "id").to_string(), base.clone());
        let ifs = env
            .api(
                site,
                "compute",
                &format!("/servers/{}/os-interface", s(srv, "id")),
            )
            .await;
        for (i, f) in ifs["interfaceAttachments"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let p = ports
                .iter()
                .find(|p| s(p, "id") == s(f, "port_id"))
                .expect("interface port");
            out.push(format!("nic {base}#{i} {}", describe(p)));
            for g in p["security_groups"].as_array().unwrap() {
                used_groups.insert(sg_name[g.as_str().unwrap()].clone());
            }
        }
    }
    let pair_ips: Vec<String> = ports
        .iter()
        .flat_map(|p| {
            p["allowed_address_pairs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| s(a, "ip_address").to_string())
        })
        .collect();
    for p in &ports {
        let vip = s(p, "device_id").is_empty()
            && p["fixed_ips"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| pair_ips.contains(&s(f, "ip_address").to_string()));
        if vip {
            out.push(format!("vip {}", describe(p)));
            if floating {
                let fips = env
                    .api(
                        site,
                        "network",
                        &format!("/floatingips?port_id={}", s(p, "id")),
                    )
                    .await;
                for f in fips["floatingips"].as_array().unwrap() {
                    out.push(format!(
                        "fip {} on vip {}",
                        s(f, "floating_ip_address"),
                        s(f, "fixed_ip_address")
                    ));
                }
            }
        }
    }
    for g in sgs["security_groups"].as_array().unwrap() {
        if !used_groups.contains(s(g, "name")) {
            continue;
        }
        let mut rules: Vec<String> = g["security_group_rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {}-{} {} {}",
                    s(r, "direction"),
                    s(r, "ethertype"),
                    r["protocol"].as_str().unwrap_or("any"),
                    r["port_range_min"],
                    r["port_range_max"],
                    r["remote_ip_prefix"].as_str().unwrap_or(""),
                    r["remote_group_id"]
                        .as_str()
                        .map(|id| sg_name[id].as_str())
                        .unwrap_or("")
                )
            })
            .collect();
        rules.sort();
        out.push(format!("sg {} {rules:?}", s(g, "name")));
    }
    let groups = env.api(site, "compute", "/os-server-groups").await;
    for g in groups["server_groups"].as_array().unwrap() {
        let mut members: Vec<String> = g["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| server_base.get(m.as_str().unwrap()).cloned())
            .collect();
        if members.is_empty() {
            continue;
        }
        members.sort();
        let hosts: std::collections::BTreeSet<String> = srvs["servers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| {
                g["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m.as_str() == Some(s(x, "id")))
            })
            .map(|x| s(x, "OS-EXT-SRV-ATTR:host").to_string())
            .collect();
        let spread = if hosts.len() == members.len() {
            "apart"
        } else {
            "shared"
        };
        out.push(format!("group {} {members:?} {spread}", s(g, "policy")));
    }
    out.sort();
    out
}

/// Checks the recovered VNF at site-b: six servers, each with its own boot
/// volume at /dev/vda and data volume at /dev/vdb restored from the right
/// production volume, booted db before app before lb.
pub async fn check_recovered(
    env: &Env,
    run: &Run,
    prod: &BTreeMap<String, String>,
    roles: &BTreeMap<String, String>,
    suffix: &str,
) {
    let srvs = env.api("site-b", "compute", "/servers/detail").await;
    let srvs = srvs["servers"].as_array().unwrap();
    assert_eq!(srvs.len(), 6, "six servers at site-b: {srvs:?}");
    let vols = env.api("site-b", "volume", "/volumes/detail").await;
    let vols: BTreeMap<String, Value> = vols["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (s(v, "id").to_string(), v.clone()))
        .collect();
    for srv in srvs {
        let name = s(srv, "name");
        // Created names are `lb-RUN-STEP-<name><suffix>` (the actions tag what
        // they create with the run and step, so a resumed run finds it).
        let base = roles
            .keys()
            .find(|k| {
                name.ends_with(&format!("-{k}{suffix}"))
                    || (suffix == "drill" && name.contains(&format!("-{k}-drill-")))
            })
            .unwrap_or_else(|| {
                panic!(
                    "server {name} at site-b is none of site-a's {:?}",
                    roles.keys()
                )
            })
            .as_str();
        let role = &roles[base];
        assert_eq!(s(&srv["metadata"], "role"), role, "role of {name}");
        let mut seen = BTreeMap::new();
        for a in srv["os-extended-volumes:volumes_attached"]
            .as_array()
            .unwrap()
        {
            let v = &vols[s(a, "id")];
            let att = &v["attachments"][0];
            assert_eq!(s(att, "server_id"), s(srv, "id"));
            // Restored volumes carry their provenance; managed replicas (option 3)
            // name the volume they replicate.
            let origin = match s(&v["metadata"], "lifeboat_origin") {
                "" => s(&v["metadata"], "replicated_from"),
                o => o,
            };
            seen.insert(
                s(att, "device").to_string(),
                prod.get(origin)
                    .cloned()
                    .unwrap_or_else(|| format!("unknown origin {origin}")),
            );
        }
        let want: BTreeMap<String, String> = [
            ("/dev/vda".to_string(), format!("{base}-boot")),
            ("/dev/vdb".to_string(), format!("{base}-data")),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            seen, want,
            "volumes of {name} (device → production volume it was restored from)"
        );
    }
    // Boot order: every server of a boot group is ACTIVE (its step succeeded)
    // before any server of the next group is asked for.
    let boots = run.succeeded("nova.boot_from_volume");
    assert_eq!(boots.len(), 6, "{}", run.describe());
    let starts: Vec<(usize, String)> = run
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.kind {
            lifeboat_exec::EventKind::StepStarted {
                instance,
                action,
                attempt: 1,
            } if action == "nova.boot_from_volume" => Some((i, instance.clone())),
            _ => None,
        })
        .collect();
    let group = |inst: &str| -> usize {
        inst.split('[')
            .nth(1)
            .and_then(|g| g.trim_end_matches(']').parse().ok())
            .unwrap_or_else(|| panic!("instance {inst}"))
    };
    for (si, sinst) in &starts {
        for (di, dinst) in &boots {
            if group(dinst) < group(sinst) {
                assert!(
                    di < si,
                    "{dinst} (group {}) done before {sinst} (group {}) starts",
                    group(dinst),
                    group(sinst)
                );
            }
        }
    }
    // The groups are db, app, lb: the server booted in group g has that role.
    let booted: Vec<(String, Value)> = boots
        .iter()
        .flat_map(|(_, inst)| run.values(inst).into_iter().filter(move |(i, _)| i == inst))
        .collect();
    for (inst, srv) in booted {
        assert_eq!(
            s(&srv, "role"),
            ["db", "app", "lb"][group(&inst)],
            "{inst} booted in boot group {}",
            group(&inst)
        );
    }
}

impl Run {
    /// The first failed step: (instance, error).
    pub fn first_failure(&self) -> Option<(String, String)> {
        self.events.iter().find_map(|e| match &e.kind {
            EventKind::StepFailed { instance, error } => Some((instance.clone(), error.clone())),
            _ => None,
        })
    }

    /// Instances compensated (undone) by the saga, in order.
    pub fn compensated(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Compensated { instance } => Some(instance.clone()),
                _ => None,
            })
            .collect()
    }
}

impl Env {
    /// Installs a fault profile (YAML).
    pub fn faults(&self, yaml: &str) {
        self.emu.set_faults(
            lifeboat_emulator::FaultProfile::from_yaml_str(yaml)
                .unwrap_or_else(|e| panic!("fault profile: {e}\n{yaml}")),
        );
    }

    /// Every server at `site` with its status.
    pub async fn server_statuses(&self, site: &str) -> Vec<(String, String)> {
        let srvs = self.api(site, "compute", "/servers/detail").await;
        srvs["servers"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|v| (s(v, "name").to_string(), s(v, "status").to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every volume at `site`: (name, status, volume_type).
    pub async fn volumes(&self, site: &str) -> Vec<(String, String, String)> {
        let vols = self.api(site, "volume", "/volumes/detail").await;
        vols["volumes"]
            .as_array()
            .map(|l| {
                l.iter()
                    .map(|v| {
                        (
                            s(v, "name").to_string(),
                            s(v, "status").to_string(),
                            s(v, "volume_type").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A network and its one subnet at `site`, made by the operator.
pub async fn make_network(
    env: &Env,
    site: &str,
    name: &str,
    cidr: &str,
    gateway: Option<&str>,
    dns: &[&str],
) {
    let net = env
        .api_call(
            site,
            "network",
            reqwest::Method::POST,
            "/networks",
            Some(json!({"network": {"name": name}})),
        )
        .await;
    env.api_call(
        site,
        "network",
        reqwest::Method::POST,
        "/subnets",
        Some(json!({"subnet": {"name": format!("{name}-v4"), "network_id": net["network"]["id"], "ip_version": 4, "cidr": cidr, "gateway_ip": gateway, "dns_nameservers": dns}})),
    )
    .await;
}

/// site-b's own networks for `REIP`.
pub async fn make_dr_networks(env: &Env) {
    make_network(
        env,
        "site-b",
        "mgmt-dr",
        "172.16.0.0/16",
        Some("172.16.0.1"),
        &[],
    )
    .await;
    make_network(
        env,
        "site-b",
        "signalling-dr",
        "172.17.0.0/16",
        Some("172.17.0.1"),
        &[],
    )
    .await;
    make_network(
        env,
        "site-b",
        "media-dr",
        "172.18.0.0/16",
        Some("172.18.0.1"),
        &[],
    )
    .await;
}

/// Keep `doc` at site-b as the site mapping from site-a (where `lifeboat
/// mapping put` keeps it), through the client's Swift API.
pub async fn store_mapping(env: &Env, doc: &str) {
    store_mapping_at(env, "site-b", "site-a", doc).await;
}

/// Store a site-mapping document for recoveries from `source` at `at`.
pub async fn store_mapping_at(env: &Env, at: &str, source: &str, doc: &str) {
    env.acts
        .client(at)
        .unwrap()
        .swift()
        .put_object(
            "lifeboat-manifests",
            &lifeboat_actions::mapping::object_name(source),
            doc.as_bytes().to_vec(),
            "application/yaml",
        )
        .await
        .unwrap();
}

/// Until every volume of `ids` at `site` has a replica at the other site
/// that holds what it holds (bounded: the emulator's lag is 200 ms).
pub async fn replicas_caught_up(env: &Env, site: lifeboat_emulator::Site, ids: &[String]) {
    let start = std::time::Instant::now();
    loop {
        let behind: Vec<&String> = ids
            .iter()
            .filter(|id| {
                let replica = env
                    .emu
                    .replica_checksum(site.other(), &format!("volume-{id}"));
                replica.is_none() || replica != env.emu.volume_checksum(site, id)
            })
            .collect();
        if behind.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(15),
            "replicas of {site:?} still behind: {behind:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The volumes at `site` adopted from replicas: (id, the source's id).
pub async fn adopted(env: &Env, site: &str) -> Vec<(String, String)> {
    let vols = env.api(site, "volume", "/volumes/detail").await;
    vols["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| !s(&v["metadata"], "replicated_from").is_empty())
        .map(|v| {
            (
                s(v, "id").to_string(),
                s(&v["metadata"], "replicated_from").to_string(),
            )
        })
        .collect()
}

/// Roll `run` back: it ends rolled back, every compensation done; the
/// rollback.
pub async fn rolled_back(env: &Env, run: &Run) -> Run {
    let rb = env.decide(run, lifeboat_exec::Decision::Rollback).await;
    assert!(
        matches!(
            rb.result.outcome,
            lifeboat_exec::RunOutcome::RolledBack { .. }
        ),
        "{:?}",
        rb.result.outcome
    );
    assert_eq!(rb.result.compensation_failures, 0, "{:?}", rb.result);
    rb
}
