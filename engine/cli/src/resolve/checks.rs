//! Pre-run checks on what discovery found, each a read-only look at the
//! cloud (`lifeboat_actions::prerun`):
//!
//! - `untagged-server`: a server at the site that looks part of the VNF
//!   (metadata `vnf` = the tag, or a name starting `TAG-`) but does not carry
//!   the tag `nova.find_servers` looks for: the run would leave it out.
//! - `group-capability`: for each `cinder.ensure_group`, the group type
//!   (named, else the default) must exist and have
//!   `consistent_group_snapshot_enabled='<is> True'`; a volume whose type
//!   sets that spec otherwise cannot be snapshotted consistently; when the
//!   group exists already, a volume whose type is not among the group's
//!   volume types and that is not a member yet cannot be added to it.
//! - `quota`: the volumes and gigabytes a restore needs at the backup site
//!   (the manifest's volumes for a run that restores or adopts them without
//!   a `lifeboat.check_target`, which reports it as a `target` finding; the
//!   volumes found for a protect, whose restore would need them later)
//!   against the block-storage absolute limits there.
//! - `manifest`: `lifeboat.read_manifest` found none (reported from the
//!   failed read, like every other failed read: `discovery`).
//! - `target`: `lifeboat.check_target` found the backup site unable to
//!   take the VNF as recorded (a network missing, a kept address or MAC
//!   taken, a quota too small for its ports, groups, floating IPs or
//!   servers), from its failed read.
//! - `mapping`: the site mapping cannot be read or does not resolve at the
//!   backup site (`lifeboat.read_mapping`: a document with mistakes, or for
//!   another pair of sites; `lifeboat.apply_mapping`: a server no flavor
//!   there can hold), from its failed read.
//! - `quiesce-method`: the method is not in the catalogue; `nova-quiesce` on
//!   a cloud whose compute API does not list the quiesce extension; `hook`
//!   without a `url` or `command`.
//! - `no-targets`: `nova.find_servers` found nothing, so nothing would be
//!   protected.
//! - `expression`: an argument, a `when`, a loop's list or a quiesce
//!   scope's targets cannot be evaluated with the values discovery found
//!   (a record without a field the runbook reads): the run would fail
//!   there.

use super::{Discovery, State};
use super::{Finding, Severity};
use lifeboat_actions::OpenStackActions;
use lifeboat_dsl::plan::{NodeKind, Plan};
use serde_json::Value;
use std::collections::BTreeMap;

pub async fn run(plan: &Plan, d: &Discovery, acts: &OpenStackActions) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in &d.failures {
        if f.action == "lifeboat.read_manifest" {
            let vnf = d
                .instances
                .iter()
                .find(|i| i.instance == f.instance)
                .map(|i| str_arg(&i.args, "vnf"))
                .unwrap_or("");
            let site = f.site.as_deref().unwrap_or("the backup site");
            out.push(Finding::new(Severity::Error, "manifest", Some(&f.instance), f.site.as_deref(), format!("no recovery manifest of VNF `{vnf}` can be read at {site}: {}", f.message), "run the protect (or prepare) runbook first: it writes the manifest at the backup site"));
        } else if f.action == "lifeboat.read_mapping" || f.action == "lifeboat.apply_mapping" {
            out.push(Finding::new(Severity::Error, "mapping", Some(&f.instance), f.site.as_deref(), f.message.clone(), "fix the site mapping (`lifeboat check FILE.yaml`, `lifeboat mapping put FILE`); the run would stop at the same step before creating anything"));
        } else if f.action == "lifeboat.check_target" {
            out.push(Finding::new(Severity::Error, "target", Some(&f.instance), f.site.as_deref(), f.message.clone(), "free the addresses or MACs, create or rename the networks, or raise the quotas at the backup site; the run would stop at the same check before creating anything"));
        } else {
            out.push(Finding::new(
                Severity::Error,
                "discovery",
                Some(&f.instance),
                f.site.as_deref(),
                f.message.clone(),
                "check that the site is reachable and the credentials are right",
            ));
        }
    }
    for f in &d.invalid {
        out.push(Finding::new(
            Severity::Error,
            "expression",
            Some(&f.instance),
            None,
            format!("the run would fail here: {} cannot be evaluated with the values found: {}", f.what, f.message),
            "check the parameters, and that the records the cloud returns carry the fields the runbook reads",
        ));
    }
    untagged(d, acts, &mut out).await;
    groups(d, acts, &mut out).await;
    quota(plan, d, acts, &mut out).await;
    quiesce(plan, d, acts, &mut out).await;
    out
}

fn str_arg<'a>(args: &'a serde_json::Map<String, Value>, k: &str) -> &'a str {
    args.get(k).and_then(Value::as_str).unwrap_or("")
}

async fn untagged(d: &Discovery, acts: &OpenStackActions, out: &mut Vec<Finding>) {
    for i in d
        .instances
        .iter()
        .filter(|i| i.action == "nova.find_servers" && i.state == State::Read)
    {
        let (site, tag) = (str_arg(&i.args, "site"), str_arg(&i.args, "tag"));
        let found: Vec<&str> = i
            .value
            .as_ref()
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s["id"].as_str())
            .collect();
        if found.is_empty() {
            out.push(Finding::new(Severity::Warning, "no-targets", Some(&i.instance), Some(site), format!("no server at {site} carries the tag `{tag}`: the run would protect nothing"), "tag the VNF's servers (`openstack server set --tag TAG SERVER`) or check the vnf parameter"));
        }
        match acts.prerun_servers(site).await {
            Ok(all) => {
                for s in all
                    .iter()
                    .filter(|s| !found.contains(&s.id.as_str()) && !s.tags.iter().any(|t| t == tag))
                {
                    let why = if s.metadata.get("vnf").map(String::as_str) == Some(tag) {
                        format!("its metadata says vnf={tag}")
                    } else if s.name.starts_with(&format!("{tag}-")) {
                        format!("its name starts with `{tag}-`")
                    } else {
                        continue;
                    };
                    out.push(Finding::new(
                        Severity::Error,
                        "untagged-server",
                        Some(&i.instance),
                        Some(site),
                        format!("server {} ({}) at {site} looks part of `{tag}` ({why}) but does not carry the tag `{tag}`: the run would neither quiesce nor protect it", s.name, s.id),
                        &format!("add the tag (`openstack server set --tag {tag} {}`) or rename it if it is not part of the VNF", s.name),
                    ));
                }
            }
            Err(e) => out.push(Finding::new(
                Severity::Warning,
                "untagged-server",
                Some(&i.instance),
                Some(site),
                format!("cannot list the servers at {site}: {e}"),
                "the check was not made",
            )),
        }
    }
}

const CG_SPEC: &str = "consistent_group_snapshot_enabled";

fn spec_true(v: Option<&String>) -> bool {
    v.map(|s| s.trim().eq_ignore_ascii_case("<is> true") || s.trim().eq_ignore_ascii_case("true"))
        .unwrap_or(false)
}

async fn groups(d: &Discovery, acts: &OpenStackActions, out: &mut Vec<Finding>) {
    for i in d
        .instances
        .iter()
        .filter(|i| i.action == "cinder.ensure_group")
    {
        let Some(site) = i.site.as_deref() else {
            continue;
        };
        let Some(volumes) = i.args.get("volumes").and_then(Value::as_array) else {
            continue;
        };
        let step = Some(i.instance.as_str());
        match acts.prerun_group_type(site, str_arg(&i.args, "group_type")).await {
            Ok(None) => out.push(Finding::new(Severity::Error, "group-capability", step, Some(site), format!("site {site} has no group type{}: the volume group cannot be created", match str_arg(&i.args, "group_type") { "" => String::new(), g => format!(" `{g}`") }), "create a group type with consistent_group_snapshot_enabled='<is> True' (and make it the default, or pass group_type)")),
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
                continue;
            }
        };
        let name = str_arg(&i.args, "name");
        let group_name = if name.starts_with("lb-") {
            name.to_string()
        } else {
            format!("lb-{name}")
        };
        let existing = acts.prerun_group(site, &group_name).await.ok().flatten();
        let mut not_capable: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        let mut cannot_join: BTreeMap<String, Vec<&str>> = BTreeMap::new();
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
    }
}

async fn quota(plan: &Plan, d: &Discovery, acts: &OpenStackActions, out: &mut Vec<Finding>) {
    // site → (reason, severity, volumes, gigabytes, step)
    let mut needs: BTreeMap<String, (String, Severity, u64, u64, String)> = BTreeMap::new();
    // A recovery that checks its target (lifeboat.check_target) reports a
    // short volume quota there, as a `target` finding: not twice.
    let checked = plan.nodes.iter().any(
        |n| matches!(&n.kind, NodeKind::Action(a) if a.call.action == "lifeboat.check_target"),
    );
    let creates = !checked && plan.nodes.iter().any(|n| matches!(&n.kind, NodeKind::Action(a) if a.call.action == "cinder.restore_backup" || a.call.action == "cinder.manage_existing"));
    for i in &d.instances {
        let vols: Option<&Vec<Value>> = match (i.action.as_str(), i.state) {
            ("lifeboat.read_manifest", State::Read) if creates => {
                i.value.as_ref().and_then(|m| m["volumes"].as_array())
            }
            ("lifeboat.write_manifest", State::Planned) => {
                i.args.get("volumes").and_then(Value::as_array)
            }
            _ => None,
        };
        let (Some(vols), Some(site)) = (vols, i.site.clone()) else {
            continue;
        };
        let gb: u64 = vols.iter().filter_map(|v| v["size_gb"].as_u64()).sum();
        let (reason, sev) = if i.action == "lifeboat.read_manifest" {
            ("this run restores".to_string(), Severity::Error)
        } else {
            (
                "a restore of what this run protects would need".to_string(),
                Severity::Warning,
            )
        };
        needs.insert(
            site,
            (reason, sev, vols.len() as u64, gb, i.instance.clone()),
        );
    }
    for (site, (reason, sev, n, gb, step)) in needs {
        match acts.prerun_volume_limits(&site).await {
            Ok(l) => {
                let free_v = l.max_volumes.map(|m| m.saturating_sub(l.used_volumes));
                let free_g = l.max_gigabytes.map(|m| m.saturating_sub(l.used_gigabytes));
                let mut short = Vec::new();
                if let Some(f) = free_v.filter(|f| *f < n) {
                    short.push(format!(
                        "{n} volumes, {f} left of {}",
                        l.max_volumes.unwrap_or(0)
                    ));
                }
                if let Some(f) = free_g.filter(|f| *f < gb) {
                    short.push(format!(
                        "{gb} GB, {f} GB left of {}",
                        l.max_gigabytes.unwrap_or(0)
                    ));
                }
                if !short.is_empty() {
                    out.push(Finding::new(sev, "quota", Some(&step), Some(&site), format!("quota at {site} too small: {reason} {}", short.join("; ")), &format!("raise the project's volume quota at {site} (`openstack quota set --volumes N --gigabytes G PROJECT`) or free space there")));
                }
            }
            Err(e) => out.push(Finding::new(
                Severity::Warning,
                "quota",
                Some(&step),
                Some(&site),
                format!("cannot read the volume limits at {site}: {e}"),
                "the check was not made",
            )),
        }
    }
}

async fn quiesce(plan: &Plan, d: &Discovery, acts: &OpenStackActions, out: &mut Vec<Finding>) {
    for s in &d.scopes {
        let step = Some(s.instance.as_str());
        let Some(name) = &s.method else { continue };
        let Some(m) = plan.quiesce_method(name) else {
            let known: Vec<&str> = plan
                .quiesce_methods
                .iter()
                .map(|m| m.name.as_str())
                .collect();
            out.push(Finding::new(
                Severity::Error,
                "quiesce-method",
                step,
                s.site.as_deref(),
                format!(
                    "unknown quiesce method `{name}` (known: {})",
                    known.join(", ")
                ),
                "pass one of the known methods",
            ));
            continue;
        };
        if m.freeze == "nova.quiesce" {
            let Some(site) = s.site.as_deref() else {
                continue;
            };
            match acts.prerun_compute_extensions(site).await {
                Ok(Some(aliases)) if aliases.iter().any(|a| a.contains("quiesce")) => {}
                Ok(_) => out.push(Finding::new(Severity::Error, "quiesce-method", step, Some(site), format!("quiesce method `{name}` needs the quiesce server action, which the compute API at {site} does not offer (not in GET /extensions)"), "use method \"pause\" (crash-consistent) or \"hook\" (the VNF manager freezes the guests)")),
                Err(e) => out.push(Finding::new(Severity::Warning, "quiesce-method", step, Some(site), format!("cannot tell whether {site} offers the quiesce server action: {e}"), "the check was not made")),
            }
        }
        if m.freeze == "lifeboat.hook_freeze" {
            let set = |k: &str| {
                s.method_args
                    .get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|v| !v.is_empty())
            };
            if !set("url") && !set("command") {
                out.push(Finding::new(Severity::Error, "quiesce-method", step, s.site.as_deref(), format!("quiesce method `{name}` has no hook: neither a url nor a command is given, so every freeze would fail"), "write `via hook(url: \"https://vnfm/…\")` (or command: …) in the runbook, or choose method \"pause\""));
            }
        }
        if s.groups.as_ref().is_some_and(|g| g.is_empty()) {
            out.push(Finding::new(
                Severity::Warning,
                "no-targets",
                step,
                s.site.as_deref(),
                "the quiesce scope has no server to freeze".into(),
                "check the servers the runbook finds",
            ));
        }
    }
}
