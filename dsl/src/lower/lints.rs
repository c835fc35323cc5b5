//! Warnings about plans that compile but deserve a second look.

use super::*;

impl<'a> Lowerer<'a> {
    pub(super) fn warn_unarranged_undo(&self, diags: &mut Diagnostics) {
        for n in &self.nodes {
            let DraftKind::Action(s, Some(sig)) = n.kind else {
                continue;
            };
            if sig.effect != Effect::Mutate || !matches!(sig.undo, Undo::Missing) {
                continue;
            }
            if s.attrs
                .iter()
                .any(|a| matches!(a, Attr::Compensate(..) | Attr::Cleanup(..)))
            {
                continue;
            }
            diags.push(
                Diagnostic::new(Kind::UndoNotArranged, s.call.name.loc, format!("nothing undoes `{}` if the run fails", sig.name), "changes the cloud with no way back")
                    .help("add `compensate CALL` or `cleanup CALL`, or declare `undo none` in the catalogue if nothing needs taking back"),
            );
        }
    }
}
