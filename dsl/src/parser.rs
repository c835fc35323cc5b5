//! Text → [`ast::File`], with the pest grammar in `grammar.pest`.
//!
//! A syntax error becomes one [`Diagnostic`] of kind `Syntax` at the place
//! pest gave up, its expectations spelled in words. Numbers that do not fit
//! are reported here too; everything else is left to the compiler.

use crate::ast::*;
use crate::comments;
use crate::diagnostic::{Diagnostic, Kind};
use crate::plan::Span;
use crate::source::{FileId, Loc, SourceFile};
use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "grammar.pest"]
struct Grammar;

mod lex;
mod split;

/// Parse one file. `file` is its id in the source map, `src` its text. A
/// big file is read in pieces on this machine's cores (see [`parse_in`]).
pub fn parse(file: FileId, src: &SourceFile) -> Result<File, Vec<Diagnostic>> {
    parse_in(file, src, cores(), MIN_PIECE)
}

/// The cores this process may use (asked once).
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The least text worth a thread of its own: below it, starting the thread
/// and joining the pieces cost more than they save.
pub const MIN_PIECE: usize = 64 * 1024;

/// [`parse`] with the file cut into at most `pieces` pieces of at least
/// `min_piece` bytes, each read on its own thread: the same AST, or the
/// same diagnostics, whatever the cut (a piece that does not parse sends
/// the file to the one-thread parse, whose errors are the file's).
pub fn parse_in(
    file: FileId,
    src: &SourceFile,
    pieces: usize,
    min_piece: usize,
) -> Result<File, Vec<Diagnostic>> {
    let prescan = lex::prescan(&src.text);
    if let Some(at) = prescan.too_deep {
        let (line, col) = src.line_col(at);
        return Err(vec![Diagnostic::at(
            Loc {
                file,
                span: Span {
                    start: at,
                    end: at + 1,
                    line,
                    col,
                },
            },
            Kind::NestedTooDeep { limit: MAX_NESTING },
        )]);
    }
    let comments = comments::scan(&src.text);
    if let Some(cuts) = prescan
        .block
        .and_then(|b| split::cuts(&src.text, b, pieces, min_piece))
    {
        if let Some(f) = parse_pieces(file, src, &comments, &cuts) {
            return Ok(f);
        }
    }
    let mut pairs = match Grammar::parse(Rule::file, &src.text) {
        Ok(p) => p,
        Err(e) => return Err(vec![syntax_error(file, src, e)]),
    };
    let mut b = Builder::new(file, src, &comments, Shift::NONE);
    let Some(top) = pairs.next() else {
        return Err(vec![Diagnostic::at(Loc::default(), Kind::EmptyParse)]);
    };
    let items = contents(top).map(|p| b.item(p)).collect();
    if b.errors.is_empty() {
        Ok(File { items })
    } else {
        Err(b.errors)
    }
}

/// The file read in the pieces `cuts` gives: its head (the file with the
/// cut block's statements from the first cut on taken out) on this thread,
/// each run of statements on one of its own; `None` when a piece does not
/// parse or builds with an error.
fn parse_pieces(
    file: FileId,
    src: &SourceFile,
    comments: &[comments::Comment],
    cuts: &split::Cuts,
) -> Option<File> {
    /// A thread's stack, as deep as the main thread's: the parser descends
    /// once per level of nesting.
    const STACK: usize = 8 << 20;
    let text = &src.text;
    let first = *cuts.at.first()?;
    let ends = cuts.at.iter().skip(1).copied().chain([cuts.close]);
    std::thread::scope(|s| {
        let runs: Vec<_> = cuts
            .at
            .iter()
            .zip(ends)
            .map(|(&start, end)| {
                std::thread::Builder::new()
                    .stack_size(STACK)
                    .spawn_scoped(s, move || statements(file, src, comments, start, end))
            })
            .collect();
        let head = [&text[..first], &text[cuts.close..]].concat();
        let mut pairs = Grammar::parse(Rule::file, &head).ok()?;
        let shift = Shift {
            base: 0,
            gap_at: first,
            gap: cuts.close - first,
        };
        let mut b = Builder::new(file, src, comments, shift);
        let items: Vec<Item> = contents(pairs.next()?).map(|p| b.item(p)).collect();
        if !b.errors.is_empty() {
            return None;
        }
        let mut f = File { items };
        let holds = |loc: &Loc| loc.span.start < first && first < loc.span.end;
        let block = f.items.iter_mut().find_map(|item| match item {
            Item::Runbook(r) if holds(&r.body.loc) => Some(&mut r.body),
            Item::Procedure(p) if holds(&p.body.loc) => Some(&mut p.body),
            _ => None,
        })?;
        for run in runs {
            block.stmts.extend(run.ok()?.join().ok()??);
        }
        Some(f)
    })
}

/// The statements of `src.text[start..end]`, read alone.
fn statements(
    file: FileId,
    src: &SourceFile,
    comments: &[comments::Comment],
    start: usize,
    end: usize,
) -> Option<Vec<Stmt>> {
    let mut pairs = Grammar::parse(Rule::stmts, src.text.get(start..end)?).ok()?;
    let shift = Shift {
        base: start,
        ..Shift::NONE
    };
    let mut b = Builder::new(file, src, comments, shift);
    let stmts = contents(pairs.next()?).map(|p| b.stmt(p)).collect();
    b.errors.is_empty().then_some(stmts)
}

/// Where the offsets of a text pest read lie in the file: a run of
/// statements read alone starts at `base`; a cut file's head lacks the
/// `gap` bytes from `gap_at` on.
#[derive(Debug, Clone, Copy)]
struct Shift {
    base: usize,
    gap_at: usize,
    gap: usize,
}

impl Shift {
    const NONE: Shift = Shift {
        base: 0,
        gap_at: usize::MAX,
        gap: 0,
    };

    /// A node's start: at the gap, it is the text after it.
    fn start(self, pos: usize) -> usize {
        self.base + pos + if pos >= self.gap_at { self.gap } else { 0 }
    }

    /// A node's end: at the gap, it is the text before it.
    fn end(self, pos: usize) -> usize {
        self.base + pos + if pos > self.gap_at { self.gap } else { 0 }
    }
}

/// How deep blocks (`{`), brackets (`(`, `[`), string interpolations and
/// runs of `not` may nest. The parser descends once per level, so a limit
/// keeps a pathological file from overflowing the stack; real runbooks nest
/// a handful of levels.
pub const MAX_NESTING: usize = 64;

/// How deep one expression may be once built (a chain of `and`, `or` or
/// fields is one level per link): everything that walks an expression —
/// the type checker, `fmt`, the executor's evaluation — descends that deep.
pub const MAX_EXPR_DEPTH: usize = 100;

/// The depth of an expression, counted without recursion.
fn expr_depth(e: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(e, 1usize)];
    while let Some((e, d)) = stack.pop() {
        deepest = deepest.max(d);
        match &e.kind {
            ExprKind::Field(x, _) | ExprKind::Not(x) => stack.push((x, d + 1)),
            ExprKind::Binary(_, l, r) => {
                stack.push((l, d + 1));
                stack.push((r, d + 1));
            }
            ExprKind::List(items) => stack.extend(items.iter().map(|x| (x, d + 1))),
            ExprKind::Str(pieces) => stack.extend(pieces.iter().filter_map(|p| match p {
                StrPiece::Expr(x) => Some((x, d + 1)),
                StrPiece::Lit(_) => None,
            })),
            ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Duration(_) | ExprKind::Name(_) => {}
        }
    }
    deepest
}

/// Drops an expression without recursion (a chain of 100,000 `and`s
/// would overflow the stack of the recursive drop).
fn dismantle(e: Expr) {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e.kind {
            ExprKind::Field(x, _) | ExprKind::Not(x) => stack.push(*x),
            ExprKind::Binary(_, l, r) => {
                stack.push(*l);
                stack.push(*r);
            }
            ExprKind::List(items) => stack.extend(items),
            ExprKind::Str(pieces) => stack.extend(pieces.into_iter().filter_map(|p| match p {
                StrPiece::Expr(x) => Some(x),
                StrPiece::Lit(_) => None,
            })),
            ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Duration(_) | ExprKind::Name(_) => {}
        }
    }
}

fn syntax_error(file: FileId, src: &SourceFile, e: pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match e.location {
        pest::error::InputLocation::Pos(p) => (p, p),
        pest::error::InputLocation::Span((s, e)) => (s, e),
    };
    // Point at the whole offending token, not just its first byte.
    let end = if end > start {
        end
    } else {
        let rest = &src.text[start.min(src.text.len())..];
        let len = rest
            .char_indices()
            .find(|(_, c)| c.is_whitespace() || "(){}[],:".contains(*c))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        start + len.max(rest.chars().next().map(char::len_utf8).unwrap_or(0))
    };
    let found = src
        .text
        .get(start..end)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    // A reserved word read as an operand (`name` leaves them to the
    // builder) followed by something no operand can be: the parser stops
    // after it, waiting for an operator; the word is the mistake.
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &e.variant {
        if positives.contains(&Rule::cmp_op) {
            if let Some((at, word)) = word_before(&src.text, start) {
                if is_reserved(word) && !matches!(word, "true" | "false") {
                    let loc = Loc {
                        file,
                        span: src.span(at, at + word.len()),
                    };
                    let name = word.to_string();
                    return Diagnostic::at(loc, Kind::ReservedWord { name });
                }
            }
        }
    }
    let expected = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            // Where any operand could start (after `and`, say), pest lists
            // every kind of literal: say "an expression" once instead.
            let operand = positives.contains(&Rule::name);
            // Where a step could start, any statement could: the grammar
            // tries the keyword statements only where their word is.
            let statements: &[Rule] = if positives.contains(&Rule::step_stmt) {
                &KEYWORD_STATEMENTS
            } else {
                &[]
            };
            let mut words: Vec<&str> = positives
                .iter()
                .chain(statements)
                .filter(|r| !(operand && starts_operand(**r)))
                .filter_map(|r| describe(*r))
                .chain(operand.then_some("an expression"))
                .collect();
            words.sort_unstable();
            words.dedup();
            words
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let loc = Loc {
        file,
        span: src.span(start, end),
    };
    Diagnostic::at(loc, Kind::Syntax { expected, found })
}

/// The statements that start with a keyword (`stmt_word` in the grammar).
const KEYWORD_STATEMENTS: [Rule; 8] = [
    Rule::param_stmt,
    Rule::schedule_stmt,
    Rule::retain_stmt,
    Rule::commit_stmt,
    Rule::approve_stmt,
    Rule::quiesce_stmt,
    Rule::for_stmt,
    Rule::return_stmt,
];

/// The word that ends just before `at` (blanks between), and where it starts.
fn word_before(text: &str, at: usize) -> Option<(usize, &str)> {
    let end = text.get(..at)?.trim_end().len();
    let start = text[..end]
        .char_indices()
        .rfind(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    (start < end).then(|| (start, &text[start..end]))
}

/// The rules an operand of an expression may start with.
fn starts_operand(r: Rule) -> bool {
    matches!(
        r,
        Rule::string | Rule::duration | Rule::int | Rule::list | Rule::name | Rule::k_not
    )
}

/// Rule names as a reader would say them; `None` hides plumbing rules.
fn describe(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::EOI => "end of file",
        Rule::ident | Rule::name | Rule::word | Rule::binding | Rule::field => "a name",
        Rule::keyword => "a keyword",
        Rule::qname => "an action name",
        Rule::string => "a string",
        Rule::int => "an integer",
        Rule::duration => "a duration (e.g. 30s)",
        Rule::expr => "an expression",
        Rule::type_expr | Rule::list_type => "a type",
        Rule::import | Rule::k_import => "`import`",
        Rule::runbook | Rule::k_runbook => "`runbook`",
        Rule::procedure | Rule::k_procedure => "`procedure`",
        Rule::type_decl | Rule::k_type => "`type`",
        Rule::action_decl | Rule::k_action => "`action`",
        Rule::method_decl => "`quiesce method`",
        Rule::block => "`{`",
        Rule::param_stmt | Rule::k_param => "`param`",
        Rule::schedule_stmt | Rule::k_schedule => "`schedule`",
        Rule::tz_clause | Rule::k_tz => "`tz`",
        Rule::retain_stmt | Rule::k_retain => "`retain`",
        Rule::retain_part | Rule::retain_key => "`last`, `hourly`, `daily`, `weekly` or `monthly`",
        Rule::commit_stmt | Rule::k_commit => "`commit`",
        Rule::k_default => "`default`",
        Rule::commit_default => "`commit` or `rollback`",
        Rule::approve_stmt | Rule::k_approve => "`approve`",
        Rule::quiesce_stmt | Rule::k_quiesce => "`quiesce`",
        Rule::for_stmt | Rule::k_for => "`for`",
        Rule::return_stmt | Rule::k_return => "`return`",
        Rule::step_stmt | Rule::call => "a step (`name = ns.action(…)`)",
        Rule::k_by => "`by`",
        Rule::k_in => "`in`",
        Rule::k_via => "`via`",
        Rule::k_within => "`within`",
        Rule::one_at_a_time | Rule::k_one => "`one at a time`",
        Rule::method_ref => "a quiesce method",
        Rule::method_args => "`(`",
        Rule::parallel_clause | Rule::k_parallel => "`parallel`",
        Rule::retry_attr | Rule::k_retry => "`retry`",
        Rule::k_backoff => "`backoff`",
        Rule::timeout_attr | Rule::k_timeout => "`timeout`",
        Rule::estimate_attr | Rule::k_estimate => "`estimate`",
        Rule::compensate_attr | Rule::k_compensate => "`compensate`",
        Rule::cleanup_attr | Rule::k_cleanup => "`cleanup`",
        Rule::when_attr | Rule::k_when => "`when`",
        Rule::after_attr | Rule::k_after => "`after`",
        Rule::k_and => "`and`",
        Rule::k_or => "`or`",
        Rule::cmp_op => "`==` or `!=`",
        Rule::named_arg | Rule::pos_arg => "an argument",
        Rule::sig_param => "a parameter (`name: type`)",
        Rule::ret_type => "`->`",
        Rule::field_decl => "a field (`name: type`)",
        Rule::kind_attr | Rule::k_kind => "`kind`",
        Rule::effect => "`read`, `mutate` or `destroy`",
        Rule::undo_attr | Rule::k_undo => "`undo`",
        Rule::undo_none => "`none`",
        Rule::list => "a list",
        Rule::str_text | Rule::str_esc | Rule::interp => "string text",
        _ => return None,
    })
}

fn is_keyword(r: Rule) -> bool {
    matches!(
        r,
        Rule::k_import
            | Rule::k_runbook
            | Rule::k_procedure
            | Rule::k_param
            | Rule::k_schedule
            | Rule::k_tz
            | Rule::k_retain
            | Rule::k_approve
            | Rule::k_quiesce
            | Rule::k_by
            | Rule::k_in
            | Rule::k_via
            | Rule::k_within
            | Rule::k_for
            | Rule::k_parallel
            | Rule::k_return
            | Rule::k_retry
            | Rule::k_backoff
            | Rule::k_timeout
            | Rule::k_compensate
            | Rule::k_cleanup
            | Rule::k_when
            | Rule::k_after
            | Rule::k_and
            | Rule::k_or
            | Rule::k_not
            | Rule::k_type
            | Rule::k_action
            | Rule::k_kind
            | Rule::k_undo
            | Rule::k_method
            | Rule::k_freeze
            | Rule::k_thaw
            | Rule::k_estimate
            | Rule::k_use
            | Rule::k_one
            | Rule::k_at
            | Rule::k_a
            | Rule::k_time
            | Rule::k_commit
            | Rule::k_default
    )
}

/// The reserved words: the grammar's `keyword` rule, which a test holds this
/// list to. A declared name (`ident`) refuses them in the grammar; the names
/// read most often (`word`, `name`) are refused here, by the builder.
pub const RESERVED: [&str; 26] = [
    "after",
    "and",
    "approve",
    "by",
    "cleanup",
    "compensate",
    "false",
    "for",
    "import",
    "in",
    "not",
    "or",
    "parallel",
    "param",
    "procedure",
    "quiesce",
    "retain",
    "retry",
    "return",
    "runbook",
    "schedule",
    "timeout",
    "true",
    "via",
    "when",
    "within",
];

/// Asked of every name the builder reads: a hash and one comparison, not a
/// search of the list.
fn is_reserved(word: &str) -> bool {
    static SET: std::sync::OnceLock<rustc_hash::FxHashSet<&str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| RESERVED.into_iter().collect())
        .contains(word)
}

/// What a whole text holds (the items of a `file`, the statements of
/// `stmts`): the top pair's children but the end of input.
fn contents(top: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    kids(top).filter(|p| p.as_rule() != Rule::EOI)
}

/// The children of a pair, keywords left out.
fn kids(p: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    p.into_inner().filter(|c| !is_keyword(c.as_rule()))
}

struct Builder<'s> {
    file: FileId,
    src: &'s SourceFile,
    errors: Vec<Diagnostic>,
    comments: &'s [comments::Comment],
    /// Where the text pest read lies in the file.
    shift: Shift,
    /// The line of the last position located: nodes are mostly visited in
    /// text order, so the next one is usually on it or the next line.
    line: std::cell::Cell<usize>,
}

/// The grammar guarantees the shape of every pair; a missing child would be a
/// bug in this file, and is reported as a diagnostic rather than a panic.
macro_rules! next {
    ($b:expr, $it:expr, $p:expr) => {
        match $it.next() {
            Some(x) => x,
            None => return $b.internal($p),
        }
    };
}

impl<'s> Builder<'s> {
    fn new(
        file: FileId,
        src: &'s SourceFile,
        comments: &'s [comments::Comment],
        shift: Shift,
    ) -> Self {
        Builder {
            file,
            src,
            errors: Vec::new(),
            comments,
            shift,
            line: std::cell::Cell::new(0),
        }
    }

    fn loc(&self, p: &Pair<'_, Rule>) -> Loc {
        // pest leaves the blanks and comments after a node's last token inside its span.
        let s = p.as_span();
        let start = self.shift.start(s.start());
        let end = self.shift.end(s.end());
        let end = comments::trim_end(&self.src.text, self.comments, start, end);
        let mut line = self.line.get();
        let span = self.src.span_near(start, end, &mut line);
        self.line.set(line);
        Loc {
            file: self.file,
            span,
        }
    }

    fn internal<T: Placeholder>(&mut self, loc: Loc) -> T {
        self.errors
            .push(Diagnostic::at(loc, Kind::UnexpectedTreeShape));
        T::placeholder(loc)
    }

    /// A name. A `word` (a step's or an argument's name) is refused, with
    /// the reason, when it is a reserved word: the grammar leaves that to
    /// this check (an `ident` it has checked; a `field` may be any word).
    fn ident(&mut self, p: Pair<'_, Rule>) -> Ident {
        let id = Ident {
            name: p.as_str().to_string(),
            loc: self.loc(&p),
        };
        if p.as_rule() == Rule::word {
            self.refuse_reserved(&id.name, id.loc);
        }
        id
    }

    fn refuse_reserved(&mut self, name: &str, loc: Loc) {
        if is_reserved(name) {
            self.errors.push(Diagnostic::at(
                loc,
                Kind::ReservedWord {
                    name: name.to_string(),
                },
            ));
        }
    }

    fn item(&mut self, p: Pair<'_, Rule>) -> Item {
        let loc = self.loc(&p);
        let rule = p.as_rule();
        let mut it = kids(p);
        match rule {
            Rule::import => Item::Import(Import {
                path: self.expr_any(next!(self, it, loc)),
                loc,
            }),
            Rule::runbook => {
                let name = self.ident(next!(self, it, loc));
                let title = self.expr_any(next!(self, it, loc));
                let body = self.block(next!(self, it, loc));
                Item::Runbook(Runbook {
                    name,
                    title,
                    body,
                    loc,
                })
            }
            Rule::procedure => {
                let name = self.ident(next!(self, it, loc));
                let mut params = Vec::new();
                let mut ret = None;
                let mut body = None;
                for c in it {
                    match c.as_rule() {
                        Rule::sig_param => params.push(self.sig_param(c)),
                        Rule::ret_type => ret = Some(self.ret_type(c)),
                        _ => body = Some(self.block(c)),
                    }
                }
                let body = match body {
                    Some(b) => b,
                    None => return self.internal(loc),
                };
                Item::Procedure(Procedure {
                    name,
                    params,
                    ret,
                    body,
                    loc,
                })
            }
            Rule::type_decl => {
                let name = self.ident(next!(self, it, loc));
                let fields = it
                    .map(|f| {
                        let floc = self.loc(&f);
                        let mut fi = kids(f);
                        let name = match fi.next() {
                            Some(n) => self.ident(n),
                            None => return self.internal(floc),
                        };
                        let ty = match fi.next() {
                            Some(t) => self.type_expr(t),
                            None => return self.internal(floc),
                        };
                        FieldDecl {
                            name,
                            ty,
                            loc: floc,
                        }
                    })
                    .collect();
                Item::Type(TypeDecl { name, fields, loc })
            }
            Rule::action_decl => {
                let name = self.ident(next!(self, it, loc));
                let mut params = Vec::new();
                let mut ret = None;
                let mut attrs = Vec::new();
                for c in it {
                    let cloc = self.loc(&c);
                    match c.as_rule() {
                        Rule::sig_param => params.push(self.sig_param(c)),
                        Rule::ret_type => ret = Some(self.ret_type(c)),
                        Rule::kind_attr => match kids(c).next() {
                            Some(e) => attrs.push(ActionAttr::Kind(self.ident(e))),
                            None => return self.internal(cloc),
                        },
                        Rule::undo_attr => match kids(c).next() {
                            Some(u) if u.as_rule() == Rule::undo_none => {
                                attrs.push(ActionAttr::Undo(None, cloc))
                            }
                            Some(u) => attrs.push(ActionAttr::Undo(Some(self.call(u)), cloc)),
                            None => return self.internal(cloc),
                        },
                        Rule::retry_attr => attrs.push(ActionAttr::Retry(self.retry(c))),
                        Rule::timeout_attr => match kids(c).next() {
                            Some(d) => attrs.push(ActionAttr::Timeout(self.duration(d), cloc)),
                            None => return self.internal(cloc),
                        },
                        Rule::estimate_attr => match kids(c).next() {
                            Some(d) => attrs.push(ActionAttr::Estimate(self.duration(d), cloc)),
                            None => return self.internal(cloc),
                        },
                        _ => return self.internal(cloc),
                    }
                }
                Item::Action(ActionDecl {
                    name,
                    params,
                    ret,
                    attrs,
                    loc,
                })
            }
            Rule::method_decl => {
                let name = self.expr_any(next!(self, it, loc));
                let freeze = self.ident(next!(self, it, loc));
                let thaw = self.ident(next!(self, it, loc));
                Item::Method(MethodDecl {
                    name,
                    freeze,
                    thaw,
                    loc,
                })
            }
            _ => self.internal(loc),
        }
    }

    fn ret_type(&mut self, p: Pair<'_, Rule>) -> TypeExpr {
        let loc = self.loc(&p);
        match kids(p).next() {
            Some(t) => self.type_expr(t),
            None => self.internal(loc),
        }
    }

    fn sig_param(&mut self, p: Pair<'_, Rule>) -> SigParam {
        let loc = self.loc(&p);
        let mut it = kids(p);
        let name = self.ident(next!(self, it, loc));
        let ty = self.type_expr(next!(self, it, loc));
        let default = it.next().map(|e| self.expr_any(e));
        SigParam {
            name,
            ty,
            default,
            loc,
        }
    }

    fn type_expr(&mut self, p: Pair<'_, Rule>) -> TypeExpr {
        let loc = self.loc(&p);
        let inner = match kids(p).next() {
            Some(i) => i,
            None => return self.internal(loc),
        };
        match inner.as_rule() {
            Rule::list_type => {
                let elem = match kids(inner).next() {
                    Some(e) => self.type_expr(e),
                    None => return self.internal(loc),
                };
                TypeExpr {
                    kind: TypeExprKind::List(Box::new(elem)),
                    loc,
                }
            }
            _ => TypeExpr {
                kind: TypeExprKind::Named(inner.as_str().to_string()),
                loc,
            },
        }
    }

    fn block(&mut self, p: Pair<'_, Rule>) -> Block {
        let loc = self.loc(&p);
        let stmts = kids(p).map(|s| self.stmt(s)).collect();
        Block { stmts, loc }
    }

    fn stmt(&mut self, p: Pair<'_, Rule>) -> Stmt {
        let loc = self.loc(&p);
        let rule = p.as_rule();
        let mut it = kids(p);
        match rule {
            Rule::param_stmt => Stmt::Param(self.sig_param(next!(self, it, loc)), loc),
            Rule::schedule_stmt => {
                let cron = self.expr_any(next!(self, it, loc));
                let tz = match it.next() {
                    Some(t) => {
                        let tloc = self.loc(&t);
                        match kids(t).next() {
                            Some(s) => Some(self.expr_any(s)),
                            None => return self.internal(tloc),
                        }
                    }
                    None => None,
                };
                Stmt::Schedule(Schedule { cron, tz, loc })
            }
            Rule::retain_stmt => {
                let mut parts = Vec::new();
                for part in it {
                    let ploc = self.loc(&part);
                    let mut pi = kids(part);
                    let key = self.ident(next!(self, pi, ploc));
                    let count = self.int(next!(self, pi, ploc));
                    parts.push(RetainPart {
                        key,
                        count,
                        loc: ploc,
                    });
                }
                Stmt::Retain(Retain { parts, loc })
            }
            Rule::commit_stmt => {
                let within = self.duration(next!(self, it, loc));
                let default = self.ident(next!(self, it, loc));
                Stmt::Commit(CommitStmt {
                    within,
                    default,
                    loc,
                })
            }
            Rule::approve_stmt => {
                let prompt = self.expr_any(next!(self, it, loc));
                let attrs = it.map(|a| self.attr(a)).collect();
                Stmt::Approve(ApproveStmt { prompt, attrs, loc })
            }
            Rule::return_stmt => Stmt::Return(self.expr_any(next!(self, it, loc)), loc),
            Rule::quiesce_stmt => {
                let targets = self.expr_any(next!(self, it, loc));
                let by = self.ident(next!(self, it, loc));
                let order = self.expr_any(next!(self, it, loc));
                let mut next = next!(self, it, loc);
                let one_at_a_time = next.as_rule() == Rule::one_at_a_time;
                if one_at_a_time {
                    next = next!(self, it, loc);
                }
                let method = self.method_ref(next);
                let within = self.duration(next!(self, it, loc));
                let mut attrs = Vec::new();
                let mut body = None;
                for c in it {
                    if c.as_rule() == Rule::block {
                        body = Some(self.block(c));
                    } else {
                        attrs.push(self.attr(c));
                    }
                }
                let body = match body {
                    Some(b) => b,
                    None => return self.internal(loc),
                };
                Stmt::Quiesce(Box::new(QuiesceStmt {
                    targets,
                    by,
                    order,
                    one_at_a_time,
                    method,
                    within,
                    attrs,
                    body,
                    loc,
                }))
            }
            Rule::for_stmt => {
                let var = self.ident(next!(self, it, loc));
                let over = self.expr_any(next!(self, it, loc));
                let mut parallel = None;
                let mut attrs = Vec::new();
                let mut body = None;
                for c in it {
                    match c.as_rule() {
                        Rule::block => body = Some(self.block(c)),
                        Rule::parallel_clause => {
                            let ploc = self.loc(&c);
                            match kids(c).next() {
                                Some(n) => parallel = Some((self.int(n), ploc)),
                                None => return self.internal(ploc),
                            }
                        }
                        _ => attrs.push(self.attr(c)),
                    }
                }
                let body = match body {
                    Some(b) => b,
                    None => return self.internal(loc),
                };
                Stmt::For(Box::new(ForStmt {
                    var,
                    over,
                    parallel,
                    attrs,
                    body,
                    loc,
                }))
            }
            Rule::step_stmt => {
                let mut binding = None;
                let mut inline = false;
                let mut call = None;
                let mut attrs = Vec::new();
                for c in it {
                    match c.as_rule() {
                        Rule::binding => {
                            let bloc = self.loc(&c);
                            match kids(c).next() {
                                Some(n) => binding = Some(self.ident(n)),
                                None => return self.internal(bloc),
                            }
                        }
                        Rule::call => call = Some(self.call(c)),
                        Rule::use_mark => inline = true,
                        _ => attrs.push(self.attr(c)),
                    }
                }
                let call = match call {
                    Some(c) => c,
                    None => return self.internal(loc),
                };
                Stmt::Step(StepStmt {
                    binding,
                    inline,
                    call,
                    attrs,
                    loc,
                })
            }
            _ => self.internal(loc),
        }
    }

    fn method_ref(&mut self, p: Pair<'_, Rule>) -> MethodRef {
        let loc = self.loc(&p);
        let mut it = kids(p);
        let n = next!(self, it, loc);
        let name = if n.as_rule() == Rule::string {
            MethodName::Literal(self.expr_any(n))
        } else {
            MethodName::Name(self.ident(n))
        };
        let args = it.next().map(|a| kids(a).map(|x| self.arg(x)).collect());
        MethodRef { name, args, loc }
    }

    fn attr(&mut self, p: Pair<'_, Rule>) -> Attr {
        let loc = self.loc(&p);
        let rule = p.as_rule();
        let mut it = kids(p.clone());
        match rule {
            Rule::retry_attr => Attr::Retry(self.retry(p)),
            Rule::timeout_attr => Attr::Timeout(self.duration(next!(self, it, loc)), loc),
            Rule::compensate_attr => {
                let c = next!(self, it, loc);
                if c.as_rule() == Rule::undo_none {
                    Attr::Compensate(None, loc)
                } else {
                    Attr::Compensate(Some(self.call(c)), loc)
                }
            }
            Rule::cleanup_attr => Attr::Cleanup(self.call(next!(self, it, loc)), loc),
            Rule::when_attr => Attr::When(self.expr_any(next!(self, it, loc)), loc),
            Rule::after_attr => Attr::After(it.map(|i| self.ident(i)).collect(), loc),
            _ => self.internal(loc),
        }
    }

    fn retry(&mut self, p: Pair<'_, Rule>) -> Retry {
        let loc = self.loc(&p);
        let mut it = kids(p);
        let count = self.int(next!(self, it, loc));
        let backoff = it.next().map(|d| self.duration(d));
        Retry {
            count,
            backoff,
            loc,
        }
    }

    fn duration(&self, p: Pair<'_, Rule>) -> Duration {
        Duration {
            text: p.as_str().to_string(),
            loc: self.loc(&p),
        }
    }

    fn int(&mut self, p: Pair<'_, Rule>) -> i64 {
        match p.as_str().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                let loc = self.loc(&p);
                self.errors.push(Diagnostic::at(
                    loc,
                    Kind::IntegerTooLarge {
                        text: p.as_str().to_string(),
                    },
                ));
                0
            }
        }
    }

    fn call(&mut self, p: Pair<'_, Rule>) -> Call {
        let loc = self.loc(&p);
        let mut it = kids(p);
        let name = self.ident(next!(self, it, loc));
        let args = it.map(|a| self.arg(a)).collect();
        Call { name, args, loc }
    }

    fn arg(&mut self, p: Pair<'_, Rule>) -> Arg {
        let loc = self.loc(&p);
        let rule = p.as_rule();
        let mut it = kids(p);
        if rule == Rule::named_arg {
            let name = self.ident(next!(self, it, loc));
            let value = self.expr_any(next!(self, it, loc));
            Arg {
                name: Some(name),
                value,
                loc,
            }
        } else {
            Arg {
                name: None,
                value: self.expr_any(next!(self, it, loc)),
                loc,
            }
        }
    }

    /// Any expression-level pair (`expr`, `string`, `ident`, …).
    /// An expression, refused when deeper than [`MAX_EXPR_DEPTH`].
    fn expr_any(&mut self, p: Pair<'_, Rule>) -> Expr {
        let whole = p.clone();
        let e = self.expr_inner(p);
        if expr_depth(&e) > MAX_EXPR_DEPTH {
            let loc = self.loc(&whole);
            self.errors.push(Diagnostic::at(
                loc,
                Kind::ExpressionTooDeep {
                    limit: MAX_EXPR_DEPTH,
                },
            ));
            dismantle(e);
            return Expr {
                kind: ExprKind::Bool(false),
                loc,
            };
        }
        e
    }

    /// The recursion under [`Builder::expr_any`] (which checks the depth of
    /// the whole once). An `expr` pair is flat — operands, `not`s, fields and
    /// operators in source order — and [`Builder::flat`] applies the
    /// precedence; every other pair here is one operand.
    fn expr_inner(&mut self, p: Pair<'_, Rule>) -> Expr {
        let rule = p.as_rule();
        if rule == Rule::expr {
            let loc = self.loc(&p);
            let mut it = p.into_inner().peekable();
            return self.or_chain(&mut it, loc);
        }
        let loc = self.loc(&p);
        match rule {
            Rule::string => {
                let mut pieces: Vec<StrPiece> = Vec::new();
                for part in p.into_inner() {
                    match part.as_rule() {
                        Rule::str_text => push_lit(&mut pieces, part.as_str()),
                        Rule::str_esc => {
                            let c = match part.as_str() {
                                "\\n" => "\n",
                                "\\t" => "\t",
                                other => &other[1..],
                            };
                            push_lit(&mut pieces, c);
                        }
                        Rule::interp => {
                            let iloc = self.loc(&part);
                            match kids(part).next() {
                                Some(e) => pieces.push(StrPiece::Expr(self.expr_inner(e))),
                                None => return self.internal(iloc),
                            }
                        }
                        _ => return self.internal(loc),
                    }
                }
                Expr {
                    kind: ExprKind::Str(pieces),
                    loc,
                }
            }
            Rule::int => Expr {
                kind: ExprKind::Int(self.int(p)),
                loc,
            },
            Rule::duration => Expr {
                kind: ExprKind::Duration(self.duration(p)),
                loc,
            },
            Rule::list => Expr {
                kind: ExprKind::List(kids(p).map(|e| self.expr_inner(e)).collect()),
                loc,
            },
            Rule::name => match p.as_str() {
                "true" => Expr {
                    kind: ExprKind::Bool(true),
                    loc,
                },
                "false" => Expr {
                    kind: ExprKind::Bool(false),
                    loc,
                },
                word => {
                    self.refuse_reserved(word, loc);
                    Expr {
                        kind: ExprKind::Name(word.to_string()),
                        loc,
                    }
                }
            },
            _ => self.internal(loc),
        }
    }
}

type Flat<'i> = std::iter::Peekable<pest::iterators::Pairs<'i, Rule>>;

impl Builder<'_> {
    /// `a or b or …`, each side an `and` chain: `or` binds loosest.
    fn or_chain(&mut self, it: &mut Flat<'_>, loc: Loc) -> Expr {
        let mut acc = self.and_chain(it, loc);
        while it.next_if(|t| t.as_rule() == Rule::k_or).is_some() {
            let rhs = self.and_chain(it, loc);
            acc = binary(BinOp::Or, acc, rhs);
        }
        acc
    }

    /// `a and b and …`, each side a possibly negated comparison.
    fn and_chain(&mut self, it: &mut Flat<'_>, loc: Loc) -> Expr {
        let mut acc = self.not_term(it, loc);
        while it.next_if(|t| t.as_rule() == Rule::k_and).is_some() {
            let rhs = self.not_term(it, loc);
            acc = binary(BinOp::And, acc, rhs);
        }
        acc
    }

    /// `not … not a == b`: each `not` applies to everything after it.
    fn not_term(&mut self, it: &mut Flat<'_>, loc: Loc) -> Expr {
        let mut nots = Vec::new();
        while let Some(k) = it.next_if(|t| t.as_rule() == Rule::k_not) {
            nots.push(self.loc(&k));
        }
        let lhs = self.postfix(it, loc);
        let mut e = match it.next_if(|t| t.as_rule() == Rule::cmp_op) {
            Some(op) => {
                let op = if op.as_str() == "==" {
                    BinOp::Eq
                } else {
                    BinOp::Ne
                };
                let rhs = self.postfix(it, loc);
                binary(op, lhs, rhs)
            }
            None => lhs,
        };
        for at in nots.into_iter().rev() {
            e = Expr {
                loc: at.to(e.loc),
                kind: ExprKind::Not(Box::new(e)),
            };
        }
        e
    }

    /// An operand and the `.field`s after it.
    fn postfix(&mut self, it: &mut Flat<'_>, loc: Loc) -> Expr {
        let Some(first) = it.next() else {
            return self.internal(loc);
        };
        let mut acc = self.expr_inner(first);
        while let Some(field) = it.next_if(|t| t.as_rule() == Rule::field) {
            let f = self.ident(field);
            acc = Expr {
                loc: acc.loc.to(f.loc),
                kind: ExprKind::Field(Box::new(acc), f),
            };
        }
        acc
    }
}

fn binary(op: BinOp, l: Expr, r: Expr) -> Expr {
    Expr {
        loc: l.loc.to(r.loc),
        kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
    }
}

fn push_lit(pieces: &mut Vec<StrPiece>, s: &str) {
    if let Some(StrPiece::Lit(last)) = pieces.last_mut() {
        last.push_str(s);
    } else {
        pieces.push(StrPiece::Lit(s.to_string()));
    }
}

/// A stand-in value after an internal error, so parsing can finish.
trait Placeholder {
    fn placeholder(loc: Loc) -> Self;
}

impl Placeholder for Expr {
    fn placeholder(loc: Loc) -> Self {
        Expr {
            kind: ExprKind::Bool(false),
            loc,
        }
    }
}

impl Placeholder for Item {
    fn placeholder(loc: Loc) -> Self {
        Item::Import(Import {
            path: Expr::placeholder(loc),
            loc,
        })
    }
}

impl Placeholder for Stmt {
    fn placeholder(loc: Loc) -> Self {
        Stmt::Return(Expr::placeholder(loc), loc)
    }
}

impl Placeholder for Attr {
    fn placeholder(loc: Loc) -> Self {
        Attr::After(Vec::new(), loc)
    }
}

impl Placeholder for TypeExpr {
    fn placeholder(loc: Loc) -> Self {
        TypeExpr {
            kind: TypeExprKind::Named("none".into()),
            loc,
        }
    }
}

impl Placeholder for FieldDecl {
    fn placeholder(loc: Loc) -> Self {
        FieldDecl {
            name: Ident {
                name: String::new(),
                loc,
            },
            ty: TypeExpr::placeholder(loc),
            loc,
        }
    }
}

impl Placeholder for SigParam {
    fn placeholder(loc: Loc) -> Self {
        SigParam {
            name: Ident {
                name: String::new(),
                loc,
            },
            ty: TypeExpr::placeholder(loc),
            default: None,
            loc,
        }
    }
}

impl Placeholder for MethodRef {
    fn placeholder(loc: Loc) -> Self {
        MethodRef {
            name: MethodName::Literal(Expr::placeholder(loc)),
            args: None,
            loc,
        }
    }
}

impl Placeholder for Retry {
    fn placeholder(loc: Loc) -> Self {
        Retry {
            count: 0,
            backoff: None,
            loc,
        }
    }
}

impl Placeholder for Call {
    fn placeholder(loc: Loc) -> Self {
        Call {
            name: Ident {
                name: String::new(),
                loc,
            },
            args: Vec::new(),
            loc,
        }
    }
}

impl Placeholder for Arg {
    fn placeholder(loc: Loc) -> Self {
        Arg {
            name: None,
            value: Expr::placeholder(loc),
            loc,
        }
    }
}

impl Placeholder for Block {
    fn placeholder(loc: Loc) -> Self {
        Block {
            stmts: Vec::new(),
            loc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn too_deep(text: &str) -> Option<usize> {
        lex::prescan(text).too_deep
    }

    #[test]
    fn nesting_is_bounded_before_the_parser_descends() {
        assert_eq!(
            too_deep("runbook r \"t\" { x = a.b(\"{c} {d}\") # ((((\n }"),
            None
        );
        let deep = format!(
            "{}{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert_eq!(too_deep(&deep), Some(MAX_NESTING));
        let nots = format!("when {} b", "not ".repeat(MAX_NESTING + 1));
        assert!(too_deep(&nots).is_some());
        // A string's text is not code: its brackets and words do not count…
        let in_string = format!("\"{} {}\"", "(".repeat(100), "not ".repeat(100));
        assert_eq!(too_deep(&in_string), None);
        // …but its interpolations do, and the string resumes after them.
        let interp = format!("\"{}x{}\" (", "{(".repeat(40), ")}".repeat(40));
        assert!(too_deep(&interp).is_some());
        assert_eq!(too_deep("\"a {b} (((\" ((x))"), None);
    }

    /// The shape of `e`, operators spelled out: `(or (and (not (== a b)) c) d)`.
    fn shape(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Name(n) => n.clone(),
            ExprKind::Str(_) => "str".into(),
            ExprKind::Not(x) => format!("(not {})", shape(x)),
            ExprKind::Field(x, f) => format!("(. {} {})", shape(x), f.name),
            ExprKind::Binary(op, l, r) => {
                let op = match op {
                    BinOp::Or => "or",
                    BinOp::And => "and",
                    BinOp::Eq => "==",
                    BinOp::Ne => "!=",
                };
                format!("({op} {} {})", shape(l), shape(r))
            }
            other => format!("{other:?}"),
        }
    }

    fn parse_when(cond: &str) -> Result<(String, Span), String> {
        let text = format!("runbook r \"t\" {{\n  x = a.b() when {cond}\n}}\n");
        let src = SourceFile::new("t.dr", text);
        let file = parse(FileId(0), &src).map_err(|d| d[0].message())?;
        let Item::Runbook(rb) = &file.items[0] else {
            panic!("a runbook")
        };
        let Stmt::Step(step) = &rb.body.stmts[0] else {
            panic!("a step")
        };
        let e = step
            .attrs
            .iter()
            .find_map(|a| match a {
                Attr::When(e, _) => Some(e),
                _ => None,
            })
            .expect("a when");
        Ok((shape(e), e.loc.span))
    }

    #[test]
    fn flat_expressions_get_the_precedence_of_the_language() {
        let cases = [
            ("a or b and c", "(or a (and b c))"),
            ("a and b or c", "(or (and a b) c)"),
            ("not a == b and c or d", "(or (and (not (== a b)) c) d)"),
            ("not not a", "(not (not a))"),
            ("a.b.c != \"x\"", "(!= (. (. a b) c) str)"),
            ("(a or b).c and d", "(and (. (or a b) c) d)"),
            ("a == (b == c)", "(== a (== b c))"),
            ("a or b or c", "(or (or a b) c)"),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_when(text).map(|(s, _)| s),
                Ok(want.to_string()),
                "{text}"
            );
        }
        // The whole condition is located, `not` included.
        let (_, span) = parse_when("not a == b").unwrap();
        assert_eq!((span.col, span.end - span.start), (18, 10));
    }

    #[test]
    fn comparisons_do_not_chain_and_operands_are_not_optional() {
        for (text, says) in [
            ("a == b == c", "found `==`"),
            ("a and", "expected an expression"),
            ("not", "expected an expression"),
            ("a == not b", "expected an expression"),
        ] {
            let err = parse_when(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn string_text_is_any_character_but_a_quote_a_backslash_a_brace_or_a_newline() {
        // `str_text` spells its set as ranges; every character is checked.
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let text = c.to_string();
            let whole = Grammar::parse(Rule::str_text, &text)
                .map(|mut p| p.next().unwrap().as_str() == text)
                .unwrap_or(false);
            assert_eq!(whole, !matches!(c, '"' | '\\' | '{' | '\n'), "{c:?}");
        }
    }

    #[test]
    fn the_reserved_list_is_the_grammars_keyword_rule() {
        // Each line of the rule is a first letter and the rests of the words
        // starting with it: `"a" ~ ("nd" | "pprove" | "fter")`.
        let grammar = include_str!("grammar.pest");
        let start = grammar.find("keyword = @{").expect("the keyword rule");
        let end = start + grammar[start..].find("\n}").expect("its end");
        let mut words: Vec<String> = Vec::new();
        for line in grammar[start..end].lines() {
            let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
            if let [first, rests @ ..] = quoted.as_slice() {
                words.extend(rests.iter().map(|r| format!("{first}{r}")));
            }
        }
        words.sort();
        let listed: Vec<String> = RESERVED.iter().map(|w| w.to_string()).collect();
        assert_eq!(words, listed, "the same words, and the list sorted");
        for w in RESERVED {
            let whole = Grammar::parse(Rule::keyword, w).map(|mut p| p.next().unwrap().as_str());
            assert_eq!(whole.ok(), Some(w), "the grammar reserves `{w}`");
        }
    }

    #[test]
    fn a_reserved_word_is_no_name_wherever_a_name_goes() {
        let cases = [
            // Refused by the builder, with the reason.
            ("runbook r \"t\" {\n  when = a.b()\n}\n", (2, 3), "reserved"),
            (
                "runbook r \"t\" {\n  x = a.b(when: 1)\n}\n",
                (2, 11),
                "reserved",
            ),
            (
                "runbook r \"t\" {\n  x = a.b(y: retain)\n}\n",
                (2, 14),
                "reserved",
            ),
            (
                "runbook r \"t\" {\n  x = a.b() when y or in\n}\n",
                (2, 23),
                "reserved",
            ),
            // A reserved word taken for an operand, then something no
            // operator can follow: the word is pointed at, not what follows.
            (
                "runbook r \"t\" {\n  x = a.b() when runbook vnf\n}\n",
                (2, 18),
                "reserved",
            ),
            (
                "runbook r \"t\" {\n  x = a.b(site: \"a\", import tag: vnf)\n}\n",
                (2, 22),
                "reserved",
            ),
            // Refused by the grammar where a name is declared.
            ("runbook for \"t\" {\n}\n", (1, 9), "expected a name"),
            (
                "runbook r \"t\" {\n  param in: int\n}\n",
                (2, 9),
                "expected a name",
            ),
            (
                "runbook r \"t\" {\n  param p: list<via>\n}\n",
                (2, 17),
                "expected a type",
            ),
            (
                "runbook r \"t\" {\n  for by in xs {\n  }\n}\n",
                (2, 7),
                "expected a name",
            ),
            (
                "runbook r \"t\" {\n  x = a.b() after y, schedule\n}\n",
                (2, 22),
                "expected a name",
            ),
        ];
        for (text, place, says) in cases {
            let src = SourceFile::new("t.dr", text);
            let err = parse(FileId(0), &src).expect_err(text);
            let message = err[0].message();
            let says = if says == "reserved" {
                "is a reserved word, not a name"
            } else {
                says
            };
            assert!(message.contains(says), "{text}: {message}");
            assert_eq!((err[0].loc.span.line, err[0].loc.span.col), place, "{text}");
        }
        // What stands before the word may be any character (the fuzzer
        // found a panic on a two-byte one).
        let src = SourceFile::new("t.dr", "runbook r \"t\" {\n  x = a.b(ل retain x)\n}\n");
        let err = parse(FileId(0), &src).expect_err("a syntax error");
        assert!(!err.is_empty());
        assert_eq!(
            word_before("aل retain", "aل retain".len()),
            Some((4, "retain"))
        );
        assert_eq!(word_before("ل", 2), None);
        // After a dot, any word: a field or an action's name.
        let src = SourceFile::new("t.dr", "runbook r \"t\" {\n  x = a.in(y.for)\n}\n");
        assert!(parse(FileId(0), &src).is_ok());
    }

    #[test]
    fn a_reserved_word_cannot_name_a_step() {
        let src = SourceFile::new("t.dr", "runbook r \"t\" {\n  when = a.b()\n}\n");
        let err = parse(FileId(0), &src).expect_err("reserved");
        assert_eq!(err[0].message(), "`when` is a reserved word, not a name");
        assert_eq!((err[0].loc.span.line, err[0].loc.span.col), (2, 3));
    }
}
