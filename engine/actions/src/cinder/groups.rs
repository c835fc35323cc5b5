//! `cinder.ensure_group`, `delete_group`: the consistency group of a
//! VNF's volumes, made or brought up to date, and removed.

use super::*;

// ---------- groups ----------

fn group_name(name: &str) -> String {
    if name.starts_with("lb-") {
        name.to_string()
    } else {
        format!("lb-{name}")
    }
}

pub(super) async fn group_rec(
    cx: &Ctx<'_>,
    c: &Client,
    id: &str,
    known: &[String],
) -> Result<GroupRec, ActionError> {
    let g = c.cinder().group(id).await.act(cx.action())?;
    let volume_ids = if g.volumes.is_empty() {
        // Older Cinder: volumes carry group_id.
        let vols = c
            .cinder()
            .volumes(&[("group_id", id.to_string())])
            .await
            .act(cx.action())?;
        let ids: Vec<String> = vols
            .into_iter()
            .filter(|v| v.group_id == id)
            .map(|v| v.id)
            .collect();
        if ids.is_empty() {
            known.to_vec()
        } else {
            ids
        }
    } else {
        g.volumes.clone()
    };
    Ok(GroupRec {
        id: g.id,
        name: g.name,
        site: c.site().to_string(),
        volume_ids,
    })
}

async fn wait_group(cx: &Ctx<'_>, c: &Client, id: &str) -> Result<(), ActionError> {
    cx.wait(
        &format!("group {id} at site {} becoming available", c.site()),
        || {
            let cinder = c.cinder();
            let id = id.to_string();
            async move {
                let g = cinder.group(&id).await?;
                Ok(match g.status.as_str() {
                    "available" => Poll::Ready(()),
                    s if is_failed(s) => Poll::Failed(s.to_string()),
                    s => Poll::Pending(s.to_string()),
                })
            }
        },
    )
    .await
}

pub async fn ensure_group(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let name = group_name(&cx.args.required_string("name")?);
    let volumes: Vec<VolumeRec> = cx.args.list("volumes")?;
    let group_type = cx.args.string("group_type")?;
    let ids: Vec<String> = volumes.iter().map(|v| v.id.clone()).collect();
    cx.require_microversion(
        c,
        lifeboat_openstack::Service::BlockStorage,
        lifeboat_openstack::cinder::MV_GROUPS,
        "a generic volume group with its volume list",
    )
    .await?;
    let existing = c
        .cinder()
        .groups()
        .await
        .act(cx.action())?
        .into_iter()
        .find(|g| g.name == name && !is_discarded(&g.status));
    let id = match existing {
        // Made by an earlier attempt (a crash, a lost answer): it may still
        // be `creating` or `updating`, and Cinder changes only an available
        // group.
        Some(g) => {
            wait_group(cx, c, &g.id).await?;
            g.id
        }
        None => {
            let gt = if group_type.is_empty() {
                c.cinder().default_group_type().await.act(cx.action())?.map(|t| t.id).ok_or_else(|| {
                    ActionError::permanent(format!("{}: site {} has no group type to create group {name}", cx.action(), c.site())).with_hint("create a group type with consistent_group_snapshot_enabled='<is> True' or pass group_type")
                })?
            } else {
                group_type.clone()
            };
            let mut types: Vec<String> = Vec::new();
            for v in &volumes {
                let t = if v.volume_type.is_empty() {
                    c.cinder().volume(&v.id).await.act(cx.action())?.volume_type
                } else {
                    v.volume_type.clone()
                };
                if !t.is_empty() && !types.contains(&t) {
                    types.push(t);
                }
            }
            let id = c
                .cinder()
                .create_group(&name, &gt, &types)
                .await
                .act(cx.action())?;
            wait_group(cx, c, &id).await?;
            id
        }
    };
    let current = group_rec(cx, c, &id, &[]).await?;
    let missing: Vec<String> = ids
        .iter()
        .filter(|v| !current.volume_ids.contains(v))
        .cloned()
        .collect();
    if !missing.is_empty() {
        c.cinder()
            .add_to_group(&id, &missing)
            .await
            .act(cx.action())?;
        wait_group(cx, c, &id).await?;
    }
    cx.value(group_rec(cx, c, &id, &ids).await?)
}

pub async fn ensure_group_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let c = cx.client_for_call()?;
    let name = group_name(&cx.args.required_string("name")?);
    let existing = c
        .cinder()
        .groups()
        .await
        .act(cx.action())?
        .into_iter()
        .find(|g| g.name == name && g.status == "available");
    match existing {
        Some(g) => {
            let r = group_rec(cx, c, &g.id, &[]).await?;
            let want: Vec<VolumeRec> = cx.args.list("volumes")?;
            // Only complete when every volume is in it; else run it again.
            if want.iter().all(|v| r.volume_ids.contains(&v.id)) {
                Ok(Some(cx.value(r)?))
            } else {
                Ok(None)
            }
        }
        None => Ok(None),
    }
}

pub async fn delete_group(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, g) = cx.record_on_site::<GroupRec>("group")?;
    match c.cinder().group(&g.id).await {
        Ok(cur) => {
            if !cur.volumes.is_empty() {
                c.cinder()
                    .remove_from_group(&g.id, &cur.volumes)
                    .await
                    .act(cx.action())?;
                wait_group(cx, c, &g.id).await?;
            }
            ok_if_gone(cx.action(), c.cinder().delete_group(&g.id).await, async {
                c.cinder().group(&g.id).await.map(|g| g.status)
            })
            .await?;
        }
        Err(e) if e.kind == ErrorKind::NotFound => {}
        Err(e) => return Err(from_client(cx.action(), e)),
    }
    let id = g.id.clone();
    wait_gone(cx, &format!("group {id} at site {}", c.site()), || {
        let cinder = c.cinder();
        let id = id.clone();
        async move { cinder.group(&id).await.map(|g| g.status) }
    })
    .await?;
    cx.value(g)
}

/// Planned `cinder.ensure_group`: the group of the volumes given.
pub fn planned_group(p: &crate::projection::Planned<'_>) -> Option<serde_json::Value> {
    let mut f = json!({"name": p.name()});
    if let Some(vs) = p.arg("volumes").and_then(Value::as_array) {
        f["volume_ids"] = Value::Array(vs.iter().filter_map(|v| v.get("id").cloned()).collect());
    }
    Some(p.mark(f))
}

/// The group spec that makes a group's snapshots consistent.
const CG_SPEC: &str = "consistent_group_snapshot_enabled";

fn spec_true(v: Option<&String>) -> bool {
    v.map(|s| s.trim().eq_ignore_ascii_case("<is> true") || s.trim().eq_ignore_ascii_case("true"))
        .unwrap_or(false)
}

/// Pre-run check of `cinder.ensure_group` (`group-capability`): the group
/// type (named, else the default) exists and has
/// `consistent_group_snapshot_enabled='<is> True'`; no volume's type sets
/// that spec otherwise; when the group exists already, every volume not in
/// it yet has a type the group takes.
pub(crate) async fn check_ensure_group(seen: &Seen<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    let (Some(site), Some(volumes)) = (
        seen.site,
        seen.args.get("volumes").and_then(Value::as_array),
    ) else {
        return out;
    };
    let (acts, step) = (seen.acts, seen.step());
    match acts.prerun_group_type(site, seen.arg("group_type")).await {
        Ok(None) => out.push(Finding::new(Severity::Error, "group-capability", step, Some(site), format!("site {site} has no group type{}: the volume group cannot be created", match seen.arg("group_type") { "" => String::new(), g => format!(" `{g}`") }), "create a group type with consistent_group_snapshot_enabled='<is> True' (and make it the default, or pass group_type)")),
        Ok(Some(gt)) if !spec_true(gt.specs.get(CG_SPEC)) => out.push(Finding::new(Severity::Error, "group-capability", step, Some(site), format!("group type `{}` at {site} lacks {CG_SPEC}='<is> True': its group snapshots are not taken at one instant", gt.name), "use a group type with that group spec (group_type argument) or set it")),
        Ok(Some(_)) => {}
        Err(e) => out.push(Finding::new(Severity::Warning, "group-capability", step, Some(site), format!("cannot read the group types at {site}: {e}"), "the check was not made")),
    }
    let types = match acts.prerun_volume_types(site).await {
        Ok(t) => t,
        Err(e) => {
            out.push(Finding::new(
                Severity::Warning,
                "group-capability",
                step,
                Some(site),
                format!("cannot read the volume types at {site}: {e}"),
                "the check was not made",
            ));
            return out;
        }
    };
    let group_name = group_name(seen.arg("name"));
    let existing = acts.prerun_group(site, &group_name).await.ok().flatten();
    let mut not_capable: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    let mut cannot_join: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for v in volumes {
        let (vid, vname, vtype) = (
            v["id"].as_str().unwrap_or(""),
            v["name"].as_str().unwrap_or(""),
            v["volume_type"].as_str().unwrap_or(""),
        );
        let t = types.iter().find(|t| t.name == vtype || t.id == vtype);
        if let Some(t) = t {
            if t.specs.contains_key(CG_SPEC) && !spec_true(t.specs.get(CG_SPEC)) {
                not_capable
                    .entry(format!(
                        "`{}`, whose {CG_SPEC} is `{}`",
                        t.name, t.specs[CG_SPEC]
                    ))
                    .or_default()
                    .push(vname);
            }
        }
        // Only a volume not yet in the group is added (and can be refused).
        if let Some(g) = existing
            .as_ref()
            .filter(|g| !g.volumes.iter().any(|m| m == vid))
        {
            let in_group = t
                .map(|t| g.volume_types.contains(&t.id) || g.volume_types.contains(&t.name))
                .unwrap_or(false);
            if !in_group {
                cannot_join
                    .entry(vtype.to_string())
                    .or_default()
                    .push(vname);
            }
        }
    }
    for (why, names) in not_capable {
        out.push(Finding::new(
            Severity::Error,
            "group-capability",
            step,
            Some(site),
            format!(
                "{} volume(s) of type {why} cannot be snapshotted with the group: {}",
                names.len(),
                names.join(", ")
            ),
            "retype them to a group-capable type",
        ));
    }
    if let Some(g) = &existing {
        let allowed: Vec<String> = g
            .volume_types
            .iter()
            .map(|id| {
                types
                    .iter()
                    .find(|t| &t.id == id)
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| id.clone())
            })
            .collect();
        for (vtype, names) in cannot_join {
            out.push(Finding::new(Severity::Error, "group-capability", step, Some(site), format!("group {group_name} exists at {site} for volume types [{}]; {} volume(s) of type `{vtype}` cannot be added to it: {}", allowed.join(", "), names.len(), names.join(", ")), "retype them to one of the group's types, or recreate the group with every type the VNF uses"));
        }
    }
    out
}
