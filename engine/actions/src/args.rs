//! Reading an [`ActionCall`]'s arguments (by parameter name, records as JSON
//! objects), resolving its site, naming and tagging what it creates, and
//! turning client errors into [`ActionError`]s.

use crate::records::{META_ORIGIN, META_RUN, META_STEP, META_TAG};
use lifeboat_exec::action::{ActionCall, ActionError, ErrorClass};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Typed access to a call's arguments; errors name the action and parameter.
pub struct Args<'a> {
    pub call: &'a ActionCall,
}

impl<'a> Args<'a> {
    pub fn new(call: &'a ActionCall) -> Self {
        Args { call }
    }

    fn bad(&self, name: &str, what: &str) -> ActionError {
        ActionError::permanent(format!("{}: argument {name:?} {what}", self.call.action)).with_hint("the runbook passed an argument of the wrong shape; check the action's signature in stdlib/*.dr")
    }

    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.call.args.get(name).filter(|v| !v.is_null())
    }

    pub fn string(&self, name: &str) -> Result<String, ActionError> {
        match self.raw(name) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(_) => Err(self.bad(name, "must be a string")),
        }
    }

    pub fn required_string(&self, name: &str) -> Result<String, ActionError> {
        let s = self.string(name)?;
        if s.is_empty() {
            return Err(self.bad(name, "is required and empty"));
        }
        Ok(s)
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ActionError> {
        match self.raw(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(name, "must be a bool")),
        }
    }

    pub fn int(&self, name: &str) -> Result<i64, ActionError> {
        match self.raw(name) {
            None => Ok(0),
            Some(v) => v.as_i64().ok_or_else(|| self.bad(name, "must be an int")),
        }
    }

    /// A record argument, parsed into its struct.
    pub fn record<T: DeserializeOwned>(&self, name: &str) -> Result<T, ActionError> {
        let v = self
            .raw(name)
            .ok_or_else(|| self.bad(name, "is required"))?;
        if !v.is_object() {
            return Err(self.bad(name, "must be a record (JSON object)"));
        }
        // Read where it is (a `&Value` is a deserializer), not copied first.
        T::deserialize(v).map_err(|e| self.bad(name, &format!("is not a valid record: {e}")))
    }

    /// A list argument (missing → empty).
    pub fn list<T: DeserializeOwned>(&self, name: &str) -> Result<Vec<T>, ActionError> {
        match self.raw(name) {
            None => Ok(vec![]),
            Some(v @ Value::Array(_)) => Vec::<T>::deserialize(v)
                .map_err(|e| self.bad(name, &format!("is not a valid list: {e}"))),
            Some(_) => Err(self.bad(name, "must be a list")),
        }
    }

    /// A list argument whose items may come grouped in nested lists (a step
    /// read from outside several nested loops), read as one flat list in
    /// order.
    pub fn list_flat<T: DeserializeOwned>(&self, name: &str) -> Result<Vec<T>, ActionError> {
        fn flatten<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
            match v {
                Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
                other => out.push(other),
            }
        }
        match self.raw(name) {
            None => Ok(vec![]),
            Some(v @ Value::Array(_)) => {
                let mut flat = Vec::new();
                flatten(v, &mut flat);
                flat.into_iter()
                    .map(T::deserialize)
                    .collect::<Result<Vec<T>, _>>()
                    .map_err(|e| self.bad(name, &format!("is not a valid list: {e}")))
            }
            Some(_) => Err(self.bad(name, "must be a list")),
        }
    }

    /// The site the call talks to: `call.site` (the executor sets it by
    /// the plan's rule), else — a call made without the executor — the
    /// same rule on the catalogue's signature of the action.
    pub fn site(&self) -> Result<String, ActionError> {
        if let Some(s) = self.call.site.as_ref().filter(|s| !s.is_empty()) {
            return Ok(s.clone());
        }
        crate::registry::catalogue()
            .actions
            .get(&self.call.action)
            .and_then(|sig| sig.site_of(&self.call.args))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ActionError::permanent(format!(
                    "{}: no site: neither a site argument nor a first record argument with a site",
                    self.call.action
                ))
            })
    }
}

/// Whether the resource named `name` was made by the run of `call`: every
/// name a run gives carries its id (see [`resource_name`]), so a record of
/// such a resource is this run's own and as fresh as the run.
pub fn made_by_this_run(call: &ActionCall, name: &str) -> bool {
    !call.run_id.is_empty() && name.contains(&call.run_id)
}

/// The name of a resource a call creates: starts with `lb-`, carries the tag.
pub fn resource_name(call: &ActionCall, name: &str) -> String {
    let tag = if call.tag.starts_with("lb-") {
        call.tag.clone()
    } else {
        format!("lb-{}", call.tag)
    };
    let name = sanitize(name);
    if name.is_empty() || name == tag {
        tag
    } else if name.contains(&call.tag) {
        if name.starts_with("lb-") {
            name
        } else {
            format!("lb-{name}")
        }
    } else {
        format!("{tag}-{name}")
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The metadata a created resource carries (tag, run, step, origin).
pub fn tag_metadata(call: &ActionCall, origin: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(META_TAG.into(), json!(call.tag));
    m.insert(META_RUN.into(), json!(call.run_id));
    m.insert(META_STEP.into(), json!(call.step));
    if !origin.is_empty() {
        m.insert(META_ORIGIN.into(), json!(origin));
    }
    m
}

/// A client error as the executor wants it: classified, with a hint.
pub fn from_client(action: &str, e: lifeboat_openstack::Error) -> ActionError {
    let class = if e.is_transient() {
        ErrorClass::Transient {
            retry_after: e.retry_after,
        }
    } else {
        ErrorClass::Permanent
    };
    ActionError {
        class,
        message: format!("{action}: {e}"),
        hint: e.hint(),
    }
}

/// Shorthand to map client results inside an action.
pub trait ClientResult<T> {
    fn act(self, action: &str) -> Result<T, ActionError>;
}

impl<T> ClientResult<T> for lifeboat_openstack::Result<T> {
    fn act(self, action: &str) -> Result<T, ActionError> {
        self.map_err(|e| from_client(action, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call(args: Value) -> ActionCall {
        call_of("cinder.backup", args)
    }

    fn call_of(action: &str, args: Value) -> ActionCall {
        ActionCall {
            action: action.into(),
            args: args.as_object().cloned().unwrap_or_default(),
            site: None,
            run_id: "r1".into(),
            step: "b[0]".into(),
            tag: "lb-r1-b-0".into(),
            attempt: 1,
            timeout: Duration::from_secs(5),
            purpose: Default::default(),
            fence: Default::default(),
        }
    }

    #[test]
    fn site_resolution_and_names() {
        let c = call(json!({"volume": {"id": "v", "site": "site-a"}, "name": "tmp"}));
        assert_eq!(Args::new(&c).site().unwrap(), "site-a");
        // The plan's rule: the site argument, else the first record
        // argument's (of a list, its first element's) — not any record's.
        let c2 = call_of(
            "cinder.volumes_of",
            json!({"servers": [{"id": "s", "site": "site-b"}]}),
        );
        assert_eq!(Args::new(&c2).site().unwrap(), "site-b");
        let c4 = call_of(
            "cinder.ensure_group",
            json!({"site": "site-c", "name": "g", "volumes": [{"id": "v", "site": "site-a"}]}),
        );
        assert_eq!(Args::new(&c4).site().unwrap(), "site-c");
        let c5 = call(json!({"name": "x", "other": {"site": "site-b"}}));
        assert!(
            Args::new(&c5).site().is_err(),
            "a record that is not an argument of the action"
        );
        let c3 = call(json!({"name": "x"}));
        assert!(Args::new(&c3)
            .site()
            .unwrap_err()
            .message
            .contains("no site"));
        assert_eq!(resource_name(&c, "tmp vol"), "lb-r1-b-0-tmp-vol");
        assert_eq!(resource_name(&c, ""), "lb-r1-b-0");
        let bad = call(json!({"volume": "nope"}));
        let e = Args::new(&bad)
            .record::<crate::records::VolumeRec>("volume")
            .unwrap_err();
        assert_eq!(e.class, ErrorClass::Permanent);
        assert!(e.message.contains("cinder.backup") && e.message.contains("volume"));
    }
}
