//! What a step that is not called during discovery (`plan --resolve`)
//! would give, as far as its inputs tell: a record marked
//! `"planned": true` with the fields that follow from them, so fan-outs
//! over things only the run creates still get their real count (one
//! snapshot per volume of the group, one image snapshot per attached
//! volume of the server, …).
//!
//! An action's projection is written beside it and bound in the registry
//! (`Binding::projects`); an action without one gives a planned record
//! with its `name` (a list result: unknown). A field a projection cannot
//! know is left out; reading it gives "unknown".

use lifeboat_dsl::plan::Type;
use serde_json::{json, Map, Value};

/// A projection: the planned result from the call's arguments.
pub(crate) type Project = fn(&Planned<'_>) -> Option<Value>;

/// The call a projection sees: its arguments and its site.
pub struct Planned<'a> {
    pub args: &'a Map<String, Value>,
    pub site: Option<&'a str>,
}

impl Planned<'_> {
    pub fn arg(&self, k: &str) -> Option<&Value> {
        self.args.get(k)
    }

    /// Field `f` of argument `k`, a string.
    pub fn field(&self, k: &str, f: &str) -> Option<&str> {
        self.arg(k)?.get(f)?.as_str()
    }

    pub fn name(&self) -> Option<&str> {
        self.arg("name").and_then(Value::as_str)
    }

    /// `fields` as a planned record at the call's site.
    pub fn mark(&self, fields: Value) -> Value {
        let mut m = match fields {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.insert("planned".into(), Value::Bool(true));
        if let Some(s) = self.site {
            m.entry("site")
                .or_insert_with(|| Value::String(s.to_string()));
        }
        Value::Object(m)
    }

    /// One planned snapshot per volume id.
    pub fn snapshots_of(&self, ids: &[Value]) -> Value {
        Value::Array(
            ids.iter()
                .filter_map(Value::as_str)
                .map(|id| self.mark(json!({"volume_id": id, "origin": id})))
                .collect(),
        )
    }
}

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

/// The projected result of `action` (result type `result`) called with
/// `args` at `site`; `None`: unknown.
pub fn project(
    action: &str,
    result: &Type,
    args: &Map<String, Value>,
    site: Option<&str>,
) -> Option<Value> {
    let p = Planned { args, site };
    match crate::registry::binding(action).and_then(|b| b.project) {
        Some(f) => f(&p),
        None if matches!(result, Type::List(_)) => None,
        None => Some(p.mark(match p.name() {
            Some(n) => json!({"name": n}),
            None => json!({}),
        })),
    }
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
        assert_eq!(snaps[1]["site"], "a");
        // Unknown list results stay unknown; another record is planned with its name.
        assert_eq!(
            project(
                "x.list",
                &Type::List(Box::new(Type::String)),
                &Map::new(),
                None
            ),
            None
        );
        let mut named = Map::new();
        named.insert("name".into(), json!("n"));
        assert_eq!(
            project("x.make", &Type::Record("thing".into()), &named, None),
            Some(json!({"name": "n", "planned": true}))
        );
        assert!(!is_planned(&json!({"id": "v1"})));
    }

    /// A show passes its argument through; a retype changes its type.
    #[test]
    fn shows_pass_their_record_through_and_a_retype_changes_the_type() {
        let mut args = Map::new();
        args.insert("volume".into(), json!({"id": "v1", "volume_type": "a"}));
        assert_eq!(
            project(
                "cinder.show_volume",
                &Type::Record("volume".into()),
                &args,
                None
            ),
            Some(json!({"id": "v1", "volume_type": "a"}))
        );
        args.insert("volume_type".into(), json!("b"));
        let r = project("cinder.retype", &Type::Record("volume".into()), &args, None).unwrap();
        assert_eq!(r["volume_type"], "b");
        assert!(is_planned(&r));
    }
}
