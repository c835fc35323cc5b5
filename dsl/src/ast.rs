//! The syntax tree of a `.dr` file, as written.
//!
//! Nothing here is resolved or checked: names are strings, durations keep
//! their text, types are as spelled. The parser builds it, the formatter
//! prints it back, the catalogue and the compiler read it. Every node keeps a
//! [`Loc`] for diagnostics; locations are ignored by `==` (see [`crate::source`]).

use crate::source::Loc;

#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Import(Import),
    Runbook(Runbook),
    Procedure(Procedure),
    Type(TypeDecl),
    Action(ActionDecl),
    Method(MethodDecl),
}

impl Item {
    pub fn loc(&self) -> Loc {
        match self {
            Item::Import(i) => i.loc,
            Item::Runbook(r) => r.loc,
            Item::Procedure(p) => p.loc,
            Item::Type(t) => t.loc,
            Item::Action(a) => a.loc,
            Item::Method(m) => m.loc,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub loc: Loc,
}

/// `import "path.dr"`
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub path: Expr,
    pub loc: Loc,
}

/// `runbook NAME "title" { … }`
#[derive(Debug, Clone, PartialEq)]
pub struct Runbook {
    pub name: Ident,
    pub title: Expr,
    pub body: Block,
    pub loc: Loc,
}

/// `procedure NAME(p: T, q: T = d) [-> T] { … }`
#[derive(Debug, Clone, PartialEq)]
pub struct Procedure {
    pub name: Ident,
    pub params: Vec<SigParam>,
    pub ret: Option<TypeExpr>,
    pub body: Block,
    pub loc: Loc,
}

/// `name: TYPE [= default]` in a signature or a `param` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct SigParam {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeExprKind {
    Named(String),
    List(Box<TypeExpr>),
}

/// `type NAME { field: TYPE … }`
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDecl {
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub loc: Loc,
}

/// `action ns.name(params) -> T { attributes }`
#[derive(Debug, Clone, PartialEq)]
pub struct ActionDecl {
    pub name: Ident,
    pub params: Vec<SigParam>,
    pub ret: Option<TypeExpr>,
    pub attrs: Vec<ActionAttr>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionAttr {
    Kind(Ident),
    /// `undo CALL`, or `undo none` (`None`).
    Undo(Option<Call>, Loc),
    Retry(Retry),
    Timeout(Duration, Loc),
    /// `estimate D`: how long a call usually takes (the plan's estimates).
    Estimate(Duration, Loc),
}

/// `quiesce method "NAME" freeze ACTION thaw ACTION`
#[derive(Debug, Clone, PartialEq)]
pub struct MethodDecl {
    pub name: Expr,
    pub freeze: Ident,
    pub thaw: Ident,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub loc: Loc,
}

impl Block {
    /// Its statements and those of the blocks in it: about as many steps as
    /// it lowers to, before procedures are inlined.
    pub fn stmts_in(&self) -> usize {
        let mut n = 0;
        let mut stack = vec![self];
        while let Some(b) = stack.pop() {
            n += b.stmts.len();
            stack.extend(b.stmts.iter().filter_map(|s| match s {
                Stmt::Quiesce(q) => Some(&q.body),
                Stmt::For(f) => Some(&f.body),
                _ => None,
            }));
        }
        n
    }
}

/// Statements are built once and walked a few times; boxing the large
/// variants would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Param(SigParam, Loc),
    Schedule(Schedule),
    Retain(Retain),
    Commit(CommitStmt),
    Approve(ApproveStmt),
    Quiesce(Box<QuiesceStmt>),
    For(Box<ForStmt>),
    Return(Expr, Loc),
    Step(StepStmt),
}

impl Stmt {
    pub fn loc(&self) -> Loc {
        match self {
            Stmt::Param(_, l) | Stmt::Return(_, l) => *l,
            Stmt::Schedule(s) => s.loc,
            Stmt::Retain(r) => r.loc,
            Stmt::Commit(c) => c.loc,
            Stmt::Approve(a) => a.loc,
            Stmt::Quiesce(q) => q.loc,
            Stmt::For(f) => f.loc,
            Stmt::Step(s) => s.loc,
        }
    }
}

/// `schedule "CRON" [tz "Area/City"]`
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub cron: Expr,
    pub tz: Option<Expr>,
    pub loc: Loc,
}

/// `retain last N, daily N, …`
#[derive(Debug, Clone, PartialEq)]
pub struct Retain {
    pub parts: Vec<RetainPart>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetainPart {
    pub key: Ident,
    pub count: i64,
    pub loc: Loc,
}

/// `commit within D default commit|rollback`
#[derive(Debug, Clone, PartialEq)]
pub struct CommitStmt {
    pub within: Duration,
    /// `commit` or `rollback`, as written.
    pub default: Ident,
    pub loc: Loc,
}

/// `approve "text"`
#[derive(Debug, Clone, PartialEq)]
pub struct ApproveStmt {
    pub prompt: Expr,
    pub attrs: Vec<Attr>,
    pub loc: Loc,
}

/// `quiesce TARGETS by FIELD in ORDER [one at a time] via METHOD within D { … }`
#[derive(Debug, Clone, PartialEq)]
pub struct QuiesceStmt {
    pub targets: Expr,
    pub by: Ident,
    pub order: Expr,
    /// `one at a time`: each target frozen alone, in order (else each group
    /// of targets with the same `by` value at once).
    pub one_at_a_time: bool,
    pub method: MethodRef,
    pub within: Duration,
    pub attrs: Vec<Attr>,
    pub body: Block,
    pub loc: Loc,
}

/// `pause`, `"nova-quiesce"`, `method` (a variable), `hook(url: u)`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodRef {
    pub name: MethodName,
    pub args: Option<Vec<Arg>>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MethodName {
    Literal(Expr),
    Name(Ident),
}

/// `for VAR in EXPR [parallel N] { … }`
#[derive(Debug, Clone, PartialEq)]
pub struct ForStmt {
    pub var: Ident,
    pub over: Expr,
    pub parallel: Option<(i64, Loc)>,
    pub attrs: Vec<Attr>,
    pub body: Block,
    pub loc: Loc,
}

/// `[x =] CALL attributes…`, or `[x =] use PROC(…) attributes…`
#[derive(Debug, Clone, PartialEq)]
pub struct StepStmt {
    pub binding: Option<Ident>,
    /// `use`: a procedure call whose steps keep their own names.
    pub inline: bool,
    pub call: Call,
    pub attrs: Vec<Attr>,
    pub loc: Loc,
}

/// `ns.action(a, b, name: c)` or `procedure(…)`
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: Ident,
    pub args: Vec<Arg>,
    pub loc: Loc,
}

/// A positional (`name: None`) or named argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Retry(Retry),
    Timeout(Duration, Loc),
    /// `compensate CALL`, or `compensate none` (`None`): no compensation,
    /// not even the catalogue's undo.
    Compensate(Option<Call>, Loc),
    Cleanup(Call, Loc),
    When(Expr, Loc),
    After(Vec<Ident>, Loc),
}

impl Attr {
    pub fn loc(&self) -> Loc {
        match self {
            Attr::Retry(r) => r.loc,
            Attr::Timeout(_, l)
            | Attr::Compensate(_, l)
            | Attr::Cleanup(_, l)
            | Attr::When(_, l)
            | Attr::After(_, l) => *l,
        }
    }

    /// The keyword that starts the attribute.
    pub fn keyword(&self) -> &'static str {
        match self {
            Attr::Retry(_) => "retry",
            Attr::Timeout(..) => "timeout",
            Attr::Compensate(..) => "compensate",
            Attr::Cleanup(..) => "cleanup",
            Attr::When(..) => "when",
            Attr::After(..) => "after",
        }
    }
}

/// `retry N [backoff D]`
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    pub count: i64,
    pub backoff: Option<Duration>,
    pub loc: Loc,
}

/// A duration literal as written (`30s`); checked by the compiler.
#[derive(Debug, Clone, PartialEq)]
pub struct Duration {
    pub text: String,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A string literal, its text split into literal text and `{expr}` pieces.
    Str(Vec<StrPiece>),
    Int(i64),
    Bool(bool),
    Duration(Duration),
    List(Vec<Expr>),
    Name(String),
    Field(Box<Expr>, Ident),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum StrPiece {
    Lit(String),
    Expr(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Eq,
    Ne,
    And,
    Or,
}

impl Expr {
    /// The text of a string literal without interpolation.
    pub fn as_plain_str(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Str(pieces) => {
                let mut s = String::new();
                for p in pieces {
                    match p {
                        StrPiece::Lit(t) => s.push_str(t),
                        StrPiece::Expr(_) => return None,
                    }
                }
                Some(s)
            }
            _ => None,
        }
    }
}
