//! Where Lifeboat keeps its state: `$XDG_STATE_HOME/lifeboat` (else
//! `~/.local/state/lifeboat`), or `--state-dir DIR`.
//!
//! ```text
//! <state>/runs/<run id>/   plan.json, journal.jsonl (executor), params.json,
//!                          sites.json (which cloud served each site), report.json
//! <state>/emulator/        clouds.yaml + emulator.json of `lifeboat emulator serve`
//! ```

use std::path::{Path, PathBuf};

pub const PARAMS_FILE: &str = "params.json";
pub const SITES_FILE: &str = "sites.json";
pub const REPORT_FILE: &str = "report.json";
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

pub fn runs_dir(state: &Path) -> PathBuf {
    state.join("runs")
}

pub fn emulator_dir(state: &Path) -> PathBuf {
    state.join("emulator")
}

/// A run's directory from a run id (or a path to a run directory).
pub fn run_dir(state: &Path, run: &str) -> Result<PathBuf, String> {
    let as_path = Path::new(run);
    if as_path.join(lifeboat_exec::journal::JOURNAL_FILE).is_file() {
        return Ok(as_path.to_path_buf());
    }
    if run.is_empty() || run.contains('/') || run.contains("..") {
        return Err(format!(
            "no run `{run}`: give a run id from `lifeboat runs`"
        ));
    }
    let d = runs_dir(state).join(run);
    if d.join(lifeboat_exec::journal::JOURNAL_FILE).is_file() {
        Ok(d)
    } else {
        Err(format!(
            "no run `{run}` under {} (see `lifeboat runs`, or pass --state-dir)",
            runs_dir(state).display()
        ))
    }
}

/// Write JSON atomically enough for our purposes (temp file + rename).
pub fn write_json(path: &Path, v: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| format!("cannot encode {}: {e}", path.display()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not valid: {e}", path.display()))
}
