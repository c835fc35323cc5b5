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
    r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_containers_objects_and_listings() {
    let c = Cloud::start().await;
    let acct = c.object(Site::B);
    let req = |m: Method, url: String| c.http.request(m, url).header("x-auth-token", &c.token);

    // Containers: PUT creates (201), again accepts (202); POST sets metadata; HEAD shows counts and metadata.
    let r = req(Method::PUT, format!("{acct}/manifests")).send().await.expect("put");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(header(&r, "x-trans-id").is_some());
    assert_eq!(req(Method::PUT, format!("{acct}/manifests")).send().await.expect("put").status(), StatusCode::ACCEPTED);
    let r = req(Method::POST, format!("{acct}/manifests")).header("x-container-meta-owner", "lifeboat").send().await.expect("post");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = req(Method::HEAD, format!("{acct}/manifests")).send().await.expect("head");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&r, "x-container-object-count").as_deref(), Some("0"));
    assert_eq!(header(&r, "x-container-meta-owner").as_deref(), Some("lifeboat"));

    // Objects: PUT (201 + ETag = MD5), GET (body, ETag, metadata), HEAD (no body), POST (metadata).
    let data = br#"{"version": 1, "vnf": "vims"}"#.to_vec();
    let r = req(Method::PUT, format!("{acct}/manifests/vims/m1.json")).header("content-type", "application/json").header("x-object-meta-role", "manifest").body(data.clone()).send().await.expect("put object");
    assert_eq!(r.status(), StatusCode::CREATED);
    let etag = header(&r, "etag").expect("etag");
    assert_eq!(etag, lifeboat_emulator::swift::md5_hex(&data));
    req(Method::PUT, format!("{acct}/manifests/vims/m2.json")).body("{}").send().await.expect("put");
    req(Method::PUT, format!("{acct}/manifests/other/m.json")).body("{}").send().await.expect("put");
    let r = req(Method::GET, format!("{acct}/manifests/vims/m1.json")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "etag").as_deref(), Some(etag.as_str()));
    assert_eq!(header(&r, "x-object-meta-role").as_deref(), Some("manifest"));
    assert_eq!(header(&r, "content-type").as_deref(), Some("application/json"));
    assert_eq!(r.bytes().await.expect("body").to_vec(), data);
    let r = req(Method::HEAD, format!("{acct}/manifests/vims/m1.json")).send().await.expect("head");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-length").as_deref(), Some(data.len().to_string().as_str()));
    let r = req(Method::POST, format!("{acct}/manifests/vims/m1.json")).header("x-object-meta-role", "old").send().await.expect("post");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = req(Method::HEAD, format!("{acct}/manifests/vims/m1.json")).send().await.expect("head");
    assert_eq!(header(&r, "x-object-meta-role").as_deref(), Some("old"));

    // Listings: JSON with the fields clients read, prefix, text.
    let r = req(Method::GET, format!("{acct}/manifests?format=json&prefix=vims/")).send().await.expect("list");
    assert_eq!(r.status(), StatusCode::OK);
    let list: Value = r.json().await.expect("json");
    let names: Vec<&str> = list.as_array().expect("array").iter().filter_map(|o| o["name"].as_str()).collect();
    assert_eq!(names, ["vims/m1.json", "vims/m2.json"]);
    let first = &list[0];
    assert_eq!(first["hash"], etag.as_str());
    assert_eq!(first["bytes"], data.len());
    assert!(first["content_type"].is_string() && first["last_modified"].is_string(), "{first}");
    let r = req(Method::GET, format!("{acct}/manifests")).send().await.expect("list");
    let text = r.text().await.expect("text");
    assert_eq!(text.lines().collect::<Vec<_>>(), ["other/m.json", "vims/m1.json", "vims/m2.json"]);
    let r = req(Method::GET, format!("{acct}?format=json")).send().await.expect("account");
    assert_eq!(r.status(), StatusCode::OK);
    let acc: Value = r.json().await.expect("json");
    let m = acc.as_array().expect("containers").iter().find(|x| x["name"] == "manifests").cloned().expect("listed");
    assert_eq!(m["count"], 3);
    let r = req(Method::HEAD, acct.clone()).send().await.expect("head account");
    assert!(r.status().is_success());
    assert!(header(&r, "x-account-container-count").is_some_and(|n| n.parse::<u64>().unwrap_or(0) >= 1));

    // Deleting: a non-empty container is 409; objects go (204, then 404); then the container (204, then 404).
    assert_eq!(req(Method::DELETE, format!("{acct}/manifests")).send().await.expect("delete").status(), StatusCode::CONFLICT);
    for o in ["vims/m1.json", "vims/m2.json", "other/m.json"] {
        assert_eq!(req(Method::DELETE, format!("{acct}/manifests/{o}")).send().await.expect("delete").status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(req(Method::DELETE, format!("{acct}/manifests/vims/m1.json")).send().await.expect("delete").status(), StatusCode::NOT_FOUND);
    assert_eq!(req(Method::GET, format!("{acct}/manifests/vims/m1.json")).send().await.expect("get").status(), StatusCode::NOT_FOUND);
    assert_eq!(req(Method::DELETE, format!("{acct}/manifests")).send().await.expect("delete").status(), StatusCode::NO_CONTENT);
    assert_eq!(req(Method::GET, format!("{acct}/manifests?format=json")).send().await.expect("get").status(), StatusCode::NOT_FOUND);
    assert_eq!(req(Method::PUT, format!("{acct}/nowhere/o")).body("x").send().await.expect("put").status(), StatusCode::NOT_FOUND);

    // No token: 401; another project's account: 403.
    assert_eq!(c.http.get(format!("{acct}?format=json")).send().await.expect("get").status(), StatusCode::UNAUTHORIZED);
    let other = format!("{}/object/v1/AUTH_someoneelse", c.h.site_url(Site::B));
    assert_eq!(req(Method::GET, other).send().await.expect("get").status(), StatusCode::FORBIDDEN);
    c.h.shutdown().await;
}
