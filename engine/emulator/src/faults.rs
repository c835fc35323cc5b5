//! Fault profiles: latency per call (fixed or uniform), error rates per
//! endpoint (5xx answers or connection resets), rate limits (413/429 with
//! Retry-After) and asynchronous operations that get stuck or end in `error`.
//! A profile is plain data (JSON/YAML); `PUT /_emulator/faults` replaces it live.
//!
//! With a `seed`, every random draw (latency, errors, resets, lost answers,
//! async outcomes) comes from one generator seeded with it, so a sweep of
//! runs is reproducible: the same seed and the same order of requests give
//! the same faults.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::world::Site;

/// Latency added before a call is answered.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Latency {
    #[default]
    None,
    Fixed {
        ms: u64,
    },
    Uniform {
        min_ms: u64,
        max_ms: u64,
    },
}

impl Latency {
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        match self {
            Latency::None => Duration::ZERO,
            Latency::Fixed { ms } => Duration::from_millis(*ms),
            Latency::Uniform { min_ms, max_ms } => {
                let (lo, hi) = if min_ms <= max_ms {
                    (*min_ms, *max_ms)
                } else {
                    (*max_ms, *min_ms)
                };
                Duration::from_millis(rng.gen_range(lo..=hi))
            }
        }
    }
}

/// A rate limit: at most `max_requests` per `per_seconds` window; beyond it
/// the call is answered `status` (429 or 413) with `Retry-After`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RateLimit {
    pub max_requests: u32,
    #[serde(default = "one")]
    pub per_seconds: f64,
    #[serde(default = "s429")]
    pub status: u16,
    #[serde(default = "one_u64")]
    pub retry_after_s: u64,
}
fn one() -> f64 {
    1.0
}
fn one_u64() -> u64 {
    1
}
fn two_seconds_ms() -> u64 {
    2000
}
fn s429() -> u16 {
    429
}
fn s503() -> u16 {
    503
}

/// One rule: which calls it matches (all given matchers must hold) and what it does.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FaultRule {
    /// `site-a`, `site-b` or `keystone`.
    #[serde(default)]
    pub site: Option<String>,
    /// `identity`, `compute`, `volume`, `image`, `object`.
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path_contains: Option<String>,
    #[serde(default)]
    pub latency: Option<Latency>,
    /// Probability (0..1) of answering `error_status` instead.
    #[serde(default)]
    pub error_rate: f64,
    #[serde(default = "s503")]
    pub error_status: u16,
    /// Probability (0..1) of resetting the connection without an answer.
    #[serde(default)]
    pub reset_rate: f64,
    /// Probability (0..1) that the call is carried out and then the
    /// connection is reset before the answer: the client cannot tell whether
    /// it happened (a creating POST must be looked for before it is repeated).
    #[serde(default)]
    pub lost_answer_rate: f64,
    /// Probability (0..1) that the call is held and the connection reset at
    /// once, then the call is carried out `land_after_ms` later: the
    /// client looks for what it made, finds nothing and makes it again,
    /// and the first lands after — a twin (an overloaded API's queue).
    #[serde(default)]
    pub late_landing_rate: f64,
    #[serde(default = "two_seconds_ms")]
    pub land_after_ms: u64,
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Asynchronous operation this rule affects (e.g. `backup.create`, `*`).
    #[serde(default)]
    pub operation: Option<String>,
    /// Probability that the operation never finishes.
    #[serde(default)]
    pub stuck_rate: f64,
    /// Probability that the operation ends in `error`.
    #[serde(default)]
    pub fail_rate: f64,
    /// The rule injects its error, reset or lost answer into at most this
    /// many calls — or, a rule that only slows calls down, its latency —
    /// then lets every call pass (a fault that lasts a while).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

/// A whole profile: default latency plus rules (the first matching rule wins
/// for latency; every matching rule may inject its fault).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FaultProfile {
    /// Seeds the fault generator (reproducible sweeps); without one each
    /// profile draws from fresh entropy.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub latency: Latency,
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

impl FaultProfile {
    /// No faults at all.
    pub fn none() -> Self {
        Self::default()
    }
    /// Every call takes exactly `ms` milliseconds more (benchmarks).
    pub fn fixed_latency(ms: u64) -> Self {
        FaultProfile {
            latency: Latency::Fixed { ms },
            ..Self::default()
        }
    }
    /// A profile from YAML (JSON is YAML too).
    pub fn from_yaml_str(s: &str) -> Result<Self, String> {
        serde_yaml::from_str(s).map_err(|e| e.to_string())
    }
    pub fn from_yaml_file(path: &std::path::Path) -> Result<Self, String> {
        let s = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_yaml_str(&s)
    }
}

/// What to do with one call.
#[derive(Clone, Debug, PartialEq)]
pub enum Injected {
    Pass,
    Error(u16),
    Reset,
    /// Carry the call out, then reset the connection instead of answering.
    LoseAnswer,
    /// Reset the connection now; carry the call out after this long.
    LandLate(Duration),
    Limited {
        status: u16,
        retry_after_s: u64,
    },
}

/// Outcome of an asynchronous operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Stuck,
    Error,
}

/// The live profile, the rate-limit windows and the fault generator.
#[derive(Debug)]
pub struct FaultState {
    pub profile: FaultProfile,
    windows: Vec<(Instant, u32)>,
    /// Faults each rule injected so far (for `times`).
    hits: Vec<u32>,
    rng: StdRng,
}

impl Default for FaultState {
    fn default() -> Self {
        FaultState {
            profile: FaultProfile::default(),
            windows: Vec::new(),
            hits: Vec::new(),
            rng: StdRng::from_entropy(),
        }
    }
}

fn matches(rule: &FaultRule, site: &str, service: &str, method: &str, path: &str) -> bool {
    rule.site.as_deref().is_none_or(|s| s == site)
        && rule.service.as_deref().is_none_or(|s| s == service)
        && rule
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
        && rule
            .path_contains
            .as_deref()
            .is_none_or(|p| path.contains(p))
}

impl FaultState {
    pub fn set(&mut self, profile: FaultProfile) {
        self.windows = vec![(Instant::now(), 0); profile.rules.len()];
        self.hits = vec![0; profile.rules.len()];
        self.rng = match profile.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        self.profile = profile;
    }

    /// Decide latency and fault for one call.
    pub fn decide(
        &mut self,
        site: &str,
        service: &str,
        method: &str,
        path: &str,
    ) -> (Duration, Injected) {
        if self.windows.len() != self.profile.rules.len() {
            self.windows = vec![(Instant::now(), 0); self.profile.rules.len()];
        }
        if self.hits.len() != self.profile.rules.len() {
            self.hits = vec![0; self.profile.rules.len()];
        }
        let mut latency = None;
        let mut injected = Injected::Pass;
        let rng = &mut self.rng;
        for (i, rule) in self.profile.rules.iter().enumerate() {
            if rule.operation.is_some()
                && rule.error_rate == 0.0
                && rule.reset_rate == 0.0
                && rule.lost_answer_rate == 0.0
                && rule.late_landing_rate == 0.0
                && rule.rate_limit.is_none()
                && rule.latency.is_none()
            {
                continue;
            }
            if !matches(rule, site, service, method, path) {
                continue;
            }
            let slows_only = rule.error_rate == 0.0
                && rule.reset_rate == 0.0
                && rule.lost_answer_rate == 0.0
                && rule.late_landing_rate == 0.0
                && rule.rate_limit.is_none();
            if slows_only && rule.times.is_some_and(|n| self.hits[i] >= n) {
                continue;
            }
            if latency.is_none() {
                latency = rule.latency.as_ref().map(|l| l.sample(rng));
                if slows_only && latency.is_some() {
                    self.hits[i] += 1;
                }
            }
            if injected != Injected::Pass {
                continue;
            }
            if let Some(rl) = &rule.rate_limit {
                let (start, count) = &mut self.windows[i];
                if start.elapsed().as_secs_f64() >= rl.per_seconds {
                    *start = Instant::now();
                    *count = 0;
                }
                *count += 1;
                if *count > rl.max_requests {
                    injected = Injected::Limited {
                        status: rl.status,
                        retry_after_s: rl.retry_after_s,
                    };
                    continue;
                }
            }
            if rule.times.is_some_and(|n| self.hits[i] >= n) {
                continue;
            }
            if rule.reset_rate > 0.0 && rng.gen::<f64>() < rule.reset_rate {
                injected = Injected::Reset;
            } else if rule.error_rate > 0.0 && rng.gen::<f64>() < rule.error_rate {
                injected = Injected::Error(rule.error_status);
            } else if rule.lost_answer_rate > 0.0 && rng.gen::<f64>() < rule.lost_answer_rate {
                injected = Injected::LoseAnswer;
            } else if rule.late_landing_rate > 0.0 && rng.gen::<f64>() < rule.late_landing_rate {
                injected = Injected::LandLate(Duration::from_millis(rule.land_after_ms));
            }
            if injected != Injected::Pass {
                self.hits[i] += 1;
            }
        }
        let latency = match latency {
            Some(l) => l,
            None => self.profile.latency.sample(&mut self.rng),
        };
        (latency, injected)
    }

    /// Whether an asynchronous operation at `site` finishes, sticks or fails.
    pub fn outcome(&mut self, site: Site, operation: &str) -> Outcome {
        let rng = &mut self.rng;
        for rule in &self.profile.rules {
            let Some(op) = &rule.operation else { continue };
            if op != "*" && op != operation {
                continue;
            }
            if rule.site.as_deref().is_some_and(|s| s != site.name()) {
                continue;
            }
            if rule.stuck_rate > 0.0 && rng.gen::<f64>() < rule.stuck_rate {
                return Outcome::Stuck;
            }
            if rule.fail_rate > 0.0 && rng.gen::<f64>() < rule.fail_rate {
                return Outcome::Error;
            }
        }
        Outcome::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_rule_with_times_slows_that_many_calls() {
        let mut st = FaultState::default();
        st.set(
            FaultProfile::from_yaml_str(
                "rules:\n- {service: volume, path_contains: group_snapshots, latency: {kind: fixed, ms: 3000}, times: 1}\n",
            )
            .expect("yaml"),
        );
        let slow = |st: &mut FaultState, path: &str| st.decide("site-a", "volume", "POST", path).0;
        assert_eq!(slow(&mut st, "/v3/p/volumes"), Duration::ZERO);
        assert_eq!(
            slow(&mut st, "/v3/p/group_snapshots"),
            Duration::from_secs(3)
        );
        assert_eq!(slow(&mut st, "/v3/p/group_snapshots"), Duration::ZERO);
    }

    #[test]
    fn rate_limit_counts_per_window() {
        let mut st = FaultState::default();
        st.set(FaultProfile {
            seed: None,
            latency: Latency::None,
            rules: vec![FaultRule {
                service: Some("compute".into()),
                rate_limit: Some(RateLimit {
                    max_requests: 2,
                    per_seconds: 60.0,
                    status: 429,
                    retry_after_s: 3,
                }),
                ..Default::default()
            }],
        });
        assert_eq!(
            st.decide("site-a", "compute", "GET", "/x").1,
            Injected::Pass
        );
        assert_eq!(
            st.decide("site-a", "compute", "GET", "/x").1,
            Injected::Pass
        );
        assert_eq!(
            st.decide("site-a", "compute", "GET", "/x").1,
            Injected::Limited {
                status: 429,
                retry_after_s: 3
            }
        );
        assert_eq!(st.decide("site-a", "volume", "GET", "/x").1, Injected::Pass);
    }

    #[test]
    fn a_seed_makes_the_faults_reproducible() {
        let profile = FaultProfile::from_yaml_str(
            "seed: 42\nlatency: {kind: uniform, min_ms: 1, max_ms: 300}\nrules:\n- {error_rate: 0.2}\n- {reset_rate: 0.05}\n- {lost_answer_rate: 0.05}\n- {operation: '*', fail_rate: 0.2}\n",
        )
        .expect("yaml");
        let draw = |st: &mut FaultState| {
            (0..200)
                .map(|i| {
                    let (l, f) = st.decide("site-a", "volume", "POST", "/v3/p/volumes");
                    let o = if i % 4 == 0 {
                        Some(st.outcome(Site::A, "volume.create"))
                    } else {
                        None
                    };
                    (l, f, o)
                })
                .collect::<Vec<_>>()
        };
        let (mut a, mut b) = (FaultState::default(), FaultState::default());
        a.set(profile.clone());
        b.set(profile.clone());
        let (da, db) = (draw(&mut a), draw(&mut b));
        assert_eq!(da, db);
        assert!(da.iter().any(|(_, f, _)| *f == Injected::LoseAnswer));
        assert!(da.iter().any(|(_, f, _)| *f == Injected::Reset));
        assert!(da.iter().any(|(_, f, _)| matches!(f, Injected::Error(503))));
        let mut c = FaultState::default();
        c.set(FaultProfile {
            seed: Some(43),
            ..profile
        });
        assert_ne!(draw(&mut c), da, "another seed, other faults");
    }

    #[test]
    fn outcomes_and_latency() {
        let mut st = FaultState::default();
        st.set(FaultProfile::from_yaml_str("latency: {kind: fixed, ms: 7}\nrules:\n- operation: backup.create\n  fail_rate: 1.0\n").expect("yaml"));
        assert_eq!(st.outcome(Site::A, "backup.create"), Outcome::Error);
        assert_eq!(st.outcome(Site::A, "volume.create"), Outcome::Ok);
        assert_eq!(
            st.decide("site-a", "volume", "GET", "/").0,
            Duration::from_millis(7)
        );
    }
}
