//! Short labels for what discovery found: a record by its name (else id,
//! else origin), a list by its length, a planned record by what it
//! descends from (named when discovery read it).

use lifeboat_actions::projection::is_planned;
use lifeboat_exec::discover::{Discovery, State};
use serde_json::Value;
use std::collections::HashMap;

/// Ids to names of every record the reads found, for labels.
pub fn names(d: &Discovery) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for i in &d.instances {
        if let (State::Read, Some(v)) = (i.state, &i.value) {
            index_names(v, &mut names);
        }
    }
    names
}

/// A short label for a value: a record's name (else id, else origin), a
/// list's length. A planned record is `new from NAME` (the resource it
/// descends from, named when discovery saw it: `names` maps ids to names).
pub fn label_with(v: &Value, names: &HashMap<String, String>) -> String {
    match v {
        Value::Object(o) if is_planned(v) => {
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let from = o
                .get("origin")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(|id| names.get(id).cloned().unwrap_or_else(|| id.to_string()));
            match (name, from) {
                (_, Some(f)) => format!("new from {f}"),
                (Some(n), None) => format!("new {n}"),
                (None, None) => "new".into(),
            }
        }
        _ => label(v),
    }
}

/// Index every record with an id and a name found in `v`.
fn index_names(v: &Value, names: &mut HashMap<String, String>) {
    match v {
        Value::Object(o) => {
            if let (Some(id), Some(n)) = (
                o.get("id").and_then(Value::as_str),
                o.get("name").and_then(Value::as_str),
            ) {
                if !id.is_empty() && !n.is_empty() {
                    names.insert(id.to_string(), n.to_string());
                }
            }
            o.values().for_each(|x| index_names(x, names));
        }
        Value::Array(a) => a.iter().for_each(|x| index_names(x, names)),
        _ => {}
    }
}

/// A short label for a value: a record's name (else id, else origin), a
/// list's length.
pub fn label(v: &Value) -> String {
    match v {
        Value::Object(o) => {
            for k in ["name", "id", "origin", "volume_id"] {
                if let Some(s) = o.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                    return if is_planned(v) {
                        format!("new from {s}")
                    } else {
                        s.to_string()
                    };
                }
            }
            if is_planned(v) {
                "new".into()
            } else {
                "(record)".into()
            }
        }
        Value::Array(a) => format!("{} item(s)", a.len()),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
