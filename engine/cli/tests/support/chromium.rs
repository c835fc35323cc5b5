//! Headless Chromium for the HTML views: find it (skip locally when absent,
//! fail under CI=1), load a page (DOM after scripts, stderr), take a
//! screenshot, and pick console errors out of its log.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The chromium binary, or `None` (skip) when absent and not under CI.
pub fn chromium() -> Option<PathBuf> {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(o) = Command::new("which").arg(c).output() {
            if o.status.success() {
                return Some(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
            }
        }
    }
    let under_ci = std::env::var("CI")
        .map(|v| !v.is_empty() && v != "0" && v != "false")
        .unwrap_or(false);
    assert!(
        !under_ci,
        "chromium is required under CI (apt-get install -y chromium)"
    );
    eprintln!("skipping: chromium not installed");
    None
}

/// Load `page`: (DOM after scripts, stderr); with `screenshot`, write a PNG instead of dumping the DOM.
pub fn load(chrome: &Path, page: &Path, screenshot: Option<&Path>) -> (String, String) {
    load_sized(chrome, page, screenshot, (1600, 1200))
}

/// [`load`] with a window of `size` (width, height) pixels.
pub fn load_sized(
    chrome: &Path,
    page: &Path,
    screenshot: Option<&Path>,
    size: (u32, u32),
) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(chrome);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ]);
    cmd.arg(format!("--window-size={},{}", size.0, size.1));
    cmd.arg(format!("--user-data-dir={}", profile.path().display()));
    match screenshot {
        Some(s) => cmd.arg(format!("--screenshot={}", s.display())),
        None => cmd.arg("--dump-dom"),
    };
    cmd.arg(format!("file://{}", page.display()));
    let o = cmd.output().expect("run chromium");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

pub fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("SyntaxError"))
        .collect()
}

/// `target/plan-view/`, where the pages and screenshots are kept as artifacts.
pub fn artifacts() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plan-view");
    std::fs::create_dir_all(&d).unwrap();
    d
}
