//! The client's one error type. Every error names the API call, the resource
//! and the site, says what went wrong (the service's own message, parsed from
//! Nova, Cinder, Glance, Keystone or Swift bodies) and whether retrying can
//! help: transient (5xx, connection errors, 429/413 with Retry-After) or
//! permanent (other 4xx, bad configuration).

use std::time::Duration;

/// What kind of failure, as far as an operator and a retry loop care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// clouds.yaml / secure.yaml / OS_* variables are missing or wrong.
    Config,
    /// Keystone refused the credentials (or a 401/403 persisted).
    Auth,
    /// The catalogue has no endpoint for the service in the region.
    Catalog,
    /// 404: the resource does not exist.
    NotFound,
    /// 409: the resource is in a state that forbids the call.
    Conflict,
    /// Another 4xx: the request is wrong.
    BadRequest,
    /// 429 or 413: slow down (transient).
    RateLimited,
    /// 413 about a quota (Cinder's `overLimit` "…Exceeded… quota"): waiting
    /// does not help, raising the project's quota does (permanent).
    QuotaExceeded,
    /// 5xx (transient).
    Server,
    /// The connection failed or timed out (transient).
    Connection,
    /// The answer could not be understood.
    Decode,
    /// Not sent: the caller's fence refused it (see [`crate::fence`]).
    Fenced,
}

/// A failed OpenStack call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{call} of {resource} at site {site} failed{}: {detail}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
pub struct Error {
    pub kind: ErrorKind,
    /// The API call, e.g. `POST /servers/{id}/action pause`.
    pub call: String,
    /// The resource the call was about (`server 4f1c…`, `volume lb-…`).
    pub resource: String,
    /// The site (cloud region) the call went to.
    pub site: String,
    /// HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The service's message (or the transport error).
    pub detail: String,
    /// From a Retry-After header on 429/413/503.
    pub retry_after: Option<Duration>,
}

impl Error {
    pub fn new(
        kind: ErrorKind,
        call: impl Into<String>,
        resource: impl Into<String>,
        site: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Error {
            kind,
            call: call.into(),
            resource: resource.into(),
            site: site.into(),
            status: None,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn config(detail: impl Into<String>) -> Self {
        Error::new(
            ErrorKind::Config,
            "configuration",
            "clouds.yaml",
            "-",
            detail,
        )
    }

    /// Worth retrying?
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Connection
        )
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// What an operator can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self.kind {
            ErrorKind::Config => "check clouds.yaml / secure.yaml (./, ~/.config/openstack, /etc/openstack, OS_CLIENT_CONFIG_FILE) and the OS_* variables".into(),
            ErrorKind::Auth => format!("check the credentials of the cloud used for site {} (password or application credential, project, domains)", self.site),
            ErrorKind::Catalog => format!("the Keystone catalogue of site {} lacks this service in the region; check region_name and interface", self.site),
            ErrorKind::NotFound => format!("the resource no longer exists at site {}; check that the runbook refers to the right site", self.site),
            ErrorKind::Conflict => "the resource is busy or in the wrong state; check its status and retry once it settles".into(),
            ErrorKind::BadRequest => "the cloud rejected the request; check the arguments and the cloud's API microversions".into(),
            ErrorKind::RateLimited => "the cloud is rate-limiting; lower the per-site concurrency".into(),
            ErrorKind::QuotaExceeded => format!("the project's quota at site {} is used up; raise it (openstack quota set) or free resources, then run again", self.site),
            ErrorKind::Server | ErrorKind::Connection => format!("site {} is unreachable or failing; retry, or check that the site is up", self.site),
            ErrorKind::Decode => return None,
            ErrorKind::Fenced => "this process may no longer change the cloud for the run (another daemon owns it now, or its lease may have lapsed); the run's owner finishes it".into(),
        })
    }

    pub(crate) fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Classify an HTTP error answer. Over-quota answers are permanent
    /// (waiting does not help) whatever their status or Retry-After:
    /// - Cinder: 413 `overLimit` whose message names a quota exception
    ///   (`VolumeLimitExceeded`, `VolumeSizeExceedsAvailableQuota`,
    ///   `SnapshotLimitExceeded`, `BackupLimitExceeded`,
    ///   `VolumeBackupSizeExceedsAvailableQuota`, `GroupLimitExceeded`,
    ///   `VolumeSizeExceedsLimit`) or speaks of a quota; real Cinder sends
    ///   `Retry-After: 0` with it, so the header does not make it a rate limit;
    /// - Nova: 403 `forbidden` "Quota exceeded for instances: …" (and for
    ///   cores, ram, server groups, …), which is not an authorization failure.
    ///
    /// A 413/429 about a rate ("Rate limit exceeded") stays `RateLimited`.
    pub fn kind_for_response(status: u16, _retry_after: bool, message: &str) -> ErrorKind {
        let lower = message.to_ascii_lowercase();
        let quota_words = lower.contains("quota")
            || message.contains("LimitExceeded")
            || message.contains("ExceedsLimit")
            || message.contains("ExceedsAvailableQuota");
        match status {
            413 if quota_words => ErrorKind::QuotaExceeded,
            403 if lower.contains("quota exceeded") => ErrorKind::QuotaExceeded,
            _ => Self::kind_for_status(status),
        }
    }

    /// Classify an HTTP error status.
    pub fn kind_for_status(status: u16) -> ErrorKind {
        match status {
            401 | 403 => ErrorKind::Auth,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            413 | 429 => ErrorKind::RateLimited,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::BadRequest,
        }
    }
}

/// The service's message from an error body: Nova `{"itemNotFound":
/// {"message": …}}`, Cinder `{"badRequest": {"message": …}}`, Keystone
/// `{"error": {"message": …}}`, Glance / Swift plain text or HTML.
pub fn message_from_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
        if let Some(obj) = v.as_object() {
            for (key, inner) in obj {
                if let Some(m) = inner.get("message").and_then(|m| m.as_str()) {
                    return format!("{key}: {m}");
                }
                if let Some(m) = inner.as_str() {
                    if key == "message" || key == "detail" || key == "title" {
                        return m.to_string();
                    }
                }
            }
            if let Some(m) = obj.get("message").and_then(|m| m.as_str()) {
                return m.to_string();
            }
        }
        return truncate(&text);
    }
    // HTML: strip tags, collapse whitespace.
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    truncate(&out.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn truncate(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 400 {
        let t: String = s.chars().take(400).collect();
        format!("{t}…")
    } else {
        s.to_string()
    }
}

/// Seconds or an HTTP date in a Retry-After header.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_from_each_service() {
        assert_eq!(
            message_from_body(
                br#"{"itemNotFound": {"message": "Instance x could not be found.", "code": 404}}"#
            ),
            "itemNotFound: Instance x could not be found."
        );
        assert_eq!(
            message_from_body(br#"{"badRequest": {"message": "Invalid volume", "code": 400}}"#),
            "badRequest: Invalid volume"
        );
        assert_eq!(message_from_body(br#"{"error": {"message": "The request you have made requires authentication.", "code": 401, "title": "Unauthorized"}}"#), "error: The request you have made requires authentication.");
        assert_eq!(message_from_body(b"<html><body><h1>404 Not Found</h1>\n<p>No image found with ID x</p></body></html>"), "404 Not Found No image found with ID x");
        assert_eq!(message_from_body(b"Not Found"), "Not Found");
    }

    #[test]
    fn classification() {
        assert!(Error::new(Error::kind_for_status(503), "GET", "r", "s", "d").is_transient());
        assert!(Error::new(Error::kind_for_status(429), "GET", "r", "s", "d").is_transient());
        assert!(Error::new(Error::kind_for_status(413), "GET", "r", "s", "d").is_transient());
        assert!(!Error::new(Error::kind_for_status(404), "GET", "r", "s", "d").is_transient());
        // Cinder's quota answer is a 413 without Retry-After: permanent.
        let quota = "overLimit: VolumeLimitExceeded: Maximum number of volumes allowed (10) exceeded for quota 'volumes'.";
        assert_eq!(
            Error::kind_for_response(413, false, quota),
            ErrorKind::QuotaExceeded
        );
        assert!(!Error::new(
            Error::kind_for_response(413, false, quota),
            "POST",
            "r",
            "s",
            quota
        )
        .is_transient());
        assert_eq!(
            Error::kind_for_response(413, true, "Rate limit exceeded"),
            ErrorKind::RateLimited
        );
        assert_eq!(
            Error::kind_for_response(429, true, "Rate limit exceeded"),
            ErrorKind::RateLimited
        );
        // Real Cinder sends `Retry-After: 0` with its quota answers: still a quota error.
        for m in [
            quota,
            "overLimit: VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 10G and 8G has been consumed.",
            "overLimit: SnapshotLimitExceeded: Maximum number of snapshots allowed (1) exceeded",
            "overLimit: BackupLimitExceeded: Maximum number of backups allowed (1) exceeded",
            "overLimit: GroupLimitExceeded: Maximum number of groups allowed (0) exceeded",
            "overLimit: VolumeSizeExceedsLimit: Requested volume size 6G is larger than maximum allowed limit 5G.",
        ] {
            assert_eq!(Error::kind_for_response(413, true, m), ErrorKind::QuotaExceeded, "{m}");
        }
        // Nova's over-quota answer is a 403, not an authorization failure.
        let nova = "forbidden: Quota exceeded for instances: Requested 1, but already used 10 of 10 instances";
        assert_eq!(
            Error::kind_for_response(403, false, nova),
            ErrorKind::QuotaExceeded
        );
        assert!(!Error::new(
            ErrorKind::QuotaExceeded,
            "POST /servers",
            "server x",
            "site-b",
            nova
        )
        .is_transient());
        assert_eq!(
            Error::kind_for_response(
                403,
                false,
                "forbidden: Policy doesn't allow os_compute_api:servers:create to be performed."
            ),
            ErrorKind::Auth
        );
        assert_eq!(
            Error::kind_for_response(413, false, "Rate limit exceeded"),
            ErrorKind::RateLimited
        );
        assert!(!Error::new(Error::kind_for_status(400), "GET", "r", "s", "d").is_transient());
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").is_some());
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn display_names_call_resource_site() {
        let e = Error::new(
            ErrorKind::NotFound,
            "GET /volumes/{id}",
            "volume v1",
            "site-a",
            "itemNotFound: gone",
        )
        .with_status(404);
        let s = e.to_string();
        assert!(
            s.contains("GET /volumes/{id}")
                && s.contains("volume v1")
                && s.contains("site-a")
                && s.contains("404"),
            "{s}"
        );
    }
}
