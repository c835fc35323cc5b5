//! The discovery walk: the plan evaluated as far as the cloud's present state
//! allows, calling only `read` actions (the catalogue's kind, carried by the
//! plan as each call's effect).
//!
//! Values are JSON, as in the executor, except that a value may be
//! *unknown* (`None`: it depends on something only the run can know) or
//! *planned*: a record that a mutating step would make, shaped from its
//! inputs ([`super::planned`]) and marked `"planned": true`. A read step is
//! called only when every argument is known, nothing in them is planned, and
//! no step it waits for (nor any enclosing block) changes the cloud first;
//! otherwise it is projected like a mutating step. Fan-outs over known or
//! planned lists are expanded item by item, so the counts a run would see
//! are known; over an unknown list the body is walked once, count unknown.
//!
//! Expressions are evaluated by the executor's own evaluator
//! ([`lifeboat_exec::eval`]) in its discovery mode, so every rule of what an
//! expression means (a step read from outside its loops is one flat list,
//! a field of a list, interpolation …) is the run's rule; the unknowns and
//! the planned records are what this walk adds.

use super::planned::{self, is_planned};
use lifeboat_dsl::plan::{site_of, Effect, Expr, NodeKind, Plan, StepId};
use lifeboat_exec::action::{ActionCall, Actions};
use lifeboat_exec::eval::{EvalCtx, EvalError, Frame, RunInfo, Values};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// How a step instance was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// A read call was made; `value` is the cloud's answer.
    Read,
    /// The run would do it (it changes the cloud, or reads what a change
    /// makes); `value`, if any, is its projected shape.
    Planned,
    /// `when` is false with the values found.
    Skipped,
    /// Its inputs are unknown before the run.
    Unknown,
    /// The read call failed (see the findings).
    Failed,
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub node: StepId,
    pub instance: String,
    pub action: String,
    pub site: Option<String>,
    pub state: State,
    pub args: Map<String, Value>,
    pub value: Option<Value>,
}

/// One quiesce scope instance: its targets in freeze order, by group.
#[derive(Debug, Clone)]
pub struct Scope {
    pub node: StepId,
    pub instance: String,
    pub method: Option<String>,
    pub method_args: Map<String, Value>,
    /// `None` when the targets are unknown before the run.
    pub groups: Option<Vec<(String, Vec<String>)>>,
    pub site: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ReadFailure {
    pub instance: String,
    pub action: String,
    pub site: Option<String>,
    pub message: String,
}

/// An expression the run would fail at: `what` of `instance` (an argument,
/// a `when`, a loop's list…) cannot be evaluated with the values found.
#[derive(Debug, Clone)]
pub struct EvalFailure {
    pub instance: String,
    pub what: String,
    pub message: String,
}

/// Which expression of a node is evaluated (named only when the run
/// would fail at it).
#[derive(Clone, Copy)]
enum Part<'p> {
    When,
    Arg(&'p str),
    List,
    Targets,
    Order,
    Method,
    MethodArg(&'p str),
}

impl std::fmt::Display for Part<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::When => f.write_str("`when`"),
            Part::Arg(n) => write!(f, "argument `{n}`"),
            Part::List => f.write_str("its list"),
            Part::Targets => f.write_str("its targets"),
            Part::Order => f.write_str("its order"),
            Part::Method => f.write_str("its method"),
            Part::MethodArg(n) => write!(f, "method argument `{n}`"),
        }
    }
}

/// One instance of a `for` node: its item count (`None`: unknown before
/// the run) and a label per item.
pub type LoopInstance = (Option<u32>, Vec<String>);

/// What the walk found.
#[derive(Debug, Default)]
pub struct Discovery {
    pub instances: Vec<Instance>,
    /// Per `for` node: the item count of each instance (`None`: unknown),
    /// and a label per item.
    pub loops: HashMap<StepId, Vec<LoopInstance>>,
    pub scopes: Vec<Scope>,
    pub failures: Vec<ReadFailure>,
    /// Expressions the run would fail to evaluate, with the values found.
    pub invalid: Vec<EvalFailure>,
    /// Read calls made.
    pub calls: u32,
}

pub struct Walk<'a> {
    plan: &'a Plan,
    params: &'a Map<String, Value>,
    actions: &'a dyn Actions,
    run_id: String,
    run: RunInfo,
    /// Results and loop sizes found so far, unknowns marked.
    values: Values,
    /// Whether the node instance (or anything in it) changes the cloud.
    changes: HashMap<(StepId, Vec<u32>), bool>,
    /// The node instances skipped (`when` false, or reading a skipped one).
    skipped: HashSet<(StepId, Vec<u32>)>,
    /// Ids to names of every record read so far, for labels.
    names: HashMap<String, String>,
    out: Discovery,
}

/// Walk `plan` (parameters bound) against the cloud behind `actions`.
pub async fn discover(
    plan: &Plan,
    params: &Map<String, Value>,
    actions: &dyn Actions,
) -> Discovery {
    let mut w = Walk {
        plan,
        params,
        actions,
        run_id: "resolve".into(),
        run: RunInfo {
            id: "RUN".into(),
            started: chrono::Utc::now().to_rfc3339(),
            runbook: plan.runbook.clone(),
        },
        values: Values::default(),
        changes: HashMap::new(),
        skipped: HashSet::new(),
        names: HashMap::new(),
        out: Discovery::default(),
    };
    w.block(&plan.body, &Frame::default(), false).await;
    w.out
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

type BoxFut<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

impl<'a> Walk<'a> {
    fn block<'b>(
        &'b mut self,
        ids: &'b [StepId],
        frame: &'b Frame,
        tainted: bool,
    ) -> BoxFut<'b, bool>
    where
        'a: 'b,
    {
        Box::pin(async move {
            let path = frame.path();
            let mut any_change = false;
            // Dependencies first, as the executor would finish them.
            for id in self.plan.block_order(ids) {
                let after_change = self.plan.node(id).deps.iter().any(|d| {
                    ids.contains(&d.on)
                        && self
                            .changes
                            .get(&(d.on, path.clone()))
                            .copied()
                            .unwrap_or(true)
                });
                let changed = self.node(id, frame, tainted || after_change).await;
                self.changes.insert((id, path.clone()), changed);
                any_change |= changed;
            }
            any_change
        })
    }

    /// Record what node `id` gives in `frame`: a value, or unknown.
    fn set(&mut self, id: StepId, frame: &Frame, v: Option<Value>) {
        match v {
            Some(v) => self.values.set_result(id, frame.path(), &v),
            None => self.values.set_unknown(id, frame.path()),
        }
    }

    /// `e` (`what` of `instance`) evaluated as the run would; `None` when
    /// it is not known before the run, or when the run would fail there
    /// (noted in [`Discovery::invalid`]).
    fn eval(&mut self, e: &Expr, frame: &Frame, instance: &str, what: Part<'_>) -> Option<Value> {
        let r = EvalCtx::discovery(
            self.plan,
            self.params,
            &self.run,
            &self.values,
            frame,
            is_planned,
        )
        .eval(e);
        match r {
            Ok(v) => Some(v),
            Err(EvalError::Unknown) => None,
            Err(EvalError::Invalid(message)) => {
                self.out.invalid.push(EvalFailure {
                    instance: instance.to_string(),
                    what: what.to_string(),
                    message,
                });
                None
            }
        }
    }

    /// Resolve one node in `frame`; true when it (or its body) changes the cloud.
    async fn node(&mut self, id: StepId, frame: &Frame, tainted: bool) -> bool {
        let plan = self.plan;
        let node = plan.node(id);
        let instance = frame.instance(&node.name);
        let path = frame.path();
        // Skipped as the run would skip it: it reads a skipped sibling's
        // result, or its `when` is false. No result, as in a run.
        let skipped = node
            .reads_skipped(|on| self.skipped.contains(&(on, path.clone())))
            .is_some()
            || match &node.when {
                Some(w) => self.eval(w, frame, &instance, Part::When) == Some(Value::Bool(false)),
                None => false,
            };
        if skipped {
            self.skipped.insert((id, path));
            if let NodeKind::Action(a) = &node.kind {
                self.out.instances.push(Instance {
                    node: id,
                    instance,
                    action: a.call.action.clone(),
                    site: None,
                    state: State::Skipped,
                    args: Map::new(),
                    value: None,
                });
            }
            return false;
        }
        match &node.kind {
            NodeKind::Approve(_) => {
                self.set(id, frame, Some(Value::Null));
                false
            }
            NodeKind::Action(a) => {
                let mut args: Map<String, Value> = Map::new();
                let mut all_known = true;
                for arg in &a.call.args {
                    match self.eval(&arg.value, frame, &instance, Part::Arg(&arg.name)) {
                        Some(v) => {
                            args.insert(arg.name.clone(), v);
                        }
                        None => all_known = false,
                    }
                }
                let site = site_of(&a.call.args, &args);
                let can_call = a.call.effect == Effect::Read
                    && !tainted
                    && all_known
                    && !args.values().any(is_planned);
                let (state, value) = if can_call {
                    let call = ActionCall {
                        action: a.call.action.clone(),
                        args: args.clone(),
                        site: site.clone(),
                        run_id: self.run_id.clone(),
                        step: instance.clone(),
                        tag: lifeboat_exec::make_tag(&self.run_id, &instance),
                        attempt: 1,
                        timeout: std::time::Duration::from_millis(a.timeout_ms.min(60_000)),
                        purpose: Default::default(),
                        fence: Default::default(),
                    };
                    self.out.calls += 1;
                    match self.actions.run(&call).await {
                        Ok(o) => {
                            index_names(&o.value, &mut self.names);
                            (State::Read, Some(o.value))
                        }
                        Err(e) => {
                            self.out.failures.push(ReadFailure {
                                instance: instance.clone(),
                                action: a.call.action.clone(),
                                site: site.clone(),
                                message: e.to_string(),
                            });
                            (State::Failed, None)
                        }
                    }
                } else {
                    match planned::project(&a.call.action, &a.result, &args, site.as_deref()) {
                        Some(v) => (State::Planned, Some(v)),
                        None if all_known || a.call.effect != Effect::Read => {
                            (State::Planned, None)
                        }
                        None => (State::Unknown, None),
                    }
                };
                self.set(id, frame, value.clone());
                self.out.instances.push(Instance {
                    node: id,
                    instance,
                    action: a.call.action.clone(),
                    site,
                    state,
                    args,
                    value,
                });
                a.call.effect != Effect::Read
            }
            NodeKind::ForEach(f) => {
                let items: Option<Vec<Value>> =
                    match self.eval(&f.over, frame, &instance, Part::List) {
                        Some(Value::Array(a)) => Some(a),
                        Some(Value::Null) => Some(vec![]),
                        _ => None,
                    };
                let mut changed = false;
                match items {
                    Some(items) => {
                        let n = items.len() as u32;
                        self.values.set_loop_len(id, frame.path(), n);
                        let labels = items.iter().map(|i| label_with(i, &self.names)).collect();
                        self.out
                            .loops
                            .entry(id)
                            .or_default()
                            .push((Some(n), labels));
                        for (i, item) in items.into_iter().enumerate() {
                            let f2 = frame.enter(id, i as u32, item);
                            changed |= self.block(&f.body, &f2, tainted).await;
                        }
                    }
                    None => {
                        // Its size and items are unknown: the body once.
                        self.values.set_unknown(id, frame.path());
                        self.out.loops.entry(id).or_default().push((None, vec![]));
                        let f2 = frame.enter(id, 0, Value::Null);
                        changed |= self.block(&f.body, &f2, tainted).await;
                    }
                }
                changed
            }
            NodeKind::Quiesce(q) => {
                let targets = self.eval(&q.targets, frame, &instance, Part::Targets);
                let order = match self.eval(&q.order, frame, &instance, Part::Order) {
                    Some(Value::Array(o)) => o,
                    _ => vec![],
                };
                let method = self
                    .eval(&q.method, frame, &instance, Part::Method)
                    .and_then(|v| v.as_str().map(str::to_string));
                let mut method_args = Map::new();
                for a in &q.method_args {
                    if let Some(v) = self.eval(&a.value, frame, &instance, Part::MethodArg(&a.name))
                    {
                        method_args.insert(a.name.clone(), v);
                    }
                }
                let (groups, site) = match targets {
                    Some(Value::Array(ts)) if !ts.iter().any(is_planned) => {
                        let site = ts
                            .first()
                            .and_then(|t| t.get("site"))
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        // The run's freeze groups, in its order.
                        let (ts, ranges) = q.freeze_order(ts, &order);
                        let groups: Vec<(String, Vec<String>)> = ranges
                            .into_iter()
                            .map(|r| {
                                let g = match ts[r.start].get(&q.by) {
                                    Some(Value::String(s)) => s.clone(),
                                    Some(Value::Null) | None => "(none)".to_string(),
                                    Some(other) => other.to_string(),
                                };
                                (g, ts[r].iter().map(label).collect())
                            })
                            .collect();
                        (Some(groups), site)
                    }
                    _ => (None, None),
                };
                self.out.scopes.push(Scope {
                    node: id,
                    instance,
                    method,
                    method_args,
                    groups,
                    site,
                });
                // Freezing changes the cloud: everything inside runs after it.
                self.block(&q.body, frame, true).await;
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_dsl::plan::{ForEach, Node, Type};
    use lifeboat_exec::action::{ActionError, ActionOutput};

    /// No call may be made: the plan under test has no action.
    struct NoCalls;

    #[async_trait::async_trait]
    impl Actions for NoCalls {
        async fn run(&self, call: &ActionCall) -> Result<ActionOutput, ActionError> {
            panic!("no call expected, got {}", call.action)
        }
        async fn find_created(&self, _: &ActionCall) -> Result<Option<ActionOutput>, ActionError> {
            Ok(None)
        }
    }

    /// An expression the run would fail at (a field the record does not
    /// have) is a finding, not an unknown passed over in silence.
    #[tokio::test]
    async fn an_expression_the_run_would_fail_at_is_noted() {
        let over = Expr::Field(Box::new(Expr::Param("p".into())), "nope".into());
        let plan = Plan {
            runbook: "r".into(),
            nodes: vec![Node {
                id: StepId(0),
                name: "for s".into(),
                span: Default::default(),
                kind: NodeKind::ForEach(ForEach {
                    var: "s".into(),
                    item_type: Type::Int,
                    over,
                    parallel: 1,
                    body: vec![],
                }),
                parent: None,
                deps: vec![],
                when: None,
            }],
            body: vec![StepId(0)],
            ..Plan::default()
        };
        let mut params = Map::new();
        params.insert("p".into(), serde_json::json!({"a": 1}));
        let d = discover(&plan, &params, &NoCalls).await;
        assert_eq!(d.invalid.len(), 1, "{:?}", d.invalid);
        assert_eq!(d.invalid[0].instance, "for s");
        assert_eq!(d.invalid[0].what, "its list");
        assert!(d.invalid[0].message.contains("no field `nope`"));
        // Its size is unknown, not zero.
        assert_eq!(d.loops[&StepId(0)][0].0, None);
    }
}
