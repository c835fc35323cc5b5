//! Expressions and calls: names resolved, types checked.
//!
//! [`resolve`] turns an `ast::Expr` into a `plan::Expr` and its [`Ty`], asking
//! a [`Scope`] what each name means (the catalogue's `undo` calls and the
//! compiler's runbooks and procedures have different scopes). [`bind_args`]
//! maps a call's positional and named arguments onto a signature, checks them
//! and fills defaults.

use crate::ast::{self, ExprKind, StrPiece};
use crate::catalogue::{ParamSig, Types};
use crate::diagnostic::{Diagnostic, Diagnostics, Kind};
use crate::duration;
use crate::plan::{Arg, BinOp, Expr, Piece, RunField};
use crate::source::Loc;
use crate::types::Ty;

/// What names mean where an expression is written.
#[allow(clippy::result_large_err)] // a lookup failure is a full diagnostic, built once
pub trait Scope {
    /// The meaning of `name`, or a diagnostic saying why it has none.
    fn lookup(&mut self, name: &str, loc: Loc) -> Result<(Expr, Ty), Diagnostic>;
    /// Whether `name` is bound (so `run.id` can be told from a variable `run`).
    fn binds(&self, name: &str) -> bool;
}

/// Resolve and type an expression. On error a diagnostic is pushed and the
/// type is `Any`, so one mistake is reported once.
pub fn resolve(
    e: &ast::Expr,
    scope: &mut dyn Scope,
    types: &Types,
    diags: &mut Diagnostics,
) -> (Expr, Ty) {
    match &e.kind {
        ExprKind::Str(pieces) => {
            let mut out = Vec::new();
            for p in pieces {
                match p {
                    StrPiece::Lit(s) => out.push(Piece::Lit(s.clone())),
                    StrPiece::Expr(inner) => {
                        let (x, t) = resolve(inner, scope, types, diags);
                        if !t.is_scalar() {
                            diags.push(
                                Diagnostic::new(
                                    Kind::TypeMismatch,
                                    inner.loc,
                                    format!("cannot put a value of type `{t}` into a string"),
                                    format!("this is a {t}"),
                                )
                                .help("interpolate a scalar field instead, e.g. `{x.name}`"),
                            );
                        }
                        out.push(Piece::Expr(x));
                    }
                }
            }
            if out.iter().all(|p| matches!(p, Piece::Lit(_))) {
                let s: String = out
                    .into_iter()
                    .map(|p| {
                        if let Piece::Lit(s) = p {
                            s
                        } else {
                            String::new()
                        }
                    })
                    .collect();
                (Expr::Str(s), Ty::String)
            } else {
                (Expr::Interp(out), Ty::String)
            }
        }
        ExprKind::Int(n) => (Expr::Int(*n), Ty::Int),
        ExprKind::Bool(b) => (Expr::Bool(*b), Ty::Bool),
        ExprKind::Duration(d) => (
            Expr::Duration(duration_ms(d, diags).unwrap_or(0)),
            Ty::Duration,
        ),
        ExprKind::List(items) => {
            let mut elem = Ty::Any;
            let mut out = Vec::new();
            for item in items {
                let (x, t) = resolve(item, scope, types, diags);
                if elem == Ty::Any {
                    elem = t;
                } else if !t.fits(&elem, is_literal(item)) && !elem.fits(&t, false) {
                    diags.push(
                        Diagnostic::new(Kind::TypeMismatch, item.loc, format!("list items must have one type: this one is `{t}`, the first is `{elem}`"), format!("a {t}"))
                            .help("a list holds values of a single type"),
                    );
                }
                out.push(x);
            }
            (Expr::List(out), Ty::list(elem))
        }
        ExprKind::Name(n) => match scope.lookup(n, e.loc) {
            Ok(r) => r,
            Err(d) => {
                diags.push(d);
                (Expr::Param(n.clone()), Ty::Any)
            }
        },
        ExprKind::Field(base, field) => {
            if let ExprKind::Name(n) = &base.kind {
                if n == "run" && !scope.binds("run") {
                    let f = match field.name.as_str() {
                        "id" => RunField::Id,
                        "started" => RunField::Started,
                        "runbook" => RunField::Runbook,
                        other => {
                            diags.push(
                                Diagnostic::new(
                                    Kind::UnknownField,
                                    field.loc,
                                    format!("`run` has no field `{other}`"),
                                    "unknown field of run",
                                )
                                .help("`run` has fields id, started and runbook"),
                            );
                            return (Expr::Run(RunField::Id), Ty::Any);
                        }
                    };
                    return (Expr::Run(f), Ty::String);
                }
            }
            let (b, bt) = resolve(base, scope, types, diags);
            let t = field_type(&bt, field, base.loc, types, diags);
            (Expr::Field(Box::new(b), field.name.clone()), t)
        }
        ExprKind::Not(inner) => {
            let (x, t) = resolve(inner, scope, types, diags);
            expect(&t, &Ty::Bool, inner, "`not` takes a bool", diags);
            (Expr::Not(Box::new(x)), Ty::Bool)
        }
        ExprKind::Binary(op, l, r) => {
            let (lx, lt) = resolve(l, scope, types, diags);
            let (rx, rt) = resolve(r, scope, types, diags);
            let op = match op {
                ast::BinOp::Eq => BinOp::Eq,
                ast::BinOp::Ne => BinOp::Ne,
                ast::BinOp::And => BinOp::And,
                ast::BinOp::Or => BinOp::Or,
            };
            match op {
                BinOp::Eq | BinOp::Ne => {
                    if !rt.fits(&lt, true) && !lt.fits(&rt, true) {
                        diags.push(
                            Diagnostic::new(
                                Kind::TypeMismatch,
                                e.loc,
                                format!("cannot compare `{lt}` with `{rt}`"),
                                "these never compare equal",
                            )
                            .help("compare values of the same type"),
                        );
                    }
                }
                BinOp::And | BinOp::Or => {
                    expect(&lt, &Ty::Bool, l, "`and`/`or` take bools", diags);
                    expect(&rt, &Ty::Bool, r, "`and`/`or` take bools", diags);
                }
            }
            (Expr::Binary(op, Box::new(lx), Box::new(rx)), Ty::Bool)
        }
    }
}

fn expect(t: &Ty, want: &Ty, e: &ast::Expr, help: &str, diags: &mut Diagnostics) {
    if !t.fits(want, is_literal(e)) {
        diags.push(
            Diagnostic::new(
                Kind::TypeMismatch,
                e.loc,
                format!("expected `{want}`, found `{t}`"),
                format!("this is a {t}"),
            )
            .help(help.to_string()),
        );
    }
}

/// The type of `base.field`.
pub fn field_type(
    bt: &Ty,
    field: &ast::Ident,
    base_loc: Loc,
    types: &Types,
    diags: &mut Diagnostics,
) -> Ty {
    match bt {
        Ty::Any => Ty::Any,
        Ty::Record(r) => match types.get(r) {
            Some(rec) => match rec.fields.iter().find(|(n, _)| *n == field.name) {
                Some((_, t)) => t.clone(),
                None => {
                    let names: Vec<&str> = rec.fields.iter().map(|(n, _)| n.as_str()).collect();
                    let mut d = Diagnostic::new(
                        Kind::UnknownField,
                        field.loc,
                        format!("type `{r}` has no field `{}`", field.name),
                        "unknown field",
                    );
                    d = match suggest(&field.name, names.iter().copied()) {
                        Some(s) => d.help(format!(
                            "did you mean `{s}`? `{r}` has: {}",
                            names.join(", ")
                        )),
                        None => d.help(format!("`{r}` has: {}", names.join(", "))),
                    };
                    diags.push(d);
                    Ty::Any
                }
            },
            None => Ty::Any,
        },
        other => {
            diags.push(
                Diagnostic::new(
                    Kind::TypeMismatch,
                    base_loc.to(field.loc),
                    format!("`{other}` has no fields (reading `.{}`)", field.name),
                    format!("this is a {other}"),
                )
                .help(if matches!(other, Ty::List(_)) {
                    "read fields of one item: loop with `for x in …`"
                } else {
                    "only records have fields"
                }),
            );
            Ty::Any
        }
    }
}

/// A string literal (possibly interpolated): may stand for a `site`.
pub fn is_literal(e: &ast::Expr) -> bool {
    match &e.kind {
        ExprKind::Str(_) => true,
        ExprKind::List(items) => items.iter().all(is_literal),
        _ => false,
    }
}

/// Milliseconds of a duration literal; a diagnostic when it is not one.
pub fn duration_ms(d: &ast::Duration, diags: &mut Diagnostics) -> Option<u64> {
    match duration::parse_ms(&d.text) {
        Ok(ms) => Some(ms),
        Err(why) => {
            diags.push(
                Diagnostic::new(
                    Kind::BadDuration,
                    d.loc,
                    format!("bad duration: {why}"),
                    "not a duration",
                )
                .help("write a number and a unit: ms, s, m, h or d (e.g. 30s, 10m, 2h)"),
            );
            None
        }
    }
}

/// The closest candidate within a small edit distance.
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(1))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Map a call's arguments onto `params` (positional first, then named),
/// check their types and fill defaults. Returns the arguments in signature
/// order; missing ones are reported and left out.
pub fn bind_args(
    what: &str,
    call_loc: Loc,
    args: &[ast::Arg],
    params: &[ParamSig],
    scope: &mut dyn Scope,
    types: &Types,
    diags: &mut Diagnostics,
) -> Vec<Arg> {
    let mut given: Vec<Option<(Expr, Loc)>> = vec![None; params.len()];
    let mut seen_named = false;
    for (i, a) in args.iter().enumerate() {
        let idx = match &a.name {
            None => {
                if seen_named {
                    diags.push(
                        Diagnostic::new(Kind::Misplaced, a.loc, "positional argument after a named one", "give this one a name")
                            .help("positional arguments come first, in signature order; then `name: value`"),
                    );
                    continue;
                }
                if i >= params.len() {
                    diags.push(
                        Diagnostic::new(
                            Kind::TooManyArguments,
                            a.loc,
                            format!(
                                "`{what}` takes {} argument(s), this is argument {}",
                                params.len(),
                                i + 1
                            ),
                            "one too many",
                        )
                        .help(format!("the signature is {what}({})", signature(params))),
                    );
                    continue;
                }
                i
            }
            Some(n) => {
                seen_named = true;
                match params.iter().position(|p| p.name == n.name) {
                    Some(ix) => ix,
                    None => {
                        let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                        let mut d = Diagnostic::new(
                            Kind::UnknownArgument,
                            n.loc,
                            format!("`{what}` has no parameter `{}`", n.name),
                            "unknown argument",
                        );
                        d = match suggest(&n.name, names.iter().copied()) {
                            Some(s) => d.help(format!(
                                "did you mean `{s}`? the signature is {what}({})",
                                signature(params)
                            )),
                            None => {
                                d.help(format!("the signature is {what}({})", signature(params)))
                            }
                        };
                        diags.push(d);
                        resolve(&a.value, scope, types, diags);
                        continue;
                    }
                }
            }
        };
        let p = &params[idx];
        let (x, t) = resolve(&a.value, scope, types, diags);
        if !t.fits(&p.ty, is_literal(&a.value)) {
            let mut d = Diagnostic::new(
                Kind::TypeMismatch,
                a.value.loc,
                format!(
                    "argument `{}` of `{what}` must be `{}`, found `{t}`",
                    p.name, p.ty
                ),
                format!("this is a {t}"),
            );
            d = if p.ty == Ty::Site && t == Ty::String {
                d.help("declare the parameter as `site`, or pass a literal like \"site-b\"")
            } else {
                d.help(format!("the signature is {what}({})", signature(params)))
            };
            diags.push(d);
        }
        if let Some((_, first)) = &given[idx] {
            diags.push(
                Diagnostic::new(
                    Kind::DuplicateArgument,
                    a.loc,
                    format!("argument `{}` given twice", p.name),
                    "second time",
                )
                .related(*first, "first time")
                .help("give each argument once"),
            );
            continue;
        }
        given[idx] = Some((x, a.loc));
    }
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (p, g) in params.iter().zip(given) {
        match (g, &p.default) {
            (Some((x, _)), _) => out.push(Arg {
                name: p.name.clone(),
                ty: p.ty.to_plan(),
                value: x,
            }),
            (None, Some(d)) => out.push(Arg {
                name: p.name.clone(),
                ty: p.ty.to_plan(),
                value: d.clone(),
            }),
            (None, None) => missing.push(p),
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|p| format!("{}: {}", p.name, p.ty))
            .collect();
        diags.push(
            Diagnostic::new(
                Kind::MissingArgument,
                call_loc,
                format!(
                    "`{what}` is missing required argument(s): {}",
                    list.join(", ")
                ),
                "missing arguments",
            )
            .help(format!(
                "add {}",
                missing
                    .iter()
                    .map(|p| format!("`{}: …`", p.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
    out
}

fn signature(params: &[ParamSig]) -> String {
    params
        .iter()
        .map(|p| {
            if p.default.is_some() {
                format!("{}: {} = …", p.name, p.ty)
            } else {
                format!("{}: {}", p.name, p.ty)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A scope with constants only (parameter defaults).
pub struct NoNames;

impl Scope for NoNames {
    fn lookup(&mut self, name: &str, loc: Loc) -> Result<(Expr, Ty), Diagnostic> {
        Err(Diagnostic::new(
            Kind::NotConstant,
            loc,
            format!("`{name}` is not a constant"),
            "a default must be a constant",
        )
        .help("use a literal: a string, number, bool, duration or list"))
    }

    fn binds(&self, _: &str) -> bool {
        false
    }
}

/// A constant expression as JSON (parameter defaults).
pub fn constant(e: &Expr) -> Option<serde_json::Value> {
    Some(match e {
        Expr::Str(s) => serde_json::Value::String(s.clone()),
        Expr::Int(n) => (*n).into(),
        Expr::Bool(b) => (*b).into(),
        Expr::Duration(ms) => (*ms).into(),
        Expr::List(items) => {
            serde_json::Value::Array(items.iter().map(constant).collect::<Option<_>>()?)
        }
        _ => return None,
    })
}
