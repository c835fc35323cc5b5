//! Every file under tests/malformed/ is a runbook with one mistake. Its first
//! line says what the compiler must report:
//!
//! ```text
//! # expect: <kind> <line>:<col> <message substring>
//! ```
//!
//! The test compiles each file and asserts a diagnostic of that kind, at
//! exactly that position, whose message contains the substring — and that
//! compiling never panics.

use lifeboat_dsl::compiler;
use lifeboat_dsl::diagnostic::Severity;
use lifeboat_dsl::loader::FsLoader;
use std::path::{Path, PathBuf};

struct Expect {
    code: String,
    line: u32,
    col: u32,
    text: String,
}

fn expectation(path: &Path, src: &str) -> Expect {
    let first = src.lines().next().unwrap_or_default();
    let rest = first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{}: first line must be `# expect: …`", path.display()));
    let mut parts = rest.splitn(3, ' ');
    let code = parts.next().unwrap_or_default().to_string();
    let pos = parts.next().unwrap_or_default();
    let text = parts.next().unwrap_or_default().to_string();
    let (l, c) = pos
        .split_once(':')
        .unwrap_or_else(|| panic!("{}: position must be line:col", path.display()));
    Expect {
        code,
        line: l.parse().expect("line"),
        col: c.parse().expect("col"),
        text,
    }
}

pub fn malformed_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/malformed")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "dr"))
        .collect();
    files.sort();
    files
}

#[test]
fn catalogue_is_large_enough() {
    assert!(
        malformed_files().len() >= 30,
        "at least 30 malformed runbooks"
    );
}

#[test]
fn every_malformed_runbook_gets_its_precise_diagnostic() {
    let mut failures = Vec::new();
    let mut kinds = std::collections::HashSet::new();
    for path in malformed_files() {
        let src = std::fs::read_to_string(&path).expect("read");
        let want = expectation(&path, &src);
        let shown = path.display().to_string();
        let c = compiler::compile_text(&shown, &src, &FsLoader);
        let found = c.diagnostics.list.iter().any(|d| {
            d.kind.code() == format!("lifeboat::{}", want.code)
                && d.loc.span.line == want.line
                && d.loc.span.col == want.col
                && d.message().contains(&want.text)
        });
        // Every diagnostic has a label and a help line.
        for d in &c.diagnostics.list {
            assert!(
                !d.label().is_empty(),
                "{shown}: diagnostic without label: {}",
                d.message()
            );
            assert!(
                d.help().is_some(),
                "{shown}: diagnostic without help: {}",
                d.message()
            );
        }
        if want.code == "undo-not-arranged" {
            assert!(
                c.diagnostics
                    .list
                    .iter()
                    .all(|d| d.severity() == Severity::Warning),
                "{shown}: expected only warnings"
            );
        } else {
            assert!(c.has_errors(), "{shown}: expected an error");
        }
        kinds.insert(want.code.clone());
        if !found {
            let got: Vec<String> = c
                .diagnostics
                .list
                .iter()
                .map(|d| d.one_line(&c.sources))
                .collect();
            failures.push(format!(
                "{shown}: wanted {} at {}:{} containing {:?}\n  got:\n    {}",
                want.code,
                want.line,
                want.col,
                want.text,
                got.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        kinds.len() >= 25,
        "the catalogue covers {} diagnostic kinds",
        kinds.len()
    );
}
