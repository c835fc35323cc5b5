//! Evaluating plan expressions ([`Expr`]) against the values of a run.
//!
//! Values are JSON. What an expression can see:
//! - `Param(name)`: the run's parameters (defaults filled at start);
//! - `Step(id)`: a step's result. Results are stored per *iteration path*
//!   (the indices of the enclosing `for` loops). Read from a context that
//!   shares the step's loops, the current iteration's result is returned;
//!   for every enclosing loop the reader is *outside* of, the results are
//!   collected into a list in item order, iterations without a result
//!   (skipped by `when`) left out. A step inside several nested loops read
//!   from outside them is ONE flat list (docs/language.md): outer item order,
//!   then inner item order, skipped iterations left out — not a list of
//!   lists. Read from inside the outer loop only, it is the flat list of that
//!   outer iteration's inner results. A step that was skipped (or has no
//!   result) reads as `null`.
//! - `LoopVar(for)`: the current item of an enclosing loop ([`Frame`]);
//! - `Run(field)`: id, start time, runbook name;
//! - `Result` / `Input(name)`: only inside compensate/cleanup calls
//!   (`SagaCtx`);
//! - `Field(e, f)`: a record's field; on a list, the field of every element;
//!   on `null`, `null`.
//! - `Interp`: strings as they are, numbers and bools printed, `null` empty,
//!   anything else as compact JSON.
//!
//! Bad input never panics: an unknown parameter, a missing field, a value of
//! the wrong shape give an [`EvalError`] naming what was wrong, which the
//! caller turns into a step failure.
//!
//! The same rules serve discovery (`lifeboat plan --resolve`), which
//! evaluates the plan before the run: there a result, a loop's size or its
//! items may be *unknown* ([`Values::set_unknown`]), and some records are
//! *projections* of what a run would make ([`EvalCtx::discovery`]): a field
//! such a record does not carry, or a projection compared or printed, is
//! unknown too. An expression that depends on anything unknown evaluates to
//! [`EvalError::Unknown`]; the executor never stores an unknown, so it never
//! sees one.

use lifeboat_dsl::plan::{BinOp, Expr, Piece, Plan, RunField, StepId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The expression cannot be evaluated: what was wrong.
    #[error("{0}")]
    Invalid(String),
    /// Discovery only: the value depends on something only the run knows.
    #[error("not known before the run")]
    Unknown,
}

fn err<T>(msg: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError::Invalid(msg.into()))
}

/// A result or a loop's size: by node and iteration path.
type Key = (StepId, Vec<u32>);

/// One enclosing loop iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopPos {
    pub node: StepId,
    pub index: u32,
    /// Shared by every frame inside the iteration (a step's frame is kept
    /// by its ledger entry and journal records): written in the journal as
    /// the value itself.
    pub item: Arc<Value>,
}

/// Where a node instance sits: its enclosing loop iterations, outermost
/// first, and the attempts of the quiesce scopes tried again around it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Frame {
    pub loops: Vec<LoopPos>,
    /// One per enclosing quiesce scope with a `retry`, outermost first: the
    /// attempt it is in (1, 2, …). An attempt after the first names the
    /// instances (`snap~2`) so that the journal tells attempts apart; the
    /// results stay where the rest of the run reads them (a later
    /// attempt's overwrite an earlier one's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<u32>,
}

impl Frame {
    pub fn path(&self) -> Vec<u32> {
        self.loops.iter().map(|l| l.index).collect()
    }

    pub fn enter(&self, node: StepId, index: u32, item: Value) -> Frame {
        let mut loops = self.loops.clone();
        loops.push(LoopPos {
            node,
            index,
            item: Arc::new(item),
        });
        Frame {
            loops,
            attempts: self.attempts.clone(),
        }
    }

    /// This frame inside attempt `n` of a quiesce scope tried again.
    pub fn in_attempt(&self, n: u32) -> Frame {
        let mut attempts = self.attempts.clone();
        attempts.push(n);
        Frame {
            loops: self.loops.clone(),
            attempts,
        }
    }

    /// Whether `inner` lies in this frame: the same loop iterations and
    /// scope attempts, and maybe more.
    pub fn contains(&self, inner: &Frame) -> bool {
        inner.attempts.starts_with(&self.attempts)
            && inner.loops.len() >= self.loops.len()
            && self
                .loops
                .iter()
                .zip(&inner.loops)
                .all(|(a, b)| a.node == b.node && a.index == b.index)
    }

    /// `name[i][j]` for a node named `name` in this frame; `name[i][j]~2`
    /// in the second attempt of a quiesce scope (`~1.2` in the second of
    /// a scope inside the first of another).
    pub fn instance(&self, name: &str) -> String {
        let mut s = String::with_capacity(name.len() + 4 * self.loops.len());
        s.push_str(name);
        for l in &self.loops {
            s.push('[');
            s.push_str(&l.index.to_string());
            s.push(']');
        }
        if self.attempts.iter().any(|&a| a > 1) {
            for (i, a) in self.attempts.iter().enumerate() {
                s.push(if i == 0 { '~' } else { '.' });
                s.push_str(&a.to_string());
            }
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

/// A value the run keeps for later (a step's result, for the expressions
/// that read it and for its undo call), as its JSON text, read back when
/// used: a record as a `serde_json::Value` takes three to four times the
/// room of its text (a map entry, a key allocation and a string allocation
/// per field), and the values a run keeps are most of its memory — 7 MB per
/// 100-VM protect as values. A run reads back far less than it keeps.
/// Encoded once and shared: a result both read and undone is one text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Kept(Arc<str>);

impl Kept {
    pub(crate) fn of(v: &Value) -> Kept {
        // `to_string` (Display) writes through a formatter, checking every
        // piece as UTF-8 again: twice the cost of encoding into bytes.
        let text = serde_json::to_string(v).unwrap_or_else(|_| v.to_string());
        Kept(text.into())
    }

    /// The value encoded already (as the journal writes it).
    pub(crate) fn encoded(text: &str) -> Kept {
        Kept(text.into())
    }

    /// The value again: its own text read back (floats exactly too, with
    /// serde_json's `float_roundtrip`).
    pub(crate) fn value(&self) -> Result<Value, EvalError> {
        serde_json::from_str(&self.0)
            .map_err(|e| EvalError::Invalid(format!("a kept result does not read back: {e}")))
    }
}

/// Step results and loop sizes, by iteration path.
#[derive(Debug, Default)]
pub struct Values {
    results: HashMap<Key, Kept>,
    loop_len: HashMap<Key, u32>,
    /// By node index, whether an expression reads the node's result
    /// ([`Plan::results_read`]); empty: keep every result.
    read: Vec<bool>,
    /// Discovery only: the step results, and the `for` nodes' sizes and
    /// items, not known before the run. Always empty in a run.
    unknown: HashSet<Key>,
}

impl Values {
    /// The values of a run of `plan`: only the results some expression
    /// reads are kept (the journal has every one, for resume and reports).
    pub(crate) fn for_plan(plan: &Plan) -> Values {
        Values {
            read: plan.results_read(),
            ..Values::default()
        }
    }

    pub fn set_result(&mut self, id: StepId, path: Vec<u32>, v: &Value) {
        if self.keeps(id) {
            self.results.insert((id, path), Kept::of(v));
        }
    }

    /// Whether step `id`'s result is kept: some expression reads it.
    pub(crate) fn keeps(&self, id: StepId) -> bool {
        self.read.get(id.index()).copied().unwrap_or(true)
    }

    /// [`Values::set_result`] with the result encoded already (shared with
    /// the saga's ledger); only called when [`Values::keeps`] says so.
    pub(crate) fn set_kept(&mut self, id: StepId, path: Vec<u32>, kept: Kept) {
        self.results.insert((id, path), kept);
    }

    pub fn set_loop_len(&mut self, id: StepId, path: Vec<u32>, n: u32) {
        self.loop_len.insert((id, path), n);
    }

    /// Discovery: step `id`'s result at `path` (or, for a `for` node, its
    /// size and items) is not known before the run; reading it, or anything
    /// made of it, is [`EvalError::Unknown`].
    pub fn set_unknown(&mut self, id: StepId, path: Vec<u32>) {
        self.unknown.insert((id, path));
    }

    fn is_unknown(&self, id: StepId, path: &[u32]) -> bool {
        // Cheap in a run, where nothing is unknown.
        !self.unknown.is_empty() && self.unknown.contains(&(id, path.to_vec()))
    }

    /// Step `id`'s result as read from `frame`: this iteration's result
    /// where the reader shares the step's loops, else ONE flat list (see the
    /// module's docs); `null` when there is none.
    pub fn get(&self, plan: &Plan, id: StepId, frame: &Frame) -> Result<Value, EvalError> {
        let loops = plan.enclosing_loops(id);
        let mut path = Vec::with_capacity(loops.len());
        let mut k = 0;
        while k < loops.len() && k < frame.loops.len() && frame.loops[k].node == loops[k] {
            path.push(frame.loops[k].index);
            k += 1;
        }
        if k == loops.len() {
            if self.is_unknown(id, &path) {
                return Err(EvalError::Unknown);
            }
            return match self.results.get(&(id, path)) {
                Some(kept) => kept.value(),
                None => Ok(Value::Null),
            };
        }
        let mut out = Vec::new();
        self.collect_flat(id, &loops[k..], &mut path, &mut out)?;
        Ok(Value::Array(out))
    }

    /// Every iteration's result across the loops in `rest`, in item order,
    /// skipped iterations left out.
    fn collect_flat(
        &self,
        id: StepId,
        rest: &[StepId],
        path: &mut Vec<u32>,
        out: &mut Vec<Value>,
    ) -> Result<(), EvalError> {
        let Some((first, rest)) = rest.split_first() else {
            if self.is_unknown(id, path) {
                return Err(EvalError::Unknown);
            }
            if let Some(kept) = self.results.get(&(id, path.clone())) {
                out.push(kept.value()?);
            }
            return Ok(());
        };
        if self.is_unknown(*first, path) {
            return Err(EvalError::Unknown);
        }
        let n = self
            .loop_len
            .get(&(*first, path.clone()))
            .copied()
            .unwrap_or(0);
        for i in 0..n {
            path.push(i);
            let r = self.collect_flat(id, rest, path, out);
            path.pop();
            r?;
        }
        Ok(())
    }

    /// The current item of the enclosing loop `id` in `frame`.
    fn loop_item(&self, id: StepId, frame: &Frame) -> Result<Value, EvalError> {
        let Some(k) = frame.loops.iter().position(|l| l.node == id) else {
            return err(format!("loop variable of {id} read outside its loop"));
        };
        let outer: Vec<u32> = frame.loops[..k].iter().map(|l| l.index).collect();
        if self.is_unknown(id, &outer) {
            return Err(EvalError::Unknown);
        }
        Ok(Value::clone(&frame.loops[k].item))
    }
}

/// The step a compensate/cleanup call belongs to.
pub(crate) struct SagaCtx<'a> {
    pub result: &'a Value,
    pub args: &'a Map<String, Value>,
}

/// Discovery: whether a value is, or holds, a projection of what the run
/// would make (a record only partly known before the run).
pub type IsProjection = fn(&Value) -> bool;

pub struct EvalCtx<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) params: &'a Map<String, Value>,
    pub(crate) run: &'a RunInfo,
    pub(crate) values: &'a Values,
    pub(crate) frame: &'a Frame,
    pub(crate) saga: Option<SagaCtx<'a>>,
    /// Discovery only; `None` in a run.
    pub(crate) projection: Option<IsProjection>,
}

impl<'a> EvalCtx<'a> {
    /// An evaluator for discovery, before the run: `values` may hold
    /// unknowns, and what `projection` recognises is partly known.
    pub fn discovery(
        plan: &'a Plan,
        params: &'a Map<String, Value>,
        run: &'a RunInfo,
        values: &'a Values,
        frame: &'a Frame,
        projection: IsProjection,
    ) -> EvalCtx<'a> {
        EvalCtx {
            plan,
            params,
            run,
            values,
            frame,
            saga: None,
            projection: Some(projection),
        }
    }

    /// Whether `v` is (or holds) a projection: always false in a run.
    fn projected(&self, v: &Value) -> bool {
        self.projection.is_some_and(|p| p(v))
    }

    /// A value that is compared or printed must be wholly known.
    fn whole(&self, v: Value) -> Result<Value, EvalError> {
        if self.projected(&v) {
            Err(EvalError::Unknown)
        } else {
            Ok(v)
        }
    }

    pub fn eval(&self, e: &Expr) -> Result<Value, EvalError> {
        Ok(match e {
            Expr::Str(s) => Value::String(s.clone()),
            Expr::Int(i) => Value::from(*i),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Duration(ms) => Value::from(*ms),
            Expr::List(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.eval(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Interp(pieces) => {
                let mut s = String::new();
                for p in pieces {
                    match p {
                        Piece::Lit(l) => s.push_str(l),
                        Piece::Expr(e) => render_into(&mut s, &self.whole(self.eval(e)?)?),
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
                    return err(format!(
                        "reference to step {id}, which the plan does not have"
                    ));
                }
                self.values.get(self.plan, *id, self.frame)?
            }
            Expr::LoopVar(id) => self.values.loop_item(*id, self.frame)?,
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
                None => {
                    return err(format!(
                        "input `{name}` is only defined in compensate/cleanup calls"
                    ))
                }
            },
            Expr::Field(inner, f) => self.field(&self.eval(inner)?, f)?,
            Expr::Not(inner) => match self.eval(inner)? {
                Value::Bool(b) => Value::Bool(!b),
                other => return err(format!("`not` needs a bool, got {}", shape(&other))),
            },
            Expr::Binary(op, a, b) => {
                let (a, b) = (self.whole(self.eval(a)?)?, self.whole(self.eval(b)?)?);
                match op {
                    BinOp::Eq => Value::Bool(a == b),
                    BinOp::Ne => Value::Bool(a != b),
                    BinOp::And | BinOp::Or => match (&a, &b) {
                        (Value::Bool(x), Value::Bool(y)) => Value::Bool(if *op == BinOp::And {
                            *x && *y
                        } else {
                            *x || *y
                        }),
                        _ => {
                            return err(format!(
                                "`and`/`or` need bools, got {} and {}",
                                shape(&a),
                                shape(&b)
                            ))
                        }
                    },
                }
            }
        })
    }

    pub fn eval_bool(&self, e: &Expr) -> Result<bool, EvalError> {
        match self.eval(e)? {
            Value::Bool(b) => Ok(b),
            other => err(format!("condition must be a bool, got {}", shape(&other))),
        }
    }

    /// A record's field; on a list, the field of every element; on `null`,
    /// `null`. A field a projection does not carry is unknown.
    fn field(&self, v: &Value, f: &str) -> Result<Value, EvalError> {
        match v {
            Value::Object(m) => match m.get(f) {
                Some(x) => Ok(x.clone()),
                None if self.projected(v) => Err(EvalError::Unknown),
                None => err(format!("record has no field `{f}`")),
            },
            Value::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|i| self.field(i, f))
                    .collect::<Result<_, _>>()?,
            )),
            Value::Null => Ok(Value::Null),
            other => err(format!("cannot read field `{f}` of {}", shape(other))),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_dsl::plan::{Node, NodeKind};
    use serde_json::json;

    fn plan() -> Plan {
        Plan {
            runbook: "r".into(),
            ..Plan::default()
        }
    }

    /// A node `id` in block `parent` (`None`: the top level).
    fn node(id: u32, parent: Option<u32>, kind: NodeKind) -> Node {
        Node {
            id: StepId(id),
            name: format!("n{id}"),
            span: Default::default(),
            kind,
            parent: parent.map(StepId),
            deps: vec![],
            when: None,
        }
    }

    fn for_each(body: Vec<StepId>) -> NodeKind {
        NodeKind::ForEach(lifeboat_dsl::plan::ForEach {
            var: "v".into(),
            item_type: lifeboat_dsl::plan::Type::Int,
            over: Expr::List(vec![]),
            parallel: 1,
            body,
        })
    }

    fn approve(prompt: Expr) -> NodeKind {
        NodeKind::Approve(lifeboat_dsl::plan::Approve { prompt })
    }

    fn with<T>(f: impl FnOnce(&EvalCtx) -> T) -> T {
        let plan = plan();
        let mut params = Map::new();
        params.insert("vnf".into(), json!("vnf1"));
        params.insert(
            "servers".into(),
            json!([{"name": "a", "site": "s1"}, {"name": "b", "site": "s2"}]),
        );
        let run = RunInfo {
            id: "r9".into(),
            started: "2026-01-01T00:00:00Z".into(),
            runbook: "r".into(),
        };
        let values = Values::default();
        let frame = Frame::default();
        f(&EvalCtx {
            plan: &plan,
            params: &params,
            run: &run,
            values: &values,
            frame: &frame,
            saga: None,
            projection: None,
        })
    }

    #[test]
    fn interpolation_prints_values() {
        let e = Expr::Interp(vec![
            Piece::Lit("lb-".into()),
            Piece::Expr(Expr::Param("vnf".into())),
            Piece::Lit("-".into()),
            Piece::Expr(Expr::Run(RunField::Id)),
            Piece::Lit("-".into()),
            Piece::Expr(Expr::Int(3)),
        ]);
        assert_eq!(with(|c| c.eval(&e)).unwrap(), json!("lb-vnf1-r9-3"));
    }

    #[test]
    fn field_of_a_list_maps_and_of_null_is_null() {
        let e = Expr::Field(Box::new(Expr::Param("servers".into())), "site".into());
        assert_eq!(with(|c| c.eval(&e)).unwrap(), json!(["s1", "s2"]));
        let missing = Expr::Field(Box::new(Expr::Param("servers".into())), "nope".into());
        assert_eq!(
            with(|c| c.eval(&missing)).unwrap_err().to_string(),
            "record has no field `nope`"
        );
        let unknown_step = Expr::Step(StepId(7));
        assert!(with(|c| c.eval(&unknown_step))
            .unwrap_err()
            .to_string()
            .contains("does not have"));
    }

    #[test]
    fn logic_needs_bools() {
        let e = Expr::Binary(
            BinOp::And,
            Box::new(Expr::Bool(true)),
            Box::new(Expr::Str("x".into())),
        );
        assert!(with(|c| c.eval(&e))
            .unwrap_err()
            .to_string()
            .contains("need bools"));
        let ne = Expr::Binary(
            BinOp::Ne,
            Box::new(Expr::Param("vnf".into())),
            Box::new(Expr::Str("x".into())),
        );
        assert!(with(|c| c.eval_bool(&ne)).unwrap());
        assert!(with(|c| c.eval(&Expr::Result)).is_err());
        assert!(with(|c| c.eval(&Expr::LoopVar(StepId(0)))).is_err());
    }

    #[test]
    fn only_the_results_an_expression_reads_are_kept() {
        // node 0 is read by node 1's prompt; nothing reads node 1.
        let mut p = plan();
        p.nodes
            .push(node(0, None, approve(Expr::Str(String::new()))));
        p.nodes.push(node(1, None, approve(Expr::Step(StepId(0)))));
        let mut v = Values::for_plan(&p);
        v.set_result(StepId(0), vec![], &json!("kept"));
        v.set_result(StepId(1), vec![], &json!("dropped"));
        assert_eq!(
            v.get(&p, StepId(0), &Frame::default()).unwrap(),
            json!("kept")
        );
        assert_eq!(
            v.get(&p, StepId(1), &Frame::default()).unwrap(),
            Value::Null
        );
        assert_eq!(v.results.len(), 1);
        // Without a plan (tests that set values by hand) every result stays.
        let mut all = Values::default();
        all.set_result(StepId(1), vec![], &json!("kept"));
        assert_eq!(
            all.get(&p, StepId(1), &Frame::default()).unwrap(),
            json!("kept")
        );
    }

    #[test]
    fn nested_loop_results_read_from_outside_are_one_flat_list() {
        // node 0: outer for, node 1: inner for (in 0), node 2: step (in 1)
        let mut p = plan();
        p.nodes.push(node(0, None, for_each(vec![StepId(1)])));
        p.nodes.push(node(1, Some(0), for_each(vec![StepId(2)])));
        p.nodes
            .push(node(2, Some(1), approve(Expr::Str(String::new()))));
        let mut v = Values::default();
        v.set_loop_len(StepId(0), vec![], 2);
        v.set_loop_len(StepId(1), vec![0], 2);
        v.set_loop_len(StepId(1), vec![1], 1);
        v.set_result(StepId(2), vec![0, 0], &json!("a"));
        v.set_result(StepId(2), vec![0, 1], &json!("b"));
        v.set_result(StepId(2), vec![1, 0], &json!("c"));
        assert_eq!(
            v.get(&p, StepId(2), &Frame::default()).unwrap(),
            json!(["a", "b", "c"])
        );
        // a skipped iteration is left out of the flat list
        let mut w = Values::default();
        w.set_loop_len(StepId(0), vec![], 2);
        w.set_loop_len(StepId(1), vec![0], 2);
        w.set_loop_len(StepId(1), vec![1], 2);
        w.set_result(StepId(2), vec![0, 1], &json!("b"));
        w.set_result(StepId(2), vec![1, 0], &json!("c"));
        w.set_result(StepId(2), vec![1, 1], &json!("d"));
        assert_eq!(
            w.get(&p, StepId(2), &Frame::default()).unwrap(),
            json!(["b", "c", "d"])
        );
        let inside_outer_1 = Frame::default().enter(StepId(0), 1, json!(null));
        assert_eq!(v.get(&p, StepId(2), &inside_outer_1).unwrap(), json!(["c"]));
        let inside_both = inside_outer_1.enter(StepId(1), 0, json!(null));
        assert_eq!(v.get(&p, StepId(2), &inside_both).unwrap(), json!("c"));
    }

    #[test]
    fn discovery_propagates_unknowns_and_projections_through_the_run_rules() {
        // node 0: a for; node 1: a step in it; node 2: a step outside it.
        let mut p = plan();
        p.nodes.push(node(0, None, for_each(vec![StepId(1)])));
        p.nodes
            .push(node(1, Some(0), approve(Expr::Str(String::new()))));
        p.nodes
            .push(node(2, None, approve(Expr::Str(String::new()))));
        let params = Map::new();
        let run = RunInfo {
            id: "RUN".into(),
            started: String::new(),
            runbook: "r".into(),
        };
        let projected: IsProjection = |v| v.get("planned") == Some(&Value::Bool(true));
        let step = |id| Box::new(Expr::Step(StepId(id)));
        let top = Frame::default();
        let inside = top.enter(StepId(0), 0, Value::Null);

        // The loop's size and items unknown: its item, and its steps read
        // from outside, are unknown; a known step beside it is not.
        let mut v = Values::default();
        v.set_unknown(StepId(0), vec![]);
        v.set_result(StepId(1), vec![0], &json!("x"));
        v.set_result(StepId(2), vec![], &json!({"planned": true, "id": "p1"}));
        let at = |f| EvalCtx::discovery(&p, &params, &run, &v, f, projected);
        assert_eq!(
            at(&inside).eval(&Expr::LoopVar(StepId(0))),
            Err(EvalError::Unknown)
        );
        assert_eq!(at(&inside).eval(&Expr::Step(StepId(1))), Ok(json!("x")));
        assert_eq!(
            at(&top).eval(&Expr::Step(StepId(1))),
            Err(EvalError::Unknown)
        );
        assert_eq!(
            at(&top).eval(&Expr::List(vec![Expr::Int(1), Expr::Step(StepId(1))])),
            Err(EvalError::Unknown)
        );
        // A projection: the fields it carries are known, the others are
        // unknown (not an error), and it is never compared or printed.
        assert_eq!(
            at(&top).eval(&Expr::Field(step(2), "id".into())),
            Ok(json!("p1"))
        );
        assert_eq!(
            at(&top).eval(&Expr::Field(step(2), "size".into())),
            Err(EvalError::Unknown)
        );
        assert_eq!(
            at(&top).eval(&Expr::Binary(BinOp::Eq, step(2), step(2))),
            Err(EvalError::Unknown)
        );
        assert_eq!(
            at(&top).eval(&Expr::Interp(vec![Piece::Expr(Expr::Step(StepId(2)))])),
            Err(EvalError::Unknown)
        );
        // An unknown step result read where it was made.
        v.set_unknown(StepId(2), vec![]);
        let at = |f| EvalCtx::discovery(&p, &params, &run, &v, f, projected);
        assert_eq!(
            at(&top).eval(&Expr::Step(StepId(2))),
            Err(EvalError::Unknown)
        );

        // The same values in a run (no projections): the missing field is
        // the run's error, and the record compares like any other.
        let mut r = Values::default();
        r.set_result(StepId(2), vec![], &json!({"planned": true, "id": "p1"}));
        let frame = Frame::default();
        let c = EvalCtx {
            plan: &p,
            params: &params,
            run: &run,
            values: &r,
            frame: &frame,
            saga: None,
            projection: None,
        };
        assert!(matches!(
            c.eval(&Expr::Field(step(2), "size".into())),
            Err(EvalError::Invalid(m)) if m.contains("no field `size`")
        ));
        assert_eq!(
            c.eval(&Expr::Binary(BinOp::Eq, step(2), step(2))),
            Ok(json!(true))
        );
    }
}
