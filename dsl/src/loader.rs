//! Where source files come from.
//!
//! The compiler asks a [`Loader`] for the text of the runbook file and of each
//! `import`. [`FsLoader`] reads the file system; [`BundledLoader`] serves the
//! runbooks embedded in the binary (`workflows/…`), so that
//! `lifeboat plan option1/protect` works anywhere.

use crate::bundled;
use std::path::Path;

pub trait Loader {
    /// The text of the file at `path`, or why it cannot be read.
    fn load(&self, path: &str) -> Result<String, String>;

    /// The path of `import "rel"` written in the file at `base`.
    fn join(&self, base: &str, rel: &str) -> String {
        let dir = Path::new(base).parent().unwrap_or(Path::new(""));
        normalize(&dir.join(rel).to_string_lossy())
    }
}

/// Reads the file system.
pub struct FsLoader;

impl Loader for FsLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}

/// Serves the bundled runbooks (`workflows/option1/protect.dr`, …).
pub struct BundledLoader;

impl Loader for BundledLoader {
    fn load(&self, path: &str) -> Result<String, String> {
        bundled::WORKFLOWS
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, t)| t.to_string())
            .ok_or_else(|| format!("no bundled runbook file `{path}`"))
    }
}

/// `a/./b/../c` → `a/c` (textual, so it also works for bundled paths).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "." | "" if !parts.is_empty() || p == "." => {}
            ".." if parts.last().is_some_and(|l| *l != ".." && !l.is_empty()) => {
                parts.pop();
            }
            _ => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(
            FsLoader.join("workflows/option1/protect.dr", "../common.dr"),
            "workflows/common.dr"
        );
        assert_eq!(FsLoader.join("protect.dr", "common.dr"), "common.dr");
        assert_eq!(FsLoader.join("/abs/x.dr", "./y.dr"), "/abs/y.dr");
    }
}
