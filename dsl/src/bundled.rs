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
        "workflows/retention/expire.dr",
        include_str!("../../workflows/retention/expire.dr"),
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

/// The plan of the bundled runbook `short` (`fencing/fence`), compiled from
/// the embedded texts: how the daemon gets the runbooks it runs itself.
/// `Err` names the runbook and its first errors.
pub fn plan(short: &str) -> Result<crate::plan::Plan, String> {
    let path = resolve(short).ok_or_else(|| format!("no bundled runbook `{short}`"))?;
    let c = crate::compiler::compile(path, &crate::loader::BundledLoader)?;
    if c.has_errors() {
        let errors: Vec<String> = c
            .diagnostics
            .list
            .iter()
            .take(3)
            .map(|d| d.one_line(&c.sources))
            .collect();
        return Err(format!(
            "the bundled runbook {short} does not compile: {}",
            errors.join("; ")
        ));
    }
    c.plan(None).cloned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bundled_runbook_compiles_by_its_short_name_and_an_unknown_one_is_named() {
        let p = super::plan("retention/expire").expect("compiles");
        assert_eq!(p.runbook, "expire");
        assert_eq!(
            super::plan("fencing/nope").unwrap_err(),
            "no bundled runbook `fencing/nope`"
        );
    }
}
