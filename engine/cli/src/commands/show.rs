//! `lifeboat show RUN [--json] [--state-dir DIR]`: print a run's report
//! again from `report.json`. A run that never finished has none: the
//! message says to resume it.

use super::{EXIT_ERRORS, EXIT_OK};
use crate::report::RunReport;
use crate::state::{self, REPORT_FILE};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run id (see `lifeboat runs`) or a run directory.
    pub run: String,
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> u8 {
    let dir = match state::state_dir(args.state_dir.as_deref()).and_then(|s| state::run_dir(&s, &args.run)) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERRORS;
        }
    };
    let report: RunReport = match state::read_json(&dir.join(REPORT_FILE)) {
        Ok(r) => r,
        Err(_) => {
            eprintln!(
                "run {} has no report: it did not finish (crashed or still running). `lifeboat resume {}` finishes it.",
                args.run, args.run
            );
            return EXIT_ERRORS;
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERRORS;
            }
        }
    } else {
        print!("{}", report.render_text());
    }
    EXIT_OK
}
