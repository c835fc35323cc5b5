//! `lifeboat man`: the man page (roff), generated from the clap
//! definitions: `lifeboat man > lifeboat.1; man ./lifeboat.1`. Each
//! subcommand's page with `lifeboat man SUBCOMMAND`.

use super::{EXIT_ERRORS, EXIT_OK};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A subcommand's own page (`lifeboat man run`).
    pub subcommand: Option<String>,
}

pub fn run(args: Args, cmd: clap::Command) -> u8 {
    let cmd = match &args.subcommand {
        None => cmd,
        Some(sub) => match cmd.get_subcommands().find(|c| c.get_name() == sub) {
            Some(c) => c.clone().name(format!("lifeboat-{sub}")),
            None => {
                let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
                eprintln!(
                    "error: no subcommand `{sub}` (they are: {})",
                    names.join(", ")
                );
                return EXIT_ERRORS;
            }
        },
    };
    match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: cannot write the man page: {e}");
            EXIT_ERRORS
        }
    }
}
