//! Keypairs: the recorded public keys imported where the target lacks
//! them; deleted.

use super::*;

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
