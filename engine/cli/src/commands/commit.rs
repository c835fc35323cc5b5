//! `lifeboat commit RUN [--json] [--state-dir DIR]`: keep what a run
//! awaiting commit did (a runbook with `commit within … default …`: the
//! bundled recover, failover and migrate runbooks). The run ends
//! `succeeded`; nothing at the clouds changes. Committing a committed run
//! changes nothing. Exit 0; 2 when the run cannot be committed (unknown,
//! still running, failed, or rolled back), with the reason.

use super::resume::{pick_up, Again};
use crate::error::CmdResult;
use lifeboat_exec::Decision;

/// The same options as `resume`.
pub type Args = super::resume::Args;

pub fn run(args: Args) -> CmdResult {
    pick_up(args, Again::Decide(Decision::Commit))
}
