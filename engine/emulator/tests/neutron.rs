//! The emulator's Neutron and the Nova calls that use it, over HTTP as real
//! clients see them: address and MAC allocation with the real conflict
//! errors, security groups and rules, floating IPs, quotas, filters; boot on
//! a port, server groups, key pairs, interfaces.

mod common;

use common::Cloud;
use lifeboat_emulator::Site;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn kind(v: &Value) -> &str {
    v.pointer("/NeutronError/type")
        .and_then(Value::as_str)
        .unwrap_or("")
}

async fn net_id(c: &Cloud, site: Site, name: &str) -> String {
    let r = c
        .get(&format!("{}/networks?name={name}", c.network(site)), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["networks"][0]["id"]
        .as_str()
        .expect("network")
        .to_string()
}

async fn port(c: &Cloud, site: Site, body: Value) -> common::Resp {
    c.post(
        &format!("{}/ports", c.network(site)),
        None,
        json!({ "port": body }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_and_macs_are_allocated_once() {
    let c = Cloud::start().await;
    let n = c.network(Site::B);
    let mgmt = net_id(&c, Site::B, "mgmt").await;
    // The seeded subnet: same CIDR at both sites, pool without the gateway.
    let r = c.get(&format!("{n}/subnets?network_id={mgmt}"), None).await;
    let sub = &r.body["subnets"][0];
    assert_eq!(sub["cidr"], "10.1.0.0/16");
    assert_eq!(sub["gateway_ip"], "10.1.0.1");
    assert_eq!(sub["allocation_pools"][0]["start"], "10.1.0.2");
    let sid = sub["id"].as_str().unwrap().to_string();

    let a = port(&c, Site::B, json!({"network_id": mgmt, "fixed_ips": [{"ip_address": "10.1.0.50"}], "mac_address": "FA:16:3E:00:00:01", "name": "a"})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    assert_eq!(a.body["port"]["fixed_ips"][0]["ip_address"], "10.1.0.50");
    assert_eq!(a.body["port"]["fixed_ips"][0]["subnet_id"], sid.as_str());
    assert_eq!(a.body["port"]["mac_address"], "fa:16:3e:00:00:01");
    assert_eq!(a.body["port"]["status"], "DOWN");
    assert_eq!(
        a.body["port"]["security_groups"].as_array().unwrap().len(),
        1,
        "the project's default group"
    );

    // The same address again: IpAddressAlreadyAllocated, nothing made.
    let b = port(
        &c,
        Site::B,
        json!({"network_id": mgmt, "fixed_ips": [{"ip_address": "10.1.0.50"}]}),
    )
    .await;
    assert_eq!(b.status, StatusCode::CONFLICT);
    assert_eq!(kind(&b.body), "IpAddressAlreadyAllocated");
    assert!(
        b.text.contains("10.1.0.50") && b.text.contains(&sid),
        "{}",
        b.text
    );
    // The same MAC on the network: MacAddressInUse.
    let m = port(
        &c,
        Site::B,
        json!({"network_id": mgmt, "mac_address": "fa:16:3e:00:00:01"}),
    )
    .await;
    assert_eq!(m.status, StatusCode::CONFLICT);
    assert_eq!(kind(&m.body), "MacAddressInUse");
    // The same MAC on another network is fine (Neutron's scope is the network).
    let sig = net_id(&c, Site::B, "signalling").await;
    let m2 = port(
        &c,
        Site::B,
        json!({"network_id": sig, "mac_address": "fa:16:3e:00:00:01"}),
    )
    .await;
    assert_eq!(m2.status, StatusCode::CREATED, "{}", m2.text);
    // An address outside every subnet, and a malformed MAC: 400.
    let o = port(
        &c,
        Site::B,
        json!({"network_id": mgmt, "fixed_ips": [{"ip_address": "192.168.9.9"}]}),
    )
    .await;
    assert_eq!(o.status, StatusCode::BAD_REQUEST, "{}", o.text);
    let bad = port(
        &c,
        Site::B,
        json!({"network_id": mgmt, "mac_address": "nope"}),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let ports = c.get(&format!("{n}/ports?network_id={mgmt}"), None).await;
    assert_eq!(
        ports.body["ports"].as_array().unwrap().len(),
        1,
        "refused creates make nothing"
    );
    // A generated address: the lowest free one of the pool.
    let g = port(&c, Site::B, json!({"network_id": mgmt})).await;
    assert_eq!(g.body["port"]["fixed_ips"][0]["ip_address"], "10.1.0.2");
    assert!(g.body["port"]["mac_address"]
        .as_str()
        .unwrap()
        .starts_with("fa:16:3e:"));
    // Filters: by fixed IP, by description; `fields`.
    let f = c
        .get(
            &format!("{n}/ports?fixed_ips=ip_address%3D10.1.0.50&fields=id&fields=name"),
            None,
        )
        .await;
    assert_eq!(f.body["ports"].as_array().unwrap().len(), 1);
    assert_eq!(f.body["ports"][0].as_object().unwrap().len(), 2);
    let u = c.get(&format!("{n}/ports?no_such_attribute=1"), None).await;
    assert_eq!(u.status, StatusCode::BAD_REQUEST);
    // Tag filters: all of, any of, not all of, none of.
    let t = port(
        &c,
        Site::B,
        json!({"network_id": mgmt, "tags": ["red", "blue"]}),
    )
    .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.text);
    for (q, want) in [
        ("tags=red,blue", 1),
        ("tags=red,green", 0),
        ("tags-any=green,blue", 1),
        ("not-tags=red,blue", 3),
        ("not-tags=red,green", 4),
        ("not-tags-any=blue", 3),
    ] {
        let r = c.get(&format!("{n}/ports?{q}"), None).await;
        assert_eq!(
            r.body["ports"].as_array().map(|p| p.len()),
            Some(want),
            "{q}: {}",
            r.text
        );
    }
    let d = c
        .call(
            Method::DELETE,
            &format!("{n}/ports/{}", t.body["port"]["id"].as_str().unwrap()),
            None,
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    // Delete releases the address.
    let id = a.body["port"]["id"].as_str().unwrap();
    let d = c
        .call(Method::DELETE, &format!("{n}/ports/{id}"), None, None)
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);
    let again = port(
        &c,
        Site::B,
        json!({"network_id": mgmt, "fixed_ips": [{"ip_address": "10.1.0.50"}]}),
    )
    .await;
    assert_eq!(again.status, StatusCode::CREATED);
    let gone = c.get(&format!("{n}/ports/{id}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(kind(&gone.body), "PortNotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_security_groups_and_pairs() {
    let c = Cloud::start().await;
    let n = c.network(Site::B);
    let media = net_id(&c, Site::B, "media").await;
    // Pairs or groups without port security are refused.
    let r = port(&c, Site::B, json!({"network_id": media, "port_security_enabled": false, "allowed_address_pairs": [{"ip_address": "10.3.0.100"}]})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(kind(&r.body), "AddressPairAndPortSecurityRequired");
    let sg = c
        .post(
            &format!("{n}/security-groups"),
            None,
            json!({"security_group": {"name": "web", "description": "w"}}),
        )
        .await;
    assert_eq!(sg.status, StatusCode::CREATED, "{}", sg.text);
    let sg_id = sg.body["security_group"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        sg.body["security_group"]["security_group_rules"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "two egress rules"
    );
    let rule = json!({"security_group_rule": {"security_group_id": sg_id, "direction": "ingress", "protocol": "tcp", "port_range_min": 443, "port_range_max": 443, "remote_ip_prefix": "0.0.0.0/0"}});
    let r1 = c
        .post(&format!("{n}/security-group-rules"), None, rule.clone())
        .await;
    assert_eq!(r1.status, StatusCode::CREATED, "{}", r1.text);
    let r2 = c
        .post(&format!("{n}/security-group-rules"), None, rule)
        .await;
    assert_eq!(r2.status, StatusCode::CONFLICT);
    assert_eq!(kind(&r2.body), "SecurityGroupRuleExists");
    let p = port(&c, Site::B, json!({"network_id": media, "security_groups": [sg_id], "allowed_address_pairs": [{"ip_address": "10.3.0.100"}]})).await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text);
    let mac = p.body["port"]["mac_address"].clone();
    assert_eq!(
        p.body["port"]["allowed_address_pairs"],
        json!([{"ip_address": "10.3.0.100", "mac_address": mac}])
    );
    // A group in use cannot go; unknown groups are 404.
    let d = c
        .call(
            Method::DELETE,
            &format!("{n}/security-groups/{sg_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(d.status, StatusCode::CONFLICT);
    assert_eq!(kind(&d.body), "SecurityGroupInUse");
    let u = port(
        &c,
        Site::B,
        json!({"network_id": media, "security_groups": ["nope"]}),
    )
    .await;
    assert_eq!(u.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floating_ips_and_quotas() {
    let c = Cloud::start().await;
    let n = c.network(Site::B);
    let public = net_id(&c, Site::B, "public").await;
    let mgmt = net_id(&c, Site::B, "mgmt").await;
    let p = port(&c, Site::B, json!({"network_id": mgmt})).await;
    let pid = p.body["port"]["id"].as_str().unwrap().to_string();
    let f = c.post(&format!("{n}/floatingips"), None, json!({"floatingip": {"floating_network_id": public, "floating_ip_address": "203.0.113.77", "port_id": pid}})).await;
    assert_eq!(f.status, StatusCode::CREATED, "{}", f.text);
    assert_eq!(
        f.body["floatingip"]["fixed_ip_address"],
        p.body["port"]["fixed_ips"][0]["ip_address"]
    );
    assert_eq!(f.body["floatingip"]["status"], "ACTIVE");
    let again = c.post(&format!("{n}/floatingips"), None, json!({"floatingip": {"floating_network_id": public, "floating_ip_address": "203.0.113.77"}})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(kind(&again.body), "IpAddressAlreadyAllocated");
    let internal = c
        .post(
            &format!("{n}/floatingips"),
            None,
            json!({"floatingip": {"floating_network_id": mgmt}}),
        )
        .await;
    assert_eq!(internal.status, StatusCode::BAD_REQUEST);
    // Quotas: limits and usage; over quota is OverQuota, nothing made.
    let q = c
        .get(&format!("{n}/quotas/{}/details", c.project), None)
        .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.text);
    let used = q.body["quota"]["port"]["used"].as_i64().unwrap();
    assert!(used >= 1);
    let set = c
        .admin(
            Method::PUT,
            "/_emulator/sites/site-b/quotas",
            Some(json!({"port": used})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let over = port(&c, Site::B, json!({"network_id": mgmt})).await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.text);
    assert_eq!(kind(&over.body), "OverQuota");
    assert!(over.text.contains("['port']"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_boots_on_ports_in_server_groups() {
    let c = Cloud::start().await;
    let n = c.network(Site::B);
    let nova = c.compute(Site::B);
    let mgmt = net_id(&c, Site::B, "mgmt").await;
    let p = port(
        &c,
        Site::B,
        json!({"network_id": mgmt, "fixed_ips": [{"ip_address": "10.1.0.9"}]}),
    )
    .await;
    let pid = p.body["port"]["id"].as_str().unwrap().to_string();
    let g = c
        .post(
            &format!("{nova}/os-server-groups"),
            Some("compute 2.64"),
            json!({"server_group": {"name": "pair", "policy": "anti-affinity"}}),
        )
        .await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.text);
    let gid = g.body["server_group"]["id"].as_str().unwrap().to_string();
    let bad_key = c
        .post(
            &format!("{nova}/os-keypairs"),
            Some("compute 2.92"),
            json!({"keypair": {"name": "ops", "public_key": "ssh-ed25519 AAAAC3Nza ops@x"}}),
        )
        .await;
    assert_eq!(bad_key.status, StatusCode::BAD_REQUEST, "{}", bad_key.text);
    let public = lifeboat_emulator::nova::keypairs::ed25519_key("ops", "ops@x");
    let key = c
        .post(
            &format!("{nova}/os-keypairs"),
            Some("compute 2.92"),
            json!({"keypair": {"name": "ops", "public_key": public}}),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.text);
    let boot = |name: &str, vol: &str, nets: Value| json!({"server": {"name": name, "flavorRef": "1", "networks": nets, "key_name": "ops", "block_device_mapping_v2": [{"boot_index": 0, "uuid": vol, "source_type": "volume", "destination_type": "volume"}]}, "os:scheduler_hints": {"group": gid}});
    let v1 = c.new_volume(Site::B, 1, json!({})).await;
    let s1 = c
        .post(
            &format!("{nova}/servers"),
            Some("compute 2.96"),
            boot("one", &v1, json!([{"port": pid}])),
        )
        .await;
    assert_eq!(s1.status, StatusCode::ACCEPTED, "{}", s1.text);
    let id1 = s1.body["server"]["id"].as_str().unwrap().to_string();
    let srv = c
        .wait(
            &format!("{nova}/servers/{id1}"),
            Some("compute 2.96"),
            "/server/status",
            "ACTIVE",
        )
        .await;
    assert_eq!(srv["server"]["addresses"]["mgmt"][0]["addr"], "10.1.0.9");
    assert_eq!(srv["server"]["key_name"], "ops");
    assert_eq!(srv["server"]["server_groups"], json!([gid]));
    let bound = c.get(&format!("{n}/ports/{pid}"), None).await;
    assert_eq!(bound.body["port"]["device_id"], id1.as_str());
    assert_eq!(bound.body["port"]["device_owner"], "compute:nova");
    assert_eq!(bound.body["port"]["status"], "ACTIVE");
    let by_device = c.get(&format!("{n}/ports?device_id={id1}"), None).await;
    assert_eq!(by_device.body["ports"].as_array().unwrap().len(), 1);
    let ifs = c
        .get(
            &format!("{nova}/servers/{id1}/os-interface"),
            Some("compute 2.96"),
        )
        .await;
    assert_eq!(ifs.body["interfaceAttachments"][0]["port_id"], pid.as_str());
    // The port is in use: a second boot on it is refused.
    let v2 = c.new_volume(Site::B, 1, json!({})).await;
    let busy = c
        .post(
            &format!("{nova}/servers"),
            Some("compute 2.96"),
            boot("two", &v2, json!([{"port": pid}])),
        )
        .await;
    assert_eq!(busy.status, StatusCode::CONFLICT, "{}", busy.text);
    // A fixed IP already taken is refused before the boot is accepted.
    let taken = c
        .post(
            &format!("{nova}/servers"),
            Some("compute 2.96"),
            boot("two", &v2, json!([{"uuid": mgmt, "fixed_ip": "10.1.0.9"}])),
        )
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST, "{}", taken.text);
    // Anti-affinity: the second member lands on another host.
    let s2 = c
        .post(
            &format!("{nova}/servers"),
            Some("compute 2.96"),
            boot("two", &v2, json!([{"uuid": mgmt}])),
        )
        .await;
    assert_eq!(s2.status, StatusCode::ACCEPTED, "{}", s2.text);
    let id2 = s2.body["server"]["id"].as_str().unwrap().to_string();
    let two = c
        .wait(
            &format!("{nova}/servers/{id2}"),
            Some("compute 2.96"),
            "/server/status",
            "ACTIVE",
        )
        .await;
    assert_ne!(
        two["server"]["OS-EXT-SRV-ATTR:host"],
        srv["server"]["OS-EXT-SRV-ATTR:host"]
    );
    let made = c.get(&format!("{n}/ports?device_id={id2}"), None).await;
    let made_id = made.body["ports"][0]["id"].as_str().unwrap().to_string();
    // Delete: the given port is unbound and stays, the one Nova made goes.
    for id in [&id1, &id2] {
        c.call(Method::DELETE, &format!("{nova}/servers/{id}"), None, None)
            .await;
        c.wait_gone(&format!("{nova}/servers/{id}"), None).await;
    }
    let kept = c.get(&format!("{n}/ports/{pid}"), None).await;
    assert_eq!(kept.status, StatusCode::OK);
    assert_eq!(kept.body["port"]["device_id"], "");
    let gone = c.get(&format!("{n}/ports/{made_id}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let g = c
        .get(
            &format!("{nova}/os-server-groups/{gid}"),
            Some("compute 2.64"),
        )
        .await;
    assert_eq!(g.body["server_group"]["members"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anti_affinity_without_a_free_host_ends_in_error() {
    let c = Cloud::start().await;
    let nova = c.compute(Site::B);
    let g = c
        .post(
            &format!("{nova}/os-server-groups"),
            Some("compute 2.64"),
            json!({"server_group": {"name": "many", "policy": "anti-affinity"}}),
        )
        .await;
    let gid = g.body["server_group"]["id"].as_str().unwrap().to_string();
    let set = c.admin(Method::PUT, "/_emulator/sites/site-b/quotas", Some(json!({"server_group_members": 100, "instances": 100, "cores": 200, "ram": 999999, "volumes": 100}))).await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let hosts = lifeboat_emulator::neutron::seed::HOSTS;
    let mut last = String::new();
    for i in 0..=hosts {
        let v = c.new_volume(Site::B, 1, json!({})).await;
        let r = c.post(&format!("{nova}/servers"), Some("compute 2.96"), json!({"server": {"name": format!("s{i}"), "flavorRef": "1", "networks": "none", "block_device_mapping_v2": [{"boot_index": 0, "uuid": v, "source_type": "volume", "destination_type": "volume"}]}, "os:scheduler_hints": {"group": gid}})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        last = r.body["server"]["id"].as_str().unwrap().to_string();
    }
    let s = c
        .wait(
            &format!("{nova}/servers/{last}"),
            Some("compute 2.96"),
            "/server/status",
            "ERROR",
        )
        .await;
    assert_eq!(s["server"]["status"], "ERROR");
}
