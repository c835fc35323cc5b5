//! Swift over HTTP, as the real object store answers: account GET/HEAD,
//! container PUT/POST/GET/HEAD/DELETE (409 while not empty), object
//! PUT/GET/HEAD/POST/DELETE with ETag (MD5) and user metadata, listings in
//! text and JSON with `prefix`, 404/401/403.

mod common;

use common::Cloud;
use lifeboat_emulator::Site;
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_containers_objects_and_listings() {
    let c = Cloud::start().await;
    let acct = c.object(Site::B);
    let req = |m: Method, url: String| c.http.request(m, url).header("x-auth-token", &c.token);

    // Containers: PUT creates (201), again accepts (202); POST sets metadata; HEAD shows counts and metadata.
    let r = req(Method::PUT, format!("{acct}/manifests"))
        .send()
        .await
        .expect("put");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(header(&r, "x-trans-id").is_some());
    assert_eq!(
        req(Method::PUT, format!("{acct}/manifests"))
            .send()
            .await
            .expect("put")
            .status(),
        StatusCode::ACCEPTED
    );
    let r = req(Method::POST, format!("{acct}/manifests"))
        .header("x-container-meta-owner", "lifeboat")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = req(Method::HEAD, format!("{acct}/manifests"))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&r, "x-container-object-count").as_deref(), Some("0"));
    assert_eq!(
        header(&r, "x-container-meta-owner").as_deref(),
        Some("lifeboat")
    );

    // Objects: PUT (201 + ETag = MD5), GET (body, ETag, metadata), HEAD (no body), POST (metadata).
    let data = br#"{"version": 1, "vnf": "vims"}"#.to_vec();
    let r = req(Method::PUT, format!("{acct}/manifests/vims/m1.json"))
        .header("content-type", "application/json")
        .header("x-object-meta-role", "manifest")
        .body(data.clone())
        .send()
        .await
        .expect("put object");
    assert_eq!(r.status(), StatusCode::CREATED);
    let etag = header(&r, "etag").expect("etag");
    assert_eq!(etag, lifeboat_emulator::swift::md5_hex(&data));
    req(Method::PUT, format!("{acct}/manifests/vims/m2.json"))
        .body("{}")
        .send()
        .await
        .expect("put");
    req(Method::PUT, format!("{acct}/manifests/other/m.json"))
        .body("{}")
        .send()
        .await
        .expect("put");
    let r = req(Method::GET, format!("{acct}/manifests/vims/m1.json"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "etag").as_deref(), Some(etag.as_str()));
    assert_eq!(
        header(&r, "x-object-meta-role").as_deref(),
        Some("manifest")
    );
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.bytes().await.expect("body").to_vec(), data);
    let r = req(Method::HEAD, format!("{acct}/manifests/vims/m1.json"))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "content-length").as_deref(),
        Some(data.len().to_string().as_str())
    );
    let r = req(Method::POST, format!("{acct}/manifests/vims/m1.json"))
        .header("x-object-meta-role", "old")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = req(Method::HEAD, format!("{acct}/manifests/vims/m1.json"))
        .send()
        .await
        .expect("head");
    assert_eq!(header(&r, "x-object-meta-role").as_deref(), Some("old"));

    // Listings: JSON with the fields clients read, prefix, text.
    let r = req(
        Method::GET,
        format!("{acct}/manifests?format=json&prefix=vims/"),
    )
    .send()
    .await
    .expect("list");
    assert_eq!(r.status(), StatusCode::OK);
    let list: Value = r.json().await.expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, ["vims/m1.json", "vims/m2.json"]);
    let first = &list[0];
    assert_eq!(first["hash"], etag.as_str());
    assert_eq!(first["bytes"], data.len());
    assert!(
        first["content_type"].is_string() && first["last_modified"].is_string(),
        "{first}"
    );
    let r = req(Method::GET, format!("{acct}/manifests"))
        .send()
        .await
        .expect("list");
    let text = r.text().await.expect("text");
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["other/m.json", "vims/m1.json", "vims/m2.json"]
    );
    let r = req(Method::GET, format!("{acct}?format=json"))
        .send()
        .await
        .expect("account");
    assert_eq!(r.status(), StatusCode::OK);
    let acc: Value = r.json().await.expect("json");
    let m = acc
        .as_array()
        .expect("containers")
        .iter()
        .find(|x| x["name"] == "manifests")
        .cloned()
        .expect("listed");
    assert_eq!(m["count"], 3);
    let r = req(Method::HEAD, acct.clone())
        .send()
        .await
        .expect("head account");
    assert!(r.status().is_success());
    assert!(
        header(&r, "x-account-container-count").is_some_and(|n| n.parse::<u64>().unwrap_or(0) >= 1)
    );

    // Deleting: a non-empty container is 409; objects go (204, then 404); then the container (204, then 404).
    assert_eq!(
        req(Method::DELETE, format!("{acct}/manifests"))
            .send()
            .await
            .expect("delete")
            .status(),
        StatusCode::CONFLICT
    );
    for o in ["vims/m1.json", "vims/m2.json", "other/m.json"] {
        assert_eq!(
            req(Method::DELETE, format!("{acct}/manifests/{o}"))
                .send()
                .await
                .expect("delete")
                .status(),
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(
        req(Method::DELETE, format!("{acct}/manifests/vims/m1.json"))
            .send()
            .await
            .expect("delete")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        req(Method::GET, format!("{acct}/manifests/vims/m1.json"))
            .send()
            .await
            .expect("get")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        req(Method::DELETE, format!("{acct}/manifests"))
            .send()
            .await
            .expect("delete")
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        req(Method::GET, format!("{acct}/manifests?format=json"))
            .send()
            .await
            .expect("get")
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        req(Method::PUT, format!("{acct}/nowhere/o"))
            .body("x")
            .send()
            .await
            .expect("put")
            .status(),
        StatusCode::NOT_FOUND
    );

    // No token: 401; another project's account: 403.
    assert_eq!(
        c.http
            .get(format!("{acct}?format=json"))
            .send()
            .await
            .expect("get")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let other = format!("{}/object/v1/AUTH_someoneelse", c.h.site_url(Site::B));
    assert_eq!(
        req(Method::GET, other).send().await.expect("get").status(),
        StatusCode::FORBIDDEN
    );
    c.h.shutdown().await;
}

/// Container sync as Swift does it: `/info` names the realm and clusters;
/// `X-Container-Sync-To` is validated with Swift's messages; rows (PUTs and
/// DELETEs) reach the target in order once older than the lag, only when the
/// target holds the same key, and wait while a site is down; the owner sees
/// the sync headers on HEAD.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_sync_between_the_sites() {
    let c = Cloud::start().await;
    let (a, b) = (c.object(Site::A), c.object(Site::B));
    let req = |m: Method, url: String| c.http.request(m, url).header("x-auth-token", &c.token);
    let info: Value = req(
        Method::GET,
        format!("{}/object/info", c.h.site_url(Site::A)),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        info["container_sync"]["realms"]["LIFEBOAT"]["clusters"],
        serde_json::json!({"SITE-A": {}, "SITE-B": {}}),
        "{info}"
    );

    req(Method::PUT, format!("{a}/cdr")).send().await.unwrap();
    let target = format!("//lifeboat/site-b/AUTH_{}/cdr", c.project);
    for (bad, why) in [
        (
            "//LIFEBOAT/SITE-C/AUTH_x/cdr",
            "No cluster endpoint for 'LIFEBOAT' 'SITE-C'",
        ),
        ("//MARS/SITE-B/AUTH_x/cdr", "No realm key for 'MARS'"),
        (
            "//LIFEBOAT/SITE-B/AUTH_x",
            "Invalid X-Container-Sync-To format '//LIFEBOAT/SITE-B/AUTH_x'",
        ),
        (
            "ftp://127.0.0.1/v1/a/c",
            "Invalid scheme 'ftp' in X-Container-Sync-To",
        ),
        (
            "http://10.1.1.1/v1/a/c",
            "Invalid host '10.1.1.1' in X-Container-Sync-To",
        ),
    ] {
        let r = req(Method::POST, format!("{a}/cdr"))
            .header("x-container-sync-to", bad)
            .header("x-container-sync-key", "k")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.text().await.unwrap().contains(why), "{bad}");
    }
    for i in 0..3 {
        req(Method::PUT, format!("{a}/cdr/o{i}"))
            .body(format!("data {i}"))
            .send()
            .await
            .unwrap();
    }
    let r = req(Method::POST, format!("{a}/cdr"))
        .header("x-container-sync-to", &target)
        .header("x-container-sync-key", "secret-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let h = req(Method::HEAD, format!("{a}/cdr")).send().await.unwrap();
    assert_eq!(
        header(&h, "x-container-sync-to").as_deref(),
        Some(target.as_str())
    );
    assert_eq!(
        header(&h, "x-container-sync-key").as_deref(),
        Some("secret-1")
    );

    let count = |url: String| {
        let r = req(Method::HEAD, url);
        async move {
            r.send()
                .await
                .ok()
                .and_then(|r| header(&r, "x-container-object-count"))
                .and_then(|n| n.parse::<u64>().ok())
        }
    };
    let settle = || tokio::time::sleep(std::time::Duration::from_millis(700));
    // No target container yet, then one with another key: nothing arrives.
    settle().await;
    assert_eq!(count(format!("{b}/cdr")).await, None);
    req(Method::PUT, format!("{b}/cdr"))
        .header("x-container-sync-key", "other")
        .send()
        .await
        .unwrap();
    settle().await;
    assert_eq!(
        count(format!("{b}/cdr")).await,
        Some(0),
        "a different key refuses the rows"
    );
    // The same key: the rows arrive, with their data and ETag.
    req(Method::POST, format!("{b}/cdr"))
        .header("x-container-sync-key", "secret-1")
        .send()
        .await
        .unwrap();
    settle().await;
    assert_eq!(count(format!("{b}/cdr")).await, Some(3));
    let r = req(Method::GET, format!("{b}/cdr/o1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&r, "etag").as_deref(),
        Some(lifeboat_emulator::swift::md5_hex(b"data 1").as_str())
    );
    assert_eq!(r.text().await.unwrap(), "data 1");
    // A delete follows; while site-b is down nothing moves, then it does.
    req(Method::DELETE, format!("{a}/cdr/o0"))
        .send()
        .await
        .unwrap();
    c.h.set_site_down(Site::B, true);
    req(Method::PUT, format!("{a}/cdr/o9"))
        .body("late")
        .send()
        .await
        .unwrap();
    settle().await;
    c.h.set_site_down(Site::B, false);
    settle().await;
    let names: Vec<String> = req(Method::GET, format!("{b}/cdr?format=json"))
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["o1", "o2", "o9"]);
    // Removing the target stops the sync.
    req(Method::POST, format!("{a}/cdr"))
        .header("x-container-sync-to", "")
        .send()
        .await
        .unwrap();
    req(Method::PUT, format!("{a}/cdr/o10"))
        .body("after")
        .send()
        .await
        .unwrap();
    settle().await;
    assert_eq!(count(format!("{b}/cdr")).await, Some(3));
    assert!(header(
        &req(Method::HEAD, format!("{a}/cdr")).send().await.unwrap(),
        "x-container-sync-to"
    )
    .is_none());
}
