//! Which cloud serves each site of a run, and the actions built from that.
//!
//! A site is a region. For every site the plan's `site` parameters name, the
//! cloud is, first match wins: `--site-cloud SITE=CLOUD[:REGION]`;
//! `--cloud NAME`; `$OS_CLOUD`; the `OS_*` variables (`OS_AUTH_URL` set);
//! the clouds.yaml an emulator started by `lifeboat emulator serve` left in
//! the state dir (cloud `emulator`, with content checksums from its admin
//! endpoint). Nothing configured → an error that says how to configure one.
//!
//! What was chosen is stored in the run dir (`sites.json`: cloud names,
//! regions and file paths — never credentials) so `resume` rebuilds the same.

use crate::state::{self, EMULATOR_INFO};
use lifeboat_actions::{ContentChecksums, OpenStackActions, SiteCloud};
use lifeboat_openstack::{ConfigLoader, Connections};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SiteSpec {
    pub site: String,
    pub cloud: String,
    pub region: Option<String>,
}

/// The cloud choice of a run (stored as `sites.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct SitesConfig {
    pub sites: Vec<SiteSpec>,
    /// A clouds.yaml to read instead of the usual search (the emulator's).
    pub clouds_file: Option<PathBuf>,
    /// The emulator's admin base (`http://127.0.0.1:5100`), for checksums.
    pub emulator_admin: Option<String>,
}

/// What `lifeboat emulator serve` leaves next to its clouds.yaml.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmulatorInfo {
    pub admin_url: String,
    pub clouds_yaml: PathBuf,
    pub pid: u32,
}

pub struct CloudArgs<'a> {
    pub cloud: Option<&'a str>,
    pub site_clouds: &'a [String],
}

fn env_nonempty(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// Decide the cloud of every site.
pub fn choose(sites: &[String], args: &CloudArgs, state: &Path) -> Result<SitesConfig, String> {
    let mut overrides: BTreeMap<String, SiteSpec> = BTreeMap::new();
    for spec in args.site_clouds {
        let sc = SiteCloud::parse(spec, None).map_err(|e| format!("--site-cloud {spec}: {e}"))?;
        if !sites.contains(&sc.site) {
            return Err(format!(
                "--site-cloud {spec}: the runbook uses no site `{}` (its sites: {})",
                sc.site,
                sites.join(", ")
            ));
        }
        overrides.insert(
            sc.site.clone(),
            SiteSpec {
                site: sc.site,
                cloud: sc.cloud,
                region: sc.region,
            },
        );
    }
    let default_cloud = args
        .cloud
        .map(str::to_string)
        .or_else(|| env_nonempty("OS_CLOUD"))
        .or_else(|| env_nonempty("OS_AUTH_URL").map(|_| "envvars".to_string()));
    let mut cfg = SitesConfig::default();
    let mut missing = Vec::new();
    for s in sites {
        if let Some(o) = overrides.get(s) {
            cfg.sites.push(o.clone());
        } else if let Some(c) = &default_cloud {
            cfg.sites.push(SiteSpec {
                site: s.clone(),
                cloud: c.clone(),
                region: None,
            });
        } else {
            missing.push(s.clone());
        }
    }
    if missing.is_empty() {
        return Ok(cfg);
    }
    // Nothing configured for these sites: the emulator's clouds.yaml, if any.
    let info_path = state::emulator_dir(state).join(EMULATOR_INFO);
    if let Ok(info) = state::read_json::<EmulatorInfo>(&info_path) {
        if info.clouds_yaml.is_file() && overrides.is_empty() {
            cfg.clouds_file = Some(info.clouds_yaml.clone());
            cfg.emulator_admin = Some(info.admin_url.clone());
            for s in missing {
                cfg.sites.push(SiteSpec {
                    site: s,
                    cloud: "emulator".into(),
                    region: None,
                });
            }
            return Ok(cfg);
        }
    }
    Err(format!(
        "no cloud configured for site(s) {}: pass --cloud NAME (a cloud of clouds.yaml) or \
         --site-cloud SITE=CLOUD[:REGION], set OS_CLOUD or the OS_* variables, \
         or start the emulator with `lifeboat emulator serve`",
        missing.join(", ")
    ))
}

/// The loader `cfg` reads clouds with.
pub fn loader(cfg: &SitesConfig) -> ConfigLoader {
    match &cfg.clouds_file {
        Some(f) => {
            let mut env = BTreeMap::new();
            env.insert("OS_CLIENT_CONFIG_FILE".to_string(), f.display().to_string());
            ConfigLoader::new(env, vec![])
        }
        None => ConfigLoader::from_environment(),
    }
}

/// The actions for every site of `cfg`. Fails (nothing run) on an unknown
/// cloud or a bad clouds.yaml; the message names the site and what to do.
pub fn build_actions(cfg: &SitesConfig) -> Result<OpenStackActions, String> {
    build_actions_sharing(cfg, &Connections::new())
}

/// [`build_actions`] whose clients pool their connections with every other
/// client made with `connections` (the daemon's runs).
pub fn build_actions_sharing(
    cfg: &SitesConfig,
    connections: &Connections,
) -> Result<OpenStackActions, String> {
    let loader = loader(cfg);
    let sites: Vec<SiteCloud> = cfg
        .sites
        .iter()
        .map(|s| {
            let sc = SiteCloud::new(s.site.clone(), s.cloud.clone());
            match &s.region {
                Some(r) => sc.region(r.clone()),
                None => sc,
            }
        })
        .collect();
    for s in &sites {
        loader
            .load(Some(&s.cloud))
            .map_err(|e| format!("site {}: cloud `{}`: {e}", s.site, s.cloud))?;
    }
    let actions = OpenStackActions::from_clouds_sharing(&loader, &sites, connections)
        .map_err(|e| format!("cannot configure the clouds: {e}"))?;
    Ok(match &cfg.emulator_admin {
        Some(a) => actions.with_content_checksums(ContentChecksums::EmulatorAdmin {
            base_url: format!("{}/_emulator", a.trim_end_matches('/')),
        }),
        None => actions,
    })
}
