//! Swift (object storage v1) at `/object/v1/AUTH_{project_id}`: account
//! listing (text or JSON), containers (PUT/GET/HEAD/DELETE/POST), objects
//! (PUT/GET/HEAD/DELETE) with ETag (MD5 hex) and `X-Object-Meta-*`; the
//! container-sync headers (`X-Container-Sync-To`, `X-Container-Sync-Key`),
//! validated as Swift does, the copying itself in [`crate::swift_sync`].

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::errors::{error, Flavor as F};
use crate::routing::Ctx;
use crate::world::{Container, SwiftObject};

fn plain(status: StatusCode, body: &str) -> Response {
    error(F::Swift, status, body)
}

fn wants_json(ctx: &Ctx) -> bool {
    ctx.q("format") == Some("json")
        || ctx
            .headers
            .get("accept")
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("application/json"))
}

fn meta_from(headers: &HeaderMap, prefix: &str) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            let k = k.as_str();
            k.strip_prefix(prefix)
                .and_then(|n| v.to_str().ok().map(|v| (n.to_string(), v.to_string())))
        })
        .collect()
}

fn set(h: &mut HeaderMap, k: &str, v: &str) {
    if let (Ok(name), Ok(val)) = (
        axum::http::HeaderName::from_bytes(k.as_bytes()),
        HeaderValue::from_str(v),
    ) {
        h.insert(name, val);
    }
}

fn stamp(r: &mut Response) {
    let tx = format!("tx{}", uuid::Uuid::new_v4().simple());
    set(r.headers_mut(), "x-trans-id", &tx);
    set(r.headers_mut(), "x-openstack-request-id", &tx);
    set(
        r.headers_mut(),
        "x-timestamp",
        &format!("{:.5}", chrono::Utc::now().timestamp_micros() as f64 / 1e6),
    );
}

pub async fn handle(ctx: &mut Ctx) -> Response {
    if ctx.seg(0) != "v1" {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    }
    let account = ctx.seg(1).to_string();
    if account != format!("AUTH_{}", ctx.token.project_id) {
        return plain(StatusCode::FORBIDDEN, "Forbidden");
    }
    let container = ctx.segs.get(2).cloned();
    // Object names may contain '/': rejoin the rest.
    let object = if ctx.segs.len() > 3 {
        Some(ctx.segs[3..].join("/"))
    } else {
        None
    };
    let mut r = match (container, object) {
        (None, _) => account_req(ctx),
        (Some(c), None) => container_req(ctx, &c),
        (Some(c), Some(o)) => object_req(ctx, &c, &o),
    };
    stamp(&mut r);
    r
}

fn account_req(ctx: &Ctx) -> Response {
    let w = ctx.shared.lock();
    let s = w.site(ctx.site);
    let count = s.containers.len();
    let objects: usize = s.containers.values().map(|c| c.objects.len()).sum();
    let bytes: usize = s
        .containers
        .values()
        .flat_map(|c| c.objects.values())
        .map(|o| o.data.len())
        .sum();
    let mut r = match ctx.method {
        Method::GET => {
            let prefix = ctx.q("prefix").unwrap_or("");
            let names: Vec<(&String, &Container)> = s
                .containers
                .iter()
                .filter(|(n, _)| n.starts_with(prefix))
                .collect();
            if names.is_empty() && !wants_json(ctx) {
                StatusCode::NO_CONTENT.into_response()
            } else if wants_json(ctx) {
                let list: Vec<_> = names
                    .iter()
                    .map(|(n, c)| json!({"name": n, "count": c.objects.len(), "bytes": c.objects.values().map(|o| o.data.len()).sum::<usize>(), "last_modified": c.created_at}))
                    .collect();
                axum::Json(list).into_response()
            } else {
                names
                    .iter()
                    .map(|(n, _)| format!("{n}\n"))
                    .collect::<String>()
                    .into_response()
            }
        }
        Method::HEAD => StatusCode::NO_CONTENT.into_response(),
        Method::POST => StatusCode::NO_CONTENT.into_response(),
        _ => return plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
    };
    let h = r.headers_mut();
    set(h, "x-account-container-count", &count.to_string());
    set(h, "x-account-object-count", &objects.to_string());
    set(h, "x-account-bytes-used", &bytes.to_string());
    r
}

/// The container-sync headers of a PUT or POST: `Some("")` removes.
struct SyncHeaders {
    to: Option<String>,
    key: Option<String>,
}

fn set_sync(c: &mut Container, h: &SyncHeaders) {
    if let Some(to) = &h.to {
        if *to != c.sync_to {
            // A new target starts over: every row is synced to it.
            c.sync_point = 0;
        }
        c.sync_to = to.clone();
    }
    if let Some(k) = &h.key {
        c.sync_key = k.clone();
    }
}

fn container_req(ctx: &Ctx, name: &str) -> Response {
    let header = |k: &str| {
        ctx.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    };
    let sync = SyncHeaders {
        to: header("x-container-sync-to"),
        key: header("x-container-sync-key"),
    };
    if matches!(ctx.method, Method::PUT | Method::POST) {
        if let Some(to) = sync.to.as_deref().filter(|t| !t.is_empty()) {
            if let Err(why) = crate::swift_sync::validate_sync_to(to, &ctx.shared) {
                return plain(StatusCode::BAD_REQUEST, &why);
            }
        }
    }
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    match ctx.method {
        Method::PUT => {
            if name.len() > 256 {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "Container name length of 257 longer than 256",
                );
            }
            let meta = meta_from(&ctx.headers, "x-container-meta-");
            let created = !s.containers.contains_key(name);
            let c = s.containers.entry(name.to_string()).or_default();
            if created {
                c.created_at = crate::world::now_iso();
            }
            c.meta.extend(meta);
            c.meta.retain(|_, v| !v.is_empty());
            set_sync(c, &sync);
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::ACCEPTED
            }
            .into_response()
        }
        Method::POST => match s.containers.get_mut(name) {
            Some(c) => {
                c.meta.extend(meta_from(&ctx.headers, "x-container-meta-"));
                // An empty value removes the item, as in Swift.
                c.meta.retain(|_, v| !v.is_empty());
                set_sync(c, &sync);
                StatusCode::NO_CONTENT.into_response()
            }
            None => plain(StatusCode::NOT_FOUND, "Not Found"),
        },
        Method::DELETE => match s.containers.get(name) {
            None => plain(StatusCode::NOT_FOUND, "Not Found"),
            Some(c) if !c.objects.is_empty() => plain(
                StatusCode::CONFLICT,
                "There was a conflict when trying to complete your request.",
            ),
            Some(_) => {
                s.containers.remove(name);
                StatusCode::NO_CONTENT.into_response()
            }
        },
        Method::GET | Method::HEAD => {
            let Some(c) = s.containers.get(name) else {
                return plain(StatusCode::NOT_FOUND, "Not Found");
            };
            let prefix = ctx.q("prefix").unwrap_or("");
            let marker = ctx.q("marker").unwrap_or("");
            let limit = ctx
                .q("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(10_000);
            let objs: Vec<(&String, &SwiftObject)> = c
                .objects
                .iter()
                .filter(|(n, _)| n.starts_with(prefix) && n.as_str() > marker)
                .take(limit)
                .collect();
            let mut r = if ctx.method == Method::HEAD {
                StatusCode::NO_CONTENT.into_response()
            } else if wants_json(ctx) {
                let list: Vec<_> = objs
                    .iter()
                    .map(|(n, o)| json!({"name": n, "hash": o.etag, "bytes": o.data.len(), "content_type": o.content_type, "last_modified": o.last_modified}))
                    .collect();
                axum::Json(list).into_response()
            } else if objs.is_empty() {
                StatusCode::NO_CONTENT.into_response()
            } else {
                objs.iter()
                    .map(|(n, _)| format!("{n}\n"))
                    .collect::<String>()
                    .into_response()
            };
            let h = r.headers_mut();
            set(h, "x-container-object-count", &c.objects.len().to_string());
            set(
                h,
                "x-container-bytes-used",
                &c.objects
                    .values()
                    .map(|o| o.data.len())
                    .sum::<usize>()
                    .to_string(),
            );
            for (k, v) in &c.meta {
                set(h, &format!("x-container-meta-{k}"), v);
            }
            // The account's owner sees the sync settings (Swift hides them
            // from other users; every emulator token is the owner's).
            if !c.sync_to.is_empty() {
                set(h, "x-container-sync-to", &c.sync_to);
            }
            if !c.sync_key.is_empty() {
                set(h, "x-container-sync-key", &c.sync_key);
            }
            r
        }
        _ => plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
    }
}

fn object_req(ctx: &Ctx, container: &str, name: &str) -> Response {
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    let Some(c) = s.containers.get_mut(container) else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    match ctx.method {
        Method::PUT => {
            let etag = md5_hex(&ctx.body);
            if let Some(want) = ctx.headers.get("etag").and_then(|e| e.to_str().ok()) {
                if want.trim_matches('"') != etag {
                    return plain(StatusCode::UNPROCESSABLE_ENTITY, "Unprocessable Entity");
                }
            }
            let ct = ctx
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_string();
            c.put(
                name,
                SwiftObject {
                    data: ctx.body.clone(),
                    etag: etag.clone(),
                    content_type: ct,
                    meta: meta_from(&ctx.headers, "x-object-meta-"),
                    last_modified: crate::world::now_iso(),
                    row: 0,
                    written: std::time::Instant::now(),
                },
            );
            let mut r = StatusCode::CREATED.into_response();
            set(r.headers_mut(), "etag", &etag);
            set(
                r.headers_mut(),
                "last-modified",
                &chrono::Utc::now()
                    .format("%a, %d %b %Y %H:%M:%S GMT")
                    .to_string(),
            );
            r
        }
        Method::POST => match c.objects.get_mut(name) {
            Some(o) => {
                o.meta = meta_from(&ctx.headers, "x-object-meta-");
                StatusCode::ACCEPTED.into_response()
            }
            None => plain(StatusCode::NOT_FOUND, "Not Found"),
        },
        Method::DELETE => match c.delete(name) {
            true => StatusCode::NO_CONTENT.into_response(),
            false => plain(StatusCode::NOT_FOUND, "Not Found"),
        },
        Method::GET | Method::HEAD => {
            let Some(o) = c.objects.get(name) else {
                return plain(StatusCode::NOT_FOUND, "Not Found");
            };
            let mut r = if ctx.method == Method::GET {
                (StatusCode::OK, o.data.clone()).into_response()
            } else {
                StatusCode::OK.into_response()
            };
            let h = r.headers_mut();
            set(h, "etag", &o.etag);
            set(h, "content-type", &o.content_type);
            if ctx.method == Method::HEAD {
                set(h, "content-length", &o.data.len().to_string());
            }
            set(h, "last-modified", &http_date(&o.last_modified));
            for (k, v) in &o.meta {
                set(h, &format!("x-object-meta-{k}"), v);
            }
            r
        }
        _ => plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
    }
}

/// `2026-11-25T01:13:45.214204` → `Wed, 25 Nov 2026 01:13:45 GMT` (HTTP headers).
fn http_date(iso: &str) -> String {
    chrono::NaiveDateTime::parse_from_str(iso, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_else(|_| iso.to_string())
}

/// MD5 (RFC 1321) as lowercase hex: Swift's ETag.
pub fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32)
        .collect();
    let (mut a0, mut b0, mut c0, mut d0) =
        (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f2 = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f2.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = Vec::with_capacity(16);
    for v in [a0, b0, c0, d0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    hex::encode(out)
}

#[cfg(test)]
mod tests {
    use super::md5_hex;

    #[test]
    fn md5_known_vectors() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex(b"The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
        assert_eq!(
            md5_hex(b"message digest"),
            "f96b697d7cb7938d525a2f31aaf161d0"
        );
        assert_eq!(
            md5_hex(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }
}
