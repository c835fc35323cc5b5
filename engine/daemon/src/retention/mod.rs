//! Retention: which recovery points a protect job keeps
//! ([`policy`], a pure function), and the retention run that deletes the
//! rest ([`plan`]: the parameters of the `retention/expire` runbook,
//! run through the executor and journalled like any run).
pub mod plan;
pub mod policy;
