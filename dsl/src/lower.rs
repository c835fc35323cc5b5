//! One runbook (or one procedure, checked on its own) → plan nodes.
//!
//! Two passes over the AST:
//! 1. **allocate**: walk the blocks in source order, give every step, quiesce
//!    scope, loop and approval a [`StepId`], record bindings and loop
//!    variables, and inline procedure calls (each call gets its own frame of
//!    names, its steps a name prefix);
//! 2. **resolve**: compile each node's expressions in its frame and position
//!    (see [`typecheck`]), bind arguments to signatures, and derive its
//!    dependencies: the steps its expressions read plus `after`, hoisted to
//!    siblings of one block ([`Lowerer::hoist`]).
//!
//! Then `approve` gates the statements after it, cycles are looked for in
//! each block, and the warnings about steps nothing can undo are given.
//! Names are lexical: a procedure sees its parameters and its own bindings; a
//! binding made inside a loop reads, outside it, as the list of per-iteration
//! results; a loop variable exists only inside its loop.

use crate::ast::{self, Attr, MethodName, Stmt};
use crate::catalogue::{self, ActionSig, Catalogue, ParamSig, Undo};
use crate::cron;
use crate::diagnostic::{Diagnostic, Diagnostics, Kind};
use crate::plan::{
    ActionStep, Approve, Arg, Call, Dep, DepReason, Effect, Expr, ForEach, Node, NodeKind, Param,
    Piece, QuiesceScope, Retention, RetryPolicy, Schedule, StepId,
};
use crate::source::Loc;
use crate::typecheck::{self, Scope};
use crate::types::Ty;
use petgraph::graphmap::DiGraphMap;
use std::collections::{HashMap, HashSet};

/// Timeout of an action whose catalogue entry gives none.
pub const DEFAULT_TIMEOUT_MS: u64 = 10 * 60 * 1000;

/// What the lowering produced; `nodes[i].id == StepId(i)`.
pub struct Lowered {
    pub params: Vec<Param>,
    pub schedule: Option<Schedule>,
    pub retain: Option<Retention>,
    pub nodes: Vec<Node>,
    pub body: Vec<StepId>,
}

/// Whether a runbook is lowered or a procedure checked on its own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Runbook,
    Procedure,
}

#[derive(Clone)]
enum Binding {
    Step(StepId),
    /// The result of an inlined procedure call: the frame of that call.
    Alias(usize),
}

enum FrameParams<'a> {
    /// Parameters that stay names in the plan (`param`s of a runbook, or of a
    /// procedure checked on its own).
    Typed(HashMap<String, Ty>),
    /// An inlined call: arguments are expressions of the caller.
    Instance {
        proc: &'a ast::Procedure,
        sigs: Vec<ParamSig>,
        call: &'a ast::Call,
        caller: usize,
        bound: HashMap<String, (Expr, Ty)>,
    },
}

struct Frame<'a> {
    params: FrameParams<'a>,
    bindings: HashMap<String, (Binding, Loc)>,
    loop_vars: Vec<(String, StepId, Loc)>,
    /// Where the frame's statements sit (the call site's block).
    base: Option<StepId>,
    ret: Option<&'a ast::Expr>,
    ret_ty: Option<Ty>,
    ret_value: Option<(Expr, Ty)>,
    resolving_ret: bool,
    prefix: String,
}

enum DraftKind<'a> {
    Action(&'a ast::StepStmt, Option<&'a ActionSig>),
    Quiesce(&'a ast::QuiesceStmt),
    For(&'a ast::ForStmt),
    Approve(&'a ast::ApproveStmt),
}

struct Draft<'a> {
    name: String,
    loc: Loc,
    parent: Option<StepId>,
    frame: usize,
    kind: DraftKind<'a>,
    children: Vec<StepId>,
    result: Ty,
    item_ty: Option<Ty>,
    computing_item: bool,
    deps: Vec<Dep>,
    compiled: Option<NodeKind>,
    when: Option<Expr>,
}

pub struct Lowerer<'a> {
    cat: &'a Catalogue,
    procs: &'a HashMap<String, &'a ast::Procedure>,
    mode: Mode,
    nodes: Vec<Draft<'a>>,
    frames: Vec<Frame<'a>>,
    body: Vec<StepId>,
    names: HashSet<String>,
    call_stack: Vec<String>,
    approve_seen: bool,
    params: Vec<Param>,
    schedule: Option<(Schedule, Loc)>,
    retain: Option<Retention>,
    /// Diagnostics found while answering name lookups (merged at the end).
    pending: Diagnostics,
}

impl<'a> Lowerer<'a> {
    fn new(cat: &'a Catalogue, procs: &'a HashMap<String, &'a ast::Procedure>, mode: Mode) -> Self {
        Lowerer {
            cat,
            procs,
            mode,
            nodes: Vec::new(),
            frames: Vec::new(),
            body: Vec::new(),
            names: HashSet::new(),
            call_stack: Vec::new(),
            approve_seen: false,
            params: Vec::new(),
            schedule: None,
            retain: None,
            pending: Diagnostics::default(),
        }
    }

    /// Lower a runbook.
    pub fn runbook(
        cat: &'a Catalogue,
        procs: &'a HashMap<String, &'a ast::Procedure>,
        rb: &'a ast::Runbook,
        diags: &mut Diagnostics,
    ) -> Lowered {
        let mut lw = Lowerer::new(cat, procs, Mode::Runbook);
        lw.frames.push(Frame::new(
            FrameParams::Typed(HashMap::new()),
            None,
            String::new(),
        ));
        lw.allocate_block(&rb.body, 0, None, diags);
        lw.finish(diags)
    }

    /// Check a procedure's body on its own, its parameters standing as names.
    pub fn procedure(
        cat: &'a Catalogue,
        procs: &'a HashMap<String, &'a ast::Procedure>,
        p: &'a ast::Procedure,
        diags: &mut Diagnostics,
    ) {
        let mut lw = Lowerer::new(cat, procs, Mode::Procedure);
        let sigs = catalogue::param_sigs(&p.params, &cat.types, diags);
        let typed = sigs.into_iter().map(|s| (s.name, s.ty)).collect();
        let mut frame = Frame::new(FrameParams::Typed(typed), None, String::new());
        frame.ret_ty = p.ret.as_ref().map(|t| cat.types.resolve(t, diags));
        lw.frames.push(frame);
        lw.call_stack.push(p.name.name.clone());
        lw.allocate_block(&p.body, 0, None, diags);
        lw.check_return(0, p, diags);
        lw.finish(diags);
    }

    // ------------------------------------------------------------ pass 1

    fn alloc(
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

    fn bind(&mut self, frame: usize, name: &ast::Ident, b: Binding, diags: &mut Diagnostics) {
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

    fn allocate_block(
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
                        format!("approve@{}", a.loc.span.line),
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
                        format!("quiesce@{}", q.loc.span.line),
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
                        format!("for@{}", f.loc.span.line),
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

    fn enclosing_loop_var(
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

    fn param_stmt(
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

    fn schedule_stmt(
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

    fn retain_stmt(
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

    fn step_stmt(
        &mut self,
        s: &'a ast::StepStmt,
        frame: usize,
        parent: Option<StepId>,
        diags: &mut Diagnostics,
    ) {
        let name = &s.call.name;
        if let Some(sig) = self.cat.actions.get(&name.name) {
            if sig.effect == Effect::Destroy && self.mode == Mode::Runbook && !self.approve_seen {
                diags.push(
                    Diagnostic::new(Kind::DestroyWithoutApprove, s.call.name.loc, format!("`{}` destroys data but no `approve` comes before it", name.name), "destroy step without approval")
                        .help("add `approve \"…\"` earlier in the runbook, or run it as `cleanup`/`compensate` of the step that made the resource"),
                );
            }
            let base = match &s.binding {
                Some(b) => b.name.clone(),
                None => format!("{}@{}", name.name, s.loc.span.line),
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
                None => format!("{}@{}", name.name, s.loc.span.line),
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

    fn inline(
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
            diags.push(misplaced(
                a.loc(),
                &format!("`{}` on a procedure call", a.keyword()),
                "on action steps; put it on the steps inside the procedure",
            ));
        }
        let sigs = catalogue::param_sigs(&proc.params, &self.cat.types, diags);
        let label = match &s.binding {
            Some(b) => b.name.clone(),
            None => format!("{}@{}", proc.name.name, s.loc.span.line),
        };
        let prefix = format!("{}{}.", self.frames[frame].prefix, label);
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

    fn check_return(&mut self, frame: usize, proc: &ast::Procedure, diags: &mut Diagnostics) {
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

    // ------------------------------------------------------------ pass 2

    fn finish(mut self, diags: &mut Diagnostics) -> Lowered {
        for f in 0..self.frames.len() {
            self.bind_instance_args(f, diags);
        }
        for i in 0..self.nodes.len() {
            self.compile_node(StepId(i as u32), diags);
        }
        for f in 0..self.frames.len() {
            if let Some(ret) = self.frames[f].ret {
                let (_, t) = self.return_value(f);
                if let Some(want) = self.frames[f].ret_ty.clone() {
                    if !t.fits(&want, typecheck::is_literal(ret)) {
                        diags.push(
                            Diagnostic::new(
                                Kind::TypeMismatch,
                                ret.loc,
                                format!("the procedure returns `{t}` but declares `{want}`"),
                                format!("this is a {t}"),
                            )
                            .help("return a value of the declared type"),
                        );
                    }
                }
            }
        }
        self.gate_approvals();
        self.check_cycles(diags);
        self.warn_unarranged_undo(diags);
        diags
            .list
            .append(&mut std::mem::take(&mut self.pending).list);
        let nodes = self
            .nodes
            .into_iter()
            .enumerate()
            .map(|(i, d)| Node {
                id: StepId(i as u32),
                name: d.name,
                span: d.loc.span,
                kind: d.compiled.unwrap_or(NodeKind::Approve(Approve {
                    prompt: Expr::Str(String::new()),
                })),
                parent: d.parent,
                deps: d.deps,
                when: d.when,
            })
            .collect();
        Lowered {
            params: self.params,
            schedule: self.schedule.map(|(s, _)| s),
            retain: self.retain,
            nodes,
            body: self.body,
        }
    }

    /// Resolve an expression of frame `frame` written at position `pos`.
    fn resolve(
        &mut self,
        e: &ast::Expr,
        frame: usize,
        pos: Option<StepId>,
        own: Option<StepId>,
        diags: &mut Diagnostics,
    ) -> (Expr, Ty) {
        let cat = self.cat;
        let mut scope = At {
            lw: self,
            frame,
            pos,
            own,
        };
        typecheck::resolve(e, &mut scope, &cat.types, diags)
    }

    #[allow(clippy::too_many_arguments)]
    fn bind_call(
        &mut self,
        what: &str,
        loc: Loc,
        args: &[ast::Arg],
        params: &[ParamSig],
        frame: usize,
        pos: Option<StepId>,
        own: Option<StepId>,
        diags: &mut Diagnostics,
    ) -> Vec<Arg> {
        let cat = self.cat;
        let mut scope = At {
            lw: self,
            frame,
            pos,
            own,
        };
        typecheck::bind_args(what, loc, args, params, &mut scope, &cat.types, diags)
    }

    fn bind_instance_args(&mut self, f: usize, diags: &mut Diagnostics) {
        let (call, sigs, caller, name) = match &self.frames[f].params {
            FrameParams::Instance {
                call,
                sigs,
                caller,
                proc,
                ..
            } => (*call, sigs.clone(), *caller, proc.name.name.clone()),
            FrameParams::Typed(_) => return,
        };
        let pos = self.frames[f].base;
        let args = self.bind_call(&name, call.loc, &call.args, &sigs, caller, pos, None, diags);
        let bound: HashMap<String, (Expr, Ty)> = args
            .into_iter()
            .filter_map(|a| {
                sigs.iter()
                    .find(|s| s.name == a.name)
                    .map(|s| (a.name, (a.value, s.ty.clone())))
            })
            .collect();
        if let FrameParams::Instance { bound: b, .. } = &mut self.frames[f].params {
            *b = bound;
        }
    }

    fn return_value(&mut self, f: usize) -> (Expr, Ty) {
        if let Some(v) = &self.frames[f].ret_value {
            return v.clone();
        }
        let Some(e) = self.frames[f].ret else {
            return (Expr::Str(String::new()), Ty::Any);
        };
        if self.frames[f].resolving_ret {
            return (Expr::Str(String::new()), Ty::Any);
        }
        self.frames[f].resolving_ret = true;
        let mut d = Diagnostics::default();
        let pos = self.frames[f].base;
        let v = self.resolve(e, f, pos, None, &mut d);
        self.pending.list.extend(d.list);
        self.frames[f].resolving_ret = false;
        self.frames[f].ret_value = Some(v.clone());
        v
    }

    fn item_type(&mut self, id: StepId) -> Ty {
        let d = &self.nodes[id.index()];
        if let Some(t) = &d.item_ty {
            return t.clone();
        }
        if d.computing_item {
            return Ty::Any;
        }
        let DraftKind::For(f) = d.kind else {
            return Ty::Any;
        };
        let (frame, parent) = (d.frame, d.parent);
        self.nodes[id.index()].computing_item = true;
        // Errors in `over` are reported when the loop itself is compiled.
        let (_, t) = self.resolve(&f.over, frame, parent, None, &mut Diagnostics::default());
        let item = t.elem().cloned().unwrap_or(Ty::Any);
        let d = &mut self.nodes[id.index()];
        d.computing_item = false;
        d.item_ty = Some(item.clone());
        item
    }

    fn ancestors(&self, pos: Option<StepId>) -> Vec<StepId> {
        let mut out = Vec::new();
        let mut cur = pos;
        while let Some(id) = cur {
            out.push(id);
            cur = self.nodes[id.index()].parent;
        }
        out
    }

    /// How many loops around `id` are not around `pos`.
    fn loops_between(&self, id: StepId, pos: Option<StepId>) -> usize {
        let here = self.ancestors(pos);
        self.ancestors(self.nodes[id.index()].parent)
            .into_iter()
            .filter(|a| {
                matches!(self.nodes[a.index()].kind, DraftKind::For(_)) && !here.contains(a)
            })
            .count()
    }

    fn compile_node(&mut self, id: StepId, diags: &mut Diagnostics) {
        let (frame, parent) = {
            let d = &self.nodes[id.index()];
            (d.frame, d.parent)
        };
        let mut reads: Vec<(StepId, DepReason, Loc)> = Vec::new();
        let kind = match self.nodes[id.index()].kind {
            DraftKind::Action(s, sig) => {
                let kind = self.compile_action(id, s, sig, frame, parent, diags, &mut reads);
                self.attrs_when_after(id, &s.attrs, frame, parent, diags, &mut reads);
                kind
            }
            DraftKind::Approve(a) => {
                let (prompt, t) = self.resolve(&a.prompt, frame, parent, None, diags);
                expect_ty(&t, &Ty::String, a.prompt.loc, "the approval prompt", diags);
                collect_steps(&prompt, a.prompt.loc, &mut reads);
                self.attrs_when_after(id, &a.attrs, frame, parent, diags, &mut reads);
                Some(NodeKind::Approve(Approve { prompt }))
            }
            DraftKind::For(f) => {
                let (over, t) = self.resolve(&f.over, frame, parent, None, diags);
                collect_steps(&over, f.over.loc, &mut reads);
                let item = match t.elem() {
                    Some(i) => i.clone(),
                    None => {
                        diags.push(
                            Diagnostic::new(
                                Kind::TypeMismatch,
                                f.over.loc,
                                format!("`for` iterates over a list, this is a `{t}`"),
                                format!("this is a {t}"),
                            )
                            .help("loop over a list, e.g. `for s in servers`"),
                        );
                        Ty::Any
                    }
                };
                let parallel = match f.parallel {
                    None => 1,
                    Some((n, loc)) if !(1..=1000).contains(&n) => {
                        diags.push(
                            Diagnostic::new(
                                Kind::BadNumber,
                                loc,
                                format!("`parallel {n}` is out of range"),
                                "1 to 1000",
                            )
                            .help("run at least one iteration at a time, at most 1000"),
                        );
                        1
                    }
                    Some((n, _)) => n as u32,
                };
                self.attrs_when_after(id, &f.attrs, frame, parent, diags, &mut reads);
                let body = self.nodes[id.index()].children.clone();
                Some(NodeKind::ForEach(ForEach {
                    var: f.var.name.clone(),
                    item_type: item.to_plan(),
                    over,
                    parallel,
                    body,
                }))
            }
            DraftKind::Quiesce(q) => {
                let k = self.compile_quiesce(id, q, frame, parent, diags, &mut reads);
                self.attrs_when_after(id, &q.attrs, frame, parent, diags, &mut reads);
                Some(k)
            }
        };
        self.nodes[id.index()].compiled = kind;
        for (r, reason, loc) in reads {
            self.hoist(id, r, reason, loc, diags);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn compile_action(
        &mut self,
        id: StepId,
        s: &'a ast::StepStmt,
        sig: Option<&'a ActionSig>,
        frame: usize,
        parent: Option<StepId>,
        diags: &mut Diagnostics,
        reads: &mut Vec<(StepId, DepReason, Loc)>,
    ) -> Option<NodeKind> {
        let sig = sig?;
        let args = self.bind_call(
            &sig.name,
            s.call.loc,
            &s.call.args,
            &sig.params,
            frame,
            parent,
            None,
            diags,
        );
        for a in &args {
            collect_steps(&a.value, s.call.loc, reads);
        }
        let mut retry = sig.retry.unwrap_or(RetryPolicy {
            retries: 0,
            backoff_ms: 1_000,
        });
        let mut timeout_ms = sig.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        let mut compensate_none = false;
        let mut compensate = None;
        let mut cleanup = None;
        check_duplicate_attrs(&s.attrs, diags);
        for attr in &s.attrs {
            match attr {
                Attr::Retry(r) => {
                    if let Some(p) = catalogue::retry_policy(r, diags) {
                        retry = RetryPolicy {
                            retries: p.retries,
                            backoff_ms: if r.backoff.is_some() {
                                p.backoff_ms
                            } else {
                                retry.backoff_ms
                            },
                        };
                    }
                }
                Attr::Timeout(d, _) => {
                    if let Some(ms) = catalogue::positive_duration(d, "timeout", diags) {
                        timeout_ms = ms;
                    }
                }
                Attr::Compensate(None, _) => compensate_none = true,
                Attr::Compensate(Some(c), _) | Attr::Cleanup(c, _) => {
                    let cat = self.cat;
                    let call = {
                        let mut scope = At {
                            lw: self,
                            frame,
                            pos: parent,
                            own: Some(id),
                        };
                        catalogue::compile_call(c, &mut scope, cat, diags)
                    };
                    if matches!(attr, Attr::Compensate(..)) {
                        compensate = call;
                    } else {
                        cleanup = call;
                    }
                }
                Attr::When(..) | Attr::After(..) => {}
            }
        }
        if compensate.is_none() && cleanup.is_none() && !compensate_none {
            if let Undo::Call(c) = &sig.undo {
                compensate = Some(c.clone());
            }
        }
        Some(NodeKind::Action(ActionStep {
            call: Call {
                action: sig.name.clone(),
                effect: sig.effect,
                args,
            },
            binding: s.binding.as_ref().map(|b| b.name.clone()),
            result: sig.ret.to_plan(),
            retry,
            timeout_ms,
            compensate,
            cleanup,
        }))
    }

    fn attrs_when_after(
        &mut self,
        id: StepId,
        attrs: &'a [Attr],
        frame: usize,
        parent: Option<StepId>,
        diags: &mut Diagnostics,
        reads: &mut Vec<(StepId, DepReason, Loc)>,
    ) {
        if !matches!(self.nodes[id.index()].kind, DraftKind::Action(..)) {
            check_duplicate_attrs(attrs, diags);
        }
        for attr in attrs {
            match attr {
                Attr::When(e, _) => {
                    let (x, t) = self.resolve(e, frame, parent, None, diags);
                    expect_ty(&t, &Ty::Bool, e.loc, "a `when` condition", diags);
                    collect_steps(&x, e.loc, reads);
                    self.nodes[id.index()].when = Some(x);
                }
                Attr::After(names, _) => {
                    for n in names {
                        match self.frames[frame].bindings.get(&n.name) {
                            Some((Binding::Step(s), _)) => {
                                reads.push((*s, DepReason::After, n.loc))
                            }
                            Some((Binding::Alias(_), _)) => diags.push(
                                Diagnostic::new(
                                    Kind::UnknownStep,
                                    n.loc,
                                    format!("`{}` is a procedure result, not a step", n.name),
                                    "not a step",
                                )
                                .help("`after` names steps bound in this runbook or procedure"),
                            ),
                            None => {
                                let names: Vec<String> =
                                    self.frames[frame].bindings.keys().cloned().collect();
                                let d = Diagnostic::new(
                                    Kind::UnknownStep,
                                    n.loc,
                                    format!("`after {}`: no step is bound to `{}`", n.name, n.name),
                                    "unknown step",
                                );
                                diags.push(
                                    match typecheck::suggest(
                                        &n.name,
                                        names.iter().map(String::as_str),
                                    ) {
                                        Some(s) => d.help(format!("did you mean `{s}`?")),
                                        None => {
                                            d.help("`after` names a step by the variable it binds")
                                        }
                                    },
                                );
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn compile_quiesce(
        &mut self,
        id: StepId,
        q: &'a ast::QuiesceStmt,
        frame: usize,
        parent: Option<StepId>,
        diags: &mut Diagnostics,
        reads: &mut Vec<(StepId, DepReason, Loc)>,
    ) -> NodeKind {
        let cat = self.cat;
        let (targets, tt) = self.resolve(&q.targets, frame, parent, None, diags);
        collect_steps(&targets, q.targets.loc, reads);
        let record = match &tt {
            Ty::List(inner) => match inner.as_ref() {
                Ty::Record(r) => Some(r.clone()),
                Ty::Any => None,
                other => {
                    diags.push(Diagnostic::new(Kind::TypeMismatch, q.targets.loc, format!("quiesce targets must be a list of records, this is a list of `{other}`"), "not records").help("quiesce a list of servers, e.g. the result of nova.find_servers"));
                    None
                }
            },
            Ty::Any => None,
            other => {
                diags.push(
                    Diagnostic::new(
                        Kind::TypeMismatch,
                        q.targets.loc,
                        format!("quiesce targets must be a list, this is a `{other}`"),
                        "not a list",
                    )
                    .help("quiesce a list of servers, e.g. the result of nova.find_servers"),
                );
                None
            }
        };
        if let Some(r) = &record {
            typecheck::field_type(
                &Ty::Record(r.clone()),
                &q.by,
                q.targets.loc,
                &cat.types,
                diags,
            );
        }
        let (order, ot) = self.resolve(&q.order, frame, parent, None, diags);
        collect_steps(&order, q.order.loc, reads);
        if ot.elem().is_none() {
            diags.push(
                Diagnostic::new(
                    Kind::TypeMismatch,
                    q.order.loc,
                    format!("the quiesce order must be a list, this is a `{ot}`"),
                    "not a list",
                )
                .help("give the groups in order, e.g. [\"db\", \"app\", \"lb\"]"),
            );
        }
        // The method: a literal name, a known method by bare name, or a string variable.
        let (method, literal) = match &q.method.name {
            MethodName::Literal(e) => match e.as_plain_str() {
                Some(n) => (Expr::Str(n.clone()), Some((n, e.loc))),
                None => {
                    let (x, _) = self.resolve(e, frame, parent, None, diags);
                    collect_steps(&x, e.loc, reads);
                    (x, None)
                }
            },
            MethodName::Name(n) => {
                let binds = {
                    At {
                        lw: self,
                        frame,
                        pos: parent,
                        own: None,
                    }
                    .binds(&n.name)
                };
                if binds {
                    let e = ast::Expr {
                        kind: ast::ExprKind::Name(n.name.clone()),
                        loc: n.loc,
                    };
                    let (x, t) = self.resolve(&e, frame, parent, None, diags);
                    expect_ty(
                        &t,
                        &Ty::String,
                        n.loc,
                        "a quiesce method held in a variable",
                        diags,
                    );
                    collect_steps(&x, n.loc, reads);
                    (x, None)
                } else {
                    (Expr::Str(n.name.clone()), Some((n.name.clone(), n.loc)))
                }
            }
        };
        let mut freeze_params: Vec<ParamSig> = Vec::new();
        let mut fill_defaults = false;
        match &literal {
            Some((name, loc)) => match cat.method(name) {
                Some(m) => {
                    if let Some(sig) = cat.actions.get(&m.freeze) {
                        freeze_params = sig.params.iter().skip(1).cloned().collect();
                        fill_defaults = true;
                        if let (Some(r), Some(target)) = (&record, sig.params.first()) {
                            if target.ty != Ty::Record(r.clone()) {
                                diags.push(Diagnostic::new(Kind::TypeMismatch, q.targets.loc, format!("method \"{name}\" freezes `{}` values, the targets are `{r}`", target.ty), format!("a list of {r}")).help(format!("quiesce a list of {}", target.ty)));
                            }
                        }
                    }
                }
                None => diags.push(
                    Diagnostic::new(
                        Kind::UnknownQuiesceMethod,
                        *loc,
                        format!("unknown quiesce method `{name}`"),
                        "no such method",
                    )
                    .help(format!(
                        "known methods: {}; or name a string parameter holding one",
                        cat.method_names().join(", ")
                    )),
                ),
            },
            None => {
                for m in &cat.methods {
                    if let Some(sig) = cat.actions.get(&m.freeze) {
                        for p in sig.params.iter().skip(1) {
                            if !freeze_params.iter().any(|q| q.name == p.name) {
                                freeze_params.push(ParamSig {
                                    default: None,
                                    ..p.clone()
                                });
                            }
                        }
                    }
                }
            }
        }
        let mut method_args = Vec::new();
        if let Some(args) = &q.method.args {
            for a in args {
                let Some(n) = &a.name else { continue };
                match freeze_params.iter().find(|p| p.name == n.name) {
                    Some(p) => {
                        let (x, t) = self.resolve(&a.value, frame, parent, None, diags);
                        collect_steps(&x, a.value.loc, reads);
                        if !t.fits(&p.ty, typecheck::is_literal(&a.value)) {
                            diags.push(
                                Diagnostic::new(
                                    Kind::TypeMismatch,
                                    a.value.loc,
                                    format!(
                                        "method argument `{}` must be `{}`, found `{t}`",
                                        p.name, p.ty
                                    ),
                                    format!("this is a {t}"),
                                )
                                .help("pass a value of the parameter's type"),
                            );
                        }
                        method_args.push(Arg {
                            name: p.name.clone(),
                            ty: p.ty.to_plan(),
                            value: x,
                        });
                    }
                    None => {
                        let names: Vec<&str> =
                            freeze_params.iter().map(|p| p.name.as_str()).collect();
                        diags.push(
                            Diagnostic::new(
                                Kind::UnknownArgument,
                                n.loc,
                                format!("the quiesce method takes no argument `{}`", n.name),
                                "unknown argument",
                            )
                            .help(if names.is_empty() {
                                "this method takes no arguments".to_string()
                            } else {
                                format!("it takes: {}", names.join(", "))
                            }),
                        );
                    }
                }
            }
        }
        if fill_defaults {
            for p in &freeze_params {
                if !method_args.iter().any(|a| a.name == p.name) {
                    if let Some(d) = &p.default {
                        method_args.push(Arg {
                            name: p.name.clone(),
                            ty: p.ty.to_plan(),
                            value: d.clone(),
                        });
                    }
                }
            }
            method_args.sort_by_key(|a| freeze_params.iter().position(|p| p.name == a.name));
        }
        let within_ms = catalogue::positive_duration(&q.within, "`within`", diags).unwrap_or(0);
        let body = self.nodes[id.index()].children.clone();
        NodeKind::Quiesce(QuiesceScope {
            targets,
            by: q.by.name.clone(),
            order,
            method,
            method_args,
            within_ms,
            body,
        })
    }

    /// Make `node` wait for `on`: find the ancestors of each that are siblings
    /// in one block, and record the dependency there.
    fn hoist(
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
    fn gate_approvals(&mut self) {
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

    fn check_cycles(&self, diags: &mut Diagnostics) {
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

    fn warn_unarranged_undo(&self, diags: &mut Diagnostics) {
        for n in &self.nodes {
            let DraftKind::Action(s, Some(sig)) = n.kind else {
                continue;
            };
            if sig.effect != Effect::Mutate || !matches!(sig.undo, Undo::Missing) {
                continue;
            }
            if s.attrs
                .iter()
                .any(|a| matches!(a, Attr::Compensate(..) | Attr::Cleanup(..)))
            {
                continue;
            }
            diags.push(
                Diagnostic::new(Kind::UndoNotArranged, s.call.name.loc, format!("nothing undoes `{}` if the run fails", sig.name), "changes the cloud with no way back")
                    .help("add `compensate CALL` or `cleanup CALL`, or declare `undo none` in the catalogue if nothing needs taking back"),
            );
        }
    }
}

impl<'a> Frame<'a> {
    fn new(params: FrameParams<'a>, base: Option<StepId>, prefix: String) -> Self {
        Frame {
            params,
            bindings: HashMap::new(),
            loop_vars: Vec::new(),
            base,
            ret: None,
            ret_ty: None,
            ret_value: None,
            resolving_ret: false,
            prefix,
        }
    }
}

fn param_type_ok(t: &Ty) -> bool {
    match t {
        Ty::List(inner) => param_type_ok(inner),
        Ty::Record(_) | Ty::None => false,
        _ => true,
    }
}

fn misplaced(loc: Loc, what: &str, where_ok: &str) -> Diagnostic {
    Diagnostic::new(
        Kind::Misplaced,
        loc,
        format!("{what} is not allowed here"),
        "misplaced",
    )
    .help(format!("it belongs {where_ok}"))
}

fn expect_ty(t: &Ty, want: &Ty, loc: Loc, what: &str, diags: &mut Diagnostics) {
    if !t.fits(want, false) {
        diags.push(
            Diagnostic::new(
                Kind::TypeMismatch,
                loc,
                format!("{what} must be `{want}`, found `{t}`"),
                format!("this is a {t}"),
            )
            .help(format!("give a {want} value")),
        );
    }
}

fn check_duplicate_attrs(attrs: &[Attr], diags: &mut Diagnostics) {
    for (i, a) in attrs.iter().enumerate() {
        if let Some(first) = attrs[..i].iter().find(|b| b.keyword() == a.keyword()) {
            diags.push(
                Diagnostic::new(
                    Kind::DuplicateAttribute,
                    a.loc(),
                    format!("`{}` given twice", a.keyword()),
                    "second time",
                )
                .related(first.loc(), "first time")
                .help("give each attribute once (`after a, b` takes several names)"),
            );
        }
    }
}

/// The steps an expression reads.
fn collect_steps(e: &Expr, loc: Loc, out: &mut Vec<(StepId, DepReason, Loc)>) {
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

/// Names as seen from one place: a frame, a position (the enclosing node),
/// and for compensate/cleanup calls the step they belong to.
struct At<'l, 'a> {
    lw: &'l mut Lowerer<'a>,
    frame: usize,
    pos: Option<StepId>,
    own: Option<StepId>,
}

impl Scope for At<'_, '_> {
    fn lookup(
        &mut self,
        name: &str,
        loc: Loc,
    ) -> Result<(Expr, Ty), crate::diagnostic::Diagnostic> {
        let lw = &mut *self.lw;
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
                    return Err(Diagnostic::new(
                        Kind::LoopVarOutsideLoop,
                        loc,
                        format!("`{name}` is a procedure result bound inside a loop"),
                        "read outside that loop",
                    )
                    .help(
                        "read it inside the loop, or return a step's result from the procedure",
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
            return Err(Diagnostic::new(Kind::LoopVarOutsideLoop, loc, format!("loop variable `{name}` is used outside its loop"), "outside the loop")
                .related(*vloc, "the loop variable")
                .help("a loop variable exists only inside its `for` body; outside, read a step bound inside the loop (it is the list of per-iteration results)"));
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
        let d = Diagnostic::new(
            Kind::UnknownName,
            loc,
            format!("unknown name `{name}`"),
            "not a parameter, step or loop variable",
        );
        Err(if name == "run" {
            d.help("`run` is read by field: run.id, run.started, run.runbook")
        } else {
            match typecheck::suggest(name, candidates.iter().map(String::as_str)) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(
                    "declare it with `param NAME: TYPE`, or bind it with `NAME = ns.action(…)`",
                ),
            }
        })
    }

    fn binds(&self, name: &str) -> bool {
        let lw = &*self.lw;
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
