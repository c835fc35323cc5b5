//! The canonical layout of a `.dr` file (`lifeboat fmt`).
//!
//! The file is parsed and printed back from the AST: two-space indents, one
//! statement per line, `name: value` arguments, single spaces around
//! operators, blank lines kept (at most one in a row), a step's attributes
//! on its line when the whole fits in 100 columns and one per line below it
//! otherwise; a call or a declaration's parameter list that does not fit
//! in 100 columns one item per line, each with a trailing comma. Comments are not in the AST: they are scanned from the text and
//! re-attached by position — a comment on its own line goes before the next
//! line printed after it, a comment after code stays at the end of that
//! line. Formatting a formatted file changes nothing.

use crate::ast::*;
use crate::comments::{self, Comment};
use crate::diagnostic::Diagnostic;
use crate::parser;
use crate::source::{FileId, Loc, SourceFile};

const WIDTH: usize = 100;

/// Format a file's text, or the syntax errors that prevent it.
pub fn format(path: &str, text: &str) -> Result<String, Vec<Diagnostic>> {
    let src = SourceFile::new(path, text);
    let file = parser::parse(FileId(0), &src)?;
    let mut p = Printer {
        src: text,
        comments: comments::scan(text),
        next: 0,
        out: String::new(),
        indent: 0,
        fresh: true,
    };
    for item in &file.items {
        p.item(item);
    }
    p.flush_comments(text.len() + 1);
    Ok(p.out)
}

struct Printer<'s> {
    src: &'s str,
    comments: Vec<Comment>,
    next: usize,
    out: String,
    indent: usize,
    /// Nothing printed yet in this block: no blank line before the first line.
    fresh: bool,
}

impl Printer<'_> {
    fn blank_before(&self, pos: usize) -> bool {
        let before = &self.src[..pos.min(self.src.len())];
        let ws: &str = &before[before.trim_end_matches([' ', '\t', '\r', '\n']).len()..];
        ws.matches('\n').count() >= 2
    }

    fn pad(&mut self) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    fn flush_comments(&mut self, before: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= before {
                break;
            }
            if self.blank_before(c.start) && !self.fresh {
                self.out.push('\n');
            }
            let text = c.text.clone();
            self.pad();
            self.out.push_str(&text);
            self.out.push('\n');
            self.fresh = false;
            self.next += 1;
        }
    }

    /// Start a line for a construct beginning at `start`.
    fn open_line(&mut self, start: usize) {
        self.flush_comments(start);
        if self.blank_before(start) && !self.fresh {
            self.out.push('\n');
        }
        self.fresh = false;
        self.pad();
    }

    /// End the line of a construct ending at `end`, with its trailing comment.
    fn close_line(&mut self, end: usize) {
        if let Some(c) = self.comments.get(self.next) {
            if c.start >= end
                && self.src[end..c.start]
                    .chars()
                    .all(|ch| ch == ' ' || ch == '\t')
            {
                let text = c.text.clone();
                self.out.push_str("  ");
                self.out.push_str(&text);
                self.next += 1;
            }
        }
        self.out.push('\n');
    }

    fn item(&mut self, item: &Item) {
        let loc = item.loc();
        self.open_line(loc.span.start);
        match item {
            Item::Import(i) => {
                self.out.push_str(&format!("import {}", expr(&i.path)));
                self.close_line(loc.span.end);
            }
            Item::Runbook(r) => {
                self.out
                    .push_str(&format!("runbook {} {} ", r.name.name, expr(&r.title)));
                self.block(&r.body);
            }
            Item::Procedure(p) => {
                let ret = p.ret.as_ref().map(|t| format!(" -> {}", ty(t)));
                let suffix = format!("{} {{", ret.clone().unwrap_or_default());
                self.signature("procedure ", &p.name.name, &p.params, &suffix);
                if let Some(r) = ret {
                    self.out.push_str(&r);
                }
                self.out.push(' ');
                self.block(&p.body);
            }
            Item::Type(t) => {
                self.out.push_str(&format!("type {} {{", t.name.name));
                self.close_line(t.name.loc.span.end);
                self.indent += 1;
                self.fresh = true;
                let width = t
                    .fields
                    .iter()
                    .map(|f| f.name.name.len() + 2 + ty(&f.ty).len())
                    .max()
                    .unwrap_or(0);
                for f in &t.fields {
                    self.open_line(f.loc.span.start);
                    let line = format!("{}: {}", f.name.name, ty(&f.ty));
                    self.out.push_str(&line);
                    if self.trailing_comment(f.loc.span.end) {
                        self.out.push_str(&" ".repeat(width - line.len()));
                    }
                    self.close_line(f.loc.span.end);
                }
                self.close_block(t.loc.span.end);
            }
            Item::Action(a) => {
                let ret = a.ret.as_ref().map(|t| format!(" -> {}", ty(t)));
                let suffix = format!("{} {{", ret.clone().unwrap_or_default());
                self.signature("action ", &a.name.name, &a.params, &suffix);
                if let Some(r) = ret {
                    self.out.push_str(&r);
                }
                self.out.push_str(" {");
                let head_end = a
                    .ret
                    .as_ref()
                    .map(|t| t.loc.span.end)
                    .unwrap_or(a.name.loc.span.end);
                self.close_line(head_end);
                self.indent += 1;
                self.fresh = true;
                for attr in &a.attrs {
                    let (text, l) = match attr {
                        ActionAttr::Kind(k) => (format!("kind {}", k.name), k.loc),
                        ActionAttr::Undo(None, l) => ("undo none".to_string(), *l),
                        ActionAttr::Undo(Some(c), l) => (format!("undo {}", call(c)), *l),
                        ActionAttr::Retry(r) => (retry(r), r.loc),
                        ActionAttr::Timeout(d, l) => (format!("timeout {}", d.text), *l),
                        ActionAttr::Estimate(d, l) => (format!("estimate {}", d.text), *l),
                    };
                    self.open_line(l.span.start);
                    self.out.push_str(&text);
                    self.close_line(l.span.end);
                }
                self.close_block(a.loc.span.end);
            }
            Item::Method(m) => {
                self.out.push_str(&format!(
                    "quiesce method {} freeze {} thaw {}",
                    expr(&m.name),
                    m.freeze.name,
                    m.thaw.name
                ));
                self.close_line(loc.span.end);
            }
        }
    }

    /// A step whose call does not fit in [`WIDTH`] columns: one argument
    /// per line, each with a trailing comma, then `)` and the attributes
    /// (on that line when they fit, else one per line below it).
    fn wrapped_step(&mut self, st: &StepStmt, lhs: &str, attrs: &[String]) {
        self.out.push_str(&format!("{lhs}{}(", st.call.name.name));
        self.out.push('\n');
        let items: Vec<(String, Loc)> = st.call.args.iter().map(|a| (arg_text(a), a.loc)).collect();
        self.list_lines(&items, st.call.loc.span.end.saturating_sub(1));
        self.pad();
        self.out.push(')');
        let end = st.loc.span.end;
        let tail = attrs.join(" ");
        if attrs.is_empty() {
            self.close_line(end);
        } else if self.indent * 2 + 2 + tail.chars().count() <= WIDTH {
            self.out.push(' ');
            self.out.push_str(&tail);
            self.close_line(end);
        } else {
            self.close_line(st.call.loc.span.end);
            self.indent += 1;
            for (a, text) in st.attrs.iter().zip(attrs) {
                self.open_line(a.loc().span.start);
                self.out.push_str(text);
                self.close_line(a.loc().span.end);
            }
            self.indent -= 1;
        }
    }

    /// The items of a wrapped list, one per line one level in, each with a
    /// trailing comma and its comments; the comments before `close` (the
    /// list's closing bracket) stay inside it.
    fn list_lines(&mut self, items: &[(String, Loc)], close: usize) {
        self.indent += 1;
        for (text, loc) in items {
            self.open_line(loc.span.start);
            self.out.push_str(text);
            self.out.push(',');
            self.close_line(self.after_comma(loc.span.end));
        }
        self.flush_comments(close);
        self.indent -= 1;
    }

    /// `end`, or just past the comma that follows it (spaces between): where
    /// a comment after a list item starts its trailing part.
    fn after_comma(&self, end: usize) -> usize {
        let rest = &self.src[end.min(self.src.len())..];
        let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if rest[skipped..].starts_with(',') {
            end + skipped + 1
        } else {
            end
        }
    }

    /// The position of the first `)` at or after `from`, else `from`.
    fn close_paren(&self, from: usize) -> usize {
        self.src[from.min(self.src.len())..]
            .find(')')
            .map(|i| from + i)
            .unwrap_or(from)
    }

    /// `name(params)` of a declaration, wrapped one parameter per line when
    /// `prefix` + it + `suffix` does not fit in [`WIDTH`] columns; the text
    /// after it (`-> type {`) is the caller's.
    fn signature(&mut self, prefix: &str, name: &str, ps: &[SigParam], suffix: &str) {
        let flat = format!("{prefix}{name}({})", params(ps));
        if ps.is_empty() || self.indent * 2 + flat.chars().count() + suffix.len() <= WIDTH {
            self.out.push_str(&flat);
            return;
        }
        self.out.push_str(&format!("{prefix}{name}("));
        self.out.push('\n');
        let items: Vec<(String, Loc)> = ps.iter().map(|p| (param(p), p.loc)).collect();
        let last = ps.last().map(|p| p.loc.span.end).unwrap_or(0);
        self.list_lines(&items, self.close_paren(last));
        self.pad();
        self.out.push(')');
    }

    fn trailing_comment(&self, end: usize) -> bool {
        self.comments.get(self.next).is_some_and(|c| {
            c.start >= end
                && self.src[end..c.start]
                    .chars()
                    .all(|ch| ch == ' ' || ch == '\t')
        })
    }

    /// `{`, the statements, `}` — the opening brace already on the line.
    fn block(&mut self, b: &Block) {
        self.out.push('{');
        self.close_line(b.loc.span.start + 1);
        self.indent += 1;
        self.fresh = true;
        for s in &b.stmts {
            self.stmt(s);
        }
        self.close_block(b.loc.span.end);
    }

    fn close_block(&mut self, end: usize) {
        self.flush_comments(end.saturating_sub(1));
        self.indent -= 1;
        self.pad();
        self.out.push('}');
        self.fresh = false;
        self.close_line(end);
    }

    fn stmt(&mut self, s: &Stmt) {
        let loc = s.loc();
        self.open_line(loc.span.start);
        match s {
            Stmt::Param(p, _) => {
                self.out.push_str(&format!("param {}", param(p)));
                self.close_line(loc.span.end);
            }
            Stmt::Schedule(sc) => {
                self.out.push_str(&format!("schedule {}", expr(&sc.cron)));
                if let Some(tz) = &sc.tz {
                    self.out.push_str(&format!(" tz {}", expr(tz)));
                }
                self.close_line(loc.span.end);
            }
            Stmt::Retain(r) => {
                let parts: Vec<String> = r
                    .parts
                    .iter()
                    .map(|p| format!("{} {}", p.key.name, p.count))
                    .collect();
                self.out.push_str(&format!("retain {}", parts.join(", ")));
                self.close_line(loc.span.end);
            }
            Stmt::Commit(c) => {
                self.out.push_str(&format!(
                    "commit within {} default {}",
                    c.within.text, c.default.name
                ));
                self.close_line(loc.span.end);
            }
            Stmt::Return(e, _) => {
                self.out.push_str(&format!("return {}", expr(e)));
                self.close_line(loc.span.end);
            }
            Stmt::Approve(a) => {
                self.out.push_str(&format!("approve {}", expr(&a.prompt)));
                for attr in &a.attrs {
                    self.out.push(' ');
                    self.out.push_str(&attr_text(attr));
                }
                self.close_line(loc.span.end);
            }
            Stmt::Quiesce(q) => {
                let method = match &q.method.name {
                    MethodName::Literal(e) => expr(e),
                    MethodName::Name(i) => i.name.clone(),
                };
                let margs = match &q.method.args {
                    Some(a) => format!("({})", args(a)),
                    None => String::new(),
                };
                self.out.push_str(&format!(
                    "quiesce {} by {} in {}{} via {method}{margs} within {}",
                    expr(&q.targets),
                    q.by.name,
                    expr(&q.order),
                    if q.one_at_a_time {
                        " one at a time"
                    } else {
                        ""
                    },
                    q.within.text
                ));
                for attr in &q.attrs {
                    self.out.push(' ');
                    self.out.push_str(&attr_text(attr));
                }
                self.out.push(' ');
                self.block(&q.body);
            }
            Stmt::For(f) => {
                self.out
                    .push_str(&format!("for {} in {}", f.var.name, expr(&f.over)));
                if let Some((n, _)) = f.parallel {
                    self.out.push_str(&format!(" parallel {n}"));
                }
                for attr in &f.attrs {
                    self.out.push(' ');
                    self.out.push_str(&attr_text(attr));
                }
                self.out.push(' ');
                self.block(&f.body);
            }
            Stmt::Step(st) => {
                let used = if st.inline { "use " } else { "" };
                let lhs = match &st.binding {
                    Some(b) => format!("{} = {used}", b.name),
                    None => used.to_string(),
                };
                let head = format!("{lhs}{}", call(&st.call));
                let attrs: Vec<String> = st.attrs.iter().map(attr_text).collect();
                if self.indent * 2 + head.chars().count() > WIDTH && !st.call.args.is_empty() {
                    self.wrapped_step(st, &lhs, &attrs);
                    return;
                }
                let one_line = std::iter::once(head.clone())
                    .chain(attrs.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" ");
                if attrs.is_empty() || self.indent * 2 + one_line.chars().count() <= WIDTH {
                    self.out.push_str(&one_line);
                    self.close_line(loc.span.end);
                } else {
                    self.out.push_str(&head);
                    self.close_line(st.call.loc.span.end);
                    self.indent += 1;
                    for (a, text) in st.attrs.iter().zip(attrs) {
                        self.open_line(a.loc().span.start);
                        self.out.push_str(&text);
                        self.close_line(a.loc().span.end);
                    }
                    self.indent -= 1;
                }
            }
        }
    }
}

fn attr_text(a: &Attr) -> String {
    match a {
        Attr::Retry(r) => retry(r),
        Attr::Timeout(d, _) => format!("timeout {}", d.text),
        Attr::Compensate(Some(c), _) => format!("compensate {}", call(c)),
        Attr::Compensate(None, _) => "compensate none".to_string(),
        Attr::Cleanup(c, _) => format!("cleanup {}", call(c)),
        Attr::When(e, _) => format!("when {}", expr(e)),
        Attr::After(names, _) => format!(
            "after {}",
            names
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn retry(r: &Retry) -> String {
    match &r.backoff {
        Some(b) => format!("retry {} backoff {}", r.count, b.text),
        None => format!("retry {}", r.count),
    }
}

fn params(ps: &[SigParam]) -> String {
    ps.iter().map(param).collect::<Vec<_>>().join(", ")
}

fn param(p: &SigParam) -> String {
    match &p.default {
        Some(d) => format!("{}: {} = {}", p.name.name, ty(&p.ty), expr(d)),
        None => format!("{}: {}", p.name.name, ty(&p.ty)),
    }
}

fn ty(t: &TypeExpr) -> String {
    match &t.kind {
        TypeExprKind::Named(n) => n.clone(),
        TypeExprKind::List(inner) => format!("list<{}>", ty(inner)),
    }
}

fn call(c: &Call) -> String {
    format!("{}({})", c.name.name, args(&c.args))
}

fn args(a: &[Arg]) -> String {
    a.iter().map(arg_text).collect::<Vec<_>>().join(", ")
}

fn arg_text(a: &Arg) -> String {
    match &a.name {
        Some(n) => format!("{}: {}", n.name, expr(&a.value)),
        None => expr(&a.value),
    }
}

fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(BinOp::Or, ..) => 1,
        ExprKind::Binary(BinOp::And, ..) => 2,
        ExprKind::Not(_) => 3,
        ExprKind::Binary(..) => 4,
        _ => 5,
    }
}

/// An expression in canonical form, parenthesised where precedence needs it.
pub fn expr(e: &Expr) -> String {
    at(e, 0)
}

fn at(e: &Expr, min: u8) -> String {
    let s = match &e.kind {
        ExprKind::Str(pieces) => {
            let mut s = String::from("\"");
            for p in pieces {
                match p {
                    StrPiece::Lit(t) => {
                        for c in t.chars() {
                            match c {
                                '"' => s.push_str("\\\""),
                                '\\' => s.push_str("\\\\"),
                                '{' => s.push_str("\\{"),
                                '\n' => s.push_str("\\n"),
                                '\t' => s.push_str("\\t"),
                                c => s.push(c),
                            }
                        }
                    }
                    StrPiece::Expr(x) => {
                        s.push('{');
                        s.push_str(&expr(x));
                        s.push('}');
                    }
                }
            }
            s.push('"');
            s
        }
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Duration(d) => d.text.clone(),
        ExprKind::List(items) => format!(
            "[{}]",
            items.iter().map(expr).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Name(n) => n.clone(),
        ExprKind::Field(b, f) => format!("{}.{}", at(b, 5), f.name),
        ExprKind::Not(x) => format!("not {}", at(x, 3)),
        ExprKind::Binary(op, l, r) => {
            let (text, lp, rp) = match op {
                BinOp::Or => ("or", 1, 2),
                BinOp::And => ("and", 2, 3),
                BinOp::Eq => ("==", 5, 5),
                BinOp::Ne => ("!=", 5, 5),
            };
            format!("{} {text} {}", at(l, lp), at(r, rp))
        }
    };
    if prec(e) < min {
        format!("({s})")
    } else {
        s
    }
}
