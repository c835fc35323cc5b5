//! etcd v3 over its JSON gateway (`POST /v3/kv/range`, `/v3/kv/txn`,
//! `/v3/lease/grant`, …): the calls the cluster needs, over the HTTP client
//! the rest of Lifeboat already uses. Keys and values travel base64-encoded
//! and 64-bit integers as strings, as the gateway writes them.
//!
//! The client knows every member's endpoint and moves to the next when one
//! does not answer (a member down, a partition): etcd answers a request on
//! any member, forwarding to the leader, and refuses it while it has no
//! quorum — which the caller sees as [`EtcdError::Unavailable`]. It stays
//! with the member that last answered, as etcd's own client does, so a
//! member down costs one failed try, not one per request.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint answered, or none had a quorum: nothing was changed that
    /// the caller can count on.
    #[error("etcd unavailable ({endpoints}): {why}")]
    Unavailable { endpoints: String, why: String },
    /// An answer etcd gives to a wrong request (an expired lease, say).
    #[error("etcd refused {call}: {message}")]
    Refused { call: String, message: String },
}

pub type Result<T> = std::result::Result<T, EtcdError>;

/// A key and what etcd keeps of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    pub key: String,
    pub value: Vec<u8>,
    /// The revision that created it: with the key, names one incarnation
    /// (an owner's claim, say) for as long as it lives.
    pub create_revision: i64,
    pub mod_revision: i64,
    /// The lease it is bound to (0: none).
    pub lease: i64,
}

/// Whether a conditional write happened, or what stood in its way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Done {
        revision: i64,
    },
    /// The key exists (create), or the fence is another incarnation or
    /// gone: the fence as it is now, if at all.
    Refused(Option<Kv>),
}

#[derive(Clone)]
pub struct Etcd {
    http: reqwest::Client,
    endpoints: Vec<String>,
    /// The endpoint that answered last (shared by the clones): where the
    /// next request goes first.
    current: Arc<AtomicUsize>,
    /// How long a request goes on trying while the members elect a leader.
    election: Duration,
}

/// How long a request goes on trying while the members say they are
/// electing a leader: a few of etcd's default election timeouts (1 s).
const ELECTION_BUDGET: Duration = Duration::from_secs(6);

/// What one round over the members came to.
enum Round {
    Answered(Result<Value>),
    /// Nobody answered with a quorum; `electing`: one said it has no leader
    /// or it just changed — one may be being elected, worth waiting for.
    Failed {
        why: Vec<String>,
        electing: bool,
    },
}

fn b64(s: &[u8]) -> String {
    B64.encode(s)
}

fn int(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn kv_of(v: &Value) -> Kv {
    let bytes = |f: &str| {
        v[f].as_str()
            .and_then(|s| B64.decode(s).ok())
            .unwrap_or_default()
    };
    Kv {
        key: String::from_utf8_lossy(&bytes("key")).into_owned(),
        value: bytes("value"),
        create_revision: int(&v["create_revision"]),
        mod_revision: int(&v["mod_revision"]),
        lease: int(&v["lease"]),
    }
}

/// The end of the range of keys starting with `prefix` (etcd's convention:
/// the prefix with its last byte plus one).
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

impl Etcd {
    /// A client of the members at `endpoints` (`http://HOST:PORT`), each
    /// request given 5 s at a member.
    pub fn new(endpoints: &[String]) -> Etcd {
        Etcd::with_timeout(endpoints, Duration::from_secs(5))
    }

    /// The same with `timeout` per request at a member: a member without
    /// quorum holds a request until then, so a lease's renewals must not
    /// wait longer than a fraction of its TTL there.
    pub fn with_timeout(endpoints: &[String], timeout: Duration) -> Etcd {
        Etcd {
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(1).min(timeout))
                .timeout(timeout)
                .build()
                .expect("an HTTP client"),
            endpoints: endpoints
                .iter()
                .map(|e| e.trim_end_matches('/').to_string())
                .collect(),
            current: Arc::new(AtomicUsize::new(0)),
            // Not the per-request timeout: a member's client gives each
            // member a second or so, and an election on a busy machine
            // takes longer than that (seen in CI: a claim given up after
            // one round, one member still electing, another "leader
            // changed").
            election: ELECTION_BUDGET,
        }
    }

    /// `path` with `body` on the first member that answers with a quorum.
    ///
    /// A member lost takes the leader with it at times: the others answer
    /// "leader changed", "no leader" or "timed out" until they elect
    /// another (about one election timeout, 1 s by default). The request is
    /// tried again, for at most the client's election budget, as etcd's own
    /// client does. Every call here may be repeated safely: reads, fenced
    /// or create-if-absent writes (a repeated claim finds itself —
    /// [`Kv::lease`] is this member's), deletes, renewals; a repeated grant
    /// leaves a lease that expires unused.
    async fn call(&self, path: &str, body: Value) -> Result<Value> {
        let start = std::time::Instant::now();
        loop {
            match self.round(path, &body).await {
                Round::Answered(r) => return r,
                Round::Failed { why, electing } => {
                    if electing && start.elapsed() < self.election {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    return Err(EtcdError::Unavailable {
                        endpoints: self.endpoints.join(", "),
                        why: why.join("; "),
                    });
                }
            }
        }
    }

    /// One try at each member in turn, from the one that answered last.
    async fn round(&self, path: &str, body: &Value) -> Round {
        let mut why = Vec::new();
        let mut electing = false;
        let n = self.endpoints.len();
        let first = self.current.load(Ordering::Relaxed);
        for i in (0..n).map(|k| (first + k) % n) {
            let ep = &self.endpoints[i];
            let r = match self
                .http
                .post(format!("{ep}{path}"))
                .json(body)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    let what = if e.is_timeout() {
                        "no answer in time (a member without quorum waits for one)".to_string()
                    } else if e.is_connect() {
                        "not reachable".to_string()
                    } else {
                        e.to_string()
                    };
                    why.push(format!("{ep}: {what}"));
                    continue;
                }
            };
            let status = r.status();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            // A stream (lease keepalive) wraps its message in `result`.
            let v = match v.get("result") {
                Some(inner) => inner.clone(),
                None => v,
            };
            if status.is_success() {
                self.current.store(i, Ordering::Relaxed);
                return Round::Answered(Ok(v));
            }
            let message = v["message"]
                .as_str()
                .or(v["error"].as_str())
                .unwrap_or("")
                .to_string();
            // No leader or no quorum at this member: another may have one.
            if status.is_server_error()
                || message.contains("no leader")
                || message.contains("timed out")
            {
                // "leader changed", "no leader", "request timed out,
                // possibly due to previous leader failure".
                electing |= message.contains("leader") || message.contains("timed out");
                why.push(format!("{ep}: {status} {message}"));
                continue;
            }
            self.current.store(i, Ordering::Relaxed);
            return Round::Answered(Err(EtcdError::Refused {
                call: path.to_string(),
                message: if message.is_empty() {
                    status.to_string()
                } else {
                    message
                },
            }));
        }
        Round::Failed { why, electing }
    }

    /// A lease of `ttl` seconds: keys bound to it go when it expires.
    pub async fn grant(&self, ttl: i64) -> Result<i64> {
        let v = self.call("/v3/lease/grant", json!({"TTL": ttl})).await?;
        Ok(int(&v["ID"]))
    }

    /// Renew a lease; its seconds left (0: it had expired, and is gone).
    pub async fn keep_alive(&self, lease: i64) -> Result<i64> {
        let v = self
            .call("/v3/lease/keepalive", json!({"ID": lease.to_string()}))
            .await?;
        Ok(int(&v["TTL"]))
    }

    /// Give a lease up now: its keys go at once.
    pub async fn revoke(&self, lease: i64) -> Result<()> {
        match self
            .call("/v3/lease/revoke", json!({"ID": lease.to_string()}))
            .await
        {
            Ok(_) => Ok(()),
            // Already expired: what revoking would have done.
            Err(EtcdError::Refused { message, .. }) if message.contains("not found") => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Kv>> {
        let v = self
            .call("/v3/kv/range", json!({"key": b64(key.as_bytes())}))
            .await?;
        Ok(v["kvs"].as_array().and_then(|a| a.first()).map(kv_of))
    }

    /// Every key starting with `prefix`, in key order.
    pub async fn prefix(&self, prefix: &str) -> Result<Vec<Kv>> {
        let v = self
            .call(
                "/v3/kv/range",
                json!({"key": b64(prefix.as_bytes()), "range_end": b64(&prefix_end(prefix))}),
            )
            .await?;
        Ok(v["kvs"]
            .as_array()
            .map(|a| a.iter().map(kv_of).collect())
            .unwrap_or_default())
    }

    /// Every key starting with `prefix` as (the rest of the key, the value
    /// as text), in key order: a directory of names.
    pub async fn names(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .prefix(prefix)
            .await?
            .into_iter()
            .map(|kv| {
                (
                    kv.key.trim_start_matches(prefix).to_string(),
                    String::from_utf8_lossy(&kv.value).into_owned(),
                )
            })
            .collect())
    }

    /// Create `key` only if it does not exist (one transaction).
    pub async fn create(&self, key: &str, value: &[u8], lease: i64) -> Result<Written> {
        let put = Op::Put {
            key: key.to_string(),
            value: value.to_vec(),
        };
        self.txn_when(key, "0", &[put], lease).await
    }

    /// Put `key` only while `fence` is the incarnation created at
    /// `create_revision` (one transaction) — an owner's write: once its
    /// claim expired, or was taken by another, the write is refused.
    pub async fn put_fenced(
        &self,
        fence: &str,
        create_revision: i64,
        key: &str,
        value: &[u8],
    ) -> Result<Written> {
        let put = Op::Put {
            key: key.to_string(),
            value: value.to_vec(),
        };
        self.txn_fenced(fence, create_revision, &[put]).await
    }

    /// Every one of `ops`, atomically, only while `fence` is the
    /// incarnation created at `create_revision`.
    pub async fn txn_fenced(
        &self,
        fence: &str,
        create_revision: i64,
        ops: &[Op],
    ) -> Result<Written> {
        self.txn_when(fence, &create_revision.to_string(), ops, 0)
            .await
    }

    /// `ops` if `fence`'s create revision is `created` ("0": absent), its
    /// puts bound to `lease` (0: none); else what `fence` holds now.
    async fn txn_when(
        &self,
        fence: &str,
        created: &str,
        ops: &[Op],
        lease: i64,
    ) -> Result<Written> {
        let f = b64(fence.as_bytes());
        let success: Vec<Value> = ops
            .iter()
            .map(|op| match op {
                Op::Put { key, value } => {
                    let mut put = json!({"key": b64(key.as_bytes()), "value": b64(value)});
                    if lease != 0 {
                        put["lease"] = json!(lease.to_string());
                    }
                    json!({ "request_put": put })
                }
                Op::Delete(key) => {
                    json!({"request_delete_range": {"key": b64(key.as_bytes())}})
                }
                Op::DeletePrefix(prefix) => json!({"request_delete_range": {
                    "key": b64(prefix.as_bytes()),
                    "range_end": b64(&prefix_end(prefix)),
                }}),
            })
            .collect();
        let v = self
            .call(
                "/v3/kv/txn",
                json!({
                    "compare": [{"key": f, "target": "CREATE", "result": "EQUAL", "create_revision": created}],
                    "success": success,
                    "failure": [{"request_range": {"key": f}}],
                }),
            )
            .await?;
        if v["succeeded"].as_bool() == Some(true) {
            return Ok(Written::Done {
                revision: int(&v["header"]["revision"]),
            });
        }
        let now = v["responses"]
            .as_array()
            .and_then(|r| r.first())
            .and_then(|r| r["response_range"]["kvs"].as_array())
            .and_then(|kvs| kvs.first())
            .map(kv_of);
        Ok(Written::Refused(now))
    }
}

/// One write of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put {
        key: String,
        value: Vec<u8>,
    },
    Delete(String),
    /// Every key starting with this.
    DeletePrefix(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_ends_after_its_last_key() {
        assert_eq!(
            prefix_end("/lifeboat/owners/"),
            b"/lifeboat/owners0".to_vec()
        );
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80".to_vec());
    }

    #[test]
    fn the_gateway_writes_integers_as_strings() {
        let kv = kv_of(
            &json!({"key": "L2E=", "value": "eA==", "create_revision": "7", "mod_revision": "9", "lease": "42"}),
        );
        assert_eq!(
            kv,
            Kv {
                key: "/a".into(),
                value: b"x".to_vec(),
                create_revision: 7,
                mod_revision: 9,
                lease: 42
            }
        );
    }
}
