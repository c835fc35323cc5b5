//! Flavors: list, detail, show, extra specs (description 2.55, extra_specs
//! 2.61, swap as an integer from 2.75).

use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::nf;
use super::servers::links;
use crate::errors::Reply;
use crate::microversion::Mv;
use crate::routing::Ctx;
use crate::world::Flavor;

fn view(f: &Flavor, mv: Mv, detail: bool, base: &str, project: &str) -> Value {
    let mut o =
        json!({"id": f.id, "name": f.name, "links": links(base, project, "flavors", &f.id)});
    if mv.at_least(2, 55) {
        o["description"] = Value::Null;
    }
    if detail {
        o["ram"] = json!(f.ram);
        o["vcpus"] = json!(f.vcpus);
        o["disk"] = json!(f.disk);
        o["OS-FLV-EXT-DATA:ephemeral"] = json!(0);
        o["OS-FLV-DISABLED:disabled"] = json!(false);
        o["os-flavor-access:is_public"] = json!(true);
        o["rxtx_factor"] = json!(1.0);
        o["swap"] = if mv.at_least(2, 75) {
            json!(0)
        } else {
            json!("")
        };
        if mv.at_least(2, 61) {
            o["extra_specs"] = json!(f.extra_specs);
        }
    }
    o
}

pub fn list(ctx: &Ctx, mv: Mv, detail: bool) -> Reply {
    let w = ctx.shared.lock();
    let items: Vec<Value> = w
        .site(ctx.site)
        .flavors
        .iter()
        .map(|f| view(f, mv, detail, &ctx.base, &ctx.token.project_id))
        .collect();
    Ok(Json(json!({"flavors": items})).into_response())
}

pub fn show(ctx: &Ctx, mv: Mv, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let f = w
        .site(ctx.site)
        .flavors
        .iter()
        .find(|f| f.id == id)
        .ok_or_else(|| nf("Flavor", id))?;
    Ok(
        Json(json!({"flavor": view(f, mv, true, &ctx.base, &ctx.token.project_id)}))
            .into_response(),
    )
}

pub fn extra_specs(ctx: &Ctx, id: &str) -> Reply {
    let w = ctx.shared.lock();
    let f = w
        .site(ctx.site)
        .flavors
        .iter()
        .find(|f| f.id == id)
        .ok_or_else(|| nf("Flavor", id))?;
    Ok(Json(json!({"extra_specs": f.extra_specs})).into_response())
}
