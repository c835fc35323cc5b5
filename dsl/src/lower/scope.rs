//! What a name means at one place of a runbook: the [`Scope`] the type
//! checker asks. Order of lookup: `result` (in compensate/cleanup), enclosing
//! loop variables, bindings of the frame (a step read from outside its loops
//! is the list of its results), parameters; then the diagnostics for loop
//! variables used outside their loop and unknown names.

use super::*;

/// Names as seen from one place: a frame, a position (the enclosing node),
/// and for compensate/cleanup calls the step they belong to.
pub(super) struct At<'l, 'a> {
    pub(super) lw: &'l Lowerer<'a>,
    pub(super) frame: usize,
    pub(super) pos: Option<StepId>,
    pub(super) own: Option<StepId>,
}

impl Scope for At<'_, '_> {
    fn lookup(
        &mut self,
        name: &str,
        loc: Loc,
    ) -> Result<(Expr, Ty), crate::diagnostic::Diagnostic> {
        let lw = self.lw;
        if let Some(own) = self.own {
            let own_binding = matches!(&lw.nodes[own.index()].kind, DraftKind::Action(s, _) if s.binding.as_ref().is_some_and(|b| b.name == name));
            if name == "result" || own_binding {
                return Ok((Expr::Result, lw.nodes[own.index()].result.clone()));
            }
        }
        if let Some((_, id, _)) = lw.enclosing_loop_var(self.frame, self.pos, name) {
            let t = lw.item_type(id);
            return Ok((Expr::LoopVar(id), t));
        }
        match lw.frames[self.frame]
            .bindings
            .get(name)
            .map(|(b, _)| b.clone())
        {
            Some(Binding::Step(id)) => {
                let t = lw.nodes[id.index()]
                    .result
                    .clone()
                    .listed(lw.loops_between(id, self.pos));
                return Ok((Expr::Step(id), t));
            }
            Some(Binding::Alias(f)) => {
                let value = lw.return_value(f);
                // A procedure returning one of its steps reads like that step:
                // from outside the loops around the call, as the list of results.
                if let Expr::Step(id) = value.0 {
                    let t = lw.nodes[id.index()]
                        .result
                        .clone()
                        .listed(lw.loops_between(id, self.pos));
                    return Ok((Expr::Step(id), t));
                }
                let base = lw.frames[f].base;
                let here = lw.ancestors(self.pos);
                if lw.ancestors(base).iter().any(|a| !here.contains(a)) {
                    return Err(Diagnostic::at(
                        loc,
                        Kind::ResultOutsideLoop {
                            name: name.to_string(),
                        },
                    ));
                }
                return Ok(value);
            }
            None => {}
        }
        match &lw.frames[self.frame].params {
            FrameParams::Typed(m) => {
                if let Some(t) = m.get(name) {
                    return Ok((Expr::Param(name.to_string()), t.clone()));
                }
            }
            FrameParams::Instance { bound, sigs, .. } => {
                if let Some(v) = bound.get(name) {
                    return Ok(v.clone());
                }
                if let Some(s) = sigs.iter().find(|s| s.name == name) {
                    // Missing argument, already reported at the call.
                    return Ok((Expr::Param(name.to_string()), s.ty.clone()));
                }
            }
        }
        let frame = &lw.frames[self.frame];
        if let Some((_, _, vloc)) = frame.loop_vars.iter().find(|(n, _, _)| n == name) {
            return Err(Diagnostic::at(
                loc,
                Kind::LoopVarOutsideLoop {
                    name: name.to_string(),
                },
            )
            .related(*vloc, "the loop variable"));
        }
        let mut candidates: Vec<String> = frame.bindings.keys().cloned().collect();
        match &frame.params {
            FrameParams::Typed(m) => candidates.extend(m.keys().cloned()),
            FrameParams::Instance { sigs, .. } => {
                candidates.extend(sigs.iter().map(|s| s.name.clone()))
            }
        }
        let mut cur = self.pos;
        while let Some(id) = cur {
            if let DraftKind::For(f) = lw.nodes[id.index()].kind {
                candidates.push(f.var.name.clone());
            }
            cur = lw.nodes[id.index()].parent;
        }
        let suggestion = crate::diagnostic::suggest(name, candidates.iter().map(String::as_str));
        Err(Diagnostic::at(
            loc,
            Kind::UnknownName {
                name: name.to_string(),
                suggestion: suggestion.map(str::to_string),
            },
        ))
    }

    fn binds(&self, name: &str) -> bool {
        let lw = self.lw;
        if self.own.is_some() && name == "result" {
            return true;
        }
        if lw.enclosing_loop_var(self.frame, self.pos, name).is_some()
            || lw.frames[self.frame].bindings.contains_key(name)
        {
            return true;
        }
        match &lw.frames[self.frame].params {
            FrameParams::Typed(m) => m.contains_key(name),
            FrameParams::Instance { sigs, .. } => sigs.iter().any(|s| s.name == name),
        }
    }
}
