//! Visitor rollups: distinct anonymous visitors per UTC day, whole and split at the site's local midnight.
//!
//! Anonymous visitor hashes change every UTC day, so visitors of different UTC days never overlap and their
//! counts add up exactly; within one UTC day they do not, so the day is stored whole and per local-day piece
//! (see collector/src/query/visitors.rs). Identified users are counted from sessions, helped by a partial
//! index on identified sessions.
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000005_visitor_rollups"
    }
}

#[derive(DeriveIden)]
enum VisitorRollups {
    Table,
    SiteId,
    Day,
    Piece,
    Dimension,
    Value,
    Visitors,
}

#[derive(DeriveIden)]
enum VisitorRollupDays {
    Table,
    SiteId,
    Day,
    DayStart,
    DayEnd,
    Dirty,
    Version,
    BuiltAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(VisitorRollups::Table)
                    .col(ColumnDef::new(VisitorRollups::SiteId).big_integer().not_null())
                    // UTC day, YYYY-MM-DD.
                    .col(ColumnDef::new(VisitorRollups::Day).string_len(10).not_null())
                    // '' = the whole UTC day; else the site's local day of this part of it.
                    .col(ColumnDef::new(VisitorRollups::Piece).string_len(10).not_null())
                    .col(ColumnDef::new(VisitorRollups::Dimension).string_len(32).not_null())
                    .col(ColumnDef::new(VisitorRollups::Value).text().not_null())
                    .col(ColumnDef::new(VisitorRollups::Visitors).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(VisitorRollups::SiteId)
                            .col(VisitorRollups::Dimension)
                            .col(VisitorRollups::Day)
                            .col(VisitorRollups::Piece)
                            .col(VisitorRollups::Value),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VisitorRollupDays::Table)
                    .col(ColumnDef::new(VisitorRollupDays::SiteId).big_integer().not_null())
                    .col(ColumnDef::new(VisitorRollupDays::Day).string_len(10).not_null())
                    .col(ColumnDef::new(VisitorRollupDays::DayStart).big_integer().not_null())
                    .col(ColumnDef::new(VisitorRollupDays::DayEnd).big_integer().not_null())
                    .col(ColumnDef::new(VisitorRollupDays::Dirty).boolean().not_null().default(false))
                    .col(ColumnDef::new(VisitorRollupDays::Version).big_integer().not_null().default(0))
                    .col(ColumnDef::new(VisitorRollupDays::BuiltAt).big_integer().not_null())
                    .primary_key(Index::create().col(VisitorRollupDays::SiteId).col(VisitorRollupDays::Day))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_visitor_rollup_days_end")
                    .table(VisitorRollupDays::Table)
                    .col(VisitorRollupDays::SiteId)
                    .col(VisitorRollupDays::DayEnd)
                    .to_owned(),
            )
            .await?;
        // Partial indexes are spelled the same on both databases.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_sessions_identified ON sessions (site_id, started_at) WHERE user_hash IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX idx_sessions_identified").await?;
        manager.drop_table(Table::drop().table(VisitorRollupDays::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(VisitorRollups::Table).to_owned()).await
    }
}
