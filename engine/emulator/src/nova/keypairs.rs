//! Nova key pairs (`os-keypairs`), per user: import a public key (from
//! 2.92 the only way), or below 2.92 let Nova generate one and answer the
//! private half once; list, show, delete. Key pairs are not site-spanning:
//! each region's Nova keeps its own, so a recovery site needs them too.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::errors::{bad_request, conflict, error, not_found, Flavor as F, Reply};
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::world::{now_iso, Keypair};

/// The key's fingerprint in the colon-separated form Nova shows (16 bytes
/// of a digest of the key's body).
pub fn fingerprint(public_key: &str) -> String {
    let body = public_key.split_whitespace().nth(1).unwrap_or(public_key);
    let d = Sha256::digest(body.as_bytes());
    d[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// An OpenSSH public key as Nova accepts it: `TYPE BASE64 [comment]`, the
/// decoded blob starting with TYPE as a length-prefixed string.
pub fn valid_ssh_key(k: &str) -> bool {
    use base64::Engine;
    let mut parts = k.split_whitespace();
    let (Some(kind), Some(body)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(blob) = base64::engine::general_purpose::STANDARD.decode(body) else {
        return false;
    };
    if blob.len() < 4 {
        return false;
    }
    let n = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    blob.get(4..4 + n) == Some(kind.as_bytes())
}

/// A well-formed ed25519 public key whose key bytes come from `seed`.
pub fn ed25519_key(seed: &str, comment: &str) -> String {
    use base64::Engine;
    let kind = b"ssh-ed25519";
    let mut blob = Vec::new();
    blob.extend_from_slice(&(kind.len() as u32).to_be_bytes());
    blob.extend_from_slice(kind);
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&Sha256::digest(seed.as_bytes()));
    format!(
        "ssh-ed25519 {} {comment}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

fn view(k: &Keypair, mv: Mv, full: bool) -> Value {
    let mut o = json!({"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint});
    if mv.at_least(2, 2) {
        o["type"] = json!(k.kind);
    }
    if full {
        o["user_id"] = json!(k.user_id);
        o["created_at"] = json!(k.created_at);
        o["deleted"] = json!(false);
        o["deleted_at"] = Value::Null;
        o["updated_at"] = Value::Null;
        o["id"] = json!(1);
    }
    o
}

/// The user's key pairs by name; from 2.35 paged with `limit` and `marker`
/// (a name): at most `max_limit` (1,000) a page, asked or not, with a
/// `keypairs_links` next link when a page is full.
pub fn list(ctx: &Ctx, mv: Mv) -> Reply {
    let w = ctx.shared.lock();
    let mut keys: Vec<&Keypair> = w
        .site(ctx.site)
        .keypairs
        .values()
        .filter(|k| k.user_id == ctx.token.user_id)
        .collect();
    let mut next = None;
    if mv.at_least(2, 35) {
        if let Some(m) = ctx.q("marker") {
            match keys.iter().position(|k| k.name == m) {
                Some(i) => keys = keys.split_off(i + 1),
                None => return Err(bad_request(F::Nova, format!("marker [{m}] not found"))),
            }
        }
        let n = super::page_size(ctx)?;
        keys.truncate(n);
        if n > 0 && keys.len() == n {
            let last = &keys[n - 1].name;
            next = Some(format!(
                "{}/compute/v2.1/os-keypairs?{}",
                ctx.base,
                ctx.query_with_marker(last)
            ));
        }
    }
    let items: Vec<Value> = keys
        .iter()
        .map(|k| json!({"keypair": view(k, mv, false)}))
        .collect();
    let mut body = json!({"keypairs": items});
    if let Some(href) = next {
        body["keypairs_links"] = json!([{"href": href, "rel": "next"}]);
    }
    Ok(Json(body).into_response())
}

fn nf(name: &str, user: &str) -> axum::response::Response {
    not_found(F::Nova, format!("Keypair {name} not found for user {user}"))
}

pub fn show(ctx: &Ctx, mv: Mv, name: &str) -> Reply {
    let w = ctx.shared.lock();
    let user = ctx.token.user_id.clone();
    match w
        .site(ctx.site)
        .keypairs
        .get(&(user.clone(), name.to_string()))
    {
        Some(k) => Ok(Json(json!({"keypair": view(k, mv, true)})).into_response()),
        None => Err(nf(name, &user)),
    }
}

pub fn create(ctx: &Ctx, mv: Mv) -> Reply {
    let body = ctx.json(F::Nova)?;
    let Some(req) = body.get("keypair").and_then(Value::as_object) else {
        return Err(bad_request(F::Nova, "Invalid input for field/attribute keypair. Value: None. 'keypair' is a required property"));
    };
    let Some(name) = req
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty() && n.len() <= 255)
    else {
        return Err(bad_request(
            F::Nova,
            "Invalid input for field/attribute name. Value: None. 'name' is a required property",
        ));
    };
    let kind = req
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ssh")
        .to_string();
    if kind != "ssh" && kind != "x509" {
        return Err(bad_request(F::Nova, format!("Invalid input for field/attribute type. Value: {kind}. '{kind}' is not one of ['ssh', 'x509']")));
    }
    let (public_key, private_key) = match req.get("public_key").and_then(Value::as_str) {
        Some(k) => {
            if !valid_ssh_key(k) {
                return Err(bad_request(
                    F::Nova,
                    "Keypair data is invalid: failed to generate fingerprint",
                ));
            }
            (k.to_string(), None)
        }
        None if mv.at_least(2, 92) => {
            return Err(bad_request(F::Nova, "Invalid input for field/attribute keypair. Value: {...}. 'public_key' is a required property"));
        }
        None => {
            let seed = uuid::Uuid::new_v4().simple().to_string();
            (
                ed25519_key(&seed, "Generated-by-Nova"),
                Some(format!(
                    "-----BEGIN RSA PRIVATE KEY-----\n{seed}\n-----END RSA PRIVATE KEY-----\n"
                )),
            )
        }
    };
    let user = ctx.token.user_id.clone();
    let mut w = ctx.shared.lock();
    let s = w.site_mut(ctx.site);
    if s.keypairs.contains_key(&(user.clone(), name.to_string())) {
        return Err(conflict(
            F::Nova,
            format!("Key pair '{name}' already exists."),
        ));
    }
    let limit = crate::quota::quotas_of(s, &ctx.token.project_id).key_pairs;
    if limit >= 0 && s.keypairs.keys().filter(|(u, _)| u == &user).count() as i64 >= limit {
        return Err(error(
            F::Nova,
            StatusCode::FORBIDDEN,
            "Quota exceeded, too many key pairs.",
        ));
    }
    let k = Keypair {
        name: name.to_string(),
        fingerprint: fingerprint(&public_key),
        public_key,
        kind,
        user_id: user.clone(),
        created_at: now_iso(),
    };
    let mut v = view(&k, mv, false);
    v["user_id"] = json!(user);
    if let Some(p) = private_key {
        v["private_key"] = json!(p);
    }
    s.keypairs.insert((user, name.to_string()), k);
    let status = if mv.at_least(2, 2) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({"keypair": v}))).into_response())
}

pub fn delete(ctx: &Ctx, mv: Mv, name: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let user = ctx.token.user_id.clone();
    match w
        .site_mut(ctx.site)
        .keypairs
        .remove(&(user.clone(), name.to_string()))
    {
        Some(_) if mv.at_least(2, 2) => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(_) => Ok(StatusCode::ACCEPTED.into_response()),
        None => Err(nf(name, &user)),
    }
}
