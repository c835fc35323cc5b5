//! Evaluating plan expressions ([`Expr`]) against the values of a run.
//!
//! Values are JSON. What an expression can see:
//! - `Param(name)`: the run's parameters (defaults filled at start);
//! - `Step(id)`: a step's result. Results are stored per *iteration path*
//!   (the indices of the enclosing `for` loops). Read from a context that
//!   shares the step's loops, the current iteration's result is returned;
//!   for every enclosing loop the reader is *outside* of, the results are
//!   collected into a list in item order, iterations without a result
//!   (skipped by `when`) left out. A step inside two nested loops read from
//!   outside both is a list (outer items) of lists (inner items). A step that
//!   was skipped (or has no result) reads as `null`.
//! - `LoopVar(for)`: the current item of an enclosing loop ([`Frame`]);
//! - `Run(field)`: id, start time, runbook name;
//! - `Result` / `Input(name)`: only inside compensate/cleanup calls
//!   ([`SagaCtx`]);
//! - `Field(e, f)`: a record's field; on a list, the field of every element;
//!   on `null`, `null`.
//! - `Interp`: strings as they are, numbers and bools printed, `null` empty,
//!   anything else as compact JSON.
//!
//! Bad input never panics: an unknown parameter, a missing field, a value of
//! the wrong shape give an [`EvalError`] naming what was wrong, which the
//! caller turns into a step failure.

use lifeboat_dsl::plan::{BinOp, Expr, NodeKind, Piece, Plan, RunField, StepId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError(msg.into()))
}

/// One enclosing loop iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopPos {
    pub node: StepId,
    pub index: u32,
    pub item: Value,
}

/// Where a node instance sits: its enclosing loop iterations, outermost first.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Frame {
    pub loops: Vec<LoopPos>,
}

impl Frame {
    pub fn path(&self) -> Vec<u32> {
        self.loops.iter().map(|l| l.index).collect()
    }

    pub fn enter(&self, node: StepId, index: u32, item: Value) -> Frame {
        let mut loops = self.loops.clone();
        loops.push(LoopPos { node, index, item });
        Frame { loops }
    }

    /// `name[i][j]` for a node named `name` in this frame.
    pub fn instance(&self, name: &str) -> String {
        let mut s = String::with_capacity(name.len() + 4 * self.loops.len());
        s.push_str(name);
        for l in &self.loops {
            s.push('[');
            s.push_str(&l.index.to_string());
            s.push(']');
        }
        s
    }
}

/// The run's fields (`run.id`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: String,
    pub started: String,
    pub runbook: String,
}

/// Step results and loop sizes, by iteration path.
#[derive(Debug, Default)]
pub(crate) struct Values {
    results: HashMap<(StepId, Vec<u32>), Value>,
    loop_len: HashMap<(StepId, Vec<u32>), u32>,
}

impl Values {
    pub(crate) fn set_result(&mut self, id: StepId, path: Vec<u32>, v: Value) {
        self.results.insert((id, path), v);
    }

    pub(crate) fn set_loop_len(&mut self, id: StepId, path: Vec<u32>, n: u32) {
        self.loop_len.insert((id, path), n);
    }

    /// The `for` nodes enclosing `id`, outermost first.
    fn loops_of(plan: &Plan, id: StepId) -> Vec<StepId> {
        let mut out = Vec::new();
        let mut cur = plan.nodes.get(id.index()).and_then(|n| n.parent);
        let mut guard = 0;
        while let Some(p) = cur {
            guard += 1;
            if guard > plan.nodes.len() {
                break; // a parent cycle in a malformed plan
            }
            let Some(node) = plan.nodes.get(p.index()) else { break };
            if matches!(node.kind, NodeKind::ForEach(_)) {
                out.push(p);
            }
            cur = node.parent;
        }
        out.reverse();
        out
    }

    pub(crate) fn get(&self, plan: &Plan, id: StepId, frame: &Frame) -> Value {
        let loops = Self::loops_of(plan, id);
        let mut path = Vec::with_capacity(loops.len());
        let mut k = 0;
        while k < loops.len() && k < frame.loops.len() && frame.loops[k].node == loops[k] {
            path.push(frame.loops[k].index);
            k += 1;
        }
        self.collect(id, &loops[k..], &mut path).unwrap_or(Value::Null)
    }

    fn collect(&self, id: StepId, rest: &[StepId], path: &mut Vec<u32>) -> Option<Value> {
        let Some((first, rest)) = rest.split_first() else {
            return self.results.get(&(id, path.clone())).cloned();
        };
        let n = self.loop_len.get(&(*first, path.clone())).copied().unwrap_or(0);
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            path.push(i);
            if let Some(v) = self.collect(id, rest, path) {
                out.push(v);
            }
            path.pop();
        }
        Some(Value::Array(out))
    }
}

/// The step a compensate/cleanup call belongs to.
pub(crate) struct SagaCtx<'a> {
    pub result: &'a Value,
    pub args: &'a Map<String, Value>,
}

pub(crate) struct EvalCtx<'a> {
    pub plan: &'a Plan,
    pub params: &'a Map<String, Value>,
    pub run: &'a RunInfo,
    pub values: &'a Values,
    pub frame: &'a Frame,
    pub saga: Option<SagaCtx<'a>>,
}

impl EvalCtx<'_> {
    pub(crate) fn eval(&self, e: &Expr) -> Result<Value, EvalError> {
        Ok(match e {
            Expr::Str(s) => Value::String(s.clone()),
            Expr::Int(i) => Value::from(*i),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Duration(ms) => Value::from(*ms),
            Expr::List(items) => Value::Array(items.iter().map(|i| self.eval(i)).collect::<Result<_, _>>()?),
            Expr::Interp(pieces) => {
                let mut s = String::new();
                for p in pieces {
                    match p {
                        Piece::Lit(l) => s.push_str(l),
                        Piece::Expr(e) => render_into(&mut s, &self.eval(e)?),
                    }
                }
                Value::String(s)
            }
            Expr::Param(name) => match self.params.get(name) {
                Some(v) => v.clone(),
                None => return err(format!("unknown parameter `{name}`")),
            },
            Expr::Step(id) => {
                if id.index() >= self.plan.nodes.len() {
                    return err(format!("reference to step {id}, which the plan does not have"));
                }
                self.values.get(self.plan, *id, self.frame)
            }
            Expr::LoopVar(id) => match self.frame.loops.iter().find(|l| l.node == *id) {
                Some(l) => l.item.clone(),
                None => return err(format!("loop variable of {id} read outside its loop")),
            },
            Expr::Run(f) => Value::String(match f {
                RunField::Id => self.run.id.clone(),
                RunField::Started => self.run.started.clone(),
                RunField::Runbook => self.run.runbook.clone(),
            }),
            Expr::Result => match &self.saga {
                Some(s) => s.result.clone(),
                None => return err("`result` is only defined in compensate/cleanup calls"),
            },
            Expr::Input(name) => match &self.saga {
                Some(s) => match s.args.get(name) {
                    Some(v) => v.clone(),
                    None => return err(format!("the step has no argument `{name}`")),
                },
                None => return err(format!("input `{name}` is only defined in compensate/cleanup calls")),
            },
            Expr::Field(inner, f) => field(&self.eval(inner)?, f)?,
            Expr::Not(inner) => match self.eval(inner)? {
                Value::Bool(b) => Value::Bool(!b),
                other => return err(format!("`not` needs a bool, got {}", shape(&other))),
            },
            Expr::Binary(op, a, b) => {
                let (a, b) = (self.eval(a)?, self.eval(b)?);
                match op {
                    BinOp::Eq => Value::Bool(a == b),
                    BinOp::Ne => Value::Bool(a != b),
                    BinOp::And | BinOp::Or => match (&a, &b) {
                        (Value::Bool(x), Value::Bool(y)) => {
                            Value::Bool(if *op == BinOp::And { *x && *y } else { *x || *y })
                        }
                        _ => return err(format!("`and`/`or` need bools, got {} and {}", shape(&a), shape(&b))),
                    },
                }
            }
        })
    }

    pub(crate) fn eval_bool(&self, e: &Expr) -> Result<bool, EvalError> {
        match self.eval(e)? {
            Value::Bool(b) => Ok(b),
            other => err(format!("condition must be a bool, got {}", shape(&other))),
        }
    }
}

fn field(v: &Value, f: &str) -> Result<Value, EvalError> {
    match v {
        Value::Object(m) => match m.get(f) {
            Some(x) => Ok(x.clone()),
            None => err(format!("record has no field `{f}`")),
        },
        Value::Array(items) => Ok(Value::Array(items.iter().map(|i| field(i, f)).collect::<Result<_, _>>()?)),
        Value::Null => Ok(Value::Null),
        other => err(format!("cannot read field `{f}` of {}", shape(other))),
    }
}

pub(crate) fn shape(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a record",
    }
}

fn render_into(s: &mut String, v: &Value) {
    match v {
        Value::String(x) => s.push_str(x),
        Value::Null => {}
        Value::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => s.push_str(&n.to_string()),
        other => s.push_str(&other.to_string()),
    }
}

/// A short human name for a target record: its `name`, else `id`, else JSON.
pub(crate) fn display_name(v: &Value) -> String {
    for key in ["name", "id"] {
        if let Some(Value::String(s)) = v.get(key) {
            return s.clone();
        }
    }
    let mut s = String::new();
    render_into(&mut s, v);
    s
}
