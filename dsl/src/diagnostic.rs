//! Diagnostics: what is wrong with a runbook, where, and what to do about it.
//!
//! One [`Kind`] enum names every diagnostic the language produces (its code is
//! `lifeboat::<kind>`, its default severity an error or a warning). A
//! [`Diagnostic`] carries the kind, a message, the primary location with a
//! label, an optional help line and secondary labels. [`Diagnostic::report`]
//! turns it into a `miette::Report` with the source attached for rendering.

use crate::source::{Loc, SourceMap};
use miette::{LabeledSpan, NamedSource, SourceSpan};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// Every kind of diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The text does not follow the grammar.
    Syntax,
    /// An imported file cannot be read.
    Import,
    /// Two runbooks, procedures, types or actions with one name.
    DuplicateItem,
    /// A type name that is neither built in nor declared.
    UnknownType,
    /// A catalogue declaration that is incomplete or inconsistent.
    Catalogue,
    /// A call of an action or procedure that does not exist.
    UnknownAction,
    /// A name that is no parameter, binding or loop variable.
    UnknownName,
    /// `a.b` where the record type of `a` has no field `b`.
    UnknownField,
    /// A named argument the action does not take.
    UnknownArgument,
    /// A required argument is not given.
    MissingArgument,
    /// More positional arguments than parameters.
    TooManyArguments,
    /// The same argument twice.
    DuplicateArgument,
    /// A value of the wrong type.
    TypeMismatch,
    /// A name bound twice in one runbook or procedure.
    DuplicateBinding,
    /// A loop variable read outside its `for`.
    LoopVarOutsideLoop,
    /// Steps that wait for each other.
    Cycle,
    /// A `destroy` action run as a step with no `approve` before it.
    DestroyWithoutApprove,
    /// A `mutate` step that nothing can take back.
    UndoNotArranged,
    /// A duration that is not `N(ms|s|m|h|d)` or is out of range.
    BadDuration,
    /// A cron expression that is not five valid fields.
    BadCron,
    /// A time zone not in the IANA database.
    BadTimezone,
    /// A malformed `retain` policy.
    BadRetain,
    /// A quiesce method the catalogue does not know.
    UnknownQuiesceMethod,
    /// A statement where it is not allowed (e.g. `param` inside a loop).
    Misplaced,
    /// The same attribute twice on one step.
    DuplicateAttribute,
    /// `after NAME` where NAME is no step.
    UnknownStep,
    /// A value that must be known at compile time but is not.
    NotConstant,
    /// A procedure that calls itself.
    Recursion,
    /// A number out of its range (retry count, parallelism, …).
    BadNumber,
    /// Blocks, brackets or an expression nested deeper than the compiler
    /// takes.
    TooDeep,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Syntax => "lifeboat::syntax",
            Kind::Import => "lifeboat::import",
            Kind::DuplicateItem => "lifeboat::duplicate-item",
            Kind::UnknownType => "lifeboat::unknown-type",
            Kind::Catalogue => "lifeboat::catalogue",
            Kind::UnknownAction => "lifeboat::unknown-action",
            Kind::UnknownName => "lifeboat::unknown-name",
            Kind::UnknownField => "lifeboat::unknown-field",
            Kind::UnknownArgument => "lifeboat::unknown-argument",
            Kind::MissingArgument => "lifeboat::missing-argument",
            Kind::TooManyArguments => "lifeboat::too-many-arguments",
            Kind::DuplicateArgument => "lifeboat::duplicate-argument",
            Kind::TypeMismatch => "lifeboat::type-mismatch",
            Kind::DuplicateBinding => "lifeboat::duplicate-binding",
            Kind::LoopVarOutsideLoop => "lifeboat::loop-var-outside-loop",
            Kind::Cycle => "lifeboat::cycle",
            Kind::DestroyWithoutApprove => "lifeboat::destroy-without-approve",
            Kind::UndoNotArranged => "lifeboat::undo-not-arranged",
            Kind::BadDuration => "lifeboat::bad-duration",
            Kind::BadCron => "lifeboat::bad-cron",
            Kind::BadTimezone => "lifeboat::bad-timezone",
            Kind::BadRetain => "lifeboat::bad-retain",
            Kind::UnknownQuiesceMethod => "lifeboat::unknown-quiesce-method",
            Kind::Misplaced => "lifeboat::misplaced",
            Kind::DuplicateAttribute => "lifeboat::duplicate-attribute",
            Kind::UnknownStep => "lifeboat::unknown-step",
            Kind::NotConstant => "lifeboat::not-constant",
            Kind::Recursion => "lifeboat::recursion",
            Kind::BadNumber => "lifeboat::bad-number",
            Kind::TooDeep => "lifeboat::too-deep",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Kind::UndoNotArranged => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One finding, with its source location.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub kind: Kind,
    pub severity: Severity,
    pub message: String,
    pub loc: Loc,
    pub label: String,
    pub help: Option<String>,
    /// Secondary locations (e.g. the first binding of a duplicate).
    pub related: Vec<(Loc, String)>,
}

impl Diagnostic {
    pub fn new(kind: Kind, loc: Loc, message: impl Into<String>, label: impl Into<String>) -> Self {
        Diagnostic {
            kind,
            severity: kind.severity(),
            message: message.into(),
            loc,
            label: label.into(),
            help: None,
            related: Vec::new(),
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, loc: Loc, label: impl Into<String>) -> Self {
        self.related.push((loc, label.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:col: error[code]: message` — one line, for logs and tests.
    pub fn one_line(&self, sources: &SourceMap) -> String {
        let f = sources.get(self.loc.file);
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        format!(
            "{}:{}:{}: {sev}[{}]: {}",
            f.path,
            self.loc.span.line,
            self.loc.span.col,
            self.kind.code(),
            self.message
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
                Some(self.label.clone()),
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
            (self.message.clone(), labels, f.text.clone())
        } else {
            let message = format!(
                "{} (at {}:{}:{}; the line is too long to show)",
                self.message, f.path, self.loc.span.line, self.loc.span.col
            );
            (message, Vec::new(), String::new())
        };
        miette::Report::new(Rendered {
            message,
            code: self.kind.code(),
            severity: match self.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            help: self.help.clone(),
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
        // A procedure body is checked on its own and again at each call: one report is enough.
        if !self.list.iter().any(|e| {
            e.kind == d.kind
                && e.loc.file == d.loc.file
                && e.loc.span == d.loc.span
                && e.message == d.message
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
