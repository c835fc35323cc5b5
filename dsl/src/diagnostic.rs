//! Diagnostics: what is wrong with a runbook, where, and what to do about it.
//!
//! One [`Kind`] enum names every diagnostic the language produces, with the
//! facts it is about as fields (`UnknownField { field, record, known }`). Its
//! message, label and help are written once, here, in [`Kind::message`],
//! [`Kind::label`] and [`Kind::help`]; the compiler only says which kind, with
//! which facts, at which place: `Diagnostic::at(loc, Kind::…)`. Several
//! variants may share a code (`lifeboat::<kind>`, [`Kind::code`]): the code
//! names the mistake, the variant the situation it was found in. Its default
//! severity ([`Kind::severity`]) is an error or a warning.
//!
//! A [`Diagnostic`] carries the kind, the primary location and secondary
//! labels. [`Diagnostic::report`] turns it into a `miette::Report` with the
//! source attached for rendering.

use crate::source::{Loc, SourceMap};
use crate::types::Ty;
use miette::{LabeledSpan, NamedSource, SourceSpan};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// Every kind of diagnostic, with what it is about. Grouped by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    // lifeboat::syntax — the text does not follow the grammar.
    /// Where the parser stopped: what it expected (in words), and the token
    /// it found (`None`: the end of the file).
    Syntax {
        expected: Vec<&'static str>,
        found: Option<String>,
    },
    /// A reserved word given as the name of a step or an argument.
    ReservedWord { name: String },
    /// The grammar matched nothing at all (a parser bug).
    EmptyParse,
    /// The parse tree has a shape the builder does not expect (a parser bug).
    UnexpectedTreeShape,

    // lifeboat::import
    /// An imported file cannot be read.
    Import { path: String, why: String },

    // lifeboat::duplicate-item
    /// Two types, actions, procedures, runbooks, quiesce methods or record
    /// fields with one name.
    DuplicateItem { item: Declared, name: String },

    // lifeboat::unknown-type
    /// A type name that is neither built in nor declared.
    UnknownType {
        name: String,
        suggestion: Option<String>,
    },

    // lifeboat::catalogue — a catalogue declaration that is incomplete or
    // inconsistent.
    /// An action name without `namespace.`.
    NoNamespace { action: String },
    /// An action without `kind`.
    NoEffect { action: String },
    /// A freeze action with no parameter for the target.
    NoTargetParameter { freeze: String },
    /// A thaw action whose first parameter is not of the freeze's target type.
    ThawTargetDiffers {
        thaw: String,
        target: Ty,
        freeze: String,
    },

    // lifeboat::unknown-action
    /// A call of an action or procedure that does not exist.
    UnknownAction { name: String, looked_for: Callee },

    // lifeboat::unknown-name
    /// A name that is no parameter, binding or loop variable.
    UnknownName {
        name: String,
        suggestion: Option<String>,
    },
    /// A name in a catalogue `undo` that is neither `result` nor a parameter.
    UnknownUndoName { name: String },

    // lifeboat::unknown-field
    /// `a.b` where the record type of `a` has no field `b`.
    UnknownField {
        field: String,
        record: String,
        known: Vec<String>,
    },
    /// `run.x` for a field `run` does not have.
    UnknownRunField { field: String },

    // lifeboat::unknown-argument
    /// A named argument the callee does not take.
    UnknownArgument { name: String, signature: Signature },
    /// A named argument the quiesce method does not take (`known`: the ones
    /// it takes).
    UnknownMethodArgument { name: String, known: Vec<String> },

    // lifeboat::missing-argument
    /// Required arguments not given: their names and types.
    MissingArgument {
        callee: String,
        missing: Vec<(String, Ty)>,
    },

    // lifeboat::too-many-arguments
    /// A positional argument (1-based `position`) past the last parameter.
    TooManyArguments {
        position: usize,
        signature: Signature,
    },

    // lifeboat::duplicate-argument
    /// The same argument twice.
    DuplicateArgument { name: String },

    // lifeboat::type-mismatch — a value of the wrong type.
    /// A value of type `found` where `context` takes an `expected`.
    TypeMismatch {
        expected: Ty,
        found: Ty,
        context: Context,
    },
    /// `==`/`!=` of two types that never compare equal.
    CannotCompare { left: Ty, right: Ty },
    /// A list or record interpolated into a string.
    NotInterpolable { found: Ty },
    /// `.field` read from a value that is no record.
    NoFields { found: Ty, field: String },
    /// `for` over something that is not a list.
    NotIterable { found: Ty },
    /// A runbook `param` of a type no command line can give.
    NotAParameterType { found: Ty },
    /// A binding of the call of a procedure that returns nothing.
    NothingToBind { procedure: String },
    /// Quiesce targets that are not a list.
    TargetsNotList { found: Ty },
    /// Quiesce targets: a list of `item`, not of records.
    TargetsNotRecords { item: Ty },
    /// A quiesce order that is not a list.
    OrderNotList { found: Ty },
    /// A quiesce method whose freeze takes `freezes`, on a list of `targets`.
    MethodTargetType {
        method: String,
        freezes: Ty,
        targets: String,
    },

    // lifeboat::duplicate-binding — a name bound twice in one runbook or
    // procedure.
    /// A step result (or procedure result) bound to a name already taken.
    AlreadyBound { name: String },
    /// A parameter declared twice (in a signature, or as runbook `param`s).
    DuplicateParameter { name: String },
    /// A loop variable whose name is already bound.
    LoopVarAlreadyBound { name: String },
    /// A loop variable with the name of an enclosing loop's.
    LoopVarShadows { name: String },

    // lifeboat::loop-var-outside-loop
    /// A loop variable read outside its `for`.
    LoopVarOutsideLoop { name: String },
    /// The result of a procedure called inside a loop, read outside it.
    ResultOutsideLoop { name: String },

    // lifeboat::cycle
    /// Steps that wait for each other, in order.
    Cycle { steps: Vec<String> },
    /// A step that reads its own result, or (`inner`) a step inside it.
    WaitsForItself { step: String, inner: Option<String> },

    // lifeboat::destroy-without-approve
    /// A `destroy` action run as a step with no `approve` before it.
    DestroyWithoutApprove { action: String },

    // lifeboat::undo-not-arranged (a warning)
    /// A `mutate` step that nothing can take back.
    UndoNotArranged { action: String },

    // lifeboat::bad-duration
    /// A duration that is not `N(ms|s|m|h|d)` or is out of range.
    BadDuration { why: String },
    /// A timeout, backoff or `within` of zero (`what` names it).
    ZeroDuration { what: &'static str },

    // lifeboat::bad-cron
    /// A cron expression that is not five valid fields.
    BadCron { why: String },

    // lifeboat::bad-timezone
    /// A time zone not in the IANA database.
    BadTimezone { why: String },

    // lifeboat::bad-retain — a malformed `retain` policy.
    /// A part of `retain` given twice.
    RetainTwice { part: String },
    /// A part of `retain` with a count out of range.
    RetainOutOfRange { part: String, count: i64 },

    // lifeboat::unknown-quiesce-method
    /// A quiesce method the catalogue does not know (`known`: the ones it
    /// does).
    UnknownQuiesceMethod { name: String, known: Vec<String> },

    // lifeboat::misplaced — something where it is not allowed.
    /// A statement outside the one place it belongs.
    Misplaced { statement: Statement },
    /// A statement given a second time.
    Repeated { statement: Statement },
    /// `use` before a call of an action.
    UseBeforeAction,
    /// An attribute other than `when`/`after` on a procedure call.
    AttributeOnCall { attribute: &'static str },
    /// A positional argument after a named one.
    PositionalAfterNamed,
    /// A procedure declaring a result that it never returns.
    NeverReturns { procedure: String },
    /// A procedure returning a value with no result type declared.
    UndeclaredResult { procedure: String },

    // lifeboat::duplicate-attribute
    /// The same attribute twice on one step.
    DuplicateAttribute { attribute: &'static str },
    /// The same attribute twice on one catalogue action.
    DuplicateActionAttribute {
        attribute: &'static str,
        action: String,
    },

    // lifeboat::unknown-step
    /// `after NAME` where NAME binds no step.
    UnknownStep {
        name: String,
        suggestion: Option<String>,
    },
    /// `after NAME` where NAME is a procedure result that is not a step.
    NotAStep { name: String },

    // lifeboat::not-constant — a value that must be known at compile time
    // but is not.
    /// A string that must be plain, interpolated.
    Interpolated { what: Literal },
    /// A parameter default that is not a constant.
    DefaultNotConstant { param: String },
    /// A name read in a parameter default.
    NameInDefault { name: String },

    // lifeboat::recursion
    /// A procedure that calls itself; `chain` is the call chain, from the
    /// outermost procedure to the recursive call.
    Recursion {
        procedure: String,
        chain: Vec<String>,
    },

    // lifeboat::bad-number — a number out of its range.
    /// An integer literal that does not fit in 64 bits.
    IntegerTooLarge { text: String },
    /// `retry N` out of 0..=100.
    RetryOutOfRange { count: i64 },
    /// `parallel N` out of 1..=1000.
    ParallelOutOfRange { count: i64 },

    // lifeboat::too-deep — more nesting than the compiler takes.
    /// Blocks, brackets and `not` nested deeper than `limit` (the parser's).
    NestedTooDeep { limit: usize },
    /// An expression deeper than `limit` (the parser's).
    ExpressionTooDeep { limit: usize },

    // lifeboat::ambiguous
    /// A bare name that could mean two things (a variable, and a quiesce
    /// method of the catalogue): the compiler does not pick one.
    Ambiguous { name: String },
}

/// What was declared twice ([`Kind::DuplicateItem`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declared {
    Type,
    Action,
    Procedure,
    Runbook,
    QuiesceMethod,
    /// A field of the record type `record`.
    Field {
        record: String,
    },
}

/// What an unknown callee was looked up as ([`Kind::UnknownAction`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callee {
    /// A catalogue action (a step `ns.name`, an `undo`, `compensate` or
    /// `cleanup` call), with the closest action name.
    Action { suggestion: Option<String> },
    /// A step's bare name: a procedure, or an action without its namespace;
    /// with the closest procedure name.
    Procedure { suggestion: Option<String> },
    /// The freeze or thaw action of a quiesce method declaration.
    FreezeThaw,
}

/// Where a value of the wrong type was written ([`Kind::TypeMismatch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// The operand of `not`.
    Not,
    /// An operand of `and`/`or`.
    AndOr,
    /// The prompt of `approve`.
    ApprovalPrompt,
    /// A `when` condition.
    WhenCondition,
    /// `via NAME`, NAME a variable.
    MethodVariable,
    /// The default of a parameter.
    Default { param: String },
    /// An argument of a call.
    Argument { param: String, signature: Signature },
    /// An argument of a quiesce method.
    MethodArgument { param: String },
    /// A procedure's `return` (`expected`: its declared result type).
    Return,
    /// An item of a list literal (`expected`: the first item's type).
    ListItem,
}

/// A string that must be written literally ([`Kind::Interpolated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Literal {
    MethodName,
    ImportPath,
    RunbookTitle,
    Schedule,
    TimeZone,
}

/// A statement with one place in a runbook or procedure
/// ([`Kind::Misplaced`], [`Kind::Repeated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statement {
    Return,
    Param,
    Schedule,
    Retain,
    Commit,
}

/// A callee's signature as a help line shows it: `name(a: T, b: U = …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub callee: String,
    /// Each parameter: its name, its type, whether it has a default.
    pub params: Vec<(String, Ty, bool)>,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.callee)?;
        for (i, (name, ty, default)) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name}: {ty}")?;
            if *default {
                f.write_str(" = …")?;
            }
        }
        f.write_str(")")
    }
}

impl Kind {
    pub fn code(&self) -> &'static str {
        match self {
            Kind::Syntax { .. }
            | Kind::ReservedWord { .. }
            | Kind::EmptyParse
            | Kind::UnexpectedTreeShape => "lifeboat::syntax",
            Kind::Import { .. } => "lifeboat::import",
            Kind::DuplicateItem { .. } => "lifeboat::duplicate-item",
            Kind::UnknownType { .. } => "lifeboat::unknown-type",
            Kind::NoNamespace { .. }
            | Kind::NoEffect { .. }
            | Kind::NoTargetParameter { .. }
            | Kind::ThawTargetDiffers { .. } => "lifeboat::catalogue",
            Kind::UnknownAction { .. } => "lifeboat::unknown-action",
            Kind::UnknownName { .. } | Kind::UnknownUndoName { .. } => "lifeboat::unknown-name",
            Kind::UnknownField { .. } | Kind::UnknownRunField { .. } => "lifeboat::unknown-field",
            Kind::UnknownArgument { .. } | Kind::UnknownMethodArgument { .. } => {
                "lifeboat::unknown-argument"
            }
            Kind::MissingArgument { .. } => "lifeboat::missing-argument",
            Kind::TooManyArguments { .. } => "lifeboat::too-many-arguments",
            Kind::DuplicateArgument { .. } => "lifeboat::duplicate-argument",
            Kind::TypeMismatch { .. }
            | Kind::CannotCompare { .. }
            | Kind::NotInterpolable { .. }
            | Kind::NoFields { .. }
            | Kind::NotIterable { .. }
            | Kind::NotAParameterType { .. }
            | Kind::NothingToBind { .. }
            | Kind::TargetsNotList { .. }
            | Kind::TargetsNotRecords { .. }
            | Kind::OrderNotList { .. }
            | Kind::MethodTargetType { .. } => "lifeboat::type-mismatch",
            Kind::AlreadyBound { .. }
            | Kind::DuplicateParameter { .. }
            | Kind::LoopVarAlreadyBound { .. }
            | Kind::LoopVarShadows { .. } => "lifeboat::duplicate-binding",
            Kind::LoopVarOutsideLoop { .. } | Kind::ResultOutsideLoop { .. } => {
                "lifeboat::loop-var-outside-loop"
            }
            Kind::Cycle { .. } | Kind::WaitsForItself { .. } => "lifeboat::cycle",
            Kind::DestroyWithoutApprove { .. } => "lifeboat::destroy-without-approve",
            Kind::UndoNotArranged { .. } => "lifeboat::undo-not-arranged",
            Kind::BadDuration { .. } | Kind::ZeroDuration { .. } => "lifeboat::bad-duration",
            Kind::BadCron { .. } => "lifeboat::bad-cron",
            Kind::BadTimezone { .. } => "lifeboat::bad-timezone",
            Kind::RetainTwice { .. } | Kind::RetainOutOfRange { .. } => "lifeboat::bad-retain",
            Kind::UnknownQuiesceMethod { .. } => "lifeboat::unknown-quiesce-method",
            Kind::Misplaced { .. }
            | Kind::Repeated { .. }
            | Kind::UseBeforeAction
            | Kind::AttributeOnCall { .. }
            | Kind::PositionalAfterNamed
            | Kind::NeverReturns { .. }
            | Kind::UndeclaredResult { .. } => "lifeboat::misplaced",
            Kind::DuplicateAttribute { .. } | Kind::DuplicateActionAttribute { .. } => {
                "lifeboat::duplicate-attribute"
            }
            Kind::UnknownStep { .. } | Kind::NotAStep { .. } => "lifeboat::unknown-step",
            Kind::Interpolated { .. }
            | Kind::DefaultNotConstant { .. }
            | Kind::NameInDefault { .. } => "lifeboat::not-constant",
            Kind::Recursion { .. } => "lifeboat::recursion",
            Kind::IntegerTooLarge { .. }
            | Kind::RetryOutOfRange { .. }
            | Kind::ParallelOutOfRange { .. } => "lifeboat::bad-number",
            Kind::NestedTooDeep { .. } | Kind::ExpressionTooDeep { .. } => "lifeboat::too-deep",
            Kind::Ambiguous { .. } => "lifeboat::ambiguous",
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            Kind::UndoNotArranged { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// What is wrong, in one sentence.
    pub fn message(&self) -> String {
        match self {
            Kind::Syntax { expected, found } => {
                let found = match found {
                    Some(text) => format!("`{text}`"),
                    None => "end of file".to_string(),
                };
                if expected.is_empty() {
                    format!("unexpected {found}")
                } else {
                    format!("expected {}, found {found}", join_or(expected))
                }
            }
            Kind::ReservedWord { name } => format!("`{name}` is a reserved word, not a name"),
            Kind::EmptyParse => "empty parse".to_string(),
            Kind::UnexpectedTreeShape => "internal parser error: unexpected tree shape".to_string(),
            Kind::Import { path, why } => format!("cannot import `{path}`: {why}"),
            Kind::DuplicateItem { item, name } => match item {
                Declared::Type => format!("type `{name}` declared twice"),
                Declared::Action => format!("action `{name}` declared twice"),
                Declared::Procedure => format!("procedure `{name}` declared twice"),
                Declared::Runbook => format!("runbook `{name}` declared twice"),
                Declared::QuiesceMethod => format!("quiesce method \"{name}\" declared twice"),
                Declared::Field { record } => {
                    format!("field `{name}` declared twice in `{record}`")
                }
            },
            Kind::UnknownType { name, .. } => format!("unknown type `{name}`"),
            Kind::NoNamespace { action } => format!("action `{action}` has no namespace"),
            Kind::NoEffect { action } => format!("action `{action}` has no `kind`"),
            Kind::NoTargetParameter { freeze } => {
                format!("`{freeze}` takes no parameter to receive the target")
            }
            Kind::ThawTargetDiffers {
                thaw,
                target,
                freeze,
            } => format!("`{thaw}` must take a `{target}` first, like `{freeze}`"),
            Kind::UnknownAction { name, .. } => format!("unknown action `{name}`"),
            Kind::UnknownName { name, .. } => format!("unknown name `{name}`"),
            Kind::UnknownUndoName { name } => {
                format!("`{name}` is neither `result` nor a parameter of the action")
            }
            Kind::UnknownField { field, record, .. } => {
                format!("type `{record}` has no field `{field}`")
            }
            Kind::UnknownRunField { field } => format!("`run` has no field `{field}`"),
            Kind::UnknownArgument { name, signature } => {
                format!("`{}` has no parameter `{name}`", signature.callee)
            }
            Kind::UnknownMethodArgument { name, .. } => {
                format!("the quiesce method takes no argument `{name}`")
            }
            Kind::MissingArgument { callee, missing } => {
                let list: Vec<String> = missing.iter().map(|(n, t)| format!("{n}: {t}")).collect();
                format!(
                    "`{callee}` is missing required argument(s): {}",
                    list.join(", ")
                )
            }
            Kind::TooManyArguments {
                position,
                signature,
            } => format!(
                "`{}` takes {} argument(s), this is argument {position}",
                signature.callee,
                signature.params.len()
            ),
            Kind::DuplicateArgument { name } => format!("argument `{name}` given twice"),
            Kind::TypeMismatch {
                expected,
                found,
                context,
            } => match context {
                Context::Not | Context::AndOr => format!("expected `{expected}`, found `{found}`"),
                Context::ApprovalPrompt => {
                    format!("the approval prompt must be `{expected}`, found `{found}`")
                }
                Context::WhenCondition => {
                    format!("a `when` condition must be `{expected}`, found `{found}`")
                }
                Context::MethodVariable => format!(
                    "a quiesce method held in a variable must be `{expected}`, found `{found}`"
                ),
                Context::Default { param } => {
                    format!("default of `{param}` must be `{expected}`, found `{found}`")
                }
                Context::Argument { param, signature } => format!(
                    "argument `{param}` of `{}` must be `{expected}`, found `{found}`",
                    signature.callee
                ),
                Context::MethodArgument { param } => {
                    format!("method argument `{param}` must be `{expected}`, found `{found}`")
                }
                Context::Return => {
                    format!("the procedure returns `{found}` but declares `{expected}`")
                }
                Context::ListItem => format!(
                    "list items must have one type: this one is `{found}`, the first is `{expected}`"
                ),
            },
            Kind::CannotCompare { left, right } => format!("cannot compare `{left}` with `{right}`"),
            Kind::NotInterpolable { found } => {
                format!("cannot put a value of type `{found}` into a string")
            }
            Kind::NoFields { found, field } => {
                format!("`{found}` has no fields (reading `.{field}`)")
            }
            Kind::NotIterable { found } => {
                format!("`for` iterates over a list, this is a `{found}`")
            }
            Kind::NotAParameterType { found } => {
                format!("a runbook parameter cannot be of type `{found}`")
            }
            Kind::NothingToBind { procedure } => {
                format!("procedure `{procedure}` returns nothing to bind")
            }
            Kind::TargetsNotList { found } => {
                format!("quiesce targets must be a list, this is a `{found}`")
            }
            Kind::TargetsNotRecords { item } => {
                format!("quiesce targets must be a list of records, this is a list of `{item}`")
            }
            Kind::OrderNotList { found } => {
                format!("the quiesce order must be a list, this is a `{found}`")
            }
            Kind::MethodTargetType {
                method,
                freezes,
                targets,
            } => format!("method \"{method}\" freezes `{freezes}` values, the targets are `{targets}`"),
            Kind::AlreadyBound { name } => format!("`{name}` is already bound"),
            Kind::DuplicateParameter { name } => format!("parameter `{name}` declared twice"),
            Kind::LoopVarAlreadyBound { name } => {
                format!("loop variable `{name}` is already bound")
            }
            Kind::LoopVarShadows { name } => {
                format!("loop variable `{name}` shadows an enclosing loop's")
            }
            Kind::LoopVarOutsideLoop { name } => {
                format!("loop variable `{name}` is used outside its loop")
            }
            Kind::ResultOutsideLoop { name } => {
                format!("`{name}` is a procedure result bound inside a loop")
            }
            Kind::Cycle { steps } => format!(
                "steps wait for each other: {} → {}",
                steps.join(" → "),
                steps.first().map_or("", String::as_str)
            ),
            Kind::WaitsForItself { step, inner } => match inner {
                None => format!("`{step}` reads its own result"),
                Some(inner) => format!("`{step}` reads `{inner}`, which runs inside it"),
            },
            Kind::DestroyWithoutApprove { action } => {
                format!("`{action}` destroys data but no `approve` comes before it")
            }
            Kind::UndoNotArranged { action } => format!("nothing undoes `{action}` if the run fails"),
            Kind::BadDuration { why } => format!("bad duration: {why}"),
            Kind::ZeroDuration { what } => format!("{what} must be longer than zero"),
            Kind::BadCron { why } => format!("bad cron expression: {why}"),
            Kind::BadTimezone { why } => format!("bad time zone: {why}"),
            Kind::RetainTwice { part } => format!("`{part}` given twice in `retain`"),
            Kind::RetainOutOfRange { part, count } => {
                format!("`retain {part} {count}` keeps no recovery point")
            }
            Kind::UnknownQuiesceMethod { name, .. } => format!("unknown quiesce method `{name}`"),
            Kind::Misplaced { statement } => {
                format!("`{}` is not allowed here", statement.keyword())
            }
            Kind::Repeated { statement } => {
                format!("a second `{}` is not allowed here", statement.keyword())
            }
            Kind::UseBeforeAction => "`use` before an action is not allowed here".to_string(),
            Kind::AttributeOnCall { attribute } => {
                format!("`{attribute}` on a procedure call is not allowed here")
            }
            Kind::PositionalAfterNamed => "positional argument after a named one".to_string(),
            Kind::NeverReturns { procedure } => {
                format!("procedure `{procedure}` declares a result but never returns one")
            }
            Kind::UndeclaredResult { procedure } => {
                format!("procedure `{procedure}` returns a value but declares no result type")
            }
            Kind::DuplicateAttribute { attribute } => format!("`{attribute}` given twice"),
            Kind::DuplicateActionAttribute { attribute, action } => {
                format!("`{attribute}` given twice for `{action}`")
            }
            Kind::UnknownStep { name, .. } => format!("`after {name}`: no step is bound to `{name}`"),
            Kind::NotAStep { name } => format!("`{name}` is a procedure result that is not a step"),
            Kind::Interpolated { what } => format!("{} must be a plain string", what.noun()),
            Kind::DefaultNotConstant { param } => format!("default of `{param}` must be a constant"),
            Kind::NameInDefault { name } => format!("`{name}` is not a constant"),
            Kind::Recursion { procedure, .. } => format!("procedure `{procedure}` calls itself"),
            Kind::IntegerTooLarge { text } => format!("integer `{text}` is too large"),
            Kind::RetryOutOfRange { count } => format!("retry count {count} is out of range"),
            Kind::ParallelOutOfRange { count } => format!("`parallel {count}` is out of range"),
            Kind::NestedTooDeep { limit } => format!(
                "blocks, brackets and `not` nest more than {limit} levels deep here"
            ),
            Kind::ExpressionTooDeep { limit } => {
                format!("this expression is more than {limit} levels deep")
            }
            Kind::Ambiguous { name } => {
                format!("`via {name}`: `{name}` is both a variable and a quiesce method")
            }
        }
    }

    /// What the primary location is, in a few words.
    pub fn label(&self) -> String {
        let text = match self {
            Kind::Syntax { .. } => "the parser stopped here",
            Kind::ReservedWord { .. } => "reserved",
            Kind::EmptyParse | Kind::UnexpectedTreeShape => "here",
            Kind::Import { .. } => "cannot be read",
            Kind::DuplicateItem { .. } | Kind::DuplicateParameter { .. } => "second declaration",
            Kind::UnknownType { .. } => "not a type",
            Kind::NoNamespace { .. } => "needs `ns.`",
            Kind::NoEffect { .. } => "kind missing",
            Kind::NoTargetParameter { .. } => "no target parameter",
            Kind::ThawTargetDiffers { .. } => "target types differ",
            Kind::UnknownAction { .. } => "not in the catalogue",
            Kind::UnknownName { .. } => "not a parameter, step or loop variable",
            Kind::UnknownUndoName { .. } => "unknown name",
            Kind::UnknownField { .. } => "unknown field",
            Kind::UnknownRunField { .. } => "unknown field of run",
            Kind::UnknownArgument { .. } | Kind::UnknownMethodArgument { .. } => "unknown argument",
            Kind::MissingArgument { .. } => "missing arguments",
            Kind::TooManyArguments { .. } => "one too many",
            Kind::DuplicateArgument { .. }
            | Kind::RetainTwice { .. }
            | Kind::DuplicateAttribute { .. }
            | Kind::DuplicateActionAttribute { .. } => "second time",
            Kind::TypeMismatch {
                found,
                context: Context::ListItem,
                ..
            } => return format!("a {found}"),
            Kind::TypeMismatch { found, .. }
            | Kind::NotInterpolable { found }
            | Kind::NoFields { found, .. }
            | Kind::NotIterable { found } => return format!("this is a {found}"),
            Kind::CannotCompare { .. } => "these never compare equal",
            Kind::NotAParameterType { .. } => "not a parameter type",
            Kind::NothingToBind { .. } => "nothing to bind",
            Kind::TargetsNotList { .. } | Kind::OrderNotList { .. } => "not a list",
            Kind::TargetsNotRecords { .. } => "not records",
            Kind::MethodTargetType { targets, .. } => return format!("a list of {targets}"),
            Kind::AlreadyBound { .. }
            | Kind::LoopVarAlreadyBound { .. }
            | Kind::LoopVarShadows { .. } => "bound again here",
            Kind::LoopVarOutsideLoop { .. } => "outside the loop",
            Kind::ResultOutsideLoop { .. } => "read outside that loop",
            Kind::Cycle { .. } => "part of a dependency cycle",
            Kind::WaitsForItself { .. } => "cycle",
            Kind::DestroyWithoutApprove { .. } => "destroy step without approval",
            Kind::UndoNotArranged { .. } => "changes the cloud with no way back",
            Kind::BadDuration { .. } => "not a duration",
            Kind::ZeroDuration { .. } => "zero",
            Kind::BadCron { .. } => "not a cron expression",
            Kind::BadTimezone { .. } => "not a time zone",
            Kind::RetainOutOfRange { .. } => "out of range",
            Kind::UnknownQuiesceMethod { .. } => "no such method",
            Kind::Misplaced { .. }
            | Kind::Repeated { .. }
            | Kind::UseBeforeAction
            | Kind::AttributeOnCall { .. } => "misplaced",
            Kind::PositionalAfterNamed => "give this one a name",
            Kind::NeverReturns { .. } => "declared here",
            Kind::UndeclaredResult { .. } => "returned here",
            Kind::UnknownStep { .. } => "unknown step",
            Kind::NotAStep { .. } => "not a step",
            Kind::Interpolated { .. } => "interpolated",
            Kind::DefaultNotConstant { .. } => "not a constant",
            Kind::NameInDefault { .. } => "a default must be a constant",
            Kind::Recursion { .. } => "recursive call",
            Kind::IntegerTooLarge { .. } => "does not fit in 64 bits",
            Kind::RetryOutOfRange { .. } => "0 to 100",
            Kind::ParallelOutOfRange { .. } => "1 to 1000",
            Kind::NestedTooDeep { .. } | Kind::ExpressionTooDeep { .. } => "too deep",
            Kind::Ambiguous { .. } => "a variable, and a method",
        };
        text.to_string()
    }

    /// What to do about it (every diagnostic but a parser bug has one).
    pub fn help(&self) -> Option<String> {
        let text = match self {
            Kind::Syntax { .. } => "see docs/language.md for the syntax of each statement",
            Kind::ReservedWord { .. } => "choose another name",
            Kind::EmptyParse | Kind::UnexpectedTreeShape => return None,
            Kind::Import { .. } => "import paths are relative to the importing file",
            Kind::DuplicateItem { item, .. } => match item {
                Declared::Type | Declared::Action => {
                    "names of types, actions, procedures and runbooks must be unique"
                }
                Declared::Procedure => {
                    "procedure names are shared by a file and everything it imports"
                }
                Declared::Runbook => "runbook names in one file must be unique",
                Declared::QuiesceMethod | Declared::Field { .. } => "remove one",
            },
            Kind::UnknownType { suggestion, .. } => match suggestion {
                Some(s) => {
                    return Some(format!("did you mean `{s}`? types are string, int, bool, duration, site, list<T> and the stdlib records"))
                }
                None => "types are string, int, bool, duration, site, list<T> and the stdlib records (server, volume, …)",
            },
            Kind::NoNamespace { .. } => "action names are `namespace.name`, e.g. `nova.pause`",
            Kind::NoEffect { .. } => "add `kind read`, `kind mutate` or `kind destroy`",
            Kind::NoTargetParameter { .. } => {
                "freeze and thaw actions take the target as their first parameter"
            }
            Kind::ThawTargetDiffers { .. } => "freeze and thaw act on the same targets",
            Kind::UnknownAction { looked_for, .. } => match looked_for {
                Callee::Action { suggestion: Some(s) } => {
                    return Some(format!(
                        "did you mean `{s}`? actions are listed in stdlib/*.dr"
                    ))
                }
                Callee::Action { suggestion: None } => {
                    "actions are listed in stdlib/*.dr (nova.*, cinder.*, glance.*, swift.*, lifeboat.*)"
                }
                Callee::Procedure { suggestion: Some(p) } => {
                    return Some(format!("did you mean the procedure `{p}`?"))
                }
                Callee::Procedure { suggestion: None } => {
                    "call a catalogue action (`ns.name`) or a procedure declared in this file or an imported one"
                }
                Callee::FreezeThaw => "freeze and thaw name catalogue actions",
            },
            Kind::UnknownName { name, suggestion } => match suggestion {
                _ if name == "run" => "`run` is read by field: run.id, run.started, run.runbook",
                Some(s) => return Some(format!("did you mean `{s}`?")),
                None => "declare it with `param NAME: TYPE`, or bind it with `NAME = ns.action(…)`",
            },
            Kind::UnknownUndoName { .. } => {
                "an undo call reads `result` (the step's result) and the step's own arguments by parameter name"
            }
            Kind::UnknownField {
                field,
                record,
                known,
            } => {
                let names = known.join(", ");
                return Some(match suggest(field, known.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`? `{record}` has: {names}"),
                    None => format!("`{record}` has: {names}"),
                });
            }
            Kind::UnknownRunField { .. } => "`run` has fields id, started and runbook",
            Kind::UnknownArgument { name, signature } => {
                let names = signature.params.iter().map(|(n, _, _)| n.as_str());
                return Some(match suggest(name, names) {
                    Some(s) => format!("did you mean `{s}`? the signature is {signature}"),
                    None => format!("the signature is {signature}"),
                });
            }
            Kind::UnknownMethodArgument { known, .. } => {
                if known.is_empty() {
                    "this method takes no arguments"
                } else {
                    return Some(format!("it takes: {}", known.join(", ")));
                }
            }
            Kind::MissingArgument { missing, .. } => {
                let names: Vec<String> = missing.iter().map(|(n, _)| format!("`{n}: …`")).collect();
                return Some(format!("add {}", names.join(", ")));
            }
            Kind::TooManyArguments { signature, .. } => {
                return Some(format!("the signature is {signature}"))
            }
            Kind::DuplicateArgument { .. } => "give each argument once",
            Kind::TypeMismatch {
                expected,
                found,
                context,
            } => match context {
                Context::Not => "`not` takes a bool",
                Context::AndOr => "`and`/`or` take bools",
                Context::ApprovalPrompt
                | Context::WhenCondition
                | Context::MethodVariable
                | Context::Default { .. } => return Some(format!("give a {expected} value")),
                Context::Argument { signature, .. } => {
                    if *expected == Ty::Site && *found == Ty::String {
                        "declare the parameter as `site`, or pass a literal like \"site-b\""
                    } else {
                        return Some(format!("the signature is {signature}"));
                    }
                }
                Context::MethodArgument { .. } => "pass a value of the parameter's type",
                Context::Return => "return a value of the declared type",
                Context::ListItem => "a list holds values of a single type",
            },
            Kind::CannotCompare { .. } => "compare values of the same type",
            Kind::NotInterpolable { .. } => "interpolate a scalar field instead, e.g. `{x.name}`",
            Kind::NoFields { found, .. } => match found {
                Ty::List(_) => "read fields of one item: loop with `for x in …`",
                _ => "only records have fields",
            },
            Kind::NotIterable { .. } => "loop over a list, e.g. `for s in servers`",
            Kind::NotAParameterType { .. } => {
                "parameters are string, int, bool, duration, site or list<…> of those"
            }
            Kind::NothingToBind { .. } => {
                "declare a result (`procedure p(…) -> T { … return x }`) or drop the binding"
            }
            Kind::TargetsNotList { .. } | Kind::TargetsNotRecords { .. } => {
                "quiesce a list of servers, e.g. the result of nova.find_servers"
            }
            Kind::OrderNotList { .. } => "give the groups in order, e.g. [\"db\", \"app\", \"lb\"]",
            Kind::MethodTargetType { freezes, .. } => {
                return Some(format!("quiesce a list of {freezes}"))
            }
            Kind::AlreadyBound { .. } => {
                "every step result, parameter and loop variable needs its own name"
            }
            Kind::DuplicateParameter { .. } => "rename or remove one",
            Kind::LoopVarAlreadyBound { .. } => "pick another name for the loop variable",
            Kind::LoopVarShadows { .. } => "pick another name for the inner loop variable",
            Kind::LoopVarOutsideLoop { .. } => {
                "a loop variable exists only inside its `for` body; outside, read a step bound inside the loop (it is the list of per-iteration results)"
            }
            Kind::ResultOutsideLoop { .. } => {
                "read it inside the loop, or return a step's result from the procedure"
            }
            Kind::Cycle { .. } => {
                "break the cycle: remove an `after` or read a result computed earlier"
            }
            Kind::WaitsForItself { .. } => {
                "a step cannot wait for itself; read a result computed before it"
            }
            Kind::DestroyWithoutApprove { .. } => {
                "add `approve \"…\"` earlier in the runbook, or run it as `cleanup`/`compensate` of the step that made the resource"
            }
            Kind::UndoNotArranged { .. } => {
                "add `compensate CALL` or `cleanup CALL`, or declare `undo none` in the catalogue if nothing needs taking back"
            }
            Kind::BadDuration { .. } => {
                "write a number and a unit: ms, s, m, h or d (e.g. 30s, 10m, 2h)"
            }
            Kind::ZeroDuration { .. } => "give a positive duration, e.g. 30s",
            Kind::BadCron { .. } => {
                "five fields: minute hour day-of-month month day-of-week, e.g. \"0 */4 * * *\""
            }
            Kind::BadTimezone { .. } => "use an IANA name such as \"Europe/Paris\" or \"UTC\"",
            Kind::RetainTwice { .. } => "give each of last, hourly, daily, weekly, monthly once",
            Kind::RetainOutOfRange { .. } => {
                "counts run from 1 to 10000; leave a part out to keep none of that kind"
            }
            Kind::UnknownQuiesceMethod { known, .. } => {
                return Some(format!(
                    "known methods: {}; or name a string parameter holding one",
                    known.join(", ")
                ))
            }
            Kind::Misplaced { statement } => {
                return Some(format!("it belongs {}", statement.place()))
            }
            Kind::Repeated { statement } => {
                return Some(format!("it belongs once per {}", statement.scope()))
            }
            Kind::UseBeforeAction => {
                "it belongs before a procedure call (its steps then keep their own names); call an action without it"
            }
            Kind::AttributeOnCall { .. } => {
                "it belongs on action steps; put it on the steps inside the procedure (a call takes `when` and `after`)"
            }
            Kind::PositionalAfterNamed => {
                "positional arguments come first, in signature order; then `name: value`"
            }
            Kind::NeverReturns { .. } => "end the body with `return EXPR`",
            Kind::UndeclaredResult { .. } => "declare it: `procedure name(…) -> TYPE { … }`",
            Kind::DuplicateAttribute { .. } => {
                "give each attribute once (`after a, b` takes several names)"
            }
            Kind::DuplicateActionAttribute { .. } => "give each attribute once",
            Kind::UnknownStep { suggestion, .. } => match suggestion {
                Some(s) => return Some(format!("did you mean `{s}`?")),
                None => "`after` names a step by the variable it binds",
            },
            Kind::NotAStep { .. } => {
                "`after` names steps bound in this runbook or procedure, or a procedure result that returns one"
            }
            Kind::Interpolated { what } => {
                return Some(format!("write the {} literally", what.thing()))
            }
            Kind::DefaultNotConstant { .. } => {
                "interpolation and names are not allowed in defaults"
            }
            Kind::NameInDefault { .. } => {
                "use a literal: a string, number, bool, duration or list"
            }
            Kind::Recursion { chain, .. } => {
                return Some(format!(
                    "procedures are inlined at compile time; the chain is {}",
                    chain.join(" → ")
                ))
            }
            Kind::IntegerTooLarge { .. } => {
                "integers range from -9223372036854775808 to 9223372036854775807"
            }
            Kind::RetryOutOfRange { .. } => "retry counts run from 0 to 100",
            Kind::ParallelOutOfRange { .. } => {
                "run at least one iteration at a time, at most 1000"
            }
            Kind::NestedTooDeep { .. } => {
                "split the runbook into procedures, or the condition into steps"
            }
            Kind::ExpressionTooDeep { .. } => {
                "split a long chain of `and`/`or` into steps, or bind part of it to a name"
            }
            Kind::Ambiguous { name } => {
                return Some(format!(
                    "write `via \"{name}\"` for the method, or rename the variable"
                ))
            }
        };
        Some(text.to_string())
    }
}

impl Literal {
    /// The string, as the message names it.
    fn noun(self) -> &'static str {
        match self {
            Literal::MethodName => "a quiesce method name",
            Literal::ImportPath => "an import path",
            Literal::RunbookTitle => "a runbook title",
            Literal::Schedule => "a schedule",
            Literal::TimeZone => "a time zone",
        }
    }

    /// What to write literally.
    fn thing(self) -> &'static str {
        match self {
            Literal::MethodName => "name",
            Literal::ImportPath => "path",
            Literal::RunbookTitle => "title",
            Literal::Schedule => "cron expression",
            Literal::TimeZone => "zone",
        }
    }
}

impl Statement {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Statement::Return => "return",
            Statement::Param => "param",
            Statement::Schedule => "schedule",
            Statement::Retain => "retain",
            Statement::Commit => "commit",
        }
    }

    /// Where it belongs.
    fn place(self) -> &'static str {
        match self {
            Statement::Return => "at the top level of a procedure body",
            Statement::Param => {
                "at the top level of a runbook (procedures declare parameters in their signature)"
            }
            Statement::Schedule | Statement::Retain | Statement::Commit => {
                "at the top level of a runbook"
            }
        }
    }

    /// What it is given once per.
    fn scope(self) -> &'static str {
        match self {
            Statement::Return => "procedure",
            _ => "runbook",
        }
    }
}

/// `a`, `a or b`, `a, b or c`.
fn join_or(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// One finding, with its source location.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub kind: Kind,
    pub loc: Loc,
    /// Secondary locations (e.g. the first binding of a duplicate).
    pub related: Vec<(Loc, String)>,
}

impl Diagnostic {
    /// A diagnostic of `kind` at `loc`.
    pub fn at(loc: Loc, kind: Kind) -> Self {
        Diagnostic {
            kind,
            loc,
            related: Vec::new(),
        }
    }

    pub fn related(mut self, loc: Loc, label: impl Into<String>) -> Self {
        self.related.push((loc, label.into()));
        self
    }

    pub fn severity(&self) -> Severity {
        self.kind.severity()
    }

    pub fn message(&self) -> String {
        self.kind.message()
    }

    pub fn label(&self) -> String {
        self.kind.label()
    }

    pub fn help(&self) -> Option<String> {
        self.kind.help()
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }

    /// `path:line:col: error[code]: message` — one line, for logs and tests.
    pub fn one_line(&self, sources: &SourceMap) -> String {
        let f = sources.get(self.loc.file);
        let sev = match self.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        format!(
            "{}:{}:{}: {sev}[{}]: {}",
            f.path,
            self.loc.span.line,
            self.loc.span.col,
            self.kind.code(),
            self.message()
        )
    }

    /// A miette report with the source attached, for fancy rendering. A
    /// label on a line too long to draw (a generated file, a runaway
    /// expression) is left out and its place named in the message instead:
    /// the renderer cannot draw columns that far.
    pub fn report(&self, sources: &SourceMap) -> miette::Report {
        let f = sources.get(self.loc.file);
        let drawable = |loc: Loc| {
            loc.file == self.loc.file
                && line_len_at(&f.text, loc.span.start) <= MAX_DRAWN_LINE
                && loc.span.end.saturating_sub(loc.span.start) <= MAX_DRAWN_LINE
        };
        let (message, labels, text) = if drawable(self.loc) {
            let mut labels = vec![LabeledSpan::new_primary_with_span(
                Some(self.label()),
                to_span(self.loc),
            )];
            for (loc, label) in &self.related {
                if drawable(*loc) {
                    labels.push(LabeledSpan::new_with_span(
                        Some(label.clone()),
                        to_span(*loc),
                    ));
                }
            }
            (self.message(), labels, f.text.clone())
        } else {
            let message = format!(
                "{} (at {}:{}:{}; the line is too long to show)",
                self.message(),
                f.path,
                self.loc.span.line,
                self.loc.span.col
            );
            (message, Vec::new(), String::new())
        };
        miette::Report::new(Rendered {
            message,
            code: self.kind.code(),
            severity: match self.severity() {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            help: self.help(),
            labels,
            src: NamedSource::new(f.path.clone(), text),
        })
    }
}

/// The longest source line a report draws (miette's renderer fails on
/// columns in the tens of thousands).
const MAX_DRAWN_LINE: usize = 2000;

/// The length of the line holding byte `offset`.
fn line_len_at(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    let b = text.as_bytes();
    let start = b[..offset]
        .iter()
        .rposition(|c| *c == b'\n')
        .map_or(0, |i| i + 1);
    let end = b[offset..]
        .iter()
        .position(|c| *c == b'\n')
        .map_or(b.len(), |i| offset + i);
    end - start
}

fn to_span(loc: Loc) -> SourceSpan {
    SourceSpan::new(
        loc.span.start.into(),
        loc.span.end.saturating_sub(loc.span.start),
    )
}

/// Diagnostics of one compilation, in the order found.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        // A procedure body is checked on its own and again at each call: one
        // report is enough. The same message at the same place is the same
        // report, even when what is only in its help (the call chain of a
        // recursion, say) differs.
        if !self.list.iter().any(|e| {
            e.loc.file == d.loc.file
                && e.loc.span == d.loc.span
                && e.kind.code() == d.kind.code()
                && (e.kind == d.kind || e.message() == d.message())
        }) {
            self.list.push(d);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.list.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.list.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.list.len() - self.error_count()
    }
}

#[derive(Debug)]
struct Rendered {
    message: String,
    code: &'static str,
    severity: miette::Severity,
    help: Option<String>,
    labels: Vec<LabeledSpan>,
    src: NamedSource<String>,
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// "Did you mean": the closest candidate within a small edit distance.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn recursion(chain: &[&str]) -> Diagnostic {
        Diagnostic::at(
            Loc::default(),
            Kind::Recursion {
                procedure: "p".into(),
                chain: chain.iter().map(|s| s.to_string()).collect(),
            },
        )
    }

    #[test]
    fn one_report_per_message_and_place() {
        // A procedure checked on its own, then at a call from another one:
        // one message, two call chains in the help; the first is kept.
        let mut d = Diagnostics::default();
        d.push(recursion(&["p", "p"]));
        d.push(recursion(&["q", "p", "p"]));
        assert_eq!(d.list.len(), 1);
        assert_eq!(
            d.list[0].help().as_deref(),
            Some("procedures are inlined at compile time; the chain is p → p")
        );
    }

    #[test]
    fn text_is_written_from_the_fields() {
        let k = Kind::UnknownField {
            field: "rol".into(),
            record: "server".into(),
            known: vec!["name".into(), "role".into()],
        };
        assert_eq!(k.code(), "lifeboat::unknown-field");
        assert_eq!(k.message(), "type `server` has no field `rol`");
        assert_eq!(k.label(), "unknown field");
        assert_eq!(
            k.help().as_deref(),
            Some("did you mean `role`? `server` has: name, role")
        );
        let s = Signature {
            callee: "t.f".into(),
            params: vec![("a".into(), Ty::Int, false), ("b".into(), Ty::Site, true)],
        };
        assert_eq!(s.to_string(), "t.f(a: int, b: site = …)");
    }
}
