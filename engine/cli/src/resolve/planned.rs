//! What a step that is not called during discovery would give, as far as its
//! inputs tell: a record marked `"planned": true` with the fields that
//! follow from them, so fan-outs over things only the run creates still get
//! their real count (one snapshot per volume of the group, one image
//! snapshot per attached volume of the server, …).
//!
//! A field the projection cannot know is left out; reading it gives
//! "unknown". A list result with no rule here is unknown.

use lifeboat_dsl::plan::Type;
use serde_json::{json, Map, Value};

/// True when `v` is, or holds, a planned record.
pub fn is_planned(v: &Value) -> bool {
    match v {
        Value::Object(o) => {
            o.get("planned") == Some(&Value::Bool(true)) || o.values().any(is_planned)
        }
        Value::Array(a) => a.iter().any(is_planned),
        _ => false,
    }
}

fn mark(site: Option<&str>, fields: Value) -> Value {
    let mut m = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.insert("planned".into(), Value::Bool(true));
    if let Some(s) = site {
        m.entry("site")
            .or_insert_with(|| Value::String(s.to_string()));
    }
    Value::Object(m)
}

fn str_of<'a>(v: Option<&'a Value>, k: &str) -> Option<&'a str> {
    v?.get(k)?.as_str()
}

/// One planned snapshot per volume id.
fn snapshots_of(ids: &[Value], site: Option<&str>) -> Value {
    Value::Array(
        ids.iter()
            .filter_map(Value::as_str)
            .map(|id| mark(site, json!({"volume_id": id, "origin": id})))
            .collect(),
    )
}

/// The projected result of `action` called with `args` (unknown ones left out).
pub fn project(
    action: &str,
    result: &Type,
    args: &Map<String, Value>,
    site: Option<&str>,
) -> Option<Value> {
    let a = |k: &str| args.get(k);
    let name = a("name").and_then(Value::as_str);
    Some(match action {
        "cinder.ensure_group" => {
            let ids: Option<Vec<Value>> = a("volumes")
                .and_then(Value::as_array)
                .map(|vs| vs.iter().filter_map(|v| v.get("id").cloned()).collect());
            let mut f = json!({"name": name});
            if let Some(ids) = ids {
                f["volume_ids"] = Value::Array(ids);
            }
            mark(site, f)
        }
        "cinder.create_group_snapshot" => {
            let ids = a("group")
                .and_then(|g| g.get("volume_ids"))
                .and_then(Value::as_array);
            let mut f = json!({"name": name, "group_id": str_of(a("group"), "id")});
            if let Some(ids) = ids {
                f["snapshots"] = snapshots_of(ids, site);
            }
            mark(site, f)
        }
        "nova.create_image" => {
            let ids = a("server")
                .and_then(|s| s.get("volumes"))
                .and_then(Value::as_array);
            let mut f = json!({"name": name, "server_id": str_of(a("server"), "id")});
            if let Some(ids) = ids {
                f["snapshots"] = snapshots_of(ids, site);
            }
            mark(site, f)
        }
        "glance.image_snapshots" => a("image")?.get("snapshots")?.clone(),
        "cinder.show_snapshot" => a("snapshot")?.clone(),
        "cinder.show_volume" => a("volume")?.clone(),
        "nova.show_server" => a("server")?.clone(),
        "glance.show_image" => a("image")?.clone(),
        "cinder.volume_from_snapshot" => mark(
            site,
            json!({"name": name, "origin": str_of(a("snapshot"), "origin")}),
        ),
        "cinder.backup" => mark(
            site,
            json!({"name": name, "origin": str_of(a("volume"), "origin")}),
        ),
        "cinder.restore_backup" => mark(
            site,
            json!({"name": name, "origin": str_of(a("backup"), "origin")}),
        ),
        "cinder.retype" => {
            let mut v = a("volume")?.clone();
            v["volume_type"] = a("volume_type")?.clone();
            mark(site, v)
        }
        "lifeboat.volume_for" => {
            let source = str_of(a("source"), "id")?;
            let found = a("volumes").and_then(Value::as_array).and_then(|vs| {
                vs.iter()
                    .find(|v| str_of(Some(v), "origin") == Some(source))
                    .cloned()
            });
            found.unwrap_or_else(|| mark(site, json!({"origin": source})))
        }
        _ => {
            if matches!(result, Type::List(_)) {
                return None;
            }
            let mut f = json!({});
            if let Some(n) = name {
                f["name"] = json!(n);
            }
            mark(site, f)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_snapshot_has_one_planned_snapshot_per_volume_of_the_group() {
        let mut args = Map::new();
        args.insert(
            "volumes".into(),
            json!([{"id": "v1", "site": "a"}, {"id": "v2", "site": "a"}]),
        );
        let g = project(
            "cinder.ensure_group",
            &Type::Record("group".into()),
            &args,
            Some("a"),
        )
        .unwrap();
        assert!(is_planned(&g));
        let mut args = Map::new();
        args.insert("group".into(), g);
        let s = project(
            "cinder.create_group_snapshot",
            &Type::Record("group_snapshot".into()),
            &args,
            Some("a"),
        )
        .unwrap();
        let snaps = s["snapshots"].as_array().unwrap();
        assert_eq!(snaps.len(), 2);
        assert_eq!(snaps[1]["origin"], "v2");
        // Unknown list results stay unknown.
        assert_eq!(
            project(
                "x.list",
                &Type::List(Box::new(Type::String)),
                &Map::new(),
                None
            ),
            None
        );
        assert!(!is_planned(&json!({"id": "v1"})));
    }
}
