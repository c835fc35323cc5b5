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
            diags.push(Diagnostic::at(
                s.call.name.loc,
                Kind::UndoNotArranged {
                    action: sig.name.clone(),
                },
            ));
        }
    }
}
