//! Group snapshots: one crash-consistent snapshot of a group.

use super::*;

impl Cinder<'_> {
    pub async fn group_snapshot(&self, id: &str) -> Result<GroupSnapshot> {
        let b: GroupSnapshotBody = self
            .req(
                MV_GROUP_SNAPSHOTS,
                Method::GET,
                format!("group_snapshots/{id}"),
            )
            .call("GET /group_snapshots/{id}")
            .resource(format!("group snapshot {id}"))
            .send_json()
            .await?;
        Ok(b.group_snapshot)
    }

    pub async fn group_snapshots(&self) -> Result<Vec<GroupSnapshot>> {
        let items = self
            .req(MV_GROUP_SNAPSHOTS, Method::GET, "group_snapshots/detail")
            .call("GET /group_snapshots/detail")
            .resource("group snapshots")
            .send_paged("group_snapshots")
            .await?;
        parse_items(self.c, "GET /group_snapshots/detail", items)
    }

    pub async fn create_group_snapshot(&self, group_id: &str, name: &str) -> Result<GroupSnapshot> {
        let b: GroupSnapshotBody = self
            .req(MV_GROUP_SNAPSHOTS, Method::POST, "group_snapshots")
            .json(to_value(&CreateGroupSnapshot {
                group_snapshot: GroupSnapshotSpec {
                    group_id,
                    name,
                    description: "lifeboat",
                },
            }))
            .call("POST /group_snapshots")
            .resource(format!("group snapshot {name} of group {group_id}"))
            .send_json()
            .await?;
        Ok(b.group_snapshot)
    }

    pub async fn delete_group_snapshot(&self, id: &str) -> Result<()> {
        self.req(
            MV_GROUP_SNAPSHOTS,
            Method::DELETE,
            format!("group_snapshots/{id}"),
        )
        .call("DELETE /group_snapshots/{id}")
        .resource(format!("group snapshot {id}"))
        .send()
        .await?;
        Ok(())
    }
}
