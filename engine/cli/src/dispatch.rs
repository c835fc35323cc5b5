//! The dispatcher: it owns what the user sees while a run goes on. The
//! executor only sends events; here they become a live progress display
//! (TTY, indicatif), JSON lines on stdout (`--json`), or nothing (the demo
//! prints its own lines), and fold into the final [`RunReport`], written as
//! `report.json` in the run dir. Each Ctrl-C is forwarded to the executor
//! (first: interrupt and compensate; second: stop compensating, still thaw).

use crate::report::{fmt_bytes, RunReport};
use indicatif::{ProgressBar, ProgressStyle};
use lifeboat_daemon::run_dir::RunDir;
use lifeboat_exec::report::TriedAgain;
use lifeboat_exec::{EventKind, Report, RunHandle};
use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// A progress bar on a TTY (plain start/finish lines otherwise).
    Human,
    /// One JSON event per line on stdout.
    Json,
    /// Nothing while running.
    Quiet,
}

/// The progress bar for `Human` output on a terminal.
pub fn progress_bar(output: Output) -> Option<ProgressBar> {
    if output != Output::Human || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::new(0);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    pb.set_style(style);
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(pb)
}

/// Follow a run to its end. Returns the report (also written to the run dir)
/// or why the run could not start.
pub async fn follow(
    mut h: RunHandle,
    output: Output,
    bar: Option<ProgressBar>,
    write: Write,
) -> Result<RunReport, String> {
    let cancel = h.cancel.clone();
    let signals = tokio::spawn(async move {
        let mut n = 0;
        while tokio::signal::ctrl_c().await.is_ok() {
            n += 1;
            let reason = cancel.interrupt();
            if n == 1 {
                eprintln!("\ninterrupt: stopping; compensating what was done ({reason:?}). Ctrl-C again stops compensation (servers are still thawed).");
            } else {
                eprintln!("\ninterrupt again: leaving compensation for `lifeboat resume`; thawing servers.");
            }
        }
    });
    let mut report = Report::default();
    let (mut started, mut done) = (0u64, 0u64);
    let mut frozen: Vec<String> = Vec::new();
    // When the current quiesce window opened (the first freeze of a scope).
    let mut window_start: Option<std::time::Instant> = None;
    while let Some(ev) = h.events.recv().await {
        report.apply(&ev);
        match output {
            Output::Json => {
                if let Ok(line) = serde_json::to_string(&ev) {
                    println!("{line}");
                }
            }
            Output::Quiet => {}
            Output::Human => {
                match &ev.kind {
                    EventKind::StepStarted { attempt: 1, .. } => started += 1,
                    EventKind::StepSucceeded { .. }
                    | EventKind::StepFailed { .. }
                    | EventKind::StepSkipped { .. }
                    | EventKind::StepCancelled { .. } => done += 1,
                    EventKind::FreezeStarted { .. } if frozen.is_empty() => {
                        window_start = Some(std::time::Instant::now())
                    }
                    EventKind::Frozen { target, .. } => frozen.push(target.clone()),
                    EventKind::Thawed { target, .. } => {
                        frozen.retain(|t| t != target);
                        if frozen.is_empty() {
                            window_start = None;
                        }
                    }
                    EventKind::StepRetrying {
                        instance,
                        attempt,
                        error,
                        ..
                    } => {
                        let line = format!("retrying {instance} (attempt {attempt}): {error}");
                        match &bar {
                            Some(b) => b.println(line),
                            None => eprintln!("{line}"),
                        }
                    }
                    EventKind::ScopeRetrying { scope, .. } => {
                        let line = match TriedAgain::of(&ev.kind) {
                            Some(t) => format!("{scope}: {}", t.text()),
                            None => scope.clone(),
                        };
                        match &bar {
                            Some(b) => b.println(line),
                            None => eprintln!("{line}"),
                        }
                    }
                    EventKind::RunStarted {
                        run_id,
                        runbook,
                        resumed,
                        ..
                    } if bar.is_none() => {
                        eprintln!(
                            "{} {runbook}: run {run_id}",
                            if *resumed { "resuming" } else { "running" }
                        );
                    }
                    _ => {}
                }
                if let Some(b) = &bar {
                    b.set_length(started.max(done));
                    b.set_position(done);
                    let q = match (frozen.is_empty(), window_start) {
                        (false, Some(t)) => format!(
                            " · quiesce window {:.1}s: {}",
                            t.elapsed().as_secs_f64(),
                            frozen.join(", ")
                        ),
                        (false, None) => format!(" · quiesced: {}", frozen.join(", ")),
                        _ => String::new(),
                    };
                    b.set_message(format!("· {}{q}", fmt_bytes(report.bytes_moved)));
                }
            }
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    signals.abort();
    let result = h
        .result
        .await
        .map_err(|e| format!("the run task failed: {e}"))?;
    let result = result.map_err(|e| e.to_string())?;
    write(report, &RunDir::at(result.run_dir))
}

/// How a followed run's report is kept: [`RunReport::write_for`] (a run,
/// resumed or decided) or [`RunReport::write_cleanup_for`] (a cleanup).
pub type Write = fn(Report, &RunDir) -> Result<RunReport, String>;
