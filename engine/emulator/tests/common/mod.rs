//! Shared helpers of the HTTP tests: start an emulator, authenticate, call
//! the APIs with microversion headers, wait for statuses.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use lifeboat_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Site};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct Cloud {
    pub h: EmulatorHandle,
    pub http: reqwest::Client,
    pub token: String,
    pub project: String,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

pub fn password_auth() -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "operator", "domain": {"name": "Default"}, "password": "lifeboat"}}},
                     "scope": {"project": {"name": "vnf-ops", "domain": {"name": "Default"}}}}})
}

impl Cloud {
    pub async fn start() -> Cloud {
        Cloud::with(EmulatorConfig::fast()).await
    }

    pub async fn with(cfg: EmulatorConfig) -> Cloud {
        let h = Emulator::start(cfg).await.expect("emulator starts");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        let r = http
            .post(format!("{}/auth/tokens", h.keystone_url()))
            .json(&password_auth())
            .send()
            .await
            .expect("auth");
        assert_eq!(r.status(), StatusCode::CREATED);
        let token = r
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .expect("token header")
            .to_string();
        let body: Value = r.json().await.expect("json");
        let project = body["token"]["project"]["id"]
            .as_str()
            .expect("project")
            .to_string();
        Cloud {
            h,
            http,
            token,
            project,
        }
    }

    pub fn compute(&self, site: Site) -> String {
        format!("{}/compute/v2.1", self.h.site_url(site))
    }
    pub fn volume(&self, site: Site) -> String {
        format!("{}/volume/v3/{}", self.h.site_url(site), self.project)
    }
    pub fn image(&self, site: Site) -> String {
        format!("{}/image/v2", self.h.site_url(site))
    }
    pub fn network(&self, site: Site) -> String {
        format!("{}/network/v2.0", self.h.site_url(site))
    }
    pub fn dns(&self, site: Site) -> String {
        format!("{}/dns/v2", self.h.site_url(site))
    }
    pub fn object(&self, site: Site) -> String {
        format!("{}/object/v1/AUTH_{}", self.h.site_url(site), self.project)
    }

    /// Call with an optional microversion header (`compute 2.47`, `volume 3.64`).
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        mv: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self
            .http
            .request(method, url)
            .header("x-auth-token", &self.token);
        if let Some(mv) = mv {
            req = req.header("openstack-api-version", mv);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, url: &str, mv: Option<&str>) -> Resp {
        self.call(Method::GET, url, mv, None).await
    }
    pub async fn post(&self, url: &str, mv: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, url, mv, Some(body)).await
    }

    /// Poll `url` until `pointer` equals `want` (panics after 10 s).
    pub async fn wait(&self, url: &str, mv: Option<&str>, pointer: &str, want: &str) -> Value {
        let start = Instant::now();
        loop {
            let r = self.get(url, mv).await;
            if r.body.pointer(pointer).and_then(|v| v.as_str()) == Some(want) {
                return r.body;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{url}: {pointer} never became {want}: last {} {}",
                r.status,
                r.text
            );
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }

    /// Poll until the URL answers 404.
    pub async fn wait_gone(&self, url: &str, mv: Option<&str>) {
        let start = Instant::now();
        loop {
            if self.get(url, mv).await.status == StatusCode::NOT_FOUND {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{url} never went away"
            );
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }

    pub async fn servers(&self, site: Site, query: &str) -> Vec<Value> {
        let r = self
            .get(
                &format!("{}/servers/detail{query}", self.compute(site)),
                Some("compute 2.96"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["servers"].as_array().cloned().unwrap_or_default()
    }

    pub async fn server_named(&self, site: Site, name: &str) -> Value {
        let list = self.servers(site, &format!("?name=^{name}$")).await;
        assert_eq!(list.len(), 1, "server {name}");
        list[0].clone()
    }

    /// The volume ids attached to a server, boot first.
    pub async fn volumes_of(&self, site: Site, server: &Value) -> Vec<String> {
        let id = server["id"].as_str().expect("id");
        let r = self
            .get(
                &format!("{}/servers/{id}/os-volume_attachments", self.compute(site)),
                Some("compute 2.89"),
            )
            .await;
        r.body["volumeAttachments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["volumeId"].as_str().map(str::to_string))
            .collect()
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.h.admin_url()));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("admin");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        Resp {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// Create a volume and wait until available.
    pub async fn new_volume(&self, site: Site, size: u64, extra: Value) -> String {
        let mut v = json!({"size": size, "name": "t-vol"});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, x) in e {
                o.insert(k.clone(), x.clone());
            }
        }
        let r = self
            .post(
                &format!("{}/volumes", self.volume(site)),
                Some("volume 3.64"),
                json!({"volume": v}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        let id = r.body["volume"]["id"].as_str().expect("id").to_string();
        self.wait(
            &format!("{}/volumes/{id}", self.volume(site)),
            None,
            "/volume/status",
            "available",
        )
        .await;
        id
    }
}

/// The official API samples beside the clone (`../shared/fixtures/…`), or
/// `None` with a one-line reason when they are not there (a clone with
/// nothing beside it); under CI their absence is a failure.
#[allow(dead_code)]
pub fn fixtures_or_skip() -> Option<std::path::PathBuf> {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/openstack-api-samples");
    if p.is_dir() {
        return Some(p);
    }
    let under_ci = std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && v != "false")
        .unwrap_or(false);
    assert!(
        !under_ci,
        "the API samples are required under CI: {} is missing",
        p.display()
    );
    eprintln!(
        "skipping: the API samples are not beside this clone ({})",
        p.display()
    );
    None
}
