//! The Lifeboat executor. It walks a compiled [`lifeboat_dsl::plan::Plan`],
//! calls [`action::Actions`] for every step, and knows nothing of OpenStack.
//!
//! ```text
//! caller (CLI dispatcher) ──Executor::run / resume──▶ run.rs (run state machine)
//!        ▲                                              │
//!        │ Event (mpsc)                                 ├─ scheduler.rs  blocks, readiness, fan-out, approve
//!        └──────────── event.rs ◀───────────────────────┤─ quiesce.rs    freeze / watchdog / thaw
//!                                                       ├─ step.rs       step states, retries, timeouts
//!   report.rs folds events into a Report                ├─ saga.rs       compensation, cleanup
//!   cancel.rs CancelHandle (Ctrl-C)                     ├─ eval.rs       expressions against run values
//!                                                       ├─ limits.rs     per-site semaphores
//!                                                       └─ journal.rs    durable JSON lines; resume.rs reads it
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
pub mod eval;
pub mod event;
pub mod journal;
pub mod limits;
pub mod quiesce;
pub mod report;
pub mod resume;
pub mod run;
pub mod saga;
pub mod scheduler;
pub mod step;

pub use approve::{ApproveError, Approver, AutoApprove, Refuse};
pub use cancel::{CancelHandle, CancelReason};
pub use event::{Decision, Event, EventKind, EventReceiver, EventSender, Phase, RunOutcome};
pub use journal::{default_run_dir, read_journal, Durability, Record};
pub use limits::Limits;
pub use report::Report;
pub use run::{
    new_run_id, DecideBy, ExecConfig, ExecError, Executor, RunHandle, RunOptions, RunPhase,
    RunResult,
};
pub use step::{make_tag, StepState};
