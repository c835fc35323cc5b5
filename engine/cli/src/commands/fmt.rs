//! `lifeboat fmt [--check] FILE…`: rewrite runbook files in the canonical
//! layout (comments kept). With `--check`, change nothing and exit 1 when a
//! file is not formatted. A file with syntax errors exits 2.

use super::{EXIT_ERRORS, EXIT_OK, EXIT_WARNINGS};
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

pub fn run(args: Args) -> u8 {
    let mut status = EXIT_OK;
    for path in &args.files {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{path}`: {e}");
                status = EXIT_ERRORS;
                continue;
            }
        };
        match fmt::format(path, &text) {
            Ok(formatted) if formatted == text => {}
            Ok(formatted) => {
                if args.check {
                    eprintln!("{path}: not formatted");
                    status = status.max(EXIT_WARNINGS);
                } else if let Err(e) = std::fs::write(path, formatted) {
                    eprintln!("error: cannot write `{path}`: {e}");
                    status = EXIT_ERRORS;
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
                status = EXIT_ERRORS;
            }
        }
    }
    status
}
