//! The emulator's Designate over HTTP, as a tenant sees it: every change
//! answers 202 PENDING and becomes ACTIVE (or gone) a transition later,
//! the zone's serial grows with each recordset change, a zone is per
//! project and the same through either region's endpoint (one Designate
//! spans the sites), and the errors are Designate's (type and code).

mod common;

use common::Cloud;
use lifeboat_emulator::Site;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn kind(v: &Value) -> &str {
    v.get("type").and_then(Value::as_str).unwrap_or("")
}

async fn zone(c: &Cloud, site: Site, name: &str) -> String {
    let r = c
        .post(
            &format!("{}/zones", c.dns(site)),
            None,
            json!({"name": name, "email": "dns@example.org"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["status"], "PENDING");
    assert_eq!(r.body["action"], "CREATE");
    let id = r.body["id"].as_str().unwrap().to_string();
    let b = c
        .wait(
            &format!("{}/zones/{id}", c.dns(site)),
            None,
            "/status",
            "ACTIVE",
        )
        .await;
    assert_eq!(b["action"], "NONE");
    id
}

#[tokio::test]
async fn recordset_changes_are_pending_then_active_and_bump_the_serial() {
    let c = Cloud::start().await;
    let d = c.dns(Site::B);
    let z = zone(&c, Site::B, "vnf.example.").await;
    let zurl = format!("{d}/zones/{z}");
    // SOA and NS come with the zone.
    let r = c.get(&format!("{zurl}/recordsets"), None).await;
    let types: Vec<&str> = r.body["recordsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["SOA", "NS"]);
    let serial0 = c.get(&zurl, None).await.body["serial"].as_u64().unwrap();

    let r = c.post(&format!("{zurl}/recordsets"), None, json!({"name": "sbc.vnf.example.", "type": "A", "records": ["203.0.113.10"], "ttl": 300})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(
        (r.body["status"].as_str(), r.body["action"].as_str()),
        (Some("PENDING"), Some("CREATE"))
    );
    let rs = r.body["id"].as_str().unwrap().to_string();
    let rurl = format!("{zurl}/recordsets/{rs}");
    let b = c.wait(&rurl, None, "/status", "ACTIVE").await;
    assert_eq!(b["action"], "NONE");
    assert_eq!(b["zone_name"], "vnf.example.");
    let z1 = c.wait(&zurl, None, "/status", "ACTIVE").await;
    assert!(z1["serial"].as_u64().unwrap() > serial0);

    let r = c
        .call(
            Method::PUT,
            &rurl,
            None,
            Some(json!({"records": ["198.51.100.10"], "ttl": null})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.body["action"], "UPDATE");
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["ttl"], Value::Null);
    let b = c.wait(&rurl, None, "/status", "ACTIVE").await;
    assert_eq!(b["records"], json!(["198.51.100.10"]));
    // Found by name across the project's zones.
    let r = c
        .get(
            &format!("{d}/recordsets?name=sbc.vnf.example.&type=A"),
            None,
        )
        .await;
    assert_eq!(r.body["recordsets"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["metadata"]["total_count"], 1);
    // The same recordset through the other region's endpoint: one
    // Designate spans the sites.
    let r = c
        .get(
            &format!("{}/recordsets?name=sbc.vnf.example.", c.dns(Site::A)),
            None,
        )
        .await;
    assert_eq!(r.body["recordsets"][0]["id"], b["id"]);

    let r = c.call(Method::DELETE, &rurl, None, None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["action"], "DELETE");
    c.wait_gone(&rurl, None).await;
}

#[tokio::test]
async fn refusals_are_designates() {
    let c = Cloud::start().await;
    let d = c.dns(Site::A);
    let z = zone(&c, Site::A, "vnf.example.").await;
    let zurl = format!("{d}/zones/{z}");
    let r = c
        .post(
            &format!("{d}/zones"),
            None,
            json!({"name": "vnf.example.", "email": "dns@example.org"}),
        )
        .await;
    assert_eq!(
        (r.status, kind(&r.body)),
        (StatusCode::CONFLICT, "duplicate_zone")
    );
    let r = c
        .post(
            &format!("{d}/zones"),
            None,
            json!({"name": "no-dot.example", "email": "dns@example.org"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let post = |body: Value| {
        let (c, url) = (&c, format!("{zurl}/recordsets"));
        async move { c.post(&url, None, body).await }
    };
    let r = post(json!({"name": "a.other.example.", "type": "A", "records": ["10.0.0.1"]})).await;
    assert_eq!(
        (r.status, kind(&r.body)),
        (StatusCode::BAD_REQUEST, "invalid_recordset_location")
    );
    let r = post(json!({"name": "a.vnf.example.", "type": "A", "records": ["not-an-ip"]})).await;
    assert_eq!(
        (r.status, kind(&r.body)),
        (StatusCode::BAD_REQUEST, "invalid_object")
    );
    let r = post(json!({"name": "a.vnf.example.", "type": "AAAA", "records": ["10.0.0.1"]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(json!({"name": "a.vnf.example.", "type": "A", "records": ["10.0.0.1"]})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = post(json!({"name": "a.vnf.example.", "type": "A", "records": ["10.0.0.2"]})).await;
    assert_eq!(
        (r.status, kind(&r.body)),
        (StatusCode::CONFLICT, "duplicate_recordset")
    );
    let r = post(json!({"name": "a.vnf.example.", "type": "CNAME", "records": ["b.vnf.example."]}))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // The zone's SOA cannot be changed by a tenant.
    let r = c.get(&format!("{zurl}/recordsets?type=SOA"), None).await;
    let soa = r.body["recordsets"][0]["id"].as_str().unwrap().to_string();
    let r = c
        .call(
            Method::PUT,
            &format!("{zurl}/recordsets/{soa}"),
            None,
            Some(json!({"records": ["x"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Name and type are not updatable.
    let r = c.get(&format!("{zurl}/recordsets?type=A"), None).await;
    let a = r.body["recordsets"][0]["id"].as_str().unwrap().to_string();
    let r = c
        .call(
            Method::PUT,
            &format!("{zurl}/recordsets/{a}"),
            None,
            Some(json!({"type": "AAAA"})),
        )
        .await;
    assert_eq!(
        (r.status, kind(&r.body)),
        (StatusCode::BAD_REQUEST, "invalid_object")
    );
    let r = c.get(&format!("{d}/zones/{}", uuid_like()), None).await;
    assert_eq!(
        (r.status, kind(&r.body)),
        (StatusCode::NOT_FOUND, "zone_not_found")
    );
    let r = c.get(&format!("{d}/zones?limit=0"), None).await;
    assert_eq!(
        (r.status, kind(&r.body)),
        (StatusCode::BAD_REQUEST, "invalid_limit")
    );
}

fn uuid_like() -> &'static str {
    "a86dba58-0043-4cc6-a1bb-69d5e86f3ca3"
}
