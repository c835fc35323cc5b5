//! The `nova.*` actions: find and show servers, pause/suspend/quiesce and
//! back, createImage, boot from volume, attach/detach, delete, server
//! groups and keypairs. One file per resource; the helpers they share here.

mod attachments;
mod boot;
mod images;
mod keypairs;
mod server_groups;
mod servers;

pub use attachments::*;
pub use boot::*;
pub use images::*;
pub use keypairs::*;
pub use server_groups::*;
pub use servers::*;

use crate::args::{resource_name, tag_metadata, ClientResult};
use crate::prerun::{Finding, Found, Seen, Severity};
use crate::records::META_VNF_NAME;
use crate::records::*;
use crate::wait::{discard_failed, is_discarded, is_failed, Poll};
use crate::Ctx;
use lifeboat_exec::action::{ActionError, ActionOutput};
use lifeboat_openstack::nova::{Boot, Nics};
use lifeboat_openstack::nova::{Server, VolumeAttachment};
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

/// The record of `s` after a power action (pause, suspend, stop and their
/// undos, quiesce): its volumes as the record it was given says — a power
/// action attaches and detaches nothing — so a freeze or thaw costs no
/// extra request inside the quiesce window; read when that record has none.
pub async fn powered_record(
    cx: &Ctx<'_>,
    c: &Client,
    s: &Server,
    given: &ServerRec,
) -> Result<ServerRec, ActionError> {
    if given.volumes.is_empty() {
        return server_record(cx, c, s).await;
    }
    Ok(server_rec(s, c.site(), given.volumes.clone()))
}

pub async fn server_record(cx: &Ctx<'_>, c: &Client, s: &Server) -> Result<ServerRec, ActionError> {
    let atts = c.nova().attachments(&s.id).await.act(cx.action())?;
    Ok(server_rec(s, c.site(), ordered_volume_ids(s, &atts)))
}

/// Server metadata naming the Swift replicas its VNF uses at the site.
pub const META_CONTAINERS: &str = "lifeboat_containers";
