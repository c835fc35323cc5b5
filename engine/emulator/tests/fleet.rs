//! A generated fleet (N VNFs × M VMs) and a topology read from YAML: the
//! emulator seeds them, lists them with pagination and tag filters, and keeps
//! its workload going.

mod common;

use std::time::Duration;

use common::Cloud;
use lifeboat_emulator::{EmulatorConfig, Site, Topology};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_fleet_lists_and_filters() {
    let mut cfg = EmulatorConfig::fast();
    cfg.topology = Topology::generate(40, 6);
    let c = Cloud::with(cfg).await;
    // Walk every page of 100.
    let mut url = Some(format!("{}/servers?limit=100", c.compute(Site::A)));
    let mut seen = 0;
    while let Some(u) = url {
        let r = c.get(&u, Some("compute 2.96")).await;
        assert_eq!(r.status, StatusCode::OK);
        seen += r.body["servers"].as_array().map(|a| a.len()).unwrap_or(0);
        url = r.body["servers_links"][0]["href"]
            .as_str()
            .map(str::to_string);
    }
    assert_eq!(seen, 240);
    assert_eq!(c.servers(Site::A, "?tags=vnf017").await.len(), 6);
    let v = c
        .get(
            &format!("{}/volumes?limit=1000", c.volume(Site::A)),
            Some("volume 3.64"),
        )
        .await;
    assert_eq!(v.body["volumes"].as_array().map(|a| a.len()), Some(480));
    // The workload writes across the fleet.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let st = c
        .admin(reqwest::Method::GET, "/_emulator/status", None)
        .await;
    assert_eq!(st.body["writers"].as_object().map(|o| o.len()), Some(40));
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_from_yaml() {
    let yaml = r#"
project: ops
users:
  - name: alice
    password: s3cret
    app_credentials: [{id: ac-1, name: ci, secret: x}]
flavors: [{name: tiny, vcpus: 1, ram: 512, disk: 1}]
networks: [net0]
volume_types: [{name: fast}, {name: mirrored, specs: {replication_enabled: "<is> True"}}]
group_types: [{name: cg, specs: {consistent_group_snapshot_enabled: "<is> True"}}]
servers:
  - name: epc-db-1
    site: site-b
    flavor: tiny
    tags: [epc]
    metadata: {role: db, priority: "1", vnf: epc}
    networks: [net0]
    boot_volume: {size_gb: 1}
    data_volumes: [{size_gb: 2, volume_type: mirrored}]
"#;
    let mut cfg = EmulatorConfig::fast();
    cfg.topology = Topology::from_yaml_str(yaml).expect("topology");
    let h = lifeboat_emulator::Emulator::start(cfg)
        .await
        .expect("start");
    let y = h.clouds_yaml();
    assert!(
        y.contains("username: alice") && y.contains("project_name: ops"),
        "{y}"
    );
    let http = reqwest::Client::new();
    let auth = serde_json::json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "alice", "domain": {"name": "Default"}, "password": "s3cret"}}}, "scope": {"project": {"name": "ops", "domain": {"name": "Default"}}}}});
    let r = http
        .post(format!("{}/auth/tokens", h.keystone_url()))
        .json(&auth)
        .send()
        .await
        .expect("auth");
    assert_eq!(r.status(), StatusCode::CREATED);
    let tok = r
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .expect("token")
        .to_string();
    let r: serde_json::Value = http
        .get(format!(
            "{}/compute/v2.1/servers/detail?tags=epc",
            h.site_url(Site::B)
        ))
        .header("x-auth-token", &tok)
        .header("openstack-api-version", "compute 2.26")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(r["servers"][0]["name"], "epc-db-1");
    assert!(Topology::from_yaml_str("project: x\nusers: []\n").is_err());
    h.shutdown().await;
}
