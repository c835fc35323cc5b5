//! `nova.boot_from_volume`: a server booted from restored volumes, on its
//! recorded ports, and found by its name after a crash.

use super::*;

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
