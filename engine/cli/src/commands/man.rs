//! `lifeboat man`: the man page (roff), generated from the clap
//! definitions: `lifeboat man > lifeboat.1; man ./lifeboat.1`. Each
//! subcommand's page with `lifeboat man SUBCOMMAND`.

use crate::error::{CmdResult, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A subcommand's own page (`lifeboat man run`).
    pub subcommand: Option<String>,
}

pub fn run(args: Args, cmd: clap::Command) -> CmdResult {
    let cmd = match &args.subcommand {
        None => cmd,
        Some(sub) => match cmd.get_subcommands().find(|c| c.get_name() == sub) {
            Some(c) => c.clone().name(format!("lifeboat-{sub}")),
            None => {
                let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
                return Err(
                    format!("no subcommand `{sub}` (they are: {})", names.join(", ")).into(),
                );
            }
        },
    };
    clap_mangen::Man::new(cmd)
        .render(&mut std::io::stdout())
        .map_err(|e| format!("cannot write the man page: {e}"))?;
    Ok(Exit::Ok)
}
