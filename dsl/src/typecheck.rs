//! Expressions and calls: names resolved, types checked.
//!
//! [`resolve`] turns an `ast::Expr` into a `plan::Expr` and its [`Ty`], asking
//! a [`Scope`] what each name means (the catalogue's `undo` calls and the
//! compiler's runbooks and procedures have different scopes). [`bind_args`]
//! maps a call's positional and named arguments onto a signature, checks them
//! and fills defaults.

use crate::ast::{self, ExprKind, StrPiece};
use crate::catalogue::{ParamSig, Types};
use crate::diagnostic::{Context, Diagnostic, Diagnostics, Kind, Signature};
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
                            diags.push(Diagnostic::at(
                                inner.loc,
                                Kind::NotInterpolable { found: t },
                            ));
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
                    diags.push(Diagnostic::at(
                        item.loc,
                        Kind::TypeMismatch {
                            expected: elem.clone(),
                            found: t,
                            context: Context::ListItem,
                        },
                    ));
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
                            diags.push(Diagnostic::at(
                                field.loc,
                                Kind::UnknownRunField {
                                    field: other.to_string(),
                                },
                            ));
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
            expect(&t, &Ty::Bool, inner, Context::Not, diags);
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
                        diags.push(Diagnostic::at(
                            e.loc,
                            Kind::CannotCompare {
                                left: lt,
                                right: rt,
                            },
                        ));
                    }
                }
                BinOp::And | BinOp::Or => {
                    expect(&lt, &Ty::Bool, l, Context::AndOr, diags);
                    expect(&rt, &Ty::Bool, r, Context::AndOr, diags);
                }
            }
            (Expr::Binary(op, Box::new(lx), Box::new(rx)), Ty::Bool)
        }
    }
}

fn expect(t: &Ty, want: &Ty, e: &ast::Expr, context: Context, diags: &mut Diagnostics) {
    if !t.fits(want, is_literal(e)) {
        diags.push(Diagnostic::at(
            e.loc,
            Kind::TypeMismatch {
                expected: want.clone(),
                found: t.clone(),
                context,
            },
        ));
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
                    diags.push(Diagnostic::at(
                        field.loc,
                        Kind::UnknownField {
                            field: field.name.clone(),
                            record: r.clone(),
                            known: rec.fields.iter().map(|(n, _)| n.clone()).collect(),
                        },
                    ));
                    Ty::Any
                }
            },
            None => Ty::Any,
        },
        other => {
            diags.push(Diagnostic::at(
                base_loc.to(field.loc),
                Kind::NoFields {
                    found: other.clone(),
                    field: field.name.clone(),
                },
            ));
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
            diags.push(Diagnostic::at(d.loc, Kind::BadDuration { why }));
            None
        }
    }
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
                    diags.push(Diagnostic::at(a.loc, Kind::PositionalAfterNamed));
                    continue;
                }
                if i >= params.len() {
                    diags.push(Diagnostic::at(
                        a.loc,
                        Kind::TooManyArguments {
                            position: i + 1,
                            signature: signature(what, params),
                        },
                    ));
                    continue;
                }
                i
            }
            Some(n) => {
                seen_named = true;
                match params.iter().position(|p| p.name == n.name) {
                    Some(ix) => ix,
                    None => {
                        diags.push(Diagnostic::at(
                            n.loc,
                            Kind::UnknownArgument {
                                name: n.name.clone(),
                                signature: signature(what, params),
                            },
                        ));
                        resolve(&a.value, scope, types, diags);
                        continue;
                    }
                }
            }
        };
        let p = &params[idx];
        let (x, t) = resolve(&a.value, scope, types, diags);
        if !t.fits(&p.ty, is_literal(&a.value)) {
            diags.push(Diagnostic::at(
                a.value.loc,
                Kind::TypeMismatch {
                    expected: p.ty.clone(),
                    found: t,
                    context: Context::Argument {
                        param: p.name.clone(),
                        signature: signature(what, params),
                    },
                },
            ));
        }
        if let Some((_, first)) = &given[idx] {
            diags.push(
                Diagnostic::at(
                    a.loc,
                    Kind::DuplicateArgument {
                        name: p.name.clone(),
                    },
                )
                .related(*first, "first time"),
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
        diags.push(Diagnostic::at(
            call_loc,
            Kind::MissingArgument {
                callee: what.to_string(),
                missing: missing
                    .iter()
                    .map(|p| (p.name.clone(), p.ty.clone()))
                    .collect(),
            },
        ));
    }
    out
}

/// The signature of `callee`, for a diagnostic.
fn signature(callee: &str, params: &[ParamSig]) -> Signature {
    Signature {
        callee: callee.to_string(),
        params: params
            .iter()
            .map(|p| (p.name.clone(), p.ty.clone(), p.default.is_some()))
            .collect(),
    }
}

/// A scope with constants only (parameter defaults).
pub struct NoNames;

impl Scope for NoNames {
    fn lookup(&mut self, name: &str, loc: Loc) -> Result<(Expr, Ty), Diagnostic> {
        Err(Diagnostic::at(
            loc,
            Kind::NameInDefault {
                name: name.to_string(),
            },
        ))
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
