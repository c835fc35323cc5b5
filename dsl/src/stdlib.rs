//! The action catalogue, embedded: `stdlib/*.dr` compiled into the crate.
//!
//! Every compilation reads these files first; their `type`, `action` and
//! `quiesce method` declarations make the [`crate::catalogue::Catalogue`].

/// `(path, text)` of every stdlib file, in load order.
pub const FILES: &[(&str, &str)] = &[
    ("stdlib/types.dr", include_str!("../../stdlib/types.dr")),
    ("stdlib/nova.dr", include_str!("../../stdlib/nova.dr")),
    ("stdlib/cinder.dr", include_str!("../../stdlib/cinder.dr")),
    ("stdlib/glance.dr", include_str!("../../stdlib/glance.dr")),
    ("stdlib/swift.dr", include_str!("../../stdlib/swift.dr")),
    ("stdlib/neutron.dr", include_str!("../../stdlib/neutron.dr")),
    (
        "stdlib/designate.dr",
        include_str!("../../stdlib/designate.dr"),
    ),
    (
        "stdlib/lifeboat.dr",
        include_str!("../../stdlib/lifeboat.dr"),
    ),
];

/// The catalogue the stdlib alone declares (what every runbook sees before
/// its own declarations): for the tools that list or check the actions.
pub fn catalogue() -> crate::catalogue::Catalogue {
    let mut sources = crate::source::SourceMap::default();
    let files: Vec<crate::ast::File> = FILES
        .iter()
        .filter_map(|(path, text)| {
            let id = sources.add(*path, *text);
            crate::parser::parse(id, sources.get(id)).ok()
        })
        .collect();
    let mut diags = crate::diagnostic::Diagnostics::default();
    crate::catalogue::Catalogue::build(files.iter(), &mut diags)
}
