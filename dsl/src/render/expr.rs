//! Plan expressions and calls printed in the language's syntax, with step
//! ids replaced by step names and loop-variable ids by the variable's name.

use crate::duration::format_ms;
use crate::plan::{BinOp, Call, Expr, NodeKind, Piece, Plan, RunField};
use std::fmt::Write;

pub fn expr(plan: &Plan, e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, plan, e);
    out
}

/// [`expr`], appended to `out` (a renderer's buffer) without building a
/// string per sub-expression.
pub fn write_expr(out: &mut String, plan: &Plan, e: &Expr) {
    match e {
        Expr::Str(s) => {
            out.push('"');
            write_escaped(out, s);
            out.push('"');
        }
        Expr::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Expr::Duration(ms) => out.push_str(&format_ms(*ms)),
        Expr::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, plan, item);
            }
            out.push(']');
        }
        Expr::Interp(pieces) => {
            out.push('"');
            for p in pieces {
                match p {
                    Piece::Lit(t) => write_escaped(out, t),
                    Piece::Expr(x) => {
                        out.push('{');
                        write_expr(out, plan, x);
                        out.push('}');
                    }
                }
            }
            out.push('"');
        }
        Expr::Param(p) => out.push_str(p),
        Expr::Step(id) => match plan.nodes.get(id.index()) {
            Some(n) => out.push_str(&n.name),
            None => {
                let _ = write!(out, "{id}");
            }
        },
        Expr::LoopVar(id) => match plan.nodes.get(id.index()).map(|n| &n.kind) {
            Some(NodeKind::ForEach(f)) => out.push_str(&f.var),
            _ => {
                let _ = write!(out, "{id}");
            }
        },
        Expr::Run(f) => out.push_str(match f {
            RunField::Id => "run.id",
            RunField::Started => "run.started",
            RunField::Runbook => "run.runbook",
        }),
        Expr::Result => out.push_str("result"),
        Expr::Input(n) => out.push_str(n),
        Expr::Field(b, f) => {
            let group = matches!(b.as_ref(), Expr::Not(_) | Expr::Binary(..));
            if group {
                out.push('(');
            }
            write_expr(out, plan, b);
            if group {
                out.push(')');
            }
            out.push('.');
            out.push_str(f);
        }
        Expr::Not(x) => {
            out.push_str("not ");
            write_expr(out, plan, x);
        }
        Expr::Binary(op, l, r) => {
            write_expr(out, plan, l);
            out.push_str(match op {
                BinOp::Eq => " == ",
                BinOp::Ne => " != ",
                BinOp::And => " and ",
                BinOp::Or => " or ",
            });
            write_expr(out, plan, r);
        }
    }
}

pub fn call(plan: &Plan, c: &Call) -> String {
    let mut out = String::new();
    write_call(&mut out, plan, c);
    out
}

/// [`call`], appended to `out`.
pub fn write_call(out: &mut String, plan: &Plan, c: &Call) {
    out.push_str(&c.action);
    out.push('(');
    for (i, a) in c.args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&a.name);
        out.push_str(": ");
        write_expr(out, plan, &a.value);
    }
    out.push(')');
}

pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    write_escaped(&mut out, s);
    out.push('"');
    out
}

fn write_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}
