//! The Lifeboat runbook language.
//!
//! The pipeline, one file per concept: grammar → AST → analysis → compiled
//! [`plan::Plan`] → graph → renderers.

pub mod ast;
pub mod bundled;
pub mod catalogue;
pub mod comments;
pub mod compiler;
pub mod cron;
pub mod diagnostic;
pub mod duration;
pub mod estimate;
pub mod fmt;
pub mod graph;
pub mod loader;
pub mod lower;
pub mod params;
pub mod parser;
pub mod plan;
pub mod render;
pub mod source;
pub mod stdlib;
pub mod typecheck;
pub mod types;
