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
        "┌─ quiesce servers",
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

/// Inputs a fuzzer or a generator would write: each gets diagnostics and
/// exit 2, never a stack overflow, a panic or an abort.
#[test]
fn hostile_runbooks_get_diagnostics_never_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "nested_for.dr",
            format!(
                "runbook r \"t\" {{\n  param xs: list<string> = []\n{}\n{}\n}}\n",
                "for x in xs {\n".repeat(20_000),
                "}\n".repeat(20_000)
            ),
            "lifeboat::too-deep",
        ),
        (
            "not_chain.dr",
            format!(
                "runbook r \"t\" {{\n  param b: bool = true\n  s = nova.find_servers(site: \"a\", tag: \"x\") when {} b\n}}\n",
                "not ".repeat(100_000)
            ),
            "lifeboat::too-deep",
        ),
        (
            "and_chain.dr",
            format!(
                "runbook r \"t\" {{\n  param b: bool = true\n  s = nova.find_servers(site: \"a\", tag: \"x\") when b{}\n}}\n",
                " and b".repeat(100_000)
            ),
            "lifeboat::too-deep",
        ),
        (
            "field_chain.dr",
            format!(
                "runbook r \"t\" {{\n  s = nova.find_servers(site: \"a\", tag: \"x\")\n  t = nova.find_servers(site: s{}, tag: \"x\")\n}}\n",
                ".x".repeat(100_000)
            ),
            "lifeboat::too-deep",
        ),
        (
            "far_column.dr",
            format!(
                "runbook r \"t\" {{\n  s = nova.find_servers(site: \"{}\", tag: nowhere)\n}}\n",
                "a".repeat(100_000)
            ),
            "lifeboat::unknown-name",
        ),
        (
            "mars.dr",
            "runbook r \"t\" {\n  schedule \"0 * * * *\" tz \"Mars/Olympus_Mons\"\n}\n".to_string(),
            "lifeboat::bad-timezone",
        ),
    ];
    for (name, text, code) in &cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let p = path.display().to_string();
        for cmd in ["check", "plan", "fmt"] {
            let args: Vec<&str> = if cmd == "fmt" {
                vec![cmd, "--check", &p]
            } else {
                vec![cmd, &p]
            };
            let o = lifeboat(&args);
            let err = stderr(&o);
            assert!(!err.contains("panicked"), "{cmd} {name}: {err}");
            // `fmt` only parses: a meaning error is not its business, but it
            // must end on its own (no signal, no abort).
            // The far column's call is too long for one line: `fmt` would
            // wrap it (exit 1 under --check).
            let want = if cmd != "fmt" || code.ends_with("too-deep") {
                Some(2)
            } else if *name == "far_column.dr" {
                Some(1)
            } else {
                Some(0)
            };
            assert_eq!(
                o.status.code(),
                want,
                "{cmd} {name}: {}",
                &err[..err.len().min(2000)]
            );
            if cmd == "check" {
                assert!(
                    err.contains(code),
                    "check {name}: no {code} in {}",
                    &err[..err.len().min(2000)]
                );
                assert!(
                    err.contains("1 error(s)"),
                    "check {name}: {}",
                    &err[..err.len().min(2000)]
                );
            }
        }
    }
    // A file that is not UTF-8 is an error counted as one.
    let bad = dir.path().join("latin1.dr");
    std::fs::write(&bad, b"runbook r \"caf\xe9\" {}\n").expect("write");
    let o = lifeboat(&["check", &bad.display().to_string()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot read") && err.contains("1 error(s), 0 warning(s)"),
        "{err}"
    );
}

#[test]
fn runbooks_completions_and_man_page_come_from_the_definitions() {
    let o = lifeboat(&["runbooks"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    for name in BUNDLED {
        assert!(out.contains(name), "{name} not listed:\n{out}");
    }
    assert!(
        out.contains("Option 1 — ordered quiesce, group snapshot, incremental backup"),
        "{out}"
    );
    assert!(out.contains("vnf: string (required)"), "{out}");
    assert!(out.contains("containers: list<string> = []"), "{out}");
    let json = lifeboat(&["runbooks", "--json"]);
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&json.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["params"][0]["required"], true, "{first}");

    let bash = String::from_utf8_lossy(&lifeboat(&["completions", "bash"]).stdout).into_owned();
    assert!(
        bash.contains("_lifeboat") && bash.contains("runbooks") && bash.contains("cleanup"),
        "{bash}"
    );
    let man = lifeboat(&["man"]);
    let page = String::from_utf8_lossy(&man.stdout).into_owned();
    assert!(
        page.starts_with(".ie") || page.contains(".TH lifeboat"),
        "{page}"
    );
    assert!(page.contains("cleanup"), "{page}");
    let sub = String::from_utf8_lossy(&lifeboat(&["man", "run"]).stdout).into_owned();
    assert!(
        sub.contains("lifeboat\\-run") && sub.contains("confirm"),
        "{sub}"
    );
    assert_eq!(lifeboat(&["man", "nope"]).status.code(), Some(2));
}

/// Logs to a file or a pipe carry no colour codes.
#[test]
fn logs_into_a_pipe_have_no_escape_sequences() {
    // A cloud that refuses connections: the run logs its start, then fails.
    let dir = tempfile::tempdir().expect("tempdir");
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(&clouds, "clouds:\n  dead:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n      username: u\n      password: p\n      project_name: x\n      user_domain_name: Default\n      project_domain_name: Default\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args([
            "-v",
            "run",
            "option1/protect",
            "--param",
            "vnf=vims",
            "--cloud",
            "dead",
            "--confirm",
            "--state-dir",
        ])
        .arg(dir.path().join("state"))
        .env("OS_CLIENT_CONFIG_FILE", &clouds)
        .env_remove("NO_COLOR")
        .current_dir(repo())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run lifeboat");
    // The first lines are enough; the run would go on retrying.
    let mut err = String::new();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
        child.stderr.take().expect("stderr"),
    ));
    while !err.contains("run starting") {
        match lines.next() {
            Some(Ok(l)) => err.push_str(&(l + "\n")),
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        err.contains("run starting"),
        "-v logs the run's start: {err}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "escape sequences in a piped log: {err:?}"
    );
}
