//! `lifeboat rollback RUN [--json] [--state-dir DIR]`: undo what a run
//! awaiting commit did — its compensations in reverse order, as if it had
//! failed at its last step: the servers, volumes, ports, groups and key
//! pairs it made at the target are deleted; after a migrate, the source
//! servers it stopped are started again. The run ends `rolled back`.
//! Interrupted or crashed half-way, `lifeboat rollback` (or `resume`)
//! finishes it. Exit 0 when nothing is left behind, 1 when something could
//! not be removed (the report lists it; `lifeboat cleanup` retries), 2 when
//! the run cannot be rolled back (unknown, still running, committed, or
//! failed), with the reason.

use super::resume::{pick_up, Again};
use crate::error::CmdResult;
use lifeboat_exec::Decision;

/// The same options as `resume`.
pub type Args = super::resume::Args;

pub fn run(args: Args) -> CmdResult {
    pick_up(args, Again::Decide(Decision::Rollback))
}
