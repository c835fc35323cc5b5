//! `lifeboat-openstack`: a thin OpenStack client on reqwest, configured like
//! the `openstack` CLI (clouds.yaml, secure.yaml, `OS_*`), with Keystone v3
//! auth (password, application credential; token cache and refresh), the
//! catalogue, typed Nova / Neutron / Cinder / Glance / Swift calls and one
//! error type.
//!
//! ```no_run
//! # async fn f() -> lifeboat_openstack::Result<()> {
//! use lifeboat_openstack::{Client, ConfigLoader};
//! let cloud = ConfigLoader::from_environment().load(Some("site-a"))?;
//! let client = Client::new("site-a", cloud)?;
//! let servers = client.nova().servers_with_tag("vnf-ims").await?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod catalog;
pub mod cinder;
pub mod config;
pub mod connections;
pub mod designate;
pub mod error;
pub mod fence;
pub mod glance;
pub mod http;
pub mod neutron;
pub mod nova;
pub mod retry;
pub mod secret;
pub mod swift;
pub mod throttle;
pub mod types;
pub mod versions;

pub use catalog::Service;
pub use config::{AuthMethod, CloudConfig, ConfigLoader, Interface};
pub use connections::Connections;
pub use error::{Error, ErrorKind, Result};
pub use http::Client;
pub use retry::{CallScope, Persistence, RetryPolicy};
pub use secret::Secret;
pub use throttle::Pressure;
