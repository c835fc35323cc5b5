//! Types as the checker sees them.
//!
//! [`Ty`] is [`plan::Type`] plus `Any`: the element type of `[]` and the type
//! of an expression already reported as wrong (so one mistake gives one
//! diagnostic). Assignment rules: equal types; `Any` fits anything; lists are
//! checked element-wise; a string *literal* may stand for a `site`, and a
//! `site` may be used where a `string` is expected.

use crate::plan::Type;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    String,
    Int,
    Bool,
    Duration,
    Site,
    List(Box<Ty>),
    Record(String),
    None,
    Any,
}

impl Ty {
    pub fn list(of: Ty) -> Ty {
        Ty::List(Box::new(of))
    }

    /// The type of a step's result read from outside `n` loops that enclose
    /// the step: one flat list of the results of every iteration when `n > 0`.
    pub fn listed(self, n: usize) -> Ty {
        if n == 0 {
            self
        } else {
            Ty::list(self)
        }
    }

    pub fn elem(&self) -> Option<&Ty> {
        match self {
            Ty::List(t) => Some(t),
            Ty::Any => Some(&Ty::Any),
            _ => None,
        }
    }

    /// The built-in type of a name, or a record name to look up.
    pub fn builtin(name: &str) -> Option<Ty> {
        Some(match name {
            "string" => Ty::String,
            "int" => Ty::Int,
            "bool" => Ty::Bool,
            "duration" => Ty::Duration,
            "site" => Ty::Site,
            "none" => Ty::None,
            _ => return None,
        })
    }

    /// May a value of type `self` be passed where `want` is expected?
    /// `literal`: the value is a string literal (may stand for a site).
    pub fn fits(&self, want: &Ty, literal: bool) -> bool {
        match (self, want) {
            (Ty::Any, _) | (_, Ty::Any) => true,
            (Ty::List(a), Ty::List(b)) => a.fits(b, literal),
            (Ty::String, Ty::Site) => literal,
            (Ty::Site, Ty::String) => true,
            (a, b) => a == b,
        }
    }

    pub fn is_scalar(&self) -> bool {
        matches!(
            self,
            Ty::String | Ty::Int | Ty::Bool | Ty::Duration | Ty::Site | Ty::Any
        )
    }

    pub fn to_plan(&self) -> Type {
        match self {
            Ty::String => Type::String,
            Ty::Int => Type::Int,
            Ty::Bool => Type::Bool,
            Ty::Duration => Type::Duration,
            Ty::Site => Type::Site,
            Ty::List(t) => Type::List(Box::new(t.to_plan())),
            Ty::Record(r) => Type::Record(r.clone()),
            Ty::None | Ty::Any => Type::None,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Any => f.write_str("any"),
            other => write!(f, "{}", other.to_plan()),
        }
    }
}
