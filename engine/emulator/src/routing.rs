//! The entry of every site request: service by path prefix, fault injection,
//! token check, microversion negotiation, then the service's dispatcher.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::errors::{bad_request, error, Flavor};
use crate::faults::Injected;
use crate::keystone::{sh_tokens, Token};
use crate::server::{ConnMeta, Shared};
use crate::world::Site;

/// State of a site router.
#[derive(Clone)]
pub struct SiteState {
    pub shared: Arc<Shared>,
    pub site: Site,
}

/// One authenticated request to a service.
pub struct Ctx {
    pub shared: Arc<Shared>,
    pub site: Site,
    pub token: Arc<Token>,
    pub method: Method,
    /// Path segments after the service's version prefix.
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Base URL of the site (`http://127.0.0.1:PORT`).
    pub base: String,
}

impl Ctx {
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// Every value of `key` in the query (a filter given more than once:
    /// `id=a&id=b`), in order.
    pub fn q_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// This request's query string with `marker` set to `marker`: the next
    /// page of a list, as the services link it (every filter, sort and
    /// limit kept).
    pub fn query_with_marker(&self, marker: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.query.iter().filter(|(k, _)| k != "marker") {
            q.append_pair(k, v);
        }
        q.append_pair("marker", marker);
        q.finish()
    }
    pub fn seg(&self, i: usize) -> &str {
        self.segs.get(i).map(|s| s.as_str()).unwrap_or("")
    }
    /// The JSON body, or a 400 in the service's format.
    pub fn json(&self, flavor: Flavor) -> Result<Value, Response> {
        if self.body.is_empty() {
            return Err(bad_request(flavor, "The server could not comply with the request since it is either malformed or otherwise incorrect."));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| bad_request(flavor, format!("Malformed request body: {e}")))
    }
}

fn service_of(path: &str) -> Option<(&'static str, Flavor)> {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "compute" => Some(("compute", Flavor::Nova)),
        "volume" => Some(("volume", Flavor::Cinder)),
        "image" => Some(("image", Flavor::Glance)),
        "object" => Some(("object", Flavor::Swift)),
        "network" => Some(("network", Flavor::Neutron)),
        "dns" => Some(("dns", Flavor::Designate)),
        _ => None,
    }
}

fn unauthorized(flavor: Flavor) -> Response {
    match flavor {
        Flavor::Swift => {
            let mut r = (StatusCode::UNAUTHORIZED, "<html><h1>Unauthorized</h1><p>This server could not verify that you are authorized to access the document you requested.</p></html>").into_response();
            r.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Keystone uri='keystone'"),
            );
            r
        }
        _ => {
            let mut r = error(
                Flavor::Keystone,
                StatusCode::UNAUTHORIZED,
                "The request you have made requires authentication.",
            );
            r.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static("Keystone uri='keystone'"),
            );
            r
        }
    }
}

/// The site's single handler: answers, then records the answer in the
/// request log (method, path, status, action; never headers or bodies).
pub async fn entry(
    State(st): State<SiteState>,
    ConnectInfo(conn): ConnectInfo<ConnMeta>,
    req: Request,
) -> Response {
    let sh = st.shared.clone();
    let site = st.site;
    let path = req.uri().path().to_string();
    let method = req.method().as_str().to_string();
    let mut action = None;
    let r = answer(st, conn, req, &mut action).await;
    sh.request_log()
        .record(site, &method, &path, r.status().as_u16(), action);
    r
}

async fn answer(
    st: SiteState,
    conn: ConnMeta,
    req: Request,
    action: &mut Option<String>,
) -> Response {
    let sh = st.shared.clone();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let method = parts.method;
    let Some((service, flavor)) = service_of(&path) else {
        return error(
            Flavor::Nova,
            StatusCode::NOT_FOUND,
            "The resource could not be found.",
        );
    };
    let headers = parts.headers;
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let body = match axum::body::to_bytes(body, 256 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => return bad_request(flavor, "Request body too large or unreadable."),
    };
    *action = crate::request_log::action_of(method.as_str(), &path, &body);
    let (latency, injected) =
        sh.fault_state()
            .decide(st.site.name(), service, method.as_str(), &path);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut lose_answer = false;
    let mut land_after = None;
    match injected {
        Injected::Pass => {}
        Injected::LoseAnswer => lose_answer = true,
        Injected::LandLate(after) => land_after = Some(after),
        Injected::Error(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return error(
                flavor,
                status,
                "Injected fault: the service is temporarily unavailable.",
            );
        }
        Injected::Reset => {
            conn.kill.store(true, Ordering::SeqCst);
            return (StatusCode::INTERNAL_SERVER_ERROR, Body::empty()).into_response();
        }
        Injected::Limited {
            status,
            retry_after_s,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
            let mut r = error(flavor, status, "This request was rate-limited.");
            if let Ok(v) = HeaderValue::from_str(&retry_after_s.to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
            return r;
        }
    }
    let segs: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .skip(1)
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let base = sh.site_base(st.site).to_string();
    // Unauthenticated version discovery.
    if method == Method::GET {
        if let Some(r) = discovery(service, &segs, &base) {
            return r;
        }
    }
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .and_then(|id| sh_tokens(&sh).valid(id));
    let Some(token) = token else {
        return unauthorized(flavor);
    };
    let mut ctx = Ctx {
        shared: sh,
        site: st.site,
        token,
        method,
        segs,
        query,
        headers,
        body,
        base,
    };
    if let Some(after) = land_after {
        // Queued behind an overloaded API: the client hears nothing now,
        // the call lands later — unless the site went down meanwhile —
        // and the request log records it then too.
        conn.kill.store(true, Ordering::SeqCst);
        let action = action.clone();
        let path = path.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let site = ctx.site;
            if ctx.shared.switches[site.index()].is_down() {
                return;
            }
            let r = serve(service, &mut ctx).await;
            ctx.shared.request_log().record(
                site,
                ctx.method.as_str(),
                &path,
                r.status().as_u16(),
                action,
            );
        });
        return (StatusCode::INTERNAL_SERVER_ERROR, Body::empty()).into_response();
    }
    let response = serve(service, &mut ctx).await;
    if lose_answer {
        // Done, but the client never hears of it.
        conn.kill.store(true, Ordering::SeqCst);
        return (StatusCode::INTERNAL_SERVER_ERROR, Body::empty()).into_response();
    }
    response
}

async fn serve(service: &str, ctx: &mut Ctx) -> Response {
    match service {
        "compute" => crate::nova::handle(ctx).await,
        "volume" => crate::cinder::handle(ctx).await,
        "image" => crate::glance::handle(ctx).await,
        "network" => crate::neutron::handle(ctx).await,
        "dns" => crate::designate::handle(ctx).await,
        _ => crate::swift::handle(ctx).await,
    }
}

fn percent_decode(s: &str) -> String {
    // Ids and names of the path are plain: nothing to decode (most
    // segments of every request).
    if !s.contains('%') {
        return s.to_string();
    }
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

fn discovery(service: &str, segs: &[String], base: &str) -> Option<Response> {
    let s: Vec<&str> = segs.iter().map(|s| s.as_str()).collect();
    match (service, s.as_slice()) {
        ("compute", []) => Some((StatusCode::OK, axum::Json(crate::nova::versions(base))).into_response()),
        ("compute", ["v2.1"]) => Some(axum::Json(crate::nova::version_doc(base)).into_response()),
        ("volume", []) => Some((StatusCode::MULTIPLE_CHOICES, axum::Json(crate::cinder::versions(base))).into_response()),
        ("volume", ["v3"]) => Some(axum::Json(crate::cinder::version_doc(base)).into_response()),
        ("image", []) | ("image", ["versions"]) => Some((StatusCode::OK, axum::Json(crate::glance::versions(base))).into_response()),
        ("image", ["v2"]) => Some((StatusCode::OK, axum::Json(crate::glance::versions(base))).into_response()),
        ("network", []) => Some(axum::Json(crate::neutron::versions(base)).into_response()),
        ("network", ["v2.0"]) => Some(axum::Json(crate::neutron::version_doc(base)).into_response()),
        ("dns", []) => Some(axum::Json(crate::designate::versions(base)).into_response()),
        ("object", ["info"]) => Some(axum::Json(serde_json::json!({"swift": {"version": "2.38.3", "max_file_size": 5368709122u64}, "container_sync": crate::swift_sync::info()})).into_response()),
        _ => None,
    }
}
