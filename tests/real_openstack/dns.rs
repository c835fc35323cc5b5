//! A VNF's name in REAL Designate, served by a real BIND 9 (the harness's
//! lib/designate.sh): made as an operator makes it (the stock `openstack
//! zone create` / `recordset create`), read through Lifeboat's client, and
//! resolved by asking BIND itself (`dig`), so a redirect is proven where the
//! VNF's clients look: on the DNS wire.

use crate::support::Stack;
use lifeboat_openstack::Client;
use std::process::Command;
use std::time::{Duration, Instant};

/// BIND's port in the harness (lib/designate.sh).
const BIND_PORT: &str = "5322";

/// The stock CLI of the harness's venv, as cloud `real-site-b`.
fn openstack(stack: &Stack, args: &[&str]) -> String {
    let out = Command::new(stack.base.join("venv/bin/openstack"))
        .args(["--os-cloud", "real-site-b"])
        .args(args)
        .env("OS_CLIENT_CONFIG_FILE", stack.base.join("clouds.yaml"))
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("the openstack CLI runs");
    assert!(
        out.status.success(),
        "openstack {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Make zone `zone` and an A recordset `name` in it holding `records`.
pub fn create_name(stack: &Stack, zone: &str, name: &str, records: &[&str]) {
    openstack(
        stack,
        &[
            "zone",
            "create",
            "--email",
            &format!("noc@{}", zone.trim_end_matches('.')),
            "--ttl",
            "3600",
            zone,
        ],
    );
    let mut args = vec!["recordset", "create", "--type", "A", "--ttl", "3600"];
    for r in records {
        args.push("--record");
        args.push(r);
    }
    args.push(zone);
    args.push(name);
    openstack(stack, &args);
}

/// The records of the A recordset `name` once ACTIVE (BIND serves it),
/// sorted; panics after 60 s.
pub async fn active_records(c: &Client, name: &str) -> Vec<String> {
    let t = Instant::now();
    loop {
        let sets = c
            .designate()
            .recordsets(&[("name", name), ("type", "A")])
            .await
            .expect("recordsets");
        if let [set] = sets.as_slice() {
            if set.status == "ACTIVE" {
                let mut r = set.records.clone();
                r.sort();
                return r;
            }
            assert_ne!(set.status, "ERROR", "{name}: {set:?}");
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "{name} never became ACTIVE: {sets:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What BIND answers for `name` (A), sorted.
pub fn dig(name: &str) -> Vec<String> {
    let out = Command::new("dig")
        .args([
            "@127.0.0.1",
            "-p",
            BIND_PORT,
            "+short",
            "+time=2",
            "+tries=3",
            name,
            "A",
        ])
        .output()
        .expect("dig runs (bind9-dnsutils)");
    assert!(out.status.success(), "dig {name}: {out:?}");
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}
