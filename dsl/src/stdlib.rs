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
