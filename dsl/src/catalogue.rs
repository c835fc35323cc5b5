//! The action catalogue: record types, action signatures, quiesce methods.
//!
//! Built from the `type`, `action` and `quiesce method` declarations of the
//! embedded stdlib (and of any file the compiler reads). Each action has its
//! parameters with types and constant defaults, a result type, its kind
//! (`read`/`mutate`/`destroy`), its `undo` (a call compiled against the
//! action's own parameters: `result` → [`Expr::Result`], a parameter name →
//! [`Expr::Input`]; or `undo none`), and default retry and timeout.

use crate::ast::{self, ActionAttr, Item, TypeExpr, TypeExprKind};
use crate::diagnostic::{Diagnostic, Diagnostics, Kind};
use crate::plan::{Call, Effect, Expr, QuiesceMethod, RetryPolicy};
use crate::source::Loc;
use crate::typecheck::{self, NoNames, Scope};
use crate::types::Ty;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct RecordType {
    pub name: String,
    pub fields: Vec<(String, Ty)>,
    pub loc: Loc,
}

/// Record types by name.
#[derive(Debug, Clone, Default)]
pub struct Types {
    map: HashMap<String, RecordType>,
}

impl Types {
    pub fn get(&self, name: &str) -> Option<&RecordType> {
        self.map.get(name)
    }

    /// The type a type expression names; unknown names are reported.
    pub fn resolve(&self, te: &TypeExpr, diags: &mut Diagnostics) -> Ty {
        match &te.kind {
            TypeExprKind::List(inner) => Ty::list(self.resolve(inner, diags)),
            TypeExprKind::Named(n) => {
                if let Some(t) = Ty::builtin(n) {
                    t
                } else if self.map.contains_key(n) {
                    Ty::Record(n.clone())
                } else {
                    let builtins = ["string", "int", "bool", "duration", "site"];
                    let mut d = Diagnostic::new(
                        Kind::UnknownType,
                        te.loc,
                        format!("unknown type `{n}`"),
                        "not a type",
                    );
                    let mut all: Vec<&str> = builtins.to_vec();
                    all.extend(self.map.keys().map(String::as_str));
                    d = match typecheck::suggest(n, all.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `{s}`? types are string, int, bool, duration, site, list<T> and the stdlib records")),
                        None => d.help("types are string, int, bool, duration, site, list<T> and the stdlib records (server, volume, …)"),
                    };
                    diags.push(d);
                    Ty::Any
                }
            }
        }
    }
}

/// A parameter of an action or procedure.
#[derive(Debug, Clone)]
pub struct ParamSig {
    pub name: String,
    pub ty: Ty,
    /// A constant.
    pub default: Option<Expr>,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub enum Undo {
    Call(Call),
    /// `undo none`: nothing needs taking back.
    Nothing,
    /// No `undo` declared.
    Missing,
}

#[derive(Debug, Clone)]
pub struct ActionSig {
    pub name: String,
    pub params: Vec<ParamSig>,
    pub ret: Ty,
    pub effect: Effect,
    pub undo: Undo,
    pub retry: Option<RetryPolicy>,
    pub timeout_ms: Option<u64>,
    /// `estimate D`: how long a call usually takes.
    pub estimate_ms: Option<u64>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub types: Types,
    pub actions: HashMap<String, ActionSig>,
    pub methods: Vec<QuiesceMethod>,
}

impl Catalogue {
    pub fn method(&self, name: &str) -> Option<&QuiesceMethod> {
        self.methods.iter().find(|m| m.name == name)
    }

    pub fn method_names(&self) -> Vec<&str> {
        self.methods.iter().map(|m| m.name.as_str()).collect()
    }

    /// Build from the declarations of every file, stdlib first.
    pub fn build<'a>(
        files: impl Iterator<Item = &'a ast::File> + Clone,
        diags: &mut Diagnostics,
    ) -> Catalogue {
        let mut cat = Catalogue::default();
        // 1. record names, so that fields may name records declared later.
        let mut decls: Vec<&ast::TypeDecl> = Vec::new();
        for item in files.clone().flat_map(|f| f.items.iter()) {
            if let Item::Type(t) = item {
                if let Some(first) = cat.types.map.get(&t.name.name) {
                    diags.push(dup("type", &t.name, first.loc));
                    continue;
                }
                cat.types.map.insert(
                    t.name.name.clone(),
                    RecordType {
                        name: t.name.name.clone(),
                        fields: Vec::new(),
                        loc: t.name.loc,
                    },
                );
                decls.push(t);
            }
        }
        // 2. their fields.
        for t in decls {
            let mut fields: Vec<(String, Ty)> = Vec::new();
            for f in &t.fields {
                if fields.iter().any(|(n, _)| *n == f.name.name) {
                    diags.push(
                        Diagnostic::new(
                            Kind::DuplicateItem,
                            f.name.loc,
                            format!(
                                "field `{}` declared twice in `{}`",
                                f.name.name, t.name.name
                            ),
                            "second declaration",
                        )
                        .help("remove one"),
                    );
                    continue;
                }
                fields.push((f.name.name.clone(), cat.types.resolve(&f.ty, diags)));
            }
            if let Some(r) = cat.types.map.get_mut(&t.name.name) {
                r.fields = fields;
            }
        }
        // 3. action signatures.
        let mut undos: Vec<(&str, &ast::Call)> = Vec::new();
        for item in files.clone().flat_map(|f| f.items.iter()) {
            if let Item::Action(a) = item {
                if let Some(first) = cat.actions.get(&a.name.name) {
                    diags.push(dup("action", &a.name, first.loc));
                    continue;
                }
                if let Some(sig) = action_sig(a, &cat.types, diags) {
                    if let Some(ActionAttr::Undo(Some(c), _)) =
                        a.attrs.iter().find(|x| matches!(x, ActionAttr::Undo(..)))
                    {
                        undos.push((&a.name.name, c));
                    }
                    cat.actions.insert(a.name.name.clone(), sig);
                }
            }
        }
        // 4. undo calls, against the now complete signatures.
        for (name, call) in undos {
            let Some(sig) = cat.actions.get(name) else {
                continue;
            };
            let mut scope = ActionScope {
                params: &sig.params,
                ret: &sig.ret,
            };
            let compiled = compile_call(call, &mut scope, &cat, diags);
            if let (Some(c), Some(sig)) = (compiled, cat.actions.get_mut(name)) {
                sig.undo = Undo::Call(c);
            }
        }
        // 5. quiesce methods.
        for item in files.flat_map(|f| f.items.iter()) {
            if let Item::Method(m) = item {
                let Some(name) = m.name.as_plain_str() else {
                    diags.push(
                        Diagnostic::new(
                            Kind::NotConstant,
                            m.name.loc,
                            "a quiesce method name must be a plain string",
                            "interpolated",
                        )
                        .help("write the name literally"),
                    );
                    continue;
                };
                if cat.method(&name).is_some() {
                    diags.push(
                        Diagnostic::new(
                            Kind::DuplicateItem,
                            m.name.loc,
                            format!("quiesce method \"{name}\" declared twice"),
                            "second declaration",
                        )
                        .help("remove one"),
                    );
                    continue;
                }
                let freeze = cat.actions.get(&m.freeze.name);
                let thaw = cat.actions.get(&m.thaw.name);
                for (id, a) in [(&m.freeze, freeze), (&m.thaw, thaw)] {
                    if a.is_none() {
                        diags.push(
                            Diagnostic::new(
                                Kind::UnknownAction,
                                id.loc,
                                format!("unknown action `{}`", id.name),
                                "not in the catalogue",
                            )
                            .help("freeze and thaw name catalogue actions"),
                        );
                    }
                }
                let (Some(freeze), Some(thaw)) = (freeze, thaw) else {
                    continue;
                };
                let Some(target) = freeze.params.first() else {
                    diags.push(
                        Diagnostic::new(
                            Kind::Catalogue,
                            m.freeze.loc,
                            format!(
                                "`{}` takes no parameter to receive the target",
                                m.freeze.name
                            ),
                            "no target parameter",
                        )
                        .help("freeze and thaw actions take the target as their first parameter"),
                    );
                    continue;
                };
                if thaw.params.first().map(|p| &p.ty) != Some(&target.ty) {
                    diags.push(
                        Diagnostic::new(
                            Kind::Catalogue,
                            m.thaw.loc,
                            format!(
                                "`{}` must take a `{}` first, like `{}`",
                                m.thaw.name, target.ty, m.freeze.name
                            ),
                            "target types differ",
                        )
                        .help("freeze and thaw act on the same targets"),
                    );
                    continue;
                }
                cat.methods.push(QuiesceMethod {
                    name,
                    freeze: m.freeze.name.clone(),
                    thaw: m.thaw.name.clone(),
                    target_param: target.name.clone(),
                    freeze_estimate_ms: freeze.estimate_ms,
                    thaw_estimate_ms: thaw.estimate_ms,
                });
            }
        }
        cat
    }
}

fn dup(what: &str, name: &ast::Ident, first: Loc) -> Diagnostic {
    Diagnostic::new(
        Kind::DuplicateItem,
        name.loc,
        format!("{what} `{}` declared twice", name.name),
        "second declaration",
    )
    .related(first, "first declaration")
    .help("names of types, actions, procedures and runbooks must be unique")
}

/// Signature parameters: types resolved, defaults constant and well typed.
pub fn param_sigs(
    params: &[ast::SigParam],
    types: &Types,
    diags: &mut Diagnostics,
) -> Vec<ParamSig> {
    let mut out: Vec<ParamSig> = Vec::new();
    for p in params {
        if let Some(first) = out.iter().find(|q| q.name == p.name.name) {
            diags.push(
                Diagnostic::new(
                    Kind::DuplicateBinding,
                    p.name.loc,
                    format!("parameter `{}` declared twice", p.name.name),
                    "second declaration",
                )
                .related(first.loc, "first declaration")
                .help("rename one"),
            );
            continue;
        }
        let ty = types.resolve(&p.ty, diags);
        let default = p.default.as_ref().map(|d| {
            let before = diags.list.len();
            let (x, t) = typecheck::resolve(d, &mut NoNames, types, diags);
            if diags.list.len() > before {
                return x;
            }
            if !t.fits(&ty, typecheck::is_literal(d)) {
                diags.push(
                    Diagnostic::new(
                        Kind::TypeMismatch,
                        d.loc,
                        format!("default of `{}` must be `{ty}`, found `{t}`", p.name.name),
                        format!("this is a {t}"),
                    )
                    .help(format!("give a {ty} value")),
                );
            }
            if typecheck::constant(&x).is_none() {
                diags.push(
                    Diagnostic::new(
                        Kind::NotConstant,
                        d.loc,
                        format!("default of `{}` must be a constant", p.name.name),
                        "not a constant",
                    )
                    .help("interpolation and names are not allowed in defaults"),
                );
            }
            x
        });
        out.push(ParamSig {
            name: p.name.name.clone(),
            ty,
            default,
            loc: p.name.loc,
        });
    }
    out
}

fn action_sig(a: &ast::ActionDecl, types: &Types, diags: &mut Diagnostics) -> Option<ActionSig> {
    if !a.name.name.contains('.') {
        diags.push(
            Diagnostic::new(
                Kind::Catalogue,
                a.name.loc,
                format!("action `{}` has no namespace", a.name.name),
                "needs `ns.`",
            )
            .help("action names are `namespace.name`, e.g. `nova.pause`"),
        );
    }
    let params = param_sigs(&a.params, types, diags);
    let ret = a
        .ret
        .as_ref()
        .map(|t| types.resolve(t, diags))
        .unwrap_or(Ty::None);
    let mut effect = None;
    let mut undo = Undo::Missing;
    let mut retry = None;
    let mut timeout_ms = None;
    let mut estimate_ms = None;
    let mut seen: Vec<(&str, Loc)> = Vec::new();
    for attr in &a.attrs {
        let (kw, loc) = match attr {
            ActionAttr::Kind(i) => ("kind", i.loc),
            ActionAttr::Undo(_, l) => ("undo", *l),
            ActionAttr::Retry(r) => ("retry", r.loc),
            ActionAttr::Timeout(_, l) => ("timeout", *l),
            ActionAttr::Estimate(_, l) => ("estimate", *l),
        };
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == kw) {
            diags.push(
                Diagnostic::new(
                    Kind::DuplicateAttribute,
                    loc,
                    format!("`{kw}` given twice for `{}`", a.name.name),
                    "second time",
                )
                .related(*first, "first time")
                .help("give each attribute once"),
            );
            continue;
        }
        seen.push((kw, loc));
        match attr {
            ActionAttr::Kind(i) => {
                effect = Some(match i.name.as_str() {
                    "read" => Effect::Read,
                    "mutate" => Effect::Mutate,
                    _ => Effect::Destroy,
                })
            }
            ActionAttr::Undo(None, _) => undo = Undo::Nothing,
            ActionAttr::Undo(Some(_), _) => {}
            ActionAttr::Retry(r) => retry = retry_policy(r, diags),
            ActionAttr::Timeout(d, _) => timeout_ms = positive_duration(d, "timeout", diags),
            ActionAttr::Estimate(d, _) => estimate_ms = typecheck::duration_ms(d, diags),
        }
    }
    let Some(effect) = effect else {
        diags.push(
            Diagnostic::new(
                Kind::Catalogue,
                a.name.loc,
                format!("action `{}` has no `kind`", a.name.name),
                "kind missing",
            )
            .help("add `kind read`, `kind mutate` or `kind destroy`"),
        );
        return None;
    };
    Some(ActionSig {
        name: a.name.name.clone(),
        params,
        ret,
        effect,
        undo,
        retry,
        timeout_ms,
        estimate_ms,
        loc: a.name.loc,
    })
}

/// `retry N [backoff D]` as a policy (backoff defaults to 1s).
pub fn retry_policy(r: &ast::Retry, diags: &mut Diagnostics) -> Option<RetryPolicy> {
    if !(0..=100).contains(&r.count) {
        diags.push(
            Diagnostic::new(
                Kind::BadNumber,
                r.loc,
                format!("retry count {} is out of range", r.count),
                "0 to 100",
            )
            .help("retry counts run from 0 to 100"),
        );
        return None;
    }
    let backoff_ms = match &r.backoff {
        Some(d) => positive_duration(d, "backoff", diags)?,
        None => 1_000,
    };
    Some(RetryPolicy {
        retries: r.count as u32,
        backoff_ms,
    })
}

/// A duration that must be more than zero.
pub fn positive_duration(d: &ast::Duration, what: &str, diags: &mut Diagnostics) -> Option<u64> {
    let ms = typecheck::duration_ms(d, diags)?;
    if ms == 0 {
        diags.push(
            Diagnostic::new(
                Kind::BadDuration,
                d.loc,
                format!("{what} must be longer than zero"),
                "zero",
            )
            .help("give a positive duration, e.g. 30s"),
        );
        return None;
    }
    Some(ms)
}

/// Compile a call of a catalogue action (an `undo`, `compensate` or `cleanup`).
pub fn compile_call(
    call: &ast::Call,
    scope: &mut dyn Scope,
    cat: &Catalogue,
    diags: &mut Diagnostics,
) -> Option<Call> {
    let Some(target) = cat.actions.get(&call.name.name) else {
        diags.push(unknown_action(&call.name, cat));
        return None;
    };
    let args = typecheck::bind_args(
        &target.name,
        call.loc,
        &call.args,
        &target.params,
        scope,
        &cat.types,
        diags,
    );
    Some(Call {
        action: target.name.clone(),
        effect: target.effect,
        args,
    })
}

pub fn unknown_action(name: &ast::Ident, cat: &Catalogue) -> Diagnostic {
    let d = Diagnostic::new(
        Kind::UnknownAction,
        name.loc,
        format!("unknown action `{}`", name.name),
        "not in the catalogue",
    );
    match typecheck::suggest(&name.name, cat.actions.keys().map(String::as_str)) {
        Some(s) => d.help(format!(
            "did you mean `{s}`? actions are listed in stdlib/*.dr"
        )),
        None => d.help(
            "actions are listed in stdlib/*.dr (nova.*, cinder.*, glance.*, swift.*, lifeboat.*)",
        ),
    }
}

/// Names inside a catalogue `undo`: `result` and the action's parameters.
struct ActionScope<'a> {
    params: &'a [ParamSig],
    ret: &'a Ty,
}

impl Scope for ActionScope<'_> {
    fn lookup(&mut self, name: &str, loc: Loc) -> Result<(Expr, Ty), Diagnostic> {
        if name == "result" {
            return Ok((Expr::Result, self.ret.clone()));
        }
        match self.params.iter().find(|p| p.name == name) {
            Some(p) => Ok((Expr::Input(name.to_string()), p.ty.clone())),
            None => Err(Diagnostic::new(Kind::UnknownName, loc, format!("`{name}` is neither `result` nor a parameter of the action"), "unknown name")
                .help("an undo call reads `result` (the step's result) and the step's own arguments by parameter name")),
        }
    }

    fn binds(&self, name: &str) -> bool {
        name == "result" || self.params.iter().any(|p| p.name == name)
    }
}
