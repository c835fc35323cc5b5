//! The `nova.*` actions: find and show servers, pause/suspend/quiesce and
//! back, createImage, boot from volume, attach/detach, delete.

use crate::args::{resource_name, tag_metadata, ClientResult};
use crate::records::META_VNF_NAME;
use crate::records::*;
use crate::wait::{discard_failed, is_discarded, is_failed, Poll};
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::nova::{Boot, Nics};
use lifeboat_openstack::types::nova::{Server, VolumeAttachment};
use lifeboat_openstack::{Client, ErrorKind};
use serde_json::json;

/// Attached volume ids, boot volume first (root device, else by device name).
pub fn ordered_volume_ids(s: &Server, atts: &[VolumeAttachment]) -> Vec<String> {
    if atts.is_empty() {
        return s.volumes_attached.iter().map(|v| v.id.clone()).collect();
    }
    let root = s.root_device_name.clone().unwrap_or_default();
    let mut a: Vec<&VolumeAttachment> = atts.iter().collect();
    a.sort_by_key(|x| (root.is_empty() || x.device != root, x.device.clone()));
    a.into_iter().map(|x| x.volume_id.clone()).collect()
}

pub async fn server_record(cx: &Ctx<'_>, c: &Client, s: &Server) -> Result<ServerRec, ActionError> {
    let atts = c.nova().attachments(&s.id).await.act(cx.action())?;
    Ok(server_rec(s, c.site(), ordered_volume_ids(s, &atts)))
}

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
    let servers = c.nova().servers_with_tag(&tag).await.act(cx.action())?;
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
    let now = nova.server(&srv.id).await.act(cx.action())?;
    if !now.status.eq_ignore_ascii_case(target) {
        match nova.action(&srv.id, verb).await {
            Ok(()) => {}
            // Already there (a retried call) or in transition: the wait decides.
            Err(e) if e.kind == ErrorKind::Conflict => {
                let again = nova.server(&srv.id).await.act(cx.action())?;
                if !again.status.eq_ignore_ascii_case(target) && again.task_state.is_none() {
                    return Err(crate::args::from_client(cx.action(), e));
                }
            }
            Err(e) => return Err(crate::args::from_client(cx.action(), e)),
        }
    }
    let id = srv.id.clone();
    let s = cx
        .wait(
            &format!("server {} ({}) reaching {target}", srv.name, srv.id),
            || {
                let nova = c.nova();
                let id = id.clone();
                async move {
                    let s = nova.server(&id).await?;
                    Ok(if s.status.eq_ignore_ascii_case(target) {
                        Poll::Ready(s)
                    } else if is_failed(&s.status) {
                        Poll::Failed(format!(
                            "{} ({})",
                            s.status,
                            s.fault.map(|f| f.message).unwrap_or_default()
                        ))
                    } else {
                        Poll::Pending(s.status)
                    })
                }
            },
        )
        .await?;
    cx.value(server_record(cx, c, &s).await?)
}

/// `nova.start(server, was)`: os-start and wait for ACTIVE, unless `was`
/// (the status before a stop this undoes) says the server was not running.
pub async fn start(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let was = cx.args.string("was")?;
    if !was.is_empty() && !was.eq_ignore_ascii_case("ACTIVE") {
        let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
        let s = c.nova().server(&srv.id).await.act(cx.action())?;
        return cx.value(server_record(cx, c, &s).await?);
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
    cx.value(server_record(cx, c, &s).await?)
}

async fn image_record(cx: &Ctx<'_>, c: &Client, id: &str) -> Result<ImageRec, ActionError> {
    let img = c.glance().image(id).await.act(cx.action())?;
    crate::glance::image_rec(cx, c, &img, false).await
}

pub async fn create_image(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let mut meta = tag_metadata(cx.call, "");
    meta.insert("lifeboat_server".into(), json!(srv.id));
    let id = c
        .nova()
        .create_image(&srv.id, &name, &meta)
        .await
        .act(cx.action())?;
    // Waited for here (the image and the volume snapshots Nova made for it),
    // so that one that ends `killed` or `error` is discarded and made again
    // by this call rather than failing a later step.
    let waited = wait_image_ready(cx, c, &id, &name).await;
    if let Err(e) = waited {
        return Err(discard_failed(
            e,
            &format!("image {name} ({id}) at site {}", c.site()),
            discard_image(c, &id),
        )
        .await);
    }
    cx.value(image_record(cx, c, &id).await?)
}

/// Waits for a snapshot image to be active and its volume snapshots
/// available.
async fn wait_image_ready(
    cx: &Ctx<'_>,
    c: &Client,
    id: &str,
    name: &str,
) -> Result<(), ActionError> {
    cx.wait(
        &format!("image {name} ({id}) at site {} becoming active", c.site()),
        || {
            let g = c.glance();
            let id = id.to_string();
            async move {
                let i = g.image(&id).await?;
                Ok(match i.status.as_str() {
                    "active" => Poll::Ready(()),
                    st if is_discarded(st) || st == "deactivated" => Poll::Failed(st.to_string()),
                    st => Poll::Pending(st.to_string()),
                })
            }
        },
    )
    .await?;
    let img = c.glance().image(id).await.act(cx.action())?;
    let mapped = img.mapped_snapshots().map_err(|e| {
        ActionError::permanent(format!(
            "{}: image {id} at site {}: {e}",
            cx.action(),
            c.site()
        ))
    })?;
    for m in mapped {
        crate::cinder::wait_snapshot(cx, c, &m.snapshot_id).await?;
    }
    Ok(())
}

/// Deletes a failed snapshot image and the volume snapshots Nova made for
/// it (deleting an image leaves its snapshots).
async fn discard_image(c: &Client, id: &str) -> lifeboat_openstack::Result<()> {
    let img = c.glance().image(id).await?;
    if let Ok(mapped) = img.mapped_snapshots() {
        for m in mapped {
            match c.cinder().delete_snapshot(&m.snapshot_id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
    }
    c.glance().delete_image(id).await
}

pub async fn create_image_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let (c, _srv) = cx.record_on_site::<ServerRec>("server")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let found = c.glance().images_named(&name).await.act(cx.action())?;
    match found.into_iter().find(|i| {
        (i.property(META_TAG).as_deref() == Some(cx.call.tag.as_str())
            || i.name.as_deref() == Some(name.as_str()))
            && !is_discarded(&i.status)
    }) {
        Some(img) => match wait_image_ready(cx, c, &img.id, &name).await {
            Ok(()) => Ok(Some(cx.value(image_record(cx, c, &img.id).await?)?)),
            // Made, but broken: discarded, so the call makes a new one.
            Err(e) => match discard_failed(
                e,
                &format!("image {name} ({}) at site {}", img.id, c.site()),
                discard_image(c, &img.id),
            )
            .await
            {
                e if e.is_transient() => Ok(None),
                e => Err(e),
            },
        },
        None => Ok(None),
    }
}

async fn network_ids(
    cx: &Ctx<'_>,
    c: &Client,
    names: &[String],
) -> Result<Vec<String>, ActionError> {
    let mut out = Vec::new();
    for n in names {
        match c.network_id(n).await {
            Ok(id) => out.push(id),
            // No network service in the catalogue: the name goes to Nova as it is.
            Err(e) if e.kind == ErrorKind::Catalog => out.push(n.clone()),
            Err(e) => return Err(crate::args::from_client(cx.action(), e)),
        }
    }
    Ok(out)
}

/// The ports a boot is about to take, free: a port still bound to a server
/// an earlier attempt of this call made (it ended in ERROR and is being
/// deleted) is waited for; one bound to any other server is an error.
async fn wait_ports_free(cx: &Ctx<'_>, c: &Client, ports: &[PortRec]) -> Result<(), ActionError> {
    for p in ports {
        let live = c.neutron().port(&p.id).await.act(cx.action())?;
        if live.device_id.is_empty() {
            continue;
        }
        let ours = match c.nova().server(&live.device_id).await {
            Ok(s) => {
                s.metadata.get(META_TAG) == Some(&cx.call.tag)
                    || is_discarded(&s.status)
                    || s.task_state.as_deref() == Some("deleting")
            }
            Err(e) if e.is_not_found() => true,
            Err(e) => return Err(crate::args::from_client(cx.action(), e)),
        };
        if !ours {
            return Err(ActionError::permanent(format!("{}: port {} ({}) at site {} is bound to server {}, which this recovery did not make", cx.action(), p.name, p.id, c.site(), live.device_id))
                .with_hint("delete or detach that server's port at the backup site, then run again"));
        }
        let id = p.id.clone();
        cx.wait(
            &format!(
                "port {} ({id}) at site {} freed by the failed server",
                p.name,
                c.site()
            ),
            || {
                let neutron = c.neutron();
                let id = id.clone();
                async move {
                    let p = neutron.port(&id).await?;
                    Ok(if p.device_id.is_empty() {
                        Poll::Ready(())
                    } else {
                        Poll::Pending(format!("bound to {}", p.device_id))
                    })
                }
            },
        )
        .await?;
    }
    Ok(())
}

pub async fn boot_from_volume(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let vol: VolumeRec = cx.args.record("volume")?;
    let flavor = cx.args.required_string("flavor")?;
    let networks: Vec<String> = cx.args.list("networks")?;
    let role = cx.args.string("role")?;
    let priority = cx.args.int("priority")?;
    let containers: Vec<ContainerReplicaRec> = cx.args.list_flat("containers")?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let flavors = c.nova().flavors().await.act(cx.action())?;
    let Some(f) = flavors.iter().find(|f| f.name == flavor || f.id == flavor) else {
        let names: Vec<&str> = flavors.iter().map(|f| f.name.as_str()).collect();
        return Err(ActionError::permanent(format!(
            "{}: flavor {flavor:?} does not exist at site {}; flavors there: [{}]",
            cx.action(),
            c.site(),
            names.join(", ")
        ))
        .with_hint("create the flavor at the backup site or map it in the runbook"));
    };
    // Nova boots only from a bootable volume on some clouds; mark it.
    let v = c.cinder().volume(&vol.id).await.act(cx.action())?;
    if !v.bootable {
        c.cinder()
            .volume_action(&vol.id, "os-set_bootable", json!({"bootable": true}))
            .await
            .act(cx.action())?;
    }
    // The recreated ports of this server (by its source name), in the
    // guest's NIC order; else new ports on the named networks.
    let source_name = match cx.args.string("source")? {
        s if s.is_empty() => cx.args.string("name")?,
        s => s,
    };
    let mut mine: Vec<PortRec> = cx
        .args
        .list_flat::<PortRec>("ports")?
        .into_iter()
        .filter(|p| p.server == source_name && !source_name.is_empty())
        .collect();
    mine.sort_by_key(|p| p.index);
    wait_ports_free(cx, c, &mine).await?;
    let nics = if mine.is_empty() {
        let nets = network_ids(cx, c, &networks).await?;
        if nets.is_empty() {
            Nics::None
        } else {
            Nics::Networks(nets)
        }
    } else {
        Nics::Ports(mine.iter().map(|p| p.id.clone()).collect())
    };
    let groups: Vec<ServerGroupRec> = cx.args.list("server_groups")?;
    let group = groups
        .iter()
        .find(|g| g.members.contains(&source_name))
        .map(|g| g.id.clone());
    let key_name = cx.args.string("key_name")?;
    let tags: Vec<String> = cx.args.list("tags")?;
    let zone = cx.args.string("availability_zone")?;
    let mut meta = tag_metadata(cx.call, &origin_of(&v));
    if !role.is_empty() {
        meta.insert("role".into(), json!(role));
    }
    // The VNF's own name for the server (the one it was booted under at
    // the first site): a recovery of a recovered VNF names it after this,
    // not after the name Lifeboat gave it here (no `lb-…-lb-…` growth).
    let vnf_name = cx.args.string("name")?;
    if !vnf_name.is_empty() {
        meta.insert(META_VNF_NAME.into(), json!(vnf_name));
    }
    meta.insert("priority".into(), json!(priority.to_string()));
    if !containers.is_empty() {
        let names = containers
            .iter()
            .map(|r| r.container.as_str())
            .collect::<Vec<_>>()
            .join(",");
        // Nova refuses metadata values past 255 characters.
        if names.len() > 255 {
            return Err(ActionError::permanent(format!("{}: the names of the VNF's {} containers take {} characters, more than a server's metadata value holds (255)", cx.action(), containers.len(), names.len()))
                .with_hint("give the VNF fewer, or shorter-named, containers; the manifest lists them all"));
        }
        meta.insert(META_CONTAINERS.into(), json!(names));
    }
    let id = c
        .nova()
        .boot_from_volume(&Boot {
            name: &name,
            flavor_id: &f.id,
            volume_id: &vol.id,
            nics,
            metadata: &meta,
            key_name: Some(key_name.as_str()).filter(|k| !k.is_empty()),
            availability_zone: Some(zone.as_str()).filter(|z| !z.is_empty()),
            server_group: group.as_deref(),
            tags: &tags,
        })
        .await
        .act(cx.action())?;
    match wait_active(cx, c, &id, &name).await {
        Ok(out) => Ok(out),
        // Its volume stays (delete_on_termination is false).
        Err(e) => Err(discard_failed(
            e,
            &format!("server {name} ({id}) at site {}", c.site()),
            c.nova().delete_server(&id),
        )
        .await),
    }
}

async fn wait_active(
    cx: &Ctx<'_>,
    c: &Client,
    id: &str,
    name: &str,
) -> Result<ActionOutput, ActionError> {
    let s = cx
        .wait(&format!("server {name} ({id}) booting"), || {
            let nova = c.nova();
            let id = id.to_string();
            async move {
                let s = nova.server(&id).await?;
                Ok(match s.status.as_str() {
                    "ACTIVE" => Poll::Ready(s),
                    st if is_failed(st) => Poll::Failed(format!(
                        "{st} ({})",
                        s.fault.map(|f| f.message).unwrap_or_default()
                    )),
                    st => Poll::Pending(st.to_string()),
                })
            }
        })
        .await?;
    cx.value(server_record(cx, c, &s).await?)
}

pub async fn boot_from_volume_created(cx: &Ctx<'_>) -> Result<Option<ActionOutput>, ActionError> {
    let c = cx.client_for_call()?;
    let name = resource_name(cx.call, &cx.args.string("name")?);
    let found = c
        .nova()
        .servers_named(&format!("^{}$", regex_escape(&name)))
        .await
        .act(cx.action())?;
    match found
        .into_iter()
        .find(|s| s.metadata.get(META_TAG).map(String::as_str) == Some(cx.call.tag.as_str()))
    {
        Some(s) if is_discarded(&s.status) || s.task_state.as_deref() == Some("deleting") => {
            Ok(None)
        }
        Some(s) => Ok(Some(wait_active(cx, c, &s.id, &name).await?)),
        None => Ok(None),
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

fn attachment_rec(a: &VolumeAttachment, server_id: &str, site: &str) -> AttachmentRec {
    AttachmentRec {
        id: a.attachment_id.clone().unwrap_or_else(|| a.id.clone()),
        server_id: if a.server_id.is_empty() {
            server_id.to_string()
        } else {
            a.server_id.clone()
        },
        volume_id: a.volume_id.clone(),
        device: a.device.clone(),
        site: site.to_string(),
    }
}

async fn wait_volume_status(
    cx: &Ctx<'_>,
    c: &Client,
    volume_id: &str,
    want: &'static [&'static str],
    what: &str,
) -> Result<(), ActionError> {
    cx.wait(what, || {
        let cinder = c.cinder();
        let id = volume_id.to_string();
        async move {
            let v = cinder.volume(&id).await?;
            Ok(if want.contains(&v.status.as_str()) {
                Poll::Ready(())
            } else if is_failed(&v.status) {
                Poll::Failed(v.status)
            } else {
                Poll::Pending(v.status)
            })
        }
    })
    .await
}

pub async fn attach_volume(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
    let vol: VolumeRec = cx.args.record("volume")?;
    let existing = c.nova().attachments(&srv.id).await.act(cx.action())?;
    let att = match existing.into_iter().find(|a| a.volume_id == vol.id) {
        Some(a) => a,
        None => c.nova().attach(&srv.id, &vol.id).await.act(cx.action())?,
    };
    wait_volume_status(
        cx,
        c,
        &vol.id,
        &["in-use"],
        &format!("volume {} attaching to server {}", vol.id, srv.id),
    )
    .await?;
    let atts = c.nova().attachments(&srv.id).await.act(cx.action())?;
    let a = atts
        .into_iter()
        .find(|a| a.volume_id == vol.id)
        .unwrap_or(att);
    cx.value(attachment_rec(&a, &srv.id, c.site()))
}

pub async fn detach_volume(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let (c, srv) = cx.record_on_site::<ServerRec>("server")?;
    let vol: VolumeRec = cx.args.record("volume")?;
    let existing = c.nova().attachments(&srv.id).await.act(cx.action())?;
    let Some(a) = existing.into_iter().find(|a| a.volume_id == vol.id) else {
        // Already detached (a retried call).
        return cx.value(AttachmentRec {
            id: String::new(),
            server_id: srv.id.clone(),
            volume_id: vol.id.clone(),
            device: vol.device.clone(),
            site: c.site().to_string(),
        });
    };
    // Nova refuses a detach of a volume already `detaching`: an earlier
    // send of this DELETE was taken and its answer lost. Wait for it.
    crate::wait::ok_if_under_way(
        cx.action(),
        c.nova().detach(&srv.id, &vol.id).await,
        async { c.cinder().volume(&vol.id).await.map(|v| v.status) },
        &["detaching", "available"],
    )
    .await?;
    wait_volume_status(
        cx,
        c,
        &vol.id,
        &["available"],
        &format!("volume {} detaching from server {}", vol.id, srv.id),
    )
    .await?;
    cx.value(attachment_rec(&a, &srv.id, c.site()))
}

/// Server metadata naming the Swift replicas its VNF uses at the site.
pub const META_CONTAINERS: &str = "lifeboat_containers";

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

/// `nova.recreate_server_groups(site, identity)`: each recorded group with
/// its policy, by name (one there already is used).
pub async fn recreate_server_groups(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let id: NetworkIdentityRec = cx.args.record("identity")?;
    let existing = c.nova().server_groups().await.act(cx.action())?;
    let mut out = Vec::new();
    for w in &id.server_groups {
        let name = resource_name(cx.call, &w.name);
        let (gid, policy, created) = match existing.iter().find(|g| g.name == name) {
            Some(g) => (g.id.clone(), g.policy.clone(), true),
            None => {
                let g = c
                    .nova()
                    .create_server_group(&name, &w.policy)
                    .await
                    .act(cx.action())?;
                (g.id, g.policy, true)
            }
        };
        out.push(ServerGroupRec {
            id: gid,
            name,
            site: c.site().to_string(),
            policy,
            members: w.members.clone(),
            created,
        });
    }
    cx.value(out)
}

pub async fn delete_server_groups(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let groups: Vec<ServerGroupRec> = cx.args.list("groups")?;
    for g in groups.iter().filter(|g| g.created) {
        let c = cx.acts.client(&g.site)?;
        c.nova().delete_server_group(&g.id).await.act(cx.action())?;
    }
    cx.value(groups)
}

/// `nova.recreate_keypairs(site, identity)`: the recorded public keys
/// imported under their names where the target lacks them.
pub async fn recreate_keypairs(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let id: NetworkIdentityRec = cx.args.record("identity")?;
    let existing = c.nova().keypairs().await.act(cx.action())?;
    let mut out = Vec::new();
    for k in &id.keypairs {
        let created = if existing.iter().any(|e| e.name == k.name) {
            false
        } else {
            let kind = if k.kind.is_empty() { "ssh" } else { &k.kind };
            match c.nova().import_keypair(&k.name, &k.public_key, kind).await {
                Ok(_) => true,
                // Absent a moment ago: a conflict, or an answer lost on the
                // way, means this request made it — if it holds our key.
                Err(e) if e.kind == ErrorKind::Conflict || e.is_transient() => {
                    let now = c.nova().keypairs().await.act(cx.action())?;
                    if !now
                        .iter()
                        .any(|x| x.name == k.name && x.public_key == k.public_key)
                    {
                        return Err(crate::args::from_client(cx.action(), e));
                    }
                    true
                }
                Err(e) => return Err(crate::args::from_client(cx.action(), e)),
            }
        };
        out.push(KeypairRec {
            site: c.site().to_string(),
            created,
            ..k.clone()
        });
    }
    cx.value(out)
}

pub async fn delete_keypairs(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let keys: Vec<KeypairRec> = cx.args.list("keypairs")?;
    for k in keys.iter().filter(|k| k.created) {
        let c = cx.acts.client(&k.site)?;
        c.nova().delete_keypair(&k.name).await.act(cx.action())?;
    }
    cx.value(keys)
}
