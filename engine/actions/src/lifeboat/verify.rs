//! `lifeboat.verify` and its content checksums.

use super::manifest::fetch_doc;
use crate::args::from_client;
use crate::records::*;
use crate::wait::Poll;
use crate::{ContentChecksums, Ctx};
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::ErrorKind;
use serde_json::Value;
use std::collections::BTreeMap;

/// A content checksum from the configured capability, if any.
pub(super) async fn checksum(
    cx: &Ctx<'_>,
    site: &str,
    kind: &str,
    id: &str,
) -> Result<Option<String>, ActionError> {
    let ContentChecksums::EmulatorAdmin { base_url } = &cx.acts.checksums else {
        return Ok(None);
    };
    let url = format!(
        "{}/sites/{site}/{kind}/{id}/checksum",
        base_url.trim_end_matches('/')
    );
    let resp = cx.acts.http.get(&url).send().await.map_err(|e| {
        ActionError::transient(
            format!(
                "{}: checksum of {kind} {id} at site {site}: {e}",
                cx.action()
            ),
            None,
        )
    })?;
    if resp.status().as_u16() == 404 {
        return Ok(None);
    }
    if !resp.status().is_success() {
        return Err(ActionError::transient(
            format!(
                "{}: checksum of {kind} {id} at site {site}: HTTP {}",
                cx.action(),
                resp.status()
            ),
            None,
        ));
    }
    let v: Value = resp.json().await.map_err(|e| {
        ActionError::permanent(format!(
            "{}: checksum of {kind} {id}: unexpected answer: {e}",
            cx.action()
        ))
    })?;
    Ok(v.get("checksum")
        .and_then(Value::as_str)
        .map(str::to_string))
}

pub async fn verify(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let manifest: ManifestRec = cx.args.record("manifest")?;
    let volumes: Vec<VolumeRec> = cx.args.list("volumes")?;
    let servers: Vec<ServerRec> = cx.args.list("servers")?;
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut checked = 0i64;
    // The stored document has the checksums the record leaves out.
    let mut sums: BTreeMap<String, String> = BTreeMap::new();
    if cx.acts.checksums != ContentChecksums::Unavailable {
        if let Some(site) = volumes.first().map(|v| v.site.clone()) {
            let c = cx.acts.client(&site)?;
            let listed = match c
                .swift()
                .list(&cx.acts.manifest_container, &format!("{}/", manifest.vnf))
                .await
            {
                Ok(l) => l,
                Err(e) if e.kind == ErrorKind::NotFound => {
                    notes.push(format!(
                        "no manifest document at site {site}: content not compared"
                    ));
                    vec![]
                }
                Err(e) => return Err(from_client(cx.action(), e)),
            };
            if let Some(o) = listed
                .iter()
                .find(|o| o.name.ends_with(&format!("-{}.json", manifest.run_id)))
            {
                let doc = fetch_doc(cx, c, &o.name).await?;
                sums = doc
                    .volumes
                    .into_iter()
                    .filter(|v| !v.checksum.is_empty())
                    .map(|v| (v.rec.id, v.checksum))
                    .collect();
            }
        }
    }
    for mv in &manifest.volumes {
        let Some(v) = volumes.iter().find(|v| v.origin == mv.id) else {
            problems.push(format!("volume {} ({}) not restored", mv.name, mv.id));
            continue;
        };
        checked += 1;
        let c = cx.acts.client(&v.site)?;
        // A volume still attaching or detaching is waited for: its state
        // settles within the step's timeout.
        let now = cx
            .wait(
                &format!("volume {} at site {} settling", v.id, v.site),
                || {
                    let cinder = c.cinder();
                    let id = v.id.clone();
                    async move {
                        let now = cinder.volume(&id).await?;
                        Ok(match now.status.as_str() {
                            "attaching" | "detaching" | "reserved" => {
                                Poll::Pending(now.status.clone())
                            }
                            _ => Poll::Ready(now),
                        })
                    }
                },
            )
            .await?;
        if (now.size as i64) < mv.size_gb {
            problems.push(format!(
                "volume {} is {} GiB, manifest says {} GiB",
                v.id, now.size, mv.size_gb
            ));
        }
        if !matches!(now.status.as_str(), "available" | "in-use") {
            problems.push(format!("volume {} is {}", v.id, now.status));
        }
        if now.status == "in-use" && sums.contains_key(&mv.id) {
            // A running guest writes to it: its content has moved on.
            notes.push(format!("{}: in use, content not compared", mv.name));
        } else if let Some(want) = sums.get(&mv.id) {
            match checksum(cx, &v.site, "volumes", &v.id).await? {
                Some(got) if &got == want => notes.push(format!("{}: content matches", mv.name)),
                Some(_) => problems.push(format!(
                    "volume {} content differs from the backup of {}",
                    v.id, mv.id
                )),
                None => notes.push(format!("{}: no checksum offered", mv.name)),
            }
        }
    }
    if volumes.len() > manifest.volumes.len() {
        notes.push(format!(
            "{} volumes given, manifest has {}",
            volumes.len(),
            manifest.volumes.len()
        ));
    }
    for s in &servers {
        checked += 1;
        let c = cx.acts.client(&s.site)?;
        match c.nova().server(&s.id).await {
            Ok(now) if now.status == "ACTIVE" => {}
            Ok(now) => problems.push(format!("server {} is {}", s.name, now.status)),
            Err(e) if e.kind == ErrorKind::NotFound => {
                problems.push(format!("server {} does not exist", s.name))
            }
            Err(e) => return Err(from_client(cx.action(), e)),
        }
    }
    let ok = problems.is_empty();
    let detail = if ok {
        format!(
            "{} volumes and {} servers match the manifest of {} ({}){}",
            manifest.volumes.len(),
            servers.len(),
            manifest.vnf,
            manifest.run_id,
            if notes.is_empty() {
                String::new()
            } else {
                format!("; {}", notes.join("; "))
            }
        )
    } else {
        problems.join("; ")
    };
    cx.value(VerificationRec {
        ok,
        checked,
        detail,
    })
}
