//! Walking blocks: readiness, skipping, fan-out, approval.
//!
//! A block is run as its own small DAG (deps always name siblings): a node
//! starts as soon as every dep is done, and everything ready runs at once —
//! the only waits are the plan's deps, `parallel N` and the per-site limits.
//! Bookkeeping is in-degree counting, O(nodes + deps) per block.
//!
//! **The skip rule.** A node whose `when` is false is *skipped*: its result
//! is `null` (and, inside a loop, the iteration is left out of the collected
//! list). A node with a `data` dep on a skipped node is skipped too (it would
//! read a value that does not exist); a node whose deps on skipped nodes are
//! all `after` deps runs (ordering only). A block node (scope, loop) skipped
//! skips its whole body.
//!
//! **Failure.** A failed node stops the run: nothing new starts anywhere
//! (nodes not started end `Cancelled`), calls in flight finish so that what
//! they made can be compensated. Dependants of a failed or cancelled node
//! never start.
//!
//! **Fan-out.** `for v in OVER parallel N`: `OVER` is evaluated when the loop
//! node starts; the body block runs once per item, at most N at a time, each
//! iteration in its own [`Frame`] (instances `name[i]`). The loop's size is
//! recorded so that reads from outside collect per-iteration results in item
//! order.
//!
//! A malformed plan (a dep outside the block, a node id out of range, a dep
//! cycle) fails the nodes concerned with a message; it never panics.

use crate::action::{ActionCall, CallPurpose, ErrorClass};
use crate::cancel::CancelHandle;
use crate::eval::{shape, Frame};
use crate::event::EventKind;
use crate::journal::{CallRec, Record};
use crate::run::Rt;
use crate::saga::{Completed, InDoubt};
use crate::step::{
    abortable, call_with_retries, make_tag, CallFailure, Retry, StepMachine, StepState,
};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use lifeboat_dsl::plan::{
    site_of, ActionStep, Approve, Arg, BlockDeps, DepReason, ForEach, Node, NodeKind, StepId,
};
use serde_json::{Map, Value};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// How a node (or a block) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeOutcome {
    Succeeded,
    Skipped,
    Failed,
    Cancelled,
}

impl NodeOutcome {
    /// Failed beats Cancelled beats the rest.
    pub(crate) fn combine(outcomes: impl IntoIterator<Item = NodeOutcome>) -> NodeOutcome {
        let mut out = NodeOutcome::Succeeded;
        for o in outcomes {
            match o {
                NodeOutcome::Failed => return NodeOutcome::Failed,
                NodeOutcome::Cancelled => out = NodeOutcome::Cancelled,
                _ => {}
            }
        }
        out
    }
}

/// Runs a block to the end; returns the combined outcome of its nodes.
pub(crate) fn run_block<'a>(
    rt: &'a Rt,
    block: &'a [StepId],
    frame: &'a Frame,
    cancel: &'a CancelHandle,
) -> BoxFuture<'a, NodeOutcome> {
    Box::pin(async move {
        let n = block.len();
        let pos: HashMap<StepId, usize> =
            block.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let BlockDeps {
            mut waiting,
            dependants,
            outside,
        } = rt.plan.block_deps(block);
        let mut outcome: Vec<Option<NodeOutcome>> = vec![None; n];
        let mut ready = VecDeque::new();
        for (i, id) in block.iter().enumerate() {
            if rt.plan.nodes.get(id.index()).is_none() {
                rt.fail(&id.to_string(), format!("the plan has no node {id}"));
                outcome[i] = Some(NodeOutcome::Failed);
            }
        }
        for (i, dep) in outside {
            let node = &rt.plan.node(block[i]).name;
            tracing::warn!(%node, %dep, "dep outside the block ignored");
        }
        for i in 0..n {
            if outcome[i].is_none() && waiting[i] == 0 {
                ready.push_back(i);
            }
        }
        let mut running = FuturesUnordered::new();
        let mut finished = outcome.iter().filter(|o| o.is_some()).count();
        loop {
            while let Some(i) = ready.pop_front() {
                let node = rt.plan.node(block[i]);
                let decided = decide(rt, node, &pos, &outcome, frame, cancel);
                match decided {
                    Some(o) => {
                        outcome[i] = Some(o);
                        finished += 1;
                        for &d in &dependants[i] {
                            waiting[d] -= 1;
                            if waiting[d] == 0 && outcome[d].is_none() {
                                ready.push_back(d);
                            }
                        }
                    }
                    None => {
                        let id = block[i];
                        running.push(async move { (i, run_node(rt, id, frame, cancel).await) });
                    }
                }
            }
            let Some((i, o)) = running.next().await else {
                break;
            };
            outcome[i] = Some(o);
            finished += 1;
            for &d in &dependants[i] {
                waiting[d] -= 1;
                if waiting[d] == 0 && outcome[d].is_none() {
                    ready.push_back(d);
                }
            }
        }
        if finished < n {
            for i in 0..n {
                if outcome[i].is_none() {
                    let node = rt.plan.node(block[i]);
                    rt.fail(
                        &frame.instance(&node.name),
                        "dependency cycle in the plan: the step can never start".into(),
                    );
                    outcome[i] = Some(NodeOutcome::Failed);
                }
            }
        }
        NodeOutcome::combine(outcome.into_iter().flatten())
    })
}

/// Decides a ready node without running it: `Some` when it must not run.
fn decide(
    rt: &Rt,
    node: &Node,
    pos: &HashMap<StepId, usize>,
    outcome: &[Option<NodeOutcome>],
    frame: &Frame,
    cancel: &CancelHandle,
) -> Option<NodeOutcome> {
    let instance = || frame.instance(&node.name);
    let dep_outcome = |on: StepId| pos.get(&on).and_then(|&j| outcome[j]);
    let blocked = node.deps.iter().any(|d| {
        matches!(
            dep_outcome(d.on),
            Some(NodeOutcome::Failed | NodeOutcome::Cancelled)
        )
    });
    if blocked || cancel.is_stopping() {
        rt.events.emit(EventKind::StepCancelled {
            instance: instance(),
        });
        return Some(NodeOutcome::Cancelled);
    }
    if let Some(d) = node
        .deps
        .iter()
        .find(|d| d.reason == DepReason::Data && dep_outcome(d.on) == Some(NodeOutcome::Skipped))
    {
        let reason = format!("reads `{}`, which was skipped", rt.plan.node(d.on).name);
        rt.events.emit(EventKind::StepSkipped {
            instance: instance(),
            reason,
        });
        return Some(NodeOutcome::Skipped);
    }
    None
}

fn run_node<'a>(
    rt: &'a Rt,
    id: StepId,
    frame: &'a Frame,
    cancel: &'a CancelHandle,
) -> BoxFuture<'a, NodeOutcome> {
    Box::pin(async move {
        let node = rt.plan.node(id);
        let instance = frame.instance(&node.name);
        if let Some(w) = &node.when {
            match rt.eval_bool(frame, w) {
                Ok(true) => {}
                Ok(false) => {
                    rt.events.emit(EventKind::StepSkipped {
                        instance,
                        reason: "`when` is false".into(),
                    });
                    return NodeOutcome::Skipped;
                }
                Err(e) => {
                    rt.fail(&instance, format!("`when`: {e}"));
                    return NodeOutcome::Failed;
                }
            }
        }
        match &node.kind {
            NodeKind::Action(a) => run_action(rt, node, a, frame, cancel, instance).await,
            NodeKind::ForEach(f) => run_foreach(rt, node, f, frame, cancel, instance).await,
            NodeKind::Quiesce(q) => {
                crate::quiesce::run_scope(rt, node, q, frame, cancel, instance).await
            }
            NodeKind::Approve(a) => run_approve(rt, a, frame, cancel, instance).await,
        }
    })
}

/// What a step's compensation and cleanup may read of its arguments: those
/// their calls name and the `site` an orphan's report falls back on. Kept
/// whole, each step of a loop would hold all it was given until the run
/// ends (a group snapshot's members, once per volume).
fn saga_args(a: &ActionStep, args: &Map<String, Value>) -> Map<String, Value> {
    let mut keep = vec!["site"];
    for c in [&a.compensate, &a.cleanup].into_iter().flatten() {
        keep.extend(c.inputs());
    }
    args.iter()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(crate) fn eval_args(
    rt: &Rt,
    frame: &Frame,
    args: &[Arg],
    saga: Option<(&Value, &Map<String, Value>)>,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for a in args {
        let v = match saga {
            None => rt.eval(frame, &a.value),
            Some((r, i)) => rt.eval_saga(frame, &a.value, r, i),
        }
        .map_err(|e| format!("argument `{}`: {e}", a.name))?;
        out.insert(a.name.clone(), v);
    }
    Ok(out)
}

pub(crate) fn step_timeout(rt: &Rt, a: &ActionStep) -> Duration {
    if a.timeout_ms == 0 {
        rt.config.default_timeout
    } else {
        Duration::from_millis(a.timeout_ms)
    }
}

async fn run_action(
    rt: &Rt,
    node: &Node,
    a: &ActionStep,
    frame: &Frame,
    cancel: &CancelHandle,
    instance: String,
) -> NodeOutcome {
    let mut m = StepMachine::new();
    m.go(StepState::Ready);
    let path = frame.path();
    if let Some(value) = rt.replay.as_ref().and_then(|r| r.outcomes.get(&instance)) {
        rt.values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_result(node.id, path, value.clone());
        m.go(StepState::Succeeded);
        rt.events.emit(EventKind::StepSucceeded {
            instance,
            action: a.call.action.clone(),
            duration_ms: 0,
            bytes_moved: 0,
            reused: true,
        });
        return NodeOutcome::Succeeded;
    }
    let args = match eval_args(rt, frame, &a.call.args, None) {
        Ok(a) => a,
        Err(e) => {
            m.go(StepState::Failed);
            rt.fail(&instance, e);
            return NodeOutcome::Failed;
        }
    };
    let site = site_of(&a.call.args, &args);
    let mut call = ActionCall {
        action: a.call.action.clone(),
        args,
        site,
        run_id: rt.run.id.clone(),
        step: instance.clone(),
        tag: make_tag(&rt.run.id, &instance),
        attempt: 1,
        timeout: step_timeout(rt, a),
        purpose: CallPurpose::Step,
    };
    let started = tokio::time::Instant::now();
    let saga_relevant = a.compensate.is_some() || a.cleanup.is_some();

    // A call the crashed run had started: did it create something?
    let mut result = None;
    if rt
        .replay
        .as_ref()
        .is_some_and(|r| r.in_doubt.contains(&instance))
    {
        rt.replay_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(instance.clone());
        match abortable(Some(cancel), rt.actions.find_created(&call)).await {
            None => return cancelled(rt, m, instance),
            Some(Ok(Some(out))) => result = Some((out, true)),
            Some(Ok(None)) => {}
            Some(Err(e)) => {
                m.go(StepState::Failed);
                rt.fail(&instance, format!("after a crash, could not tell whether the call had created something (tag {}): {e}", call.tag));
                return NodeOutcome::Failed;
            }
        }
    }
    if result.is_none() {
        let intent = Record::StepIntent {
            instance: instance.clone(),
            node: node.id,
            frame: frame.clone(),
            call: CallRec {
                action: call.action.clone(),
                tag: call.tag.clone(),
                site: call.site.clone(),
                args: call.args.clone(),
            },
        };
        if let Err(e) = rt.journal.append(&intent).await {
            m.go(StepState::Failed);
            rt.fail(
                &instance,
                format!("not started, the journal cannot be written: {e}"),
            );
            return NodeOutcome::Failed;
        }
        let policy = Retry {
            retries: a.retry.retries,
            backoff: Duration::from_millis(a.retry.backoff_ms),
            retry_timeouts: false,
        };
        match call_with_retries(rt, &mut call, policy, Some(cancel), &mut m).await {
            Ok(out) => result = Some((out, false)),
            Err(CallFailure::Cancelled) => {
                if saga_relevant {
                    rt.saga().in_doubt.push(InDoubt {
                        node: node.id,
                        instance: instance.clone(),
                        frame: frame.clone(),
                        call,
                    });
                }
                return cancelled(rt, m, instance);
            }
            Err(CallFailure::Failed(e)) => {
                let rec = Record::StepOutcome {
                    instance: instance.clone(),
                    value: None,
                    bytes_moved: 0,
                    error: Some(e.to_string()),
                    reconciled: false,
                };
                rt.journal.append_nowait(&rec);
                // A call that ended without a clear answer (its last attempt
                // lost in transit or timed out) may have created something:
                // it is settled with the rest before compensation.
                if saga_relevant
                    && matches!(e.class, ErrorClass::Transient { .. } | ErrorClass::Timeout)
                {
                    rt.saga().in_doubt.push(InDoubt {
                        node: node.id,
                        instance: instance.clone(),
                        frame: frame.clone(),
                        call: ActionCall {
                            purpose: CallPurpose::Reconcile,
                            ..call.clone()
                        },
                    });
                }
                rt.fail(&instance, e.to_string());
                return NodeOutcome::Failed;
            }
        }
    }
    let Some((out, reconciled)) = result else {
        return NodeOutcome::Failed;
    };
    m.go(StepState::Succeeded);
    rt.values
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set_result(node.id, path, out.value.clone());
    if saga_relevant {
        rt.saga().completed.push(Completed {
            node: node.id,
            instance: instance.clone(),
            tag: call.tag.clone(),
            frame: frame.clone(),
            args: saga_args(a, &call.args),
            value: out.value.clone(),
        });
    }
    let rec = Record::StepOutcome {
        instance: instance.clone(),
        value: Some(out.value),
        bytes_moved: out.bytes_moved,
        error: None,
        reconciled,
    };
    rt.journal.append_nowait(&rec);
    rt.events.emit(EventKind::StepSucceeded {
        instance,
        action: a.call.action.clone(),
        duration_ms: started.elapsed().as_millis() as u64,
        bytes_moved: out.bytes_moved,
        reused: reconciled,
    });
    NodeOutcome::Succeeded
}

fn cancelled(rt: &Rt, mut m: StepMachine, instance: String) -> NodeOutcome {
    m.go(StepState::Cancelled);
    rt.events.emit(EventKind::StepCancelled { instance });
    NodeOutcome::Cancelled
}

async fn run_foreach(
    rt: &Rt,
    node: &Node,
    f: &ForEach,
    frame: &Frame,
    cancel: &CancelHandle,
    instance: String,
) -> NodeOutcome {
    let items = match rt.eval(frame, &f.over) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Null) => Vec::new(),
        Ok(other) => {
            rt.fail(
                &instance,
                format!(
                    "`for {}` iterates over {}, expected a list",
                    f.var,
                    shape(&other)
                ),
            );
            return NodeOutcome::Failed;
        }
        Err(e) => {
            rt.fail(&instance, format!("`for {}`: {e}", f.var));
            return NodeOutcome::Failed;
        }
    };
    let n = u32::try_from(items.len()).unwrap_or(u32::MAX);
    rt.values
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .set_loop_len(node.id, frame.path(), n);
    let parallel = f.parallel.max(1) as usize;
    let id = node.id;
    let outcomes: Vec<NodeOutcome> = futures::stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| {
            let iframe = frame.enter(id, i as u32, item);
            async move {
                if cancel.is_stopping() {
                    return NodeOutcome::Cancelled;
                }
                run_block(rt, &f.body, &iframe, cancel).await
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    NodeOutcome::combine(outcomes)
}

async fn run_approve(
    rt: &Rt,
    a: &Approve,
    frame: &Frame,
    cancel: &CancelHandle,
    instance: String,
) -> NodeOutcome {
    if rt
        .replay
        .as_ref()
        .is_some_and(|r| r.approved.contains(&instance))
    {
        return NodeOutcome::Succeeded;
    }
    let prompt = match rt.eval(frame, &a.prompt) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(e) => {
            rt.fail(&instance, format!("approval prompt: {e}"));
            return NodeOutcome::Failed;
        }
    };
    rt.events.emit(EventKind::ApprovalRequested {
        instance: instance.clone(),
        prompt: prompt.clone(),
    });
    match abortable(Some(cancel), rt.approver.approve(&prompt)).await {
        None => {
            rt.events.emit(EventKind::StepCancelled { instance });
            NodeOutcome::Cancelled
        }
        Some(Ok(true)) => {
            rt.journal.append_nowait(&Record::Approved {
                instance: instance.clone(),
            });
            rt.events.emit(EventKind::ApprovalGranted { instance });
            NodeOutcome::Succeeded
        }
        Some(Ok(false)) => {
            rt.fail(
                &instance,
                format!("not approved by the operator: \"{prompt}\""),
            );
            NodeOutcome::Failed
        }
        Some(Err(e)) => {
            rt.fail(
                &instance,
                format!("approval \"{prompt}\" could not be obtained: {e}"),
            );
            NodeOutcome::Failed
        }
    }
}
