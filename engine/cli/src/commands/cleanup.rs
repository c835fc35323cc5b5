//! `lifeboat cleanup RUN [--json] [--state-dir DIR]`: retry what a finished
//! run left behind — its orphans (the report's "LEFT BEHIND" list): calls
//! in doubt are settled, and the compensations (of a run that failed) and
//! cleanups that did not succeed are tried again, with the clouds and limits
//! the run started with, under the run's lock. Idempotent: what was done is
//! not done again. Exit 0 when nothing is left, 1 when something still
//! could not be removed (the report lists it), 2 when the run cannot be
//! cleaned up (unknown, or not finished: `lifeboat resume` it).

use super::resume::{pick_up, Again};
use crate::dispatch::Output;
use crate::error::{CmdResult, Exit};

/// The same options as `resume`.
pub type Args = super::resume::Args;

pub fn run(args: Args) -> CmdResult {
    pick_up(args, Again::Cleanup)
}

/// Prints the report and says how it ended: `Ok` when nothing is left.
pub fn finish(r: Result<crate::report::RunReport, String>, output: Output) -> CmdResult {
    let left = match &r {
        Ok(report) => report.run.orphans.len() + report.run.thaw_failures.len(),
        // The run could not be picked up: its error.
        Err(_) => return super::run::finish(r, output),
    };
    super::run::finish(r, output)?;
    if left == 0 {
        if output == Output::Human {
            println!("nothing is left behind");
        }
        Ok(Exit::Ok)
    } else {
        Ok(Exit::RunFailed)
    }
}
