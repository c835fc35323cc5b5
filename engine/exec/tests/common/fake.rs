//! An in-memory fake cloud implementing `Actions`: records every call, can
//! inject failures, transient errors (with Retry-After), latency, hangs and
//! gates, tracks frozen servers, resources created per tag and calls in
//! flight per site and per action.
#![allow(dead_code)]

use async_trait::async_trait;
use lifeboat_exec::action::{ActionCall, ActionError, ActionOutput, Actions};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub enum Behaviour {
    Permanent(String),
    Transient(Option<Duration>),
    Latency(Duration),
    /// Never returns.
    Hang,
    /// Creates the resource (find_created will see it), then never returns.
    CreateThenHang,
    /// Waits until the test calls `open_gate`.
    Gate,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub action: String,
    pub step: Option<String>,
    pub times: usize,
    pub behaviour: Behaviour,
}

#[derive(Debug, Clone)]
pub struct Logged {
    pub action: String,
    pub step: String,
    pub tag: String,
    pub attempt: u32,
    pub site: Option<String>,
    pub args: serde_json::Map<String, Value>,
    pub at: Instant,
    /// Servers frozen when the call started.
    pub frozen_then: usize,
}

#[derive(Default)]
struct State {
    calls: Vec<Logged>,
    finds: Vec<String>,
    frozen: HashSet<String>,
    created: HashMap<String, Value>,
    create_count: HashMap<String, usize>,
    rules: Vec<Rule>,
    in_flight_site: HashMap<String, usize>,
    max_site: HashMap<String, usize>,
    in_flight_action: HashMap<String, usize>,
    max_action: HashMap<String, usize>,
    /// Crash simulation: the n-th call (0-based) hangs, before or after its
    /// effect on the fake cloud.
    crash_at: Option<(usize, bool)>,
    /// Thaws of a server that was not frozen (idempotent, counted).
    thaws_of_unfrozen: usize,
}

type Responder = Box<dyn Fn(&ActionCall) -> Value + Send + Sync>;

pub struct FakeCloud {
    state: Mutex<State>,
    responders: Mutex<HashMap<String, Arc<Responder>>>,
    creating: Mutex<HashSet<String>>,
    pub hung: Notify,
    gate: Semaphore,
}

struct InFlight<'a> {
    fake: &'a FakeCloud,
    action: String,
    site: Option<String>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut st = self.fake.state.lock().unwrap();
        if let Some(s) = &self.site {
            *st.in_flight_site.get_mut(s).unwrap() -= 1;
        }
        *st.in_flight_action.get_mut(&self.action).unwrap() -= 1;
    }
}

impl FakeCloud {
    pub fn new() -> Arc<FakeCloud> {
        let f = FakeCloud {
            state: Mutex::new(State::default()),
            responders: Mutex::new(HashMap::new()),
            creating: Mutex::new(HashSet::new()),
            hung: Notify::new(),
            gate: Semaphore::new(0),
        };
        f.creates("test.create");
        Arc::new(f)
    }

    /// Calls of `action` create a resource tagged with the call's tag.
    pub fn creates(&self, action: &str) {
        self.creating.lock().unwrap().insert(action.to_string());
    }

    pub fn respond(&self, action: &str, f: impl Fn(&ActionCall) -> Value + Send + Sync + 'static) {
        self.responders
            .lock()
            .unwrap()
            .insert(action.to_string(), Arc::new(Box::new(f)));
    }

    pub fn rule(&self, action: &str, step: Option<&str>, times: usize, behaviour: Behaviour) {
        self.state.lock().unwrap().rules.push(Rule {
            action: action.into(),
            step: step.map(str::to_string),
            times,
            behaviour,
        });
    }

    /// The `n`-th call from now on (0-based, counting every call made so
    /// far) hangs; `after_effect`: once its effect is done.
    pub fn crash_at(&self, n: usize, after_effect: bool) {
        self.state.lock().unwrap().crash_at = Some((n, after_effect));
    }

    pub fn thaws_of_unfrozen(&self) -> usize {
        self.state.lock().unwrap().thaws_of_unfrozen
    }

    pub fn open_gate(&self, n: usize) {
        self.gate.add_permits(n);
    }

    pub fn calls(&self) -> Vec<Logged> {
        self.state.lock().unwrap().calls.clone()
    }

    /// `action step` for every call, in order.
    pub fn trace(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(|c| format!("{} {}", c.action, c.step))
            .collect()
    }

    pub fn calls_of(&self, action: &str) -> Vec<Logged> {
        self.calls()
            .into_iter()
            .filter(|c| c.action == action)
            .collect()
    }

    /// Target names of the calls of `action`, in order.
    pub fn targets_of(&self, action: &str) -> Vec<String> {
        self.calls_of(action)
            .iter()
            .map(|c| {
                c.args
                    .get("server")
                    .and_then(|s| s.get("name"))
                    .and_then(|n| n.as_str())
                    .unwrap_or("?")
                    .to_string()
            })
            .collect()
    }

    pub fn finds(&self) -> Vec<String> {
        self.state.lock().unwrap().finds.clone()
    }

    pub fn frozen(&self) -> HashSet<String> {
        self.state.lock().unwrap().frozen.clone()
    }

    pub fn create_count(&self, tag: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .create_count
            .get(tag)
            .copied()
            .unwrap_or(0)
    }

    pub fn total_created(&self) -> usize {
        self.state.lock().unwrap().create_count.values().sum()
    }

    pub fn max_in_flight_site(&self, site: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .max_site
            .get(site)
            .copied()
            .unwrap_or(0)
    }

    pub fn max_in_flight_action(&self, action: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .max_action
            .get(action)
            .copied()
            .unwrap_or(0)
    }

    fn value_for(&self, call: &ActionCall) -> Value {
        let r = self.responders.lock().unwrap().get(&call.action).cloned();
        match r {
            Some(f) => f(call),
            None => json!({"id": format!("res-{}", call.tag), "tag": call.tag, "step": call.step}),
        }
    }

    fn create(&self, call: &ActionCall, value: &Value) {
        if self.creating.lock().unwrap().contains(&call.action) {
            let mut st = self.state.lock().unwrap();
            st.created.insert(call.tag.clone(), value.clone());
            *st.create_count.entry(call.tag.clone()).or_default() += 1;
        }
    }
}

fn server_name(call: &ActionCall) -> String {
    call.args
        .get("server")
        .and_then(|s| s.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("?")
        .to_string()
}

#[async_trait]
impl Actions for FakeCloud {
    async fn run(&self, call: &ActionCall) -> Result<ActionOutput, ActionError> {
        let mut return_crash: Option<bool> = None;
        let behaviour = {
            let mut st = self.state.lock().unwrap();
            let frozen_then = st.frozen.len();
            st.calls.push(Logged {
                action: call.action.clone(),
                step: call.step.clone(),
                tag: call.tag.clone(),
                attempt: call.attempt,
                site: call.site.clone(),
                args: call.args.clone(),
                at: Instant::now(),
                frozen_then,
            });
            if let Some(s) = &call.site {
                let n = st.in_flight_site.entry(s.clone()).or_default();
                *n += 1;
                let n = *n;
                let m = st.max_site.entry(s.clone()).or_default();
                *m = (*m).max(n);
            }
            let n = st.in_flight_action.entry(call.action.clone()).or_default();
            *n += 1;
            let n = *n;
            let m = st.max_action.entry(call.action.clone()).or_default();
            *m = (*m).max(n);
            let index = st.calls.len() - 1;
            if let Some((n, after)) = st.crash_at {
                if n == index {
                    st.crash_at = None;
                    return_crash = Some(after);
                }
            }
            let crashing = return_crash.is_some();
            let rule = st.rules.iter_mut().filter(|_| !crashing).find(|r| {
                r.times > 0 && r.action == call.action && r.step.iter().all(|s| *s == call.step)
            });
            rule.map(|r| {
                r.times -= 1;
                r.behaviour.clone()
            })
        };
        let _guard = InFlight {
            fake: self,
            action: call.action.clone(),
            site: call.site.clone(),
        };
        if return_crash == Some(false) {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        match behaviour {
            None => {}
            Some(Behaviour::Permanent(m)) => return Err(ActionError::permanent(m)),
            Some(Behaviour::Transient(ra)) => {
                return Err(ActionError::transient("503 from the fake", ra))
            }
            Some(Behaviour::Latency(d)) => tokio::time::sleep(d).await,
            Some(Behaviour::Hang) => {
                self.hung.notify_one();
                std::future::pending::<()>().await;
            }
            Some(Behaviour::CreateThenHang) => {
                let v = self.value_for(call);
                self.create(call, &v);
                self.hung.notify_one();
                std::future::pending::<()>().await;
            }
            Some(Behaviour::Gate) => {
                self.hung.notify_one();
                let p = self.gate.acquire().await.unwrap();
                p.forget();
            }
        }
        match call.action.as_str() {
            "nova.pause" | "nova.suspend" => {
                self.state.lock().unwrap().frozen.insert(server_name(call));
            }
            "nova.unpause" | "nova.resume" => {
                // idempotent, as thaw actions must be: a freeze interrupted in
                // flight may or may not have taken effect
                let name = server_name(call);
                let mut st = self.state.lock().unwrap();
                if !st.frozen.remove(&name) {
                    st.thaws_of_unfrozen += 1;
                }
            }
            _ => {}
        }
        let v = self.value_for(call);
        self.create(call, &v);
        if return_crash == Some(true) {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        let bytes = v.get("bytes").and_then(|b| b.as_u64()).unwrap_or(0);
        Ok(ActionOutput {
            value: v,
            bytes_moved: bytes,
            uncertain: false,
        })
    }

    async fn find_created(&self, call: &ActionCall) -> Result<Option<ActionOutput>, ActionError> {
        let mut st = self.state.lock().unwrap();
        st.finds.push(call.tag.clone());
        Ok(st.created.get(&call.tag).cloned().map(ActionOutput::new))
    }
}
