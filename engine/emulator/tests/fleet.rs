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
    indexed_lookups_answer_as_scans(&c).await;
    cinder_pages_keep_order_and_filters(&c).await;
    // The workload writes across the fleet.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let st = c
        .admin(reqwest::Method::GET, "/_emulator/status", None)
        .await;
    assert_eq!(st.body["writers"].as_object().map(|o| o.len()), Some(40));
    c.h.shutdown().await;
}

/// Nova answers at most its `max_limit` (1,000) server groups a request,
/// with no link to the rest; `offset` reads on, `limit` asks for fewer
/// (0: the most), anything but digits is refused. Servers too are listed
/// at most 1,000 a page, with a link to the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_lists_stop_at_max_limit() {
    let mut cfg = EmulatorConfig::fast();
    // One group per VNF and role: 340 × 3.
    cfg.topology = Topology::generate(340, 3);
    let c = Cloud::with(cfg).await;
    let list = |q: &'static str| {
        let url = format!("{}/os-server-groups{q}", c.compute(Site::A));
        let c = &c;
        async move { c.get(&url, Some("compute 2.96")).await }
    };
    let ids = |r: &common::Resp| -> Vec<String> {
        r.body["server_groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_string())
            .collect()
    };
    let first = list("").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(ids(&first).len(), 1000, "capped at max_limit");
    assert!(first.body.get("server_groups_links").is_none());
    let rest = list("?offset=1000").await;
    assert_eq!(ids(&rest).len(), 20);
    let mut all: Vec<String> = ids(&first);
    all.extend(ids(&rest));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 1020, "the two pages are every group, once");
    assert_eq!(ids(&list("?limit=5000").await).len(), 1000);
    assert_eq!(ids(&list("?limit=0").await).len(), 1000);
    assert_eq!(ids(&list("?limit=7&offset=1015").await).len(), 5);
    assert_eq!(ids(&list("?offset=5000").await).len(), 0);
    for bad in ["?limit=-1", "?offset=x"] {
        assert_eq!(list(bad).await.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    // The servers list (1,020 servers) stops at max_limit too, asked or
    // not, and links to the rest.
    for q in ["", "?limit=5000"] {
        let mut url = Some(format!("{}/servers/detail{q}", c.compute(Site::A)));
        let mut pages = Vec::new();
        while let Some(u) = url {
            let r = c.get(&u, Some("compute 2.96")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            pages.push(r.body["servers"].as_array().map(|a| a.len()).unwrap_or(0));
            url = r.body["servers_links"][0]["href"]
                .as_str()
                .map(str::to_string);
        }
        assert_eq!(pages, [1000, 20], "{q}");
    }
    c.h.shutdown().await;
}

/// Cinder answers at most its `osapi_max_limit` (1,000) manageable volumes
/// a request, sorted by reference (descending), with no link to the rest;
/// `marker` (a reference as JSON) and `offset` read on, `limit` asks for
/// fewer, and what Cinder refuses is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manageable_volumes_page_by_marker_up_to_max_limit() {
    use futures::stream::{self, StreamExt};
    let mut cfg = EmulatorConfig::fast();
    cfg.topology.quotas.volumes = 2000;
    cfg.topology.quotas.gigabytes = 20000;
    let c = Cloud::with(cfg).await;
    // Each replicated volume at site-a has its replica on site-b's backend.
    let made: Vec<String> = stream::iter(0..1020)
        .map(|_| c.new_volume(Site::A, 1, serde_json::json!({"volume_type": "replicated"})))
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(made.len(), 1020);
    // Every Cinder list stops at osapi_max_limit too, asked or not, and
    // links to the rest.
    let mut url = Some(format!("{}/volumes/detail", c.volume(Site::A)));
    let mut pages = Vec::new();
    while let Some(u) = url {
        let r = c.get(&u, Some("volume 3.64")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        pages.push(r.body["volumes"].as_array().map(|a| a.len()).unwrap_or(0));
        url = r.body["volumes_links"][0]["href"]
            .as_str()
            .map(str::to_string);
    }
    assert_eq!(pages[0], 1000, "{pages:?}");
    assert!(pages.iter().sum::<usize>() >= 1020, "{pages:?}");
    let asked = c
        .get(
            &format!("{}/volumes?limit=5000", c.volume(Site::A)),
            Some("volume 3.64"),
        )
        .await;
    assert_eq!(
        asked.body["volumes"].as_array().map(|a| a.len()),
        Some(1000)
    );
    let list = |q: String| {
        let url = format!("{}/manageable_volumes/detail{q}", c.volume(Site::B));
        let c = &c;
        async move { c.get(&url, Some("volume 3.64")).await }
    };
    let refs = |r: &common::Resp| -> Vec<String> {
        r.body["manageable-volumes"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.text))
            .iter()
            .map(|m| m["reference"]["source-name"].as_str().unwrap().to_string())
            .collect()
    };
    let first = list(String::new()).await;
    assert_eq!(first.status, StatusCode::OK);
    let page1 = refs(&first);
    assert_eq!(page1.len(), 1000, "capped at osapi_max_limit");
    assert!(
        page1.windows(2).all(|w| w[0] > w[1]),
        "by reference, descending"
    );
    assert!(first.body.get("manageable-volumes_links").is_none());
    let marker = serde_json::json!({"source-name": page1[999]}).to_string();
    let q = |k: &str, v: &str| format!("?{k}={}", urlencode(v));
    let rest = refs(&list(q("marker", &marker)).await);
    assert_eq!(rest.len(), 20);
    let mut all = page1.clone();
    all.extend(rest.iter().cloned());
    let mut uniq = all.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 1020, "the two pages are every replica, once");
    assert_eq!(refs(&list("?offset=1000".into()).await), rest);
    assert_eq!(refs(&list("?limit=5000".into()).await).len(), 1000);
    assert_eq!(refs(&list("?limit=0".into()).await).len(), 0);
    assert_eq!(refs(&list("?limit=7&offset=1015".into()).await).len(), 5);
    let asc = refs(&list("?sort=reference:asc&limit=3".into()).await);
    assert_eq!(asc, uniq[..3].to_vec());
    for bad in [
        "?limit=-1".to_string(),
        "?limit=x".into(),
        "?offset=-2".into(),
        "?sort=name".into(),
        "?sort=size:up".into(),
        "?sort=size&sort_key=size".into(),
        q("marker", "{\"source-name\": \"volume-nope\"}"),
        q("marker", "volume-1"),
    ] {
        let r = list(bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert!(
            r.body["badRequest"]["message"].as_str().is_some(),
            "{bad}: {}",
            r.text
        );
    }
    c.h.shutdown().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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

/// What the emulator answers from its indexes at scale (a server's group,
/// ports by address, a volume's backups) is what a scan of everything
/// would answer, also after the index's source changes.
async fn indexed_lookups_answer_as_scans(c: &Cloud) {
    use reqwest::Method;
    use serde_json::json;
    let (nova, cinder, neutron) = (c.compute(Site::A), c.volume(Site::A), c.network(Site::A));
    let srv = &c.servers(Site::A, "?tags=vnf017").await[0];
    let sid = srv["id"].as_str().unwrap().to_string();

    // A seeded server shows the group it was placed in; once the group is
    // gone, no group.
    let show = c
        .get(&format!("{nova}/servers/{sid}"), Some("compute 2.96"))
        .await;
    let groups = show.body["server"]["server_groups"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(groups.len(), 1, "{}", show.text);
    let gid = groups[0].as_str().unwrap();
    let g = c
        .get(
            &format!("{nova}/os-server-groups/{gid}"),
            Some("compute 2.96"),
        )
        .await;
    assert!(g.body["server_group"]["members"]
        .as_array()
        .unwrap()
        .contains(&json!(sid)));
    let del = c
        .call(
            Method::DELETE,
            &format!("{nova}/os-server-groups/{gid}"),
            Some("compute 2.96"),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text);
    let show = c
        .get(&format!("{nova}/servers/{sid}"), Some("compute 2.96"))
        .await;
    assert_eq!(show.body["server"]["server_groups"], json!([]));

    // Ports by fixed IP: each `fixed_ips` filter must hold.
    let mine = c
        .get(&format!("{neutron}/ports?device_id={sid}"), None)
        .await;
    let port = &mine.body["ports"][0];
    let (ip, subnet) = (
        port["fixed_ips"][0]["ip_address"].as_str().unwrap(),
        port["fixed_ips"][0]["subnet_id"].as_str().unwrap(),
    );
    let ids = |r: &common::Resp| ids_in(&r.body["ports"]);
    let by_ip = c
        .get(
            &format!("{neutron}/ports?fixed_ips=ip_address%3D{ip}"),
            None,
        )
        .await;
    assert_eq!(ids(&by_ip), vec![port["id"].as_str().unwrap().to_string()]);
    let both = c
        .get(
            &format!("{neutron}/ports?fixed_ips=ip_address%3D{ip}&fixed_ips=subnet_id%3D{subnet}"),
            None,
        )
        .await;
    assert_eq!(ids(&both), ids(&by_ip));
    let other_subnet = c
        .get(
            &format!(
                "{neutron}/ports?fixed_ips=ip_address%3D{ip}&fixed_ips=subnet_id%3Dnot-{subnet}"
            ),
            None,
        )
        .await;
    assert!(ids(&other_subnet).is_empty(), "{}", other_subnet.text);
    let unparsed = c
        .get(
            &format!("{neutron}/ports?fixed_ips=ip_address%3D{ip}x"),
            None,
        )
        .await;
    assert!(ids(&unparsed).is_empty(), "{}", unparsed.text);

    // A volume's backups: the incremental's parent is its newest (not
    // another volume's); listing by volume finds only its own, newest
    // first; a deleted one is gone.
    let vols = c
        .get(
            &format!("{cinder}/volumes/detail?limit=2"),
            Some("volume 3.64"),
        )
        .await;
    let (v1, v2) = (
        vols.body["volumes"][0]["id"].as_str().unwrap().to_string(),
        vols.body["volumes"][1]["id"].as_str().unwrap().to_string(),
    );
    let mut made = Vec::new();
    for (vid, incremental) in [(&v1, false), (&v2, false), (&v1, true)] {
        let r = c
            .post(
                &format!("{cinder}/backups"),
                Some("volume 3.64"),
                json!({"backup": {"volume_id": vid, "force": true, "incremental": incremental, "name": "idx"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let id = r.body["backup"]["id"].as_str().unwrap().to_string();
        c.wait(
            &format!("{cinder}/backups/{id}"),
            Some("volume 3.64"),
            "/backup/status",
            "available",
        )
        .await;
        made.push(id);
    }
    // Cinder shows no parent; the parent shows it has a dependent.
    assert_eq!(
        backup(c, &cinder, &made[2]).await["is_incremental"],
        json!(true)
    );
    assert_eq!(
        backup(c, &cinder, &made[0]).await["has_dependent_backups"],
        json!(true)
    );
    assert_eq!(
        backup(c, &cinder, &made[1]).await["has_dependent_backups"],
        json!(false)
    );
    assert_eq!(
        backups_of(c, &cinder, &v1).await,
        vec![made[2].clone(), made[0].clone()]
    );
    assert_eq!(backups_of(c, &cinder, &v2).await, vec![made[1].clone()]);
    let del = c
        .call(
            Method::DELETE,
            &format!("{cinder}/backups/{}", made[2]),
            Some("volume 3.64"),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::ACCEPTED, "{}", del.text);
    c.wait_gone(
        &format!("{cinder}/backups/{}", made[2]),
        Some("volume 3.64"),
    )
    .await;
    assert_eq!(backups_of(c, &cinder, &v1).await, vec![made[0].clone()]);
}

/// Cinder's pages: newest first (or oldest first with `sort_dir=asc`), the
/// next link keeping the filter and the sort, a marker not in the list
/// refused.
async fn cinder_pages_keep_order_and_filters(c: &Cloud) {
    use serde_json::json;
    let cinder = c.volume(Site::A);
    let vols = c
        .get(
            &format!("{cinder}/volumes/detail?limit=9"),
            Some("volume 3.64"),
        )
        .await;
    let (mut made, mut others) = (Vec::new(), Vec::new());
    for (i, v) in ids_in(&vols.body["volumes"]).iter().enumerate() {
        // Two of the nine are not "pg": the filter must hold on every page.
        let name = if i % 4 == 1 { "other" } else { "pg" };
        let r = c
            .post(
                &format!("{cinder}/snapshots"),
                Some("volume 3.64"),
                json!({"snapshot": {"volume_id": v, "force": true, "name": name, "metadata": {"kind": name}}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let id = r.body["snapshot"]["id"].as_str().unwrap().to_string();
        if name == "pg" {
            made.push(id);
        } else {
            others.push(id);
        }
    }
    // A metadata filter, as JSON or with single quotes; one that is not a
    // JSON object refused.
    others.reverse();
    for filter in [
        "%7B%22kind%22%3A%22other%22%7D",
        "%7B%27kind%27%3A%27other%27%7D",
    ] {
        let r = c
            .get(
                &format!("{cinder}/snapshots/detail?metadata={filter}"),
                Some("volume 3.64"),
            )
            .await;
        assert_eq!(ids_in(&r.body["snapshots"]), others, "{}", r.text);
    }
    let r = c
        .get(
            &format!("{cinder}/volumes/detail?metadata=kind"),
            Some("volume 3.64"),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("metadata filter kind"), "{}", r.text);
    // A page's count (3.45 on, when asked) is of everything the filters
    // keep, not of the page.
    let r = c
        .get(
            &format!("{cinder}/snapshots/detail?name=pg&limit=2&with_count=true"),
            Some("volume 3.64"),
        )
        .await;
    assert_eq!(r.body["count"], json!(made.len()), "{}", r.text);
    assert_eq!(ids_in(&r.body["snapshots"]).len(), 2);
    assert!(
        r.body["snapshots_links"][0]["href"].is_string(),
        "{}",
        r.text
    );
    let r = c
        .get(
            &format!("{cinder}/snapshots/detail?name=pg&with_count=true"),
            Some("volume 3.44"),
        )
        .await;
    assert!(r.body.get("count").is_none(), "{}", r.text);
    let walk = |first: String| async move {
        let (mut ids, mut pages, mut url) = (Vec::new(), 0, Some(first));
        while let Some(u) = url {
            let r = c.get(&u, Some("volume 3.64")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            ids.extend(ids_in(&r.body["snapshots"]));
            pages += 1;
            url = r.body["snapshots_links"][0]["href"]
                .as_str()
                .map(str::to_string);
        }
        (ids, pages)
    };
    let (newest_first, pages) = walk(format!("{cinder}/snapshots/detail?name=pg&limit=3")).await;
    let mut expect: Vec<String> = made.iter().rev().cloned().collect();
    assert_eq!(newest_first, expect);
    assert_eq!(pages, 3);
    let (oldest_first, _) = walk(format!(
        "{cinder}/snapshots/detail?name=pg&sort_key=created_at&sort_dir=asc&limit=2"
    ))
    .await;
    expect.reverse();
    assert_eq!(oldest_first, expect);
    let lost = c
        .get(
            &format!("{cinder}/snapshots/detail?marker=no-such-snapshot"),
            Some("volume 3.64"),
        )
        .await;
    assert_eq!(lost.status, StatusCode::BAD_REQUEST, "{}", lost.text);
}

/// The ids `GET /backups/detail?volume_id=…` lists, in its order.
async fn backups_of(c: &Cloud, cinder: &str, vid: &str) -> Vec<String> {
    let r = c
        .get(
            &format!("{cinder}/backups/detail?volume_id={vid}"),
            Some("volume 3.64"),
        )
        .await;
    ids_in(&r.body["backups"])
}

/// The `id`s of a listed collection, in its order.
fn ids_in(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect()
}

/// `GET /backups/{id}`'s backup.
async fn backup(c: &Cloud, cinder: &str, id: &str) -> serde_json::Value {
    c.get(&format!("{cinder}/backups/{id}"), Some("volume 3.64"))
        .await
        .body["backup"]
        .clone()
}
