//! Servers: find and show them, power actions (pause, suspend, stop and
//! back), the guest agent's quiesce, delete.

use super::*;

pub async fn find_servers(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let tag = cx.args.required_string("tag")?;
    cx.require_microversion(
        c,
        lifeboat_openstack::Service::Compute,
        "2.26",
        "the servers tags filter",
    )
    .await?;
    let at_least = cx.args.int("at_least")?;
    let servers = c.nova().servers_with_tag(&tag).await.act(cx.action())?;
    if (servers.len() as i64) < at_least {
        let found = match servers.len() {
            0 => "no server".to_string(),
            1 => "only 1 server".to_string(),
            n => format!("only {n} servers"),
        };
        return Err(ActionError::permanent(format!(
            "{}: {found} at site {} carries the tag `{tag}` (at least {at_least} needed)",
            cx.action(),
            c.site()
        ))
        .with_hint(format!(
            "a VNF's servers carry its name as a server tag: check the name, or tag them (openstack server set --tag {tag} SERVER)"
        )));
    }
    let mut out = Vec::new();
    for s in &servers {
        let mut r = server_record(cx, c, s).await?;
        // What a manifest records is the VNF's own name for the server, not
        // the one Lifeboat gave it when it booted it at a recovery: a
        // recovery of a recovered VNF names it as the first one did.
        if let Some(n) = s.metadata.get(META_VNF_NAME).filter(|n| !n.is_empty()) {
            r.name = n.clone();
        }
        out.push(r);
    }
    out.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
    cx.value(out)
}

pub async fn show_server(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
    let s = c.nova().server(&srv.id).await.act(cx.action())?;
    cx.value(server_record(cx, c, &s).await?)
}

/// pause / unpause / suspend / resume: the action, then wait for `target`.
pub(crate) async fn power(
    cx: &Ctx<'_>,
    verb: &str,
    target: &str,
) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
    let nova = c.nova();
    // The action first, the server read only when Nova refuses it: inside a
    // quiesce window every round trip before the freeze is time frozen.
    let mut refused = 0;
    // The server as a refusal found it, already there: no wait.
    let reached = loop {
        match nova.action(&srv.id, verb).await {
            Ok(()) => break None,
            // Already there (a retried call), or busy: a transition in
            // flight (a thaw resumed after a crash while its freeze was
            // still landing: the server ACTIVE but `pausing`) is let
            // settle, and then the server is either there or asked again.
            Err(e) if e.kind == ErrorKind::Conflict => {
                refused += 1;
                let now = settled(cx, c, &srv).await?;
                if now.status.eq_ignore_ascii_case(target) {
                    break Some(now);
                }
                if refused >= POWER_REFUSALS {
                    return Err(crate::args::from_client(cx.action(), e));
                }
            }
            Err(e) => return Err(crate::args::from_client(cx.action(), e)),
        }
    };
    let s = match reached {
        Some(s) => s,
        None => {
            let what = format!("server {} ({}) reaching {target}", srv.name, srv.id);
            watch_server(cx, c, &srv.id, &what, |s| {
                if s.status.eq_ignore_ascii_case(target) {
                    Poll::Ready(s)
                } else if is_failed(&s.status) {
                    Poll::Failed(format!(
                        "{} ({})",
                        s.status,
                        s.fault.map(|f| f.message).unwrap_or_default()
                    ))
                } else {
                    Poll::Pending(s.status)
                }
            })
            .await?
        }
    };
    cx.value(powered_record(cx, c, &s, &srv).await?)
}

/// How often a power action refused (409) is asked again once the server
/// has settled: a refusal that stands this often is an answer.
const POWER_REFUSALS: u32 = 3;

/// The server once no task runs on it (`task_state` empty): read at once,
/// waited for only while a task runs.
async fn settled(cx: &Ctx<'_>, c: &Client, srv: &ServerRec) -> Result<Server, ActionError> {
    let now = c.nova().server(&srv.id).await.act(cx.action())?;
    if now.task_state.is_none() {
        return Ok(now);
    }
    let what = format!("settling of server {} ({})", srv.name, srv.id);
    watch_server(cx, c, &srv.id, &what, |s| match &s.task_state {
        None => Poll::Ready(s),
        Some(task) => Poll::Pending(format!("{} ({task})", s.status)),
    })
    .await
}

/// Reads server `id` until `judge` finds it done or failed (`what`: the
/// wait, for its timeout message).
async fn watch_server(
    cx: &Ctx<'_>,
    c: &Client,
    id: &str,
    what: &str,
    judge: impl Fn(Server) -> Poll<Server> + Copy,
) -> Result<Server, ActionError> {
    cx.wait(what, || {
        let nova = c.nova();
        let id = id.to_string();
        async move { Ok(judge(nova.server(&id).await?)) }
    })
    .await
}

/// `nova.start(server, was)`: os-start and wait for ACTIVE, unless `was`
/// (the status before a stop this undoes) says the server was not running.
pub async fn start(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let was = cx.args.string("was")?;
    if !was.is_empty() && !was.eq_ignore_ascii_case("ACTIVE") {
        let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
        let s = c.nova().server(&srv.id).await.act(cx.action())?;
        return cx.value(powered_record(cx, c, &s, &srv).await?);
    }
    power(cx, "os-start", "ACTIVE").await
}

/// quiesce / unquiesce (the proposed Nova API, offered by the emulator).
pub async fn quiesce(cx: &Ctx<'_>, verb: &str) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
    match c.nova().action(&srv.id, verb).await {
        Ok(()) => {}
        Err(e) if e.kind == ErrorKind::Conflict && e.detail.contains("already") => {}
        Err(e) if e.kind == ErrorKind::NotFound || (e.kind == ErrorKind::BadRequest && e.detail.to_ascii_lowercase().contains("quiesce")) => {
            return Err(crate::args::from_client(cx.action(), e).with_hint("this cloud does not offer the quiesce server action; use quiesce method \"pause\" or \"hook\""))
        }
        Err(e) => return Err(crate::args::from_client(cx.action(), e)),
    }
    let s = c.nova().server(&srv.id).await.act(cx.action())?;
    cx.value(powered_record(cx, c, &s, &srv).await?)
}

pub async fn delete_server(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, mut srv) = cx.record_on_site::<ServerRec>("server")?;
    match c.nova().delete_server(&srv.id).await {
        Ok(()) => {}
        Err(e) if e.kind == ErrorKind::NotFound => {}
        Err(e) => return Err(crate::args::from_client(cx.action(), e)),
    }
    let id = srv.id.clone();
    cx.wait(
        &format!("server {} ({}) deleting", srv.name, srv.id),
        || {
            let nova = c.nova();
            let id = id.clone();
            async move {
                match nova.server(&id).await {
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(Poll::Ready(())),
                    Err(e) => Err(e),
                    Ok(s) if s.status == "DELETED" => Ok(Poll::Ready(())),
                    Ok(s) if is_failed(&s.status) => Ok(Poll::Failed(s.status)),
                    Ok(s) => Ok(Poll::Pending(s.status)),
                }
            }
        },
    )
    .await?;
    srv.status = "DELETED".into();
    cx.value(srv)
}

/// Planned `nova.show_server`: the server given.
pub fn planned_show_server(p: &crate::projection::Planned<'_>) -> Option<serde_json::Value> {
    p.arg("server").cloned()
}

/// Pre-run check of `nova.find_servers` (`untagged-server`, `no-targets`):
/// a server at the site that looks part of the VNF (metadata `vnf` = the
/// tag, or a name starting `TAG-`) but lacks the tag the run looks for
/// would be left out; no server found at all protects nothing.
pub(crate) async fn check_find_servers(seen: &Seen<'_>) -> Vec<Finding> {
    let Found::Read(value) = seen.found else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let (site, tag, step) = (seen.arg("site"), seen.arg("tag"), seen.step());
    let found: Vec<&str> = value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str())
        .collect();
    if found.is_empty() {
        out.push(Finding::new(Severity::Warning, "no-targets", step, Some(site), format!("no server at {site} carries the tag `{tag}`: the run would protect nothing"), "tag the VNF's servers (`openstack server set --tag TAG SERVER`) or check the vnf parameter"));
    }
    match seen.acts.prerun_servers(site).await {
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
                    step,
                    Some(site),
                    format!("server {} ({}) at {site} looks part of `{tag}` ({why}) but does not carry the tag `{tag}`: the run would neither quiesce nor protect it", s.name, s.id),
                    &format!("add the tag (`openstack server set --tag {tag} {}`) or rename it if it is not part of the VNF", s.name),
                ));
            }
        }
        Err(e) => out.push(Finding::new(
            Severity::Warning,
            "untagged-server",
            step,
            Some(site),
            format!("cannot list the servers at {site}: {e}"),
            "the check was not made",
        )),
    }
    out
}

/// Pre-run check of `nova.quiesce` as a quiesce method's freeze
/// (`quiesce-method`): the compute API must offer the quiesce action.
pub(crate) async fn check_quiesce(seen: &Seen<'_>) -> Vec<Finding> {
    let (Found::Freeze { method }, Some(site)) = (&seen.found, seen.site) else {
        return Vec::new();
    };
    match seen.acts.prerun_compute_extensions(site).await {
        Ok(Some(aliases)) if aliases.iter().any(|a| a.contains("quiesce")) => Vec::new(),
        Ok(_) => vec![Finding::new(Severity::Error, "quiesce-method", seen.step(), Some(site), format!("quiesce method `{method}` needs the quiesce server action, which the compute API at {site} does not offer (not in GET /extensions)"), "use method \"pause\" (crash-consistent) or \"hook\" (the VNF manager freezes the guests)")],
        Err(e) => vec![Finding::new(Severity::Warning, "quiesce-method", seen.step(), Some(site), format!("cannot tell whether {site} offers the quiesce server action: {e}"), "the check was not made")],
    }
}
