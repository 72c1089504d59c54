//! Settled parts with returns: today's settled part of the visitors now keeps its identified users' returns
//! (`identified_returns`), which queries sum instead of looking each user up in the earlier days. A settled part
//! built before this has none, so each is marked dirty: it is read raw until the rollup job builds it again.
//! A settled part is the visitor rollup row of a UTC day that ends before the day does (at its cut); a whole
//! day's row ends at midnight.
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000009_settled_returns"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE visitor_rollup_days SET dirty = TRUE, version = version + 1 WHERE day_end % 86400000 <> 0",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Nothing to undo: dirty parts are rebuilt, with or without returns.
        Ok(())
    }
}
