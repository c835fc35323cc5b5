//! Generic volume groups: show, list, their type, create, add and remove
//! volumes, manageable volumes, delete, replication failover.

use super::*;
use crate::types::loose_string;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct Group {
    pub id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub name: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub group_type: String,
    /// With `list_volume=True` (3.25+).
    #[serde(default)]
    pub volumes: Vec<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub replication_status: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupBody {
    pub group: Group,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupType {
    pub id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub name: String,
}

/// `POST /groups`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateGroup<'a> {
    pub group: GroupSpec<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupSpec<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub group_type: &'a str,
    pub volume_types: &'a [String],
}

/// `PUT /groups/{id}` (comma-separated volume ids).
#[derive(Debug, Clone, Serialize)]
pub struct UpdateGroup {
    pub group: GroupChange,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_volumes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_volumes: Option<String>,
}

impl Cinder<'_> {
    pub async fn group(&self, id: &str) -> Result<Group> {
        let b: GroupBody = self
            .req(MV_GROUPS, Method::GET, format!("groups/{id}"))
            .query("list_volume", "True")
            .call("GET /groups/{id}")
            .resource(format!("group {id}"))
            .send_json()
            .await?;
        Ok(b.group)
    }

    /// A group with its `replication_status` (3.38+).
    pub async fn group_replication(&self, id: &str) -> Result<Group> {
        let b: GroupBody = self
            .req(MV_GROUP_REPLICATION, Method::GET, format!("groups/{id}"))
            .query("list_volume", "True")
            .call("GET /groups/{id}")
            .resource(format!("group {id}"))
            .send_json()
            .await?;
        Ok(b.group)
    }

    pub async fn groups(&self) -> Result<Vec<Group>> {
        let items = self
            .req(MV_GROUPS, Method::GET, "groups/detail")
            .query("list_volume", "True")
            .call("GET /groups/detail")
            .resource("groups")
            .send_paged("groups")
            .await?;
        parse_items(self.c, "GET /groups/detail", items)
    }

    /// The default group type, else the first one, else none.
    pub async fn default_group_type(&self) -> Result<Option<GroupType>> {
        let d: Result<Value> = self
            .req(MV_GROUPS, Method::GET, "group_types/default")
            .call("GET /group_types/default")
            .resource("default group type")
            .send_json()
            .await;
        match d {
            Ok(v) => {
                if let Some(gt) = v
                    .get("group_type")
                    .cloned()
                    .and_then(|g| serde_json::from_value::<GroupType>(g).ok())
                {
                    return Ok(Some(gt));
                }
            }
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let list: Value = self
            .req(MV_GROUPS, Method::GET, "group_types")
            .call("GET /group_types")
            .resource("group types")
            .send_json()
            .await?;
        let types: Vec<GroupType> = serde_json::from_value(
            list.get("group_types")
                .cloned()
                .unwrap_or(Value::Array(vec![])),
        )
        .map_err(|e| self.decode("GET /group_types", "group types", e.to_string()))?;
        Ok(types.into_iter().next())
    }

    pub async fn create_group(
        &self,
        name: &str,
        group_type: &str,
        volume_types: &[String],
    ) -> Result<String> {
        let v: Value = self
            .req(MV_GROUPS, Method::POST, "groups")
            .json(to_value(&CreateGroup {
                group: GroupSpec {
                    name,
                    description: "lifeboat consistency group",
                    group_type,
                    volume_types,
                },
            }))
            .call("POST /groups")
            .resource(format!("group {name}"))
            .send_json()
            .await?;
        v.pointer("/group/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| self.decode("POST /groups", name, "the answer has no group.id"))
    }

    pub async fn add_to_group(&self, id: &str, volume_ids: &[String]) -> Result<()> {
        self.req(MV_GROUPS, Method::PUT, format!("groups/{id}"))
            .json(to_value(&UpdateGroup {
                group: GroupChange {
                    add_volumes: Some(volume_ids.join(",")),
                    remove_volumes: None,
                },
            }))
            .call("PUT /groups/{id} add_volumes")
            .resource(format!("group {id}"))
            .send()
            .await?;
        Ok(())
    }

    pub async fn remove_from_group(&self, id: &str, volume_ids: &[String]) -> Result<()> {
        self.req(MV_GROUPS, Method::PUT, format!("groups/{id}"))
            .json(to_value(&UpdateGroup {
                group: GroupChange {
                    add_volumes: None,
                    remove_volumes: Some(volume_ids.join(",")),
                },
            }))
            .call("PUT /groups/{id} remove_volumes")
            .resource(format!("group {id}"))
            .send()
            .await?;
        Ok(())
    }

    /// Backend volumes on `host` that Cinder does not manage (3.8+): each
    /// with `reference` (`{"source-name": …}`), `size`, `safe_to_manage`.
    /// Every page: see [`Cinder::manageable_volumes_until`].
    pub async fn manageable_volumes(&self, host: &str) -> Result<Vec<Value>> {
        self.manageable_volumes_until(host, |_| false).await
    }

    /// The manageable volumes on `host`, page after page, until `enough`
    /// (shown each page's new entries) says so or the list ends. Cinder
    /// answers at most its `osapi_max_limit` (1,000 by default) a request,
    /// sorted by reference, with no link to the rest: a backup site's
    /// backend holding the replicas of thousands of volumes would be read
    /// short in one request. So the next page is asked after the last
    /// entry's reference (`marker`) until one brings nothing new. Marker
    /// paging sees each entry whose reference did not change exactly once,
    /// even while other entries are managed (and renamed) meanwhile; when
    /// the marker itself was renamed away (Cinder: "marker not found"), the
    /// list is read again from the start, a few times at most.
    pub async fn manageable_volumes_until(
        &self,
        host: &str,
        enough: impl FnMut(&[Value]) -> bool,
    ) -> Result<Vec<Value>> {
        let page = |marker: Option<String>| async move {
            let mut r = self
                .req(MV_MANAGEABLE, Method::GET, "manageable_volumes/detail")
                .query("host", host)
                .call("GET /manageable_volumes/detail")
                .resource(format!("backend {host}"));
            if let Some(m) = marker {
                r = r.query("marker", m);
            }
            let mut v: Value = r.send_json().await?;
            let key = if v.get("manageable-volumes").is_some() {
                "manageable-volumes"
            } else {
                "manageable_volumes"
            };
            Ok(match v.get_mut(key).map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            })
        };
        by_reference_marker(page, enough).await
    }

    pub async fn delete_group(&self, id: &str) -> Result<()> {
        self.req(MV_GROUPS, Method::POST, format!("groups/{id}/action"))
            .idempotent()
            .json(json!({"delete": {"delete-volumes": false}}))
            .call("POST /groups/{id}/action delete")
            .resource(format!("group {id}"))
            .send()
            .await?;
        Ok(())
    }

    pub async fn failover_group(&self, id: &str, backend_id: &str) -> Result<()> {
        let mut body = json!({"allow_attached_volume": true});
        if !backend_id.is_empty() {
            body["secondary_backend_id"] = json!(backend_id);
        }
        self.req(
            MV_GROUP_REPLICATION,
            Method::POST,
            format!("groups/{id}/action"),
        )
        .json(json!({"failover_replication": body}))
        .call("POST /groups/{id}/action failover_replication")
        .resource(format!("group {id}"))
        .send()
        .await?;
        Ok(())
    }
}

/// Reads after a restart of the list, at most, when the marker vanished.
const MARKER_RESTARTS: usize = 3;

/// Every entry of a list paged by `marker` = the last entry's `reference`
/// (as JSON), `page` answering the entries after a marker; until a page
/// is empty (or does not move on) or `enough` (shown each page's new
/// entries) says so.
/// A marker Cinder no longer finds (400 "marker not found": that entry was
/// renamed, e.g. managed, meanwhile) reads the list again from the start,
/// [`MARKER_RESTARTS`] times at most; entries already read are not
/// returned twice.
async fn by_reference_marker<F, Fut>(
    mut page: F,
    mut enough: impl FnMut(&[Value]) -> bool,
) -> Result<Vec<Value>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Value>>>,
{
    let mut all: Vec<Value> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut marker: Option<String> = None;
    let mut restarts = 0;
    loop {
        let items = match page(marker.clone()).await {
            Ok(items) => items,
            Err(e)
                if marker.is_some()
                    && e.kind == ErrorKind::BadRequest
                    && e.detail.to_ascii_lowercase().contains("marker")
                    && restarts < MARKER_RESTARTS =>
            {
                restarts += 1;
                marker = None;
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(last) = items.last() else {
            return Ok(all);
        };
        let next = last["reference"].to_string();
        // A page that does not move on (a service that ignores `marker`
        // answers its first page again) ends the list.
        if marker.as_deref() == Some(next.as_str()) {
            return Ok(all);
        }
        marker = Some(next);
        let from = all.len();
        all.extend(
            items
                .into_iter()
                .filter(|m| seen.insert(m["reference"].to_string())),
        );
        // After a restart, the pages already read bring nothing new: read on.
        if all.len() > from && enough(&all[from..]) {
            return Ok(all);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Value {
        json!({"reference": {"source-name": name}, "size": 1})
    }

    fn page(names: &[&str]) -> Result<Vec<Value>> {
        Ok(names.iter().map(|n| entry(n)).collect())
    }

    fn marker_gone() -> Result<Vec<Value>> {
        Err(Error::new(
            ErrorKind::BadRequest,
            "cinder GET /manageable_volumes/detail",
            "backend b",
            "site-b",
            "Invalid input received: marker not found: {'source-name': 'volume-c'}",
        ))
    }

    /// The list as `script` answers it, one answer a request; the markers
    /// sent, in order.
    async fn read(
        script: Vec<Result<Vec<Value>>>,
        enough: impl FnMut(&[Value]) -> bool,
    ) -> (Result<Vec<String>>, Vec<Option<String>>) {
        let mut script = script.into_iter();
        let mut sent = Vec::new();
        let got = by_reference_marker(
            |m: Option<String>| {
                sent.push(m);
                let answer = script.next().unwrap_or_else(|| page(&[]));
                async move { answer }
            },
            enough,
        )
        .await;
        let names = got.map(|all| {
            all.iter()
                .map(|e| e["reference"]["source-name"].as_str().unwrap().to_string())
                .collect()
        });
        (names, sent)
    }

    fn marker(name: &str) -> Option<String> {
        Some(json!({"source-name": name}).to_string())
    }

    #[tokio::test]
    async fn every_page_is_read_after_the_last_reference() {
        let (got, sent) = read(
            vec![page(&["e", "d"]), page(&["c", "b"]), page(&["a"])],
            |_| false,
        )
        .await;
        assert_eq!(got.unwrap(), ["e", "d", "c", "b", "a"]);
        assert_eq!(sent, [None, marker("d"), marker("b"), marker("a")]);
    }

    #[tokio::test]
    async fn a_marker_renamed_away_reads_the_list_again_without_repeats() {
        // "c" was managed (renamed) between the first and second request.
        let (got, sent) = read(
            vec![
                page(&["e", "d", "c"]),
                marker_gone(),
                page(&["e", "d", "b"]),
                page(&["a", "Z"]),
            ],
            |_| false,
        )
        .await;
        assert_eq!(got.unwrap(), ["e", "d", "c", "b", "a", "Z"]);
        assert_eq!(sent[..3], [None, marker("c"), None]);
    }

    #[tokio::test]
    async fn a_service_that_ignores_the_marker_ends_the_list() {
        let (got, sent) = read(
            vec![page(&["b", "a"]), page(&["b", "a"]), page(&["b"])],
            |_| false,
        )
        .await;
        assert_eq!(got.unwrap(), ["b", "a"]);
        assert_eq!(sent.len(), 2);
    }

    #[tokio::test]
    async fn enough_ends_the_reading_early() {
        let (got, sent) = read(
            vec![page(&["e", "d"]), page(&["c", "b"]), page(&["a"])],
            |new| new.iter().any(|e| e["reference"]["source-name"] == "c"),
        )
        .await;
        assert_eq!(got.unwrap(), ["e", "d", "c", "b"]);
        assert_eq!(sent.len(), 2);
    }

    #[tokio::test]
    async fn other_refusals_and_a_marker_that_keeps_vanishing_are_errors() {
        let mut script = vec![page(&["b"])];
        for _ in 0..=MARKER_RESTARTS {
            script.push(marker_gone());
            script.push(page(&["b"]));
        }
        let (got, sent) = read(script, |_| false).await;
        let e = got.unwrap_err();
        assert!(e.detail.contains("marker not found"), "{e}");
        assert_eq!(sent.len(), 2 * (MARKER_RESTARTS + 1));
        let (got, sent) = read(vec![marker_gone()], |_| false).await;
        assert!(
            got.is_err(),
            "a refusal of the first request is not a vanished marker"
        );
        assert_eq!(sent, [None]);
    }
}
