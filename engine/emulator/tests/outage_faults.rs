//! Site outage (connection errors, not HTTP answers), fault injection
//! (429/413 with Retry-After, 5xx rates, connection resets, fixed latency)
//! and token expiry.

mod common;

use std::time::{Duration, Instant};

use common::Cloud;
use lifeboat_emulator::{EmulatorConfig, FaultProfile, FaultRule, RateLimit, Site};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_outage_refuses_connections() {
    let c = Cloud::start().await;
    let url = format!("{}/servers", c.compute(Site::A));
    // Warm a keep-alive connection first: it must be reset, not answered.
    assert_eq!(c.get(&url, None).await.status, StatusCode::OK);
    let r = c
        .admin(Method::POST, "/_emulator/sites/site-a/down", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(c.h.is_site_down(Site::A));
    for _ in 0..3 {
        let e = c
            .http
            .get(&url)
            .header("x-auth-token", &c.token)
            .send()
            .await;
        let err = e.expect_err("a connection error, not an HTTP answer");
        assert!(err.is_connect() || err.is_request(), "{err:?}");
    }
    // A fresh client cannot even connect.
    let fresh = reqwest::Client::new();
    let err = fresh.get(&url).send().await.expect_err("refused");
    assert!(err.is_connect(), "{err:?}");
    // Keystone and the other site still answer.
    assert_eq!(
        c.get(&format!("{}/servers", c.compute(Site::B)), None)
            .await
            .status,
        StatusCode::OK
    );
    let st = c.admin(Method::GET, "/_emulator/status", None).await;
    assert_eq!(st.body["sites"]["site-a"]["down"], true);
    assert_eq!(
        c.admin(Method::POST, "/_emulator/sites/site-z/down", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Back up.
    c.admin(Method::POST, "/_emulator/sites/site-a/up", None)
        .await;
    let start = Instant::now();
    loop {
        if let Ok(r) = fresh
            .get(&url)
            .header("x-auth-token", &c.token)
            .send()
            .await
        {
            assert_eq!(r.status(), StatusCode::OK);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "site-a never came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_error_rates_resets_and_latency() {
    let c = Cloud::start().await;
    let url = format!("{}/volumes", c.volume(Site::A));
    // Rate limit via the admin endpoint (YAML accepted too).
    let profile = "rules:\n- site: site-a\n  service: volume\n  rate_limit: {max_requests: 2, per_seconds: 60, status: 429, retry_after_s: 7}\n";
    let r = c
        .http
        .put(format!("{}/_emulator/faults", c.h.admin_url()))
        .body(profile)
        .send()
        .await
        .expect("faults");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(c.get(&url, None).await.status, StatusCode::OK);
    assert_eq!(c.get(&url, None).await.status, StatusCode::OK);
    let r = c.get(&url, None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(r.body["overLimit"]["code"], 429);
    // Other services are not limited.
    assert_eq!(
        c.get(&format!("{}/servers", c.compute(Site::A)), None)
            .await
            .status,
        StatusCode::OK
    );
    // 413 flavour of the limit.
    c.h.set_faults(FaultProfile {
        rules: vec![FaultRule {
            service: Some("compute".into()),
            rate_limit: Some(RateLimit {
                max_requests: 0,
                per_seconds: 60.0,
                status: 413,
                retry_after_s: 2,
            }),
            ..Default::default()
        }],
        ..Default::default()
    });
    let r = c
        .get(&format!("{}/servers", c.compute(Site::A)), None)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("2")
    );
    // A 5xx rate of one half.
    c.h.set_faults(FaultProfile {
        rules: vec![FaultRule {
            service: Some("volume".into()),
            error_rate: 0.5,
            error_status: 503,
            ..Default::default()
        }],
        ..Default::default()
    });
    let mut errors = 0;
    for _ in 0..200 {
        let r = c.get(&url, None).await;
        if r.status == StatusCode::SERVICE_UNAVAILABLE {
            errors += 1;
            assert!(r.body["serviceUnavailable"]["code"] == 503, "{}", r.text);
        } else {
            assert_eq!(r.status, StatusCode::OK);
        }
    }
    assert!((50..150).contains(&errors), "{errors} errors of 200");
    // Connection resets: the client sees an error, never an answer.
    c.h.set_faults(FaultProfile {
        rules: vec![FaultRule {
            method: Some("GET".into()),
            path_contains: Some("/volumes".into()),
            reset_rate: 1.0,
            ..Default::default()
        }],
        ..Default::default()
    });
    let e = c
        .http
        .get(&url)
        .header("x-auth-token", &c.token)
        .send()
        .await;
    assert!(
        e.is_err(),
        "expected a reset, got {:?}",
        e.map(|r| r.status())
    );
    // Fixed latency for benchmarks.
    c.h.set_faults(FaultProfile::fixed_latency(80));
    let t = Instant::now();
    assert_eq!(c.get(&url, None).await.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(80));
    let r = c.admin(Method::GET, "/_emulator/faults", None).await;
    assert_eq!(r.body["latency"], json!({"kind": "fixed", "ms": 80}));
    assert_eq!(
        c.admin(Method::DELETE, "/_emulator/faults", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let bad = c
        .http
        .put(format!("{}/_emulator/faults", c.h.admin_url()))
        .body("rules: 3")
        .send()
        .await
        .expect("bad");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire() {
    let mut cfg = EmulatorConfig::fast();
    cfg.timing.token_ttl = Duration::from_millis(600);
    let c = Cloud::with(cfg).await;
    let url = format!("{}/servers", c.compute(Site::A));
    assert_eq!(c.get(&url, None).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = c.get(&url, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get("www-authenticate").is_some());
    // Validation says so too, and a fresh token works.
    let ks = c.h.keystone_url();
    let r = c
        .http
        .post(format!("{ks}/auth/tokens"))
        .json(&common::password_auth())
        .send()
        .await
        .expect("auth");
    let fresh = r
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .expect("token")
        .to_string();
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(body["token"]["expires_at"].is_string());
    let r = c
        .http
        .get(format!("{ks}/auth/tokens"))
        .header("x-auth-token", &fresh)
        .header("x-subject-token", &c.token)
        .send()
        .await
        .expect("validate");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let ok = c
        .http
        .get(&url)
        .header("x-auth-token", &fresh)
        .send()
        .await
        .expect("call");
    assert_eq!(ok.status(), StatusCode::OK);
    // The admin switch expires every token at once; TTL can be changed live.
    let bad = c
        .admin(
            Method::PUT,
            "/_emulator/timing",
            Some(json!({"token_ttl_s": -5})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = c
        .admin(
            Method::PUT,
            "/_emulator/timing",
            Some(json!({"transition_ms": 1e300})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let ok = c
        .admin(
            Method::PUT,
            "/_emulator/timing",
            Some(json!({"token_ttl_s": 3600})),
        )
        .await;
    assert_eq!(ok.body["token_ttl_s"], 3600.0);
    c.admin(Method::POST, "/_emulator/tokens/expire", None)
        .await;
    let r = c
        .http
        .get(&url)
        .header("x-auth-token", &fresh)
        .send()
        .await
        .expect("call");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clouds_yaml_and_admin_helper() {
    let c = Cloud::start().await;
    let y = c.h.clouds_yaml();
    for needle in [
        "emulator-site-a:",
        "emulator-site-b:",
        "region_name: site-a",
        "region_name: site-b",
        "username: operator",
        "project_name: vnf-ops",
        "user_domain_name: Default",
        "application_credential_id: lifeboat-appcred-id",
    ] {
        assert!(y.contains(needle), "{needle} in\n{y}");
    }
    assert!(y.contains(&c.h.keystone_url()));
    let parsed: serde_json::Value = serde_yaml_ng_like(&y);
    assert!(parsed["clouds"]["emulator"]["auth"]["auth_url"].is_string());
    let r = c.admin(Method::GET, "/_emulator/clouds.yaml", None).await;
    assert_eq!(r.text, y);
    let base = c.h.admin_url();
    let (status, body) = tokio::task::spawn_blocking(move || {
        lifeboat_emulator::admin_request(&base, "POST", "/_emulator/sites/site-b/down", None)
    })
    .await
    .expect("join")
    .expect("admin");
    assert_eq!(status, 200, "{body}");
    assert!(c.h.is_site_down(Site::B));
    c.h.shutdown().await;
}

/// The clouds.yaml is valid YAML (parsed through the emulator's own topology parser dependency).
fn serde_yaml_ng_like(y: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_yaml::from_str(y).expect("valid yaml");
    v
}
