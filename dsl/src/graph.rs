//! The plan as a graph (petgraph), built in one place for every renderer.
//!
//! Nodes: every plan node, plus one node per compensation and per cleanup
//! call. Edges ([`EdgeKind`]):
//! - `Data`: the consumer reads the producer's result (the real producer and
//!   consumer, not the hoisted sibling dependency the executor uses);
//! - `After`: an `after` clause, or an `approve` gating what follows it;
//! - `Contains`: a quiesce scope or loop holds the node;
//! - `Frozen`: the action runs while the scope's targets are frozen;
//! - `Compensates` / `CleansUp`: the step's compensation or cleanup call.
//!
//! Steps inside a `for` are *dynamic*: they fan out at run time.

use crate::plan::{DepReason, Expr, NodeKind, Piece, Plan, StepId};
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

/// The graph index of a step: steps are added first, in id order.
fn step_index(id: StepId) -> NodeIndex {
    NodeIndex::new(id.index())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", content = "step", rename_all = "snake_case")]
pub enum GraphNode {
    Step(StepId),
    Compensation(StepId),
    Cleanup(StepId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    Data,
    After,
    Contains,
    Frozen,
    Compensates,
    CleansUp,
}

/// An edge by node names, for output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedEdge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
}

pub struct PlanGraph<'p> {
    pub plan: &'p Plan,
    pub graph: DiGraph<GraphNode, EdgeKind>,
}

impl<'p> PlanGraph<'p> {
    pub fn build(plan: &'p Plan) -> Self {
        let mut g = PlanGraph {
            plan,
            graph: DiGraph::with_capacity(plan.nodes.len(), plan.nodes.len()),
        };
        // Step nodes first, so a step's node index is its id.
        for n in &plan.nodes {
            g.graph.add_node(GraphNode::Step(n.id));
        }
        for n in &plan.nodes {
            let to = n.id;
            if let Some(p) = n.parent {
                g.edge(p, to, EdgeKind::Contains);
            }
            let mut reads = Vec::new();
            n.exprs(&mut |e| steps_in(e, &mut reads));
            reads.sort_unstable();
            reads.dedup();
            for r in reads {
                g.edge(r, to, EdgeKind::Data);
            }
            for d in n.deps.iter().filter(|d| d.reason == DepReason::After) {
                g.edge(d.on, to, EdgeKind::After);
            }
            if let NodeKind::Action(a) = &n.kind {
                let s = step_index(n.id);
                if a.compensate.is_some() {
                    let c = g.graph.add_node(GraphNode::Compensation(n.id));
                    g.graph.add_edge(s, c, EdgeKind::Compensates);
                }
                if a.cleanup.is_some() {
                    let c = g.graph.add_node(GraphNode::Cleanup(n.id));
                    g.graph.add_edge(s, c, EdgeKind::CleansUp);
                }
                if let Some(q) = g.frozen_by(n.id) {
                    g.edge(q, to, EdgeKind::Frozen);
                }
            }
        }
        g
    }

    /// An edge between two steps of the plan (ids out of range are skipped).
    fn edge(&mut self, a: StepId, b: StepId, k: EdgeKind) {
        let n = self.plan.nodes.len();
        if a.index() < n && b.index() < n {
            self.graph.add_edge(step_index(a), step_index(b), k);
        }
    }

    /// The innermost quiesce scope around a node, if any.
    pub fn frozen_by(&self, id: StepId) -> Option<StepId> {
        self.plan
            .ancestors(id)
            .find(|p| matches!(self.plan.node(*p).kind, NodeKind::Quiesce(_)))
    }

    /// Whether the node runs once per item of an enclosing loop.
    pub fn is_dynamic(&self, id: StepId) -> bool {
        self.plan.innermost_loop(id).is_some()
    }

    /// The display name of a graph node.
    pub fn name(&self, n: GraphNode) -> String {
        match n {
            GraphNode::Step(id) => self.plan.node(id).name.clone(),
            GraphNode::Compensation(id) => format!("{}/compensate", self.plan.node(id).name),
            GraphNode::Cleanup(id) => format!("{}/cleanup", self.plan.node(id).name),
        }
    }

    /// Every edge, by names, in insertion order.
    pub fn edges(&self) -> Vec<NamedEdge> {
        self.graph
            .edge_indices()
            .filter_map(|e| {
                let (a, b) = self.graph.edge_endpoints(e)?;
                Some(NamedEdge {
                    from: self.name(self.graph[a]),
                    to: self.name(self.graph[b]),
                    kind: self.graph[e],
                })
            })
            .collect()
    }

    /// A block's nodes in an order they may run one by one
    /// ([`Plan::block_order`]).
    pub fn block_order(&self, block: &[StepId]) -> Vec<StepId> {
        self.plan.block_order(block)
    }
}

/// The steps an expression reads.
pub fn steps_in(e: &Expr, out: &mut Vec<StepId>) {
    match e {
        Expr::Step(id) => out.push(*id),
        Expr::List(items) => items.iter().for_each(|i| steps_in(i, out)),
        Expr::Interp(pieces) => pieces.iter().for_each(|p| {
            if let Piece::Expr(x) = p {
                steps_in(x, out)
            }
        }),
        Expr::Field(b, _) | Expr::Not(b) => steps_in(b, out),
        Expr::Binary(_, l, r) => {
            steps_in(l, out);
            steps_in(r, out);
        }
        _ => {}
    }
}
