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
            item_ty: OnceLock::new(),
            computing_item: AtomicBool::new(false),
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
                Diagnostic::at(
                    name.loc,
                    Kind::AlreadyBound {
                        name: name.name.clone(),
                    },
                )
                .related(first, "first bound here"),
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
                        diags.push(Diagnostic::at(
                            *loc,
                            Kind::Misplaced {
                                statement: Statement::Return,
                            },
                        ));
                    } else if self.frames[frame].ret.is_some() {
                        diags.push(Diagnostic::at(
                            *loc,
                            Kind::Repeated {
                                statement: Statement::Return,
                            },
                        ));
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
                            Diagnostic::at(
                                f.var.loc,
                                Kind::LoopVarAlreadyBound {
                                    name: f.var.name.clone(),
                                },
                            )
                            .related(first, "first bound here"),
                        );
                    } else if let Some((_, _, first)) =
                        self.enclosing_loop_var(frame, parent, &f.var.name)
                    {
                        diags.push(
                            Diagnostic::at(
                                f.var.loc,
                                Kind::LoopVarShadows {
                                    name: f.var.name.clone(),
                                },
                            )
                            .related(first, "first bound here"),
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
            diags.push(Diagnostic::at(
                loc,
                Kind::Misplaced {
                    statement: Statement::Param,
                },
            ));
            return;
        }
        let sigs = catalogue::param_sigs(std::slice::from_ref(p), &self.cat.types, diags);
        let Some(sig) = sigs.into_iter().next() else {
            return;
        };
        if let Some(first) = self.params.iter().find(|q| q.name == sig.name) {
            diags.push(
                Diagnostic::at(
                    p.name.loc,
                    Kind::DuplicateParameter {
                        name: sig.name.clone(),
                    },
                )
                .related(
                    Loc {
                        file: loc.file,
                        span: first.span,
                    },
                    "first declaration",
                ),
            );
            return;
        }
        if !param_type_ok(&sig.ty) {
            diags.push(Diagnostic::at(
                p.ty.loc,
                Kind::NotAParameterType {
                    found: sig.ty.clone(),
                },
            ));
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

    /// Whether a statement of the runbook itself (`schedule`, `retain`,
    /// `commit`) may be taken at `loc`: at a runbook's top level, and once.
    /// `earlier` is `Some` when one was taken before (with where, if known).
    fn runbook_once(
        &self,
        statement: Statement,
        loc: Loc,
        frame: usize,
        top: bool,
        earlier: Option<Option<Loc>>,
        diags: &mut Diagnostics,
    ) -> bool {
        if self.mode != Mode::Runbook || frame != 0 || !top {
            diags.push(Diagnostic::at(loc, Kind::Misplaced { statement }));
            return false;
        }
        if let Some(first) = earlier {
            let d = Diagnostic::at(loc, Kind::Repeated { statement });
            diags.push(match first {
                Some(at) => d.related(at, format!("first {}", statement.keyword())),
                None => d,
            });
            return false;
        }
        true
    }

    pub(super) fn schedule_stmt(
        &mut self,
        s: &'a ast::Schedule,
        frame: usize,
        top: bool,
        diags: &mut Diagnostics,
    ) {
        let earlier = self.schedule.as_ref().map(|(_, first)| Some(*first));
        if !self.runbook_once(Statement::Schedule, s.loc, frame, top, earlier, diags) {
            return;
        }
        let Some(cron) = s.cron.as_plain_str() else {
            diags.push(Diagnostic::at(
                s.cron.loc,
                Kind::Interpolated {
                    what: Literal::Schedule,
                },
            ));
            return;
        };
        if let Err(why) = cron::check_cron(&cron) {
            diags.push(Diagnostic::at(s.cron.loc, Kind::BadCron { why }));
        }
        let tz = match &s.tz {
            Some(t) => match t.as_plain_str() {
                Some(z) => {
                    if let Err(why) = cron::check_timezone(&z) {
                        diags.push(Diagnostic::at(t.loc, Kind::BadTimezone { why }));
                    }
                    Some(z)
                }
                None => {
                    diags.push(Diagnostic::at(
                        t.loc,
                        Kind::Interpolated {
                            what: Literal::TimeZone,
                        },
                    ));
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
        let earlier = self.retain.as_ref().map(|_| None);
        if !self.runbook_once(Statement::Retain, r.loc, frame, top, earlier, diags) {
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
                diags.push(Diagnostic::at(
                    part.loc,
                    Kind::RetainTwice {
                        part: part.key.name.clone(),
                    },
                ));
                continue;
            }
            if !(1..=10_000).contains(&part.count) {
                diags.push(Diagnostic::at(
                    part.loc,
                    Kind::RetainOutOfRange {
                        part: part.key.name.clone(),
                        count: part.count,
                    },
                ));
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
        let earlier = self.commit.as_ref().map(|_| None);
        if !self.runbook_once(Statement::Commit, c.loc, frame, top, earlier, diags) {
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
            diags.push(Diagnostic::at(s.loc, Kind::UseBeforeAction));
        }
        if let Some(sig) = self.cat.actions.get(&name.name) {
            if sig.effect == Effect::Destroy && self.mode == Mode::Runbook && !self.approve_seen {
                diags.push(Diagnostic::at(
                    s.call.name.loc,
                    Kind::DestroyWithoutApprove {
                        action: name.name.clone(),
                    },
                ));
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
            diags.push(if name.name.contains('.') {
                catalogue::unknown_action(name, self.cat)
            } else {
                let suggestion =
                    crate::diagnostic::suggest(&name.name, self.procs.keys().map(String::as_str));
                Diagnostic::at(
                    name.loc,
                    Kind::UnknownAction {
                        name: name.name.clone(),
                        looked_for: Callee::Procedure {
                            suggestion: suggestion.map(str::to_string),
                        },
                    },
                )
            });
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
            let mut chain = self.call_stack.clone();
            chain.push(proc.name.name.clone());
            diags.push(Diagnostic::at(
                s.call.name.loc,
                Kind::Recursion {
                    procedure: proc.name.name.clone(),
                    chain,
                },
            ));
            return;
        }
        for a in &s.attrs {
            if !matches!(a, Attr::When(..) | Attr::After(..)) {
                diags.push(Diagnostic::at(
                    a.loc(),
                    Kind::AttributeOnCall {
                        attribute: a.keyword(),
                    },
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
                bound: FxHashMap::default(),
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
                diags.push(Diagnostic::at(
                    b.loc,
                    Kind::NothingToBind {
                        procedure: proc.name.name.clone(),
                    },
                ));
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
            (Some(t), None) => diags.push(Diagnostic::at(
                t.loc,
                Kind::NeverReturns {
                    procedure: proc.name.name.clone(),
                },
            )),
            (None, Some(e)) => diags.push(Diagnostic::at(
                e.loc,
                Kind::UndeclaredResult {
                    procedure: proc.name.name.clone(),
                },
            )),
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
