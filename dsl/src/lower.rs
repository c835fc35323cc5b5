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
//!
//! This file holds the data of the lowering and pass 2 for steps, loops and
//! approvals; `allocate` is pass 1, `scope` answers name lookups, `quiesce`
//! compiles quiesce scopes, `deps` hoists dependencies, gates approvals and
//! finds cycles, `lints` gives the warnings.

use crate::ast::{self, Attr, MethodName, Stmt};
use crate::catalogue::{self, ActionSig, Catalogue, ParamSig, Undo};
use crate::cron;
use crate::diagnostic::{Callee, Context, Diagnostic, Diagnostics, Kind, Literal, Statement};
use crate::plan::{
    ActionStep, Approve, Arg, BinOp, Call, CommitPolicy, Decision, Dep, DepReason, Effect, Expr,
    ForEach, Node, NodeKind, Param, Piece, QuiesceScope, Retention, RetryPolicy, Schedule, StepId,
};
use crate::source::Loc;
use crate::typecheck::{self, Scope};
use crate::types::Ty;
use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::{FxHashMap, FxHashSet};

mod allocate;
mod deps;
mod lints;
mod quiesce;
mod scope;

use deps::collect_steps;
use scope::At;

/// Timeout of an action whose catalogue entry gives none.
pub const DEFAULT_TIMEOUT_MS: u64 = 10 * 60 * 1000;

/// What the lowering produced; `nodes[i].id == StepId(i)`.
pub struct Lowered {
    pub params: Vec<Param>,
    pub schedule: Option<Schedule>,
    pub retain: Option<Retention>,
    pub commit: Option<CommitPolicy>,
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
    Typed(FxHashMap<String, Ty>),
    /// An inlined call: arguments are expressions of the caller.
    Instance {
        proc: &'a ast::Procedure,
        sigs: Vec<ParamSig>,
        call: &'a ast::Call,
        caller: usize,
        bound: FxHashMap<String, (Expr, Ty)>,
    },
}

struct Frame<'a> {
    params: FrameParams<'a>,
    bindings: FxHashMap<String, (Binding, Loc)>,
    loop_vars: Vec<(String, StepId, Loc)>,
    /// Where the frame's statements sit (the call site's block).
    base: Option<StepId>,
    ret: Option<&'a ast::Expr>,
    ret_ty: Option<Ty>,
    ret_value: Option<(Expr, Ty)>,
    resolving_ret: bool,
    prefix: String,
    /// `when`/`after` of the call: they apply to every top-level statement
    /// of the inlined body.
    call_attrs: &'a [Attr],
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
    procs: &'a FxHashMap<String, &'a ast::Procedure>,
    mode: Mode,
    nodes: Vec<Draft<'a>>,
    frames: Vec<Frame<'a>>,
    body: Vec<StepId>,
    names: FxHashSet<String>,
    call_stack: Vec<String>,
    approve_seen: bool,
    params: Vec<Param>,
    schedule: Option<(Schedule, Loc)>,
    retain: Option<Retention>,
    commit: Option<CommitPolicy>,
    /// Diagnostics found while answering name lookups (merged at the end).
    pending: Diagnostics,
}

impl<'a> Lowerer<'a> {
    fn new(
        cat: &'a Catalogue,
        procs: &'a FxHashMap<String, &'a ast::Procedure>,
        mode: Mode,
    ) -> Self {
        Lowerer {
            cat,
            procs,
            mode,
            nodes: Vec::new(),
            frames: Vec::new(),
            body: Vec::new(),
            names: FxHashSet::default(),
            call_stack: Vec::new(),
            approve_seen: false,
            params: Vec::new(),
            schedule: None,
            retain: None,
            commit: None,
            pending: Diagnostics::default(),
        }
    }

    /// Lower a runbook.
    pub fn runbook(
        cat: &'a Catalogue,
        procs: &'a FxHashMap<String, &'a ast::Procedure>,
        rb: &'a ast::Runbook,
        diags: &mut Diagnostics,
    ) -> Lowered {
        let mut lw = Lowerer::new(cat, procs, Mode::Runbook);
        lw.frames.push(Frame::new(
            FrameParams::Typed(FxHashMap::default()),
            None,
            String::new(),
        ));
        // Grown once, not by doubling a 10,000-step runbook's drafts.
        let steps = rb.body.stmts_in();
        lw.nodes.reserve(steps);
        lw.names.reserve(steps);
        lw.allocate_block(&rb.body, 0, None, diags);
        lw.finish(diags)
    }

    /// Check a procedure's body on its own, its parameters standing as names.
    pub fn procedure(
        cat: &'a Catalogue,
        procs: &'a FxHashMap<String, &'a ast::Procedure>,
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
                        diags.push(Diagnostic::at(
                            ret.loc,
                            Kind::TypeMismatch {
                                expected: want,
                                found: t,
                                context: Context::Return,
                            },
                        ));
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
            commit: self.commit,
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
        let bound: FxHashMap<String, (Expr, Ty)> = args
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
                expect_ty(
                    &t,
                    &Ty::String,
                    a.prompt.loc,
                    Context::ApprovalPrompt,
                    diags,
                );
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
                        diags.push(Diagnostic::at(
                            f.over.loc,
                            Kind::NotIterable { found: t.clone() },
                        ));
                        Ty::Any
                    }
                };
                let parallel = match f.parallel {
                    None => 1,
                    Some((n, loc)) if !(1..=1000).contains(&n) => {
                        diags.push(Diagnostic::at(loc, Kind::ParallelOutOfRange { count: n }));
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
        self.call_site_attrs(id, diags, &mut reads);
        for (r, reason, loc) in reads {
            self.hoist(id, r, reason, loc, diags);
        }
    }

    /// `when`/`after` written on the procedure calls whose inlined body has
    /// `id` at its top level: the condition is added (`and`) to the node's
    /// own, the `after`s become its dependencies. Names are the caller's.
    fn call_site_attrs(
        &mut self,
        id: StepId,
        diags: &mut Diagnostics,
        reads: &mut Vec<(StepId, DepReason, Loc)>,
    ) {
        let parent = self.nodes[id.index()].parent;
        let mut f = self.nodes[id.index()].frame;
        while let FrameParams::Instance { caller, .. } = &self.frames[f].params {
            let caller = *caller;
            if self.frames[f].base != parent {
                break;
            }
            let attrs = self.frames[f].call_attrs;
            for attr in attrs {
                match attr {
                    Attr::When(e, _) => {
                        let (x, t) = self.resolve(e, caller, parent, None, diags);
                        expect_ty(&t, &Ty::Bool, e.loc, Context::WhenCondition, diags);
                        collect_steps(&x, e.loc, reads);
                        let node = &mut self.nodes[id.index()];
                        node.when = Some(match node.when.take() {
                            Some(own) => Expr::Binary(BinOp::And, Box::new(x), Box::new(own)),
                            None => x,
                        });
                    }
                    Attr::After(names, _) => {
                        for n in names {
                            match self.frames[caller].bindings.get(&n.name) {
                                Some((Binding::Step(s), _)) => {
                                    reads.push((*s, DepReason::After, n.loc))
                                }
                                _ => diags.push(Diagnostic::at(
                                    n.loc,
                                    Kind::UnknownStep {
                                        name: n.name.clone(),
                                        suggestion: None,
                                    },
                                )),
                            }
                        }
                    }
                    _ => {}
                }
            }
            f = caller;
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
            estimate_ms: sig.estimate_ms,
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
                    expect_ty(&t, &Ty::Bool, e.loc, Context::WhenCondition, diags);
                    collect_steps(&x, e.loc, reads);
                    self.nodes[id.index()].when = Some(x);
                }
                Attr::After(names, _) => {
                    for n in names {
                        let bound = self.frames[frame]
                            .bindings
                            .get(&n.name)
                            .map(|(b, l)| (b.clone(), *l));
                        match bound {
                            Some((Binding::Step(s), _)) => reads.push((s, DepReason::After, n.loc)),
                            // A procedure returning one of its steps: after that step.
                            Some((Binding::Alias(f), _)) => match self.return_value(f).0 {
                                Expr::Step(s) => reads.push((s, DepReason::After, n.loc)),
                                _ => diags.push(Diagnostic::at(
                                    n.loc,
                                    Kind::NotAStep {
                                        name: n.name.clone(),
                                    },
                                )),
                            },
                            None => {
                                let suggestion = crate::diagnostic::suggest(
                                    &n.name,
                                    self.frames[frame].bindings.keys().map(String::as_str),
                                );
                                diags.push(Diagnostic::at(
                                    n.loc,
                                    Kind::UnknownStep {
                                        name: n.name.clone(),
                                        suggestion: suggestion.map(str::to_string),
                                    },
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

impl<'a> Frame<'a> {
    fn new(params: FrameParams<'a>, base: Option<StepId>, prefix: String) -> Self {
        Frame {
            params,
            bindings: FxHashMap::default(),
            loop_vars: Vec::new(),
            base,
            ret: None,
            ret_ty: None,
            ret_value: None,
            resolving_ret: false,
            prefix,
            call_attrs: &[],
        }
    }
}

fn expect_ty(t: &Ty, want: &Ty, loc: Loc, context: Context, diags: &mut Diagnostics) {
    if !t.fits(want, false) {
        diags.push(Diagnostic::at(
            loc,
            Kind::TypeMismatch {
                expected: want.clone(),
                found: t.clone(),
                context,
            },
        ));
    }
}

fn check_duplicate_attrs(attrs: &[Attr], diags: &mut Diagnostics) {
    for (i, a) in attrs.iter().enumerate() {
        if let Some(first) = attrs[..i].iter().find(|b| b.keyword() == a.keyword()) {
            diags.push(
                Diagnostic::at(
                    a.loc(),
                    Kind::DuplicateAttribute {
                        attribute: a.keyword(),
                    },
                )
                .related(first.loc(), "first time"),
            );
        }
    }
}
