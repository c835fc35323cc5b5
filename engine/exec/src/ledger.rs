//! The run's ledger: what it did that its saga may have to undo — each
//! completed step that has a `compensate` or `cleanup` call ([`Completed`]),
//! each call dropped in flight ([`InDoubt`], settled by its tag before
//! anything is undone) — and what was undone already. Written by the
//! steps, read by the saga (`saga.rs`) and by resume (`replay.rs` rebuilds
//! it from the journal).

use crate::action::ActionCall;
use crate::eval::{Frame, Kept};
use lifeboat_dsl::plan::StepId;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Between a step instance and a twin's id in the name of the cleanup
/// that disposes of the twin (`tmp[3]+twin-6f1c…`).
pub const TWIN_MARK: &str = "+twin-";

/// A step that completed and has something to undo or clean up: what its
/// undo calls read (its arguments and result) and where (its frame).
#[derive(Debug, Clone)]
pub(crate) struct Completed {
    pub node: StepId,
    pub instance: String,
    pub tag: String,
    pub frame: Frame,
    pub args: Map<String, Value>,
    /// Its result, as its undo call reads it.
    pub value: Kept,
    /// Whether a twin of the result may have landed (see
    /// [`crate::action::ActionOutput::uncertain`]): looked for at the end.
    pub uncertain: bool,
}

/// A call whose answer never came (interrupted, timed out, lost in
/// transit): it may have created something, found by its tag.
#[derive(Debug, Clone)]
pub(crate) struct InDoubt {
    pub node: StepId,
    pub instance: String,
    pub frame: Frame,
    pub call: ActionCall,
}

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub completed: Vec<Completed>,
    pub in_doubt: Vec<InDoubt>,
    /// Instances compensated / cleaned up already (from the journal).
    pub compensated: HashSet<String>,
    pub cleaned: HashSet<String>,
    /// Uncertain instances whose twins this process has looked for (once
    /// per process: a later `cleanup` looks again).
    pub swept: HashSet<String>,
}
