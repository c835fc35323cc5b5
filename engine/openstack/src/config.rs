//! Where a site's cloud comes from, like the `openstack` CLI: `clouds.yaml`
//! (first of `$OS_CLIENT_CONFIG_FILE`, `./`, `$XDG_CONFIG_HOME/openstack` or
//! `~/.config/openstack`, `/etc/openstack`) deep-merged with `secure.yaml`
//! from the same places (`$OS_CLIENT_SECURE_FILE` first), the cloud named by
//! the caller or `$OS_CLOUD`, or else a cloud made of `OS_*` variables.
//! Passwords and credential secrets are held as [`Secret`]s.

use crate::error::{Error, Result};
use crate::secret::Secret;
use serde_yaml::Value as Yaml;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// How the client proves who it is to Keystone v3.
#[derive(Clone, PartialEq)]
pub enum AuthMethod {
    /// `auth_type: password` (or `v3password`).
    Password {
        username: Option<String>,
        user_id: Option<String>,
        password: Secret,
        user_domain_name: Option<String>,
        user_domain_id: Option<String>,
        project_name: Option<String>,
        project_id: Option<String>,
        project_domain_name: Option<String>,
        project_domain_id: Option<String>,
    },
    /// `auth_type: v3applicationcredential`.
    ApplicationCredential {
        id: Option<String>,
        name: Option<String>,
        secret: Secret,
        username: Option<String>,
        user_id: Option<String>,
        user_domain_name: Option<String>,
        user_domain_id: Option<String>,
    },
}

impl fmt::Debug for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthMethod::Password {
                username,
                user_id,
                project_name,
                project_id,
                ..
            } => f
                .debug_struct("Password")
                .field("username", username)
                .field("user_id", user_id)
                .field("password", &"***")
                .field("project_name", project_name)
                .field("project_id", project_id)
                .finish(),
            AuthMethod::ApplicationCredential { id, name, .. } => f
                .debug_struct("ApplicationCredential")
                .field("id", id)
                .field("name", name)
                .field("secret", &"***")
                .finish(),
        }
    }
}

/// Endpoint interface to pick from the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    Public,
    Internal,
    Admin,
}

impl Interface {
    pub fn parse(s: &str) -> Result<Interface> {
        match s
            .trim()
            .trim_end_matches("URL")
            .to_ascii_lowercase()
            .as_str()
        {
            "public" | "" => Ok(Interface::Public),
            "internal" => Ok(Interface::Internal),
            "admin" => Ok(Interface::Admin),
            other => Err(Error::config(format!(
                "interface {other:?} is not one of public, internal, admin"
            ))),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

/// One cloud, ready to authenticate.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudConfig {
    /// The cloud's name in clouds.yaml (`envvars` when made of `OS_*`).
    pub name: String,
    pub auth_url: String,
    pub auth: AuthMethod,
    pub region: Option<String>,
    pub interface: Interface,
    /// TLS verification (clouds.yaml `verify`, default true).
    pub verify: bool,
    /// Extra CA bundle (clouds.yaml `cacert`, `OS_CACERT`).
    pub cacert: Option<PathBuf>,
}

impl CloudConfig {
    /// The same cloud in another region (a per-site override).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    pub fn with_interface(mut self, interface: Interface) -> Self {
        self.interface = interface;
        self
    }
}

/// Reads configuration from an environment and a list of directories; the
/// process's own by default, explicit ones in tests.
#[derive(Debug, Clone)]
pub struct ConfigLoader {
    env: BTreeMap<String, String>,
    dirs: Vec<PathBuf>,
}

impl ConfigLoader {
    /// The process environment and the CLI's usual directories.
    pub fn from_environment() -> Self {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("OS_") || k == "XDG_CONFIG_HOME" || k == "HOME")
            .collect();
        let mut dirs = vec![PathBuf::from(".")];
        if let Some(x) = env.get("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
            dirs.push(Path::new(x).join("openstack"));
        } else if let Some(h) = env.get("HOME") {
            dirs.push(Path::new(h).join(".config").join("openstack"));
        }
        dirs.push(PathBuf::from("/etc/openstack"));
        ConfigLoader { env, dirs }
    }

    /// An explicit environment (only `OS_*` keys matter) and search directories.
    pub fn new(env: BTreeMap<String, String>, dirs: Vec<PathBuf>) -> Self {
        ConfigLoader { env, dirs }
    }

    fn env(&self, key: &str) -> Option<String> {
        self.env.get(key).filter(|v| !v.is_empty()).cloned()
    }

    fn candidates(&self, explicit_var: &str, base: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(p) = self.env(explicit_var) {
            out.push(PathBuf::from(p));
        }
        for d in &self.dirs {
            out.push(d.join(format!("{base}.yaml")));
            out.push(d.join(format!("{base}.yml")));
        }
        out
    }

    /// The first existing file of the list, parsed.
    fn first_file(&self, candidates: &[PathBuf]) -> Result<Option<(PathBuf, Yaml)>> {
        for p in candidates {
            if p.is_file() {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Error::config(format!("cannot read {}: {e}", p.display())))?;
                let y: Yaml = serde_yaml::from_str(&text).map_err(|e| {
                    Error::config(format!("{} is not valid YAML: {e}", p.display()))
                })?;
                return Ok(Some((p.clone(), y)));
            }
        }
        Ok(None)
    }

    /// clouds.yaml merged with secure.yaml, and the files read.
    fn clouds(&self) -> Result<(BTreeMap<String, Yaml>, Vec<PathBuf>)> {
        let mut files = Vec::new();
        let mut clouds = BTreeMap::new();
        if let Some((path, y)) =
            self.first_file(&self.candidates("OS_CLIENT_CONFIG_FILE", "clouds"))?
        {
            files.push(path);
            if let Some(Yaml::Mapping(m)) = y.get("clouds") {
                for (k, v) in m {
                    if let Some(k) = k.as_str() {
                        clouds.insert(k.to_string(), v.clone());
                    }
                }
            }
        }
        if let Some((path, y)) =
            self.first_file(&self.candidates("OS_CLIENT_SECURE_FILE", "secure"))?
        {
            files.push(path);
            if let Some(Yaml::Mapping(m)) = y.get("clouds") {
                for (k, v) in m {
                    if let Some(k) = k.as_str() {
                        let entry = clouds
                            .entry(k.to_string())
                            .or_insert(Yaml::Mapping(Default::default()));
                        merge(entry, v);
                    }
                }
            }
        }
        Ok((clouds, files))
    }

    /// Names of the clouds configured in the files.
    pub fn cloud_names(&self) -> Result<Vec<String>> {
        Ok(self.clouds()?.0.into_keys().collect())
    }

    /// The cloud named `cloud`, else `$OS_CLOUD`, else the `OS_*` variables.
    pub fn load(&self, cloud: Option<&str>) -> Result<CloudConfig> {
        let wanted = cloud.map(str::to_string).or_else(|| self.env("OS_CLOUD"));
        match wanted {
            Some(name) if name != "envvars" => {
                let (clouds, files) = self.clouds()?;
                let Some(entry) = clouds.get(&name) else {
                    let names: Vec<&str> = clouds.keys().map(String::as_str).collect();
                    let read: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
                    return Err(Error::config(format!(
                        "cloud {name:?} is not configured; clouds found: [{}]; files read: [{}]",
                        names.join(", "),
                        if read.is_empty() {
                            "none found".to_string()
                        } else {
                            read.join(", ")
                        }
                    )));
                };
                self.cloud_from_yaml(&name, entry)
            }
            _ => self.cloud_from_env(),
        }
    }

    fn cloud_from_yaml(&self, name: &str, entry: &Yaml) -> Result<CloudConfig> {
        let get = |k: &str| -> Option<String> { yaml_str(entry.get(k)) };
        let auth = entry.get("auth").cloned().unwrap_or(Yaml::Null);
        // Like the CLI: secrets missing from the files may come from OS_*.
        let a = |k: &str| -> Option<String> {
            yaml_str(auth.get(k)).or_else(|| match k {
                "password" | "application_credential_secret" => {
                    self.env(&format!("OS_{}", k.to_ascii_uppercase()))
                }
                _ => None,
            })
        };
        let auth_url = a("auth_url")
            .ok_or_else(|| Error::config(format!("cloud {name:?} has no auth.auth_url")))?;
        let auth_type = get("auth_type").unwrap_or_else(|| {
            if a("application_credential_secret").is_some() {
                "v3applicationcredential".into()
            } else {
                "password".into()
            }
        });
        let method = build_auth(name, &auth_type, &a)?;
        let interface = Interface::parse(
            &self
                .env("OS_INTERFACE")
                .or_else(|| get("interface"))
                .or_else(|| get("endpoint_type"))
                .unwrap_or_default(),
        )?;
        let verify = match entry.get("verify") {
            Some(Yaml::Bool(b)) => *b,
            Some(Yaml::String(s)) => {
                !matches!(s.to_ascii_lowercase().as_str(), "false" | "no" | "0")
            }
            _ => true,
        };
        let region = self
            .env("OS_REGION_NAME")
            .or_else(|| get("region_name"))
            .or_else(|| match entry.get("regions") {
                Some(Yaml::Sequence(s)) => s
                    .first()
                    .and_then(|r| yaml_str(Some(r)).or_else(|| yaml_str(r.get("name")))),
                _ => None,
            });
        Ok(CloudConfig {
            name: name.to_string(),
            auth_url,
            auth: method,
            region,
            interface,
            verify,
            cacert: get("cacert").map(PathBuf::from),
        })
    }

    fn cloud_from_env(&self) -> Result<CloudConfig> {
        let auth_url = self.env("OS_AUTH_URL").ok_or_else(|| {
            let names = self.cloud_names().unwrap_or_default();
            Error::config(format!(
                "no cloud chosen and OS_AUTH_URL is not set; name a cloud (OS_CLOUD or --cloud) among [{}] or set the OS_* variables",
                names.join(", ")
            ))
        })?;
        let map =
            |k: &str| -> Option<String> { self.env(&format!("OS_{}", k.to_ascii_uppercase())) };
        let auth_type = self.env("OS_AUTH_TYPE").unwrap_or_else(|| {
            if self.env("OS_APPLICATION_CREDENTIAL_SECRET").is_some() {
                "v3applicationcredential".into()
            } else {
                "password".into()
            }
        });
        let method = build_auth("envvars", &auth_type, &map)?;
        Ok(CloudConfig {
            name: "envvars".into(),
            auth_url,
            auth: method,
            region: self.env("OS_REGION_NAME"),
            interface: Interface::parse(&self.env("OS_INTERFACE").unwrap_or_default())?,
            verify: !matches!(
                self.env("OS_INSECURE").as_deref(),
                Some("true" | "True" | "1")
            ),
            cacert: self.env("OS_CACERT").map(PathBuf::from),
        })
    }
}

fn build_auth(
    cloud: &str,
    auth_type: &str,
    a: &dyn Fn(&str) -> Option<String>,
) -> Result<AuthMethod> {
    match auth_type {
        "password" | "v3password" => Ok(AuthMethod::Password {
            username: a("username"),
            user_id: a("user_id"),
            password: Secret::new(a("password").ok_or_else(|| Error::config(format!("cloud {cloud:?} has no password (auth.password in clouds.yaml or secure.yaml, or OS_PASSWORD)")))?),
            user_domain_name: a("user_domain_name").or_else(|| a("domain_name")),
            user_domain_id: a("user_domain_id").or_else(|| a("domain_id")),
            project_name: a("project_name").or_else(|| a("tenant_name")),
            project_id: a("project_id").or_else(|| a("tenant_id")),
            project_domain_name: a("project_domain_name").or_else(|| a("domain_name")),
            project_domain_id: a("project_domain_id").or_else(|| a("domain_id")),
        }),
        "v3applicationcredential" | "applicationcredential" => {
            let secret = a("application_credential_secret").ok_or_else(|| Error::config(format!("cloud {cloud:?} has no application_credential_secret")))?;
            let id = a("application_credential_id");
            let name = a("application_credential_name");
            if id.is_none() && name.is_none() {
                return Err(Error::config(format!("cloud {cloud:?} names neither application_credential_id nor application_credential_name")));
            }
            Ok(AuthMethod::ApplicationCredential {
                id,
                name,
                secret: Secret::new(secret),
                username: a("username"),
                user_id: a("user_id"),
                user_domain_name: a("user_domain_name"),
                user_domain_id: a("user_domain_id"),
            })
        }
        other => Err(Error::config(format!("cloud {cloud:?}: auth_type {other:?} is not supported (password, v3applicationcredential)"))),
    }
}

fn yaml_str(v: Option<&Yaml>) -> Option<String> {
    match v? {
        Yaml::String(s) if !s.is_empty() => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn merge(into: &mut Yaml, from: &Yaml) {
    match (into, from) {
        (Yaml::Mapping(a), Yaml::Mapping(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const CLOUDS: &str = r#"
clouds:
  site-a:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: admin
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: site-a
    interface: internal
  site-b:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://127.0.0.1:5001/v3
      application_credential_id: ac-1
    regions: [site-b]
"#;
    const SECURE: &str = r#"
clouds:
  site-a:
    auth:
      password: s3cret-canary
  site-b:
    auth:
      application_credential_secret: ac-canary
"#;

    #[test]
    fn clouds_and_secure_merge() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("clouds.yaml"), CLOUDS).unwrap();
        std::fs::write(dir.path().join("secure.yaml"), SECURE).unwrap();
        let l = ConfigLoader::new(env(&[]), vec![dir.path().to_path_buf()]);
        let a = l.load(Some("site-a")).unwrap();
        assert_eq!(a.region.as_deref(), Some("site-a"));
        assert_eq!(a.interface, Interface::Internal);
        match &a.auth {
            AuthMethod::Password {
                password,
                username,
                project_name,
                ..
            } => {
                assert_eq!(password.expose(), "s3cret-canary");
                assert_eq!(username.as_deref(), Some("admin"));
                assert_eq!(project_name.as_deref(), Some("admin"));
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{a:?}").contains("canary"));
        let b = l.load(Some("site-b")).unwrap();
        assert_eq!(b.region.as_deref(), Some("site-b"));
        match &b.auth {
            AuthMethod::ApplicationCredential { id, secret, .. } => {
                assert_eq!(id.as_deref(), Some("ac-1"));
                assert_eq!(secret.expose(), "ac-canary");
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{b:?}").contains("canary"));
    }

    #[test]
    fn os_cloud_and_explicit_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("my-clouds.yaml");
        std::fs::write(&f, CLOUDS.replace("    region_name: site-a\n", "")).unwrap();
        std::fs::write(dir.path().join("secure.yaml"), SECURE).unwrap();
        let l = ConfigLoader::new(
            env(&[
                ("OS_CLIENT_CONFIG_FILE", f.to_str().unwrap()),
                ("OS_CLOUD", "site-a"),
            ]),
            vec![dir.path().to_path_buf()],
        );
        let a = l.load(None).unwrap();
        assert_eq!(a.name, "site-a");
        assert_eq!(a.region, None);
        assert_eq!(
            a.clone().with_region("RegionTwo").region.as_deref(),
            Some("RegionTwo")
        );
    }

    #[test]
    fn os_variables_complete_a_named_cloud() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("clouds.yaml"), CLOUDS).unwrap();
        let l = ConfigLoader::new(
            env(&[
                ("OS_PASSWORD", "from-env"),
                ("OS_REGION_NAME", "RegionTwo"),
                ("OS_INTERFACE", "admin"),
            ]),
            vec![dir.path().to_path_buf()],
        );
        let a = l.load(Some("site-a")).unwrap();
        assert!(
            matches!(&a.auth, AuthMethod::Password { password, .. } if password.expose() == "from-env")
        );
        assert_eq!(a.region.as_deref(), Some("RegionTwo"));
        assert_eq!(a.interface, Interface::Admin);
        let without = ConfigLoader::new(env(&[]), vec![dir.path().to_path_buf()]);
        assert!(without
            .load(Some("site-a"))
            .unwrap_err()
            .to_string()
            .contains("no password"));
    }

    #[test]
    fn unknown_cloud_lists_clouds_and_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("clouds.yaml"), CLOUDS).unwrap();
        let l = ConfigLoader::new(env(&[]), vec![dir.path().to_path_buf()]);
        let e = l.load(Some("site-c")).unwrap_err().to_string();
        assert!(
            e.contains("site-c") && e.contains("site-a, site-b") && e.contains("clouds.yaml"),
            "{e}"
        );
        let none = ConfigLoader::new(env(&[]), vec![dir.path().join("nowhere")]);
        let e = none.load(Some("x")).unwrap_err().to_string();
        assert!(e.contains("none found"), "{e}");
    }

    #[test]
    fn os_variables_make_a_cloud() {
        let l = ConfigLoader::new(
            env(&[
                ("OS_AUTH_URL", "http://k:5000/v3"),
                ("OS_USERNAME", "u"),
                ("OS_PASSWORD", "pw-canary"),
                ("OS_PROJECT_ID", "p1"),
                ("OS_USER_DOMAIN_NAME", "Default"),
                ("OS_REGION_NAME", "RegionOne"),
                ("OS_INTERFACE", "public"),
            ]),
            vec![],
        );
        let c = l.load(None).unwrap();
        assert_eq!(c.name, "envvars");
        assert_eq!(c.region.as_deref(), Some("RegionOne"));
        assert!(matches!(&c.auth, AuthMethod::Password { project_id: Some(p), .. } if p == "p1"));
        assert!(!format!("{c:?}").contains("canary"));

        let ac = ConfigLoader::new(
            env(&[
                ("OS_AUTH_URL", "http://k:5000/v3"),
                ("OS_AUTH_TYPE", "v3applicationcredential"),
                ("OS_APPLICATION_CREDENTIAL_NAME", "dr"),
                ("OS_APPLICATION_CREDENTIAL_SECRET", "x"),
                ("OS_USERNAME", "u"),
            ]),
            vec![],
        );
        assert!(matches!(
            ac.load(None).unwrap().auth,
            AuthMethod::ApplicationCredential { name: Some(_), .. }
        ));

        let missing = ConfigLoader::new(
            env(&[("OS_AUTH_URL", "http://k:5000/v3"), ("OS_USERNAME", "u")]),
            vec![],
        );
        assert!(missing
            .load(None)
            .unwrap_err()
            .to_string()
            .contains("OS_PASSWORD"));
        let nothing = ConfigLoader::new(env(&[]), vec![]);
        assert!(nothing
            .load(None)
            .unwrap_err()
            .to_string()
            .contains("OS_AUTH_URL"));
    }
}
