//! The action catalogue: record types, action signatures, quiesce methods.
//!
//! Built from the `type`, `action` and `quiesce method` declarations of the
//! embedded stdlib (and of any file the compiler reads). Each action has its
//! parameters with types and constant defaults, a result type, its kind
//! (`read`/`mutate`/`destroy`), its `undo` (a call compiled against the
//! action's own parameters: `result` → [`Expr::Result`], a parameter name →
//! [`Expr::Input`]; or `undo none`), and default retry and timeout.

use crate::ast::{self, ActionAttr, Item, TypeExpr, TypeExprKind};
use crate::diagnostic::{Callee, Context, Declared, Diagnostic, Diagnostics, Kind, Literal};
use crate::plan::{Call, Effect, Expr, QuiesceMethod, RetryPolicy};
use crate::source::Loc;
use crate::typecheck::{self, NoNames, Scope};
use crate::types::Ty;
use rustc_hash::FxHashMap;

#[derive(Debug, Clone)]
pub struct RecordType {
    pub name: String,
    pub fields: Vec<(String, Ty)>,
    pub loc: Loc,
}

/// Record types by name.
#[derive(Debug, Clone, Default)]
pub struct Types {
    map: FxHashMap<String, RecordType>,
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
                    let mut all: Vec<&str> = builtins.to_vec();
                    all.extend(self.map.keys().map(String::as_str));
                    diags.push(Diagnostic::at(
                        te.loc,
                        Kind::UnknownType {
                            name: n.clone(),
                            suggestion: crate::diagnostic::suggest(n, all.iter().copied())
                                .map(str::to_string),
                        },
                    ));
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

impl ActionSig {
    /// The site a call of this action with argument values `vals` talks
    /// to, by the plan's one rule ([`crate::plan::site_of`]) on this
    /// signature: for a call made without a plan (a test, a tool).
    pub fn site_of(&self, vals: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
        let args: Vec<crate::plan::Arg> = self
            .params
            .iter()
            .map(|p| crate::plan::Arg {
                name: p.name.clone(),
                ty: p.ty.to_plan(),
                value: Expr::Str(String::new()),
            })
            .collect();
        crate::plan::site_of(&args, vals)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub types: Types,
    pub actions: FxHashMap<String, ActionSig>,
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
                    diags.push(dup(Declared::Type, &t.name, first.loc));
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
                    diags.push(Diagnostic::at(
                        f.name.loc,
                        Kind::DuplicateItem {
                            item: Declared::Field {
                                record: t.name.name.clone(),
                            },
                            name: f.name.name.clone(),
                        },
                    ));
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
                    diags.push(dup(Declared::Action, &a.name, first.loc));
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
                    diags.push(Diagnostic::at(
                        m.name.loc,
                        Kind::Interpolated {
                            what: Literal::MethodName,
                        },
                    ));
                    continue;
                };
                if cat.method(&name).is_some() {
                    diags.push(Diagnostic::at(
                        m.name.loc,
                        Kind::DuplicateItem {
                            item: Declared::QuiesceMethod,
                            name,
                        },
                    ));
                    continue;
                }
                let freeze = cat.actions.get(&m.freeze.name);
                let thaw = cat.actions.get(&m.thaw.name);
                for (id, a) in [(&m.freeze, freeze), (&m.thaw, thaw)] {
                    if a.is_none() {
                        diags.push(Diagnostic::at(
                            id.loc,
                            Kind::UnknownAction {
                                name: id.name.clone(),
                                looked_for: Callee::FreezeThaw,
                            },
                        ));
                    }
                }
                let (Some(freeze), Some(thaw)) = (freeze, thaw) else {
                    continue;
                };
                let Some(target) = freeze.params.first() else {
                    diags.push(Diagnostic::at(
                        m.freeze.loc,
                        Kind::NoTargetParameter {
                            freeze: m.freeze.name.clone(),
                        },
                    ));
                    continue;
                };
                if thaw.params.first().map(|p| &p.ty) != Some(&target.ty) {
                    diags.push(Diagnostic::at(
                        m.thaw.loc,
                        Kind::ThawTargetDiffers {
                            thaw: m.thaw.name.clone(),
                            target: target.ty.clone(),
                            freeze: m.freeze.name.clone(),
                        },
                    ));
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

fn dup(item: Declared, name: &ast::Ident, first: Loc) -> Diagnostic {
    Diagnostic::at(
        name.loc,
        Kind::DuplicateItem {
            item,
            name: name.name.clone(),
        },
    )
    .related(first, "first declaration")
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
                Diagnostic::at(
                    p.name.loc,
                    Kind::DuplicateParameter {
                        name: p.name.name.clone(),
                    },
                )
                .related(first.loc, "first declaration"),
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
                diags.push(Diagnostic::at(
                    d.loc,
                    Kind::TypeMismatch {
                        expected: ty.clone(),
                        found: t,
                        context: Context::Default {
                            param: p.name.name.clone(),
                        },
                    },
                ));
            }
            if typecheck::constant(&x).is_none() {
                diags.push(Diagnostic::at(
                    d.loc,
                    Kind::DefaultNotConstant {
                        param: p.name.name.clone(),
                    },
                ));
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
        diags.push(Diagnostic::at(
            a.name.loc,
            Kind::NoNamespace {
                action: a.name.name.clone(),
            },
        ));
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
                Diagnostic::at(
                    loc,
                    Kind::DuplicateActionAttribute {
                        attribute: kw,
                        action: a.name.name.clone(),
                    },
                )
                .related(*first, "first time"),
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
        diags.push(Diagnostic::at(
            a.name.loc,
            Kind::NoEffect {
                action: a.name.name.clone(),
            },
        ));
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
        diags.push(Diagnostic::at(
            r.loc,
            Kind::RetryOutOfRange { count: r.count },
        ));
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
pub fn positive_duration(
    d: &ast::Duration,
    what: &'static str,
    diags: &mut Diagnostics,
) -> Option<u64> {
    let ms = typecheck::duration_ms(d, diags)?;
    if ms == 0 {
        diags.push(Diagnostic::at(d.loc, Kind::ZeroDuration { what }));
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
    let suggestion = crate::diagnostic::suggest(&name.name, cat.actions.keys().map(String::as_str));
    Diagnostic::at(
        name.loc,
        Kind::UnknownAction {
            name: name.name.clone(),
            looked_for: Callee::Action {
                suggestion: suggestion.map(str::to_string),
            },
        },
    )
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
            None => Err(Diagnostic::at(
                loc,
                Kind::UnknownUndoName {
                    name: name.to_string(),
                },
            )),
        }
    }

    fn binds(&self, name: &str) -> bool {
        name == "result" || self.params.iter().any(|p| p.name == name)
    }
}
