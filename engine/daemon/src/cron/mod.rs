//! Schedules: when a runbook's `schedule "CRON" tz "Area/City"` is due.
pub mod due;
pub use due::Due;
