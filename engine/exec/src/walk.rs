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
//!
//! **One walk, two modes.** What happens *at* a node — a step's call, a
//! scope's freezes, an approval, how a `when` and a loop's list are read —
//! is the walk's [`Visit`]: the run's ([`Rt`], below) or discovery's
//! before a run (`crate::discover`: reads only, unknowns allowed). The
//! order, the skip rule, the fan-out and the failure rule above are this
//! file's, the same for both.

use crate::cancel::CancelHandle;
use crate::context::Rt;
use crate::eval::{shape, Frame};
use crate::event::{Emitter, EventKind};
use crate::journal::Record;
use crate::step::{abortable, failed, run_action, NodeOutcome, StepMachine};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use lifeboat_dsl::plan::{
    ActionStep, Approve, BlockDeps, ForEach, Node, NodeKind, QuiesceScope, StepId,
};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};

/// What a walk does at its nodes. The walk decides when a node runs, is
/// skipped or is cancelled; its `Visit` does the node's work.
pub(crate) trait Visit: Sync {
    fn plan(&self) -> &lifeboat_dsl::plan::Plan;
    /// Where the nodes' step machines announce their transitions.
    fn events(&self) -> &Emitter;
    /// The plan has no node `id` (a malformed plan).
    fn missing(&self, id: StepId);
    /// `node` will not run in `frame`: its `when` is false or it reads a
    /// skipped node (its machine has announced it).
    fn skipped(&self, node: &Node, frame: &Frame);
    /// Node instance `instance` failed with `why` (its machine `m`).
    fn fail(&self, m: StepMachine<'_>, instance: &str, why: String) -> NodeOutcome;
    /// Whether `node` runs, by its `when` (`Err`: why it cannot be told).
    fn when(
        &self,
        node: &Node,
        w: &lifeboat_dsl::plan::Expr,
        frame: &Frame,
        instance: &str,
    ) -> Result<bool, String>;
    /// The items loop `node` goes over in `frame`; `Ok(None)`: not known
    /// (discovery walks the body once).
    fn items(
        &self,
        node: &Node,
        f: &ForEach,
        frame: &Frame,
        instance: &str,
    ) -> Result<Option<Vec<Value>>, String>;
    /// The loop's size in `frame` (`None`: unknown), for reads from outside.
    fn loop_size(&self, id: StepId, frame: &Frame, n: Option<u32>);
    fn action<'a>(
        &'a self,
        node: &'a Node,
        a: &'a ActionStep,
        frame: &'a Frame,
        cancel: &'a CancelHandle,
        instance: String,
        m: StepMachine<'a>,
    ) -> BoxFuture<'a, NodeOutcome>;
    /// A quiesce scope: its targets frozen (in a run) around its body,
    /// which it walks with [`run_block`].
    fn scope<'a>(
        &'a self,
        node: &'a Node,
        q: &'a QuiesceScope,
        frame: &'a Frame,
        cancel: &'a CancelHandle,
        instance: String,
        m: StepMachine<'a>,
    ) -> BoxFuture<'a, NodeOutcome>;
    fn approve<'a>(
        &'a self,
        node: &'a Node,
        a: &'a Approve,
        frame: &'a Frame,
        cancel: &'a CancelHandle,
        instance: String,
        m: StepMachine<'a>,
    ) -> BoxFuture<'a, NodeOutcome>;
}

/// Runs a block to the end; returns the combined outcome of its nodes.
pub(crate) fn run_block<'a, V: Visit>(
    v: &'a V,
    block: &'a [StepId],
    frame: &'a Frame,
    cancel: &'a CancelHandle,
) -> BoxFuture<'a, NodeOutcome> {
    Box::pin(async move {
        let plan = v.plan();
        let n = block.len();
        let pos: HashMap<StepId, usize> =
            block.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let BlockDeps {
            mut waiting,
            dependants,
            outside,
        } = plan.block_deps(block);
        let mut outcome: Vec<Option<NodeOutcome>> = vec![None; n];
        let mut ready = VecDeque::new();
        for (i, id) in block.iter().enumerate() {
            if plan.nodes.get(id.index()).is_none() {
                v.missing(*id);
                outcome[i] = Some(NodeOutcome::Failed);
            }
        }
        for (i, dep) in outside {
            let node = &plan.node(block[i]).name;
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
                let node = plan.node(block[i]);
                let instance = frame.instance(&node.name);
                let mut m = StepMachine::for_node(v.events(), &instance, node);
                match decide(v, node, frame, &pos, &outcome, cancel, &mut m) {
                    Some(o) => {
                        settle(i, o, &mut outcome, &mut waiting, &dependants, &mut ready);
                        finished += 1;
                    }
                    None => {
                        let id = block[i];
                        running.push(async move {
                            (i, run_node(v, id, frame, cancel, instance, m).await)
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
                    let node = plan.node(block[i]);
                    let instance = frame.instance(&node.name);
                    let m = StepMachine::for_node(v.events(), &instance, node);
                    let why = "dependency cycle in the plan: the step can never start";
                    outcome[i] = Some(v.fail(m, &instance, why.into()));
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
fn decide<V: Visit>(
    v: &V,
    node: &Node,
    frame: &Frame,
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
            v.plan().node(on).name
        ));
        v.skipped(node, frame);
        return Some(NodeOutcome::Skipped);
    }
    None
}

/// Runs a ready node instance, its machine `m` handed to what runs it.
fn run_node<'a, V: Visit>(
    v: &'a V,
    id: StepId,
    frame: &'a Frame,
    cancel: &'a CancelHandle,
    instance: String,
    mut m: StepMachine<'a>,
) -> BoxFuture<'a, NodeOutcome> {
    Box::pin(async move {
        let node = v.plan().node(id);
        if let Some(w) = &node.when {
            match v.when(node, w, frame, &instance) {
                Ok(true) => {}
                Ok(false) => {
                    m.skip("`when` is false".into());
                    v.skipped(node, frame);
                    return NodeOutcome::Skipped;
                }
                Err(why) => return v.fail(m, &instance, why),
            }
        }
        match &node.kind {
            NodeKind::Action(a) => v.action(node, a, frame, cancel, instance, m).await,
            NodeKind::ForEach(f) => run_foreach(v, node, f, frame, cancel, instance, m).await,
            NodeKind::Quiesce(q) => v.scope(node, q, frame, cancel, instance, m).await,
            NodeKind::Approve(a) => v.approve(node, a, frame, cancel, instance, m).await,
        }
    })
}

async fn run_foreach<V: Visit>(
    v: &V,
    node: &Node,
    f: &ForEach,
    frame: &Frame,
    cancel: &CancelHandle,
    instance: String,
    m: StepMachine<'_>,
) -> NodeOutcome {
    let items = match v.items(node, f, frame, &instance) {
        Ok(items) => items,
        Err(why) => return v.fail(m, &instance, why),
    };
    v.loop_size(
        node.id,
        frame,
        items
            .as_ref()
            .map(|i| u32::try_from(i.len()).unwrap_or(u32::MAX)),
    );
    // Not known before the run: its body once, item unknown.
    let items = items.unwrap_or_else(|| vec![Value::Null]);
    let parallel = f.parallel.max(1) as usize;
    let id = node.id;
    let outcomes: Vec<NodeOutcome> = futures::stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| {
            let iframe = frame.enter(id, i as u32, item);
            async move {
                if cancel.is_stopping() {
                    return NodeOutcome::Cancelled;
                }
                run_block(v, &f.body, &iframe, cancel).await
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    NodeOutcome::combine(outcomes)
}

/// The run's visit: steps called with retries and journaled, scopes
/// frozen and thawed, approvals asked.
impl Visit for Rt {
    fn plan(&self) -> &lifeboat_dsl::plan::Plan {
        &self.plan
    }

    fn events(&self) -> &Emitter {
        &self.events
    }

    fn missing(&self, id: StepId) {
        self.fail(&id.to_string(), format!("the plan has no node {id}"));
    }

    fn skipped(&self, _: &Node, _: &Frame) {}

    fn fail(&self, m: StepMachine<'_>, instance: &str, why: String) -> NodeOutcome {
        failed(self, m, instance, why)
    }

    fn when(
        &self,
        _: &Node,
        w: &lifeboat_dsl::plan::Expr,
        frame: &Frame,
        _: &str,
    ) -> Result<bool, String> {
        self.eval_bool(frame, w).map_err(|e| format!("`when`: {e}"))
    }

    fn items(
        &self,
        _: &Node,
        f: &ForEach,
        frame: &Frame,
        _: &str,
    ) -> Result<Option<Vec<Value>>, String> {
        match self.eval(frame, &f.over) {
            Ok(Value::Array(items)) => Ok(Some(items)),
            Ok(Value::Null) => Ok(Some(Vec::new())),
            Ok(other) => Err(format!(
                "`for {}` iterates over {}, expected a list",
                f.var,
                shape(&other)
            )),
            Err(e) => Err(format!("`for {}`: {e}", f.var)),
        }
    }

    fn loop_size(&self, id: StepId, frame: &Frame, n: Option<u32>) {
        // A run always knows its loops' lists.
        if let Some(n) = n {
            self.values
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .set_loop_len(id, frame.path(), n);
        }
    }

    fn action<'a>(
        &'a self,
        node: &'a Node,
        a: &'a ActionStep,
        frame: &'a Frame,
        cancel: &'a CancelHandle,
        instance: String,
        m: StepMachine<'a>,
    ) -> BoxFuture<'a, NodeOutcome> {
        Box::pin(run_action(self, node, a, frame, cancel, instance, m))
    }

    fn scope<'a>(
        &'a self,
        node: &'a Node,
        q: &'a QuiesceScope,
        frame: &'a Frame,
        cancel: &'a CancelHandle,
        _: String,
        _: StepMachine<'a>,
    ) -> BoxFuture<'a, NodeOutcome> {
        Box::pin(crate::quiesce::run_scope(
            self,
            q,
            node,
            frame,
            cancel,
            move |c, f| async move { run_block(self, &q.body, &f, &c).await },
        ))
    }

    fn approve<'a>(
        &'a self,
        _: &'a Node,
        a: &'a Approve,
        frame: &'a Frame,
        cancel: &'a CancelHandle,
        instance: String,
        m: StepMachine<'a>,
    ) -> BoxFuture<'a, NodeOutcome> {
        Box::pin(run_approve(self, a, frame, cancel, instance, m))
    }
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
