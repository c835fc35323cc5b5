//! The compiled runbook: typed steps in nested blocks.
//!
//! This is the contract between the compiler (which produces it), the graph
//! builder and renderers (which draw it) and the executor (which walks it).
//! It is plain data, serialisable, and holds no reference to the source text
//! beyond spans.
//!
//! # Shape
//!
//! A [`Plan`] owns a flat table of [`Node`]s indexed by [`StepId`]. A block is
//! an ordered list of node ids; `Plan::body` is the top block, quiesce scopes
//! and `for` loops hold their own blocks. A node's `deps` always name
//! **siblings in the same block**: when a step inside a loop reads a variable
//! defined outside it, the compiler hoists that dependency onto the enclosing
//! node at the level where the variable lives. So a walker can run each block
//! as its own small DAG.
//!
//! # Values at run time
//!
//! Values are JSON ([`serde_json::Value`]). A reference to a step defined inside
//! a `for` loop, read from outside that loop, evaluates to the list of that
//! step's results, one per iteration, in the order of the loop's items
//! (iterations skipped by `when` are left out).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the plan schema; bumped on any incompatible change to this file.
/// The JSON plan (`lifeboat plan --format json`) carries it as `schema_version`.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// Index of a node in [`Plan::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StepId(pub u32);

impl StepId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A byte range in a source file, with the 1-based line and column of its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: u32,
    pub col: u32,
}

/// A compiled runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub schema_version: u32,
    /// The runbook's name (`runbook protect "…"` → `protect`).
    pub runbook: String,
    pub title: String,
    /// Path of the file the runbook came from, as given.
    pub source_path: String,
    pub params: Vec<Param>,
    pub schedule: Option<Schedule>,
    pub retain: Option<Retention>,
    /// `commit within D default …`: the run ends awaiting commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitPolicy>,
    /// Quiesce methods known to this plan (from the stdlib), by name.
    pub quiesce_methods: Vec<QuiesceMethod>,
    /// Every node, indexed by `StepId`.
    pub nodes: Vec<Node>,
    /// The top-level block.
    pub body: Vec<StepId>,
}

/// An empty plan of this schema version: no runbook name, nodes or
/// parameters (for building plans by hand: `Plan { nodes, body, ..Plan::default() }`).
impl Default for Plan {
    fn default() -> Plan {
        Plan {
            schema_version: PLAN_SCHEMA_VERSION,
            runbook: String::new(),
            title: String::new(),
            source_path: String::new(),
            params: vec![],
            schedule: None,
            retain: None,
            commit: None,
            quiesce_methods: vec![],
            nodes: vec![],
            body: vec![],
        }
    }
}

impl Plan {
    pub fn node(&self, id: StepId) -> &Node {
        &self.nodes[id.index()]
    }

    /// The blocks around `id`, innermost first: its parent, its parent's
    /// parent, … Safe on a malformed plan (one read back from a journal): an
    /// unknown id has none, and a parent cycle ends after as many steps as
    /// the plan has nodes.
    pub fn ancestors(&self, id: StepId) -> impl Iterator<Item = StepId> + '_ {
        let mut cur = self.nodes.get(id.index()).and_then(|n| n.parent);
        let mut left = self.nodes.len();
        std::iter::from_fn(move || {
            let p = cur.filter(|p| p.index() < self.nodes.len())?;
            left = left.checked_sub(1)?;
            cur = self.nodes[p.index()].parent;
            Some(p)
        })
    }

    /// The `for` nodes around `id`, innermost first.
    pub fn loops_around(&self, id: StepId) -> impl Iterator<Item = StepId> + '_ {
        self.ancestors(id)
            .filter(|p| matches!(self.nodes[p.index()].kind, NodeKind::ForEach(_)))
    }

    /// The `for` node closest around `id`, if it runs in a loop.
    pub fn innermost_loop(&self, id: StepId) -> Option<StepId> {
        self.loops_around(id).next()
    }

    /// The `for` nodes around `id`, outermost first: the loops it runs once
    /// per item of.
    pub fn enclosing_loops(&self, id: StepId) -> Vec<StepId> {
        let mut out: Vec<StepId> = self.loops_around(id).collect();
        out.reverse();
        out
    }

    pub fn quiesce_method(&self, name: &str) -> Option<&QuiesceMethod> {
        self.quiesce_methods.iter().find(|m| m.name == name)
    }

    /// For each node (by index), whether an expression of the plan reads
    /// its result: in a step's arguments or its compensate/cleanup call, a
    /// `when`, a loop's list, a quiesce scope's targets, order or method,
    /// an approval's prompt. A result nobody reads (a procedure's return
    /// value its caller drops, a step bound to a name no one uses) need
    /// not be kept while the plan runs: at 100 VMs the manifest alone is a
    /// megabyte of JSON.
    pub fn results_read(&self) -> Vec<bool> {
        let mut read = vec![false; self.nodes.len()];
        let mut mark = |e: &Expr| {
            e.visit(&mut |x| {
                if let Expr::Step(id) = x {
                    if let Some(r) = read.get_mut(id.index()) {
                        *r = true;
                    }
                }
            })
        };
        for n in &self.nodes {
            n.exprs(&mut mark);
            if let NodeKind::Action(a) = &n.kind {
                let undo = a.compensate.iter().chain(a.cleanup.as_ref());
                undo.flat_map(|c| &c.args).for_each(|x| mark(&x.value));
            }
        }
        read
    }

    /// The dependencies between the nodes of one block, by position in the
    /// block: the one reading of which sibling waits for which, for the
    /// executor (which runs the ready ones at once), the estimator, `plan
    /// --resolve` and the renderers ([`Plan::block_order`]).
    pub fn block_deps(&self, block: &[StepId]) -> BlockDeps {
        let mut pos: Vec<(StepId, usize)> =
            block.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        pos.sort_unstable();
        let position = |id: StepId| {
            pos.binary_search_by_key(&id, |(s, _)| *s)
                .ok()
                .map(|k| pos[k].1)
        };
        let mut out = BlockDeps {
            waiting: vec![0; block.len()],
            dependants: vec![Vec::new(); block.len()],
            outside: Vec::new(),
        };
        // `counted[j] == i`: node i's wait for j is counted already (a node
        // may name one sibling twice). One mark per sibling, not a search
        // of its dependants: one node may have thousands (`after approve`).
        let mut counted = vec![usize::MAX; block.len()];
        for (i, id) in block.iter().enumerate() {
            let Some(node) = self.nodes.get(id.index()) else {
                continue;
            };
            for d in &node.deps {
                match position(d.on) {
                    Some(j) if j != i && counted[j] != i => {
                        counted[j] = i;
                        out.waiting[i] += 1;
                        out.dependants[j].push(i);
                    }
                    Some(_) => {}
                    None => out.outside.push((i, d.on)),
                }
            }
        }
        out
    }

    /// A block's nodes in an order they may run one by one: dependencies
    /// first, otherwise source order (Kahn's algorithm, lowest position
    /// first). Nodes caught in a cycle, which the compiler reports, come
    /// last in source order.
    pub fn block_order(&self, block: &[StepId]) -> Vec<StepId> {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let BlockDeps {
            mut waiting,
            dependants,
            ..
        } = self.block_deps(block);
        let mut ready: BinaryHeap<Reverse<usize>> = (0..block.len())
            .filter(|i| waiting[*i] == 0)
            .map(Reverse)
            .collect();
        let mut out = Vec::with_capacity(block.len());
        let mut placed = vec![false; block.len()];
        while let Some(Reverse(i)) = ready.pop() {
            out.push(block[i]);
            placed[i] = true;
            for &k in &dependants[i] {
                waiting[k] -= 1;
                if waiting[k] == 0 {
                    ready.push(Reverse(k));
                }
            }
        }
        out.extend(
            block
                .iter()
                .enumerate()
                .filter(|(i, _)| !placed[*i])
                .map(|(_, id)| *id),
        );
        out
    }

    /// Every action step, in node order (including those inside blocks).
    pub fn action_steps(&self) -> impl Iterator<Item = (&Node, &ActionStep)> {
        self.nodes.iter().filter_map(|n| match &n.kind {
            NodeKind::Action(a) => Some((n, a)),
            _ => None,
        })
    }
}

/// Who waits for whom inside one block ([`Plan::block_deps`]), by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDeps {
    /// How many siblings each node waits for (each counted once).
    pub waiting: Vec<usize>,
    /// The siblings that wait for each node.
    pub dependants: Vec<Vec<usize>>,
    /// Dependencies on nodes outside the block (done before it starts),
    /// by the position of the node that has them.
    pub outside: Vec<(usize, StepId)>,
}

/// `param NAME: TYPE = default`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub ty: Type,
    /// `None`: the parameter is required.
    pub default: Option<serde_json::Value>,
    pub span: Span,
}

/// `schedule "CRON" [tz "Area/City"]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub cron: String,
    pub tz: Option<String>,
    pub span: Span,
}

/// `retain last N, hourly N, daily N, weekly N, monthly N` (each part optional).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Retention {
    pub last: Option<u32>,
    pub hourly: Option<u32>,
    pub daily: Option<u32>,
    pub weekly: Option<u32>,
    pub monthly: Option<u32>,
}

/// `commit within D default commit|rollback`: a run that succeeds ends
/// awaiting the operator's decision — `lifeboat commit` keeps what it did,
/// `lifeboat rollback` undoes it — and the default is taken once `within`
/// has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitPolicy {
    pub within_ms: u64,
    pub default: Decision,
}

/// What becomes of a run awaiting commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Keep what the run did.
    Commit,
    /// Undo it: the run's compensations, in reverse order.
    Rollback,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Commit => "commit",
            Decision::Rollback => "rollback",
        }
    }
}

/// `quiesce method "pause" freeze nova.pause thaw nova.unpause` (stdlib).
/// The freeze and thaw actions take the target as their first parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuiesceMethod {
    pub name: String,
    pub freeze: String,
    pub thaw: String,
    /// Name of the freeze/thaw parameter that receives the target (e.g. `server`).
    pub target_param: String,
    /// The catalogue's `estimate` of the freeze and thaw actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_estimate_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thaw_estimate_ms: Option<u64>,
}

/// A step of the runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: StepId,
    /// Unique within the plan: the variable it binds (`snap`), or a name made
    /// from the action and source position (`nova.pause@12`) when it binds none.
    pub name: String,
    pub span: Span,
    pub kind: NodeKind,
    /// The enclosing quiesce scope or loop; `None` at top level.
    pub parent: Option<StepId>,
    /// Siblings (same block) this node waits for, with the reason.
    pub deps: Vec<Dep>,
    /// `when EXPR`: the node (and, for a block node, its whole body) runs only
    /// when the expression is true; otherwise it is skipped.
    pub when: Option<Expr>,
}

impl Node {
    /// Every run-time expression of the node: its `when`, a step's
    /// arguments, a loop's list, a quiesce scope's targets, order and
    /// method, an approval's prompt (not a step's compensation or cleanup).
    pub fn exprs<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        if let Some(w) = &self.when {
            f(w);
        }
        match &self.kind {
            NodeKind::Action(a) => a.call.args.iter().for_each(|x| f(&x.value)),
            NodeKind::Quiesce(q) => {
                f(&q.targets);
                f(&q.order);
                f(&q.method);
                q.method_args.iter().for_each(|x| f(&x.value));
            }
            NodeKind::ForEach(l) => f(&l.over),
            NodeKind::Approve(a) => f(&a.prompt),
        }
    }

    /// The rule of skipped steps, stated once (the executor and
    /// `plan --resolve` ask here): a node that reads the result of a
    /// sibling skipped in this block instance is skipped too; `after` a
    /// skipped step is satisfied. `skipped(id)`: whether sibling `id` was
    /// skipped. Gives the first such sibling.
    pub fn reads_skipped(&self, skipped: impl Fn(StepId) -> bool) -> Option<StepId> {
        self.deps
            .iter()
            .find(|d| d.reason == DepReason::Data && skipped(d.on))
            .map(|d| d.on)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dep {
    pub on: StepId,
    pub reason: DepReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepReason {
    /// The node reads the other's result (directly or from inside its body).
    Data,
    /// `after STEP`.
    After,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeKind {
    Action(ActionStep),
    Quiesce(QuiesceScope),
    ForEach(ForEach),
    Approve(Approve),
}

/// What an action does to the cloud (from the stdlib catalogue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Read,
    Mutate,
    Destroy,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Mutate => "mutate",
            Effect::Destroy => "destroy",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so `{:<8}` lines effects up.
        f.pad(self.as_str())
    }
}

/// One call of a catalogue action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionStep {
    pub call: Call,
    /// The variable bound to the result, if any.
    pub binding: Option<String>,
    pub result: Type,
    pub retry: RetryPolicy,
    pub timeout_ms: u64,
    /// How long a call usually takes, as the catalogue says (`estimate D`),
    /// for the plan's estimates; none: the estimator's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_ms: Option<u64>,
    /// Runs when the run fails after this step succeeded (saga, reverse order):
    /// the explicit `compensate CALL`, or else the catalogue's `undo`.
    pub compensate: Option<Call>,
    /// Runs at the end of the run whatever happens (`cleanup CALL`), reverse order.
    pub cleanup: Option<Call>,
}

/// An action with its arguments. Arguments are named, in signature order,
/// defaults filled in. Inside `compensate`/`cleanup`/`undo` calls,
/// [`Expr::Result`] is the result of the step they belong to and
/// [`Expr::Input`] one of that step's arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub action: String,
    pub effect: Effect,
    pub args: Vec<Arg>,
}

impl Call {
    /// The arguments of the step a compensate, cleanup or undo call belongs
    /// to that the call reads ([`Expr::Input`]), each once.
    pub fn inputs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for a in &self.args {
            a.value.visit(&mut |e| {
                if let Expr::Input(name) = e {
                    if !out.contains(&name.as_str()) {
                        out.push(name);
                    }
                }
            });
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arg {
    pub name: String,
    pub ty: Type,
    pub value: Expr,
}

/// How a call's site is read from the argument that decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteFrom {
    /// A `site`-typed argument: its value is the site.
    Site,
    /// A record (or list of records) argument: the `site` field of the
    /// record (of the first element).
    Record,
}

/// The rule of which site a call talks to, stated once: its `site`-typed
/// argument, else its first record argument. The executor, the estimator
/// and `plan --resolve` all ask here.
pub fn site_arg(args: &[Arg]) -> Option<(&Arg, SiteFrom)> {
    if let Some(a) = args.iter().find(|a| a.ty == Type::Site) {
        return Some((a, SiteFrom::Site));
    }
    args.iter()
        .find(|a| match &a.ty {
            Type::Record(_) => true,
            Type::List(inner) => matches!(**inner, Type::Record(_)),
            _ => false,
        })
        .map(|a| (a, SiteFrom::Record))
}

impl Plan {
    /// Every site a run of the plan with `params` talks to that is known
    /// before it runs, each once: the values of its `site` parameters (in
    /// their order), then the sites written as text in a call's `site`
    /// argument (`nova.find_servers(site: "site-a", …)`, compensations and
    /// cleanups included). A site read from a record at run time is one of
    /// these or comes from a manifest.
    pub fn sites(&self, params: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |s: &str| {
            if !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        };
        for p in self.params.iter().filter(|p| p.ty == Type::Site) {
            if let Some(s) = params.get(&p.name).and_then(serde_json::Value::as_str) {
                add(s);
            }
        }
        for n in &self.nodes {
            let NodeKind::Action(a) = &n.kind else {
                continue;
            };
            let calls = std::iter::once(&a.call)
                .chain(&a.compensate)
                .chain(&a.cleanup);
            for c in calls {
                if let Some((arg, SiteFrom::Site)) = site_arg(&c.args) {
                    if let Expr::Str(s) = &arg.value {
                        add(s);
                    }
                }
            }
        }
        out
    }
}

/// The site a call talks to, from its arguments' values ([`site_arg`]).
pub fn site_of(args: &[Arg], vals: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let (a, from) = site_arg(args)?;
    let v = vals.get(&a.name)?;
    let v = match from {
        SiteFrom::Site => v,
        SiteFrom::Record => (if v.is_array() { v.get(0)? } else { v }).get("site")?,
    };
    v.as_str().map(str::to_string)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts after the first one (`retry 3` → up to 4 calls).
    pub retries: u32,
    /// First backoff; doubles each attempt, with jitter.
    pub backoff_ms: u64,
}

/// `quiesce TARGETS by FIELD in ORDER via METHOD within DURATION { body }`
///
/// The targets are grouped by the value of `by` and the groups taken in the
/// order of `order` (targets whose value is not in `order` come last, in list
/// order); each target is frozen in that order, the body runs, and the targets
/// are thawed in exactly the reverse order — on success, failure, cancel and
/// resume. `within` bounds the time from the first freeze to the last thaw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuiesceScope {
    pub targets: Expr,
    pub by: String,
    pub order: Expr,
    /// `one at a time`: each target frozen alone, in order; otherwise the
    /// targets of one group (one `by` value) are frozen at once, groups in
    /// order, and thawed group by group in reverse.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub one_at_a_time: bool,
    /// Evaluates to a method name (see [`Plan::quiesce_methods`]).
    pub method: Expr,
    /// Extra arguments for the freeze/thaw actions (`via hook(url: u)`).
    pub method_args: Vec<Arg>,
    pub within_ms: u64,
    /// `retry N [backoff D]`: when an attempt fails for want of time or of
    /// a freeze (its watchdog fired, or a target could not be frozen),
    /// everything is thawed, what the attempt's body did is undone
    /// (compensated and cleaned up), and the scope is tried again after
    /// the backoff (doubling), at most N more times. A body step that fails
    /// on its own, a thaw that fails or a cancelled run is never retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    pub body: Vec<StepId>,
}

impl QuiesceScope {
    /// The freeze order, stated once (the executor and `plan --resolve` ask
    /// here): `targets` sorted stably by the position of their `by` value in
    /// `order` (values not in it last, in list order), and the **freeze
    /// groups** as ranges into that list: consecutive targets with one `by`
    /// value, frozen at once, or one target each with `one at a time`.
    /// Thawing is the exact reverse.
    pub fn freeze_order(
        &self,
        targets: Vec<serde_json::Value>,
        order: &[serde_json::Value],
    ) -> FreezeOrder {
        let rank = |t: &serde_json::Value| {
            let key = t.get(&self.by).unwrap_or(&serde_json::Value::Null);
            order.iter().position(|o| o == key).unwrap_or(order.len())
        };
        let mut ranked: Vec<(usize, serde_json::Value)> =
            targets.into_iter().map(|t| (rank(&t), t)).collect();
        ranked.sort_by_key(|(r, _)| *r); // stable: list order within a group
        let targets: Vec<serde_json::Value> = ranked.into_iter().map(|(_, t)| t).collect();
        let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            let same =
                !self.one_at_a_time && i > 0 && t.get(&self.by) == targets[i - 1].get(&self.by);
            match groups.last_mut() {
                Some(g) if same => g.end = i + 1,
                _ => groups.push(i..i + 1),
            }
        }
        FreezeOrder { targets, groups }
    }
}

/// A scope's targets in freeze order ([`QuiesceScope::freeze_order`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FreezeOrder {
    pub targets: Vec<serde_json::Value>,
    /// The freeze groups, as ranges into `targets`, in freeze order.
    pub groups: Vec<std::ops::Range<usize>>,
}

/// `for VAR in OVER parallel N { body }` — fans out at run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForEach {
    pub var: String,
    pub item_type: Type,
    pub over: Expr,
    /// At most this many iterations at once (1 = one after the other).
    pub parallel: u32,
    pub body: Vec<StepId>,
}

/// `approve "text"`: waits for an operator's yes (or `--confirm`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approve {
    pub prompt: Expr,
}

/// An expression, with names already resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "expr", content = "value", rename_all = "snake_case")]
pub enum Expr {
    Str(String),
    Int(i64),
    Bool(bool),
    /// A duration in milliseconds.
    Duration(u64),
    List(Vec<Expr>),
    /// `"lb-{vnf}-{run.id}"`
    Interp(Vec<Piece>),
    Param(String),
    /// The result of a step (see the module note for steps inside loops).
    Step(StepId),
    /// The current item of the `for` node.
    LoopVar(StepId),
    /// `run.id`, `run.started`, …
    Run(RunField),
    /// The result of the step a compensate/cleanup/undo call belongs to.
    Result,
    /// An argument of the step a compensate/cleanup/undo call belongs to.
    Input(String),
    Field(Box<Expr>, String),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Calls `f` on this expression and on every expression inside it.
    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::List(items) => items.iter().for_each(|x| x.visit(f)),
            Expr::Interp(pieces) => {
                for p in pieces {
                    if let Piece::Expr(e) = p {
                        e.visit(f);
                    }
                }
            }
            Expr::Field(e, _) | Expr::Not(e) => e.visit(f),
            Expr::Binary(_, a, b) => {
                a.visit(f);
                b.visit(f);
            }
            _ => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "piece", content = "value", rename_all = "snake_case")]
pub enum Piece {
    Lit(String),
    Expr(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunField {
    /// The run id (short, unique, safe in resource names).
    Id,
    /// RFC 3339 start time of the run.
    Started,
    /// The runbook's name.
    Runbook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    Eq,
    Ne,
    And,
    Or,
}

/// Types of the language.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "of", rename_all = "snake_case")]
pub enum Type {
    String,
    Int,
    Bool,
    Duration,
    /// A region name of the cloud (e.g. `site-a`).
    Site,
    List(Box<Type>),
    /// A record type declared in the stdlib (`server`, `volume`, …).
    Record(String),
    /// The result of an action that returns nothing useful.
    None,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Int => f.write_str("int"),
            Type::Bool => f.write_str("bool"),
            Type::Duration => f.write_str("duration"),
            Type::Site => f.write_str("site"),
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Record(n) => f.write_str(n),
            Type::None => f.write_str("none"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn arg(name: &str, ty: Type) -> Arg {
        Arg {
            name: name.into(),
            ty,
            value: Expr::Str(String::new()),
        }
    }

    #[test]
    fn an_undo_call_names_the_inputs_it_reads_once_wherever_they_stand() {
        let field = |e: Expr, f: &str| Expr::Field(Box::new(e), f.into());
        let call = Call {
            action: "cinder.delete_volume".into(),
            effect: Effect::Destroy,
            args: vec![
                Arg {
                    name: "volume".into(),
                    ty: Type::Record("volume".into()),
                    value: Expr::Result,
                },
                Arg {
                    name: "why".into(),
                    ty: Type::String,
                    value: Expr::Interp(vec![
                        Piece::Lit("of ".into()),
                        Piece::Expr(field(Expr::Input("member".into()), "id")),
                        Piece::Expr(Expr::Input("name".into())),
                    ]),
                },
                Arg {
                    name: "again".into(),
                    ty: Type::Bool,
                    value: Expr::Not(Box::new(Expr::Binary(
                        BinOp::Eq,
                        Box::new(Expr::Input("name".into())),
                        Box::new(Expr::List(vec![Expr::Input("site".into())])),
                    ))),
                },
            ],
        };
        assert_eq!(call.inputs(), ["member", "name", "site"]);
    }

    #[test]
    fn a_calls_site_is_its_site_argument_else_its_first_records() {
        let vol = Type::Record("volume".into());
        let vols = Type::List(Box::new(vol.clone()));
        let vals = |v: serde_json::Value| v.as_object().cloned().unwrap();
        // A site argument wins over any record, wherever it stands.
        let args = [arg("v", vol.clone()), arg("site", Type::Site)];
        let got = site_of(&args, &vals(json!({"v": {"site": "a"}, "site": "b"})));
        assert_eq!(got.as_deref(), Some("b"));
        assert_eq!(
            site_arg(&args).map(|(a, f)| (a.name.as_str(), f)),
            Some(("site", SiteFrom::Site))
        );
        // Else the first record argument's site; of a list, its first element's.
        let args = [arg("n", Type::String), arg("vs", vols), arg("w", vol)];
        let got = site_of(
            &args,
            &vals(json!({"vs": [{"site": "c"}, {"site": "d"}], "w": {"site": "e"}})),
        );
        assert_eq!(got.as_deref(), Some("c"));
        // An empty list, or no record at all: no site.
        assert_eq!(
            site_of(&args, &vals(json!({"vs": [], "w": {"site": "e"}}))),
            None
        );
        assert_eq!(
            site_of(&[arg("n", Type::String)], &vals(json!({"n": "x"}))),
            None
        );
    }

    #[test]
    fn freeze_order_ranks_by_the_order_keeps_list_order_and_groups_runs() {
        let scope = |one_at_a_time| QuiesceScope {
            targets: Expr::List(vec![]),
            by: "role".into(),
            order: Expr::List(vec![]),
            one_at_a_time,
            method: Expr::Str("m".into()),
            method_args: vec![],
            within_ms: 1,
            retry: None,
            body: vec![],
        };
        let t = |n: &str, r: Option<&str>| match r {
            Some(r) => json!({"name": n, "role": r}),
            None => json!({"name": n}),
        };
        let targets = vec![
            t("lb1", Some("lb")),
            t("x", None),
            t("db1", Some("db")),
            t("app1", Some("app")),
            t("db2", Some("db")),
            t("odd", Some("other")),
        ];
        let order = [json!("db"), json!("app"), json!("lb")];
        let names = |ts: &[serde_json::Value]| -> Vec<String> {
            ts.iter()
                .map(|t| t["name"].as_str().unwrap().to_string())
                .collect()
        };
        let grouped = scope(false).freeze_order(targets.clone(), &order);
        // Not in the order (no role, another role): last, in list order.
        assert_eq!(
            names(&grouped.targets),
            ["db1", "db2", "app1", "lb1", "x", "odd"]
        );
        assert_eq!(grouped.groups, vec![0..2, 2..3, 3..4, 4..5, 5..6]);
        let single = scope(true).freeze_order(targets, &order);
        assert_eq!(single.targets, grouped.targets);
        assert_eq!(single.groups, (0..6).map(|i| i..i + 1).collect::<Vec<_>>());
        assert_eq!(
            scope(false).freeze_order(vec![], &order),
            FreezeOrder::default()
        );
    }

    #[test]
    fn ancestors_and_enclosing_loops_even_in_a_malformed_plan() {
        let node = |id: u32, parent: Option<u32>, kind: NodeKind| Node {
            id: StepId(id),
            name: format!("n{id}"),
            span: Default::default(),
            kind,
            parent: parent.map(StepId),
            deps: vec![],
            when: None,
        };
        let fe = || {
            NodeKind::ForEach(ForEach {
                var: "v".into(),
                item_type: Type::Int,
                over: Expr::List(vec![]),
                parallel: 1,
                body: vec![],
            })
        };
        let approve = || {
            NodeKind::Approve(Approve {
                prompt: Expr::Str(String::new()),
            })
        };
        let quiesce = || {
            NodeKind::Quiesce(QuiesceScope {
                targets: Expr::List(vec![]),
                by: "role".into(),
                order: Expr::List(vec![]),
                one_at_a_time: false,
                method: Expr::Str("m".into()),
                method_args: vec![],
                within_ms: 1,
                retry: None,
                body: vec![],
            })
        };
        let mut p = Plan {
            // 0: for { 1: quiesce { 2: for { 3: step } } }
            nodes: vec![
                node(0, None, fe()),
                node(1, Some(0), quiesce()),
                node(2, Some(1), fe()),
                node(3, Some(2), approve()),
            ],
            body: vec![StepId(0)],
            ..Plan::default()
        };
        let ids = |v: Vec<StepId>| v.into_iter().map(|s| s.0).collect::<Vec<_>>();
        assert_eq!(ids(p.ancestors(StepId(3)).collect()), [2, 1, 0]);
        assert_eq!(ids(p.enclosing_loops(StepId(3))), [0, 2]);
        assert_eq!(ids(p.enclosing_loops(StepId(0))), Vec::<u32>::new());
        assert_eq!(p.innermost_loop(StepId(3)), Some(StepId(2)));
        assert_eq!(p.innermost_loop(StepId(1)), Some(StepId(0)));
        assert_eq!(p.innermost_loop(StepId(0)), None);
        assert_eq!(p.ancestors(StepId(99)).count(), 0);
        // A parent cycle, or a parent the plan does not have, ends the walk.
        p.nodes[0].parent = Some(StepId(3));
        assert_eq!(p.ancestors(StepId(3)).count(), 4);
        p.nodes[0].parent = Some(StepId(42));
        assert_eq!(ids(p.ancestors(StepId(3)).collect()), [2, 1, 0]);
    }
}
