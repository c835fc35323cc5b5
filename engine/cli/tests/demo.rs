//! `lifeboat demo`, the README's first command, run as a user runs it: the
//! whole option-1 story on its embedded emulator.

use std::process::{Command, Output};

fn demo(args: &[&str]) -> (Output, String) {
    let state = tempfile::tempdir().expect("temp state dir");
    let o = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .arg("demo")
        .args(args)
        .arg("--state-dir")
        .arg(state.path())
        .env("XDG_STATE_HOME", state.path().join("xdg"))
        .env_remove("OS_CLOUD")
        .env_remove("OS_CLIENT_CONFIG_FILE")
        .env_remove("RUST_LOG")
        .output()
        .expect("run lifeboat demo");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o, text)
}

#[test]
fn the_demo_protects_twice_recovers_and_verifies_every_volume() {
    let (o, out) = demo(&[]);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("verification: PASSED"), "{out}");
    // The demo VNF's twelve volumes, each checked against its recovery
    // point, and its network identity.
    let ok = out
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("ok ") && !l.contains("network identity"))
        .count();
    assert_eq!(ok, 12, "{out}");
    assert!(
        out.contains("network identity: 13/13 ports identical"),
        "{out}"
    );
    assert!(out.contains("(less, as it should)"), "{out}");
    for what in ["RPO", "RTO", "quiesce window"] {
        assert!(out.contains(what), "{what}: {out}");
    }
}

#[test]
fn a_demo_of_a_vnf_the_emulator_does_not_have_fails_saying_why() {
    let (o, out) = demo(&["--vnf", "nosuch"]);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("no server at site site-a carries the tag `nosuch`"),
        "{out}"
    );
    assert!(out.contains("  failed in "), "the outcome in a word: {out}");
    assert!(!out.contains("Failed {"), "no debug output: {out}");
    assert!(!out.contains("verification: PASSED"), "{out}");
}
