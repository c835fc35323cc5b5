//! Pass 1: walk the blocks in source order, give every step, quiesce scope,
//! loop and approval a [`StepId`], record bindings, loop variables and the
//! runbook's parameters, schedule and retention, and inline procedure calls
//! (each call gets its own frame of names and a name prefix for its steps).
//! A `destroy` step with no `approve` before it is reported here, where
//! source order is known.

use super::*;

impl<'a> Lowerer<'a> {
    pub(super) fn alloc(
        &mut self,
        base_name: String,
        loc: Loc,
        parent: Option<StepId>,
        frame: usize,
        kind: DraftKind<'a>,
        result: Ty,
    ) -> StepId {
        let id = StepId(self.nodes.len() as u32);
        let mut name = format!("{}{}", self.frames[frame].prefix, base_name);
        if !self.names.insert(name.clone()) {
            let mut n = 2;
            while !self.names.insert(format!("{name}#{n}")) {
                n += 1;
            }
            name = format!("{name}#{n}");
        }
        self.nodes.push(Draft {
            name,
            loc,
            parent,
            frame,
            kind,
            children: Vec::new(),
            result,
            item_ty: None,
            computing_item: false,
            deps: Vec::new(),
            compiled: None,
            when: None,
        });
        match parent {
            Some(p) => self.nodes[p.index()].children.push(id),
            None => self.body.push(id),
        }
        id
    }

    pub(super) fn bind(
        &mut self,
        frame: usize,
        name: &ast::Ident,
        b: Binding,
        diags: &mut Diagnostics,
    ) {
        let f = &mut self.frames[frame];
        let clash = f
            .bindings
            .get(&name.name)
            .map(|(_, l)| *l)
            .or_else(|| match &f.params {
                FrameParams::Typed(m) if m.contains_key(&name.name) => Some(name.loc),
                FrameParams::Instance { sigs, .. } => {
                    sigs.iter().find(|s| s.name == name.name).map(|s| s.loc)
                }
                _ => None,
            });
        if let Some(first) = clash {
            diags.push(
                Diagnostic::new(
                    Kind::DuplicateBinding,
                    name.loc,
                    format!("`{}` is already bound", name.name),
                    "bound again here",
                )
                .related(first, "first bound here")
                .help("every step result, parameter and loop variable needs its own name"),
            );
            return;
        }
        f.bindings.insert(name.name.clone(), (b, name.loc));
    }

    pub(super) fn allocate_block(
        &mut self,
        block: &'a ast::Block,
        frame: usize,
        parent: Option<StepId>,
        diags: &mut Diagnostics,
    ) {
        let top = parent == self.frames[frame].base;
        for stmt in &block.stmts {
            match stmt {
                Stmt::Param(p, loc) => self.param_stmt(p, *loc, frame, top, diags),
                Stmt::Schedule(s) => self.schedule_stmt(s, frame, top, diags),
                Stmt::Retain(r) => self.retain_stmt(r, frame, top, diags),
                Stmt::Commit(c) => self.commit_stmt(c, frame, top, diags),
                Stmt::Return(e, loc) => {
                    let is_proc = self.mode == Mode::Procedure
                        || matches!(self.frames[frame].params, FrameParams::Instance { .. });
                    if !is_proc || !top || (frame == 0 && self.mode == Mode::Runbook) {
                        diags.push(misplaced(
                            *loc,
                            "`return`",
                            "at the top level of a procedure body",
                        ));
                    } else if self.frames[frame].ret.is_some() {
                        diags.push(misplaced(*loc, "a second `return`", "once per procedure"));
                    } else {
                        self.frames[frame].ret = Some(e);
                    }
                }
                Stmt::Approve(a) => {
                    self.alloc(
                        "approve".to_string(),
                        a.loc,
                        parent,
                        frame,
                        DraftKind::Approve(a),
                        Ty::None,
                    );
                    self.approve_seen = true;
                }
                Stmt::Quiesce(q) => {
                    let id = self.alloc(
                        match path_of(&q.targets) {
                            Some(t) => format!("quiesce {t}"),
                            None => "quiesce".to_string(),
                        },
                        q.loc,
                        parent,
                        frame,
                        DraftKind::Quiesce(q),
                        Ty::None,
                    );
                    self.allocate_block(&q.body, frame, Some(id), diags);
                }
                Stmt::For(f) => {
                    let id = self.alloc(
                        format!("for {}", f.var.name),
                        f.loc,
                        parent,
                        frame,
                        DraftKind::For(f),
                        Ty::None,
                    );
                    let fr = &self.frames[frame];
                    if let Some((_, first)) = fr.bindings.get(&f.var.name) {
                        let first = *first;
                        diags.push(
                            Diagnostic::new(
                                Kind::DuplicateBinding,
                                f.var.loc,
                                format!("loop variable `{}` is already bound", f.var.name),
                                "bound again here",
                            )
                            .related(first, "first bound here")
                            .help("pick another name for the loop variable"),
                        );
                    } else if let Some((_, _, first)) =
                        self.enclosing_loop_var(frame, parent, &f.var.name)
                    {
                        diags.push(
                            Diagnostic::new(
                                Kind::DuplicateBinding,
                                f.var.loc,
                                format!(
                                    "loop variable `{}` shadows an enclosing loop's",
                                    f.var.name
                                ),
                                "bound again here",
                            )
                            .related(first, "first bound here")
                            .help("pick another name for the inner loop variable"),
                        );
                    }
                    self.frames[frame]
                        .loop_vars
                        .push((f.var.name.clone(), id, f.var.loc));
                    self.allocate_block(&f.body, frame, Some(id), diags);
                }
                Stmt::Step(s) => self.step_stmt(s, frame, parent, diags),
            }
        }
    }

    pub(super) fn enclosing_loop_var(
        &self,
        frame: usize,
        pos: Option<StepId>,
        name: &str,
    ) -> Option<(String, StepId, Loc)> {
        let mut cur = pos;
        while let Some(id) = cur {
            let d = &self.nodes[id.index()];
            if let DraftKind::For(f) = d.kind {
                if d.frame == frame && f.var.name == name {
                    return Some((name.to_string(), id, f.var.loc));
                }
            }
            cur = d.parent;
        }
        None
    }

    pub(super) fn param_stmt(
        &mut self,
        p: &'a ast::SigParam,
        loc: Loc,
        frame: usize,
        top: bool,
        diags: &mut Diagnostics,
    ) {
        if self.mode != Mode::Runbook || frame != 0 || !top {
            diags.push(misplaced(
                loc,
                "`param`",
                "at the top level of a runbook (procedures declare parameters in their signature)",
            ));
            return;
        }
        let sigs = catalogue::param_sigs(std::slice::from_ref(p), &self.cat.types, diags);
        let Some(sig) = sigs.into_iter().next() else {
            return;
        };
        if let Some(first) = self.params.iter().find(|q| q.name == sig.name) {
            diags.push(
                Diagnostic::new(
                    Kind::DuplicateBinding,
                    p.name.loc,
                    format!("parameter `{}` declared twice", sig.name),
                    "second declaration",
                )
                .related(
                    Loc {
                        file: loc.file,
                        span: first.span,
                    },
                    "first declaration",
                )
                .help("rename or remove one"),
            );
            return;
        }
        if !param_type_ok(&sig.ty) {
            diags.push(
                Diagnostic::new(
                    Kind::TypeMismatch,
                    p.ty.loc,
                    format!("a runbook parameter cannot be of type `{}`", sig.ty),
                    "not a parameter type",
                )
                .help("parameters are string, int, bool, duration, site or list<…> of those"),
            );
        }
        let default = sig.default.as_ref().and_then(typecheck::constant);
        self.params.push(Param {
            name: sig.name.clone(),
            ty: sig.ty.to_plan(),
            default,
            span: p.loc.span,
        });
        if let FrameParams::Typed(m) = &mut self.frames[0].params {
            m.insert(sig.name, sig.ty);
        }
    }

    pub(super) fn schedule_stmt(
        &mut self,
        s: &'a ast::Schedule,
        frame: usize,
        top: bool,
        diags: &mut Diagnostics,
    ) {
        if self.mode != Mode::Runbook || frame != 0 || !top {
            diags.push(misplaced(
                s.loc,
                "`schedule`",
                "at the top level of a runbook",
            ));
            return;
        }
        if let Some((_, first)) = &self.schedule {
            diags.push(
                misplaced(s.loc, "a second `schedule`", "once per runbook")
                    .related(*first, "first schedule"),
            );
            return;
        }
        let Some(cron) = s.cron.as_plain_str() else {
            diags.push(
                Diagnostic::new(
                    Kind::NotConstant,
                    s.cron.loc,
                    "a schedule must be a plain string",
                    "interpolated",
                )
                .help("write the cron expression literally"),
            );
            return;
        };
        if let Err(why) = cron::check_cron(&cron) {
            diags.push(
                Diagnostic::new(
                    Kind::BadCron,
                    s.cron.loc,
                    format!("bad cron expression: {why}"),
                    "not a cron expression",
                )
                .help(
                    "five fields: minute hour day-of-month month day-of-week, e.g. \"0 */4 * * *\"",
                ),
            );
        }
        let tz = match &s.tz {
            Some(t) => match t.as_plain_str() {
                Some(z) => {
                    if let Err(why) = cron::check_timezone(&z) {
                        diags.push(
                            Diagnostic::new(
                                Kind::BadTimezone,
                                t.loc,
                                format!("bad time zone: {why}"),
                                "not a time zone",
                            )
                            .help("use an IANA name such as \"Europe/Paris\" or \"UTC\""),
                        );
                    }
                    Some(z)
                }
                None => {
                    diags.push(
                        Diagnostic::new(
                            Kind::NotConstant,
                            t.loc,
                            "a time zone must be a plain string",
                            "interpolated",
                        )
                        .help("write the zone literally"),
                    );
                    None
                }
            },
            None => None,
        };
        self.schedule = Some((
            Schedule {
                cron,
                tz,
                span: s.loc.span,
            },
            s.loc,
        ));
    }

    pub(super) fn retain_stmt(
        &mut self,
        r: &'a ast::Retain,
        frame: usize,
        top: bool,
        diags: &mut Diagnostics,
    ) {
        if self.mode != Mode::Runbook || frame != 0 || !top {
            diags.push(misplaced(
                r.loc,
                "`retain`",
                "at the top level of a runbook",
            ));
            return;
        }
        if self.retain.is_some() {
            diags.push(misplaced(r.loc, "a second `retain`", "once per runbook"));
            return;
        }
        let mut ret = Retention::default();
        for part in &r.parts {
            let slot = match part.key.name.as_str() {
                "last" => &mut ret.last,
                "hourly" => &mut ret.hourly,
                "daily" => &mut ret.daily,
                "weekly" => &mut ret.weekly,
                _ => &mut ret.monthly,
            };
            if slot.is_some() {
                diags.push(
                    Diagnostic::new(
                        Kind::BadRetain,
                        part.loc,
                        format!("`{}` given twice in `retain`", part.key.name),
                        "second time",
                    )
                    .help("give each of last, hourly, daily, weekly, monthly once"),
                );
                continue;
            }
            if !(1..=10_000).contains(&part.count) {
                diags.push(
                    Diagnostic::new(
                        Kind::BadRetain,
                        part.loc,
                        format!(
                            "`retain {} {}` keeps no recovery point",
                            part.key.name, part.count
                        ),
                        "out of range",
                    )
                    .help("counts run from 1 to 10000; leave a part out to keep none of that kind"),
                );
                continue;
            }
            *slot = Some(part.count as u32);
        }
        self.retain = Some(ret);
    }

    pub(super) fn commit_stmt(
        &mut self,
        c: &'a ast::CommitStmt,
        frame: usize,
        top: bool,
        diags: &mut Diagnostics,
    ) {
        if self.mode != Mode::Runbook || frame != 0 || !top {
            diags.push(misplaced(
                c.loc,
                "`commit`",
                "at the top level of a runbook",
            ));
            return;
        }
        if self.commit.is_some() {
            diags.push(misplaced(c.loc, "a second `commit`", "once per runbook"));
            return;
        }
        let Some(within_ms) = catalogue::positive_duration(&c.within, "`commit within`", diags)
        else {
            return;
        };
        let default = match c.default.name.as_str() {
            "commit" => Decision::Commit,
            _ => Decision::Rollback,
        };
        self.commit = Some(CommitPolicy { within_ms, default });
    }

    pub(super) fn step_stmt(
        &mut self,
        s: &'a ast::StepStmt,
        frame: usize,
        parent: Option<StepId>,
        diags: &mut Diagnostics,
    ) {
        let name = &s.call.name;
        if s.inline && self.cat.actions.contains_key(&name.name) {
            diags.push(misplaced(
                s.loc,
                "`use` before an action",
                "before a procedure call (its steps then keep their own names); call an action without it",
            ));
        }
        if let Some(sig) = self.cat.actions.get(&name.name) {
            if sig.effect == Effect::Destroy && self.mode == Mode::Runbook && !self.approve_seen {
                diags.push(
                    Diagnostic::new(Kind::DestroyWithoutApprove, s.call.name.loc, format!("`{}` destroys data but no `approve` comes before it", name.name), "destroy step without approval")
                        .help("add `approve \"…\"` earlier in the runbook, or run it as `cleanup`/`compensate` of the step that made the resource"),
                );
            }
            let base = match &s.binding {
                Some(b) => b.name.clone(),
                None => name.name.clone(),
            };
            let id = self.alloc(
                base,
                s.loc,
                parent,
                frame,
                DraftKind::Action(s, Some(sig)),
                sig.ret.clone(),
            );
            if let Some(b) = &s.binding {
                self.bind(frame, b, Binding::Step(id), diags);
            }
        } else if let Some(proc) = self.procs.get(&name.name).copied() {
            self.inline(s, proc, frame, parent, diags);
        } else {
            let mut d = catalogue::unknown_action(name, self.cat);
            if !name.name.contains('.') {
                d = match typecheck::suggest(&name.name, self.procs.keys().map(String::as_str)) {
                    Some(p) => d.help(format!("did you mean the procedure `{p}`?")),
                    None => d.help("call a catalogue action (`ns.name`) or a procedure declared in this file or an imported one"),
                };
            }
            diags.push(d);
            let base = match &s.binding {
                Some(b) => b.name.clone(),
                None => name.name.clone(),
            };
            let id = self.alloc(
                base,
                s.loc,
                parent,
                frame,
                DraftKind::Action(s, None),
                Ty::Any,
            );
            if let Some(b) = &s.binding {
                self.bind(frame, b, Binding::Step(id), diags);
            }
        }
    }

    pub(super) fn inline(
        &mut self,
        s: &'a ast::StepStmt,
        proc: &'a ast::Procedure,
        frame: usize,
        parent: Option<StepId>,
        diags: &mut Diagnostics,
    ) {
        if self.call_stack.contains(&proc.name.name) {
            diags.push(
                Diagnostic::new(
                    Kind::Recursion,
                    s.call.name.loc,
                    format!("procedure `{}` calls itself", proc.name.name),
                    "recursive call",
                )
                .help(format!(
                    "procedures are inlined at compile time; the chain is {} → {}",
                    self.call_stack.join(" → "),
                    proc.name.name
                )),
            );
            return;
        }
        for a in &s.attrs {
            if !matches!(a, Attr::When(..) | Attr::After(..)) {
                diags.push(misplaced(
                    a.loc(),
                    &format!("`{}` on a procedure call", a.keyword()),
                    "on action steps; put it on the steps inside the procedure (a call takes `when` and `after`)",
                ));
            }
        }
        let sigs = catalogue::param_sigs(&proc.params, &self.cat.types, diags);
        let prefix = match &s.binding {
            _ if s.inline => self.frames[frame].prefix.clone(),
            Some(b) => format!("{}{}.", self.frames[frame].prefix, b.name),
            None => format!("{}{}.", self.frames[frame].prefix, proc.name.name),
        };
        let mut f = Frame::new(
            FrameParams::Instance {
                proc,
                sigs,
                call: &s.call,
                caller: frame,
                bound: HashMap::new(),
            },
            parent,
            prefix,
        );
        f.ret_ty = proc.ret.as_ref().map(|t| self.cat.types.resolve(t, diags));
        f.call_attrs = &s.attrs;
        self.frames.push(f);
        let fid = self.frames.len() - 1;
        self.call_stack.push(proc.name.name.clone());
        self.allocate_block(&proc.body, fid, parent, diags);
        self.call_stack.pop();
        self.check_return(fid, proc, diags);
        if let Some(b) = &s.binding {
            if proc.ret.is_none() {
                diags.push(
                    Diagnostic::new(Kind::TypeMismatch, b.loc, format!("procedure `{}` returns nothing to bind", proc.name.name), "nothing to bind")
                        .help("declare a result (`procedure p(…) -> T { … return x }`) or drop the binding"),
                );
            } else {
                self.bind(frame, b, Binding::Alias(fid), diags);
            }
        }
    }

    pub(super) fn check_return(
        &mut self,
        frame: usize,
        proc: &ast::Procedure,
        diags: &mut Diagnostics,
    ) {
        let f = &self.frames[frame];
        match (&proc.ret, f.ret) {
            (Some(t), None) => diags.push(
                Diagnostic::new(
                    Kind::Misplaced,
                    t.loc,
                    format!(
                        "procedure `{}` declares a result but never returns one",
                        proc.name.name
                    ),
                    "declared here",
                )
                .help("end the body with `return EXPR`"),
            ),
            (None, Some(e)) => diags.push(
                Diagnostic::new(
                    Kind::Misplaced,
                    e.loc,
                    format!(
                        "procedure `{}` returns a value but declares no result type",
                        proc.name.name
                    ),
                    "returned here",
                )
                .help("declare it: `procedure name(…) -> TYPE { … }`"),
            ),
            _ => {}
        }
    }
}

pub(super) fn param_type_ok(t: &Ty) -> bool {
    match t {
        Ty::List(inner) => param_type_ok(inner),
        Ty::Record(_) | Ty::None => false,
        _ => true,
    }
}

pub(super) fn misplaced(loc: Loc, what: &str, where_ok: &str) -> Diagnostic {
    Diagnostic::new(
        Kind::Misplaced,
        loc,
        format!("{what} is not allowed here"),
        "misplaced",
    )
    .help(format!("it belongs {where_ok}"))
}

/// A step name's stable part from content, not position (a comment added
/// above a step renames nothing): `servers`, `m.servers` for a name or a
/// field path; `None` for anything else.
fn path_of(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ast::ExprKind::Name(n) => Some(n.clone()),
        ast::ExprKind::Field(inner, f) => Some(format!("{}.{}", path_of(inner)?, f.name)),
        _ => None,
    }
}
