//! Teams: accounts other than a site's owner may be its members (`site_members`, role `viewer` or `admin`),
//! an email without an account may be invited with a one-time link (`site_invitations`), and the instance's
//! administrator may make a one-time password reset link for any account (`password_resets`).
//!
//! Tokens (invitations, resets) are 32 random bytes stored only as BLAKE3 hashes, like share links. A site has
//! at most one membership per account and one pending invitation per email (a new invitation replaces it).
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000010_teams"
    }
}

#[derive(DeriveIden)]
enum SiteMembers {
    Table,
    Id,
    SiteId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SiteInvitations {
    Table,
    Id,
    SiteId,
    Email,
    Role,
    TokenHash,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum PasswordResets {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SiteMembers::Table)
                    .col(ColumnDef::new(SiteMembers::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(SiteMembers::SiteId).big_integer().not_null())
                    .col(ColumnDef::new(SiteMembers::UserId).big_integer().not_null())
                    // `viewer` or `admin`; the owner is `sites.owner_user_id`, never a row here.
                    .col(ColumnDef::new(SiteMembers::Role).string_len(16).not_null())
                    .col(ColumnDef::new(SiteMembers::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_site_members_site_user")
                    .table(SiteMembers::Table)
                    .col(SiteMembers::SiteId)
                    .col(SiteMembers::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Every request of a signed-in account reads its memberships.
        manager
            .create_index(
                Index::create()
                    .name("idx_site_members_user")
                    .table(SiteMembers::Table)
                    .col(SiteMembers::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SiteInvitations::Table)
                    .col(ColumnDef::new(SiteInvitations::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(SiteInvitations::SiteId).big_integer().not_null())
                    .col(ColumnDef::new(SiteInvitations::Email).string_len(254).not_null())
                    .col(ColumnDef::new(SiteInvitations::Role).string_len(16).not_null())
                    .col(ColumnDef::new(SiteInvitations::TokenHash).string_len(64).not_null().unique_key())
                    .col(ColumnDef::new(SiteInvitations::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(SiteInvitations::ExpiresAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_site_invitations_site_email")
                    .table(SiteInvitations::Table)
                    .col(SiteInvitations::SiteId)
                    .col(SiteInvitations::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PasswordResets::Table)
                    .col(ColumnDef::new(PasswordResets::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(PasswordResets::UserId).big_integer().not_null())
                    .col(ColumnDef::new(PasswordResets::TokenHash).string_len(64).not_null().unique_key())
                    .col(ColumnDef::new(PasswordResets::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(PasswordResets::ExpiresAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_password_resets_user")
                    .table(PasswordResets::Table)
                    .col(PasswordResets::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PasswordResets::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(SiteInvitations::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(SiteMembers::Table).to_owned()).await
    }
}
