//! Enrichment: per-site audience rules, and the bot ledger (what was filtered out, by day, reason and
//! signature — counted, never with an address).
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000002_enrichment"
    }
}

#[derive(DeriveIden)]
enum Sites {
    Table,
    AudienceRules,
}

#[derive(DeriveIden)]
enum BotLedger {
    Table,
    SiteId,
    Day,
    Reason,
    Signature,
    Count,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sites::Table)
                    // JSON array of audience rules (see collector/src/enrich/audience.rs).
                    .add_column(ColumnDef::new(Sites::AudienceRules).text().not_null().default("[]"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(BotLedger::Table)
                    .col(ColumnDef::new(BotLedger::SiteId).big_integer().not_null())
                    // UTC day as YYYY-MM-DD.
                    .col(ColumnDef::new(BotLedger::Day).string_len(10).not_null())
                    .col(ColumnDef::new(BotLedger::Reason).string_len(32).not_null())
                    .col(ColumnDef::new(BotLedger::Signature).string_len(256).not_null())
                    .col(ColumnDef::new(BotLedger::Count).big_integer().not_null().default(0))
                    .primary_key(
                        Index::create()
                            .col(BotLedger::SiteId)
                            .col(BotLedger::Day)
                            .col(BotLedger::Reason)
                            .col(BotLedger::Signature),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BotLedger::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Sites::Table).drop_column(Sites::AudienceRules).to_owned()).await
    }
}
