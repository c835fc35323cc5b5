//! Builds `Plan` values by hand, readably. `build()` infers the data deps the
//! compiler would: a node reading a step (in its args, `when`, loop or scope
//! expressions, or anywhere in its body) depends on the sibling that holds it.
#![allow(dead_code)]

use lifeboat_dsl::plan::*;
use serde_json::Value;

pub fn s(v: &str) -> Expr {
    Expr::Str(v.to_string())
}
pub fn step(id: StepId) -> Expr {
    Expr::Step(id)
}
pub fn field(e: Expr, f: &str) -> Expr {
    Expr::Field(Box::new(e), f.to_string())
}
pub fn param(p: &str) -> Expr {
    Expr::Param(p.to_string())
}
pub fn list(items: Vec<Expr>) -> Expr {
    Expr::List(items)
}
pub fn arg(name: &str, ty: Type, value: Expr) -> Arg {
    Arg {
        name: name.to_string(),
        ty,
        value,
    }
}
pub fn rec(name: &str) -> Type {
    Type::Record(name.to_string())
}
pub fn call(action: &str, args: Vec<Arg>) -> Call {
    Call {
        action: action.to_string(),
        effect: Effect::Mutate,
        args,
    }
}

pub struct PlanBuilder {
    plan: Plan,
    auto_deps: bool,
}

impl PlanBuilder {
    pub fn new(runbook: &str) -> Self {
        let m = |name: &str, freeze: &str, thaw: &str| QuiesceMethod {
            name: name.into(),
            freeze: freeze.into(),
            thaw: thaw.into(),
            target_param: "server".into(),
            freeze_estimate_ms: None,
            thaw_estimate_ms: None,
        };
        PlanBuilder {
            plan: Plan {
                schema_version: PLAN_SCHEMA_VERSION,
                runbook: runbook.into(),
                title: format!("test {runbook}"),
                source_path: "test.dr".into(),
                params: vec![],
                schedule: None,
                retain: None,
                commit: None,
                quiesce_methods: vec![
                    m("pause", "nova.pause", "nova.unpause"),
                    m("suspend", "nova.suspend", "nova.resume"),
                ],
                nodes: vec![],
                body: vec![],
            },
            auto_deps: true,
        }
    }

    pub fn no_auto_deps(mut self) -> Self {
        self.auto_deps = false;
        self
    }

    pub fn param(&mut self, name: &str, ty: Type, default: Option<Value>) {
        self.plan.params.push(Param {
            name: name.into(),
            ty,
            default,
            span: Span::default(),
        });
    }

    fn push(&mut self, parent: Option<StepId>, name: &str, kind: NodeKind) -> StepId {
        let id = StepId(self.plan.nodes.len() as u32);
        self.plan.nodes.push(Node {
            id,
            name: name.into(),
            span: Span::default(),
            kind,
            parent,
            deps: vec![],
            when: None,
        });
        match parent {
            None => self.plan.body.push(id),
            Some(p) => match &mut self.plan.nodes[p.index()].kind {
                NodeKind::Quiesce(q) => q.body.push(id),
                NodeKind::ForEach(f) => f.body.push(id),
                _ => panic!("test builder: parent {p} has no body"),
            },
        }
        id
    }

    pub fn action(
        &mut self,
        parent: Option<StepId>,
        name: &str,
        action: &str,
        args: Vec<Arg>,
    ) -> StepId {
        self.push(
            parent,
            name,
            NodeKind::Action(ActionStep {
                call: call(action, args),
                binding: Some(name.into()),
                result: Type::None,
                retry: RetryPolicy {
                    retries: 0,
                    backoff_ms: 1000,
                },
                timeout_ms: 60_000,
                estimate_ms: None,
                compensate: None,
                cleanup: None,
            }),
        )
    }

    #[allow(clippy::too_many_arguments)]
    pub fn quiesce(
        &mut self,
        parent: Option<StepId>,
        name: &str,
        targets: Expr,
        by: &str,
        order: Expr,
        method: &str,
        within_ms: u64,
    ) -> StepId {
        self.push(
            parent,
            name,
            NodeKind::Quiesce(QuiesceScope {
                targets,
                by: by.into(),
                order,
                one_at_a_time: false,
                method: s(method),
                method_args: vec![],
                within_ms,
                retry: None,
                body: vec![],
            }),
        )
    }

    pub fn for_each(
        &mut self,
        parent: Option<StepId>,
        name: &str,
        var: &str,
        over: Expr,
        parallel: u32,
    ) -> StepId {
        self.push(
            parent,
            name,
            NodeKind::ForEach(ForEach {
                var: var.into(),
                item_type: Type::String,
                over,
                parallel,
                body: vec![],
            }),
        )
    }

    pub fn approve(&mut self, parent: Option<StepId>, name: &str, prompt: &str) -> StepId {
        self.push(
            parent,
            name,
            NodeKind::Approve(Approve { prompt: s(prompt) }),
        )
    }

    pub fn after(&mut self, node: StepId, on: StepId) {
        self.plan.nodes[node.index()].deps.push(Dep {
            on,
            reason: DepReason::After,
        });
    }

    pub fn data_dep(&mut self, node: StepId, on: StepId) {
        self.plan.nodes[node.index()].deps.push(Dep {
            on,
            reason: DepReason::Data,
        });
    }

    pub fn when(&mut self, node: StepId, e: Expr) {
        self.plan.nodes[node.index()].when = Some(e);
    }

    fn action_mut(&mut self, node: StepId) -> &mut ActionStep {
        match &mut self.plan.nodes[node.index()].kind {
            NodeKind::Action(a) => a,
            _ => panic!("test builder: {node} is not an action"),
        }
    }

    pub fn retry(&mut self, node: StepId, retries: u32, backoff_ms: u64) {
        self.action_mut(node).retry = RetryPolicy {
            retries,
            backoff_ms,
        };
    }

    pub fn timeout(&mut self, node: StepId, ms: u64) {
        self.action_mut(node).timeout_ms = ms;
    }

    pub fn compensate(&mut self, node: StepId, action: &str, args: Vec<Arg>) {
        self.action_mut(node).compensate = Some(call(action, args));
    }

    pub fn cleanup(&mut self, node: StepId, action: &str, args: Vec<Arg>) {
        self.action_mut(node).cleanup = Some(call(action, args));
    }

    pub fn build(mut self) -> Plan {
        if self.auto_deps {
            let n = self.plan.nodes.len();
            for i in 0..n {
                let mut refs = Vec::new();
                collect_node_refs(&self.plan, StepId(i as u32), &mut refs);
                let parent = self.plan.nodes[i].parent;
                for r in refs {
                    // climb from the referenced step to the sibling of node i
                    let mut cur = Some(r);
                    while let Some(c) = cur {
                        if self.plan.nodes[c.index()].parent == parent {
                            break;
                        }
                        cur = self.plan.nodes[c.index()].parent;
                    }
                    if let Some(sib) = cur {
                        let node = &mut self.plan.nodes[i];
                        if sib.index() != i && !node.deps.iter().any(|d| d.on == sib) {
                            node.deps.push(Dep {
                                on: sib,
                                reason: DepReason::Data,
                            });
                        }
                    }
                }
            }
        }
        self.plan
    }
}

fn collect_node_refs(plan: &Plan, id: StepId, out: &mut Vec<StepId>) {
    let node = &plan.nodes[id.index()];
    if let Some(w) = &node.when {
        expr_refs(w, out);
    }
    match &node.kind {
        NodeKind::Action(a) => a.call.args.iter().for_each(|x| expr_refs(&x.value, out)),
        NodeKind::Approve(a) => expr_refs(&a.prompt, out),
        NodeKind::ForEach(f) => {
            expr_refs(&f.over, out);
            for b in &f.body {
                collect_node_refs(plan, *b, out);
            }
        }
        NodeKind::Quiesce(q) => {
            expr_refs(&q.targets, out);
            expr_refs(&q.order, out);
            expr_refs(&q.method, out);
            for b in &q.body {
                collect_node_refs(plan, *b, out);
            }
        }
    }
}

fn expr_refs(e: &Expr, out: &mut Vec<StepId>) {
    match e {
        Expr::Step(id) => out.push(*id),
        Expr::List(xs) => xs.iter().for_each(|x| expr_refs(x, out)),
        Expr::Interp(ps) => ps.iter().for_each(|p| {
            if let Piece::Expr(x) = p {
                expr_refs(x, out)
            }
        }),
        Expr::Field(x, _) | Expr::Not(x) => expr_refs(x, out),
        Expr::Binary(_, a, b) => {
            expr_refs(a, out);
            expr_refs(b, out);
        }
        _ => {}
    }
}
