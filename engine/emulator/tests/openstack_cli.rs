//! The stock `openstack` CLI (python-openstackclient) against the emulator.
//! Runs when LIFEBOAT_OPENSTACK_CLI points to the `openstack` executable
//! (see .ci/install-openstackclient.sh); without it the test fails when `CI`
//! is set and is skipped locally.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use lifeboat_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

struct Osc {
    exe: PathBuf,
    clouds: PathBuf,
}

impl Osc {
    /// Run `openstack --os-cloud CLOUD args...`; returns stdout, panics with stderr on failure.
    fn run(&self, cloud: &str, args: &[&str]) -> String {
        let out = Command::new(&self.exe)
            .args(["--os-cloud", cloud])
            .args(args)
            .env("OS_CLIENT_CONFIG_FILE", &self.clouds)
            .env("PYTHONWARNINGS", "ignore")
            .env_remove("OS_CLOUD")
            .env_remove("OS_AUTH_URL")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.exe.display()));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "openstack {args:?} failed:\n{}\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
    fn json(&self, cloud: &str, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-f", "json"]);
        let out = self.run(cloud, &a);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("openstack {args:?}: not JSON ({e}): {out}"))
    }
    /// Poll a `show` until `field` equals `want`.
    fn wait(&self, cloud: &str, args: &[&str], field: &str, want: &str) -> Value {
        let start = Instant::now();
        loop {
            let v = self.json(cloud, args);
            if v[field].as_str() == Some(want) {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{args:?}: {field} never became {want}: {v}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The emulator and the CLI, or `None` (skipped locally without the CLI).
fn start() -> Option<(
    tokio::runtime::Runtime,
    lifeboat_emulator::EmulatorHandle,
    Osc,
    PathBuf,
)> {
    let exe = match std::env::var_os("LIFEBOAT_OPENSTACK_CLI") {
        Some(p) => PathBuf::from(p),
        None => {
            if std::env::var_os("CI").is_some() {
                panic!("LIFEBOAT_OPENSTACK_CLI is not set: in CI run `export LIFEBOAT_OPENSTACK_CLI=$(.ci/install-openstackclient.sh)` first");
            }
            eprintln!("skipped: set LIFEBOAT_OPENSTACK_CLI to the `openstack` executable (.ci/install-openstackclient.sh) to run this test");
            return None;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let handle = rt
        .block_on(Emulator::start(EmulatorConfig::fast()))
        .expect("emulator");
    let dir = std::env::temp_dir().join(format!(
        "lifeboat-osc-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let clouds = dir.join("clouds.yaml");
    handle.write_clouds_yaml(&clouds).expect("clouds.yaml");
    Some((rt, handle, Osc { exe, clouds }, dir))
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn stock_openstack_cli_works_against_the_emulator() {
    let Some((rt, handle, osc, dir)) = start() else {
        return;
    };
    let a = "emulator-site-a";

    // token issue
    let tok = osc.json(a, &["token", "issue"]);
    assert!(tok["id"].as_str().is_some_and(|t| !t.is_empty()), "{tok}");
    assert_eq!(tok["project_id"].as_str().map(|p| p.len()), Some(32));
    let tok_ac = osc.json("emulator-appcred", &["token", "issue"]);
    assert_eq!(tok_ac["project_id"], tok["project_id"]);

    // server list --tags, server show
    let list = osc.json(a, &["server", "list", "--tags", "vims"]);
    let mut names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["Name"].as_str())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "vims-app-1",
            "vims-app-2",
            "vims-db-1",
            "vims-db-2",
            "vims-lb-1",
            "vims-lb-2"
        ]
    );
    assert_eq!(
        osc.json(a, &["server", "list", "--tags", "nope"])
            .as_array()
            .map(|l| l.len()),
        Some(0)
    );
    assert_eq!(
        osc.json("emulator-site-b", &["server", "list"])
            .as_array()
            .map(|l| l.len()),
        Some(0)
    );
    let show = osc.json(a, &["server", "show", "vims-db-1"]);
    assert_eq!(show["status"], "ACTIVE");
    assert_eq!(show["name"], "vims-db-1");

    // server pause / unpause
    osc.run(a, &["server", "pause", "vims-db-1"]);
    osc.wait(a, &["server", "show", "vims-db-1"], "status", "PAUSED");
    osc.run(a, &["server", "unpause", "vims-db-1"]);
    osc.wait(a, &["server", "show", "vims-db-1"], "status", "ACTIVE");

    // volume list
    let vols = osc.json(a, &["volume", "list"]);
    let vols = vols.as_array().expect("volumes");
    assert_eq!(vols.len(), 12);
    assert!(vols
        .iter()
        .any(|v| v["Name"] == "vims-db-1-data" && v["Status"] == "in-use"));

    // volume snapshot create (of an available volume: OSC 10.5 at 3.65 sends no `force`)
    osc.run(a, &["volume", "create", "--size", "1", "cli-vol"]);
    osc.wait(a, &["volume", "show", "cli-vol"], "status", "available");
    let snap = osc.json(
        a,
        &[
            "volume", "snapshot", "create", "--volume", "cli-vol", "cli-snap",
        ],
    );
    assert_eq!(snap["name"], "cli-snap");
    osc.wait(
        a,
        &["volume", "snapshot", "show", "cli-snap"],
        "status",
        "available",
    );

    // volume backup create (full, then --incremental), backup show
    osc.run(
        a,
        &[
            "volume",
            "backup",
            "create",
            "--force",
            "--name",
            "cli-full",
            "vims-db-1-data",
        ],
    );
    let full = osc.wait(
        a,
        &["volume", "backup", "show", "cli-full"],
        "status",
        "available",
    );
    assert_eq!(full["is_incremental"], false);
    osc.run(
        a,
        &[
            "volume",
            "backup",
            "create",
            "--force",
            "--incremental",
            "--name",
            "cli-inc",
            "vims-db-1-data",
        ],
    );
    let inc = osc.wait(
        a,
        &["volume", "backup", "show", "cli-inc"],
        "status",
        "available",
    );
    assert_eq!(inc["is_incremental"], true);
    assert!(inc["object_count"].as_u64().is_some(), "{inc}");
    assert!(
        inc["object_count"].as_u64() < full["object_count"].as_u64(),
        "incremental moves fewer blocks: {inc} vs {full}"
    );

    // image show of a volume-backed server's createImage
    osc.run(
        a,
        &[
            "server",
            "image",
            "create",
            "--name",
            "cli-img",
            "vims-db-1",
        ],
    );
    let img = osc.wait(a, &["image", "show", "cli-img"], "status", "active");
    let bdm = img["properties"]["block_device_mapping"]
        .as_str()
        .unwrap_or_else(|| panic!("no block_device_mapping: {img}"));
    assert!(bdm.contains("snapshot_id"), "{bdm}");
    assert_eq!(img["properties"]["bdm_v2"], "True");

    // object create / object list (site-b's object store)
    let b = "emulator-site-b";
    let file = dir.join("manifest.txt");
    std::fs::write(&file, "abc").expect("file");
    osc.run(b, &["container", "create", "lifeboat-manifests"]);
    let created = osc.json(
        b,
        &[
            "object",
            "create",
            "lifeboat-manifests",
            file.to_str().expect("path"),
        ],
    );
    assert_eq!(
        created[0]["etag"], "900150983cd24fb0d6963f7d28e17f72",
        "ETag is the MD5 of the content"
    );
    let objs = osc.json(b, &["object", "list", "lifeboat-manifests"]);
    assert!(
        objs.as_array().expect("objects").iter().any(|o| o["Name"]
            .as_str()
            .is_some_and(|n| n.ends_with("manifest.txt"))),
        "{objs}"
    );
    // Site-a's store does not have it.
    assert!(osc
        .json(a, &["container", "list"])
        .as_array()
        .expect("containers")
        .iter()
        .all(|c| c["Name"] != "lifeboat-manifests"));

    // Networking: the everyday listings, and a port's life.
    let nets = osc.json(a, &["network", "list"]);
    let net_names: Vec<&str> = nets
        .as_array()
        .expect("networks")
        .iter()
        .filter_map(|n| n["Name"].as_str())
        .collect();
    for want in ["mgmt", "signalling", "media", "public", "mgmt-test"] {
        assert!(
            net_names.contains(&want),
            "{want} missing from {net_names:?}"
        );
    }
    let subnets = osc.json(a, &["subnet", "list", "--network", "mgmt"]);
    assert_eq!(subnets[0]["Subnet"], "10.1.0.0/16", "{subnets}");
    let ports = osc.json(a, &["port", "list", "--server", "vims-lb-1"]);
    assert_eq!(ports.as_array().map(|p| p.len()), Some(2), "{ports}");
    let rules = osc.json(a, &["security", "group", "rule", "list", "vims-lb"]);
    assert!(
        rules
            .as_array()
            .expect("rules")
            .iter()
            .any(|r| r["Port Range"] == "443:443"),
        "{rules}"
    );
    let fips = osc.json(a, &["floating", "ip", "list"]);
    assert_eq!(fips.as_array().map(|f| f.len()), Some(1), "{fips}");
    let groups = osc.json(a, &["server", "group", "list"]);
    assert_eq!(groups.as_array().map(|g| g.len()), Some(3), "{groups}");
    let keys = osc.json(a, &["keypair", "list"]);
    assert_eq!(keys[0]["Name"], "vims-ops", "{keys}");
    let port = osc.json(
        b,
        &[
            "port",
            "create",
            "--network",
            "mgmt",
            "--fixed-ip",
            "ip-address=10.1.0.250",
            "--mac-address",
            "fa:16:3e:aa:bb:cc",
            "cli-port",
        ],
    );
    assert_eq!(port["mac_address"], "fa:16:3e:aa:bb:cc", "{port}");
    let shown = osc.json(b, &["port", "show", "cli-port"]);
    assert!(
        shown["fixed_ips"].to_string().contains("10.1.0.250"),
        "{shown}"
    );
    osc.run(b, &["port", "delete", "cli-port"]);
    assert_eq!(
        osc.json(b, &["port", "list", "--network", "mgmt"])
            .as_array()
            .map(|p| p.len()),
        Some(0)
    );

    rt.block_on(handle.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
}

/// An operator's everyday commands at the backup site, with their options,
/// behave as real Nova, Cinder and Neutron do: a server booted from a
/// volume on a fixed IP, with a key pair, zone, group hint, property and
/// tag; deleted, it frees its volume and deletes the port Nova made, but
/// only unbinds a port the operator made; snapshots, backups (restored into
/// a new volume) and volumes deleted.
#[test]
fn everyday_operator_commands_behave_as_real_services_do() {
    let Some((rt, handle, osc, dir)) = start() else {
        return;
    };
    let b = "emulator-site-b";
    let key = dir.join("ops.pub");
    std::fs::write(
        &key,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCzFPyOwOP1IMlffiHxzRxEAo7rrkjDDL4/PYlp9QDf ops@dr\n",
    )
    .unwrap();
    let kp = osc.json(
        b,
        &[
            "keypair",
            "create",
            "--public-key",
            key.to_str().unwrap(),
            "ops",
        ],
    );
    assert_eq!(kp["name"], "ops", "{kp}");
    let g = osc.json(
        b,
        &[
            "server",
            "group",
            "create",
            "--policy",
            "anti-affinity",
            "tier",
        ],
    );
    let gid = g["id"].as_str().expect("group id").to_string();
    osc.run(
        b,
        &[
            "volume", "create", "--size", "1", "--type", "standard", "boot-1",
        ],
    );
    let v = osc.wait(b, &["volume", "show", "boot-1"], "status", "available");
    assert_eq!(v["type"], "standard", "{v}");
    let mgmt = osc.json(b, &["network", "show", "mgmt"]);
    let nic = format!(
        "net-id={},v4-fixed-ip=10.1.0.77",
        mgmt["id"].as_str().unwrap()
    );
    let hint = format!("group={gid}");
    let srv = osc.json(
        b,
        &[
            "server",
            "create",
            "--flavor",
            "m1.small",
            "--volume",
            "boot-1",
            "--nic",
            &nic,
            "--key-name",
            "ops",
            "--availability-zone",
            "nova",
            "--hint",
            &hint,
            "--property",
            "role=db",
            "--tag",
            "vims",
            "--wait",
            "db-1",
        ],
    );
    assert_eq!(srv["status"], "ACTIVE", "{srv}");
    assert_eq!(srv["key_name"], "ops", "{srv}");
    assert_eq!(srv["OS-EXT-AZ:availability_zone"], "nova", "{srv}");
    assert_eq!(srv["addresses"]["mgmt"][0], "10.1.0.77", "{srv}");
    assert_eq!(srv["properties"]["role"], "db", "{srv}");
    assert_eq!(srv["tags"][0], "vims", "{srv}");
    // The hint put it in the group (the SDK sends `OS-SCH-HNT:scheduler_hints`).
    let g = osc.json(b, &["server", "group", "show", "tier"]);
    assert_eq!(g["members"][0], srv["id"], "{g}");
    assert_eq!(
        osc.json(b, &["volume", "show", "boot-1"])["status"],
        "in-use"
    );
    let ports = osc.json(b, &["port", "list", "--server", "db-1"]);
    assert_eq!(ports.as_array().map(|p| p.len()), Some(1), "{ports}");
    // A port the operator made, booted on, then the server deleted: the
    // port stays, unbound; Nova's own port goes with its server.
    let p = osc.json(b, &["port", "create", "--network", "mgmt", "kept"]);
    osc.run(b, &["volume", "create", "--size", "1", "boot-2"]);
    osc.wait(b, &["volume", "show", "boot-2"], "status", "available");
    osc.json(
        b,
        &[
            "server", "create", "--flavor", "m1.small", "--volume", "boot-2", "--port", "kept",
            "--wait", "db-2",
        ],
    );
    assert_eq!(
        osc.json(b, &["port", "show", "kept"])["device_owner"],
        "compute:nova"
    );
    osc.run(b, &["server", "delete", "--wait", "db-1", "db-2"]);
    let kept = osc.json(b, &["port", "show", "kept"]);
    assert_eq!(
        (kept["id"].clone(), kept["device_id"].as_str()),
        (p["id"].clone(), Some("")),
        "{kept}"
    );
    assert_eq!(kept["status"], "DOWN", "{kept}");
    let left = osc.json(b, &["port", "list", "--network", "mgmt"]);
    assert_eq!(
        left.as_array().map(|l| l.len()),
        Some(1),
        "only the operator's port: {left}"
    );
    assert_eq!(
        osc.json(b, &["server", "group", "show", "tier"])["members"],
        serde_json::json!([])
    );
    osc.wait(b, &["volume", "show", "boot-1"], "status", "available");
    // Snapshot, backup, restore into a new volume, and every delete.
    osc.run(
        b,
        &[
            "volume", "snapshot", "create", "--volume", "boot-1", "snap-1",
        ],
    );
    osc.wait(
        b,
        &["volume", "snapshot", "show", "snap-1"],
        "status",
        "available",
    );
    osc.run(b, &["volume", "snapshot", "delete", "snap-1"]);
    osc.run(
        b,
        &["volume", "backup", "create", "--name", "bk-1", "boot-1"],
    );
    osc.wait(
        b,
        &["volume", "backup", "show", "bk-1"],
        "status",
        "available",
    );
    osc.run(b, &["volume", "backup", "restore", "bk-1", "restored-1"]);
    let r = osc.wait(b, &["volume", "show", "restored-1"], "status", "available");
    assert_eq!(r["size"], 1, "{r}");
    osc.run(b, &["volume", "backup", "delete", "bk-1"]);
    osc.run(b, &["volume", "delete", "boot-1", "boot-2", "restored-1"]);
    let start = Instant::now();
    loop {
        let (vols, snaps, bks) = (
            osc.json(b, &["volume", "list"]),
            osc.json(b, &["volume", "snapshot", "list"]),
            osc.json(b, &["volume", "backup", "list"]),
        );
        if [&vols, &snaps, &bks]
            .iter()
            .all(|l| l.as_array().is_some_and(|a| a.is_empty()))
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "left: {vols} {snaps} {bks}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    osc.run(b, &["port", "delete", "kept"]);
    osc.run(b, &["server", "group", "delete", "tier"]);
    osc.run(b, &["keypair", "delete", "ops"]);
    assert_eq!(osc.json(b, &["keypair", "list"]), serde_json::json!([]));
    rt.block_on(handle.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
}
