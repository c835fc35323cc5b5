//! The one table binding each action of the catalogue (`stdlib/*.dr`, where
//! its signature, kind, undo, retry, timeout and latency estimate are
//! declared once) to the code that carries it out — and, for an action that
//! creates something, to the code that looks for what an interrupted call
//! created, to its projection for `plan --resolve` and to its pre-run
//! check. Everything else (the dispatch, the search after a lost answer,
//! the projections, the checks, the list of implemented actions) is derived
//! from it; a test holds it to the catalogue.
//!
//! A new action: declare it in `stdlib/`, write it in the module of its
//! service and resource, add one row here.

use crate::prerun::Check;
use crate::projection::Project;
use crate::{cinder, designate, fencing, glance, identity, lifeboat, mapping, neutron, nova};
use crate::{retention, swift, Ctx};
use lifeboat_exec::action::{ActionError, ActionOutput};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

/// What a bound function returns: the call's own future, boxed.
pub(crate) type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, ActionError>> + Send + 'a>>;
type Run = for<'a> fn(&'a Ctx<'a>) -> Fut<'a, ActionOutput>;
type Created = for<'a> fn(&'a Ctx<'a>) -> Fut<'a, Option<ActionOutput>>;
type Twins = for<'a> fn(&'a Ctx<'a>, &'a serde_json::Value) -> Fut<'a, Vec<serde_json::Value>>;

/// One action's implementation.
pub(crate) struct Binding {
    pub name: &'static str,
    pub run: Run,
    /// Finds what an interrupted call made, by the call's tag; `None`: the
    /// action creates nothing that could be found.
    pub created: Option<Created>,
    /// Finds the twins of what a call made (besides `kept`, its result):
    /// what else carries its tag, a create whose lost answer landed after
    /// it was made again. `None`: no twin can arise (nothing is created, or
    /// a second create of the same thing is refused).
    pub twins: Option<Twins>,
    /// The action looks for what it makes before making it (by name and
    /// tag), so calling it again after a lost answer makes nothing twice.
    pub looks_first: bool,
    /// What it would give, from its arguments, when discovery does not
    /// call it (`crate::projection`); `None`: the default projection.
    pub project: Option<Project>,
    /// Its pre-run check (`crate::prerun`): what `plan --resolve` finds
    /// wrong with an instance of it before the run.
    pub check: Option<Check>,
}

impl Binding {
    const fn new(name: &'static str, run: Run) -> Binding {
        Binding {
            name,
            run,
            created: None,
            twins: None,
            looks_first: false,
            project: None,
            check: None,
        }
    }

    const fn checks(mut self, f: Check) -> Binding {
        self.check = Some(f);
        self
    }

    const fn projects(mut self, f: Project) -> Binding {
        self.project = Some(f);
        self
    }

    const fn created(mut self, f: Created) -> Binding {
        self.created = Some(f);
        self
    }

    const fn twins(mut self, f: Twins) -> Binding {
        self.twins = Some(f);
        self
    }

    const fn looks_first(mut self) -> Binding {
        self.looks_first = true;
        self
    }
}

/// `run!(|cx| EXPR)`: a [`Run`] whose future is EXPR (a future of the
/// call's output).
macro_rules! run {
    (|$cx:ident| $body:expr) => {{
        fn f<'a>($cx: &'a Ctx<'a>) -> Fut<'a, ActionOutput> {
            Box::pin($body)
        }
        f
    }};
}

/// `check!(|seen| EXPR)`: a [`Check`] whose future is EXPR (a future of
/// the findings).
macro_rules! check {
    (|$seen:ident| $body:expr) => {{
        fn f<'a>($seen: &'a crate::prerun::Seen<'a>) -> crate::prerun::CheckFut<'a> {
            Box::pin($body)
        }
        f
    }};
}

/// `twins!(|cx, kept| EXPR)`: a [`Twins`] likewise.
macro_rules! twins {
    (|$cx:ident, $kept:ident| $body:expr) => {{
        fn f<'a>(
            $cx: &'a Ctx<'a>,
            $kept: &'a serde_json::Value,
        ) -> Fut<'a, Vec<serde_json::Value>> {
            Box::pin($body)
        }
        f
    }};
}

/// `created!(|cx| EXPR)`: a [`Created`] likewise.
macro_rules! created {
    (|$cx:ident| $body:expr) => {{
        fn f<'a>($cx: &'a Ctx<'a>) -> Fut<'a, Option<ActionOutput>> {
            Box::pin($body)
        }
        f
    }};
}

const BINDINGS: &[Binding] = &[
    // Nova: servers, their power and freeze, images, groups, keypairs.
    Binding::new("nova.find_servers", run!(|cx| nova::find_servers(cx)))
        .checks(check!(|seen| nova::check_find_servers(seen))),
    Binding::new("nova.show_server", run!(|cx| nova::show_server(cx)))
        .projects(nova::planned_show_server),
    Binding::new("nova.pause", run!(|cx| nova::power(cx, "pause", "PAUSED"))),
    Binding::new(
        "nova.unpause",
        run!(|cx| nova::power(cx, "unpause", "ACTIVE")),
    ),
    Binding::new(
        "nova.suspend",
        run!(|cx| nova::power(cx, "suspend", "SUSPENDED")),
    ),
    Binding::new(
        "nova.resume",
        run!(|cx| nova::power(cx, "resume", "ACTIVE")),
    ),
    Binding::new(
        "nova.stop",
        run!(|cx| nova::power(cx, "os-stop", "SHUTOFF")),
    ),
    Binding::new("nova.start", run!(|cx| nova::start(cx))),
    Binding::new("nova.quiesce", run!(|cx| nova::quiesce(cx, "quiesce")))
        .checks(check!(|seen| nova::check_quiesce(seen))),
    Binding::new("nova.unquiesce", run!(|cx| nova::quiesce(cx, "unquiesce"))),
    Binding::new("nova.fence", run!(|cx| fencing::fence(cx))),
    Binding::new("nova.unfence", run!(|cx| fencing::unfence(cx))),
    Binding::new("nova.retire", run!(|cx| fencing::retire(cx))),
    Binding::new("nova.create_image", run!(|cx| nova::create_image(cx)))
        .created(created!(|cx| nova::create_image_created(cx)))
        .twins(twins!(|cx, kept| nova::image_twins(cx, kept)))
        .projects(nova::planned_image),
    Binding::new(
        "nova.boot_from_volume",
        run!(|cx| nova::boot_from_volume(cx)),
    )
    .created(created!(|cx| nova::boot_from_volume_created(cx))),
    Binding::new("nova.attach_volume", run!(|cx| nova::attach_volume(cx))),
    Binding::new("nova.detach_volume", run!(|cx| nova::detach_volume(cx))),
    Binding::new("nova.delete_server", run!(|cx| nova::delete_server(cx))),
    Binding::new(
        "nova.recreate_server_groups",
        run!(|cx| nova::recreate_server_groups(cx)),
    )
    .twins(twins!(|cx, kept| nova::server_group_twins(cx, kept)))
    .looks_first(),
    Binding::new(
        "nova.delete_server_groups",
        run!(|cx| nova::delete_server_groups(cx)),
    ),
    Binding::new(
        "nova.recreate_keypairs",
        run!(|cx| nova::recreate_keypairs(cx)),
    )
    .looks_first(),
    Binding::new("nova.delete_keypairs", run!(|cx| nova::delete_keypairs(cx))),
    // Designate: the service's name.
    Binding::new("designate.redirect", run!(|cx| designate::redirect(cx))),
    Binding::new("designate.set_ttl", run!(|cx| designate::set_ttl(cx))),
    Binding::new("designate.restore", run!(|cx| designate::restore(cx))),
    // Neutron: the network identity.
    Binding::new("neutron.capture", run!(|cx| identity::capture(cx))),
    Binding::new("neutron.compare_identity", run!(|cx| identity::compare(cx))),
    Binding::new(
        "neutron.remap_address_pairs",
        run!(|cx| neutron::remap_address_pairs(cx)),
    ),
    Binding::new(
        "neutron.recreate_security_groups",
        run!(|cx| neutron::recreate_security_groups(cx)),
    )
    .twins(twins!(|cx, kept| neutron::security_group_twins(cx, kept)))
    .looks_first(),
    Binding::new(
        "neutron.delete_security_groups",
        run!(|cx| neutron::delete_security_groups(cx)),
    ),
    Binding::new(
        "neutron.recreate_port",
        run!(|cx| neutron::recreate_port(cx)),
    )
    .created(created!(|cx| neutron::port_created(cx)))
    .twins(twins!(|cx, kept| neutron::port_twins(cx, kept))),
    Binding::new("neutron.retire_port", run!(|cx| neutron::retire_port(cx))),
    Binding::new("neutron.delete_port", run!(|cx| neutron::delete_port(cx))),
    Binding::new(
        "neutron.recreate_floating_ip",
        run!(|cx| neutron::recreate_floating_ip(cx)),
    )
    .created(created!(|cx| neutron::floating_ip_created(cx)))
    .twins(twins!(|cx, kept| neutron::floating_ip_twins(cx, kept))),
    Binding::new(
        "neutron.delete_floating_ip",
        run!(|cx| neutron::delete_floating_ip(cx)),
    ),
    // Cinder: volumes, groups, snapshots, backups, replication.
    Binding::new("cinder.volumes_of", run!(|cx| cinder::volumes_of(cx))),
    Binding::new("cinder.show_volume", run!(|cx| cinder::show_volume(cx)))
        .projects(cinder::planned_show_volume),
    Binding::new("cinder.ensure_group", run!(|cx| cinder::ensure_group(cx)))
        .created(created!(|cx| cinder::ensure_group_created(cx)))
        .projects(cinder::planned_group)
        .checks(check!(|seen| cinder::check_ensure_group(seen))),
    Binding::new("cinder.delete_group", run!(|cx| cinder::delete_group(cx))),
    Binding::new(
        "cinder.create_group_snapshot",
        run!(|cx| cinder::create_group_snapshot(cx)),
    )
    .created(created!(|cx| cinder::group_snapshot_created(cx)))
    .projects(cinder::planned_group_snapshot),
    Binding::new(
        "cinder.delete_group_snapshot",
        run!(|cx| cinder::delete_group_snapshot(cx)),
    ),
    Binding::new("cinder.show_snapshot", run!(|cx| cinder::show_snapshot(cx)))
        .projects(cinder::planned_show_snapshot),
    Binding::new(
        "cinder.create_snapshot",
        run!(|cx| cinder::create_snapshot(cx)),
    )
    .created(created!(|cx| cinder::snapshot_created(cx)))
    .twins(twins!(|cx, kept| cinder::snapshot_twins(cx, kept))),
    Binding::new(
        "cinder.delete_snapshot",
        run!(|cx| cinder::delete_snapshot(cx)),
    ),
    Binding::new(
        "cinder.volume_from_snapshot",
        run!(|cx| cinder::volume_from_snapshot(cx)),
    )
    .created(created!(|cx| cinder::volume_created(cx)))
    .twins(twins!(|cx, kept| cinder::volume_twins(cx, kept)))
    .projects(cinder::planned_volume_from_snapshot),
    Binding::new("cinder.delete_volume", run!(|cx| cinder::delete_volume(cx))),
    Binding::new("cinder.backup", run!(|cx| cinder::backup(cx)))
        .created(created!(|cx| cinder::backup_created(cx)))
        .twins(twins!(|cx, kept| cinder::backup_twins(cx, kept)))
        .projects(cinder::planned_backup),
    Binding::new("cinder.delete_backup", run!(|cx| cinder::delete_backup(cx))),
    Binding::new(
        "cinder.delete_backup_id",
        run!(|cx| retention::delete_backup_id(cx)),
    ),
    Binding::new("cinder.export_backup", run!(|cx| cinder::export_backup(cx))),
    Binding::new("cinder.import_backup", run!(|cx| cinder::import_backup(cx)))
        .created(created!(|cx| cinder::import_created(cx))),
    Binding::new(
        "cinder.restore_backup",
        run!(|cx| cinder::restore_backup(cx)),
    )
    .created(created!(|cx| cinder::volume_created(cx)))
    .twins(twins!(|cx, kept| cinder::restore_twins(cx, kept)))
    .projects(cinder::planned_restore),
    Binding::new("cinder.retype", run!(|cx| cinder::retype(cx))).projects(cinder::planned_retype),
    Binding::new("cinder.replica_of", run!(|cx| cinder::replica_of(cx))),
    Binding::new("cinder.check_replica", run!(|cx| cinder::check_replica(cx))),
    Binding::new(
        "cinder.manage_existing",
        run!(|cx| cinder::manage_existing(cx)),
    )
    .created(created!(|cx| cinder::volume_created(cx))),
    Binding::new("cinder.unmanage", run!(|cx| cinder::unmanage(cx))),
    Binding::new("cinder.failover_host", run!(|cx| cinder::failover_host(cx))),
    Binding::new(
        "cinder.failover_group",
        run!(|cx| cinder::failover_group(cx)),
    ),
    // Glance: images.
    Binding::new("glance.show_image", run!(|cx| glance::show_image(cx)))
        .projects(glance::planned_show_image),
    Binding::new(
        "glance.image_snapshots",
        run!(|cx| glance::image_snapshots(cx)),
    )
    .projects(glance::planned_image_snapshots),
    Binding::new("glance.delete_image", run!(|cx| glance::delete_image(cx))),
    // Swift: objects and container sync.
    Binding::new("swift.put_object", run!(|cx| swift::put_object(cx)))
        .created(created!(|cx| swift::put_created(cx))),
    Binding::new("swift.get_object", run!(|cx| swift::get_object(cx))),
    Binding::new("swift.delete_object", run!(|cx| swift::delete_object(cx))),
    Binding::new(
        "swift.replicate_container",
        run!(|cx| swift::replicate_container(cx)),
    ),
    Binding::new(
        "swift.stop_replication",
        run!(|cx| swift::stop_replication(cx)),
    ),
    Binding::new("swift.check_replica", run!(|cx| swift::check_replica(cx))),
    // Lifeboat's own: target checks, mappings, manifests, hooks.
    Binding::new(
        "lifeboat.check_target",
        run!(|cx| identity::check_target(cx)),
    )
    .checks(check!(|seen| identity::check_check_target(seen))),
    Binding::new(
        "lifeboat.read_mapping",
        run!(|cx| mapping::read_mapping(cx)),
    )
    .checks(check!(|seen| mapping::check_mapping(seen))),
    Binding::new(
        "lifeboat.apply_mapping",
        run!(|cx| mapping::apply_mapping(cx)),
    )
    .checks(check!(|seen| mapping::check_mapping(seen))),
    Binding::new(
        "lifeboat.write_manifest",
        run!(|cx| lifeboat::write_manifest(cx)),
    )
    .created(created!(|cx| lifeboat::manifest_created(cx)))
    .checks(check!(|seen| lifeboat::check_write_manifest(seen))),
    Binding::new(
        "lifeboat.read_manifest",
        run!(|cx| lifeboat::read_manifest(cx)),
    )
    .checks(check!(|seen| lifeboat::check_read_manifest(seen))),
    Binding::new(
        "lifeboat.mark_verified",
        run!(|cx| lifeboat::points::mark_verified(cx)),
    ),
    Binding::new(
        "lifeboat.withdraw_manifest",
        run!(|cx| lifeboat::points::withdraw_manifest(cx)),
    ),
    Binding::new(
        "lifeboat.delete_manifest",
        run!(|cx| retention::delete_manifest(cx)),
    ),
    Binding::new(
        "lifeboat.volume_for",
        run!(|cx| std::future::ready(lifeboat::volume_for(cx))),
    )
    .projects(lifeboat::planned_volume_for),
    Binding::new("lifeboat.verify", run!(|cx| lifeboat::verify(cx))),
    Binding::new("lifeboat.hook", run!(|cx| lifeboat::hook(cx))),
    Binding::new(
        "lifeboat.hook_freeze",
        run!(|cx| lifeboat::hook_server(cx, "freeze")),
    )
    .checks(check!(|seen| lifeboat::check_hook_freeze(seen))),
    Binding::new(
        "lifeboat.hook_thaw",
        run!(|cx| lifeboat::hook_server(cx, "thaw")),
    ),
];

/// The binding of `action`, if it is implemented.
pub(crate) fn binding(action: &str) -> Option<&'static Binding> {
    static BY_NAME: OnceLock<HashMap<&'static str, &'static Binding>> = OnceLock::new();
    BY_NAME
        .get_or_init(|| BINDINGS.iter().map(|b| (b.name, b)).collect())
        .get(action)
        .copied()
}

/// The action catalogue (`stdlib/*.dr`), read once.
pub fn catalogue() -> &'static lifeboat_dsl::catalogue::Catalogue {
    static CATALOGUE: OnceLock<lifeboat_dsl::catalogue::Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(lifeboat_dsl::stdlib::catalogue)
}

/// Every action this crate carries out.
pub fn implemented() -> impl Iterator<Item = &'static str> {
    BINDINGS.iter().map(|b| b.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue and the table name the same actions, each once.
    #[test]
    fn every_catalogue_action_is_bound_once_and_nothing_else_is() {
        let mut declared: Vec<String> = lifeboat_dsl::stdlib::catalogue()
            .actions
            .into_keys()
            .collect();
        declared.sort();
        let mut bound: Vec<&str> = implemented().collect();
        bound.sort();
        let n = bound.len();
        bound.dedup();
        assert_eq!(n, bound.len(), "an action bound twice");
        assert!(!declared.is_empty(), "the catalogue declares no action");
        assert_eq!(declared, bound);
    }
}
