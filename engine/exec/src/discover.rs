//! Discovery: the plan walked before a run by the run's own walker
//! ([`crate::walk`]) in a read-only mode, as far as the cloud's present
//! state allows — what `lifeboat plan --resolve` shows. The walk's order,
//! its skip rule and its fan-out are the run's; only what happens at a node
//! differs (this file's [`Visit`]):
//!
//! - a step whose catalogue kind is `read` is called (through the same
//!   [`Actions`] a run uses) when every argument is known, none holds a
//!   projection, and nothing it waits for — nor any block around it —
//!   changes the cloud first; any other step is not called: its result is
//!   *projected* from its inputs by the caller's [`Projection`] (what a
//!   mutating step would make, partly known), or unknown;
//! - a value that depends on what only the run can know is *unknown*
//!   ([`EvalError::Unknown`]): a `when` that is unknown runs its node, a
//!   loop over an unknown list walks its body once, its size unknown;
//! - an expression the run would fail at is noted ([`EvalFailure`]), a
//!   read that fails too ([`ReadFailure`]); the walk goes on;
//! - a quiesce scope freezes nothing: its targets are grouped in the order
//!   the run would freeze them ([`lifeboat_dsl::plan::QuiesceScope::freeze_order`]);
//! - an approval asks nobody.
//!
//! The walk runs what is ready at once, as a run does; what it found is
//! put in the order of a one-at-a-time walk (each block in its
//! [`Plan::block_order`], each loop item by item), so that what it shows
//! does not depend on which read answered first.

use crate::action::{ActionCall, Actions};
use crate::cancel::CancelHandle;
use crate::eval::{EvalCtx, EvalError, Frame, IsProjection, RunInfo, Values};
use crate::event::Emitter;
use crate::step::{make_tag, NodeOutcome, StepMachine};
use crate::walk::{run_block, Visit};
use futures::future::BoxFuture;
use lifeboat_dsl::plan::{
    site_of, ActionStep, Approve, Effect, Expr, ForEach, FreezeOrder, Node, NodeKind, Plan,
    QuiesceScope, StepId, Type,
};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// The projected result of `action` (declared `result`) called with
/// `args` at `site`; `None` when nothing can be said of it.
pub type Project = fn(&str, &Type, &Map<String, Value>, Option<&str>) -> Option<Value>;

/// What a step that is not called would give, and how to tell such a
/// value: the caller's knowledge of what each action makes.
#[derive(Clone, Copy)]
pub struct Projection {
    pub project: Project,
    /// Whether a value is (or holds) a projection.
    pub is_projection: IsProjection,
}

/// How a step instance was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// A read call was made; `value` is the cloud's answer.
    Read,
    /// The run would do it (it changes the cloud, or reads what a change
    /// makes); `value`, if any, is its projected shape.
    Planned,
    /// Skipped as the run would skip it.
    Skipped,
    /// Its inputs are unknown before the run.
    Unknown,
    /// The read call failed (see [`Discovery::failures`]).
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
    /// `(group, targets)` in freeze order; `None` when the targets are
    /// unknown before the run.
    pub groups: Option<Vec<(String, Vec<Value>)>>,
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

/// One instance of a `for` node.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopInstance {
    /// Its item count; `None`: unknown before the run.
    pub count: Option<u32>,
    pub items: Vec<Value>,
}

/// What the walk found, in the order of a one-at-a-time walk.
#[derive(Debug, Default)]
pub struct Discovery {
    pub instances: Vec<Instance>,
    /// Per `for` node, each of its instances.
    pub loops: HashMap<StepId, Vec<LoopInstance>>,
    pub scopes: Vec<Scope>,
    pub failures: Vec<ReadFailure>,
    /// Expressions the run would fail to evaluate, with the values found.
    pub invalid: Vec<EvalFailure>,
    /// Read calls made.
    pub calls: u32,
}

/// Walk `plan` (its parameters bound) against the cloud behind `actions`,
/// changing nothing.
pub async fn discover(
    plan: &Plan,
    params: &Map<String, Value>,
    actions: &dyn Actions,
    projection: Projection,
) -> Discovery {
    let d = Discover {
        plan,
        params,
        actions,
        projection,
        run: RunInfo {
            id: "RUN".into(),
            started: chrono::Utc::now().to_rfc3339(),
            runbook: plan.runbook.clone(),
        },
        events: Emitter::new(None),
        pos: positions(plan),
        values: Mutex::new(Values::default()),
        found: Mutex::new(Found::default()),
    };
    let cancel = CancelHandle::new();
    run_block(&d, &plan.body, &Frame::default(), &cancel).await;
    d.found
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_discovery()
}

/// Where a one-at-a-time walk meets a node instance: each node's place in
/// its block's order, each enclosing loop's item index after the loop's.
type Key = Vec<u32>;

/// Each node's place in its block's [`Plan::block_order`].
fn positions(plan: &Plan) -> HashMap<StepId, u32> {
    let mut pos = HashMap::new();
    let mut blocks = vec![plan.body.as_slice()];
    while let Some(block) = blocks.pop() {
        for (i, id) in plan.block_order(block).into_iter().enumerate() {
            pos.insert(id, i as u32);
        }
        for id in block {
            match plan.nodes.get(id.index()).map(|n| &n.kind) {
                Some(NodeKind::ForEach(f)) => blocks.push(&f.body),
                Some(NodeKind::Quiesce(q)) => blocks.push(&q.body),
                _ => {}
            }
        }
    }
    pos
}

/// What was found so far, each with its [`Key`].
#[derive(Default)]
struct Found {
    instances: Vec<(Key, Instance)>,
    loops: Vec<(Key, StepId, LoopInstance)>,
    scopes: Vec<(Key, Scope)>,
    failures: Vec<(Key, ReadFailure)>,
    invalid: Vec<(Key, EvalFailure)>,
    calls: u32,
    /// Node instances that change the cloud (or hold one that does).
    changes: HashSet<(StepId, Vec<u32>)>,
    /// Loop instances started after a change: their bodies read nothing.
    tainted: HashSet<(StepId, Vec<u32>)>,
}

impl Found {
    fn into_discovery(mut self) -> Discovery {
        fn sorted<T>(v: &mut Vec<(Key, T)>) -> Vec<T> {
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v.drain(..).map(|(_, t)| t).collect()
        }
        self.loops.sort_by(|a, b| a.0.cmp(&b.0));
        let mut loops: HashMap<StepId, Vec<LoopInstance>> = HashMap::new();
        for (_, id, l) in self.loops {
            loops.entry(id).or_default().push(l);
        }
        Discovery {
            instances: sorted(&mut self.instances),
            loops,
            scopes: sorted(&mut self.scopes),
            failures: sorted(&mut self.failures),
            invalid: sorted(&mut self.invalid),
            calls: self.calls,
        }
    }
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

struct Discover<'a> {
    plan: &'a Plan,
    params: &'a Map<String, Value>,
    actions: &'a dyn Actions,
    projection: Projection,
    run: RunInfo,
    events: Emitter,
    pos: HashMap<StepId, u32>,
    /// Results and loop sizes found so far, unknowns marked.
    values: Mutex<Values>,
    found: Mutex<Found>,
}

impl Discover<'_> {
    fn found(&self) -> std::sync::MutexGuard<'_, Found> {
        self.found.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn key(&self, id: StepId, frame: &Frame) -> Key {
        let mut chain: Vec<StepId> = self.plan.ancestors(id).collect();
        chain.reverse();
        chain.push(id);
        let mut k = Vec::with_capacity(chain.len() * 2);
        for (j, n) in chain.iter().enumerate() {
            k.push(self.pos.get(n).copied().unwrap_or(u32::MAX));
            if j + 1 < chain.len() {
                if let Some(l) = frame.loops.iter().find(|l| l.node == *n) {
                    k.push(l.index);
                }
            }
        }
        k
    }

    /// `e` (`what` of node `id`'s `instance`) evaluated as the run would;
    /// `None` when it is not known before the run, or when the run would
    /// fail there (noted).
    fn eval(
        &self,
        id: StepId,
        e: &Expr,
        frame: &Frame,
        instance: &str,
        what: Part<'_>,
    ) -> Option<Value> {
        let r = {
            let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
            EvalCtx::discovery(
                self.plan,
                self.params,
                &self.run,
                &values,
                frame,
                self.projection.is_projection,
            )
            .eval(e)
        };
        match r {
            Ok(v) => Some(v),
            Err(EvalError::Unknown) => None,
            Err(EvalError::Invalid(message)) => {
                let key = self.key(id, frame);
                self.found().invalid.push((
                    key,
                    EvalFailure {
                        instance: instance.to_string(),
                        what: what.to_string(),
                        message,
                    },
                ));
                None
            }
        }
    }

    fn set(&self, id: StepId, frame: &Frame, v: Option<&Value>) {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        match v {
            Some(v) => values.set_result(id, frame.path(), v),
            None => values.set_unknown(id, frame.path()),
        }
    }

    /// Node `id` in `frame` changes the cloud: so do the blocks around it.
    fn changed(&self, id: StepId, frame: &Frame) {
        let mut path = frame.path();
        let mut found = self.found();
        found.changes.insert((id, path.clone()));
        for p in self.plan.ancestors(id) {
            if matches!(self.plan.node(p).kind, NodeKind::ForEach(_)) {
                path.pop();
            }
            found.changes.insert((p, path.clone()));
        }
    }

    /// Whether node `node` in `frame` comes after a change: a node it
    /// waits for changed the cloud, or it is inside a scope (freezing is a
    /// change) or inside a loop instance that came after one.
    fn after_change(&self, node: &Node, frame: &Frame) -> bool {
        let path = frame.path();
        let found = self.found();
        let waits = node
            .deps
            .iter()
            .any(|d| found.changes.contains(&(d.on, path.clone())));
        let around = node.parent.is_some_and(|p| match &self.plan.node(p).kind {
            NodeKind::Quiesce(_) => true,
            NodeKind::ForEach(_) => {
                let outer = path[..path.len().saturating_sub(1)].to_vec();
                found.tainted.contains(&(p, outer))
            }
            _ => false,
        });
        waits || around
    }
}

impl Visit for Discover<'_> {
    fn plan(&self) -> &Plan {
        self.plan
    }

    fn events(&self) -> &Emitter {
        &self.events
    }

    fn missing(&self, _: StepId) {}

    fn skipped(&self, node: &Node, frame: &Frame) {
        if let NodeKind::Action(a) = &node.kind {
            let key = self.key(node.id, frame);
            self.found().instances.push((
                key,
                Instance {
                    node: node.id,
                    instance: frame.instance(&node.name),
                    action: a.call.action.clone(),
                    site: None,
                    state: State::Skipped,
                    args: Map::new(),
                    value: None,
                },
            ));
        }
    }

    fn fail(&self, _: StepMachine<'_>, _: &str, _: String) -> NodeOutcome {
        // Only a malformed plan fails a node here (what the run would fail
        // at is noted where it is evaluated).
        NodeOutcome::Failed
    }

    /// Skipped only when its `when` is known to be false.
    fn when(&self, node: &Node, w: &Expr, frame: &Frame, instance: &str) -> Result<bool, String> {
        Ok(self.eval(node.id, w, frame, instance, Part::When) != Some(Value::Bool(false)))
    }

    fn items(
        &self,
        node: &Node,
        f: &ForEach,
        frame: &Frame,
        instance: &str,
    ) -> Result<Option<Vec<Value>>, String> {
        let items = match self.eval(node.id, &f.over, frame, instance, Part::List) {
            Some(Value::Array(a)) => Some(a),
            Some(Value::Null) => Some(Vec::new()),
            _ => None,
        };
        let tainted = self.after_change(node, frame);
        let key = self.key(node.id, frame);
        let mut found = self.found();
        if tainted {
            found.tainted.insert((node.id, frame.path()));
        }
        found.loops.push((
            key,
            node.id,
            LoopInstance {
                count: items.as_ref().map(|i| i.len() as u32),
                items: items.clone().unwrap_or_default(),
            },
        ));
        Ok(items)
    }

    fn loop_size(&self, id: StepId, frame: &Frame, n: Option<u32>) {
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        match n {
            Some(n) => values.set_loop_len(id, frame.path(), n),
            None => values.set_unknown(id, frame.path()),
        }
    }

    fn action<'a>(
        &'a self,
        node: &'a Node,
        a: &'a ActionStep,
        frame: &'a Frame,
        _: &'a CancelHandle,
        instance: String,
        _: StepMachine<'a>,
    ) -> BoxFuture<'a, NodeOutcome> {
        Box::pin(async move {
            let is_projection = self.projection.is_projection;
            let mut args: Map<String, Value> = Map::new();
            let mut all_known = true;
            for arg in &a.call.args {
                match self.eval(node.id, &arg.value, frame, &instance, Part::Arg(&arg.name)) {
                    Some(v) => {
                        args.insert(arg.name.clone(), v);
                    }
                    None => all_known = false,
                }
            }
            let site = site_of(&a.call.args, &args);
            let can_call = a.call.effect == Effect::Read
                && all_known
                && !args.values().any(is_projection)
                && !self.after_change(node, frame);
            let key = self.key(node.id, frame);
            let (state, value) = if can_call {
                let call = ActionCall {
                    action: a.call.action.clone(),
                    args: args.clone(),
                    site: site.clone(),
                    run_id: "resolve".into(),
                    step: instance.clone(),
                    tag: make_tag("resolve", &instance),
                    attempt: 1,
                    timeout: std::time::Duration::from_millis(a.timeout_ms.min(60_000)),
                    purpose: Default::default(),
                    fence: Default::default(),
                };
                self.found().calls += 1;
                match self.actions.run(&call).await {
                    Ok(o) => (State::Read, Some(o.value)),
                    Err(e) => {
                        self.found().failures.push((
                            key.clone(),
                            ReadFailure {
                                instance: instance.clone(),
                                action: a.call.action.clone(),
                                site: site.clone(),
                                message: e.to_string(),
                            },
                        ));
                        (State::Failed, None)
                    }
                }
            } else {
                match (self.projection.project)(&a.call.action, &a.result, &args, site.as_deref()) {
                    Some(v) => (State::Planned, Some(v)),
                    None if all_known || a.call.effect != Effect::Read => (State::Planned, None),
                    None => (State::Unknown, None),
                }
            };
            self.set(node.id, frame, value.as_ref());
            if a.call.effect != Effect::Read {
                self.changed(node.id, frame);
            }
            self.found().instances.push((
                key,
                Instance {
                    node: node.id,
                    instance,
                    action: a.call.action.clone(),
                    site,
                    state,
                    args,
                    value,
                },
            ));
            NodeOutcome::Succeeded
        })
    }

    fn scope<'a>(
        &'a self,
        node: &'a Node,
        q: &'a QuiesceScope,
        frame: &'a Frame,
        cancel: &'a CancelHandle,
        instance: String,
        _: StepMachine<'a>,
    ) -> BoxFuture<'a, NodeOutcome> {
        Box::pin(async move {
            let id = node.id;
            let targets = self.eval(id, &q.targets, frame, &instance, Part::Targets);
            let order = match self.eval(id, &q.order, frame, &instance, Part::Order) {
                Some(Value::Array(o)) => o,
                _ => vec![],
            };
            let method = self
                .eval(id, &q.method, frame, &instance, Part::Method)
                .and_then(|v| v.as_str().map(str::to_string));
            let mut method_args = Map::new();
            for a in &q.method_args {
                if let Some(v) = self.eval(id, &a.value, frame, &instance, Part::MethodArg(&a.name))
                {
                    method_args.insert(a.name.clone(), v);
                }
            }
            let is_projection = self.projection.is_projection;
            let (groups, site) = match targets {
                Some(Value::Array(ts)) if !ts.iter().any(is_projection) => {
                    let site = ts
                        .first()
                        .and_then(|t| t.get("site"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    // The run's freeze groups, in its order.
                    let FreezeOrder {
                        targets: ts,
                        groups: ranges,
                    } = q.freeze_order(ts, &order);
                    let groups = ranges
                        .into_iter()
                        .map(|r| {
                            let g = match ts[r.start].get(&q.by) {
                                Some(Value::String(s)) => s.clone(),
                                Some(Value::Null) | None => "(none)".to_string(),
                                Some(other) => other.to_string(),
                            };
                            (g, ts[r].to_vec())
                        })
                        .collect();
                    (Some(groups), site)
                }
                _ => (None, None),
            };
            let key = self.key(id, frame);
            self.found().scopes.push((
                key,
                Scope {
                    node: id,
                    instance,
                    method,
                    method_args,
                    groups,
                    site,
                },
            ));
            // Freezing changes the cloud: everything inside comes after it.
            self.changed(id, frame);
            run_block(self, &q.body, frame, cancel).await
        })
    }

    fn approve<'a>(
        &'a self,
        node: &'a Node,
        _: &'a Approve,
        frame: &'a Frame,
        _: &'a CancelHandle,
        _: String,
        _: StepMachine<'a>,
    ) -> BoxFuture<'a, NodeOutcome> {
        Box::pin(async move {
            self.set(node.id, frame, Some(&Value::Null));
            NodeOutcome::Succeeded
        })
    }
}
