//! Site mappings: what a source site's networks, subnets, addresses,
//! flavors, zones, key pairs, volume types, floating-IP pools and security
//! groups become at a target site, and the port policy (docs/mapping.md).
//!
//! - [`document`]: the typed YAML document, its validation with spans.
//! - [`addresses`]: CIDRs and the re-IP rule's arithmetic.
//! - [`translate`]: a manifest as the target takes it.
//!
//! and the two actions that put them in a run:
//! `lifeboat.read_mapping` (a file, else the document stored at the target
//! beside the manifests, else the mapping that changes nothing) and
//! `lifeboat.apply_mapping` (the translated manifest).

pub mod addresses;
pub mod document;
pub mod translate;

use crate::args::ClientResult;
use crate::prerun::{Finding, Seen, Severity};
use crate::records::ManifestRec;
use crate::Ctx;
use document::SiteMapping;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::ErrorKind;
use translate::FlavorAt;

/// Where the document mapping `source` to a site is kept at that site, in
/// the manifests' container (a VNF name cannot start with a dot).
pub fn object_name(source: &str) -> String {
    format!(".mappings/{source}.yaml")
}

/// The document in `src` (read from `origin`), or an error naming every
/// problem as `origin:line:col: message`.
pub fn parse_at(action: &str, origin: &str, src: &str) -> Result<SiteMapping, ActionError> {
    document::parse(src).map_err(|ps| {
        let lines: Vec<String> = ps.iter().map(|p| p.one_line(origin, src)).collect();
        ActionError::permanent(format!(
            "{action}: the site mapping {origin} is not valid ({} problem{}): {}",
            ps.len(),
            if ps.len() == 1 { "" } else { "s" },
            lines.join("; ")
        ))
        .with_hint("`lifeboat check FILE` shows each problem where it stands; nothing was created")
    })
}

/// `lifeboat.read_mapping(site, source, file)`: the mapping from `source`
/// to `site`.
pub async fn read_mapping(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let site = cx.args.required_string("site")?;
    let source = cx.args.required_string("source")?;
    let file = cx.args.string("file")?;
    let (doc, origin) = if !file.is_empty() {
        let src = std::fs::read_to_string(&file).map_err(|e| {
            ActionError::permanent(format!("{}: cannot read the site mapping {file}: {e}", cx.action()))
                .with_hint("give the path of a site-mapping document (docs/mapping.md), or none to use the one stored at the target")
        })?;
        (parse_at(cx.action(), &file, &src)?, format!("file {file}"))
    } else {
        let c = cx.acts.client(&site)?;
        let name = object_name(&source);
        match c
            .swift()
            .get_object(&cx.acts.manifest_container, &name)
            .await
        {
            Ok(body) => {
                let origin = format!("{site}:{}/{name}", cx.acts.manifest_container);
                let src = String::from_utf8_lossy(&body).into_owned();
                (parse_at(cx.action(), &origin, &src)?, origin)
            }
            Err(e) if e.kind == ErrorKind::NotFound => (
                SiteMapping::identity(&source, &site),
                "none stored: every name, address and MAC is kept".to_string(),
            ),
            Err(e) => return Err(e).act(cx.action()),
        }
    };
    if doc.source != source || doc.target != site {
        return Err(ActionError::permanent(format!(
            "{}: the site mapping ({origin}) maps {} to {}, but this run goes from {source} to {site}",
            cx.action(),
            doc.source,
            doc.target
        ))
        .with_hint("use the mapping of this pair of sites; nothing was created"));
    }
    tracing::info!(step = %cx.call.step, %site, %source, "site mapping: {origin}");
    cx.value(doc)
}

/// `lifeboat.apply_mapping(site, manifest, mapping, drill)`: the manifest
/// as `site` takes it. Reads the target's flavors to choose one where the
/// mapping names none; fails, naming each server, when none fits.
pub async fn apply_mapping(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let m: ManifestRec = cx.args.record("manifest")?;
    let map: SiteMapping = cx.args.record("mapping")?;
    let drill = cx.args.bool("drill", false)?;
    if map.target != c.site() || (!m.source_site.is_empty() && map.source != m.source_site) {
        return Err(ActionError::permanent(format!(
            "{}: the mapping is from {} to {}, the manifest of {} from {} to {}",
            cx.action(),
            map.source,
            map.target,
            m.vnf,
            m.source_site,
            c.site()
        )));
    }
    let flavors: Vec<FlavorAt> = if m.servers.is_empty() {
        vec![]
    } else {
        c.nova()
            .flavors()
            .await
            .act(cx.action())?
            .into_iter()
            .map(|f| FlavorAt {
                name: f.name,
                vcpus: f.vcpus as i64,
                ram_mb: f.ram as i64,
                disk_gb: f.disk as i64,
                extra_specs: f
                    .extra_specs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            })
            .collect()
    };
    match translate::apply(&m, &map, drill, &flavors) {
        Ok((t, changes)) => {
            if !changes.lines.is_empty() {
                tracing::info!(step = %cx.call.step, site = %c.site(), "mapped: {}", changes.lines.join(", "));
            }
            cx.value(t)
        }
        Err(problems) => Err(ActionError::permanent(format!(
            "{}: the site mapping from {} does not resolve at {}: {}",
            cx.action(),
            map.source,
            c.site(),
            problems.join("; ")
        ))
        .with_hint("map the flavor in the site mapping (`flavors`), or create one at the target that is as large; nothing was created")),
    }
}

/// Pre-run check of `lifeboat.read_mapping` and `lifeboat.apply_mapping`
/// (`mapping`): the site mapping cannot be read, or does not resolve at the
/// backup site (a document with mistakes, for another pair of sites, a
/// server no flavor there can hold), from the failed read.
pub(crate) async fn check_mapping(seen: &Seen<'_>) -> Vec<Finding> {
    let crate::prerun::Found::Failed(message) = seen.found else {
        return Vec::new();
    };
    vec![Finding::new(Severity::Error, "mapping", seen.step(), seen.site, message.to_string(), "fix the site mapping (`lifeboat check FILE.yaml`, `lifeboat mapping put FILE`); the run would stop at the same step before creating anything")]
}
