//! The bundled runbooks (`workflows/`), embedded in the binary.
//!
//! `lifeboat plan option1/protect` names `workflows/option1/protect.dr`;
//! [`resolve`] does that mapping and [`crate::loader::BundledLoader`] serves
//! the texts (and their imports, e.g. `workflows/common.dr`).

/// `(path, text)` of every bundled runbook file.
pub const WORKFLOWS: &[(&str, &str)] = &[
    (
        "workflows/common.dr",
        include_str!("../../workflows/common.dr"),
    ),
    (
        "workflows/option1/protect.dr",
        include_str!("../../workflows/option1/protect.dr"),
    ),
    (
        "workflows/option1/recover.dr",
        include_str!("../../workflows/option1/recover.dr"),
    ),
    (
        "workflows/option1/restore.dr",
        include_str!("../../workflows/option1/restore.dr"),
    ),
    (
        "workflows/option1/point.dr",
        include_str!("../../workflows/option1/point.dr"),
    ),
    (
        "workflows/option1/reprotect.dr",
        include_str!("../../workflows/option1/reprotect.dr"),
    ),
    (
        "workflows/option1/migrate.dr",
        include_str!("../../workflows/option1/migrate.dr"),
    ),
    (
        "workflows/option1/drill.dr",
        include_str!("../../workflows/option1/drill.dr"),
    ),
    (
        "workflows/option2/protect.dr",
        include_str!("../../workflows/option2/protect.dr"),
    ),
    (
        "workflows/option2/recover.dr",
        include_str!("../../workflows/option2/recover.dr"),
    ),
    (
        "workflows/option2/drill.dr",
        include_str!("../../workflows/option2/drill.dr"),
    ),
    (
        "workflows/option2/point.dr",
        include_str!("../../workflows/option2/point.dr"),
    ),
    (
        "workflows/option2/restore.dr",
        include_str!("../../workflows/option2/restore.dr"),
    ),
    (
        "workflows/option2/migrate.dr",
        include_str!("../../workflows/option2/migrate.dr"),
    ),
    (
        "workflows/option2/reprotect.dr",
        include_str!("../../workflows/option2/reprotect.dr"),
    ),
    (
        "workflows/fencing/fence.dr",
        include_str!("../../workflows/fencing/fence.dr"),
    ),
    (
        "workflows/fencing/unfence.dr",
        include_str!("../../workflows/fencing/unfence.dr"),
    ),
    (
        "workflows/option3/prepare.dr",
        include_str!("../../workflows/option3/prepare.dr"),
    ),
    (
        "workflows/option3/replicate.dr",
        include_str!("../../workflows/option3/replicate.dr"),
    ),
    (
        "workflows/option3/reprotect.dr",
        include_str!("../../workflows/option3/reprotect.dr"),
    ),
    (
        "workflows/option3/failover.dr",
        include_str!("../../workflows/option3/failover.dr"),
    ),
    (
        "workflows/option3/drill.dr",
        include_str!("../../workflows/option3/drill.dr"),
    ),
];

/// The path of a bundled runbook by short name (`option1/protect`), or `None`.
pub fn resolve(short: &str) -> Option<&'static str> {
    let short = short
        .trim_end_matches(".dr")
        .trim_start_matches("workflows/");
    WORKFLOWS
        .iter()
        .map(|(p, _)| *p)
        .find(|p| p.trim_start_matches("workflows/").trim_end_matches(".dr") == short)
}

/// Short names of the bundled runbooks (not the files of procedures).
pub fn names() -> Vec<&'static str> {
    WORKFLOWS
        .iter()
        // Files of procedures only (common.dr, option1/restore.dr) are
        // imported, not run.
        .filter(|(_, t)| t.lines().any(|l| l.starts_with("runbook ")))
        .map(|(p, _)| p.trim_start_matches("workflows/").trim_end_matches(".dr"))
        .collect()
}
