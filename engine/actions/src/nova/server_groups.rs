//! Server groups: recreated from a network identity with their policy;
//! deleted.

use super::*;

/// `nova.recreate_server_groups(site, identity)`: each recorded group with
/// its policy, by name (one there already is used).
pub async fn recreate_server_groups(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let c = cx.client_for_call()?;
    let id: NetworkIdentityRec = cx.args.record("identity")?;
    let existing = c.nova().server_groups().await.act(cx.action())?;
    let mut out = Vec::new();
    for w in &id.server_groups {
        let name = resource_name(cx.call, &w.name);
        let (gid, policy, created) = match existing.iter().find(|g| g.name == name) {
            Some(g) => (g.id.clone(), g.policy.clone(), true),
            None => {
                let g = c
                    .nova()
                    .create_server_group(&name, &w.policy)
                    .await
                    .act(cx.action())?;
                (g.id, g.policy, true)
            }
        };
        out.push(ServerGroupRec {
            id: gid,
            name,
            site: c.site().to_string(),
            policy,
            members: w.members.clone(),
            created,
        });
    }
    cx.value(out)
}

/// The twins of the groups a call made (`kept`): each other group with
/// one of the names it gives, as a list of one (the undo's shape).
pub async fn server_group_twins(
    cx: &Ctx<'_>,
    kept: &serde_json::Value,
) -> Result<Vec<serde_json::Value>, ActionError> {
    let c = cx.client_for_call()?;
    let id: NetworkIdentityRec = cx.args.record("identity")?;
    let kept = kept_ids(kept);
    let names: Vec<String> = id
        .server_groups
        .iter()
        .map(|w| resource_name(cx.call, &w.name))
        .collect();
    c.nova()
        .server_groups()
        .await
        .act(cx.action())?
        .into_iter()
        .filter(|g| names.contains(&g.name) && !kept.contains(&g.id.as_str()))
        .map(|g| {
            vec![ServerGroupRec {
                id: g.id,
                name: g.name,
                site: c.site().to_string(),
                policy: g.policy,
                members: Vec::new(),
                created: true,
            }]
        })
        .map(|t| Ok(cx.value(t)?.value))
        .collect()
}

pub async fn delete_server_groups(cx: &Ctx<'_>) -> Result<ActionOutput, ActionError> {
    let groups: Vec<ServerGroupRec> = cx.args.list("groups")?;
    for g in groups.iter().filter(|g| g.created) {
        let c = cx.acts.client(&g.site)?;
        c.nova().delete_server_group(&g.id).await.act(cx.action())?;
    }
    cx.value(groups)
}
