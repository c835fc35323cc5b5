//! Which manifest is which recovery point. Under `{vnf}/` in the manifest
//! container of the backup site:
//!
//! - `{vnf}/{written}-{run}.json`: the manifest one protect (or prepare)
//!   run wrote, written at `%Y%m%dT%H%M%SZ`: one recovery point;
//! - `{vnf}/latest-{option}.json`: names the newest manifest of that
//!   option, so the options of one VNF never read each other's points;
//! - `{vnf}/verified-{option}.json`: names the newest manifest of that
//!   option a drill verified, and the drill;
//! - `{vnf}/latest.json`: the newest manifest of any option, as releases
//!   before per-option pointers wrote it; read only when it names a
//!   manifest of the option asked for.
//!
//! A recovery picks its point with [`Choice`] (the `point` argument of
//! `lifeboat.read_manifest`); a pointer's manifest is never expired.

use super::manifest::{fetch_doc, ManifestDoc, MANIFEST_VERSION};
use crate::args::{from_client, ClientResult};
use crate::records::ObjectRec;
use crate::Ctx;
use chrono::{DateTime, Utc};
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::types::parse_time;
use lifeboat_openstack::{Client, ErrorKind};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Which recovery point a recovery reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// The newest point of the option (the default).
    Newest,
    /// The newest point a drill verified.
    Verified,
    /// The newest point whose snapshot was taken at or before the time.
    Before(DateTime<Utc>),
    /// One point: a protect run id, or a manifest object's name.
    Named(String),
}

impl Choice {
    /// `""` or `newest`, `verified`, `before <RFC 3339 time>`, or a name.
    pub fn parse(text: &str) -> Result<Choice, String> {
        let t = text.trim();
        match t {
            "" | "newest" | "latest" => return Ok(Choice::Newest),
            "verified" => return Ok(Choice::Verified),
            _ => {}
        }
        if let Some(rest) = t.strip_prefix("before") {
            let rest = rest.trim_start_matches([' ', ':', '=']).trim();
            return parse_time(rest).map(Choice::Before).ok_or_else(|| {
                format!("`{rest}` is not a time: write `before 2026-12-01T08:00:00Z` (RFC 3339)")
            });
        }
        if t.contains(char::is_whitespace) {
            return Err(format!(
                "`{t}` is not a recovery point: write `newest`, `verified`, `before <time>`, a protect run id or a manifest name"
            ));
        }
        Ok(Choice::Named(t.to_string()))
    }
}

/// The pointer to the newest manifest of `option`.
pub fn latest_name(vnf: &str, option: &str) -> String {
    format!("{vnf}/latest-{option}.json")
}

/// The pointer to the newest manifest of `option` a drill verified.
pub fn verified_name(vnf: &str, option: &str) -> String {
    format!("{vnf}/verified-{option}.json")
}

/// The pointer earlier releases wrote (newest of any option).
fn legacy_latest_name(vnf: &str) -> String {
    format!("{vnf}/latest.json")
}

/// When a manifest object was written, from its name
/// (`{vnf}/{%Y%m%dT%H%M%SZ}-{run}.json`); `None` for anything else in the
/// container (the pointers).
pub fn written_at(name: &str) -> Option<DateTime<Utc>> {
    let base = name.rsplit('/').next()?;
    let stamp = base.get(..16)?;
    if !base.ends_with(".json") || base.as_bytes().get(16) != Some(&b'-') {
        return None;
    }
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|n| n.and_utc())
}

/// Whether an object of the container is a manifest (not a pointer).
pub fn is_manifest(name: &str) -> bool {
    written_at(name).is_some()
}

/// A pointer's body.
fn pointer(object: &str, doc: &ManifestDoc, extra: Value) -> Vec<u8> {
    let mut p = json!({
        "version": MANIFEST_VERSION,
        "object": object,
        "run_id": doc.run_id,
        "option": doc.option,
        "snapshot_time": doc.snapshot_time,
        "written_at": doc.written_at,
    });
    if let (Some(p), Value::Object(extra)) = (p.as_object_mut(), extra) {
        p.extend(extra);
    }
    p.to_string().into_bytes()
}

/// Points `latest-{option}.json` at `object`, the manifest `doc` just
/// written.
pub async fn set_latest(
    cx: &Ctx<'_>,
    c: &Client,
    object: &str,
    doc: &ManifestDoc,
) -> Result<(), ActionError> {
    c.swift()
        .put_object(
            &cx.acts.manifest_container,
            &latest_name(&doc.vnf, &doc.option),
            pointer(object, doc, Value::Null),
            "application/json",
        )
        .await
        .act(cx.action())?;
    Ok(())
}

/// The object a pointer names; `None` when there is no such pointer.
async fn read_pointer(cx: &Ctx<'_>, c: &Client, name: &str) -> Result<Option<Value>, ActionError> {
    match c
        .swift()
        .get_object(&cx.acts.manifest_container, name)
        .await
    {
        Ok(b) => Ok(serde_json::from_slice::<Value>(&b)
            .ok()
            .filter(|v| v.get("object").and_then(Value::as_str).is_some())),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(from_client(cx.action(), e)),
    }
}

fn object_of(pointer: &Value) -> String {
    pointer["object"].as_str().unwrap_or_default().to_string()
}

/// The objects under `vnf/` in the manifest container at the client's
/// site: its manifests and its pointers (none when the container is not
/// there yet).
async fn objects_of(cx: &Ctx<'_>, c: &Client, vnf: &str) -> Result<Vec<String>, ActionError> {
    let listed = match c
        .swift()
        .list(&cx.acts.manifest_container, &format!("{vnf}/"))
        .await
    {
        Ok(l) => l,
        Err(e) if e.kind == ErrorKind::NotFound => vec![],
        Err(e) => return Err(from_client(cx.action(), e)),
    };
    Ok(listed.into_iter().map(|o| o.name).collect())
}

/// The manifests of `vnf` at the client's site, newest written first.
async fn manifests(cx: &Ctx<'_>, c: &Client, vnf: &str) -> Result<Vec<String>, ActionError> {
    let mut names: Vec<String> = objects_of(cx, c, vnf)
        .await?
        .into_iter()
        .filter(|n| is_manifest(n))
        .collect();
    names.sort_by(|a, b| b.cmp(a));
    Ok(names)
}

/// Whether a manifest belongs to the option asked for (`""`: any).
fn of_option(doc: &ManifestDoc, option: &str) -> bool {
    option.is_empty() || doc.option == option
}

/// The recovery point `choice` of `vnf`'s `option` (`""`: any option) at
/// the client's site: its object name and document.
pub async fn select(
    cx: &Ctx<'_>,
    c: &Client,
    vnf: &str,
    option: &str,
    choice: &Choice,
) -> Result<(String, ManifestDoc), ActionError> {
    let site = c.site().to_string();
    let container = &cx.acts.manifest_container;
    let written_by = if option.is_empty() {
        String::new()
    } else {
        format!(" written by {option}")
    };
    let none = |what: &str| {
        let what = if what.is_empty() {
            String::new()
        } else {
            format!("{what} ")
        };
        ActionError::permanent(format!(
            "{}: no {what}recovery point of VNF {vnf:?}{written_by} in container {container} at site {site}",
            cx.action()
        ))
    };
    match choice {
        Choice::Named(n) => {
            let full = if n.contains('/') {
                n.clone()
            } else {
                format!("{vnf}/{n}")
            };
            let full = if full.ends_with(".json") {
                full
            } else {
                format!("{full}.json")
            };
            let object = if n.contains('/') || is_manifest(&full) {
                full
            } else {
                // A protect run id.
                let suffix = format!("-{n}.json");
                match manifests(cx, c, vnf)
                    .await?
                    .into_iter()
                    .find(|o| o.ends_with(&suffix))
                {
                    Some(o) => o,
                    None => return Err(none(&format!("`{n}`")).with_hint(
                        "name a protect run id or a manifest object that `lifeboat points` lists",
                    )),
                }
            };
            let doc = fetch_doc(cx, c, &object).await?;
            if !of_option(&doc, option) {
                return Err(ActionError::permanent(format!(
                    "{}: recovery point {object} at site {site} was written by {}, not {option}",
                    cx.action(),
                    doc.option
                ))
                .with_hint(format!(
                    "recover it with the {} runbooks, or name a point {option} wrote",
                    doc.option
                )));
            }
            Ok((object, doc))
        }
        Choice::Verified => {
            let Some(p) = read_pointer(cx, c, &verified_name(vnf, option)).await? else {
                return Err(none("drill-verified").with_hint(format!(
                    "run {} first, or recover from the newest point",
                    if option.is_empty() { "a drill" } else { option }
                )));
            };
            let object = object_of(&p);
            let doc = fetch_doc(cx, c, &object).await?;
            Ok((object, doc))
        }
        Choice::Newest => {
            if !option.is_empty() {
                if let Some(p) = read_pointer(cx, c, &latest_name(vnf, option)).await? {
                    let object = object_of(&p);
                    let doc = fetch_doc(cx, c, &object).await?;
                    return Ok((object, doc));
                }
            }
            if let Some(p) = read_pointer(cx, c, &legacy_latest_name(vnf)).await? {
                let object = object_of(&p);
                let doc = fetch_doc(cx, c, &object).await?;
                if of_option(&doc, option) {
                    return Ok((object, doc));
                }
            }
            for object in manifests(cx, c, vnf).await? {
                let doc = fetch_doc(cx, c, &object).await?;
                if of_option(&doc, option) {
                    return Ok((object, doc));
                }
            }
            Err(none("").with_hint(
                "run the protect runbook first (it writes the manifest to the backup site)",
            ))
        }
        Choice::Before(t) => {
            // Newest written first; a manifest written before the best
            // snapshot found so far cannot hold a newer snapshot.
            let mut best: Option<(DateTime<Utc>, String, ManifestDoc)> = None;
            for object in manifests(cx, c, vnf).await? {
                let written = written_at(&object).unwrap_or_default();
                if best
                    .as_ref()
                    .is_some_and(|(snap, _, _)| written + chrono::Duration::seconds(1) < *snap)
                {
                    break;
                }
                let doc = fetch_doc(cx, c, &object).await?;
                let Some(snap) = parse_time(&doc.snapshot_time) else {
                    continue;
                };
                if of_option(&doc, option)
                    && snap <= *t
                    && best.as_ref().is_none_or(|(b, _, _)| snap > *b)
                {
                    best = Some((snap, object, doc));
                }
            }
            best.map(|(_, o, d)| (o, d)).ok_or_else(|| {
                none(&format!("{} or earlier", t.to_rfc3339()))
                    .with_hint("name a later time, or `newest`")
            })
        }
    }
}

/// `lifeboat.mark_verified(site, vnf, manifest)`: a drill verified the
/// recovery point `manifest`; `verified-{option}.json` names it unless it
/// already names a newer one.
pub async fn mark_verified(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let site = cx.args.required_string("site")?;
    let c = cx.acts.client(&site)?;
    let vnf = cx.args.required_string("vnf")?;
    let m: crate::records::ManifestRec = cx.args.record("manifest")?;
    let (object, doc) = select(cx, c, &vnf, &m.option, &Choice::Named(m.run_id.clone())).await?;
    let name = verified_name(&vnf, &doc.option);
    let current = read_pointer(cx, c, &name).await?;
    let newer = current.as_ref().and_then(|p| {
        let theirs = parse_time(p["snapshot_time"].as_str()?)?;
        let ours = parse_time(&doc.snapshot_time)?;
        (theirs > ours).then(|| object_of(p))
    });
    let body = match &newer {
        Some(_) => None,
        None => Some(pointer(
            &object,
            &doc,
            json!({
                "verified_by": cx.call.run_id,
                "verified_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }),
        )),
    };
    if let Some(body) = body {
        c.swift()
            .put_object(&cx.acts.manifest_container, &name, body, "application/json")
            .await
            .act(cx.action())?;
    }
    cx.value(ObjectRec {
        container: cx.acts.manifest_container.clone(),
        name: newer.unwrap_or(object),
        site: site.clone(),
        etag: String::new(),
        bytes: 0,
    })
}

/// `lifeboat.withdraw_manifest(site, manifest)`: delete the manifest the
/// run `manifest.run_id` wrote; before that, `latest-{option}.json` goes
/// back to the newest manifest of that option left (or goes, when none is
/// left) and a verified or legacy pointer naming it goes.
pub async fn withdraw_manifest(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let site = cx.args.required_string("site")?;
    let c = cx.acts.client(&site)?;
    let m: crate::records::ManifestRec = cx.args.record("manifest")?;
    let container = cx.acts.manifest_container.clone();
    let suffix = format!("-{}.json", m.run_id);
    let all = manifests(cx, c, &m.vnf).await?;
    let (gone, left): (Vec<String>, Vec<String>) =
        all.into_iter().partition(|o| o.ends_with(&suffix));
    let names_gone = |p: &Option<Value>| {
        p.as_ref()
            .is_some_and(|p| gone.iter().any(|g| *g == object_of(p)))
    };
    let delete = |name: String| async move {
        match c
            .swift()
            .delete_object(&cx.acts.manifest_container, &name)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(from_client(cx.action(), e)),
        }
    };
    let latest = latest_name(&m.vnf, &m.option);
    if names_gone(&read_pointer(cx, c, &latest).await?) {
        let mut newest = None;
        for o in &left {
            let doc = fetch_doc(cx, c, o).await?;
            if doc.option == m.option {
                newest = Some((o.clone(), doc));
                break;
            }
        }
        match newest {
            Some((o, doc)) => set_latest(cx, c, &o, &doc).await?,
            None => delete(latest).await?,
        }
    }
    for p in [verified_name(&m.vnf, &m.option), legacy_latest_name(&m.vnf)] {
        if names_gone(&read_pointer(cx, c, &p).await?) {
            delete(p).await?;
        }
    }
    // The pointers first, the manifest last: a retry after a crash in
    // between still finds the manifest, and no pointer names a missing one.
    for o in &gone {
        delete(o.clone()).await?;
    }
    cx.value(ObjectRec {
        container,
        name: gone.first().cloned().unwrap_or_default(),
        site,
        etag: String::new(),
        bytes: 0,
    })
}

/// The manifests of `vnf` a pointer names, each with the pointer's name:
/// never expired.
pub async fn pinned(
    cx: &Ctx<'_>,
    c: &Client,
    vnf: &str,
) -> Result<BTreeMap<String, String>, ActionError> {
    let mut out = BTreeMap::new();
    for o in objects_of(cx, c, vnf)
        .await?
        .into_iter()
        .filter(|o| !is_manifest(o))
    {
        if let Some(p) = read_pointer(cx, c, &o).await? {
            out.insert(object_of(&p), o);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_told_from_pointers_by_name() {
        assert!(is_manifest("vims/20261203T112233Z-r1.json"));
        assert_eq!(
            written_at("vims/20261203T112233Z-r1.json")
                .unwrap()
                .to_rfc3339(),
            "2026-12-03T11:22:33+00:00"
        );
        for p in [
            "vims/latest.json",
            "vims/latest-option1.json",
            "vims/verified-option2.json",
            "vims/20261203T112233Z.json",
            "vims/20261203T112233Z-r1.txt",
        ] {
            assert!(!is_manifest(p), "{p}");
        }
    }

    #[test]
    fn a_point_is_newest_verified_before_a_time_or_named() {
        assert_eq!(Choice::parse("").unwrap(), Choice::Newest);
        assert_eq!(Choice::parse("newest").unwrap(), Choice::Newest);
        assert_eq!(Choice::parse(" verified ").unwrap(), Choice::Verified);
        assert_eq!(
            Choice::parse("before 2026-12-01T08:00:00Z").unwrap(),
            Choice::Before(parse_time("2026-12-01T08:00:00Z").unwrap())
        );
        assert_eq!(
            Choice::parse("before:2026-12-01T08:00:00+01:00").unwrap(),
            Choice::Before(parse_time("2026-12-01T07:00:00Z").unwrap())
        );
        assert_eq!(
            Choice::parse("r-20261201").unwrap(),
            Choice::Named("r-20261201".into())
        );
        assert!(Choice::parse("before yesterday")
            .unwrap_err()
            .contains("not a time"));
        assert!(Choice::parse("the good one")
            .unwrap_err()
            .contains("not a recovery point"));
    }
}
