//! The Lifeboat runbook language.
//!
//! The pipeline, one file per concept: grammar → AST → analysis → compiled
//! [`plan::Plan`] → graph → renderers.

pub mod plan;
