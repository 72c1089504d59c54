//! Accounts and access: dashboard sign-ins (`auth_sessions`), read-only share links (`share_links`), who owns
//! a site (`sites.owner_user_id`) and which account administers the instance (`users.is_admin`).
//!
//! Ownership: a site created in the dashboard belongs to the account that created it; a site created from the
//! CLI or with an instance-wide `sites:write` key has no owner (NULL) and belongs to the administrator — the
//! first account. Other accounts see only their own sites. Tokens (session cookies, share links) are stored
//! only as BLAKE3 hashes; they are 32 random bytes, so an unsalted hash is enough and lookup is by that hash.
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000004_auth"
    }
}

#[derive(DeriveIden)]
enum Sites {
    Table,
    OwnerUserId,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    IsAdmin,
}

#[derive(DeriveIden)]
enum AuthSessions {
    Table,
    Id,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum ShareLinks {
    Table,
    Id,
    SiteId,
    TokenHash,
    Prefix,
    Label,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Sites::Table)
                    .add_column(ColumnDef::new(Sites::OwnerUserId).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_sites_owner").table(Sites::Table).col(Sites::OwnerUserId).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::IsAdmin).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        // An existing install's first account becomes the administrator: it already sees every site.
        db.execute_unprepared("UPDATE users SET is_admin = TRUE WHERE id = (SELECT MIN(id) FROM users)").await?;
        // At most one administrator: two first-run set-ups racing each other cannot both succeed. Partial
        // unique indexes read the same on SQLite and PostgreSQL; sea-query has no builder for them.
        db.execute_unprepared("CREATE UNIQUE INDEX idx_users_one_admin ON users (is_admin) WHERE is_admin").await?;

        manager
            .create_table(
                Table::create()
                    .table(AuthSessions::Table)
                    .col(ColumnDef::new(AuthSessions::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(AuthSessions::TokenHash).string_len(64).not_null().unique_key())
                    .col(ColumnDef::new(AuthSessions::UserId).big_integer().not_null())
                    .col(ColumnDef::new(AuthSessions::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(AuthSessions::ExpiresAt).big_integer().not_null())
                    .col(ColumnDef::new(AuthSessions::LastSeenAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_auth_sessions_expires")
                    .table(AuthSessions::Table)
                    .col(AuthSessions::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_auth_sessions_user")
                    .table(AuthSessions::Table)
                    .col(AuthSessions::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ShareLinks::Table)
                    .col(ColumnDef::new(ShareLinks::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(ShareLinks::SiteId).big_integer().not_null())
                    .col(ColumnDef::new(ShareLinks::TokenHash).string_len(64).not_null().unique_key())
                    // The token's first characters, so a person can tell links apart in a list.
                    .col(ColumnDef::new(ShareLinks::Prefix).string_len(16).not_null())
                    .col(ColumnDef::new(ShareLinks::Label).string_len(128).not_null().default(""))
                    .col(ColumnDef::new(ShareLinks::CreatedAt).big_integer().not_null())
                    // NULL: valid until revoked (revoking deletes the row).
                    .col(ColumnDef::new(ShareLinks::ExpiresAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_share_links_site")
                    .table(ShareLinks::Table)
                    .col(ShareLinks::SiteId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ShareLinks::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AuthSessions::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_users_one_admin").table(Users::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::IsAdmin).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_sites_owner").table(Sites::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Sites::Table).drop_column(Sites::OwnerUserId).to_owned()).await
    }
}
