//! `lifeboat emulator serve|down|up|fault|expire-tokens` as an operator runs
//! them: `serve` is a child process on ephemeral ports with a temp state dir;
//! the APIs are called over HTTP (the lifeboat-openstack client for Nova and
//! Cinder, raw HTTP for Keystone tokens); the other subcommands are separate
//! `lifeboat` processes that find the running emulator through the state dir.
//! Also: bad input gives a clear error and a non-zero exit, never a panic, and
//! SIGINT/SIGTERM stop `serve` cleanly.

use lifeboat_openstack::{Client, ConfigLoader, ErrorKind};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn lifeboat(state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
    c.env("XDG_STATE_HOME", state.join("xdg"))
        .env_remove("OS_CLOUD")
        .env_remove("OS_CLIENT_CONFIG_FILE")
        .env_remove("OS_AUTH_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    c
}

/// `lifeboat emulator ARGS --state-dir STATE`.
fn emulator(state: &Path, args: &[&str]) -> Output {
    lifeboat(state)
        .arg("emulator")
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .output()
        .expect("lifeboat runs")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A clear refusal: non-zero exit, `error:` on stderr saying `what`, no panic.
fn refused(o: &Output, what: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", text(o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error:") && err.contains(what),
        "expected an error about `{what}`:\n{}",
        text(o)
    );
    assert!(!err.contains("panicked"), "{}", text(o));
}

/// A running `lifeboat emulator serve`; killed if a test fails before stopping it.
struct Serve {
    child: Option<Child>,
    state: PathBuf,
    log: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Serve {
    fn start(state: &Path, extra: &[&str]) -> Serve {
        std::fs::create_dir_all(state).expect("state dir");
        let log = state.join("serve.log");
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let child = lifeboat(state)
            .args(["emulator", "serve", "--port", "0", "--fast", "--state-dir"])
            .arg(state)
            .args(extra)
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("serve starts");
        let mut s = Serve {
            child: Some(child),
            state: state.to_path_buf(),
            log,
        };
        s.wait_ready();
        s
    }

    fn info_path(&self) -> PathBuf {
        self.state.join("emulator/emulator.json")
    }

    fn clouds(&self) -> PathBuf {
        self.state.join("emulator/clouds.yaml")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Until serve has written clouds.yaml and then emulator.json (its admin URL).
    fn wait_ready(&mut self) {
        let t0 = Instant::now();
        while !self.info_path().exists() {
            if let Some(st) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("serve exited early ({st}):\n{}", self.log());
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "serve never became ready:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(self.clouds().exists(), "emulator.json before clouds.yaml");
    }

    fn admin_url(&self) -> String {
        let info: Value = serde_json::from_str(
            &std::fs::read_to_string(self.info_path()).expect("emulator.json"),
        )
        .expect("json");
        info["admin_url"].as_str().expect("admin_url").to_string()
    }

    /// `GET /_emulator/status` over HTTP.
    fn status(&self) -> Value {
        let (code, body) =
            lifeboat_emulator::admin_request(&self.admin_url(), "GET", "/_emulator/status", None)
                .expect("admin answers");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("status json")
    }

    fn site_url(&self, site: &str) -> String {
        self.status()["sites"][site]["url"]
            .as_str()
            .expect("site url")
            .to_string()
    }

    fn client(&self, site: &str) -> Client {
        let mut env = BTreeMap::new();
        env.insert(
            "OS_CLIENT_CONFIG_FILE".to_string(),
            self.clouds().display().to_string(),
        );
        let cfg = ConfigLoader::new(env, vec![])
            .load(Some("emulator"))
            .expect("clouds.yaml loads")
            .with_region(site);
        Client::new(site, cfg).expect("client")
    }

    /// Send `sig` to serve and wait for its exit (at most 20 s).
    fn stop(&mut self, sig: &str) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        let k = Command::new("kill")
            .args([&format!("-{sig}"), &c.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(k.success());
        let t0 = Instant::now();
        loop {
            if let Some(st) = c.try_wait().expect("wait") {
                return st;
            }
            if t0.elapsed() > Duration::from_secs(20) {
                let _ = c.kill();
                panic!("serve ignored SIG{sig}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host:port")
        .to_string()
}

/// One HTTP/1.1 exchange on a fresh connection: (status, head, body).
fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> std::io::Result<(u16, String, String)> {
    let hp = host_port(url);
    let path = format!(
        "/{}",
        url.trim_start_matches("http://")
            .split_once('/')
            .map(|x| x.1)
            .unwrap_or("")
    );
    let mut s = TcpStream::connect(&hp)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {hp}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&body);
    s.write_all(req.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((out.as_str(), ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, head.to_string(), body.to_string()))
}

fn issue_token(keystone: &str) -> String {
    let auth = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "operator", "domain": {"name": "Default"}, "password": "lifeboat"}}},
                                "scope": {"project": {"name": "vnf-ops", "domain": {"name": "Default"}}}}});
    let (code, head, body) = http("POST", &format!("{keystone}/auth/tokens"), &[], Some(&auth))
        .expect("keystone answers");
    assert_eq!(code, 201, "{head}\n{body}");
    head.lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("x-subject-token"))
                .map(|(_, v)| v.trim().to_string())
        })
        .expect("X-Subject-Token")
}

#[test]
fn serve_down_up_fault_expire_and_sigint() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = tmp.path().join("state");
    let mut serve = Serve::start(&state, &[]);
    let log = serve.log();
    assert!(
        log.contains("export OS_CLIENT_CONFIG_FILE=") && log.contains("OS_CLOUD=emulator"),
        "serve prints the OS_CLOUD hints:\n{log}"
    );
    let clouds = std::fs::read_to_string(serve.clouds()).expect("clouds.yaml");
    assert!(
        clouds.contains("emulator-site-a")
            && clouds.contains("emulator-site-b")
            && !clouds.contains(":5100"),
        "ephemeral ports in clouds.yaml:\n{clouds}"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (a, b) = (serve.client("site-a"), serve.client("site-b"));
    let servers = rt
        .block_on(a.nova().servers_with_tag("vims"))
        .expect("site-a servers");
    assert_eq!(servers.len(), 6, "the demo VNF at site-a");
    rt.block_on(b.cinder().volumes(&[]))
        .expect("site-b volumes");
    let site_a = serve.site_url("site-a");
    let site_b = serve.site_url("site-b");

    // down site-a: connections to site-a refused, site-b and Keystone still answer.
    let o = emulator(&state, &["down", "site-a"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(r#""settled":true"#),
        "down answers once the port is closed: {}",
        text(&o)
    );
    assert_eq!(serve.status()["sites"]["site-a"]["down"], json!(true));
    let e = TcpStream::connect(host_port(&site_a)).expect_err("site-a refuses connections");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
    let e = rt
        .block_on(a.nova().servers_with_tag("vims"))
        .expect_err("site-a is down");
    assert_eq!(e.kind, ErrorKind::Connection, "{e}");
    assert!(e.is_transient());
    rt.block_on(b.nova().servers_with_tag("vims"))
        .expect("site-b still answers");
    rt.block_on(b.cinder().volumes(&[]))
        .expect("site-b still answers");

    // up site-a: it answers again, same world.
    let o = emulator(&state, &["up", "site-a"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        rt.block_on(a.nova().servers_with_tag("vims"))
            .expect("site-a is back")
            .len(),
        6
    );
    assert_eq!(serve.status()["sites"]["site-a"]["down"], json!(false));

    // fault --profile: every compute call at site-b answers 503; fault shows it; --clear removes it.
    let profile = tmp.path().join("faults.yaml");
    std::fs::write(
        &profile,
        "rules:\n  - {site: site-b, service: compute, error_rate: 1.0, error_status: 503}\n",
    )
    .expect("profile");
    let o = emulator(
        &state,
        &["fault", "--profile", profile.to_str().expect("utf8")],
    );
    assert!(o.status.success(), "{}", text(&o));
    let e = rt
        .block_on(b.nova().servers_with_tag("vims"))
        .expect_err("injected 503");
    assert_eq!((e.kind, e.status), (ErrorKind::Server, Some(503)), "{e}");
    rt.block_on(a.nova().servers_with_tag("vims"))
        .expect("site-a unaffected");
    let o = emulator(&state, &["fault"]);
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("error_rate"),
        "{}",
        text(&o)
    );
    let o = emulator(&state, &["fault", "--clear"]);
    assert!(o.status.success(), "{}", text(&o));
    rt.block_on(b.nova().servers_with_tag("vims"))
        .expect("faults cleared");

    // A bad profile is refused and changes nothing.
    std::fs::write(&profile, "rules:\n  - {site: site-b, error_rate: lots}\n").expect("profile");
    refused(
        &emulator(
            &state,
            &["fault", "--profile", profile.to_str().expect("utf8")],
        ),
        "fault profile",
    );
    rt.block_on(b.nova().servers_with_tag("vims"))
        .expect("still no faults");

    // expire-tokens: a token that worked answers 401 afterwards; a new one works.
    let keystone = serve.status()["keystone"]
        .as_str()
        .expect("keystone")
        .to_string();
    let token = issue_token(&keystone);
    let servers_url = format!("{site_b}/compute/v2.1/servers");
    assert_eq!(
        http("GET", &servers_url, &[("X-Auth-Token", &token)], None)
            .expect("site-b")
            .0,
        200
    );
    let o = emulator(&state, &["expire-tokens"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        http("GET", &servers_url, &[("X-Auth-Token", &token)], None)
            .expect("site-b")
            .0,
        401
    );
    let fresh = issue_token(&keystone);
    assert_eq!(
        http("GET", &servers_url, &[("X-Auth-Token", &fresh)], None)
            .expect("site-b")
            .0,
        200
    );

    // Bad input against a running emulator: clear errors, nothing changed.
    refused(
        &emulator(&state, &["down", "site-c"]),
        "unknown site `site-c`",
    );
    refused(&emulator(&state, &["up", "SITE-A"]), "unknown site");
    assert_eq!(serve.status()["sites"]["site-a"]["down"], json!(false));
    let o = emulator(&state, &["down"]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("panicked"),
        "{}",
        text(&o)
    );
    refused(
        &emulator(&state, &["fault", "--profile", "/nonexistent/faults.yaml"]),
        "cannot read",
    );

    // SIGINT: serve exits 0, removes emulator.json, closes its ports.
    let st = serve.stop("INT");
    assert!(st.success(), "serve after SIGINT: {st}\n{}", serve.log());
    assert!(!serve.info_path().exists(), "emulator.json left behind");
    for url in [&keystone, &site_a, &site_b] {
        assert!(
            TcpStream::connect(host_port(url)).is_err(),
            "{url} still open after SIGINT"
        );
    }
    // No emulator running any more: a clear error.
    refused(
        &emulator(&state, &["down", "site-a"]),
        "no running emulator found",
    );
}

#[test]
fn serve_with_topology_and_profile_then_sigterm() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = tmp.path().join("state");
    let topo = tmp.path().join("topology.yaml");
    let gen = lifeboat_emulator::Topology::generate(2, 3);
    std::fs::write(&topo, gen.to_yaml()).expect("topology");
    let profile = tmp.path().join("faults.yaml");
    std::fs::write(
        &profile,
        "rules:\n  - {site: site-a, service: volume, error_rate: 1.0, error_status: 500}\n",
    )
    .expect("profile");
    let mut serve = Serve::start(
        &state,
        &[
            "--topology",
            topo.to_str().expect("utf8"),
            "--profile",
            profile.to_str().expect("utf8"),
        ],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let a = serve.client("site-a");
    assert_eq!(
        rt.block_on(a.nova().servers_with_tag("vnf001"))
            .expect("servers")
            .len(),
        3,
        "the generated topology is served"
    );
    let e = rt
        .block_on(a.cinder().volumes(&[]))
        .expect_err("the profile is active from the start");
    assert_eq!(e.status, Some(500), "{e}");
    let st = serve.stop("TERM");
    assert!(st.success(), "serve after SIGTERM: {st}\n{}", serve.log());
    assert!(
        !serve.info_path().exists(),
        "emulator.json left behind after SIGTERM"
    );
}

#[test]
fn serve_and_commands_refuse_bad_input() {
    let tmp = tempfile::tempdir().expect("tmp");
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&state).expect("state");
    // No emulator was ever started here.
    for args in [
        &["down", "site-a"][..],
        &["up", "site-b"],
        &["fault", "--clear"],
        &["expire-tokens"],
    ] {
        refused(&emulator(&state, args), "no running emulator found");
    }
    // A stale emulator.json (serve was killed): the admin URL does not answer.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = dead.local_addr().expect("addr").port();
    drop(dead);
    std::fs::create_dir_all(state.join("emulator")).expect("dir");
    std::fs::write(
        state.join("emulator/emulator.json"),
        json!({"admin_url": format!("http://127.0.0.1:{port}"), "clouds_yaml": "x", "pid": 1})
            .to_string(),
    )
    .expect("info");
    refused(&emulator(&state, &["down", "site-a"]), "did not answer");
    // serve: a missing topology, a malformed profile, a port range past 65535.
    refused(
        &emulator(
            &state,
            &[
                "serve",
                "--port",
                "0",
                "--topology",
                "/nonexistent/topology.yaml",
            ],
        ),
        "topology",
    );
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "latency: {kind: sometimes}\n").expect("bad");
    refused(
        &emulator(
            &state,
            &[
                "serve",
                "--port",
                "0",
                "--profile",
                bad.to_str().expect("utf8"),
            ],
        ),
        "fault profile",
    );
    refused(&emulator(&state, &["serve", "--port", "65535"]), "--port");
    // A port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let p = taken.local_addr().expect("addr").port().to_string();
    refused(
        &emulator(&state, &["serve", "--port", &p]),
        "cannot start the emulator",
    );
}

/// A long-lived lifeboat process (here `emulator serve`; `daemon`, `run`
/// and the other commands that carry out runs alike) runs without
/// transparent huge pages (`lifeboat_daemon::memory`).
#[test]
fn a_long_lived_process_runs_without_huge_pages() {
    let tmp = tempfile::tempdir().expect("tmp");
    let serve = Serve::start(&tmp.path().join("state"), &[]);
    let pid = serve.child.as_ref().expect("running").id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let Some(thp) = status.lines().find_map(|l| l.strip_prefix("THP_enabled:")) else {
        eprintln!("skipped: this kernel does not report THP_enabled");
        return;
    };
    assert_eq!(thp.trim(), "0", "{status}");
}
