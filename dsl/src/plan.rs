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
    /// Quiesce methods known to this plan (from the stdlib), by name.
    pub quiesce_methods: Vec<QuiesceMethod>,
    /// Every node, indexed by `StepId`.
    pub nodes: Vec<Node>,
    /// The top-level block.
    pub body: Vec<StepId>,
}

impl Plan {
    pub fn node(&self, id: StepId) -> &Node {
        &self.nodes[id.index()]
    }

    pub fn quiesce_method(&self, name: &str) -> Option<&QuiesceMethod> {
        self.quiesce_methods.iter().find(|m| m.name == name)
    }

    /// Every action step, in node order (including those inside blocks).
    pub fn action_steps(&self) -> impl Iterator<Item = (&Node, &ActionStep)> {
        self.nodes.iter().filter_map(|n| match &n.kind {
            NodeKind::Action(a) => Some((n, a)),
            _ => None,
        })
    }
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arg {
    pub name: String,
    pub ty: Type,
    pub value: Expr,
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
    pub body: Vec<StepId>,
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
