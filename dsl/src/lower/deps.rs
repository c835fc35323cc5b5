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
                    let what = if node == on {
                        "reads its own result".to_string()
                    } else {
                        format!(
                            "reads `{}`, which runs inside it",
                            self.nodes[on.index()].name
                        )
                    };
                    diags.push(
                        Diagnostic::new(
                            Kind::Cycle,
                            loc,
                            format!("`{}` {what}", self.nodes[a.index()].name),
                            "cycle",
                        )
                        .help("a step cannot wait for itself; read a result computed before it"),
                    );
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

    pub(super) fn check_cycles(&self, diags: &mut Diagnostics) {
        let mut blocks: Vec<&[StepId]> = vec![&self.body];
        blocks.extend(
            self.nodes
                .iter()
                .filter(|n| !n.children.is_empty())
                .map(|n| n.children.as_slice()),
        );
        for block in blocks {
            let mut g = DiGraphMap::<u32, ()>::new();
            for id in block {
                g.add_node(id.0);
                for d in &self.nodes[id.index()].deps {
                    g.add_edge(id.0, d.on.0, ());
                }
            }
            for scc in petgraph::algo::tarjan_scc(&g) {
                let cyclic = scc.len() > 1 || scc.first().is_some_and(|n| g.contains_edge(*n, *n));
                if !cyclic {
                    continue;
                }
                let mut ids = scc.clone();
                ids.sort_unstable();
                let names: Vec<&str> = ids
                    .iter()
                    .map(|i| self.nodes[*i as usize].name.as_str())
                    .collect();
                let first = &self.nodes[ids[0] as usize];
                let mut d = Diagnostic::new(
                    Kind::Cycle,
                    first.loc,
                    format!(
                        "steps wait for each other: {} → {}",
                        names.join(" → "),
                        names[0]
                    ),
                    "part of a dependency cycle",
                )
                .help("break the cycle: remove an `after` or read a result computed earlier");
                for i in &ids[1..] {
                    d = d.related(self.nodes[*i as usize].loc, "also in the cycle");
                }
                diags.push(d);
            }
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
