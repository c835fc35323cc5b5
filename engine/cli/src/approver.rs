//! How `approve "…"` is answered by the CLI.
//!
//! On a terminal (stdin and stderr both TTYs) the operator is asked `(y/N)`
//! with the approve text; anything but `y`/`yes` is a no. Without a terminal
//! the run refuses unless `--confirm` was given ([`lifeboat_exec::AutoApprove`]);
//! `--yes` is never implied. The demo approves by itself and says so.

use async_trait::async_trait;
use indicatif::ProgressBar;
use lifeboat_exec::{ApproveError, Approver, AutoApprove, Refuse};
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

/// Asks on the terminal; the progress bar (if any) is hidden meanwhile.
pub struct TtyApprover {
    pub bar: Option<ProgressBar>,
}

#[async_trait]
impl Approver for TtyApprover {
    async fn approve(&self, prompt: &str) -> Result<bool, ApproveError> {
        let bar = self.bar.clone();
        let prompt = prompt.to_string();
        let ask = move || -> Result<bool, ApproveError> {
            let mut err = std::io::stderr();
            let _ = write!(err, "\nApproval needed: {prompt}\nProceed? (y/N) ");
            let _ = err.flush();
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| ApproveError(format!("cannot read the answer: {e}")))?;
            let yes = matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes");
            if !yes {
                let _ = writeln!(err, "Not approved: the run stops here.");
            }
            Ok(yes)
        };
        tokio::task::spawn_blocking(move || match bar {
            Some(b) => b.suspend(ask),
            None => ask(),
        })
        .await
        .map_err(|e| ApproveError(format!("the approval prompt failed: {e}")))?
    }
}

/// Said by the demo: it approves, and prints that it did.
pub struct DemoApprover;

#[async_trait]
impl Approver for DemoApprover {
    async fn approve(&self, prompt: &str) -> Result<bool, ApproveError> {
        println!("  approval: \"{prompt}\" — approved by the demo itself (a real run asks, or needs --confirm)");
        Ok(true)
    }
}

pub fn is_interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The approver for `run` / `resume`.
pub fn choose(confirm: bool, bar: Option<ProgressBar>) -> Arc<dyn Approver> {
    if confirm {
        Arc::new(AutoApprove)
    } else if is_interactive() {
        Arc::new(TtyApprover { bar })
    } else {
        Arc::new(Refuse)
    }
}
