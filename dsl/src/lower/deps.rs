//! Dependencies between siblings: reads and `after`s hoisted to the block
//! where both ends live, `approve` gating what follows it, and the cycle
//! check of each block.

use super::*;

impl<'a> Lowerer<'a> {
    /// Make `node` wait for `on`: find the ancestors of each that are siblings
    /// in one block, and record the dependency there.
    pub(super) fn hoist(
        &mut self,
        node: StepId,
        on: StepId,
        reason: DepReason,
        loc: Loc,
        diags: &mut Diagnostics,
    ) {
        let an = self.ancestors(Some(node));
        let ar = self.ancestors(Some(on));
        for a in &an {
            for b in &ar {
                if self.nodes[a.index()].parent != self.nodes[b.index()].parent {
                    continue;
                }
                if a == b {
                    let inner = (node != on).then(|| self.nodes[on.index()].name.clone());
                    diags.push(Diagnostic::at(
                        loc,
                        Kind::WaitsForItself {
                            step: self.nodes[a.index()].name.clone(),
                            inner,
                        },
                    ));
                    return;
                }
                let deps = &mut self.nodes[a.index()].deps;
                if !deps.iter().any(|d| d.on == *b && d.reason == reason) {
                    deps.push(Dep { on: *b, reason });
                }
                return;
            }
        }
    }

    /// Everything after an `approve` in source order waits for it.
    pub(super) fn gate_approvals(&mut self) {
        let approvals: Vec<StepId> = (0..self.nodes.len())
            .map(|i| StepId(i as u32))
            .filter(|id| matches!(self.nodes[id.index()].kind, DraftKind::Approve(_)))
            .collect();
        for a in approvals {
            let mut cur = Some(a);
            while let Some(x) = cur {
                let parent = self.nodes[x.index()].parent;
                let siblings = match parent {
                    Some(p) => self.nodes[p.index()].children.clone(),
                    None => self.body.clone(),
                };
                let later = siblings.iter().skip_while(|s| **s != x).skip(1);
                for s in later {
                    let deps = &mut self.nodes[s.index()].deps;
                    if !deps.iter().any(|d| d.on == x) {
                        deps.push(Dep {
                            on: x,
                            reason: DepReason::After,
                        });
                    }
                }
                cur = parent;
            }
        }
    }

    /// Dependencies join siblings of one block, so one graph of every node
    /// finds every block's cycles at once; they are reported in source order.
    pub(super) fn check_cycles(&self, diags: &mut Diagnostics) {
        let mut g = DiGraph::<(), ()>::with_capacity(self.nodes.len(), self.nodes.len());
        for _ in &self.nodes {
            g.add_node(());
        }
        for (i, n) in self.nodes.iter().enumerate() {
            for d in &n.deps {
                g.add_edge(NodeIndex::new(i), NodeIndex::new(d.on.index()), ());
            }
        }
        let mut cycles: Vec<Vec<u32>> = petgraph::algo::tarjan_scc(&g)
            .into_iter()
            .filter(|scc| scc.len() > 1 || g.contains_edge(scc[0], scc[0]))
            .map(|scc| {
                let mut ids: Vec<u32> = scc.iter().map(|n| n.index() as u32).collect();
                ids.sort_unstable();
                ids
            })
            .collect();
        cycles.sort_unstable();
        for ids in cycles {
            let steps: Vec<String> = ids
                .iter()
                .map(|i| self.nodes[*i as usize].name.clone())
                .collect();
            let first = &self.nodes[ids[0] as usize];
            let mut d = Diagnostic::at(first.loc, Kind::Cycle { steps });
            for i in &ids[1..] {
                d = d.related(self.nodes[*i as usize].loc, "also in the cycle");
            }
            diags.push(d);
        }
    }
}

/// The steps an expression reads.
pub(super) fn collect_steps(e: &Expr, loc: Loc, out: &mut Vec<(StepId, DepReason, Loc)>) {
    match e {
        Expr::Step(id) => out.push((*id, DepReason::Data, loc)),
        Expr::List(items) => items.iter().for_each(|i| collect_steps(i, loc, out)),
        Expr::Interp(pieces) => pieces.iter().for_each(|p| {
            if let Piece::Expr(x) = p {
                collect_steps(x, loc, out)
            }
        }),
        Expr::Field(b, _) | Expr::Not(b) => collect_steps(b, loc, out),
        Expr::Binary(_, l, r) => {
            collect_steps(l, loc, out);
            collect_steps(r, loc, out);
        }
        _ => {}
    }
}
