//! Plan expressions and calls printed in the language's syntax, with step
//! ids replaced by step names and loop-variable ids by the variable's name.

use crate::duration::format_ms;
use crate::plan::{BinOp, Call, Expr, NodeKind, Piece, Plan, RunField};

pub fn expr(plan: &Plan, e: &Expr) -> String {
    match e {
        Expr::Str(s) => quote(s),
        Expr::Int(n) => n.to_string(),
        Expr::Bool(b) => b.to_string(),
        Expr::Duration(ms) => format_ms(*ms),
        Expr::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| expr(plan, i))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Expr::Interp(pieces) => {
            let mut s = String::from("\"");
            for p in pieces {
                match p {
                    Piece::Lit(t) => s.push_str(&escape(t)),
                    Piece::Expr(x) => {
                        s.push('{');
                        s.push_str(&expr(plan, x));
                        s.push('}');
                    }
                }
            }
            s.push('"');
            s
        }
        Expr::Param(p) => p.clone(),
        Expr::Step(id) => plan
            .nodes
            .get(id.index())
            .map(|n| n.name.clone())
            .unwrap_or_else(|| id.to_string()),
        Expr::LoopVar(id) => match plan.nodes.get(id.index()).map(|n| &n.kind) {
            Some(NodeKind::ForEach(f)) => f.var.clone(),
            _ => id.to_string(),
        },
        Expr::Run(f) => match f {
            RunField::Id => "run.id".into(),
            RunField::Started => "run.started".into(),
            RunField::Runbook => "run.runbook".into(),
        },
        Expr::Result => "result".into(),
        Expr::Input(n) => n.clone(),
        Expr::Field(b, f) => match b.as_ref() {
            Expr::Not(_) | Expr::Binary(..) => format!("({}).{f}", expr(plan, b)),
            _ => format!("{}.{f}", expr(plan, b)),
        },
        Expr::Not(x) => format!("not {}", expr(plan, x)),
        Expr::Binary(op, l, r) => {
            let op = match op {
                BinOp::Eq => "==",
                BinOp::Ne => "!=",
                BinOp::And => "and",
                BinOp::Or => "or",
            };
            format!("{} {op} {}", expr(plan, l), expr(plan, r))
        }
    }
}

pub fn call(plan: &Plan, c: &Call) -> String {
    let args: Vec<String> = c
        .args
        .iter()
        .map(|a| format!("{}: {}", a.name, expr(plan, &a.value)))
        .collect();
    format!("{}({})", c.action, args.join(", "))
}

pub fn quote(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

fn escape(s: &str) -> String {
    let mut out = String::new();
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
    out
}
