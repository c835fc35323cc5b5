//! The `lifeboat` binary as an operator runs it against the real stack:
//! `lifeboat run <bundled runbook> --cloud real --confirm` with
//! `OS_CLIENT_CONFIG_FILE` = the harness's clouds.yaml, its own state dir, and
//! the run's journal read back afterwards.
//!
//! The binary is `target/<profile>/lifeboat` next to this test executable
//! (`cargo test --workspace --no-run` or `cargo build -p lifeboat` builds it),
//! or `$LIFEBOAT_BIN`. A binary older than the sources it is built from is
//! refused: the test would prove an old build.

use lifeboat_exec::Record;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

pub struct Cli {
    pub bin: PathBuf,
    pub clouds_yaml: PathBuf,
    pub state: tempfile::TempDir,
}

/// One finished `lifeboat run`.
pub struct CliRun {
    pub what: String,
    pub code: Option<i32>,
    pub output: String,
    pub run_dir: PathBuf,
    pub secs: f64,
}

impl Cli {
    pub fn new(base: &Path) -> Cli {
        let bin = match std::env::var("LIFEBOAT_BIN") {
            Ok(b) if !b.is_empty() => PathBuf::from(b),
            _ => {
                let exe = std::env::current_exe().expect("test executable path");
                // target/<profile>/deps/real_openstack-HASH -> target/<profile>/lifeboat
                exe.parent()
                    .and_then(Path::parent)
                    .expect("target/<profile>")
                    .join("lifeboat")
            }
        };
        assert!(
            bin.is_file(),
            "{} not found: build it first (`cargo build -p lifeboat`) or set LIFEBOAT_BIN",
            bin.display()
        );
        let built = std::fs::metadata(&bin)
            .and_then(|m| m.modified())
            .expect("binary mtime");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("repo root")
            .to_path_buf();
        if let Some((newer, _)) = ["engine", "dsl", "stdlib", "workflows"]
            .iter()
            .filter_map(|d| newest_source(&repo.join(d)))
            .find(|(_, t)| *t > built)
        {
            panic!(
                "{} is older than {}: rebuild it (`cargo build -p lifeboat`)",
                bin.display(),
                newer.display()
            );
        }
        Cli {
            bin,
            clouds_yaml: base.join("clouds.yaml"),
            state: tempfile::tempdir().expect("state dir"),
        }
    }

    /// `lifeboat run RUNBOOK --cloud real --confirm --state-dir S --param k=v…`
    pub fn run(&self, runbook: &str, params: &[(&str, &str)]) -> CliRun {
        let before = self.run_dirs();
        let mut args: Vec<String> = ["run", runbook, "--cloud", "real", "--confirm"]
            .map(String::from)
            .to_vec();
        for (k, v) in params {
            args.push("--param".into());
            args.push(format!("{k}={v}"));
        }
        let (code, output, secs) = self.exec(&args);
        let new: Vec<PathBuf> = self
            .run_dirs()
            .into_iter()
            .filter(|d| !before.contains(d))
            .collect();
        assert_eq!(
            new.len(),
            1,
            "lifeboat {}: expected one new run directory, got {new:?}\n{output}",
            args.join(" ")
        );
        CliRun {
            what: format!(
                "lifeboat run {runbook} {}",
                params
                    .iter()
                    .map(|(k, v)| format!("--param {k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            code,
            output,
            run_dir: new[0].clone(),
            secs,
        }
    }

    /// `lifeboat commit|rollback RUN_DIR --confirm`: the decision on a run
    /// awaiting commit (the same run directory, its report rewritten).
    pub fn decide(&self, run: &CliRun, verb: &str) -> CliRun {
        let args = [
            verb.to_string(),
            run.run_dir.display().to_string(),
            "--confirm".into(),
        ];
        let (code, output, secs) = self.exec(&args);
        CliRun {
            what: format!("lifeboat {verb} ({})", run.what),
            code,
            output,
            run_dir: run.run_dir.clone(),
            secs,
        }
    }

    /// The binary with `args`, this harness's clouds and state dir: (exit
    /// code, stdout + stderr, seconds).
    fn exec(&self, args: &[String]) -> (Option<i32>, String, f64) {
        let mut c = Command::new(&self.bin);
        c.args(args).arg("--state-dir").arg(self.state.path());
        c.env("OS_CLIENT_CONFIG_FILE", &self.clouds_yaml)
            .env("NO_COLOR", "1");
        for k in ["OS_CLOUD", "OS_AUTH_URL", "XDG_STATE_HOME"] {
            c.env_remove(k);
        }
        let t = Instant::now();
        let out = c.output().unwrap_or_else(|e| {
            panic!(
                "lifeboat {}: cannot start {}: {e}",
                args.join(" "),
                self.bin.display()
            )
        });
        let secs = t.elapsed().as_secs_f64();
        eprintln!(
            "lifeboat {}: exit {:?} in {secs:.1}s",
            args.join(" "),
            out.status.code()
        );
        let output = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), output, secs)
    }

    fn run_dirs(&self) -> Vec<PathBuf> {
        let runs = self.state.path().join("runs");
        let mut v: Vec<PathBuf> = std::fs::read_dir(&runs)
            .map(|r| {
                r.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl CliRun {
    /// Exit 0 and a report that says every step succeeded (`succeeded`, or
    /// `awaiting_commit` for a recovery whose runbook says `commit within`);
    /// else panics with the output.
    pub fn assert_succeeded(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{} failed:\n{}", self.what, self.output);
        let report: Value = serde_json::from_slice(
            &std::fs::read(self.run_dir.join("report.json")).expect("report.json"),
        )
        .expect("report.json parses");
        let outcome = &report["outcome"]["outcome"];
        assert!(
            outcome == "succeeded" || outcome == "awaiting_commit",
            "{}: {report}",
            self.what
        );
        self
    }

    /// The run's report (report.json) as the CLI renders it, printed;
    /// panics when the run left an orphan.
    pub fn print_report(&self) -> &Self {
        let report: lifeboat_exec::Report = serde_json::from_slice(
            &std::fs::read(self.run_dir.join("report.json")).expect("report.json"),
        )
        .expect("report.json is a report");
        eprintln!("---- {} ----\n{}", self.what, report.render_text());
        assert!(
            report.orphans.is_empty(),
            "{}: orphans {:?}",
            self.what,
            report.orphans
        );
        self
    }

    /// Successful results of the steps calling `action`, by instance, from
    /// the run's journal.
    pub fn results_of(&self, action: &str) -> BTreeMap<String, Value> {
        let records = lifeboat_exec::read_journal(&self.run_dir).expect("journal readable");
        let instances: Vec<String> = records
            .iter()
            .filter_map(|r| match r {
                Record::StepIntent { instance, call, .. } if call.action == action => {
                    Some(instance.clone())
                }
                _ => None,
            })
            .collect();
        records
            .into_iter()
            .filter_map(|r| match r {
                Record::StepOutcome {
                    instance,
                    value: Some(v),
                    error: None,
                    ..
                } if instances.contains(&instance) => Some((instance, v)),
                _ => None,
            })
            .collect()
    }
}

/// The newest file under `dir` with a source extension, and its mtime.
fn newest_source(dir: &Path) -> Option<(PathBuf, SystemTime)> {
    let mut best: Option<(PathBuf, SystemTime)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "target" && n != "fuzz") {
                    stack.push(p);
                }
            } else if p
                .extension()
                .is_some_and(|x| x == "rs" || x == "dr" || x == "pest" || x == "toml")
            {
                if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                    if best.as_ref().map(|(_, b)| t > *b).unwrap_or(true) {
                        best = Some((p, t));
                    }
                }
            }
        }
    }
    best
}
