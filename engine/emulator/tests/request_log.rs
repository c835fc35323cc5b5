//! The request log extension (`/_emulator/requests`): what each site
//! answered, in order, with the action of `POST …/action` bodies, and never
//! a header or token value.

mod common;

use common::Cloud;
use lifeboat_emulator::{FaultProfile, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn entries(v: &Value) -> Vec<Value> {
    v["requests"].as_array().expect("requests array").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_each_site_request_with_its_action_in_order() {
    let c = Cloud::start().await;
    let db = c.server_named(Site::A, "vims-db-1").await;
    let id = db["id"].as_str().unwrap().to_string();
    // Start from an empty log.
    assert_eq!(
        c.admin(Method::DELETE, "/_emulator/requests", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let start = c
        .admin(Method::GET, "/_emulator/requests?site=site-a", None)
        .await;
    assert_eq!(entries(&start.body).len(), 0, "{}", start.text);
    let since = start.body["last_seq"].as_u64().unwrap();

    let act = format!("{}/servers/{id}/action", c.compute(Site::A));
    assert_eq!(
        c.post(&act, None, json!({"pause": null})).await.status,
        StatusCode::ACCEPTED
    );
    c.wait(
        &format!("{}/servers/{id}", c.compute(Site::A)),
        None,
        "/server/status",
        "PAUSED",
    )
    .await;
    // Pausing a paused server: a 409 the log keeps too.
    assert_eq!(
        c.post(&act, None, json!({"pause": null})).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        c.post(&act, None, json!({"unpause": null})).await.status,
        StatusCode::ACCEPTED
    );
    let missing = format!("{}/servers/no-such-server", c.compute(Site::A));
    assert_eq!(c.get(&missing, None).await.status, StatusCode::NOT_FOUND);
    // A request at site-b goes to site-b's log only.
    assert_eq!(
        c.get(&format!("{}/volumes", c.volume(Site::B)), None)
            .await
            .status,
        StatusCode::OK
    );

    let log = c
        .admin(
            Method::GET,
            &format!("/_emulator/requests?site=site-a&since={since}"),
            None,
        )
        .await;
    assert_eq!(log.status, StatusCode::OK);
    // (The polls of the server while it paused are logged too; left out here.)
    let polled = format!("/compute/v2.1/servers/{id}");
    assert!(entries(&log.body)
        .iter()
        .any(|e| e["path"] == polled.as_str() && e["method"] == "GET" && e["status"] == 200));
    let got: Vec<(String, String, u64, Option<String>)> = entries(&log.body)
        .iter()
        .filter(|e| e["path"] != polled.as_str())
        .map(|e| {
            (
                e["method"].as_str().unwrap().into(),
                e["path"].as_str().unwrap().into(),
                e["status"].as_u64().unwrap(),
                e["action"].as_str().map(String::from),
            )
        })
        .collect();
    let path = format!("/compute/v2.1/servers/{id}/action");
    assert_eq!(
        got,
        vec![
            ("POST".into(), path.clone(), 202, Some("pause".into())),
            ("POST".into(), path.clone(), 409, Some("pause".into())),
            ("POST".into(), path.clone(), 202, Some("unpause".into())),
            (
                "GET".into(),
                "/compute/v2.1/servers/no-such-server".into(),
                404,
                None
            ),
        ]
    );
    let es: Vec<Value> = entries(&log.body)
        .into_iter()
        .filter(|e| e["path"] != polled.as_str())
        .collect();
    let seqs: Vec<u64> = es.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let times: Vec<u64> = es.iter().map(|e| e["time_ms"].as_u64().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]) && times[0] > 1_600_000_000_000,
        "{times:?}"
    );
    assert!(es.iter().all(|e| e["site"] == "site-a"));
    // Never a token or header value.
    assert!(
        !log.text.contains(&c.token),
        "the token leaked into the log"
    );
    assert!(!log.text.to_ascii_lowercase().contains("x-auth-token"));

    let b = c
        .admin(Method::GET, "/_emulator/requests?site=site-b", None)
        .await;
    let b = entries(&b.body);
    assert_eq!(
        b.last().unwrap()["path"],
        format!("/volume/v3/{}/volumes", c.project),
        "{b:?}"
    );
    assert!(b.iter().all(|e| e["site"] == "site-b"));
    // Both sites, merged in order.
    let both = c
        .admin(
            Method::GET,
            &format!("/_emulator/requests?since={since}"),
            None,
        )
        .await;
    let both = entries(&both.body);
    assert_eq!(both.len(), entries(&log.body).len() + 1);
    assert_eq!(both.last().unwrap()["site"], "site-b");

    // `since` = the last answer's last_seq: only what came after.
    let last = log.body["last_seq"].as_u64().unwrap();
    c.get(&missing, None).await;
    let after = c
        .admin(
            Method::GET,
            &format!("/_emulator/requests?site=site-a&since={last}"),
            None,
        )
        .await;
    assert_eq!(entries(&after.body).len(), 1, "{}", after.text);

    // Cleared per site by DELETE; sequence numbers go on.
    assert_eq!(
        c.admin(Method::DELETE, "/_emulator/requests?site=site-a", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        entries(
            &c.admin(Method::GET, "/_emulator/requests?site=site-a", None)
                .await
                .body
        )
        .len(),
        0
    );
    assert!(!entries(
        &c.admin(Method::GET, "/_emulator/requests?site=site-b", None)
            .await
            .body
    )
    .is_empty());
    c.get(&missing, None).await;
    let again = entries(
        &c.admin(Method::GET, "/_emulator/requests?site=site-a", None)
            .await
            .body,
    );
    assert!(again[0]["seq"].as_u64().unwrap() > last);
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_are_logged_and_bad_queries_refused() {
    let c = Cloud::start().await;
    c.h.set_faults(
        FaultProfile::from_yaml_str(
            "rules:\n  - {site: site-a, service: compute, error_rate: 1.0, error_status: 503}\n",
        )
        .expect("profile"),
    );
    c.admin(Method::DELETE, "/_emulator/requests", None).await;
    let r = c
        .post(
            &format!("{}/servers/x/action", c.compute(Site::A)),
            None,
            json!({"suspend": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let log = entries(
        &c.admin(Method::GET, "/_emulator/requests?site=site-a", None)
            .await
            .body,
    );
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (log[0]["status"].as_u64(), log[0]["action"].as_str()),
        (Some(503), Some("suspend"))
    );
    c.h.clear_faults();
    for bad in ["?site=site-z", "?since=-1", "?since=abc", "?token=x"] {
        let r = c
            .admin(Method::GET, &format!("/_emulator/requests{bad}"), None)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert!(r.body["error"]["message"].as_str().is_some(), "{bad}");
    }
    assert_eq!(
        c.admin(Method::DELETE, "/_emulator/requests?site=nowhere", None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    // A refused DELETE cleared nothing.
    assert_eq!(
        entries(
            &c.admin(Method::GET, "/_emulator/requests?site=site-a", None)
                .await
                .body
        )
        .len(),
        1
    );
    c.h.shutdown().await;
}
