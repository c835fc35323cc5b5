//! `approve "text"`: the caller decides how an operator says yes.
//!
//! The executor calls [`Approver::approve`] with the evaluated prompt when it
//! reaches an `approve` node; nothing that depends on the node starts before
//! the answer. `Ok(true)` lets the run go on; `Ok(false)` (the operator said
//! no) and `Err` (nobody could be asked) fail the node, and with it the run,
//! before anything after it runs. Waiting for an answer is cancelled by an
//! interrupt.
//!
//! Provided: [`AutoApprove`] (`--confirm`) and [`Refuse`] (no terminal and no
//! `--confirm`). The CLI supplies its own TTY prompt.

use async_trait::async_trait;

/// Why no answer could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ApproveError(pub String);

#[async_trait]
pub trait Approver: Send + Sync + 'static {
    async fn approve(&self, prompt: &str) -> Result<bool, ApproveError>;
}

/// Says yes to everything (`--confirm`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoApprove;

#[async_trait]
impl Approver for AutoApprove {
    async fn approve(&self, _prompt: &str) -> Result<bool, ApproveError> {
        Ok(true)
    }
}

/// Nobody to ask: every approval fails with a clear error.
#[derive(Debug, Clone, Copy, Default)]
pub struct Refuse;

#[async_trait]
impl Approver for Refuse {
    async fn approve(&self, _prompt: &str) -> Result<bool, ApproveError> {
        Err(ApproveError(
            "approval required but there is no terminal to ask on; re-run with --confirm to approve in advance".into(),
        ))
    }
}
