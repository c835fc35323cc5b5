//! The `lifeboat` binary's language commands, run as a user would.

use std::path::PathBuf;
use std::process::{Command, Output};

/// `lifeboat ARGS` with an empty temporary state dir (`XDG_STATE_HOME`), so
/// the user's own run history never feeds the plans' estimates here.
fn lifeboat(args: &[&str]) -> Output {
    let state = tempfile::tempdir().expect("temp state dir");
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .env("XDG_STATE_HOME", state.path())
        .current_dir(repo())
        .output()
        .expect("run lifeboat")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const BUNDLED: [&str; 9] = [
    "option1/protect",
    "option1/recover",
    "option1/drill",
    "option2/protect",
    "option2/recover",
    "option2/drill",
    "option3/prepare",
    "option3/failover",
    "option3/drill",
];

#[test]
fn bundled_runbooks_check_clean() {
    let mut args = vec!["check", "--deny-warnings"];
    let files: Vec<String> = BUNDLED
        .iter()
        .map(|b| format!("workflows/{b}.dr"))
        .collect();
    args.extend(files.iter().map(String::as_str));
    args.push("workflows/common.dr");
    let o = lifeboat(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn stdlib_files_check_clean() {
    let o = lifeboat(&[
        "check",
        "stdlib/types.dr",
        "stdlib/nova.dr",
        "stdlib/cinder.dr",
        "stdlib/glance.dr",
        "stdlib/swift.dr",
        "stdlib/lifeboat.dr",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn every_bundled_runbook_plans_in_every_format_by_short_name() {
    for b in BUNDLED {
        for f in ["text", "dot", "mermaid", "json"] {
            let o = lifeboat(&["plan", b, "--param", "vnf=ims", "--format", f]);
            assert_eq!(o.status.code(), Some(0), "{b} {f}: {}", stderr(&o));
            assert!(!o.stdout.is_empty(), "{b} {f}: empty plan");
        }
    }
}

#[test]
fn text_plan_shows_kinds_quiesce_window_fan_out_and_compensations() {
    let o = lifeboat(&["plan", "option1/protect", "-p", "vnf=ims"]);
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "read",
        "mutate",
        "┌─ quiesce@",
        "thaw servers in reverse order",
        "×N (at run time)",
        "compensations",
        "cleanups",
        "vnf: string = \"ims\"",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn plan_rejects_missing_and_mistyped_params() {
    let o = lifeboat(&["plan", "option1/protect"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("missing required parameter `vnf`"),
        "{}",
        stderr(&o)
    );

    let o = lifeboat(&[
        "plan",
        "dsl/tests/cli_inputs/typed_params.dr",
        "-p",
        "vnf=x",
        "-p",
        "count=many",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("parameter `count` is a int: `many` is not an integer"),
        "{}",
        stderr(&o)
    );

    let o = lifeboat(&[
        "plan",
        "dsl/tests/cli_inputs/typed_params.dr",
        "-p",
        "vnf=x",
        "-p",
        "wait=soon",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("parameter `wait` is a duration"),
        "{}",
        stderr(&o)
    );

    let o = lifeboat(&["plan", "option1/protect", "-p", "vnf=x", "-p", "nope=1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("has no parameter `nope`"),
        "{}",
        stderr(&o)
    );

    let o = lifeboat(&[
        "plan",
        "dsl/tests/cli_inputs/typed_params.dr",
        "-p",
        "vnf=x",
        "-p",
        "count=3",
        "-p",
        "wait=2m",
        "-p",
        "flag=true",
        "-f",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["params"][1]["default"], 3);
    assert_eq!(v["params"][2]["default"], 120_000);
}

#[test]
fn unknown_input_is_a_clear_error() {
    let o = lifeboat(&["plan", "option9/protect"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no bundled runbook of that name"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_malformed_runbook_exits_2_with_its_diagnostic_and_never_panics() {
    let dir = repo().join("dsl/tests/malformed");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("dir").flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "dr") {
            continue;
        }
        n += 1;
        let text = std::fs::read_to_string(&p).expect("read");
        let code = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .and_then(|r| r.split(' ').next())
            .expect("header")
            .to_string();
        let path = p.display().to_string();
        let o = lifeboat(&["check", "--deny-warnings", &path]);
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{path}: panic\n{err}");
        let want = if code == "undo-not-arranged" { 1 } else { 2 };
        assert_eq!(o.status.code(), Some(want), "{path}\n{err}");
        assert!(
            err.contains(&format!("lifeboat::{code}")),
            "{path}: no lifeboat::{code} in\n{err}"
        );
        let plan = lifeboat(&["plan", &path]);
        if want == 2 {
            assert_eq!(plan.status.code(), Some(2), "{path}: plan must refuse");
        }
        assert!(!stderr(&plan).contains("panicked"));
    }
    assert!(n >= 30);
}

#[test]
fn warnings_pass_unless_denied() {
    let o = lifeboat(&["check", "dsl/tests/malformed/undo_not_arranged.dr"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning"));
}

#[test]
fn fmt_check_reports_unformatted_files_and_fmt_fixes_them() {
    let dir = std::env::temp_dir().join(format!("lifeboat-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let f = dir.join("messy.dr");
    std::fs::write(&f, "runbook r \"t\" {   # keep me\nparam vnf :string\n}\n").expect("write");
    let path = f.display().to_string();
    let o = lifeboat(&["fmt", "--check", &path]);
    assert_eq!(o.status.code(), Some(1));
    let o = lifeboat(&["fmt", &path]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&f).expect("read"),
        "runbook r \"t\" {  # keep me\n  param vnf: string\n}\n"
    );
    let o = lifeboat(&["fmt", "--check", &path]);
    assert_eq!(o.status.code(), Some(0));
    let bad = dir.join("bad.dr");
    std::fs::write(&bad, "runbook r {").expect("write");
    let o = lifeboat(&["fmt", &bad.display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn plans_here_never_read_the_users_run_history() {
    // The estimates come from the built-in table: the temporary state dir is empty.
    let o = lifeboat(&["plan", "option1/protect", "-p", "vnf=ims"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("measured from the run history"), "{out}");
}
