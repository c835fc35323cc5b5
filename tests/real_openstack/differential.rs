//! Differential check of the emulator against real OpenStack.
//!
//! One fixed script of the requests Lifeboat's actions make (same paths,
//! microversions and bodies as lifeboat-openstack sends) runs against the
//! real site-b and against the emulator's site-b (started in-process). Each
//! side keeps its own ids (captured from its own answers). For every step the
//! answers are compared: status, the headers that matter
//! (OpenStack-API-Version and the Nova legacy header by value; X-Subject-Token,
//! Location, ETag by presence; Content-Type by media type) and the body's
//! shape (every field path with its JSON type; list items merged).
//!
//! Every difference must be listed, with its reason, in
//! tests/real-openstack/differential-allowlist.md; anything else fails the
//! test. Both sides' observations and the differences are written to
//! BASE/differential.json.

use crate::support::stack_or_skip;
use lifeboat_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// One request of the script. `{var}` in path and body is replaced by what
/// an earlier step captured on the same side.
struct Step {
    name: &'static str,
    service: &'static str,
    method: &'static str,
    path: &'static str,
    mv: Option<&'static str>,
    body: Option<Value>,
    /// Poll (the same GET) until the JSON pointer equals the value.
    wait: Option<(&'static str, &'static str)>,
    capture: &'static [(&'static str, &'static str)],
}

fn step(
    name: &'static str,
    service: &'static str,
    method: &'static str,
    path: &'static str,
    mv: Option<&'static str>,
) -> Step {
    Step {
        name,
        service,
        method,
        path,
        mv,
        body: None,
        wait: None,
        capture: &[],
    }
}
impl Step {
    fn body(mut self, b: Value) -> Self {
        self.body = Some(b);
        self
    }
    fn wait(mut self, ptr: &'static str, want: &'static str) -> Self {
        self.wait = Some((ptr, want));
        self
    }
    fn capture(mut self, c: &'static [(&'static str, &'static str)]) -> Self {
        self.capture = c;
        self
    }
}

const NOVA: Option<&str> = Some("compute 2.96");
const V_VOL: Option<&str> = Some("volume 3.13");
const V_GS: Option<&str> = Some("volume 3.14");
const V_GRP: Option<&str> = Some("volume 3.25");
const V_BK: Option<&str> = Some("volume 3.43");

/// The script: what option 1's actions send, in their order, on one site.
fn script() -> Vec<Step> {
    vec![
        step("servers by tag", "compute", "GET", "servers/detail?tags=vims", NOVA),
        step("flavors", "compute", "GET", "flavors/detail", NOVA),
        step("default group type", "block-storage", "GET", "group_types/default", V_GRP).capture(&[("gt", "/group_type/id")]),
        step("create volume", "block-storage", "POST", "volumes", V_VOL).body(json!({"volume": {"name": "diff-v-{run}", "size": 1, "metadata": {"lifeboat_tag": "diff"}}})).capture(&[("vol", "/volume/id")]),
        step("show volume (available)", "block-storage", "GET", "volumes/{vol}", V_VOL).wait("/volume/status", "available").capture(&[("vtype", "/volume/volume_type")]),
        step("volumes by name", "block-storage", "GET", "volumes/detail?name=diff-v-{run}", V_VOL),
        step("set bootable", "block-storage", "POST", "volumes/{vol}/action", V_VOL).body(json!({"os-set_bootable": {"bootable": true}})),
        step("create group", "block-storage", "POST", "groups", V_GRP).body(json!({"group": {"name": "lb-diff-g", "description": "lifeboat consistency group", "group_type": "{gt}", "volume_types": ["{vtype}"]}})).capture(&[("grp", "/group/id")]),
        step("show group (available)", "block-storage", "GET", "groups/{grp}?list_volume=True", V_GRP).wait("/group/status", "available"),
        step("add volume to group", "block-storage", "PUT", "groups/{grp}", V_GRP).body(json!({"group": {"add_volumes": "{vol}"}})),
        step("show group after add", "block-storage", "GET", "groups/{grp}?list_volume=True", V_GRP).wait("/group/volumes/0", "{vol}"),
        // Lists everything at site-b: on a fresh stack (CI) only this run's group.
        step("groups", "block-storage", "GET", "groups/detail?list_volume=True", V_GRP),
        step("create group snapshot", "block-storage", "POST", "group_snapshots", V_GS).body(json!({"group_snapshot": {"group_id": "{grp}", "name": "lb-diff-gs"}})).capture(&[("gs", "/group_snapshot/id")]),
        step("show group snapshot (available)", "block-storage", "GET", "group_snapshots/{gs}", V_GS).wait("/group_snapshot/status", "available"),
        step("snapshots of group snapshot", "block-storage", "GET", "snapshots/detail?group_snapshot_id={gs}", V_GS).capture(&[("snap", "/snapshots/0/id")]),
        step("show snapshot", "block-storage", "GET", "snapshots/{snap}", V_GS),
        step("snapshot metadata", "block-storage", "POST", "snapshots/{snap}/metadata", V_GS).body(json!({"metadata": {"lifeboat_origin": "{vol}"}})),
        step("volume from snapshot", "block-storage", "POST", "volumes", V_VOL).body(json!({"volume": {"name": "lb-diff-tmp", "size": 1, "snapshot_id": "{snap}", "description": "lifeboat", "metadata": {"lifeboat_origin": "{vol}"}}})).capture(&[("tmp", "/volume/id")]),
        step("show tmp volume (available)", "block-storage", "GET", "volumes/{tmp}", V_VOL).wait("/volume/status", "available"),
        step("create backup", "block-storage", "POST", "backups", V_BK).body(json!({"backup": {"volume_id": "{tmp}", "name": "lb-diff-bk-{run}", "incremental": false, "container": "lifeboat-diff", "metadata": {"lifeboat_origin": "{vol}"}}})).capture(&[("bk", "/backup/id")]),
        step("show backup (available)", "block-storage", "GET", "backups/{bk}", V_BK).wait("/backup/status", "available"),
        step("backups by name", "block-storage", "GET", "backups/detail?name=lb-diff-bk-{run}", V_BK),
        step("export record", "block-storage", "GET", "backups/{bk}/export_record", V_BK).capture(&[("svc", "/backup-record/backup_service"), ("url", "/backup-record/backup_url")]),
        step("import known record", "block-storage", "POST", "backups/import_record", V_BK).body(json!({"backup-record": {"backup_service": "{svc}", "backup_url": "{url}"}})),
        step("restore backup", "block-storage", "POST", "backups/{bk}/restore", V_BK).body(json!({"restore": {"name": "lb-diff-r"}})).capture(&[("rv", "/restore/volume_id")]),
        step("show restored volume (available)", "block-storage", "GET", "volumes/{rv}", V_VOL).wait("/volume/status", "available"),
        step("show backup after restore", "block-storage", "GET", "backups/{bk}", V_BK).wait("/backup/status", "available"),
        step("volume metadata", "block-storage", "POST", "volumes/{rv}/metadata", V_VOL).body(json!({"metadata": {"lifeboat_origin": "{vol}"}})),
        step("volume not found", "block-storage", "GET", "volumes/00000000-0000-4000-8000-000000000000", V_VOL),
        // The network identity a recovery recreates (neutron.*, nova.recreate_*).
        step("networks by name", "network", "GET", "v2.0/networks?name=mgmt", None).capture(&[("net", "/networks/0/id")]),
        step("subnets of network", "network", "GET", "v2.0/subnets?network_id={net}", None),
        step("create security group", "network", "POST", "v2.0/security-groups", None).body(json!({"security_group": {"name": "lb-diff-sg-{run}", "description": "lifeboat diff"}})).capture(&[("sg", "/security_group/id")]),
        step("create rule", "network", "POST", "v2.0/security-group-rules", None).body(json!({"security_group_rule": {"security_group_id": "{sg}", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443, "remote_ip_prefix": "0.0.0.0/0"}})),
        step("same rule again (conflict)", "network", "POST", "v2.0/security-group-rules", None).body(json!({"security_group_rule": {"security_group_id": "{sg}", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443, "remote_ip_prefix": "0.0.0.0/0"}})),
        step("security groups", "network", "GET", "v2.0/security-groups", None),
        step("security groups by id", "network", "GET", "v2.0/security-groups?id={sg}&id=00000000-0000-4000-8000-000000000000", None),
        step("create port", "network", "POST", "v2.0/ports", None).body(json!({"port": {"network_id": "{net}", "name": "lb-diff-p", "description": "lifeboat diff-{run}", "fixed_ips": [{"ip_address": "10.1.222.10"}], "mac_address": "fa:16:3e:d1:ff:01", "allowed_address_pairs": [{"ip_address": "10.1.222.100"}], "security_groups": ["{sg}"], "port_security_enabled": true, "binding:vnic_type": "normal"}})).capture(&[("port", "/port/id")]),
        step("same address (conflict)", "network", "POST", "v2.0/ports", None).body(json!({"port": {"network_id": "{net}", "fixed_ips": [{"ip_address": "10.1.222.10"}]}})),
        step("same MAC (conflict)", "network", "POST", "v2.0/ports", None).body(json!({"port": {"network_id": "{net}", "mac_address": "fa:16:3e:d1:ff:01"}})),
        step("ports by description", "network", "GET", "v2.0/ports?description=lifeboat%20diff-{run}", None),
        step("create server group", "compute", "POST", "os-server-groups", NOVA).body(json!({"server_group": {"name": "lb-diff-grp-{run}", "policy": "anti-affinity"}})).capture(&[("grp2", "/server_group/id")]),
        step("server groups", "compute", "GET", "os-server-groups", NOVA),
        step("import key pair", "compute", "POST", "os-keypairs", NOVA).body(json!({"keypair": {"name": "lb-diff-key-{run}", "type": "ssh", "public_key": lifeboat_emulator::nova::keypairs::ed25519_key("lb-diff", "lb-diff")}})),
        step("key pairs", "compute", "GET", "os-keypairs", NOVA),
        step("boot from volume", "compute", "POST", "servers", NOVA)
            .body(json!({"server": {"name": "lb-diff-s", "flavorRef": "1", "networks": [{"port": "{port}"}], "key_name": "lb-diff-key-{run}", "metadata": {"role": "db", "priority": "1"}, "block_device_mapping_v2": [{"boot_index": 0, "uuid": "{vol}", "source_type": "volume", "destination_type": "volume", "delete_on_termination": false}]}, "os:scheduler_hints": {"group": "{grp2}"}}))
            .capture(&[("srv", "/server/id")]),
        step("show server (ACTIVE)", "compute", "GET", "servers/{srv}", NOVA).wait("/server/status", "ACTIVE"),
        step("servers by name", "compute", "GET", "servers/detail?name=%5Elb-diff-s%24", NOVA),
        step("pause", "compute", "POST", "servers/{srv}/action", NOVA).body(json!({"pause": null})),
        step("show server (PAUSED)", "compute", "GET", "servers/{srv}", NOVA).wait("/server/status", "PAUSED"),
        step("pause again (conflict)", "compute", "POST", "servers/{srv}/action", NOVA).body(json!({"pause": null})),
        step("unpause", "compute", "POST", "servers/{srv}/action", NOVA).body(json!({"unpause": null})),
        step("show server (ACTIVE again)", "compute", "GET", "servers/{srv}", NOVA).wait("/server/status", "ACTIVE"),
        step("attach volume", "compute", "POST", "servers/{srv}/os-volume_attachments", NOVA).body(json!({"volumeAttachment": {"volumeId": "{rv}"}})),
        step("show attached volume (in-use)", "block-storage", "GET", "volumes/{rv}", V_VOL).wait("/volume/status", "in-use"),
        step("attachments", "compute", "GET", "servers/{srv}/os-volume_attachments", NOVA),
        step("server not found", "compute", "GET", "servers/00000000-0000-4000-8000-000000000000", NOVA),
        step("interfaces", "compute", "GET", "servers/{srv}/os-interface", NOVA),
        step("show bound port", "network", "GET", "v2.0/ports/{port}", None),
        step("public network", "network", "GET", "v2.0/networks?name=public", None).capture(&[("pub", "/networks/0/id")]),
        step("create floating ip", "network", "POST", "v2.0/floatingips", None).body(json!({"floatingip": {"floating_network_id": "{pub}", "port_id": "{port}", "description": "lifeboat diff-{run}"}})).capture(&[("fip", "/floatingip/id")]),
        step("floating ips by description", "network", "GET", "v2.0/floatingips?description=lifeboat%20diff-{run}", None),
        step("delete floating ip", "network", "DELETE", "v2.0/floatingips/{fip}", None),
        step("delete port", "network", "DELETE", "v2.0/ports/{port}", None),
        step("delete security group", "network", "DELETE", "v2.0/security-groups/{sg}", None),
        step("delete key pair", "compute", "DELETE", "os-keypairs/lb-diff-key-{run}", NOVA),
        step("images by name", "image", "GET", "v2/images?name=lb-diff-none", None),
        step("put manifest object", "object-store", "PUT", "lifeboat-diff/vims/m.json", None).body(json!({"version": 1, "vnf": "vims"})),
        step("get manifest object", "object-store", "GET", "lifeboat-diff/vims/m.json", None),
        step("list manifests", "object-store", "GET", "lifeboat-diff?format=json&prefix=vims%2F", None),
        step("missing object", "object-store", "GET", "lifeboat-diff/vims/none.json", None),
        step("missing container", "object-store", "GET", "lifeboat-diff-none?format=json", None),
        // DNS (designate.*): a VNF's name redirected and its TTL lowered.
        step("create zone", "dns", "POST", "v2/zones", None).body(json!({"name": "diff-{run}.example.", "email": "noc@diff.example", "ttl": 3600})).capture(&[("zone", "/id")]),
        step("show zone (ACTIVE)", "dns", "GET", "v2/zones/{zone}", None).wait("/status", "ACTIVE"),
        step("zones by name", "dns", "GET", "v2/zones?name=diff-{run}.example.", None),
        step("same zone again (conflict)", "dns", "POST", "v2/zones", None).body(json!({"name": "diff-{run}.example.", "email": "noc@diff.example"})),
        step("create recordset", "dns", "POST", "v2/zones/{zone}/recordsets", None).body(json!({"name": "sbc.diff-{run}.example.", "type": "A", "ttl": 3600, "records": ["192.0.2.10", "192.0.2.20"]})).capture(&[("rs", "/id")]),
        step("show recordset (ACTIVE)", "dns", "GET", "v2/zones/{zone}/recordsets/{rs}", None).wait("/status", "ACTIVE"),
        step("recordsets by name and type", "dns", "GET", "v2/recordsets?name=sbc.diff-{run}.example.&type=A", None),
        step("update recordset", "dns", "PUT", "v2/zones/{zone}/recordsets/{rs}", None).body(json!({"records": ["192.0.2.11", "192.0.2.20"], "ttl": 60})),
        step("show recordset (updated)", "dns", "GET", "v2/zones/{zone}/recordsets/{rs}", None).wait("/status", "ACTIVE"),
        step("zone after the change", "dns", "GET", "v2/zones/{zone}", None).wait("/status", "ACTIVE"),
        step("zone not found", "dns", "GET", "v2/zones/00000000-0000-4000-8000-000000000000", None),
        step("delete zone", "dns", "DELETE", "v2/zones/{zone}", None),
    ]
}

/// What one side answered to one step.
#[derive(Clone, Debug)]
struct Obs {
    status: u16,
    headers: BTreeMap<String, String>,
    shape: BTreeMap<String, String>,
    body: Value,
}

struct Side {
    name: &'static str,
    http: reqwest::Client,
    token: String,
    endpoints: BTreeMap<String, String>,
    vars: BTreeMap<String, String>,
    login: Obs,
}

async fn login(name: &'static str, keystone: &str, region: &str) -> Side {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "operator", "domain": {"name": "Default"}, "password": "lifeboat"}}}, "scope": {"project": {"name": "vnf-ops", "domain": {"name": "Default"}}}}});
    let r = http
        .post(format!("{}/auth/tokens", keystone.trim_end_matches('/')))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{name}: keystone: {e}"));
    let login = observe(r).await;
    assert_eq!(login.status, 201, "{name}: token: {}", login.body);
    let token = login
        .headers
        .get("x-subject-token")
        .cloned()
        .unwrap_or_default();
    let token = if token == "<present>" {
        String::new()
    } else {
        token
    };
    let mut endpoints = BTreeMap::new();
    for svc in login.body["token"]["catalog"].as_array().unwrap() {
        for ep in svc["endpoints"].as_array().unwrap() {
            if ep["interface"] == "public" && (ep["region_id"] == region || ep["region"] == region)
            {
                endpoints.insert(
                    svc["type"].as_str().unwrap().to_string(),
                    ep["url"]
                        .as_str()
                        .unwrap()
                        .trim_end_matches('/')
                        .to_string(),
                );
            }
        }
    }
    Side {
        name,
        http,
        token,
        endpoints,
        vars: BTreeMap::new(),
        login,
    }
}

const HEADERS_BY_VALUE: &[&str] = &["openstack-api-version", "x-openstack-nova-api-version"];
const HEADERS_BY_PRESENCE: &[&str] = &["x-subject-token", "location", "etag"];

async fn observe(r: reqwest::Response) -> Obs {
    let status = r.status().as_u16();
    let mut headers = BTreeMap::new();
    for h in HEADERS_BY_VALUE {
        if let Some(v) = r.headers().get(*h) {
            headers.insert(h.to_string(), v.to_str().unwrap_or("").to_string());
        }
    }
    for h in HEADERS_BY_PRESENCE {
        if let Some(v) = r.headers().get(*h) {
            // The token itself is needed by the caller; other values differ by nature.
            headers.insert(
                h.to_string(),
                if *h == "x-subject-token" {
                    v.to_str().unwrap_or("").to_string()
                } else {
                    "<present>".into()
                },
            );
        }
    }
    if let Some(ct) = r.headers().get("content-type") {
        headers.insert(
            "content-type".into(),
            ct.to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase(),
        );
    }
    let bytes = r.bytes().await.unwrap_or_default();
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(format!("<non-JSON body, {} bytes>", bytes.len())))
    };
    let mut shape = BTreeMap::new();
    shape_of(&body, "", &mut shape);
    Obs {
        status,
        headers,
        shape,
        body,
    }
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Field path -> JSON type; list items share the path `[]` (types merged
/// as `a|b`). Metadata maps keep their keys (they are data we set alike).
fn shape_of(v: &Value, path: &str, out: &mut BTreeMap<String, String>) {
    let here = if path.is_empty() {
        "$".to_string()
    } else {
        path.to_string()
    };
    let t = type_of(v).to_string();
    let merged = match out.get(&here) {
        Some(old) if !old.split('|').any(|x| x == t) => {
            let mut ts: BTreeSet<&str> = old.split('|').collect();
            ts.insert(&t);
            ts.into_iter().collect::<Vec<_>>().join("|")
        }
        Some(old) => old.clone(),
        None => t,
    };
    out.insert(here.clone(), merged);
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                shape_of(x, &format!("{here}.{k}"), out);
            }
        }
        Value::Array(a) => {
            for x in a {
                shape_of(x, &format!("{here}[]"), out);
            }
        }
        _ => {}
    }
}

fn subst(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = s.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

impl Side {
    async fn send(&self, st: &Step) -> Obs {
        let base = self.endpoints.get(st.service).unwrap_or_else(|| {
            panic!(
                "{}: no {} endpoint in region site-b: {:?}",
                self.name, st.service, self.endpoints
            )
        });
        let url = format!("{base}/{}", subst(st.path, &self.vars));
        let method = reqwest::Method::from_bytes(st.method.as_bytes()).unwrap();
        let mut rq = self
            .http
            .request(method, &url)
            .header("X-Auth-Token", &self.token)
            .header("Accept", "application/json");
        if let Some(mv) = st.mv {
            rq = rq.header("OpenStack-API-Version", mv);
            if mv.starts_with("compute ") {
                rq = rq.header(
                    "X-OpenStack-Nova-API-Version",
                    mv.trim_start_matches("compute "),
                );
            }
        }
        if let Some(b) = &st.body {
            let text = subst(&b.to_string(), &self.vars);
            rq = rq.header("Content-Type", "application/json").body(text);
        }
        let r = rq
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {} {url}: {e}", self.name, st.method));
        observe(r).await
    }

    async fn run(&mut self, st: &Step) -> Obs {
        let deadline = Instant::now() + Duration::from_secs(240);
        let obs = loop {
            let o = self.send(st).await;
            match st.wait {
                Some((ptr, want)) => {
                    let want = subst(want, &self.vars);
                    let got = o.body.pointer(ptr).and_then(Value::as_str).unwrap_or("");
                    if got == want {
                        break o;
                    }
                    assert!(
                        !got.to_ascii_lowercase().starts_with("error"),
                        "{}: {} went {got}: {}",
                        self.name,
                        st.name,
                        o.body
                    );
                    assert!(
                        Instant::now() < deadline,
                        "{}: {} never reached {want} (last {got})",
                        self.name,
                        st.name
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                None => break o,
            }
        };
        for (var, ptr) in st.capture {
            let v = obs.body.pointer(ptr).map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            });
            let v = v.unwrap_or_else(|| {
                panic!(
                    "{}: {}: nothing at {ptr} in {}",
                    self.name, st.name, obs.body
                )
            });
            self.vars.insert(var.to_string(), v);
        }
        obs
    }
}

/// A difference: (step, kind, path) is what the allow-list names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Diff {
    step: String,
    kind: String,
    path: String,
    real: String,
    emulator: String,
}

fn compare(step: &str, real: &Obs, emu: &Obs, out: &mut Vec<Diff>) {
    let d = |kind: &str, path: &str, r: &str, e: &str| Diff {
        step: step.into(),
        kind: kind.into(),
        path: path.into(),
        real: r.into(),
        emulator: e.into(),
    };
    if real.status != emu.status {
        out.push(d(
            "status",
            "-",
            &real.status.to_string(),
            &emu.status.to_string(),
        ));
    }
    let hk: BTreeSet<&String> = real.headers.keys().chain(emu.headers.keys()).collect();
    for k in hk {
        let (r, e) = (
            real.headers.get(k).map(String::as_str),
            emu.headers.get(k).map(String::as_str),
        );
        let (r, e) = if k == "x-subject-token" {
            (r.map(|_| "<present>"), e.map(|_| "<present>"))
        } else {
            (r, e)
        };
        if r != e {
            out.push(d(
                "header",
                k,
                r.unwrap_or("<absent>"),
                e.unwrap_or("<absent>"),
            ));
        }
    }
    let pk: BTreeSet<&String> = real.shape.keys().chain(emu.shape.keys()).collect();
    for p in pk {
        match (real.shape.get(p), emu.shape.get(p)) {
            (Some(r), None) => out.push(d("missing-in-emulator", p, r, "")),
            (None, Some(e)) => out.push(d("extra-in-emulator", p, "", e)),
            (Some(r), Some(e)) if r != e => out.push(d("type", p, r, e)),
            _ => {}
        }
    }
}

/// Allow-list entries: lines `- \`step\` \`kind\` \`path\` reason`. `*` as
/// step matches any step; a path ending in `*` matches by prefix.
fn allowlist() -> Vec<(String, String, String)> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("real-openstack/differential-allowlist.md");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    text.lines()
        .filter(|l| l.starts_with("- `"))
        .map(|l| {
            let parts: Vec<&str> = l.split('`').collect();
            assert!(
                parts.len() >= 7,
                "allow-list line not `step` `kind` `path`: {l}"
            );
            (
                parts[1].to_string(),
                parts[3].to_string(),
                parts[5].to_string(),
            )
        })
        .collect()
}

fn allowed(d: &Diff, list: &[(String, String, String)]) -> Option<usize> {
    list.iter().position(|(s, k, p)| {
        (s == "*" || s == &d.step)
            && k == &d.kind
            && (p == &d.path || (p.ends_with('*') && d.path.starts_with(p.trim_end_matches('*'))))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_answers_like_real_openstack() {
    let Some(stack) = stack_or_skip().await else {
        return;
    };
    let emu = Emulator::start(EmulatorConfig::fast())
        .await
        .expect("emulator starts");
    let mut real = login("real", "http://127.0.0.1:5000/v3", "site-b").await;
    let mut fake = login("emulator", &emu.keystone_url(), "site-b").await;

    // Names unique per run, so list filters see this run's resources only.
    let run = format!("{}", std::process::id());
    real.vars.insert("run".into(), run.clone());
    fake.vars.insert("run".into(), run);
    let mut diffs = Vec::new();
    compare("token", &real.login, &fake.login, &mut diffs);
    let mut record = Vec::new();
    let t0 = Instant::now();
    for st in script() {
        let (r, e) = (real.run(&st).await, fake.run(&st).await);
        compare(st.name, &r, &e, &mut diffs);
        record.push(json!({"step": st.name, "request": format!("{} {} {}", st.method, st.service, st.path), "microversion": st.mv,
            "real": {"status": r.status, "headers": r.headers, "shape": r.shape},
            "emulator": {"status": e.status, "headers": e.headers, "shape": e.shape}}));
    }
    eprintln!(
        "differential: {} steps on both sides in {:.1}s",
        record.len(),
        t0.elapsed().as_secs_f64()
    );

    let list = allowlist();
    let mut used = vec![false; list.len()];
    let mut unexplained = Vec::new();
    for d in &diffs {
        match allowed(d, &list) {
            Some(i) => used[i] = true,
            None => unexplained.push(d.clone()),
        }
    }
    let stale: Vec<String> = list
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(e, _)| format!("{} {} {}", e.0, e.1, e.2))
        .collect();
    let to_json = |v: &[Diff]| {
        v.iter().map(|d| json!({"step": d.step, "kind": d.kind, "path": d.path, "real": d.real, "emulator": d.emulator})).collect::<Vec<_>>()
    };
    let mut report = Map::new();
    report.insert("differences".into(), Value::Array(to_json(&diffs)));
    report.insert("unexplained".into(), Value::Array(to_json(&unexplained)));
    report.insert("stale_allowlist_entries".into(), json!(stale));
    report.insert("steps".into(), Value::Array(record));
    std::fs::write(
        stack.base.join("differential.json"),
        serde_json::to_vec_pretty(&Value::Object(report)).unwrap(),
    )
    .unwrap();
    eprintln!(
        "differential: {} differences, {} allowed, {} unexplained; {} stale allow-list entries",
        diffs.len(),
        diffs.len() - unexplained.len(),
        unexplained.len(),
        stale.len()
    );
    for s in &stale {
        eprintln!("  stale allow-list entry (no longer differs): {s}");
    }
    emu.shutdown().await;
    let lines: Vec<String> = unexplained
        .iter()
        .map(|d| {
            format!(
                "- `{}` `{}` `{}` real={} emulator={}",
                d.step, d.kind, d.path, d.real, d.emulator
            )
        })
        .collect();
    assert!(unexplained.is_empty(), "differences between real OpenStack and the emulator that the allow-list does not explain ({}):\n{}", unexplained.len(), lines.join("\n"));
}
