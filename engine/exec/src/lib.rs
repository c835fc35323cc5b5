//! The Lifeboat executor. It walks a compiled [`lifeboat_dsl::plan::Plan`],
//! calls [`action::Actions`] for every step, and knows nothing of OpenStack.
//!
//! One-way layers, each file using only those above it in this list (a
//! test holds the files to it):
//!
//! ```text
//! action, approve, cancel, eval, limits   the vocabulary: calls, approvals, stop reasons, values, site limits
//! event → report                          what the executor tells the world; the report folded from it
//! journal → ledger → replay               the durable record; what may need undoing; the record read back
//! context                                 Rt, what every future of a run shares; Engine, what every run shares
//! step                                    a step's whole life, and one call with retries
//! saga                                    compensation, cleanup, calls in doubt (a run's, an attempt's)
//! quiesce                                 freeze group by group, run the body, thaw in exact reverse; again
//! walk                                    blocks: readiness, skipping, fan-out, approval; enters the scopes
//! discover                                the same walk before a run: reads only, unknowns, projections
//! run                                     a run from start to its last record
//! resume                                  a run picked up again, decided or cleaned up after
//! executor                                the interface: Executor, RunHandle
//! ```
//!
//! Typical use (the CLI's dispatcher):
//!
//! ```no_run
//! # async fn demo(plan: lifeboat_dsl::plan::Plan, actions: std::sync::Arc<dyn lifeboat_exec::action::Actions>) {
//! use lifeboat_exec::{default_run_dir, new_run_id, AutoApprove, Executor, Report};
//! let exec = Executor::new(actions).with_approver(std::sync::Arc::new(AutoApprove));
//! let id = new_run_id();
//! let dir = default_run_dir(&id).expect("HOME or XDG_STATE_HOME");
//! let mut run = exec.spawn(plan, serde_json::Map::new(), dir, Some(id));
//! // on Ctrl-C: run.cancel.interrupt();
//! let mut report = Report::default();
//! while let Some(event) = run.events.recv().await {
//!     report.apply(&event); // and draw progress
//! }
//! let result = run.result.await.expect("run task").expect("run started");
//! println!("{}", report.render_text());
//! # let _ = result;
//! # }
//! ```
//!
//! `Executor::run` / `Executor::resume` are the same without a task;
//! `Executor::spawn_resume(run_dir)` resumes after a crash.

pub mod action;
pub mod approve;
pub mod cancel;
mod context;
pub mod discover;
pub mod eval;
pub mod event;
mod executor;
pub mod journal;
mod ledger;
pub mod limits;
pub mod quiesce;
mod replay;
pub mod report;
pub mod resume;
pub mod run;
pub mod saga;
pub mod step;
pub mod walk;

pub use approve::{ApproveError, Approver, AutoApprove, Refuse};
pub use cancel::{CancelHandle, CancelReason};
pub use context::{ExecConfig, ExecError, RunOptions};
pub use event::{Decision, Event, EventKind, EventReceiver, EventSender, Phase, RunOutcome};
pub use executor::{Executor, RunHandle};
pub use journal::{default_run_dir, read_journal, Durability, Record};
pub use limits::{FreezeGate, Limits};
pub use report::Report;
pub use resume::DecideBy;
pub use run::{new_run_id, RunPhase, RunResult};
pub use step::{make_tag, StepState};

#[cfg(test)]
mod layers {
    /// The executor's files, lowest layer first.
    const FILES: &[(&str, &str)] = &[
        ("action", include_str!("action.rs")),
        ("approve", include_str!("approve.rs")),
        ("cancel", include_str!("cancel.rs")),
        ("eval", include_str!("eval.rs")),
        ("limits", include_str!("limits.rs")),
        ("event", include_str!("event.rs")),
        ("report", include_str!("report.rs")),
        ("journal", include_str!("journal.rs")),
        ("ledger", include_str!("ledger.rs")),
        ("replay", include_str!("replay.rs")),
        ("context", include_str!("context.rs")),
        ("step", include_str!("step.rs")),
        ("saga", include_str!("saga.rs")),
        ("quiesce", include_str!("quiesce.rs")),
        ("walk", include_str!("walk.rs")),
        ("discover", include_str!("discover.rs")),
        ("run", include_str!("run.rs")),
        ("resume", include_str!("resume.rs")),
        ("executor", include_str!("executor.rs")),
    ];

    /// The crate's modules `code` names: `crate::m…` or `super::m…`, and
    /// each item of a group (`use crate::{a::X, b};`, over several lines
    /// too). Comments are the caller's to remove.
    fn modules_named(code: &str) -> Vec<String> {
        fn ident(s: &str) -> &str {
            let end = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            &s[..end]
        }
        /// The items of the group `s` starts inside (after its `{`), each
        /// trimmed; nested groups kept whole.
        fn group_items(s: &str) -> Vec<&str> {
            let (mut depth, mut start, mut out) = (0usize, 0usize, Vec::new());
            for (i, c) in s.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.push(s[start..i].trim());
                        return out;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(s[start..i].trim());
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            out
        }
        let mut out = Vec::new();
        for root in ["crate::", "super::"] {
            for (i, _) in code.match_indices(root) {
                let rest = code[i + root.len()..].trim_start();
                match rest.strip_prefix('{') {
                    Some(group) => out.extend(
                        group_items(group)
                            .into_iter()
                            .map(|item| ident(item).to_string()),
                    ),
                    None => out.push(ident(rest).to_string()),
                }
            }
        }
        out.retain(|m| !m.is_empty());
        out
    }

    #[test]
    fn grouped_and_sibling_paths_are_read() {
        let code = "use crate::{\n    walk::{run_block, Visit},\n    step::Got,\n};\nlet x = super::run::f();\nuse crate::eval::Frame;";
        assert_eq!(modules_named(code), ["walk", "step", "eval", "run"]);
    }

    /// No file uses a file of its own layer or above (doc comments may
    /// point anywhere): the executor reads top to bottom, without cycles.
    #[test]
    fn every_file_uses_only_the_layers_below_it() {
        let mut wrong = Vec::new();
        for (i, (file, src)) in FILES.iter().enumerate() {
            let code: String = src
                .lines()
                .map(|l| l.split("//").next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n");
            for m in modules_named(&code) {
                if FILES[i + 1..].iter().any(|(above, _)| *above == m) {
                    wrong.push(format!("{file}.rs uses {m}, a layer above it"));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        // The list is the crate: a new file takes its place in it.
        let listed = FILES.len();
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
            .unwrap()
            .filter(|e| {
                let p = e.as_ref().unwrap().path();
                p.extension().is_some_and(|x| x == "rs") && !p.ends_with("lib.rs")
            })
            .count();
        assert_eq!(listed, on_disk, "a file of src/ is missing from FILES");
    }
}
