//! `lifeboat fmt [--check] FILE…`: rewrite runbook files in the canonical
//! layout (comments kept). With `--check`, change nothing and exit 1 when a
//! file is not formatted. A file with syntax errors exits 2.

use crate::error::{CliError, CmdResult, Exit};
use lifeboat_dsl::fmt;
use lifeboat_dsl::source::SourceMap;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Runbook files (`*.dr`).
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Only check: list files that are not formatted, exit 1 if any.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: Args) -> CmdResult {
    // Every file is done (or said to fail) before the status is known.
    let (mut errors, mut unformatted) = (false, false);
    for path in &args.files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                CliError::from(format!("cannot read `{path}`: {e}")).print();
                errors = true;
                continue;
            }
        };
        match fmt::format(path, &text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                if args.check {
                    eprintln!("{path}: not formatted");
                    unformatted = true;
                } else if let Err(e) = std::fs::write(path, formatted) {
                    CliError::from(format!("cannot write `{path}`: {e}")).print();
                    errors = true;
                } else {
                    eprintln!("formatted {path}");
                }
            }
            Err(diags) => {
                let mut sources = SourceMap::default();
                sources.add(path.as_str(), text);
                for d in diags {
                    eprintln!("{:?}", d.report(&sources));
                }
                errors = true;
            }
        }
    }
    if errors {
        Err(CliError::Reported)
    } else if unformatted {
        Ok(Exit::Warnings)
    } else {
        Ok(Exit::Ok)
    }
}
