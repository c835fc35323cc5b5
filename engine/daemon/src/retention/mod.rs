//! Retention: which recovery points a protect job keeps
//! ([`policy`], a pure function), and the retention run that deletes the
//! rest ([`plan`]: the parameters of the `retention/expire` runbook,
//! run through the executor and journalled like any run); [`chain`]: when
//! the next protect is full (`full_every`), so chains stay bounded.
pub mod chain;
pub mod plan;
pub mod policy;
