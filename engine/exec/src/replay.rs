//! A run's journal read back: what a resumed run needs to know of what
//! was done — results to reuse, calls in doubt, approvals given, scopes
//! finished, targets frozen and not thawed, what the saga undid, how the
//! run ended if it did. `resume.rs` acts on it; the steps and scopes of a
//! resumed walk consult it.

use crate::action::{ActionCall, CallPurpose};
use crate::eval::{Frame, Kept, RunInfo};
use crate::event::RunOutcome;
use crate::journal::{CallRec, Record};
use crate::ledger::{Completed, InDoubt};
use lifeboat_dsl::plan::{NodeKind, Plan, StepId};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// How the run started, as its first record says.
#[derive(Debug)]
pub(crate) struct Started {
    pub run: RunInfo,
    pub params: Map<String, Value>,
    /// The hash of the plan it started with.
    pub plan_hash: String,
}

/// A call whose intent was journaled.
#[derive(Debug)]
struct Intent {
    node: StepId,
    frame: Frame,
    call: CallRec,
}

/// A target whose freeze was journaled and whose thaw was not.
#[derive(Debug)]
pub(crate) struct Unthawed {
    /// `{scope}#{i}`.
    pub key: String,
    pub scope: String,
    pub target: String,
    pub thaw: CallRec,
    /// Its freeze group (journals before groups: none, thawed alone).
    pub group: Option<usize>,
}

/// What the journal says about an interrupted run.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    pub started: Option<Started>,
    /// Successful step results, by instance.
    pub outcomes: HashMap<String, Value>,
    /// Instances with an intent and no outcome.
    pub in_doubt: HashSet<String>,
    /// Instances whose last outcome is an error (a lost answer may still
    /// have created something).
    pub failed: HashSet<String>,
    intents: HashMap<String, Intent>,
    /// Completed steps, in completion order.
    pub completed: Vec<Completed>,
    pub approved: HashSet<String>,
    pub scopes_done: HashSet<String>,
    /// The attempt each quiesce scope tried again was in, by its instance.
    pub scope_attempts: HashMap<String, u32>,
    /// Freeze intents not thawed, in freeze order.
    pub frozen: Vec<Unthawed>,
    pub compensated: HashSet<String>,
    pub cleaned: HashSet<String>,
    /// The reason of a run that was failing, if it was.
    pub failing: Option<String>,
    /// It was failing because it was being rolled back.
    pub rolling_back: bool,
    pub finished: Option<RunOutcome>,
}

impl Replay {
    pub(crate) fn from_records(records: Vec<Record>) -> Replay {
        let mut r = Replay::default();
        for rec in records {
            match rec {
                Record::RunStarted {
                    run_id,
                    runbook,
                    started,
                    plan_hash,
                    params,
                } => {
                    r.started = Some(Started {
                        run: RunInfo {
                            id: run_id,
                            started,
                            runbook,
                        },
                        params,
                        plan_hash,
                    });
                }
                Record::RunResumed { .. } | Record::StepSkipped { .. } => {}
                Record::StepIntent {
                    instance,
                    node,
                    frame,
                    call,
                } => {
                    r.in_doubt.insert(instance.clone());
                    r.intents.insert(instance, Intent { node, frame, call });
                }
                Record::StepOutcome {
                    instance,
                    value,
                    reconciled,
                    uncertain,
                    ..
                } => {
                    r.in_doubt.remove(&instance);
                    r.failed.remove(&instance);
                    if value.is_none() {
                        r.failed.insert(instance.clone());
                    }
                    if let Some(v) = value {
                        if let Some(Intent { node, frame, call }) = r.intents.get(&instance) {
                            r.completed.retain(|c| c.instance != instance);
                            r.completed.push(Completed {
                                node: *node,
                                instance: instance.clone(),
                                tag: call.tag.clone(),
                                frame: frame.clone(),
                                args: call.args.clone(),
                                value: Kept::of(&v),
                                uncertain: uncertain || reconciled,
                            });
                        }
                        r.outcomes.insert(instance, v);
                    }
                }
                Record::Approved { instance } => {
                    r.approved.insert(instance);
                }
                Record::FreezeIntent {
                    key,
                    scope,
                    target,
                    thaw,
                    group,
                    ..
                } => {
                    r.frozen.retain(|f| f.key != key);
                    r.frozen.push(Unthawed {
                        key,
                        scope,
                        target,
                        thaw,
                        group,
                    });
                }
                Record::FreezeOutcome {
                    key,
                    error: Some(_),
                } => r.frozen.retain(|f| f.key != key),
                Record::ThawOutcome { key, error: None } => r.frozen.retain(|f| f.key != key),
                Record::FreezeOutcome { .. }
                | Record::ThawIntent { .. }
                | Record::ThawOutcome { .. } => {}
                Record::ScopeFinished { scope } => {
                    r.scopes_done.insert(scope);
                }
                Record::ScopeRetried { scope, attempt, .. } => {
                    r.scope_attempts.insert(scope, attempt);
                }
                Record::RunFailing {
                    reason, rollback, ..
                } => {
                    // A rollback follows the `RunFinished` of a run awaiting
                    // commit: the run is unfinished again until it ends.
                    r.failing = Some(reason);
                    r.rolling_back = rollback;
                    r.finished = None;
                }
                Record::Decided { .. } => {}
                Record::CompensateOutcome {
                    instance,
                    error: None,
                } => {
                    r.compensated.insert(instance);
                }
                Record::CleanupOutcome {
                    instance,
                    error: None,
                } => {
                    r.cleaned.insert(instance);
                }
                Record::CompensateIntent { .. }
                | Record::CompensateOutcome { .. }
                | Record::CleanupIntent { .. }
                | Record::CleanupOutcome { .. } => {}
                Record::RunFinished { outcome } => r.finished = Some(outcome),
            }
        }
        r
    }

    pub(crate) fn in_doubt_calls(
        &self,
        plan: &Plan,
        run_id: &str,
        rt_default: std::time::Duration,
    ) -> Vec<InDoubt> {
        self.calls_of(self.in_doubt.iter(), plan, run_id, rt_default)
    }

    /// Calls in doubt and calls that failed: what a cleanup settles before
    /// it compensates (finding what they made is harmless when they made
    /// nothing).
    pub(crate) fn unsettled_calls(
        &self,
        plan: &Plan,
        run_id: &str,
        rt_default: std::time::Duration,
    ) -> Vec<InDoubt> {
        self.calls_of(
            self.in_doubt.iter().chain(self.failed.iter()),
            plan,
            run_id,
            rt_default,
        )
    }

    fn calls_of<'a>(
        &self,
        instances: impl Iterator<Item = &'a String>,
        plan: &Plan,
        run_id: &str,
        rt_default: std::time::Duration,
    ) -> Vec<InDoubt> {
        let mut out = Vec::new();
        for inst in instances {
            let Some(Intent { node, frame, call }) = self.intents.get(inst) else {
                continue;
            };
            let timeout = match plan.nodes.get(node.index()).map(|n| &n.kind) {
                Some(NodeKind::Action(a)) if a.timeout_ms > 0 => {
                    std::time::Duration::from_millis(a.timeout_ms)
                }
                _ => rt_default,
            };
            out.push(InDoubt {
                node: *node,
                instance: inst.clone(),
                frame: frame.clone(),
                call: ActionCall {
                    action: call.action.clone(),
                    args: call.args.clone(),
                    site: call.site.clone(),
                    run_id: run_id.to_string(),
                    step: inst.clone(),
                    tag: call.tag.clone(),
                    attempt: 1,
                    timeout,
                    purpose: CallPurpose::Reconcile,
                    fence: Default::default(),
                },
            });
        }
        out.sort_by(|a, b| a.instance.cmp(&b.instance));
        out
    }
}
