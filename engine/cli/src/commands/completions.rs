//! `lifeboat completions SHELL`: the shell's completion script, generated
//! from the clap definitions (so it never falls behind the commands).
//! `lifeboat completions bash > /etc/bash_completion.d/lifeboat`.

use crate::error::{CmdResult, Exit};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args, mut cmd: clap::Command) -> CmdResult {
    let name = cmd.get_name().to_string();
    clap_complete::generate(args.shell, &mut cmd, name, &mut std::io::stdout());
    Ok(Exit::Ok)
}
