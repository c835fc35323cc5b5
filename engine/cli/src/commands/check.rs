//! `lifeboat check FILE…`: compile each runbook file and report diagnostics;
//! a `*.yaml` / `*.yml` file is a site mapping, validated (docs/mapping.md).
//!
//! Exit 0 when clean (warnings allowed), 1 when there are warnings and
//! `--deny-warnings` is given, 2 when any file has an error or cannot be read.

use super::{compile_input, print_diagnostics};
use crate::error::{CliError, CmdResult, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Runbook files (`*.dr`), bundled runbook names (`option1/protect`) or
    /// site mappings (`*.yaml`).
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Exit with status 1 when there are warnings.
    #[arg(long)]
    pub deny_warnings: bool,
    /// One line per diagnostic (`path:line:col: error[code]: message`) instead of the rendered report.
    #[arg(long)]
    pub short: bool,
}

pub fn run(args: Args) -> CmdResult {
    let (mut errors, mut warnings) = (0, 0);
    for f in &args.files {
        if super::mapping::is_mapping(f) {
            errors += super::mapping::report(f, args.short);
            continue;
        }
        match compile_input(f) {
            Ok(c) => {
                if args.short {
                    for d in &c.diagnostics.list {
                        eprintln!("{}", d.one_line(&c.sources));
                    }
                } else {
                    print_diagnostics(&c);
                }
                errors += c.diagnostics.error_count();
                warnings += c.diagnostics.warning_count();
            }
            Err(e) => {
                // Said, and the other files checked all the same.
                CliError::from(e).print();
                errors += 1;
            }
        }
    }
    if errors > 0 {
        eprintln!("{errors} error(s), {warnings} warning(s)");
        Err(CliError::Reported)
    } else if warnings > 0 {
        eprintln!("{warnings} warning(s)");
        if args.deny_warnings {
            Ok(Exit::Warnings)
        } else {
            Ok(Exit::Ok)
        }
    } else {
        Ok(Exit::Ok)
    }
}
