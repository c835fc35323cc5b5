//! Shared by the end-to-end tests: the emulator, the actions built from the
//! clouds.yaml it writes, and a short way to make calls.

#![allow(dead_code)]

use lifeboat_actions::{ContentChecksums, OpenStackActions, SiteCloud};
use lifeboat_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use lifeboat_exec::action::{ActionCall, ActionError, ActionOutput, Actions};
use lifeboat_openstack::ConfigLoader;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub struct Env {
    pub emu: EmulatorHandle,
    pub acts: OpenStackActions,
    pub dir: tempfile::TempDir,
    pub run_id: String,
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(EmulatorConfig::fast()).await
    }

    pub async fn start_with(config: EmulatorConfig) -> Env {
        let emu = Emulator::start(config).await.expect("emulator starts");
        let dir = tempfile::tempdir().unwrap();
        emu.write_clouds_yaml(&dir.path().join("clouds.yaml"))
            .unwrap();
        let loader = ConfigLoader::new(BTreeMap::new(), vec![dir.path().to_path_buf()]);
        let acts = OpenStackActions::from_clouds(
            &loader,
            &[
                SiteCloud::new("site-a", "emulator"),
                SiteCloud::new("site-b", "emulator"),
            ],
        )
        .unwrap()
        .with_content_checksums(ContentChecksums::EmulatorAdmin {
            base_url: format!("{}/_emulator", emu.admin_url()),
        });
        Env {
            emu,
            acts,
            dir,
            run_id: "r1".into(),
        }
    }

    pub fn call(&self, action: &str, step: &str, args: Value) -> ActionCall {
        ActionCall {
            action: action.into(),
            args: args.as_object().cloned().unwrap_or_default(),
            site: None,
            run_id: self.run_id.clone(),
            step: step.into(),
            tag: format!(
                "lb-{}-{}",
                self.run_id,
                step.replace(['[', ']'], "-").trim_end_matches('-')
            ),
            attempt: 1,
            timeout: Duration::from_secs(60),
            purpose: Default::default(),
            fence: Default::default(),
        }
    }

    pub async fn try_run(
        &self,
        action: &str,
        step: &str,
        args: Value,
    ) -> Result<ActionOutput, ActionError> {
        self.acts.run(&self.call(action, step, args)).await
    }

    /// How many of `kind` (`volumes`, `snapshots`, …) `site` holds, from the
    /// emulator's admin status.
    pub async fn emu_counts(&self, site: &str, kind: &str) -> u64 {
        let st: Value = reqwest::get(format!("{}/_emulator/status", self.emu.admin_url()))
            .await
            .expect("admin status")
            .json()
            .await
            .expect("status json");
        st["sites"][site][kind]
            .as_u64()
            .unwrap_or_else(|| panic!("no count of {kind} at {site}: {st}"))
    }

    /// Run and return the value; panics with the action's error.
    pub async fn run(&self, action: &str, step: &str, args: Value) -> Value {
        match self.try_run(action, step, args).await {
            Ok(o) => o.value,
            Err(e) => panic!("{action} ({step}) failed: {e} [{:?}]", e.class),
        }
    }
}

impl Env {
    /// The newest request the emulator logged at site-a (its number).
    pub async fn last_request(&self) -> u64 {
        self.requests_since(u64::MAX).await.1
    }

    /// `METHOD path` of each request site-a answered after `since`, and
    /// the newest number (the log must hold them all).
    pub async fn requests_since(&self, since: u64) -> (Vec<String>, u64) {
        let log: Value = reqwest::get(format!(
            "{}/_emulator/requests?site=site-a&since={since}",
            self.emu.admin_url()
        ))
        .await
        .expect("request log")
        .json()
        .await
        .expect("request log json");
        assert_eq!(log["dropped"], Value::from(0), "the request log overflowed");
        let asked = log["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .map(|e| format!("{} {}", s(e, "method"), s(e, "path")))
            .collect();
        (asked, log["last_seq"].as_u64().expect("last_seq"))
    }
}

/// The keys of a record, to check it has exactly the catalogue's fields.
pub fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

pub fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}
