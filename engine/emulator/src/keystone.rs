//! Keystone v3: version discovery, password and application-credential
//! authentication, token validation, and the two-region service catalogue.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::errors::{error, Flavor};
use crate::server::Shared;
use crate::world::{stable_hex, Site};

/// A token Keystone issued.
#[derive(Clone, Debug)]
pub struct Token {
    pub id: String,
    pub user_id: String,
    pub user_name: String,
    pub project_id: String,
    pub project_name: String,
    pub methods: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub audit_id: String,
    pub app_cred: Option<(String, String)>,
}

impl Token {
    pub fn expired(&self) -> bool {
        Utc::now() >= self.expires_at
    }
}

#[derive(Debug, Default)]
pub struct Tokens {
    /// Shared with the requests that carry them: a request holds its
    /// caller's token without copying it.
    pub by_id: HashMap<String, Arc<Token>>,
}

impl Tokens {
    /// Look a token up; `None` when unknown or expired.
    pub fn valid(&self, id: &str) -> Option<Arc<Token>> {
        self.by_id.get(id).filter(|t| !t.expired()).cloned()
    }
    /// Make every token expire now (the "token expiry" fault).
    pub fn expire_all(&mut self) {
        let now = Utc::now();
        for t in self.by_id.values_mut() {
            Arc::make_mut(t).expires_at = now;
        }
    }
}

fn ks_err(status: StatusCode, msg: &str) -> Response {
    error(Flavor::Keystone, status, msg)
}

fn unauthorized() -> Response {
    ks_err(
        StatusCode::UNAUTHORIZED,
        "The request you have made requires authentication.",
    )
}

fn fmt_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub fn version_v3(base: &str) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{base}/v3/")}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
    })
}

pub async fn versions(State(sh): State<Arc<Shared>>) -> Response {
    let body = json!({"versions": {"values": [version_v3(&sh.keystone_base)]}});
    (StatusCode::MULTIPLE_CHOICES, Json(body)).into_response()
}

pub async fn version(State(sh): State<Arc<Shared>>) -> Response {
    Json(json!({"version": version_v3(&sh.keystone_base)})).into_response()
}

/// The catalogue: identity, and per site compute, network, volumev3, block-storage, image, dns, object-store.
pub fn catalog(sh: &Shared, project_id: &str) -> Value {
    let mut services = Vec::new();
    let endpoint = |site: &str, url: String, iface: &str, seed: &str| json!({"id": stable_hex(&format!("ep:{seed}:{site}:{iface}")), "interface": iface, "region": site, "region_id": site, "url": url});
    let mut ident = Vec::new();
    for site in Site::ALL {
        for iface in ["public", "internal", "admin"] {
            ident.push(endpoint(
                site.name(),
                format!("{}/v3", sh.keystone_base),
                iface,
                "identity",
            ));
        }
    }
    services.push(json!({"id": stable_hex("svc:identity"), "name": "keystone", "type": "identity", "endpoints": ident}));
    // (type, name, URL from site base and project id)
    type UrlOf = fn(&str, &str) -> String;
    let kinds: [(&str, &str, UrlOf); 7] = [
        ("compute", "nova", |b, _| format!("{b}/compute/v2.1")),
        ("network", "neutron", |b, _| format!("{b}/network")),
        ("volumev3", "cinderv3", |b, p| format!("{b}/volume/v3/{p}")),
        ("block-storage", "cinder", |b, p| {
            format!("{b}/volume/v3/{p}")
        }),
        ("image", "glance", |b, _| format!("{b}/image")),
        ("dns", "designate", |b, _| format!("{b}/dns")),
        ("object-store", "swift", |b, p| {
            format!("{b}/object/v1/AUTH_{p}")
        }),
    ];
    for (ty, name, url) in kinds {
        let mut eps = Vec::new();
        for site in Site::ALL {
            for iface in ["public", "internal"] {
                eps.push(endpoint(
                    site.name(),
                    url(sh.site_base(site), project_id),
                    iface,
                    ty,
                ));
            }
        }
        services.push(json!({"id": stable_hex(&format!("svc:{ty}")), "name": name, "type": ty, "endpoints": eps}));
    }
    Value::Array(services)
}

fn token_body(sh: &Shared, t: &Token, with_catalog: bool) -> Value {
    let domain = json!({"id": "default", "name": sh.topology.domain});
    let mut tok = json!({
        "audit_ids": [t.audit_id],
        "expires_at": fmt_time(&t.expires_at),
        "issued_at": fmt_time(&t.issued_at),
        "is_domain": false,
        "methods": t.methods,
        "project": {"domain": domain, "id": t.project_id, "name": t.project_name},
        "roles": [
            {"id": stable_hex("role:admin"), "name": "admin"},
            {"id": stable_hex("role:member"), "name": "member"},
            {"id": stable_hex("role:reader"), "name": "reader"}
        ],
        "user": {"domain": domain, "id": t.user_id, "name": t.user_name, "password_expires_at": null}
    });
    if let Some((id, name)) = &t.app_cred {
        tok["application_credential"] = json!({"id": id, "name": name, "restricted": true});
    }
    if with_catalog {
        tok["catalog"] = catalog(sh, &t.project_id);
    }
    json!({"token": tok})
}

/// `POST /v3/auth/tokens`.
/// A token request under the fault profile (rules matching site
/// `keystone`, service `identity`): latency, 5xx, rate limits with
/// Retry-After. Keystone's listener cannot reset a connection, so a reset
/// answers 502 and a lost answer issues the token and answers 504, as the
/// proxy in front of a real Keystone would.
pub async fn issue(
    State(sh): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    use crate::faults::Injected;
    let (latency, injected) =
        sh.fault_state()
            .decide("keystone", "identity", "POST", "/v3/auth/tokens");
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match injected {
        Injected::Pass => issue_token(sh, query, body).await,
        Injected::Error(code) => ks_err(
            StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "Injected fault: the service is temporarily unavailable.",
        ),
        Injected::Reset => ks_err(
            StatusCode::BAD_GATEWAY,
            "Injected fault: the connection to Keystone was reset.",
        ),
        // A token issued late harms no one: as a lost answer.
        Injected::LoseAnswer | Injected::LandLate(_) => {
            let _ = issue_token(sh, query, body).await;
            ks_err(
                StatusCode::GATEWAY_TIMEOUT,
                "Injected fault: Keystone's answer was lost.",
            )
        }
        Injected::Limited {
            status,
            retry_after_s,
        } => {
            let mut r = ks_err(
                StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS),
                "This request was rate-limited.",
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after_s.to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
            r
        }
    }
}

async fn issue_token(sh: Arc<Shared>, query: Option<String>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return ks_err(
            StatusCode::BAD_REQUEST,
            "Malformed request body: expected JSON.",
        );
    };
    let ident = &req["auth"]["identity"];
    let Some(methods) = ident["methods"].as_array() else {
        return ks_err(
            StatusCode::BAD_REQUEST,
            "'identity' / 'methods' is a required property",
        );
    };
    let method = methods.first().and_then(|m| m.as_str()).unwrap_or("");
    let topo = &sh.topology;
    let (user_name, app_cred) = match method {
        "password" => {
            let u = &ident["password"]["user"];
            let name = u["name"].as_str();
            let id = u["id"].as_str();
            let pw = u["password"].as_str().unwrap_or("");
            let dom = u["domain"]["name"].as_str().or(u["domain"]["id"].as_str());
            if name.is_some() && dom.is_none() {
                return ks_err(StatusCode::BAD_REQUEST, "Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect.");
            }
            if let Some(d) = dom {
                if !d.eq_ignore_ascii_case(&topo.domain) && d != "default" {
                    return unauthorized();
                }
            }
            let user = topo.users.iter().find(|x| {
                Some(x.name.as_str()) == name || Some(topo.user_id(&x.name).as_str()) == id
            });
            match user {
                Some(x) if x.password == pw => (x.name.clone(), None),
                _ => return unauthorized(),
            }
        }
        "application_credential" => {
            let ac = &ident["application_credential"];
            let secret = ac["secret"].as_str().unwrap_or("");
            let mut found = None;
            for u in &topo.users {
                for c in &u.app_credentials {
                    let by_id = ac["id"].as_str() == Some(c.id.as_str());
                    let by_name = ac["name"].as_str() == Some(c.name.as_str())
                        && (ac["user"]["name"].as_str() == Some(u.name.as_str())
                            || ac["user"]["id"].as_str() == Some(topo.user_id(&u.name).as_str()));
                    if (by_id || by_name) && c.secret == secret {
                        found = Some((u.name.clone(), (c.id.clone(), c.name.clone())));
                    }
                }
            }
            match found {
                Some((u, c)) => (u, Some(c)),
                None => return unauthorized(),
            }
        }
        "token" => {
            let id = ident["token"]["id"].as_str().unwrap_or("");
            let t = sh_tokens(&sh).valid(id);
            match t {
                Some(t) => (t.user_name.clone(), t.app_cred.clone()),
                None => return unauthorized(),
            }
        }
        other => {
            return ks_err(
                StatusCode::UNAUTHORIZED,
                &format!("Attempted to authenticate with an unsupported method: {other}"),
            );
        }
    };
    // Scope: the topology has one project; a named scope must match it.
    let scope = &req["auth"]["scope"]["project"];
    if let Some(p) = scope["name"].as_str() {
        if p != topo.project {
            return ks_err(
                StatusCode::UNAUTHORIZED,
                &format!(
                    "The request you have made requires authentication. (project {p} not found)"
                ),
            );
        }
    }
    if let Some(p) = scope["id"].as_str() {
        if p != topo.project_id() {
            return ks_err(
                StatusCode::UNAUTHORIZED,
                "The request you have made requires authentication.",
            );
        }
    }
    let now = Utc::now();
    let ttl =
        chrono::Duration::from_std(sh.timing().token_ttl).unwrap_or(chrono::Duration::hours(1));
    let token = Token {
        id: format!("gAAAAA{}", uuid::Uuid::new_v4().simple()),
        user_id: topo.user_id(&user_name),
        user_name,
        project_id: topo.project_id(),
        project_name: topo.project.clone(),
        methods: vec![method.to_string()],
        issued_at: now,
        expires_at: now
            .checked_add_signed(ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
        audit_id: uuid::Uuid::new_v4().simple().to_string()[..22].to_string(),
        app_cred,
    };
    let body = token_body(&sh, &token, !nocatalog(&query));
    let id = token.id.clone();
    let mut tokens = sh_tokens(&sh);
    if tokens.by_id.len() >= 10_000 {
        tokens.by_id.retain(|_, t| !t.expired());
    }
    tokens.by_id.insert(id.clone(), Arc::new(token));
    drop(tokens);
    let mut r = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&id) {
        r.headers_mut().insert("x-subject-token", v);
    }
    r
}

/// `?nocatalog` (any value) asks for a token body without the catalogue.
fn nocatalog(query: &Option<String>) -> bool {
    query.as_deref().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "nocatalog" || p.starts_with("nocatalog="))
    })
}

pub(crate) fn sh_tokens(sh: &Shared) -> std::sync::MutexGuard<'_, Tokens> {
    match sh.tokens.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn caller(sh: &Shared, headers: &HeaderMap) -> Option<Arc<Token>> {
    let id = headers.get("x-auth-token")?.to_str().ok()?;
    sh_tokens(sh).valid(id)
}

/// `GET|HEAD /v3/auth/tokens`: validate `X-Subject-Token`.
pub async fn validate(
    State(sh): State<Arc<Shared>>,
    method: axum::http::Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if caller(&sh, &headers).is_none() {
        return unauthorized();
    }
    let Some(subject) = headers.get("x-subject-token").and_then(|v| v.to_str().ok()) else {
        return ks_err(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        );
    };
    let Some(t) = sh_tokens(&sh).valid(subject) else {
        return ks_err(
            StatusCode::NOT_FOUND,
            &format!("Could not find token: {subject}."),
        );
    };
    let mut r = if method == axum::http::Method::HEAD {
        StatusCode::OK.into_response()
    } else {
        Json(token_body(&sh, &t, !nocatalog(&query))).into_response()
    };
    if let Ok(v) = HeaderValue::from_str(subject) {
        r.headers_mut().insert("x-subject-token", v);
    }
    r
}

/// `DELETE /v3/auth/tokens`: revoke.
pub async fn revoke(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if caller(&sh, &headers).is_none() {
        return unauthorized();
    }
    let subject = headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if sh_tokens(&sh).by_id.remove(&subject).is_none() {
        return ks_err(
            StatusCode::NOT_FOUND,
            &format!("Could not find token: {subject}."),
        );
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /v3/auth/catalog`.
pub async fn get_catalog(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let Some(t) = caller(&sh, &headers) else {
        return unauthorized();
    };
    Json(json!({"catalog": catalog(&sh, &t.project_id), "links": {"self": format!("{}/v3/auth/catalog", sh.keystone_base), "previous": null, "next": null}})).into_response()
}

/// `GET /v3/auth/projects` and `/v3/users/{id}/projects`.
pub async fn projects(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if caller(&sh, &headers).is_none() {
        return unauthorized();
    }
    let kb = &sh.keystone_base;
    let pid = sh.topology.project_id();
    let p = json!({"id": pid, "name": sh.topology.project, "domain_id": "default", "enabled": true, "is_domain": false, "parent_id": "default", "description": "", "tags": [], "links": {"self": format!("{kb}/v3/projects/{pid}")}});
    Json(json!({"projects": [p], "links": {"self": format!("{kb}/v3/auth/projects"), "next": null, "previous": null}})).into_response()
}

pub async fn regions(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if caller(&sh, &headers).is_none() {
        return unauthorized();
    }
    let kb = &sh.keystone_base;
    let rs: Vec<Value> = Site::ALL.iter().map(|s| json!({"id": s.name(), "description": "", "parent_region_id": null, "links": {"self": format!("{kb}/v3/regions/{}", s.name())}})).collect();
    Json(json!({"regions": rs, "links": {"self": format!("{kb}/v3/regions"), "next": null, "previous": null}})).into_response()
}

pub async fn not_found() -> Response {
    ks_err(StatusCode::NOT_FOUND, "The resource could not be found.")
}
