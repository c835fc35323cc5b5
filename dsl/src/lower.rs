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
//!    siblings of one block ([`Lowerer::hoist`]). What nodes read of each
//!    other (loops' item types, procedures' return values) is resolved
//!    first; then every node is compiled on its own, reading only — a big
//!    runbook's on every core — and put in place in id order, where its
//!    dependencies are hoisted and its diagnostics kept in source order.
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

mod allocate;
mod deps;
mod lints;
mod quiesce;
mod scope;

use deps::collect_steps;
use scope::At;

/// How the nodes are shared out to be compiled: among at most `workers`
/// threads, each with at least `min_nodes` of them. The plan and the
/// diagnostics are the same however they are shared.
#[derive(Clone, Copy, Debug)]
struct Sharing {
    workers: usize,
    min_nodes: usize,
}

impl Sharing {
    /// One thread per core, each worth starting: below 1,024 nodes a
    /// thread costs more to start and join than it saves.
    fn of_this_machine() -> Sharing {
        #[cfg(test)]
        if let Some(s) = tests::SHARING.get() {
            return s;
        }
        Sharing {
            workers: crate::parser::cores(),
            min_nodes: 1024,
        }
    }
}

/// A compiling thread's stack, as deep as the main thread's: expressions
/// are resolved recursively.
const COMPILE_STACK: usize = 8 << 20;

/// One node compiled on its own, before [`Lowerer::link`] puts it in place.
struct Compiled {
    kind: Option<NodeKind>,
    when: Option<Expr>,
    reads: Vec<(StepId, DepReason, Loc)>,
    diags: Diagnostics,
}

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
    /// The return value, resolved once (see [`Lowerer::return_value`]).
    ret_value: OnceLock<(Expr, Ty)>,
    resolving_ret: AtomicBool,
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
    /// A loop's item type, found once (see [`Lowerer::item_type`]).
    item_ty: OnceLock<Ty>,
    computing_item: AtomicBool,
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
    pending: Mutex<Diagnostics>,
    /// How many threads compile the nodes ([`Self::compile_nodes`]).
    sharing: Sharing,
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
            pending: Mutex::new(Diagnostics::default()),
            sharing: Sharing::of_this_machine(),
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

    // ------------------------------------------------------------ pass 2

    fn finish(mut self, diags: &mut Diagnostics) -> Lowered {
        for f in 0..self.frames.len() {
            self.bind_instance_args(f, diags);
        }
        self.resolve_shared();
        let compiled = self.compile_nodes();
        for (i, c) in compiled.into_iter().enumerate() {
            self.link(StepId(i as u32), c, diags);
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
        for d in std::mem::take(&mut *self.pending_diagnostics()).list {
            diags.push(d);
        }
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

    /// What nodes read of each other while they are compiled, resolved
    /// once, in order, before they are: every loop's item type and every
    /// procedure call's return value. Compiling a node then writes nothing
    /// the others read.
    fn resolve_shared(&self) {
        for (i, d) in self.nodes.iter().enumerate() {
            if matches!(d.kind, DraftKind::For(_)) {
                self.item_type(StepId(i as u32));
            }
        }
        for f in 0..self.frames.len() {
            self.return_value(f);
        }
    }

    /// Every node compiled ([`Self::compile_node`]), in id order: a big
    /// runbook's in runs of ids on this machine's cores, each run on a
    /// thread of its own (see [`Sharing`]).
    fn compile_nodes(&self) -> Vec<Compiled> {
        let n = self.nodes.len();
        let Sharing { workers, min_nodes } = self.sharing;
        let workers = workers.min(n / min_nodes.max(1)).max(1);
        let compile = |ids: std::ops::Range<usize>| -> Vec<Compiled> {
            ids.map(|i| self.compile_node(StepId(i as u32))).collect()
        };
        if workers == 1 {
            return compile(0..n);
        }
        let per = n.div_ceil(workers);
        std::thread::scope(|s| {
            let runs: Vec<_> = (1..workers)
                .map(|w| {
                    let ids = w * per..((w + 1) * per).min(n);
                    let thread = std::thread::Builder::new()
                        .stack_size(COMPILE_STACK)
                        .spawn_scoped(s, {
                            let ids = ids.clone();
                            move || compile(ids)
                        });
                    (ids, thread)
                })
                .collect();
            let mut all = compile(0..per.min(n));
            all.reserve(n - all.len());
            for (ids, thread) in runs {
                match thread.map(|h| h.join()) {
                    Ok(Ok(part)) => all.extend(part),
                    // A thread's panic goes on here; a run whose thread
                    // could not start is compiled here.
                    Ok(Err(panic)) => std::panic::resume_unwind(panic),
                    Err(_) => all.extend(compile(ids)),
                }
            }
            all
        })
    }

    /// Resolve an expression of frame `frame` written at position `pos`.
    fn resolve(
        &self,
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
        &self,
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

    /// The value frame `f` returns, resolved at its first use and kept
    /// (`Any` while it is being resolved: a return that reads itself).
    fn return_value(&self, f: usize) -> (Expr, Ty) {
        let frame = &self.frames[f];
        if let Some(v) = frame.ret_value.get() {
            return v.clone();
        }
        let Some(e) = frame.ret else {
            return (Expr::Str(String::new()), Ty::Any);
        };
        if frame.resolving_ret.swap(true, Ordering::Relaxed) {
            return (Expr::Str(String::new()), Ty::Any);
        }
        let mut d = Diagnostics::default();
        let v = self.resolve(e, f, frame.base, None, &mut d);
        self.pending_diagnostics().list.extend(d.list);
        frame.resolving_ret.store(false, Ordering::Relaxed);
        let _ = frame.ret_value.set(v.clone());
        v
    }

    /// The item type of loop `id`, found at its first use and kept (`Any`
    /// while it is being found: a loop over itself).
    fn item_type(&self, id: StepId) -> Ty {
        let d = &self.nodes[id.index()];
        if let Some(t) = d.item_ty.get() {
            return t.clone();
        }
        let DraftKind::For(f) = d.kind else {
            return Ty::Any;
        };
        if d.computing_item.swap(true, Ordering::Relaxed) {
            return Ty::Any;
        }
        // Errors in `over` are reported when the loop itself is compiled.
        let (_, t) = self.resolve(
            &f.over,
            d.frame,
            d.parent,
            None,
            &mut Diagnostics::default(),
        );
        let item = t.elem().cloned().unwrap_or(Ty::Any);
        d.computing_item.store(false, Ordering::Relaxed);
        let _ = d.item_ty.set(item.clone());
        item
    }

    fn pending_diagnostics(&self) -> std::sync::MutexGuard<'_, Diagnostics> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Node `id` compiled on its own: it reads the names and types pass 1
    /// found, and the loops' item types and procedures' return values
    /// already resolved ([`Self::resolve_shared`]), and writes nothing.
    fn compile_node(&self, id: StepId) -> Compiled {
        let (frame, parent) = {
            let d = &self.nodes[id.index()];
            (d.frame, d.parent)
        };
        let mut reads: Vec<(StepId, DepReason, Loc)> = Vec::new();
        let mut diags = Diagnostics::default();
        let diags = &mut diags;
        let when;
        let kind = match self.nodes[id.index()].kind {
            DraftKind::Action(s, sig) => {
                let kind = self.compile_action(id, s, sig, frame, parent, diags, &mut reads);
                when = self.attrs_when_after(id, &s.attrs, frame, parent, diags, &mut reads);
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
                when = self.attrs_when_after(id, &a.attrs, frame, parent, diags, &mut reads);
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
                when = self.attrs_when_after(id, &f.attrs, frame, parent, diags, &mut reads);
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
                when = self.attrs_when_after(id, &q.attrs, frame, parent, diags, &mut reads);
                Some(k)
            }
        };
        Compiled {
            kind,
            when,
            reads,
            diags: std::mem::take(diags),
        }
    }

    /// Node `id`'s compiled form put in place, in id order: its
    /// diagnostics, the call sites' `when`/`after`, and its dependencies
    /// hoisted (which write other nodes).
    fn link(&mut self, id: StepId, c: Compiled, diags: &mut Diagnostics) {
        let Compiled {
            kind,
            when,
            mut reads,
            diags: own,
        } = c;
        // Through `push`: an inlined procedure's mistake, found again at
        // each call, is reported once.
        for d in own.list {
            diags.push(d);
        }
        let node = &mut self.nodes[id.index()];
        node.compiled = kind;
        node.when = when;
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
        &self,
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

    /// The `when` and `after` of node `id`: its condition, if it has one
    /// (its reads and `after`s go to `reads`).
    fn attrs_when_after(
        &self,
        id: StepId,
        attrs: &'a [Attr],
        frame: usize,
        parent: Option<StepId>,
        diags: &mut Diagnostics,
        reads: &mut Vec<(StepId, DepReason, Loc)>,
    ) -> Option<Expr> {
        let mut when = None;
        if !matches!(self.nodes[id.index()].kind, DraftKind::Action(..)) {
            check_duplicate_attrs(attrs, diags);
        }
        for attr in attrs {
            match attr {
                Attr::When(e, _) => {
                    let (x, t) = self.resolve(e, frame, parent, None, diags);
                    expect_ty(&t, &Ty::Bool, e.loc, Context::WhenCondition, diags);
                    collect_steps(&x, e.loc, reads);
                    when = Some(x);
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
        when
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
            ret_value: OnceLock::new(),
            resolving_ret: AtomicBool::new(false),
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

#[cfg(test)]
mod tests {
    use super::Sharing;
    use crate::compiler::{compile_text, Compilation};
    use crate::loader::BundledLoader;
    use std::cell::Cell;
    use std::fmt::Write;

    thread_local! {
        /// The sharing of the lowerings on this thread (a test's own).
        pub(super) static SHARING: Cell<Option<Sharing>> = const { Cell::new(None) };
    }

    fn compile_shared(path: &str, text: &str, workers: usize) -> Compilation {
        SHARING.set(Some(Sharing {
            workers,
            min_nodes: 1,
        }));
        let c = compile_text(path, text, &BundledLoader);
        SHARING.set(None);
        c
    }

    /// A runbook that reads across any cut of its nodes: procedures
    /// inlined (their return values read later), loops over steps and over
    /// a procedure's result (their item types read inside), `after`s and
    /// call-site `when`s, an approval gating what follows, and mistakes
    /// spread through it.
    fn generated(groups: usize) -> String {
        let mut s = String::from(
            "procedure vols(at: site, tag: string) -> list<volume> {\n  \
               found = nova.find_servers(site: at, tag: tag)\n  \
               wrong = nova.find_servers(site: at, tag: 3)\n  \
               v = cinder.volumes_of(found)\n  \
               return v\n}\n\
             procedure odd(at: site) -> list<volume> {\n  \
               f = nova.find_servers(site: at, tag: \"o\")\n  \
               return f\n}\n\
             runbook big \"generated\" {\n  param from: site = \"site-a\"\n",
        );
        // Each its own mistake in what it returns: the order in which
        // those are found shows.
        let mut procs = String::new();
        for i in (2..groups).step_by(7) {
            let _ = writeln!(
                procs,
                "procedure lost{i}(at: site) -> list<server> {{\n  f = nova.find_servers(site: at, tag: \"l\")\n  return nosuch{i}\n}}"
            );
        }
        s.insert_str(0, &procs);
        for i in 0..groups {
            let _ = writeln!(s, "  s{i} = nova.find_servers(site: from, tag: \"t-{i}\")");
            let _ = writeln!(s, "  v{i} = use vols(from, \"t-{i}\") when s{i} != []");
            let _ = writeln!(
                s,
                "  g{i} = cinder.ensure_group(site: from, name: \"g-{i}\", volumes: v{i}) after s{i}"
            );
            let _ = writeln!(s, "  for x{i} in s{i} parallel 2 {{");
            let _ = writeln!(
                s,
                "    img{i} = nova.create_image(x{i}, name: \"i-{{x{i}.name}}\") when x{i}.role != \"lb\""
            );
            let _ = writeln!(s, "  }}");
            let _ = writeln!(s, "  for w{i} in v{i} {{");
            let _ = writeln!(s, "    gone{i} = cinder.delete_volume(w{i}) after img{i}");
            let _ = writeln!(s, "  }}");
            match i % 7 {
                0 => {
                    let _ = writeln!(s, "  bad{i} = nova.find_servers(site: from, tag: s{i})");
                }
                3 => {
                    let _ = writeln!(s, "  nope{i} = cinder.volumes_of(missing{i})");
                }
                2 => {
                    let _ = writeln!(s, "  l{i} = use lost{i}(from)");
                    let _ = writeln!(
                        s,
                        "  for q{i} in l{i} {{ r{i} = nova.create_image(q{i}, name: \"r\") }}"
                    );
                }
                6 => {
                    let _ = writeln!(s, "  o{i} = use odd(from)");
                    let _ = writeln!(s, "  for y{i} in o{i} {{ z{i} = cinder.volumes_of(y{i}) }}");
                }
                5 if i % 2 == 1 => {
                    let _ = writeln!(s, "  approve \"go {i}\"");
                }
                _ => {}
            }
        }
        s.push_str("}\n");
        s
    }

    /// However the nodes are shared out among threads, the plans and the
    /// diagnostics (their order too) are the same: for every bundled
    /// runbook, every malformed input of the tests, and a generated one
    /// with mistakes in it.
    #[test]
    fn nodes_compiled_on_any_number_of_threads_give_the_same_plan_and_diagnostics() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
        let mut inputs: Vec<(String, String)> = crate::bundled::WORKFLOWS
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        for e in std::fs::read_dir(&dir).expect("tests/malformed") {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "dr") {
                inputs.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
        inputs.push(("generated.dr".into(), generated(60)));
        let mut with_errors = 0;
        for (path, text) in &inputs {
            let one = compile_shared(path, text, 1);
            if one.has_errors() {
                with_errors += 1;
            }
            for workers in [2, 3, 7] {
                let many = compile_shared(path, text, workers);
                assert_eq!(one.plans, many.plans, "{path}, {workers} threads");
                assert_eq!(
                    one.diagnostics.list, many.diagnostics.list,
                    "{path}, {workers} threads"
                );
            }
        }
        let big = compile_shared("generated.dr", &generated(60), 1);
        let kinds: Vec<String> = big
            .diagnostics
            .list
            .iter()
            .map(|d| d.one_line(&big.sources))
            .collect();
        assert!(
            big.plans[0].nodes.len() > 400,
            "{}",
            big.plans[0].nodes.len()
        );
        assert!(
            kinds.iter().any(|k| k.contains("missing3")),
            "an unknown name is reported: {kinds:#?}"
        );
        assert!(kinds.len() >= 18, "mistakes throughout: {kinds:#?}");
        // A procedure's mistake is one report, however often it is called
        // (the procedure checked alone, then inlined 60 times).
        let mut once = kinds.clone();
        once.sort();
        once.dedup();
        assert_eq!(once.len(), kinds.len(), "no report twice: {kinds:#?}");
        assert!(
            kinds.iter().any(|k| k
                .contains("argument `tag` of `nova.find_servers` must be `string`, found `int`")),
            "{kinds:#?}"
        );
        assert!(kinds.iter().any(|k| k.contains("`nosuch2`")), "{kinds:#?}");
        assert!(
            with_errors >= 40,
            "the malformed inputs fail: {with_errors}"
        );
    }
}
