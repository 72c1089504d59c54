//! Sessions by visitor: the query finds a visitor's earlier visits of the day (what the visits after today's
//! settled part add to its anonymous visitors, collector/src/query/settled.rs) through this index, a few rows
//! per visitor instead of the day's sessions.
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000008_sessions_by_visitor"
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    SiteId,
    Visitor,
    StartedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_visitor")
                    .table(Sessions::Table)
                    .col(Sessions::SiteId)
                    .col(Sessions::Visitor)
                    .col(Sessions::StartedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_sessions_visitor").table(Sessions::Table).to_owned()).await
    }
}
