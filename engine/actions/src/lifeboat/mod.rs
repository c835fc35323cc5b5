//! Lifeboat's own actions, one file a concept: the recovery manifest
//! (`manifest.rs`, written to and read from the backup site's Swift; format
//! in docs/manifest.md), which manifest is which recovery point
//! (`points.rs`: the newest of an option, a named one, the newest before a
//! time, the newest a drill verified), `verify` and `volume_for`
//! (`verify.rs`: counts, sizes, and content checksums when the cloud offers
//! them), and operator hooks (`hooks.rs`: HTTP POST or a command with the
//! JSON payload on stdin).

mod hooks;
mod manifest;
pub mod points;
mod verify;

pub use hooks::*;
pub use manifest::*;
pub use verify::*;
