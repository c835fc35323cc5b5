//! How a command ends: [`Exit`] when it did what was asked (the status says
//! how it went), [`CliError`] when it could not (exit 2). Every command's
//! `run` returns a [`CmdResult`]; `main` prints the error, once, and turns
//! either into the process's exit status. The text of an error is written
//! in one place, here.

use crate::commands::LoadError;

/// How a command that did its work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit 0: done, nothing to report.
    Ok,
    /// Exit 1: done, and it found something wrong: warnings with
    /// `check --deny-warnings`, files `fmt --check` would change, error
    /// findings of `plan --resolve` (the plan is printed all the same), a
    /// cluster with no live member (`cluster status`).
    Warnings,
    /// Exit 1: a run failed, what it did compensated (or `cleanup`,
    /// `rollback`, `commit` left something behind); the demo's runs or its
    /// verification failed.
    RunFailed,
    /// Exit 3: a run was interrupted (Ctrl-C); `lifeboat resume` goes on.
    Interrupted,
}

impl Exit {
    pub fn code(&self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Warnings | Exit::RunFailed => 1,
            Exit::Interrupted => 3,
        }
    }
}

/// A command that could not do what was asked: bad input, an unreadable
/// file, a refused lock, a cloud that cannot be reached… Always exit 2.
#[derive(Debug)]
pub enum CliError {
    /// `error: MESSAGE`, then, on its own line, what was not done (and
    /// what to do about it): `nothing was run`.
    Message {
        message: String,
        not_done: Option<String>,
    },
    /// A runbook argument that could not be made ready, and what was not
    /// done because of it (`no plan`, `nothing was run`).
    Load {
        error: LoadError,
        not_done: &'static str,
    },
    /// Everything has been said already (the diagnostics and the summary
    /// line); nothing more is printed.
    Reported,
}

/// What every command's `run` returns.
pub type CmdResult = Result<Exit, CliError>;

impl CliError {
    pub fn new(message: impl Into<String>) -> CliError {
        CliError::Message {
            message: message.into(),
            not_done: None,
        }
    }

    /// The line printed after the message: what was not done.
    pub fn not_done(self, line: impl Into<String>) -> CliError {
        match self {
            CliError::Message { message, .. } => CliError::Message {
                message,
                not_done: Some(line.into()),
            },
            other => other,
        }
    }

    /// Print it on stderr: `error:` lines, then what was not done.
    pub fn print(&self) {
        match self {
            CliError::Message {
                message,
                not_done: None,
            } => eprintln!("error: {message}"),
            CliError::Message {
                message,
                not_done: Some(line),
            } => eprintln!("error: {message}\n{line}"),
            CliError::Load { error, not_done } => match error {
                // The diagnostics are printed already: only their count.
                LoadError::Errors(n) => eprintln!("{n} error(s): {not_done}"),
                LoadError::Params(errs) => {
                    for e in errs {
                        eprintln!("error: {e}");
                    }
                    eprintln!("{not_done}");
                }
                other => eprintln!("error: {other}"),
            },
            CliError::Reported => {}
        }
    }

    pub fn code(&self) -> u8 {
        2
    }
}

/// The message alone (for a caller that reports it in its own words).
impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Message { message, .. } => f.write_str(message),
            CliError::Load { error, .. } => write!(f, "{error}"),
            CliError::Reported => f.write_str("see the messages above"),
        }
    }
}

impl From<String> for CliError {
    fn from(message: String) -> CliError {
        CliError::new(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> CliError {
        CliError::new(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_codes_stay_what_the_docs_and_scripts_know() {
        assert_eq!(Exit::Ok.code(), 0);
        assert_eq!(Exit::Warnings.code(), 1);
        assert_eq!(Exit::RunFailed.code(), 1);
        assert_eq!(Exit::Interrupted.code(), 3);
        assert_eq!(CliError::from("x").code(), 2);
        assert_eq!(CliError::Reported.code(), 2);
    }

    #[test]
    fn not_done_goes_on_the_message_only() {
        let e = CliError::from("bad").not_done("nothing was run");
        assert!(matches!(
            e,
            CliError::Message { ref message, not_done: Some(ref n) }
                if message == "bad" && n == "nothing was run"
        ));
        assert!(matches!(
            CliError::Reported.not_done("x"),
            CliError::Reported
        ));
    }
}
