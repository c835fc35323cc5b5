//! `lifeboat plan FILE [--param k=v …] [--format text|dot|mermaid|json]`:
//! compile a runbook and print its plan without touching anything.
//!
//! FILE is a path or a bundled runbook name (`option1/protect`). Errors in
//! the runbook, a missing required parameter or a value of the wrong type
//! exit with status 2.

use super::{compile_input, print_diagnostics, EXIT_ERRORS, EXIT_OK};
use lifeboat_dsl::graph::PlanGraph;
use lifeboat_dsl::params;
use lifeboat_dsl::render::{self, Format};

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum FormatArg {
    #[default]
    Text,
    Dot,
    Mermaid,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A runbook file (`*.dr`) or a bundled runbook name (`option1/protect`).
    pub file: String,
    /// A runbook parameter, `name=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Which runbook, when the file holds several.
    #[arg(long)]
    pub runbook: Option<String>,
}

pub fn run(args: Args) -> u8 {
    let c = match compile_input(&args.file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERRORS;
        }
    };
    print_diagnostics(&c);
    if c.has_errors() {
        eprintln!("{} error(s): no plan", c.diagnostics.error_count());
        return EXIT_ERRORS;
    }
    let plan = match c.plan(args.runbook.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERRORS;
        }
    };
    let values = match params::bind(plan, &args.params) {
        Ok(v) => v,
        Err(errs) => {
            for e in errs {
                eprintln!("error: {e}");
            }
            return EXIT_ERRORS;
        }
    };
    let bound = params::apply(plan, &values);
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Dot => Format::Dot,
        FormatArg::Mermaid => Format::Mermaid,
        FormatArg::Json => Format::Json,
    };
    print!("{}", render::render(&PlanGraph::build(&bound), format));
    EXIT_OK
}
