//! Keystone v3 authentication: a project-scoped token from a password or an
//! application credential, cached in memory, refreshed shortly before it
//! expires and again (once) when a service answers 401.

use crate::catalog::CatalogEntry;
use crate::config::{AuthMethod, CloudConfig};
use crate::error::{message_from_body, Error, ErrorKind, Result};
use crate::retry::{Budget, CallScope, Failure, Repeat, RetryPolicy};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// A token and what came with it.
#[derive(Debug, Clone)]
pub struct Token {
    pub value: Secret,
    pub expires_at: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub project_id: String,
    pub catalog: Vec<CatalogEntry>,
}

impl Token {
    /// Still good for a while? Refresh with a margin of a tenth of its
    /// lifetime (between 1 s and 5 min).
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        let lifetime = (self.expires_at - self.issued_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        let margin = (lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(300));
        let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::seconds(1));
        now + margin < self.expires_at
    }
}

/// The body of Keystone's token response (`{"token": {...}}`).
#[derive(Debug, Clone, Deserialize)]
pub struct TokenBody {
    pub token: TokenInfo,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenInfo {
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub issued_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub project: Option<NamedRef>,
    #[serde(default)]
    pub catalog: Vec<CatalogEntry>,
    #[serde(default)]
    pub methods: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NamedRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// The request body for `POST /v3/auth/tokens`.
pub fn auth_request(method: &AuthMethod) -> Value {
    fn domain(name: &Option<String>, id: &Option<String>) -> Option<Value> {
        match (id, name) {
            (Some(id), _) => Some(json!({"id": id})),
            (None, Some(n)) => Some(json!({"name": n})),
            _ => None,
        }
    }
    fn user(
        name: &Option<String>,
        id: &Option<String>,
        dn: &Option<String>,
        did: &Option<String>,
    ) -> serde_json::Map<String, Value> {
        let mut u = serde_json::Map::new();
        if let Some(id) = id {
            u.insert("id".into(), json!(id));
        } else if let Some(n) = name {
            u.insert("name".into(), json!(n));
            u.insert(
                "domain".into(),
                domain(dn, did).unwrap_or(json!({"id": "default"})),
            );
        }
        u
    }
    match method {
        AuthMethod::Password {
            username,
            user_id,
            password,
            user_domain_name,
            user_domain_id,
            project_name,
            project_id,
            project_domain_name,
            project_domain_id,
        } => {
            let mut u = user(username, user_id, user_domain_name, user_domain_id);
            u.insert("password".into(), json!(password.expose()));
            let mut body =
                json!({"auth": {"identity": {"methods": ["password"], "password": {"user": u}}}});
            let scope = match (project_id, project_name) {
                (Some(id), _) => Some(json!({"project": {"id": id}})),
                (None, Some(n)) => Some(
                    json!({"project": {"name": n, "domain": domain(project_domain_name, project_domain_id).unwrap_or(json!({"id": "default"}))}}),
                ),
                _ => None,
            };
            if let Some(s) = scope {
                body["auth"]["scope"] = s;
            }
            body
        }
        AuthMethod::ApplicationCredential {
            id,
            name,
            secret,
            username,
            user_id,
            user_domain_name,
            user_domain_id,
        } => {
            let mut ac = serde_json::Map::new();
            if let Some(id) = id {
                ac.insert("id".into(), json!(id));
            } else {
                ac.insert("name".into(), json!(name));
                ac.insert(
                    "user".into(),
                    Value::Object(user(username, user_id, user_domain_name, user_domain_id)),
                );
            }
            ac.insert("secret".into(), json!(secret.expose()));
            json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": ac}}})
        }
    }
}

/// Obtains and caches the token of one site.
pub struct Authenticator {
    http: reqwest::Client,
    cloud: CloudConfig,
    site: String,
    cached: Mutex<Option<Arc<Token>>>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("cloud", &self.cloud.name)
            .field("site", &self.site)
            .finish()
    }
}

impl Authenticator {
    pub fn new(http: reqwest::Client, cloud: CloudConfig, site: impl Into<String>) -> Self {
        Authenticator {
            http,
            cloud,
            site: site.into(),
            cached: Mutex::new(None),
            retry: RetryPolicy::default(),
        }
    }

    /// How a token request that failed on the way (Keystone 5xx, a reset, a
    /// rate limit) is retried. Issuing a token twice is harmless, so every
    /// transient failure is retried.
    pub fn set_retry_policy(&mut self, retry: RetryPolicy) {
        self.retry = retry;
    }

    pub fn cloud(&self) -> &CloudConfig {
        &self.cloud
    }

    /// A fresh token: the cached one, or a new one.
    pub async fn token(&self) -> Result<Arc<Token>> {
        let mut guard = self.cached.lock().await;
        if let Some(t) = guard.as_ref() {
            if t.is_fresh(Utc::now()) {
                return Ok(t.clone());
            }
        }
        let t = Arc::new(self.issue().await?);
        *guard = Some(t.clone());
        Ok(t)
    }

    /// Forget the token `stale` (after a 401), unless another task already
    /// replaced it.
    pub async fn invalidate(&self, stale: &Token) {
        let mut guard = self.cached.lock().await;
        if guard.as_ref().is_some_and(|t| t.value == stale.value) {
            *guard = None;
        }
    }

    fn tokens_url(&self) -> String {
        let base = self.cloud.auth_url.trim_end_matches('/');
        if base.ends_with("/v3") {
            format!("{base}/auth/tokens")
        } else {
            format!("{base}/v3/auth/tokens")
        }
    }

    /// A new token, retrying transient failures within the budget (the
    /// caller's call scope bounds it). Errors never carry the secret.
    async fn issue(&self) -> Result<Token> {
        let mut budget = Budget::new(self.retry, CallScope::current());
        loop {
            budget.attempts += 1;
            let (err, failure) = match self.issue_once().await {
                Ok(t) => return Ok(t),
                Err(e) => {
                    let failure = match (e.kind, e.status) {
                        (ErrorKind::RateLimited, _) => Failure::RateLimited,
                        (_, Some(503)) => Failure::Unavailable,
                        (_, Some(502 | 504)) => Failure::Gateway,
                        (ErrorKind::Connection, _) => Failure::AnswerLost,
                        _ => Failure::Permanent,
                    };
                    (e, failure)
                }
            };
            match budget.next(failure, Repeat::Idempotent, err.retry_after) {
                Some(delay) => {
                    tracing::debug!(site = %self.site, cloud = %self.cloud.name, ?delay, error = %err.detail, "retrying the token request");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(err),
            }
        }
    }

    async fn issue_once(&self) -> Result<Token> {
        let call = "POST /v3/auth/tokens";
        let resource = format!("token for cloud {}", self.cloud.name);
        let url = self.tokens_url();
        tracing::debug!(site = %self.site, cloud = %self.cloud.name, "authenticating with keystone");
        let resp = self
            .http
            .post(&url)
            .json(&auth_request(&self.cloud.auth))
            .send()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Connection,
                    call,
                    &resource,
                    &self.site,
                    format!("cannot reach keystone at {url}: {}", transport_message(&e)),
                )
            })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::error::parse_retry_after);
        let subject = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.bytes().await.map_err(|e| {
            Error::new(
                ErrorKind::Connection,
                call,
                &resource,
                &self.site,
                transport_message(&e),
            )
        })?;
        if !(200..300).contains(&status) {
            let message = message_from_body(&body);
            let mut e = Error::new(
                Error::kind_for_response(status, retry_after.is_some(), &message),
                call,
                &resource,
                &self.site,
                message,
            )
            .with_status(status);
            e.retry_after = retry_after;
            return Err(e);
        }
        let subject = subject.ok_or_else(|| {
            Error::new(
                ErrorKind::Decode,
                call,
                &resource,
                &self.site,
                "keystone answered without an X-Subject-Token header",
            )
        })?;
        let parsed: TokenBody = serde_json::from_slice(&body).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                call,
                &resource,
                &self.site,
                format!("unexpected token body: {e}"),
            )
        })?;
        let project_id = parsed.token.project.map(|p| p.id).ok_or_else(|| {
            Error::new(ErrorKind::Auth, call, &resource, &self.site, "the token is not scoped to a project; set project_name/project_id (or use a project-bound application credential)")
        })?;
        Ok(Token {
            value: Secret::new(subject),
            expires_at: parsed.token.expires_at,
            issued_at: parsed.token.issued_at.unwrap_or_else(Utc::now),
            project_id,
            catalog: parsed.token.catalog,
        })
    }
}

/// A transport error's message, without the URL's query (which never holds
/// secrets here, but keep it short).
pub(crate) fn transport_message(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    let mut msg = format!("{kind}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rel: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../../../shared/fixtures/openstack-api-samples/{rel}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn token_samples_parse() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        for f in [
            "keystone/admin/auth-password-project-scoped-response.json",
            "keystone/auth/responses/project-scoped-password.json",
            "keystone/admin/auth-application-credential-response.json",
        ] {
            let t: TokenBody =
                serde_json::from_str(&sample(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(t.token.project.is_some(), "{f}");
        }
    }

    #[test]
    fn request_bodies_match_samples() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        let m = AuthMethod::Password {
            username: Some("admin".into()),
            user_id: None,
            password: Secret::new("devstacker"),
            user_domain_name: None,
            user_domain_id: Some("default".into()),
            project_name: None,
            project_id: Some("a6944d763bf64ee6a275f1263fae0352".into()),
            project_domain_name: None,
            project_domain_id: None,
        };
        let body = auth_request(&m);
        assert_eq!(
            body["auth"]["identity"]["password"]["user"]["domain"]["id"],
            "default"
        );
        assert_eq!(
            body["auth"]["scope"]["project"]["id"],
            "a6944d763bf64ee6a275f1263fae0352"
        );
        let want: Value = serde_json::from_str(&sample(
            "keystone/admin/auth-application-credential-id-request.json",
        ))
        .unwrap();
        let ac = AuthMethod::ApplicationCredential {
            id: want["auth"]["identity"]["application_credential"]["id"]
                .as_str()
                .map(str::to_string),
            name: None,
            secret: Secret::new(
                want["auth"]["identity"]["application_credential"]["secret"]
                    .as_str()
                    .unwrap(),
            ),
            username: None,
            user_id: None,
            user_domain_name: None,
            user_domain_id: None,
        };
        assert_eq!(auth_request(&ac), want);
    }

    #[test]
    fn freshness_margin() {
        let now = Utc::now();
        let t = Token {
            value: Secret::new("t"),
            issued_at: now,
            expires_at: now + chrono::Duration::hours(1),
            project_id: "p".into(),
            catalog: vec![],
        };
        assert!(t.is_fresh(now));
        assert!(!t.is_fresh(now + chrono::Duration::minutes(55)));
    }
}
