//! Backups: show, list, create, delete, metadata, export and import of
//! their records, restore.

use super::*;

impl Cinder<'_> {
    pub async fn backup(&self, id: &str) -> Result<Backup> {
        let b: BackupBody = self
            .req(MV_BACKUPS, Method::GET, format!("backups/{id}"))
            .call("GET /backups/{id}")
            .resource(format!("backup {id}"))
            .send_json()
            .await?;
        Ok(b.backup)
    }

    pub async fn backups(&self, filters: &[(&str, String)]) -> Result<Vec<Backup>> {
        let mut r = self
            .req(MV_BACKUPS, Method::GET, "backups/detail")
            .call("GET /backups/detail")
            .resource("backups");
        for (k, v) in filters {
            r = r.query(k, v.clone());
        }
        parse_items(
            self.c,
            "GET /backups/detail",
            r.send_paged("backups").await?,
        )
    }

    /// Back up `volume_id` (or its snapshot `snapshot_id`); the backup's id.
    pub async fn create_backup(
        &self,
        volume_id: &str,
        snapshot_id: Option<&str>,
        name: &str,
        incremental: bool,
        container: &str,
        metadata: &Map<String, Value>,
    ) -> Result<String> {
        let body = CreateBackup {
            backup: BackupSpec {
                volume_id,
                snapshot_id,
                name,
                incremental,
                force: true,
                container: Some(container).filter(|c| !c.is_empty()),
                metadata,
            },
        };
        let v: Value = self
            .req(MV_BACKUPS, Method::POST, "backups")
            .json(to_value(&body))
            .call("POST /backups")
            .resource(format!("backup {name} of volume {volume_id}"))
            .send_json()
            .await?;
        v.pointer("/backup/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| self.decode("POST /backups", name, "the answer has no backup.id"))
    }

    pub async fn delete_backup(&self, id: &str) -> Result<()> {
        self.req(MV_BACKUPS, Method::DELETE, format!("backups/{id}"))
            .call("DELETE /backups/{id}")
            .resource(format!("backup {id}"))
            .send()
            .await?;
        Ok(())
    }

    pub async fn set_backup_metadata(&self, id: &str, metadata: &Map<String, Value>) -> Result<()> {
        self.req(MV_BACKUPS, Method::PUT, format!("backups/{id}"))
            .json(json!({"backup": {"metadata": metadata}}))
            .call("PUT /backups/{id} metadata")
            .resource(format!("backup {id}"))
            .send()
            .await?;
        Ok(())
    }

    pub async fn export_backup(&self, id: &str) -> Result<BackupRecord> {
        let b: BackupRecordBody = self
            .req(
                MV_BACKUPS,
                Method::GET,
                format!("backups/{id}/export_record"),
            )
            .call("GET /backups/{id}/export_record")
            .resource(format!("backup {id}"))
            .send_json()
            .await?;
        Ok(b.backup_record)
    }

    /// Import an exported record; the backup's id at this site.
    pub async fn import_backup(&self, record: &BackupRecord) -> Result<String> {
        let b: ImportedBackupBody = self
            .req(MV_BACKUPS, Method::POST, "backups/import_record")
            .json(to_value(&ImportRecord {
                backup_record: record,
            }))
            .call("POST /backups/import_record")
            .resource(format!("backup record ({})", record.backup_service))
            .send_json()
            .await?;
        Ok(b.backup.id)
    }

    /// Restore into a new volume named `name` (or into `volume_id`).
    pub async fn restore_backup(
        &self,
        id: &str,
        name: Option<&str>,
        volume_id: Option<&str>,
    ) -> Result<Restore> {
        let body = RestoreBackup {
            restore: RestoreSpec { name, volume_id },
        };
        let b: RestoreBody = self
            .req(MV_BACKUPS, Method::POST, format!("backups/{id}/restore"))
            .json(to_value(&body))
            .call("POST /backups/{id}/restore")
            .resource(format!("backup {id}"))
            .send_json()
            .await?;
        Ok(b.restore)
    }
}
