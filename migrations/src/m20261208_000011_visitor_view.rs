//! The visitor's own view (collector/src/own_visit.rs):
//! - `sites.public_current_session`: whether the site lets its visitors read and forget their own visit
//!   through the public `/api/v1/visitors/session/current` endpoint. Off by default, like `public_presence`.
//! - `forgotten_visits`: the visits their visitors asked to forget, by session id. The SQL writer drops the
//!   events of these sessions that were still in some collector's spool when the visit was forgotten (in this
//!   process, in another collector, or replayed after a crash), so a forgotten visit never comes back.
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000011_visitor_view"
    }
}

#[derive(DeriveIden)]
enum Sites {
    Table,
    PublicCurrentSession,
}

#[derive(DeriveIden)]
enum ForgottenVisits {
    Table,
    SessionId,
    SiteId,
    ForgottenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sites::Table)
                    .add_column(ColumnDef::new(Sites::PublicCurrentSession).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ForgottenVisits::Table)
                    .col(ColumnDef::new(ForgottenVisits::SessionId).big_integer().not_null())
                    .col(ColumnDef::new(ForgottenVisits::SiteId).big_integer().not_null())
                    .col(ColumnDef::new(ForgottenVisits::ForgottenAt).big_integer().not_null())
                    // The writer looks sessions up by id; the site is part of the key so that ids never clash.
                    .primary_key(Index::create().col(ForgottenVisits::SessionId).col(ForgottenVisits::SiteId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_forgotten_visits_at")
                    .table(ForgottenVisits::Table)
                    .col(ForgottenVisits::ForgottenAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ForgottenVisits::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(Sites::Table).drop_column(Sites::PublicCurrentSession).to_owned())
            .await
    }
}
