//! `lifeboat-actions`: every action of the stdlib catalogue (stdlib/*.dr),
//! carried out with the OpenStack client. [`OpenStackActions`] holds one
//! client per site (site name = region name, each built from a clouds.yaml
//! cloud) and dispatches each [`ActionCall`] by its action name.
//!
//! ```no_run
//! # fn f() -> Result<(), lifeboat_openstack::Error> {
//! use lifeboat_actions::{OpenStackActions, SiteCloud};
//! use lifeboat_openstack::ConfigLoader;
//! let actions = OpenStackActions::from_clouds(
//!     &ConfigLoader::from_environment(),
//!     &[SiteCloud::new("site-a", "prod"), SiteCloud::new("site-b", "prod")],
//! )?;
//! # Ok(()) }
//! ```

pub mod args;
pub mod cinder;
pub mod designate;
pub mod fencing;
pub mod glance;
pub mod identity;
pub mod lifeboat;
pub mod mapping;
pub mod neutron;
pub mod nova;
pub mod prerun;
pub mod projection;
pub mod records;
pub mod registry;
pub mod retention;
pub mod swift;
pub mod wait;

use args::Args;
use async_trait::async_trait;
use lifeboat_exec::action::{ActionCall, ActionError, ActionOutput, Actions, SitePressure};
use lifeboat_openstack::{
    CallScope, Client, CloudConfig, ConfigLoader, Connections, Interface, Persistence, RetryPolicy,
};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use wait::{Poll, PollPolicy};

/// Which cloud serves a site: a clouds.yaml cloud name, with optional
/// region (default: the site name) and interface overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteCloud {
    pub site: String,
    pub cloud: String,
    pub region: Option<String>,
    pub interface: Option<Interface>,
}

impl SiteCloud {
    pub fn new(site: impl Into<String>, cloud: impl Into<String>) -> Self {
        SiteCloud {
            site: site.into(),
            cloud: cloud.into(),
            region: None,
            interface: None,
        }
    }

    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    pub fn interface(mut self, i: Interface) -> Self {
        self.interface = Some(i);
        self
    }

    /// A per-site override as the CLI takes it: `SITE=CLOUD[:REGION]`, e.g.
    /// `site-a=prod:RegionOne`; without `=CLOUD`, `default_cloud` serves it.
    pub fn parse(
        spec: &str,
        default_cloud: Option<&str>,
    ) -> Result<SiteCloud, lifeboat_openstack::Error> {
        let (site, rest) = match spec.split_once('=') {
            Some((s, r)) => (s.trim(), Some(r.trim())),
            None => (spec.trim(), None),
        };
        if site.is_empty() {
            return Err(lifeboat_openstack::Error::config(format!(
                "site override {spec:?}: expected SITE=CLOUD[:REGION]"
            )));
        }
        let (cloud, region) = match rest {
            Some(r) => match r.split_once(':') {
                Some((c, reg)) => (c.trim().to_string(), Some(reg.trim().to_string()).filter(|r| !r.is_empty())),
                None => (r.to_string(), None),
            },
            None => (default_cloud.map(str::to_string).ok_or_else(|| lifeboat_openstack::Error::config(format!("site {site:?} names no cloud and no default cloud (--cloud / OS_CLOUD) is set")))?, None),
        };
        if cloud.is_empty() {
            return Err(lifeboat_openstack::Error::config(format!(
                "site override {spec:?}: the cloud name is empty"
            )));
        }
        Ok(SiteCloud {
            site: site.to_string(),
            cloud,
            region,
            interface: None,
        })
    }
}

/// How `lifeboat.verify` and `lifeboat.write_manifest` learn a volume's
/// content checksum. Real Cinder offers none; the emulator offers an admin
/// endpoint (`GET {base}/sites/{site}/volumes/{id}/checksum`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ContentChecksums {
    /// Compare counts and sizes only.
    #[default]
    Unavailable,
    /// The emulator's admin checksum endpoint, e.g. `http://127.0.0.1:5100/_emulator`.
    EmulatorAdmin { base_url: String },
}

/// The catalogue's actions over OpenStack, one client per site.
pub struct OpenStackActions {
    sites: BTreeMap<String, Arc<Client>>,
    poll: PollPolicy,
    checksums: ContentChecksums,
    manifest_container: String,
    http: reqwest::Client,
    retry: RetryPolicy,
    /// How long each kind of wait took, per site: when to look next time.
    durations: wait::Durations,
}

impl OpenStackActions {
    /// Clients from explicit cloud configurations, by site.
    pub fn new(sites: Vec<(String, CloudConfig)>) -> Result<Self, lifeboat_openstack::Error> {
        Self::sharing(sites, &Connections::new())
    }

    /// [`OpenStackActions::new`], the clients' connections pooled with
    /// those of every other client made with `connections` (a daemon's
    /// runs: see [`Connections`]).
    pub fn sharing(
        sites: Vec<(String, CloudConfig)>,
        connections: &Connections,
    ) -> Result<Self, lifeboat_openstack::Error> {
        let mut map = BTreeMap::new();
        for (site, cloud) in sites {
            map.insert(
                site.clone(),
                Arc::new(Client::sharing(site, cloud, connections)?),
            );
        }
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| {
                lifeboat_openstack::Error::config(format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(OpenStackActions {
            sites: map,
            poll: PollPolicy::default(),
            checksums: ContentChecksums::default(),
            manifest_container: lifeboat::MANIFEST_CONTAINER.into(),
            http,
            retry: RetryPolicy::default(),
            durations: wait::Durations::default(),
        })
    }

    /// Clients from clouds.yaml (`loader`), a cloud per site; the region is
    /// the site's override, else the site name.
    pub fn from_clouds(
        loader: &ConfigLoader,
        sites: &[SiteCloud],
    ) -> Result<Self, lifeboat_openstack::Error> {
        Self::from_clouds_sharing(loader, sites, &Connections::new())
    }

    /// [`OpenStackActions::from_clouds`] with the connections of
    /// `connections` ([`OpenStackActions::sharing`]).
    pub fn from_clouds_sharing(
        loader: &ConfigLoader,
        sites: &[SiteCloud],
        connections: &Connections,
    ) -> Result<Self, lifeboat_openstack::Error> {
        let mut out = Vec::new();
        for s in sites {
            let mut cloud = loader
                .load(Some(&s.cloud))?
                .with_region(s.region.clone().unwrap_or_else(|| s.site.clone()));
            if let Some(i) = s.interface {
                cloud = cloud.with_interface(i);
            }
            out.push((s.site.clone(), cloud));
        }
        Self::sharing(out, connections)
    }

    pub fn with_poll_policy(mut self, p: PollPolicy) -> Self {
        self.poll = p;
        self
    }

    /// How failed requests are retried, and each site's ceiling of requests
    /// in flight (`max_in_flight(site)`; the adaptive limit starts there and
    /// never exceeds it). Call before the actions are shared.
    pub fn with_resilience(
        mut self,
        retry: RetryPolicy,
        max_in_flight: impl Fn(&str) -> usize,
    ) -> Self {
        self.retry = retry;
        for (site, c) in self.sites.iter_mut() {
            match Arc::get_mut(c) {
                Some(c) => c.configure_resilience(retry, max_in_flight(site)),
                None => {
                    tracing::warn!(%site, "the site's client is already shared; its retry policy stays as it was")
                }
            }
        }
        self
    }

    pub fn with_content_checksums(mut self, c: ContentChecksums) -> Self {
        self.checksums = c;
        self
    }

    pub fn with_manifest_container(mut self, c: impl Into<String>) -> Self {
        self.manifest_container = c.into();
        self
    }

    pub fn sites(&self) -> Vec<String> {
        self.sites.keys().cloned().collect()
    }

    pub fn client(&self, site: &str) -> Result<&Client, ActionError> {
        self.sites.get(site).map(|c| c.as_ref()).ok_or_else(|| {
            ActionError::permanent(format!(
                "site {site:?} has no cloud configured; configured sites: [{}]",
                self.sites.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
            .with_hint("map the site to a clouds.yaml cloud (--cloud / per-site overrides)")
        })
    }
}

/// What an action function gets: the call, its arguments, the clients and
/// the deadline.
pub struct Ctx<'a> {
    pub call: &'a ActionCall,
    pub args: Args<'a>,
    pub acts: &'a OpenStackActions,
    pub deadline: Instant,
}

impl<'a> Ctx<'a> {
    pub fn action(&self) -> &str {
        &self.call.action
    }

    /// The client of the call's site.
    pub fn client_for_call(&self) -> Result<&'a Client, ActionError> {
        let site = self.args.site()?;
        self.acts.client(&site)
    }

    /// A record argument and the client of the site it lives at.
    pub fn record_on_site<T: DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<(&'a Client, T), ActionError> {
        let r: T = self.args.record(name)?;
        let site = self
            .args
            .raw(name)
            .and_then(|v| v.get("site"))
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let site = match site {
            Some(s) => s,
            None => self.args.site()?,
        };
        Ok((self.acts.client(&site)?, r))
    }

    /// Fail clearly when the site's `service` lacks microversion `v`,
    /// which `what` needs.
    pub async fn require_microversion(
        &self,
        c: &Client,
        service: lifeboat_openstack::Service,
        v: &str,
        what: &str,
    ) -> Result<(), ActionError> {
        match c.supports_microversion(service, v).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ActionError::permanent(format!(
                "{}: {what} needs {} API microversion {v}, which site {} does not offer",
                self.action(),
                service.name(),
                c.site()
            ))
            .with_hint("upgrade the cloud or choose a runbook option that does not need it")),
            Err(e) => Err(args::from_client(self.action(), e)),
        }
    }

    pub fn value<T: Serialize>(&self, v: T) -> Result<ActionOutput, ActionError> {
        let value = serde_json::to_value(v).map_err(|e| {
            ActionError::permanent(format!("{}: cannot encode the result: {e}", self.action()))
        })?;
        Ok(ActionOutput::new(value))
    }

    pub async fn wait<T, F, Fut>(&self, what: &str, probe: F) -> Result<T, ActionError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = lifeboat_openstack::Result<Poll<T>>>,
    {
        let kind = what.split_whitespace().next().unwrap_or_default();
        let key = format!(
            "{} {} {kind}",
            self.args.site().unwrap_or_default(),
            self.action()
        );
        wait::until(
            self.acts.poll,
            Some((&self.acts.durations, &key)),
            self.deadline,
            self.action(),
            what,
            probe,
        )
        .await
    }
}

/// How many times a call makes its resource again after a lost answer or a
/// resource that ended in `error`, before the step's own retries take over:
/// enough to ride out a stormy cloud (at 20 % failures, 4 tries fail
/// together 0.16 % of the time), few enough that a cloud that fails every
/// time is reported soon.
const REMAKES: u32 = 3;

/// How hard the requests of a call try, from why the executor makes it.
fn scope_for(call: &ActionCall) -> CallScope {
    CallScope {
        deadline: Some(tokio::time::Instant::now() + call.timeout),
        persistence: if call.purpose.is_safety() {
            Persistence::UntilDeadline
        } else {
            Persistence::Budget
        },
        urgent: call.purpose.is_urgent(),
    }
}

/// What looking for an interrupted call's creation found.
enum Found {
    /// The action creates nothing: there is nothing to look for.
    NotACreator,
    Nothing,
    Created(ActionOutput),
}

#[async_trait]
impl Actions for OpenStackActions {
    async fn run(&self, call: &ActionCall) -> Result<ActionOutput, ActionError> {
        tracing::info!(action = %call.action, step = %call.step, attempt = call.attempt, "action");
        // Waits stop at the deadline themselves; this also bounds a single
        // HTTP request that hangs.
        let grace = std::time::Duration::from_secs(2);
        let work = scope_for(call).run(self.carry_out(call));
        let work = async {
            match call.fence.check() {
                Some(check) => lifeboat_openstack::fence::fenced(check, work).await,
                None => work.await,
            }
        };
        match tokio::time::timeout(call.timeout + grace, work).await {
            Ok(r) => r,
            Err(_) => Err(ActionError::timeout(format!(
                "{}: no answer within the call's timeout ({:?})",
                call.action, call.timeout
            ))
            .with_hint("the cloud is not answering; check the site or raise the step's timeout")),
        }
    }

    async fn find_created(&self, call: &ActionCall) -> Result<Option<ActionOutput>, ActionError> {
        let grace = std::time::Duration::from_secs(2);
        let mut scope = scope_for(call);
        // Looking is a safety path whatever the call was: a lost answer must
        // be settled before anything is created again or given up.
        scope.persistence = Persistence::UntilDeadline;
        match tokio::time::timeout(call.timeout + grace, scope.run(self.find(call))).await {
            Ok(Ok(Found::Created(out))) => Ok(Some(out)),
            Ok(Ok(Found::Nothing | Found::NotACreator)) => Ok(None),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ActionError::timeout(format!("{}: looking for what the interrupted call created took longer than its timeout ({:?})", call.action, call.timeout))),
        }
    }

    async fn twins(&self, call: &ActionCall, kept: &Value) -> Result<Vec<Value>, ActionError> {
        let Some(find) = registry::binding(&call.action).and_then(|b| b.twins) else {
            return Ok(Vec::new());
        };
        let cx = Ctx {
            call,
            args: Args::new(call),
            acts: self,
            deadline: Instant::now() + call.timeout,
        };
        let grace = std::time::Duration::from_secs(2);
        let mut scope = scope_for(call);
        scope.persistence = Persistence::UntilDeadline;
        match tokio::time::timeout(call.timeout + grace, scope.run(find(&cx, kept))).await {
            Ok(r) => r,
            Err(_) => Err(ActionError::timeout(format!("{}: looking for twins of what the call created took longer than its timeout ({:?})", call.action, call.timeout))),
        }
    }

    fn pressure(&self) -> Vec<SitePressure> {
        self.sites
            .iter()
            .map(|(site, c)| {
                let p = c.pressure();
                SitePressure {
                    site: site.clone(),
                    requests: p.requests,
                    retries: p.retries,
                    throttled: p.throttled,
                    limit: p.limit,
                    lowest_limit: p.lowest_limit,
                    ceiling: p.ceiling,
                    holds: p.holds,
                }
            })
            .collect()
    }
}

impl OpenStackActions {
    /// Carries the call out. The client retries what is safe to send again;
    /// a creating request whose answer was lost (a reset, a 502/503/504, a
    /// timeout) comes back as a transient error, and then what it may have
    /// created is looked for by the call's tag before it is made again — so
    /// a stormy cloud costs requests, not steps, and nothing is made twice.
    async fn carry_out(&self, call: &ActionCall) -> Result<ActionOutput, ActionError> {
        let deadline = tokio::time::Instant::now() + call.timeout;
        let mut lost = 0u32;
        loop {
            let err = match self.dispatch(call).await {
                // Made again after a lost answer: the first may still land
                // (its twin is looked for at the run's end).
                Ok(out) => {
                    return Ok(ActionOutput {
                        uncertain: out.uncertain || lost > 0,
                        ..out
                    })
                }
                Err(e) if e.is_transient() => e,
                Err(e) => return Err(e),
            };
            match self.find(call).await {
                Ok(Found::Created(out)) => {
                    tracing::info!(action = %call.action, step = %call.step, "the lost answer had created the resource: using it");
                    return Ok(ActionOutput {
                        uncertain: lost > 0,
                        ..out
                    });
                }
                // It looks before it makes: calling it again settles the
                // lost answer (and makes what is still missing).
                Ok(Found::NotACreator)
                    if registry::binding(&call.action).is_some_and(|b| b.looks_first) => {}
                Ok(Found::NotACreator) => return Err(err),
                Ok(Found::Nothing) => {}
                Err(_) => return Err(err),
            }
            lost += 1;
            let delay = self.retry.delay(lost, None);
            if lost > REMAKES || tokio::time::Instant::now() + delay >= deadline {
                return Err(err);
            }
            tracing::info!(action = %call.action, step = %call.step, error = %err, ?delay, "nothing was created: creating again");
            tokio::time::sleep(delay).await;
        }
    }

    async fn dispatch(&self, call: &ActionCall) -> Result<ActionOutput, ActionError> {
        let cx = Ctx {
            call,
            args: Args::new(call),
            acts: self,
            deadline: Instant::now() + call.timeout,
        };
        match registry::binding(&call.action) {
            Some(b) => (b.run)(&cx).await,
            None => Err(unknown(&call.action)),
        }
    }

    async fn find(&self, call: &ActionCall) -> Result<Found, ActionError> {
        let cx = Ctx {
            call,
            args: Args::new(call),
            acts: self,
            deadline: Instant::now() + call.timeout,
        };
        let found = match registry::binding(&call.action) {
            Some(registry::Binding {
                created: Some(created),
                ..
            }) => created(&cx).await,
            Some(_) => return Ok(Found::NotACreator),
            None => Err(unknown(&call.action)),
        };
        Ok(match found? {
            Some(out) => Found::Created(out),
            None => Found::Nothing,
        })
    }
}

fn unknown(action: &str) -> ActionError {
    ActionError::permanent(format!(
        "unknown action {action:?}: lifeboat-actions implements none of that name"
    ))
    .with_hint("check the action's name against stdlib/*.dr")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_overrides_parse() {
        assert_eq!(
            SiteCloud::parse("site-a=prod:RegionOne", None).unwrap(),
            SiteCloud::new("site-a", "prod").region("RegionOne")
        );
        assert_eq!(
            SiteCloud::parse("site-b=dr", None).unwrap(),
            SiteCloud::new("site-b", "dr")
        );
        assert_eq!(
            SiteCloud::parse("site-b", Some("emulator")).unwrap(),
            SiteCloud::new("site-b", "emulator")
        );
        assert!(SiteCloud::parse("site-b", None)
            .unwrap_err()
            .to_string()
            .contains("no cloud"));
        assert!(SiteCloud::parse("=x", None).is_err());
    }

    #[tokio::test]
    async fn unknown_action_is_permanent() {
        let acts = OpenStackActions::new(vec![]).unwrap();
        let call = ActionCall {
            action: "nova.reboot".into(),
            args: Default::default(),
            site: None,
            run_id: "r".into(),
            step: "s".into(),
            tag: "lb-r-s".into(),
            attempt: 1,
            timeout: std::time::Duration::from_secs(1),
            purpose: Default::default(),
            fence: Default::default(),
        };
        let e = acts.run(&call).await.unwrap_err();
        assert_eq!(e.class, lifeboat_exec::action::ErrorClass::Permanent);
        assert!(e.message.contains("nova.reboot"));
        assert!(acts.find_created(&call).await.is_err());
    }
}
