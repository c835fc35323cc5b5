//! Glance v2: version discovery, images list (filters, pagination), show
//! (custom properties at the top level, as real Glance), create, upload,
//! delete. createImage of a volume-backed server lands here.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};

use crate::errors::{bad_request, error, not_found, Flavor as F, Reply};
use crate::routing::Ctx;
use crate::world::{new_id, now_z, Image};

pub fn versions(base: &str) -> Value {
    let v = |id: &str, status: &str| json!({"id": id, "status": status, "links": [{"rel": "self", "href": format!("{base}/image/v2/")}]});
    json!({"versions": [v("v2.16", "CURRENT"), v("v2.15", "SUPPORTED"), v("v2.9", "SUPPORTED"), v("v2.0", "SUPPORTED")]})
}

const CORE: &[&str] = &[
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "owner",
    "min_disk",
    "min_ram",
    "container_format",
    "disk_format",
    "tags",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "created_at",
    "updated_at",
    "self",
    "file",
    "schema",
    "locations",
    "direct_url",
];

pub fn view(img: &Image) -> Value {
    let mut o = json!({
        "id": img.id, "name": img.name, "status": img.status, "visibility": "private", "protected": false,
        "os_hidden": false, "owner": img.owner, "min_disk": 0, "min_ram": 0,
        "container_format": "bare", "disk_format": "qcow2", "tags": [],
        "size": img.size, "virtual_size": null, "checksum": img.checksum,
        "os_hash_algo": if img.checksum.is_some() { json!("sha512") } else { Value::Null },
        "os_hash_value": img.properties.get("os_hash_value").cloned().unwrap_or(Value::Null),
        "created_at": img.created_at, "updated_at": img.updated_at,
        "self": format!("/v2/images/{}", img.id), "file": format!("/v2/images/{}/file", img.id), "schema": "/v2/schemas/image",
    });
    if let Some(m) = o.as_object_mut() {
        for (k, v) in &img.properties {
            if !CORE.contains(&k.as_str()) && !k.starts_with("emulator:") {
                m.insert(k.clone(), v.clone());
            }
        }
        if let Some(cf) = img.properties.get("container_format") {
            m.insert("container_format".into(), cf.clone());
        }
        if let Some(df) = img.properties.get("disk_format") {
            m.insert("disk_format".into(), df.clone());
        }
    }
    o
}

fn nf(id: &str) -> Response {
    not_found(F::Glance, format!("No image found with ID {id}"))
}

pub async fn handle(ctx: &mut Ctx) -> Response {
    if ctx.seg(0) != "v2" {
        return not_found(F::Glance, "The resource could not be found.");
    }
    ctx.segs.remove(0);
    let segs: Vec<String> = ctx.segs.clone();
    let segs: Vec<&str> = segs.iter().map(|s| s.as_str()).collect();
    let r = match (ctx.method.clone(), segs.as_slice()) {
        (Method::GET, ["images"]) => list(ctx),
        (Method::POST, ["images"]) => create(ctx),
        (Method::GET, ["images", id]) => show(ctx, id),
        (Method::DELETE, ["images", id]) => delete(ctx, id),
        (Method::PATCH, ["images", id]) => patch(ctx, id),
        (Method::PUT, ["images", id, "file"]) => upload(ctx, id),
        (Method::GET, ["images", id, "file"]) => download(ctx, id),
        (Method::GET, ["schemas", "image"]) => Ok(Json(
            json!({"name": "image", "properties": {}, "additionalProperties": {"type": "string"}}),
        )
        .into_response()),
        (_, ["images", ..]) => Err(error(
            F::Glance,
            StatusCode::METHOD_NOT_ALLOWED,
            "The method is not allowed for this resource.",
        )),
        _ => Err(not_found(F::Glance, "The resource could not be found.")),
    };
    match r {
        Ok(r) | Err(r) => r,
    }
}

fn list(ctx: &Ctx) -> Reply {
    let w = ctx.shared.lock();
    let mut imgs: Vec<&Image> = w.site(ctx.site).images.values().collect();
    imgs.sort_by_key(|x| std::cmp::Reverse(x.seq));
    if let Some(n) = ctx.q("name") {
        imgs.retain(|i| i.name == n);
    }
    if let Some(s) = ctx.q("status") {
        imgs.retain(|i| i.status == s);
    }
    if let Some(m) = ctx.q("marker") {
        match imgs.iter().position(|i| i.id == m) {
            Some(p) => {
                imgs.drain(..=p);
            }
            None => {
                return Err(bad_request(
                    F::Glance,
                    format!("marker {m} could not be found."),
                ))
            }
        }
    }
    let mut body = json!({"schema": "/v2/schemas/images", "first": "/v2/images"});
    if let Some(l) = ctx.q("limit") {
        let Ok(n) = l.parse::<usize>() else {
            return Err(bad_request(F::Glance, "limit param must be an integer"));
        };
        if imgs.len() > n {
            imgs.truncate(n);
            if let Some(last) = imgs.last() {
                body["next"] = json!(format!("/v2/images?{}", ctx.query_with_marker(&last.id)));
            }
        }
    }
    body["images"] = Value::Array(imgs.iter().map(|i| view(i)).collect());
    Ok(Json(body).into_response())
}

fn show(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let img = w.site(ctx.site).images.get(id).ok_or_else(|| nf(id))?;
    Ok(Json(view(img)).into_response())
}

fn create(ctx: &Ctx) -> Reply {
    let body = ctx.json(F::Glance)?;
    let Some(obj) = body.as_object() else {
        return Err(bad_request(F::Glance, "Body must be a JSON object"));
    };
    let mut props = Map::new();
    for (k, v) in obj {
        if [
            "id",
            "status",
            "self",
            "file",
            "schema",
            "size",
            "checksum",
            "created_at",
            "updated_at",
            "owner",
        ]
        .contains(&k.as_str())
        {
            if k != "id" {
                return Err(error(
                    F::Glance,
                    StatusCode::FORBIDDEN,
                    format!("Attribute '{k}' is read-only."),
                ));
            }
            continue;
        }
        if k != "name" {
            props.insert(k.clone(), v.clone());
        }
    }
    let id = obj
        .get("id")
        .and_then(|i| i.as_str())
        .map(str::to_string)
        .unwrap_or_else(new_id);
    let mut w = ctx.shared.lock();
    if w.site(ctx.site).images.contains_key(&id) {
        return Err(error(
            F::Glance,
            StatusCode::CONFLICT,
            format!("Image with identifier {id} already exists!"),
        ));
    }
    let seq = w.next_seq();
    let now = now_z();
    let img = Image {
        id: id.clone(),
        name: obj
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .into(),
        seq,
        status: "queued".into(),
        properties: props,
        created_at: now.clone(),
        updated_at: now,
        owner: ctx.token.project_id.clone(),
        size: None,
        checksum: None,
    };
    let v = view(&img);
    w.site_mut(ctx.site).images.insert(id.clone(), img);
    let mut r = (StatusCode::CREATED, Json(v)).into_response();
    if let Ok(h) = axum::http::HeaderValue::from_str(&format!("{}/image/v2/images/{id}", ctx.base))
    {
        r.headers_mut().insert("location", h);
    }
    Ok(r)
}

fn upload(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let img = w
        .site_mut(ctx.site)
        .images
        .get_mut(id)
        .ok_or_else(|| nf(id))?;
    if img.status != "queued" {
        return Err(error(
            F::Glance,
            StatusCode::CONFLICT,
            format!(
                "Image status transition from {} to saving is not allowed",
                img.status
            ),
        ));
    }
    img.size = Some(ctx.body.len() as u64);
    img.checksum = Some(crate::swift::md5_hex(&ctx.body));
    img.properties.insert(
        "os_hash_value".into(),
        json!(hex::encode(Sha512::digest(&ctx.body))),
    );
    img.properties
        .insert("emulator:data".into(), json!(hex::encode(&ctx.body)));
    img.status = "active".into();
    img.updated_at = now_z();
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn download(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let img = w.site(ctx.site).images.get(id).ok_or_else(|| nf(id))?;
    let data = img
        .properties
        .get("emulator:data")
        .and_then(|d| d.as_str())
        .and_then(|d| hex::decode(d).ok());
    match data {
        Some(d) => Ok((StatusCode::OK, d).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// `PATCH /v2/images/{id}` (`application/openstack-images-v2.1-json-patch`):
/// add/replace/remove of `name` and custom properties.
fn patch(ctx: &Ctx, id: &str) -> Reply {
    let ops: Value = serde_json::from_slice(&ctx.body)
        .map_err(|e| bad_request(F::Glance, format!("Malformed JSON patch: {e}")))?;
    let Some(ops) = ops.as_array() else {
        return Err(bad_request(
            F::Glance,
            "A JSON patch must be a list of operations",
        ));
    };
    let mut w = ctx.shared.lock();
    let img = w
        .site_mut(ctx.site)
        .images
        .get_mut(id)
        .ok_or_else(|| nf(id))?;
    let mut next = img.clone();
    for op in ops {
        let (Some(kind), Some(path)) = (op["op"].as_str(), op["path"].as_str()) else {
            return Err(bad_request(
                F::Glance,
                "Each operation needs \"op\" and \"path\"",
            ));
        };
        let key = path
            .trim_start_matches('/')
            .replace("~1", "/")
            .replace("~0", "~");
        if CORE.contains(&key.as_str())
            && key != "name"
            && key != "container_format"
            && key != "disk_format"
        {
            return Err(error(
                F::Glance,
                StatusCode::FORBIDDEN,
                format!("Attribute '{key}' is read-only."),
            ));
        }
        match kind {
            "add" | "replace" => {
                if key == "name" {
                    next.name = op["value"].as_str().unwrap_or("").to_string();
                } else {
                    next.properties.insert(key, op["value"].clone());
                }
            }
            "remove" => {
                if next.properties.remove(&key).is_none() {
                    return Err(error(
                        F::Glance,
                        StatusCode::CONFLICT,
                        format!("Property {key} does not exist."),
                    ));
                }
            }
            other => {
                return Err(bad_request(
                    F::Glance,
                    format!("Unsupported patch operation {other}"),
                ))
            }
        }
    }
    next.updated_at = now_z();
    *img = next;
    Ok(Json(view(img)).into_response())
}

fn delete(ctx: &Ctx, id: &str) -> Reply {
    let mut w = ctx.shared.lock();
    let img = w.site(ctx.site).images.get(id).ok_or_else(|| nf(id))?;
    if img.properties.get("protected").and_then(|p| p.as_bool()) == Some(true) {
        return Err(error(
            F::Glance,
            StatusCode::FORBIDDEN,
            format!("Image {id} is protected and cannot be deleted."),
        ));
    }
    w.site_mut(ctx.site).images.remove(id);
    Ok(StatusCode::NO_CONTENT.into_response())
}
