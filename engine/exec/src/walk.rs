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

use crate::cancel::CancelHandle;
use crate::context::Rt;
use crate::eval::{shape, Frame};
use crate::event::EventKind;
use crate::journal::Record;
use crate::step::{abortable, failed, run_action, NodeOutcome, StepMachine};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use lifeboat_dsl::plan::{Approve, BlockDeps, ForEach, Node, NodeKind, StepId};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};

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
                let instance = frame.instance(&node.name);
                let mut m = StepMachine::for_node(&rt.events, &instance, node);
                match decide(rt, node, &pos, &outcome, cancel, &mut m) {
                    Some(o) => {
                        settle(i, o, &mut outcome, &mut waiting, &dependants, &mut ready);
                        finished += 1;
                    }
                    None => {
                        let id = block[i];
                        running.push(async move {
                            (i, run_node(rt, id, frame, cancel, instance, m).await)
                        });
                    }
                }
            }
            let Some((i, o)) = running.next().await else {
                break;
            };
            settle(i, o, &mut outcome, &mut waiting, &dependants, &mut ready);
            finished += 1;
        }
        if finished < n {
            for i in 0..n {
                if outcome[i].is_none() {
                    let node = rt.plan.node(block[i]);
                    let instance = frame.instance(&node.name);
                    let m = StepMachine::for_node(&rt.events, &instance, node);
                    let why = "dependency cycle in the plan: the step can never start";
                    outcome[i] = Some(failed(rt, m, &instance, why.into()));
                }
            }
        }
        NodeOutcome::combine(outcome.into_iter().flatten())
    })
}

/// Node `i` ended `o`: each node waiting for it waits for one fewer, and
/// is ready when it waits for none.
fn settle(
    i: usize,
    o: NodeOutcome,
    outcome: &mut [Option<NodeOutcome>],
    waiting: &mut [usize],
    dependants: &[Vec<usize>],
    ready: &mut VecDeque<usize>,
) {
    outcome[i] = Some(o);
    for &d in &dependants[i] {
        waiting[d] -= 1;
        if waiting[d] == 0 && outcome[d].is_none() {
            ready.push_back(d);
        }
    }
}

/// Decides a ready node without running it: `Some` when it must not run
/// (its machine `m` cancelled or skipped).
fn decide(
    rt: &Rt,
    node: &Node,
    pos: &HashMap<StepId, usize>,
    outcome: &[Option<NodeOutcome>],
    cancel: &CancelHandle,
    m: &mut StepMachine<'_>,
) -> Option<NodeOutcome> {
    let dep_outcome = |on: StepId| pos.get(&on).and_then(|&j| outcome[j]);
    let blocked = node.deps.iter().any(|d| {
        matches!(
            dep_outcome(d.on),
            Some(NodeOutcome::Failed | NodeOutcome::Cancelled)
        )
    });
    if blocked || cancel.is_stopping() {
        m.cancel();
        return Some(NodeOutcome::Cancelled);
    }
    if let Some(on) = node.reads_skipped(|on| dep_outcome(on) == Some(NodeOutcome::Skipped)) {
        m.skip(format!(
            "reads `{}`, which was skipped",
            rt.plan.node(on).name
        ));
        return Some(NodeOutcome::Skipped);
    }
    None
}

/// Runs a ready node instance, its machine `m` handed to what runs it.
fn run_node<'a>(
    rt: &'a Rt,
    id: StepId,
    frame: &'a Frame,
    cancel: &'a CancelHandle,
    instance: String,
    mut m: StepMachine<'a>,
) -> BoxFuture<'a, NodeOutcome> {
    Box::pin(async move {
        let node = rt.plan.node(id);
        if let Some(w) = &node.when {
            match rt.eval_bool(frame, w) {
                Ok(true) => {}
                Ok(false) => {
                    m.skip("`when` is false".into());
                    return NodeOutcome::Skipped;
                }
                Err(e) => return failed(rt, m, &instance, format!("`when`: {e}")),
            }
        }
        match &node.kind {
            NodeKind::Action(a) => run_action(rt, node, a, frame, cancel, instance, m).await,
            NodeKind::ForEach(f) => run_foreach(rt, node, f, frame, cancel, instance, m).await,
            NodeKind::Quiesce(q) => {
                crate::quiesce::run_scope(rt, q, frame, cancel, instance, |c| async move {
                    run_block(rt, &q.body, frame, &c).await
                })
                .await
            }
            NodeKind::Approve(a) => run_approve(rt, a, frame, cancel, instance, m).await,
        }
    })
}

async fn run_foreach(
    rt: &Rt,
    node: &Node,
    f: &ForEach,
    frame: &Frame,
    cancel: &CancelHandle,
    instance: String,
    m: StepMachine<'_>,
) -> NodeOutcome {
    let items = match rt.eval(frame, &f.over) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Null) => Vec::new(),
        Ok(other) => {
            let why = format!(
                "`for {}` iterates over {}, expected a list",
                f.var,
                shape(&other)
            );
            return failed(rt, m, &instance, why);
        }
        Err(e) => return failed(rt, m, &instance, format!("`for {}`: {e}", f.var)),
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
    mut m: StepMachine<'_>,
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
        Err(e) => return failed(rt, m, &instance, format!("approval prompt: {e}")),
    };
    rt.events.emit(EventKind::ApprovalRequested {
        instance: instance.clone(),
        prompt: prompt.clone(),
    });
    match abortable(Some(cancel), rt.approver.approve(&prompt)).await {
        None => {
            m.cancel();
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
            let why = format!("not approved by the operator: \"{prompt}\"");
            failed(rt, m, &instance, why)
        }
        Some(Err(e)) => {
            let why = format!("approval \"{prompt}\" could not be obtained: {e}");
            failed(rt, m, &instance, why)
        }
    }
}
