//! Fencing: after a disaster recovery the old primary's copies of the VNF
//! must never run beside the recovered ones (same addresses, same peers).
//! `nova.fence` stops a server (when it runs), marks it
//! (`lifeboat_fenced` = the run, `lifeboat_fenced_status` = its status
//! before) and locks it with the reason, so that neither its owner nor an
//! automation starts it again by mistake; `nova.unfence` undoes exactly
//! that, starting it again only if it was running. `nova.retire` ends a
//! fenced copy for good once the VNF is protected from where it now runs
//! (reprotect): unlocked and deleted.

use crate::args::ClientResult;
use crate::nova::{power, server_record};
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};

/// Server metadata: the run that fenced the server.
pub const FENCED_KEY: &str = "lifeboat_fenced";
/// Server metadata: its status when it was fenced (`ACTIVE` is started again
/// by `nova.unfence`).
pub const FENCED_STATUS_KEY: &str = "lifeboat_fenced_status";

/// `nova.fence(server)`: stop (if ACTIVE), mark, lock. Fencing a server this
/// or another Lifeboat run fenced changes nothing; a server someone else
/// locked is refused (Lifeboat cannot stop it).
pub async fn fence(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<crate::records::ServerRec>("server")?;
    let nova = c.nova();
    let now = nova.server(&srv.id).await.act(cx.action())?;
    let fenced_by = now.metadata.get(FENCED_KEY).cloned();
    if now.locked {
        if fenced_by.is_some() {
            return cx.value(server_record(cx, c, &now).await?);
        }
        return Err(ActionError::permanent(format!(
            "{}: server {} ({}) at site {} is locked by someone else ({}); Lifeboat cannot stop it",
            cx.action(),
            now.name,
            now.id,
            c.site(),
            now.locked_reason.as_deref().unwrap_or("no reason given")
        ))
        .with_hint("stop it by hand, or unlock it (`openstack server unlock`), then fence again"));
    }
    // Marked by an earlier attempt (stopped already): keep the status it had.
    let before = match (&fenced_by, now.metadata.get(FENCED_STATUS_KEY)) {
        (Some(_), Some(s)) => s.clone(),
        _ => now.status.clone(),
    };
    if now.status.eq_ignore_ascii_case("ACTIVE") {
        power(cx, "os-stop", "SHUTOFF").await?;
    }
    nova.set_metadata_item(&srv.id, FENCED_STATUS_KEY, &before)
        .await
        .act(cx.action())?;
    nova.set_metadata_item(&srv.id, FENCED_KEY, &cx.call.run_id)
        .await
        .act(cx.action())?;
    nova.lock(
        &srv.id,
        &format!(
            "fenced by Lifeboat run {}: the VNF runs at another site",
            cx.call.run_id
        ),
    )
    .await
    .act(cx.action())?;
    let s = nova.server(&srv.id).await.act(cx.action())?;
    cx.value(server_record(cx, c, &s).await?)
}

/// `nova.unfence(server)`: unlock, unmark, and start again if it was ACTIVE
/// when fenced. A server no Lifeboat run fenced is left as it is.
pub async fn unfence(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<crate::records::ServerRec>("server")?;
    let nova = c.nova();
    let now = nova.server(&srv.id).await.act(cx.action())?;
    if !now.metadata.contains_key(FENCED_KEY) {
        return cx.value(server_record(cx, c, &now).await?);
    }
    let before = now.metadata.get(FENCED_STATUS_KEY).cloned();
    nova.unlock(&srv.id).await.act(cx.action())?;
    if before.as_deref() == Some("ACTIVE") && now.status.eq_ignore_ascii_case("SHUTOFF") {
        power(cx, "os-start", "ACTIVE").await?;
    }
    // The mark goes last: a retry after a lost answer still knows the status.
    nova.delete_metadata_item(&srv.id, FENCED_STATUS_KEY)
        .await
        .act(cx.action())?;
    nova.delete_metadata_item(&srv.id, FENCED_KEY)
        .await
        .act(cx.action())?;
    let s = nova.server(&srv.id).await.act(cx.action())?;
    cx.value(server_record(cx, c, &s).await?)
}

/// `nova.retire(server)`: delete a copy Lifeboat fenced (unlocked first).
/// A server gone already counts as retired; one not fenced by Lifeboat is
/// refused (it may be a VNF that runs there on purpose).
pub async fn retire(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<crate::records::ServerRec>("server")?;
    let nova = c.nova();
    let now = match nova.server(&srv.id).await {
        Ok(s) => s,
        Err(e) if e.kind == lifeboat_openstack::ErrorKind::NotFound => {
            let mut gone = srv.clone();
            gone.status = "DELETED".into();
            return cx.value(gone);
        }
        Err(e) => return Err(crate::args::from_client(cx.action(), e)),
    };
    if !now.metadata.contains_key(FENCED_KEY) {
        return Err(ActionError::permanent(format!(
            "{}: server {} ({}) at site {} was not fenced by Lifeboat; it is not a stale copy to retire",
            cx.action(),
            now.name,
            now.id,
            c.site()
        ))
        .with_hint("fence the old site first (`lifeboat run fencing/fence`), or delete it by hand if it is stale"));
    }
    if now.locked {
        nova.unlock(&srv.id).await.act(cx.action())?;
    }
    crate::nova::delete_server(cx).await
}
