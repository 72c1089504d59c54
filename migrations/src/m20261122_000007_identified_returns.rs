//! Identified users' returns: per piece of UTC day, dimension value and earlier piece, how many of the piece's
//! identified users (with that value) were last seen at that earlier piece (0: never). A range then counts its
//! distinct identified users as a sum instead of de-duplicating every user row of `identified_rollups` (see
//! collector/src/query/returns.rs). Derived from `identified_rollups`, which this migration fills it from.
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000007_identified_returns"
    }
}

#[derive(DeriveIden)]
enum IdentifiedReturns {
    Table,
    SiteId,
    Day,
    PieceStart,
    Dimension,
    Value,
    SeenBefore,
    Users,
}

#[derive(DeriveIden)]
enum IdentifiedRollups {
    Table,
    SiteId,
    UserHash,
    Dimension,
    Value,
    PieceStart,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdentifiedReturns::Table)
                    .col(ColumnDef::new(IdentifiedReturns::SiteId).big_integer().not_null())
                    // UTC day, YYYY-MM-DD: the unit of building, as in identified_rollups.
                    .col(ColumnDef::new(IdentifiedReturns::Day).string_len(10).not_null())
                    .col(ColumnDef::new(IdentifiedReturns::PieceStart).big_integer().not_null())
                    .col(ColumnDef::new(IdentifiedReturns::Dimension).string_len(32).not_null())
                    .col(ColumnDef::new(IdentifiedReturns::Value).text().not_null())
                    // piece_start of the same user's previous piece with this value; 0 if none.
                    .col(ColumnDef::new(IdentifiedReturns::SeenBefore).big_integer().not_null())
                    .col(ColumnDef::new(IdentifiedReturns::Users).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(IdentifiedReturns::SiteId)
                            .col(IdentifiedReturns::Dimension)
                            .col(IdentifiedReturns::PieceStart)
                            .col(IdentifiedReturns::Value)
                            .col(IdentifiedReturns::SeenBefore),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_identified_returns_day")
                    .table(IdentifiedReturns::Table)
                    .col(IdentifiedReturns::SiteId)
                    .col(IdentifiedReturns::Day)
                    .to_owned(),
            )
            .await?;
        // A query looks up today's identified users in the rolled-up days by (user, dimension, value, piece): the
        // user index grows those columns, so that both databases find the few rows of each user from it (SQLite
        // took the primary key's site_id alone and scanned every row of the site once per user).
        manager
            .drop_index(Index::drop().name("idx_identified_rollups_user").table(IdentifiedRollups::Table).to_owned())
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_identified_rollups_user_value")
                    .table(IdentifiedRollups::Table)
                    .col(IdentifiedRollups::SiteId)
                    .col(IdentifiedRollups::UserHash)
                    .col(IdentifiedRollups::Dimension)
                    .col(IdentifiedRollups::Value)
                    .col(IdentifiedRollups::PieceStart)
                    .to_owned(),
            )
            .await?;
        // Every user row already rolled up, with the piece where the same user had the same value before it.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO identified_returns (site_id, day, piece_start, dimension, value, seen_before, users) \
                 SELECT h.site_id, h.day, h.piece_start, h.dimension, h.value, h.seen_before, COUNT(*) FROM ( \
                   SELECT r.site_id, r.day, r.piece_start, r.dimension, r.value, \
                     COALESCE(LAG(r.piece_start) OVER \
                       (PARTITION BY r.site_id, r.dimension, r.value, r.user_hash ORDER BY r.piece_start), 0) \
                       AS seen_before \
                   FROM identified_rollups r) h \
                 GROUP BY h.site_id, h.day, h.piece_start, h.dimension, h.value, h.seen_before",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop().name("idx_identified_rollups_user_value").table(IdentifiedRollups::Table).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_identified_rollups_user")
                    .table(IdentifiedRollups::Table)
                    .col(IdentifiedRollups::SiteId)
                    .col(IdentifiedRollups::UserHash)
                    .to_owned(),
            )
            .await?;
        manager.drop_table(Table::drop().table(IdentifiedReturns::Table).to_owned()).await
    }
}
