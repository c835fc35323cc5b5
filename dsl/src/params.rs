//! Runbook parameters given on the command line (`--param k=v`).
//!
//! Each value is read according to the parameter's type: strings and sites
//! as they are, `int`, `bool` (`true`/`false`), durations (`30s`), lists as a
//! JSON array or comma-separated items. Unknown names, values that do not
//! read as the type and missing required parameters are errors.

use crate::duration;
use crate::plan::{Plan, Type};
use serde_json::{Map, Value};

/// Read `name=value` pairs against the plan's parameters: every parameter's
/// value (given or default), or every problem found.
pub fn bind(plan: &Plan, given: &[String]) -> Result<Map<String, Value>, Vec<String>> {
    let mut errors = Vec::new();
    let mut values = Map::new();
    for kv in given {
        let Some((k, v)) = kv.split_once('=') else {
            errors.push(format!("`--param {kv}`: write it as name=value"));
            continue;
        };
        let Some(p) = plan.params.iter().find(|p| p.name == k) else {
            let names: Vec<&str> = plan.params.iter().map(|p| p.name.as_str()).collect();
            errors.push(format!(
                "runbook `{}` has no parameter `{k}` (it has: {})",
                plan.runbook,
                names.join(", ")
            ));
            continue;
        };
        match read(&p.ty, v) {
            Ok(val) => {
                values.insert(k.to_string(), val);
            }
            Err(why) => errors.push(format!("parameter `{k}` is a {}: {why}", p.ty)),
        }
    }
    for p in &plan.params {
        if values.contains_key(&p.name) {
            continue;
        }
        match &p.default {
            Some(d) => {
                values.insert(p.name.clone(), d.clone());
            }
            None => errors.push(format!(
                "missing required parameter `{}` ({}): add --param {}=…",
                p.name, p.ty, p.name
            )),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// A copy of the plan whose parameter defaults are the bound values, so a
/// rendered plan shows what the run would use.
pub fn apply(plan: &Plan, values: &Map<String, Value>) -> Plan {
    let mut p = plan.clone();
    for prm in &mut p.params {
        if let Some(v) = values.get(&prm.name) {
            prm.default = Some(v.clone());
        }
    }
    p
}

fn read(ty: &Type, v: &str) -> Result<Value, String> {
    match ty {
        Type::String | Type::Site => Ok(Value::String(v.to_string())),
        Type::Int => v
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{v}` is not an integer")),
        Type::Bool => match v.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("`{v}` is not true or false")),
        },
        Type::Duration => duration::parse_ms(v.trim()).map(Value::from),
        Type::List(inner) => {
            let items: Vec<Value> = if v.trim_start().starts_with('[') {
                let parsed: Value = serde_json::from_str(v)
                    .map_err(|e| format!("`{v}` is not a JSON list: {e}"))?;
                let Value::Array(items) = parsed else {
                    return Err(format!("`{v}` is not a list"));
                };
                items
                    .into_iter()
                    .map(|i| match i {
                        Value::String(s) => read(inner, &s),
                        other => read(inner, &other.to_string()),
                    })
                    .collect::<Result<_, _>>()?
            } else if v.trim().is_empty() {
                Vec::new()
            } else {
                v.split(',')
                    .map(|s| read(inner, s.trim()))
                    .collect::<Result<_, _>>()?
            };
            Ok(Value::Array(items))
        }
        Type::Record(r) => Err(format!("a `{r}` cannot be given on the command line")),
        Type::None => Err("no value can be given".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler;
    use crate::loader::FsLoader;

    fn plan() -> Plan {
        let src = "runbook r \"t\" {\n  param vnf: string\n  param n: int = 1\n  param on: bool = false\n  param wait: duration = 30s\n  param order: list<string> = [\"db\"]\n  param sizes: list<int> = []\n}\n";
        let c = compiler::compile_text("p.dr", src, &FsLoader);
        assert!(!c.has_errors(), "{:?}", c.diagnostics.list);
        c.plans[0].clone()
    }

    #[test]
    fn values_read_by_type_and_defaults_fill_in() {
        let p = plan();
        let given = [
            "vnf=ims",
            "n=4",
            "on=true",
            "wait=2m",
            "order=lb, app",
            "sizes=[1, 2]",
        ]
        .map(String::from);
        let v = bind(&p, &given).expect("binds");
        assert_eq!(v["vnf"], "ims");
        assert_eq!(v["n"], 4);
        assert_eq!(v["on"], true);
        assert_eq!(v["wait"], 120_000);
        assert_eq!(v["order"], serde_json::json!(["lb", "app"]));
        assert_eq!(v["sizes"], serde_json::json!([1, 2]));
        let d = bind(&p, &["vnf=x".to_string()]).expect("defaults");
        assert_eq!(d["wait"], 30_000);
        assert_eq!(apply(&p, &d).params[0].default, Some("x".into()));
    }

    #[test]
    fn every_problem_is_reported() {
        let p = plan();
        let errs = bind(
            &p,
            &[
                "n=four",
                "on=yes",
                "wait=3x",
                "sizes=[a]",
                "ghost=1",
                "novalue",
            ]
            .map(String::from),
        )
        .expect_err("fails");
        assert_eq!(errs.len(), 7, "{errs:#?}");
        assert!(errs
            .iter()
            .any(|e| e.contains("missing required parameter `vnf`")));
        assert!(errs.iter().any(|e| e.contains("has no parameter `ghost`")));
        assert!(errs.iter().any(|e| e.contains("write it as name=value")));
    }
}
