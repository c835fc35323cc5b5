//! Where Lifeboat keeps its state: `$XDG_STATE_HOME/lifeboat` (else
//! `~/.local/state/lifeboat`), or `--state-dir DIR`.
//!
//! ```text
//! <state>/runs/<run id>/   one run: see lifeboat_daemon::run_dir, the one owner of its layout
//! <state>/emulator/        clouds.yaml + emulator.json of `lifeboat emulator serve`
//! <state>/history.sqlite   the run history and the runs' locks (lifeboat_daemon::history)
//! ```

pub use lifeboat_daemon::run_dir::{read_json, write_json};
use std::path::{Path, PathBuf};

pub const EMULATOR_INFO: &str = "emulator.json";

/// The state directory: `explicit`, else the XDG default.
pub fn state_dir(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("lifeboat"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".local/state/lifeboat")),
        None => {
            Err("no state directory: set XDG_STATE_HOME or HOME, or pass --state-dir DIR".into())
        }
    }
}

pub fn emulator_dir(state: &Path) -> PathBuf {
    state.join("emulator")
}
