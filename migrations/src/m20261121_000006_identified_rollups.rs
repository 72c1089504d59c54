//! Identified-user rollups: which identified users (by their keyed user hash) each dimension value had, per
//! piece of UTC day that lies in one of the site's local days.
//!
//! An identified user is one visitor across days, so their counts do not add up the way anonymous visitors'
//! do (see 000005): the rows keep the users themselves, and a range counts the distinct users of its pieces.
//! The pieces share `visitor_rollup_days`' bookkeeping (a UTC day is built, dirtied and cleaned as one), and
//! rows go with the user when they are erased or their sessions expire (see collector/src/jobs/retention.rs).
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000006_identified_rollups"
    }
}

#[derive(DeriveIden)]
enum IdentifiedRollups {
    Table,
    SiteId,
    Day,
    PieceStart,
    Dimension,
    Value,
    UserHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdentifiedRollups::Table)
                    .col(ColumnDef::new(IdentifiedRollups::SiteId).big_integer().not_null())
                    // UTC day, YYYY-MM-DD (the unit of building, as in visitor_rollup_days).
                    .col(ColumnDef::new(IdentifiedRollups::Day).string_len(10).not_null())
                    // Epoch ms where this piece of the UTC day starts; the piece lies in one local day.
                    .col(ColumnDef::new(IdentifiedRollups::PieceStart).big_integer().not_null())
                    .col(ColumnDef::new(IdentifiedRollups::Dimension).string_len(32).not_null())
                    .col(ColumnDef::new(IdentifiedRollups::Value).text().not_null())
                    .col(ColumnDef::new(IdentifiedRollups::UserHash).string_len(64).not_null())
                    .primary_key(
                        Index::create()
                            .col(IdentifiedRollups::SiteId)
                            .col(IdentifiedRollups::Dimension)
                            .col(IdentifiedRollups::PieceStart)
                            .col(IdentifiedRollups::Value)
                            .col(IdentifiedRollups::UserHash),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_identified_rollups_day", IdentifiedRollups::Day),
            ("idx_identified_rollups_user", IdentifiedRollups::UserHash),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(IdentifiedRollups::Table)
                        .col(IdentifiedRollups::SiteId)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        // Days built before this table existed have no identified rows: rebuild those whose raw data is
        // still there (older ones keep their anonymous counts; their identified users were already gone).
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE visitor_rollup_days SET dirty = TRUE, version = version + 1 \
                 WHERE day_end > (SELECT MIN(ts) FROM events WHERE events.site_id = visitor_rollup_days.site_id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdentifiedRollups::Table).to_owned()).await
    }
}
