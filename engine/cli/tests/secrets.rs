//! A canary password in clouds.yaml must never appear in anything lifeboat
//! writes or prints: stdout, stderr at RUST_LOG=trace, the journal, the
//! report, the plan and the other run files — on success and on failure.

mod common;
use common::*;

const CANARY: &str = "canary-Pw-7f3e9b21-DO-NOT-LEAK";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(CANARY), "the password leaked into {what}");
}

#[test]
fn the_password_never_reaches_output_logs_journal_or_report() {
    let env = start(three_servers(), Some(CANARY));
    assert!(
        std::fs::read_to_string(env.clouds())
            .unwrap()
            .contains(CANARY),
        "the canary must be in clouds.yaml"
    );
    let rb = write_snap3(&env);
    let ok = env
        .cmd(&["run", &rb, "--cloud", "emulator"])
        .env("RUST_LOG", "trace")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert_clean("the output of a run", &text(&ok));
    // a failing run (error messages, compensation) and a JSON one
    env.emu.set_faults(
        lifeboat_emulator::FaultProfile::from_yaml_str(
            "rules:\n  - {operation: group_snapshot.create, fail_rate: 1.0}\n",
        )
        .unwrap(),
    );
    let bad = env
        .cmd(&["run", &rb, "--cloud", "emulator", "--json"])
        .env("RUST_LOG", "trace")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    assert_clean("the output of a failed run", &text(&bad));
    // a wrong password: the auth error must not echo the secret either
    let wrong = env.dir.path().join("wrong.yaml");
    std::fs::write(
        &wrong,
        std::fs::read_to_string(env.clouds())
            .unwrap()
            .replace(CANARY, &format!("{CANARY}-x")),
    )
    .unwrap();
    let denied = env
        .cmd(&["run", &rb, "--cloud", "emulator"])
        .env("OS_CLIENT_CONFIG_FILE", &wrong)
        .env("RUST_LOG", "trace")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_ne!(denied.status.code(), Some(0));
    assert_clean("the output of a run with a wrong password", &text(&denied));
    let mut files = 0;
    for d in env.run_dirs() {
        for f in std::fs::read_dir(&d).unwrap().flatten() {
            let t = std::fs::read_to_string(f.path()).unwrap_or_default();
            assert_clean(&f.path().display().to_string(), &t);
            files += 1;
        }
        for show in [
            env.cmd(&["show", d.to_str().unwrap()]).output().unwrap(),
            env.cmd(&["show", d.to_str().unwrap(), "--json"])
                .output()
                .unwrap(),
        ] {
            assert_clean("lifeboat show", &text(&show));
        }
    }
    assert!(files >= 8, "the run files were not written ({files})");
    assert_clean(
        "lifeboat runs",
        &text(&env.cmd(&["runs", "--json"]).output().unwrap()),
    );
}
