//! Who owns a run or a lock: a process, named by its pid and its start time
//! (from `/proc/PID/stat`), so a pid reused by another process after a
//! crash is not taken for the owner. Elsewhere than Linux the start time is
//! unknown and only the pid is compared.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    pub start: u64,
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: start_time(pid).unwrap_or(0),
        }
    }

    /// `PID:START`, as stored.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.pid, self.start)
    }

    pub fn decode(s: &str) -> Option<Owner> {
        let (p, t) = s.split_once(':')?;
        Some(Owner {
            pid: p.parse().ok()?,
            start: t.parse().ok()?,
        })
    }

    /// Whether that process still runs.
    pub fn alive(&self) -> bool {
        if !std::path::Path::new("/proc/self").exists() {
            // No procfs: trust the pid alone.
            return std::process::Command::new("kill")
                .args(["-0", &self.pid.to_string()])
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        }
        match start_time(self.pid) {
            Some(t) => self.start == 0 || t == self.start,
            None => false,
        }
    }
}

/// Field 22 of `/proc/PID/stat` (start time in clock ticks since boot);
/// `None` when the process does not exist. A zombie counts as gone.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}
