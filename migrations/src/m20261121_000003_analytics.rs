//! Analytics: identities (first identification of a site's user = a conversion), daily rollups with the
//! bookkeeping that says which days they are exact for, per-site retention of identified data, and the indexes
//! the finaliser, per-user export/erasure and session lists need.
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000003_analytics"
    }
}

#[derive(DeriveIden)]
enum Sites {
    Table,
    IdentifiedRetentionDays,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    SiteId,
    EndedAt,
    LastSeen,
    UserHash,
}

#[derive(DeriveIden)]
enum Identities {
    Table,
    SiteId,
    UserHash,
    FirstSessionId,
    FirstSeen,
}

#[derive(DeriveIden)]
enum Rollups {
    Table,
    SiteId,
    Day,
    Dimension,
    Value,
    Pageviews,
    Interactions,
    EngagedMs,
    ScrollSum,
    ScrollN,
    Visits,
    Bounces,
    DurationMs,
    ScoreSum,
    Conversions,
}

#[derive(DeriveIden)]
enum RollupDays {
    Table,
    SiteId,
    Day,
    DayStart,
    DayEnd,
    Dirty,
    Version,
    BuiltAt,
}

fn big(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().default(0).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sites::Table)
                    // Identified users' events and sessions are kept this long (0 = as long as anonymous data).
                    .add_column(ColumnDef::new(Sites::IdentifiedRetentionDays).integer().not_null().default(365))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Identities::Table)
                    .col(ColumnDef::new(Identities::SiteId).big_integer().not_null())
                    .col(ColumnDef::new(Identities::UserHash).string_len(64).not_null())
                    .col(ColumnDef::new(Identities::FirstSessionId).big_integer().not_null())
                    .col(ColumnDef::new(Identities::FirstSeen).big_integer().not_null())
                    .primary_key(Index::create().col(Identities::SiteId).col(Identities::UserHash))
                    .to_owned(),
            )
            .await?;

        let mut rollups = Table::create();
        rollups
            .table(Rollups::Table)
            .col(ColumnDef::new(Rollups::SiteId).big_integer().not_null())
            // Local day in the site's time zone, YYYY-MM-DD.
            .col(ColumnDef::new(Rollups::Day).string_len(10).not_null())
            // '' for the site totals, else a dimension name of the query API.
            .col(ColumnDef::new(Rollups::Dimension).string_len(32).not_null())
            // '' stands for "no value".
            .col(ColumnDef::new(Rollups::Value).text().not_null());
        for col in [
            Rollups::Pageviews,
            Rollups::Interactions,
            Rollups::EngagedMs,
            Rollups::ScrollSum,
            Rollups::ScrollN,
            Rollups::Visits,
            Rollups::Bounces,
            Rollups::DurationMs,
            Rollups::ScoreSum,
            Rollups::Conversions,
        ] {
            rollups.col(big(col));
        }
        rollups.primary_key(
            Index::create().col(Rollups::SiteId).col(Rollups::Day).col(Rollups::Dimension).col(Rollups::Value),
        );
        manager.create_table(rollups.to_owned()).await?;

        manager
            .create_table(
                Table::create()
                    .table(RollupDays::Table)
                    .col(ColumnDef::new(RollupDays::SiteId).big_integer().not_null())
                    .col(ColumnDef::new(RollupDays::Day).string_len(10).not_null())
                    .col(ColumnDef::new(RollupDays::DayStart).big_integer().not_null())
                    .col(ColumnDef::new(RollupDays::DayEnd).big_integer().not_null())
                    // Set by the writer when a late event or a session of this day changes it; the query then
                    // reads raw events for the day until the rollup job rebuilds it.
                    .col(ColumnDef::new(RollupDays::Dirty).boolean().not_null().default(false))
                    .col(big(RollupDays::Version))
                    .col(ColumnDef::new(RollupDays::BuiltAt).big_integer().not_null())
                    .primary_key(Index::create().col(RollupDays::SiteId).col(RollupDays::Day))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_rollup_days_end")
                    .table(RollupDays::Table)
                    .col(RollupDays::SiteId)
                    .col(RollupDays::DayEnd)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_open")
                    .table(Sessions::Table)
                    .col(Sessions::EndedAt)
                    .col(Sessions::LastSeen)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user")
                    .table(Sessions::Table)
                    .col(Sessions::SiteId)
                    .col(Sessions::UserHash)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_sessions_user").table(Sessions::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_sessions_open").table(Sessions::Table).to_owned()).await?;
        for table in [RollupDays::Table.into_iden(), Rollups::Table.into_iden(), Identities::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .alter_table(Table::alter().table(Sites::Table).drop_column(Sites::IdentifiedRetentionDays).to_owned())
            .await
    }
}
