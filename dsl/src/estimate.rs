//! Estimates for a plan: how long each step is expected to take, the critical
//! path, the window each quiesce group stays frozen and the estimated time to
//! completion of the whole run (for a recover runbook, the RTO).
//!
//! # Model
//!
//! - An action takes its latency: the catalogue's `estimate` for it
//!   (stdlib/*.dr), else [`Latencies::default_ms`]; a latency file
//!   overrides either by action name ([`Latencies`]); retries and backoffs
//!   are not counted.
//! - An `approve` takes [`Latencies::approve_ms`] (operator time; 0 by default).
//! - Siblings of a block run as soon as what they wait for is done (unbounded
//!   parallelism between siblings, as the executor walks a block as a DAG).
//! - A `for` of N items, `parallel P`, runs its body ⌈N/P⌉ times one after
//!   the other. N is the resolved count when known (`lifeboat plan
//!   --resolve`), else an assumed N.
//! - A quiesce scope freezes its groups in order — each group's targets at
//!   once, ⌈targets ÷ 8⌉ freezes long at the default site limit (one target
//!   after the other with `one at a time`) — runs its body, then thaws the
//!   groups in reverse, each at once (thaws take no slot). A group's window
//!   runs from its freeze to its thaw, so the first group frozen has the
//!   longest window.
//!
//! Figures measured from the run history (the median duration of each action
//! per site, see `lifeboat plan --state-dir`) go into [`Latencies::measured`]
//! and win over the table for the steps whose site is known before the run
//! ([`site_hint`]); a step that used a measured figure says so, with its
//! sample count ([`StepEstimate::measured`]). An action named in a latency
//! file (`--latencies`) keeps the file's figure.

use crate::plan::{Expr, NodeKind, Plan, StepId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Per-action latency figures in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latencies {
    /// For actions not listed in `actions`.
    #[serde(default = "default_action_ms")]
    pub default_ms: u64,
    /// Operator time for an `approve`.
    #[serde(default)]
    pub approve_ms: u64,
    /// By action name (`cinder.backup`).
    #[serde(default)]
    pub actions: BTreeMap<String, u64>,
    /// Measured from past runs: action → site → median and sample count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub measured: BTreeMap<String, BTreeMap<String, Measured>>,
    /// Actions whose figure a latency file set: measured figures do not
    /// replace them.
    #[serde(skip)]
    pub pinned: std::collections::BTreeSet<String>,
}

/// A latency measured from the run history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    pub median_ms: u64,
    pub samples: u32,
}

/// Which measured figure a step's estimate used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeasuredUse {
    pub site: String,
    pub samples: u32,
}

fn default_action_ms() -> u64 {
    2_000
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            default_ms: default_action_ms(),
            approve_ms: 0,
            actions: BTreeMap::new(),
            measured: BTreeMap::new(),
            pinned: Default::default(),
        }
    }
}

impl Latencies {
    /// The defaults with the figures of `over` laid on top (its `default_ms`
    /// and `approve_ms` replace ours when it sets them).
    pub fn overridden_by(mut self, over: LatencyOverrides) -> Self {
        if let Some(d) = over.default_ms {
            self.default_ms = d;
        }
        if let Some(a) = over.approve_ms {
            self.approve_ms = a;
        }
        self.pinned.extend(over.actions.keys().cloned());
        self.actions.extend(over.actions);
        self
    }

    /// Lay measured figures (action → site → figure) over the table.
    pub fn with_measured(mut self, measured: BTreeMap<String, BTreeMap<String, Measured>>) -> Self {
        self.measured = measured;
        self
    }

    /// The figure for `action` whose catalogue estimate is `declared`: a
    /// latency file's, else the catalogue's, else the default.
    pub fn of(&self, action: &str, declared: Option<u64>) -> u64 {
        self.actions
            .get(action)
            .copied()
            .or(declared)
            .unwrap_or(self.default_ms)
    }

    /// The figure for `action` at `site`: measured there when the history
    /// has it (and no latency file pinned the action), else [`Self::of`].
    pub fn of_at(
        &self,
        action: &str,
        declared: Option<u64>,
        site: Option<&str>,
    ) -> (u64, Option<MeasuredUse>) {
        if !self.pinned.contains(action) {
            if let Some((s, m)) = site.and_then(|s| Some((s, self.measured.get(action)?.get(s)?))) {
                return (
                    m.median_ms,
                    Some(MeasuredUse {
                        site: s.to_string(),
                        samples: m.samples,
                    }),
                );
            }
        }
        (self.of(action, declared), None)
    }
}

/// A latency file (`--latencies F`): every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyOverrides {
    pub default_ms: Option<u64>,
    pub approve_ms: Option<u64>,
    #[serde(default)]
    pub actions: BTreeMap<String, u64>,
}

/// Calls in flight per site the estimate assumes (the CLI's default).
const SITE_LIMIT: u32 = 8;

/// What is known of the cloud before estimating.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Items of a `for` node, or targets of a quiesce node, found by discovery.
    pub counts: HashMap<StepId, u32>,
    /// Quiesce groups found by discovery, in freeze order: (group, targets).
    pub groups: HashMap<StepId, Vec<(String, u32)>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepEstimate {
    /// From the start of the run, for the first iteration of a fan-out.
    pub start_ms: u64,
    pub end_ms: u64,
    pub critical: bool,
    /// For a `for` or quiesce node: how many items/targets, and whether
    /// discovery found that number (`false`: assumed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_resolved: Option<bool>,
    /// The latency came from the run history (action steps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<MeasuredUse>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupWindow {
    pub group: String,
    pub targets: u32,
    pub window_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuiesceEstimate {
    pub step: String,
    pub within_ms: u64,
    /// First freeze to last thaw.
    pub window_ms: u64,
    pub groups: Vec<GroupWindow>,
    /// The window exceeds `within`: the run would fail there.
    pub exceeds_within: bool,
}

/// The `estimates` object of the JSON plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimates {
    pub assumed_fanout: u32,
    pub latencies: Latencies,
    /// Step name → estimate.
    pub steps: BTreeMap<String, StepEstimate>,
    /// Step names, in run order, of the longest chain.
    pub critical_path: Vec<String>,
    pub quiesce: Vec<QuiesceEstimate>,
    /// Estimated time from start to end of the run; for a recover runbook,
    /// the recovery time (RTO).
    pub total_ms: u64,
}

impl Estimates {
    pub fn is_critical(&self, name: &str) -> bool {
        self.steps.get(name).is_some_and(|s| s.critical)
    }
}

/// Estimate a plan (parameters already bound, see [`crate::params::apply`]).
pub fn estimate(plan: &Plan, lat: &Latencies, known: &Known, assumed_fanout: u32) -> Estimates {
    let mut e = Est {
        plan,
        lat,
        known,
        assumed: assumed_fanout.max(1),
        start: HashMap::new(),
        dur: HashMap::new(),
        quiesce: Vec::new(),
        counts: HashMap::new(),
        measured: HashMap::new(),
    };
    let total = e.block(&plan.body, 0);
    let mut critical = Vec::new();
    e.critical(&plan.body, &mut critical);
    let mut steps = BTreeMap::new();
    for n in &plan.nodes {
        let Some(&s) = e.start.get(&n.id) else {
            continue;
        };
        let d = e.dur[&n.id];
        let count = e.counts.get(&n.id).copied();
        steps.insert(
            n.name.clone(),
            StepEstimate {
                start_ms: s,
                end_ms: s + d,
                critical: critical.contains(&n.id),
                count: count.map(|c| c.0),
                count_resolved: count.map(|c| c.1),
                measured: e.measured.get(&n.id).cloned(),
            },
        );
    }
    Estimates {
        assumed_fanout: e.assumed,
        latencies: lat.clone(),
        steps,
        critical_path: critical
            .iter()
            .map(|id| plan.node(*id).name.clone())
            .collect(),
        quiesce: e.quiesce,
        total_ms: total,
    }
}

struct Est<'a> {
    plan: &'a Plan,
    lat: &'a Latencies,
    known: &'a Known,
    assumed: u32,
    start: HashMap<StepId, u64>,
    dur: HashMap<StepId, u64>,
    quiesce: Vec<QuiesceEstimate>,
    counts: HashMap<StepId, (u32, bool)>,
    measured: HashMap<StepId, MeasuredUse>,
}

impl Est<'_> {
    fn count(&mut self, id: StepId) -> u32 {
        let c = match self.known.counts.get(&id) {
            Some(&c) => (c, true),
            None => (self.assumed, false),
        };
        self.counts.insert(id, c);
        c.0
    }

    /// Schedule a block starting at `t0`; returns its end.
    fn block(&mut self, ids: &[StepId], t0: u64) -> u64 {
        let mut end = t0;
        // Dependencies first: a node starts when the last it waits for ends.
        for id in self.plan.block_order(ids) {
            let s = self
                .plan
                .node(id)
                .deps
                .iter()
                .filter_map(|d| Some(self.start.get(&d.on)? + self.dur.get(&d.on)?))
                .max()
                .unwrap_or(t0)
                .max(t0);
            let d = self.node(id, s);
            self.start.insert(id, s);
            self.dur.insert(id, d);
            end = end.max(s + d);
        }
        end
    }

    /// Schedule one node starting at `s`; returns its duration.
    fn node(&mut self, id: StepId, s: u64) -> u64 {
        let plan = self.plan;
        match &plan.node(id).kind {
            NodeKind::Action(a) => {
                let site = site_hint(plan, id);
                let (ms, m) = self
                    .lat
                    .of_at(&a.call.action, a.estimate_ms, site.as_deref());
                if let Some(m) = m {
                    self.measured.insert(id, m);
                }
                ms
            }
            NodeKind::Approve(_) => self.lat.approve_ms,
            NodeKind::ForEach(f) => {
                let n = self.count(id);
                let waves = n.div_ceil(f.parallel.max(1)) as u64;
                let body = self.block(&f.body, s) - s;
                body * waves
            }
            NodeKind::Quiesce(q) => {
                let method = method_name(plan, &q.method);
                let site = expr_site(plan, &q.targets, 0);
                let (freeze, thaw) = match method.as_deref().and_then(|m| plan.quiesce_method(m)) {
                    Some(m) => (
                        self.lat
                            .of_at(&m.freeze, m.freeze_estimate_ms, site.as_deref())
                            .0,
                        self.lat
                            .of_at(&m.thaw, m.thaw_estimate_ms, site.as_deref())
                            .0,
                    ),
                    None => (self.lat.default_ms, self.lat.default_ms),
                };
                let groups = match self.known.groups.get(&id) {
                    Some(g) => {
                        let total = g.iter().map(|x| x.1).sum();
                        self.counts.insert(id, (total, true));
                        g.clone()
                    }
                    None => {
                        let n = self.count(id);
                        spread(n, &order_names(plan, &q.order))
                    }
                };
                // What one group costs to freeze and to thaw: one target
                // after the other (`one at a time`), else the group at once
                // within the default site limit (thaws take no slot).
                let cost = |c: u32| -> (u64, u64) {
                    if q.one_at_a_time {
                        (c as u64 * freeze, c as u64 * thaw)
                    } else if c == 0 {
                        (0, 0)
                    } else {
                        (c.div_ceil(SITE_LIMIT) as u64 * freeze, thaw)
                    }
                };
                let freezes: u64 = groups.iter().map(|g| cost(g.1).0).sum();
                let thaws: u64 = groups.iter().map(|g| cost(g.1).1).sum();
                let body_start = s + freezes;
                let body = self.block(&q.body, body_start) - body_start;
                let total = freezes + body + thaws;
                // Group i is frozen after the groups before it and thawed
                // before them.
                let mut before = (0u64, 0u64);
                let mut windows = Vec::new();
                for (g, c) in &groups {
                    windows.push(GroupWindow {
                        group: g.clone(),
                        targets: *c,
                        window_ms: (freezes - before.0) + body + (thaws - before.1),
                    });
                    let (f, t) = cost(*c);
                    before = (before.0 + f, before.1 + t);
                }
                self.quiesce.push(QuiesceEstimate {
                    step: plan.node(id).name.clone(),
                    within_ms: q.within_ms,
                    window_ms: total,
                    groups: windows,
                    exceeds_within: total > q.within_ms,
                });
                total
            }
        }
    }

    /// The longest chain of a block, descending into block nodes on it.
    fn critical(&self, ids: &[StepId], out: &mut Vec<StepId>) {
        let end = |id: &StepId| {
            self.start.get(id).copied().unwrap_or(0) + self.dur.get(id).copied().unwrap_or(0)
        };
        let Some(mut cur) = ids
            .iter()
            .copied()
            .max_by_key(|id| (end(id), std::cmp::Reverse(id.0)))
        else {
            return;
        };
        let mut chain = vec![cur];
        loop {
            let s = self.start.get(&cur).copied().unwrap_or(0);
            let prev = self
                .plan
                .node(cur)
                .deps
                .iter()
                .map(|d| d.on)
                .filter(|d| ids.contains(d) && end(d) == s)
                .max_by_key(|d| {
                    (
                        self.dur.get(d).copied().unwrap_or(0),
                        std::cmp::Reverse(d.0),
                    )
                });
            match prev {
                Some(p) => {
                    chain.push(p);
                    cur = p;
                }
                None => break,
            }
        }
        for id in chain.into_iter().rev() {
            out.push(id);
            match &self.plan.node(id).kind {
                NodeKind::ForEach(f) => self.critical(&f.body, out),
                NodeKind::Quiesce(q) => self.critical(&q.body, out),
                _ => {}
            }
        }
    }
}

/// The site an action step talks to, when it is known before the run: its
/// `site`-typed argument (a literal or a parameter), else the site of the
/// step or loop item its first record argument comes from.
pub fn site_hint(plan: &Plan, id: StepId) -> Option<String> {
    node_site(plan, id, 0)
}

fn node_site(plan: &Plan, id: StepId, depth: u32) -> Option<String> {
    if depth > 32 {
        return None;
    }
    let NodeKind::Action(a) = &plan.nodes.get(id.index())?.kind else {
        return None;
    };
    // A site argument's value is the site; a record argument's value is
    // a step or loop item whose site is followed the same way.
    let (arg, _) = crate::plan::site_arg(&a.call.args)?;
    expr_site(plan, &arg.value, depth + 1)
}

fn expr_site(plan: &Plan, e: &Expr, depth: u32) -> Option<String> {
    if depth > 32 {
        return None;
    }
    match e {
        Expr::Str(s) => Some(s.clone()),
        Expr::Param(p) => plan
            .params
            .iter()
            .find(|x| &x.name == p)?
            .default
            .as_ref()?
            .as_str()
            .map(str::to_string),
        Expr::Step(id) => node_site(plan, *id, depth + 1),
        Expr::Field(inner, _) => expr_site(plan, inner, depth + 1),
        Expr::LoopVar(f) => match &plan.nodes.get(f.index())?.kind {
            NodeKind::ForEach(fe) => expr_site(plan, &fe.over, depth + 1),
            _ => None,
        },
        _ => None,
    }
}

/// The method name a quiesce uses, when it is known before the run.
pub fn method_name(plan: &Plan, e: &Expr) -> Option<String> {
    match e {
        Expr::Str(s) => Some(s.clone()),
        Expr::Param(p) => plan
            .params
            .iter()
            .find(|x| &x.name == p)?
            .default
            .as_ref()?
            .as_str()
            .map(str::to_string),
        _ => None,
    }
}

/// The group names of a quiesce `in ORDER`, when known before the run.
pub fn order_names(plan: &Plan, e: &Expr) -> Vec<String> {
    match e {
        Expr::List(items) => items
            .iter()
            .filter_map(|i| match i {
                Expr::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        Expr::Param(p) => plan
            .params
            .iter()
            .find(|x| &x.name == p)
            .and_then(|x| x.default.as_ref())
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// N assumed targets spread over the named groups (one group `*` if none).
fn spread(n: u32, names: &[String]) -> Vec<(String, u32)> {
    if names.is_empty() {
        return vec![("*".to_string(), n)];
    }
    let k = names.len() as u32;
    names
        .iter()
        .enumerate()
        .map(|(i, g)| (g.clone(), n / k + u32::from((i as u32) < n % k)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_gives_the_remainder_to_the_first_groups() {
        let g = spread(7, &["db".into(), "app".into(), "lb".into()]);
        assert_eq!(
            g,
            vec![("db".into(), 3), ("app".into(), 2), ("lb".into(), 2)]
        );
        assert_eq!(spread(2, &[]), vec![("*".to_string(), 2)]);
    }

    #[test]
    fn option1_protect_with_unit_latencies() {
        use crate::{bundled, compiler, loader::BundledLoader, params};
        let c = compiler::compile(bundled::resolve("option1/protect").unwrap(), &BundledLoader)
            .unwrap();
        let plan = c.plan(None).unwrap();
        let v = params::bind(plan, &["vnf=ims".to_string()]).unwrap();
        let bound = params::apply(plan, &v);
        // One second for every action of the plan (a latency file naming
        // each wins over the catalogue's `estimate`).
        let mut actions: BTreeMap<String, u64> = bound
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Action(a) => Some((a.call.action.clone(), 1_000)),
                _ => None,
            })
            .collect();
        for m in &bound.quiesce_methods {
            actions.insert(m.freeze.clone(), 1_000);
            actions.insert(m.thaw.clone(), 1_000);
        }
        let lat = Latencies {
            default_ms: 1_000,
            approve_ms: 0,
            actions,
            ..Latencies::default()
        };
        let e = estimate(&bound, &lat, &Known::default(), 3);
        // servers → volumes → grp (3s); quiesce: 3 freezes, snap, 3 thaws (7s);
        // loop of 3 in one wave: tmp → b → rec (3s); the manifest (1s).
        assert_eq!(e.total_ms, 14_000);
        let q = &e.quiesce[0];
        assert_eq!(q.window_ms, 7_000);
        assert!(!q.exceeds_within);
        let w: Vec<(&str, u32, u64)> = q
            .groups
            .iter()
            .map(|g| (g.group.as_str(), g.targets, g.window_ms))
            .collect();
        assert_eq!(w, [("db", 1, 7_000), ("app", 1, 5_000), ("lb", 1, 3_000)]);
        assert_eq!(e.steps["b"].start_ms, 11_000);
        let lp = bound
            .nodes
            .iter()
            .find(|n| matches!(n.kind, NodeKind::ForEach(_)))
            .unwrap();
        assert_eq!(e.steps[&lp.name].count, Some(3));
        assert_eq!(e.steps[&lp.name].count_resolved, Some(false));
        assert!(e
            .critical_path
            .starts_with(&["servers".into(), "volumes".into(), "grp".into()]));
        assert!(e.is_critical("snap") && e.is_critical("rec") && !e.is_critical("nonexistent"));

        // A resolved loop of 9 items, parallel 4: three waves.
        let mut known = Known::default();
        known.counts.insert(lp.id, 9);
        let e9 = estimate(&bound, &lat, &known, 3);
        assert_eq!(e9.total_ms, 14_000 + 6_000);
        assert_eq!(e9.steps[&lp.name].count_resolved, Some(true));
    }

    #[test]
    fn measured_figures_apply_where_the_site_is_known_and_files_pin_theirs() {
        let c = crate::compiler::compile(
            crate::bundled::resolve("option1/protect").unwrap(),
            &crate::loader::BundledLoader,
        )
        .unwrap();
        let plan = c.plan(None).unwrap();
        let v = crate::params::bind(plan, &["vnf=ims".to_string()]).unwrap();
        let bound = crate::params::apply(plan, &v);
        let b = bound.nodes.iter().find(|n| n.name == "b").unwrap().id;
        let servers = bound.nodes.iter().find(|n| n.name == "servers").unwrap().id;
        // `b` backs up a volume made from a snapshot of the group at `from`.
        assert_eq!(site_hint(&bound, b).as_deref(), Some("site-a"));
        assert_eq!(site_hint(&bound, servers).as_deref(), Some("site-a"));
        let mut m: BTreeMap<String, BTreeMap<String, Measured>> = BTreeMap::new();
        m.entry("cinder.backup".into()).or_default().insert(
            "site-a".into(),
            Measured {
                median_ms: 7_000,
                samples: 5,
            },
        );
        m.entry("nova.find_servers".into()).or_default().insert(
            "site-b".into(),
            Measured {
                median_ms: 9_999,
                samples: 2,
            },
        );
        let lat = Latencies::default().with_measured(m.clone());
        let e = estimate(&bound, &lat, &Known::default(), 6);
        let sb = &e.steps["b"];
        assert_eq!(sb.end_ms - sb.start_ms, 7_000);
        assert_eq!(
            sb.measured,
            Some(MeasuredUse {
                site: "site-a".into(),
                samples: 5
            })
        );
        // Measured at another site only: the table's figure.
        assert_eq!(e.steps["servers"].end_ms - e.steps["servers"].start_ms, 500);
        assert_eq!(e.steps["servers"].measured, None);
        let base = estimate(&bound, &Latencies::default(), &Known::default(), 6);
        assert!(e.total_ms < base.total_ms);
        // A latency file's figure wins over the history.
        let pinned = Latencies::default()
            .overridden_by(LatencyOverrides {
                default_ms: None,
                approve_ms: None,
                actions: [("cinder.backup".to_string(), 1_234)].into(),
            })
            .with_measured(m);
        let e = estimate(&bound, &pinned, &Known::default(), 6);
        assert_eq!(e.steps["b"].end_ms - e.steps["b"].start_ms, 1_234);
        assert_eq!(e.steps["b"].measured, None);
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let l = Latencies::default().overridden_by(LatencyOverrides {
            default_ms: Some(7),
            approve_ms: None,
            actions: [("cinder.backup".to_string(), 11)].into(),
        });
        assert_eq!(l.of("cinder.backup", Some(300_000)), 11);
        assert_eq!(l.of("no.such", None), 7);
        assert_eq!(l.of("nova.pause", Some(2_000)), 2_000);
        assert_eq!(l.approve_ms, 0);
    }

    #[test]
    fn the_catalogue_estimate_is_the_figure_unless_a_file_names_the_action() {
        use crate::{compiler, loader::Loader};
        struct One(&'static str);
        impl Loader for One {
            fn load(&self, _: &str) -> Result<String, String> {
                Ok(self.0.to_string())
            }
        }
        let src = "action my.slow(site: site) -> verification {\n  kind read\n  estimate 7s\n}\n\naction my.plain(site: site) -> verification {\n  kind read\n}\n\nrunbook r \"t\" {\n  a = my.slow(site: \"site-a\")\n  b = my.plain(site: \"site-a\") after a\n}\n";
        let c = compiler::compile("r.dr", &One(src)).unwrap();
        assert!(!c.has_errors(), "{:?}", c.diagnostics.list);
        let plan = c.plan(None).unwrap();
        let e = estimate(plan, &Latencies::default(), &Known::default(), 1);
        assert_eq!(e.steps["a"].end_ms - e.steps["a"].start_ms, 7_000);
        assert_eq!(e.steps["b"].end_ms - e.steps["b"].start_ms, 2_000);
        let file = Latencies::default().overridden_by(LatencyOverrides {
            default_ms: Some(100),
            approve_ms: None,
            actions: [("my.slow".to_string(), 50)].into(),
        });
        let e = estimate(plan, &file, &Known::default(), 1);
        assert_eq!(e.steps["a"].end_ms - e.steps["a"].start_ms, 50);
        assert_eq!(e.steps["b"].end_ms - e.steps["b"].start_ms, 100);
    }
}
