//! `lifeboat cleanup RUN [--json] [--state-dir DIR]`: retry what a finished
//! run left behind — its orphans (the report's "LEFT BEHIND" list): calls
//! in doubt are settled, and the compensations (of a run that failed) and
//! cleanups that did not succeed are tried again, with the clouds and limits
//! the run started with, under the run's lock. Idempotent: what was done is
//! not done again. Exit 0 when nothing is left, 1 when something still
//! could not be removed (the report lists it), 2 when the run cannot be
//! cleaned up (unknown, or not finished: `lifeboat resume` it).

use super::resume::{pick_up, Again};
use super::{EXIT_OK, EXIT_RUN_FAILED};
use crate::dispatch::Output;

/// The same options as `resume`.
pub type Args = super::resume::Args;

pub fn run(args: Args) -> u8 {
    pick_up(args, Again::Cleanup)
}

/// Prints the report and gives the exit code: 0 when nothing is left.
pub fn finish(r: Result<crate::report::RunReport, String>, output: Output) -> u8 {
    let left = match &r {
        Ok(report) => report.run.orphans.len() + report.run.thaw_failures.len(),
        // The run could not be picked up: said, exit 2.
        Err(_) => return super::run::finish(r, output),
    };
    let _ = super::run::finish(r, output);
    if left == 0 {
        if output == Output::Human {
            println!("nothing is left behind");
        }
        EXIT_OK
    } else {
        EXIT_RUN_FAILED
    }
}
