//! The core tables: sites, events, sessions, dashboard users and API keys.
//!
//! Times are stored as epoch milliseconds (BIGINT) so that both databases compare and bucket them the same way,
//! and rows stay small: the events table is the one that grows.
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261121_000001_core"
    }
}

#[derive(DeriveIden)]
enum Sites {
    Table,
    Id,
    PublicId,
    Domain,
    AllowedHostnames,
    Timezone,
    RetentionDays,
    RespectDnt,
    HashRouting,
    PublicPresence,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    SiteId,
    Ts,
    Kind,
    SessionId,
    Visitor,
    Hostname,
    Path,
    Title,
    PageviewId,
    ReferrerHost,
    ReferrerPath,
    Source,
    Channel,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    Country,
    Region,
    City,
    Browser,
    BrowserVersion,
    Os,
    OsVersion,
    Device,
    Screen,
    PageGroup,
    EngagedMs,
    Scroll,
    Sections,
    Name,
    Props,
    UserHash,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    SiteId,
    Visitor,
    StartedAt,
    LastSeen,
    EndedAt,
    Pageviews,
    Events,
    Interactions,
    EngagedMs,
    MaxScroll,
    EntryPage,
    ExitPage,
    Hostname,
    ReferrerHost,
    Source,
    Channel,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    Country,
    Region,
    City,
    Browser,
    Os,
    Device,
    Screen,
    Bounce,
    EngagementScore,
    Audience,
    UserHash,
    ConvertedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Prefix,
    KeyHash,
    Scope,
    SiteId,
    CreatedAt,
    LastUsedAt,
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sites::Table)
                    .col(ColumnDef::new(Sites::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Sites::PublicId).string_len(64).not_null().unique_key())
                    .col(ColumnDef::new(Sites::Domain).string_len(253).not_null())
                    // JSON array of hostnames; empty means "the domain and its subdomains".
                    .col(ColumnDef::new(Sites::AllowedHostnames).text().not_null().default("[]"))
                    .col(ColumnDef::new(Sites::Timezone).string_len(64).not_null().default("UTC"))
                    .col(ColumnDef::new(Sites::RetentionDays).integer().not_null().default(90))
                    .col(ColumnDef::new(Sites::RespectDnt).boolean().not_null().default(false))
                    .col(ColumnDef::new(Sites::HashRouting).boolean().not_null().default(false))
                    .col(ColumnDef::new(Sites::PublicPresence).boolean().not_null().default(false))
                    .col(ColumnDef::new(Sites::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;

        let mut events = Table::create();
        events
            .table(Events::Table)
            .col(ColumnDef::new(Events::Id).uuid().not_null().primary_key())
            .col(ColumnDef::new(Events::SiteId).big_integer().not_null())
            .col(ColumnDef::new(Events::Ts).big_integer().not_null())
            .col(ColumnDef::new(Events::Kind).small_integer().not_null())
            .col(ColumnDef::new(Events::SessionId).big_integer().not_null())
            .col(ColumnDef::new(Events::Visitor).big_integer().not_null())
            .col(ColumnDef::new(Events::Hostname).text().not_null())
            .col(ColumnDef::new(Events::Path).text().not_null());
        for col in [
            Events::Title,
            Events::PageviewId,
            Events::ReferrerHost,
            Events::ReferrerPath,
            Events::Source,
            Events::Channel,
            Events::UtmSource,
            Events::UtmMedium,
            Events::UtmCampaign,
            Events::UtmTerm,
            Events::UtmContent,
            Events::Country,
            Events::Region,
            Events::City,
            Events::Browser,
            Events::BrowserVersion,
            Events::Os,
            Events::OsVersion,
            Events::Device,
            Events::PageGroup,
            Events::Sections,
            Events::Name,
            Events::Props,
            Events::UserHash,
        ] {
            events.col(text(col));
        }
        events
            .col(ColumnDef::new(Events::Screen).integer().null())
            .col(ColumnDef::new(Events::EngagedMs).big_integer().null())
            .col(ColumnDef::new(Events::Scroll).small_integer().null());
        manager.create_table(events.to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_events_site_ts")
                    .table(Events::Table)
                    .col(Events::SiteId)
                    .col(Events::Ts)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_events_session").table(Events::Table).col(Events::SessionId).to_owned(),
            )
            .await?;

        let mut sessions = Table::create();
        sessions
            .table(Sessions::Table)
            .col(ColumnDef::new(Sessions::Id).big_integer().not_null().primary_key())
            .col(ColumnDef::new(Sessions::SiteId).big_integer().not_null())
            .col(ColumnDef::new(Sessions::Visitor).big_integer().not_null())
            .col(ColumnDef::new(Sessions::StartedAt).big_integer().not_null())
            .col(ColumnDef::new(Sessions::LastSeen).big_integer().not_null())
            .col(ColumnDef::new(Sessions::EndedAt).big_integer().null())
            .col(ColumnDef::new(Sessions::Pageviews).integer().not_null().default(0))
            .col(ColumnDef::new(Sessions::Events).integer().not_null().default(0))
            .col(ColumnDef::new(Sessions::Interactions).integer().not_null().default(0))
            .col(ColumnDef::new(Sessions::EngagedMs).big_integer().not_null().default(0))
            .col(ColumnDef::new(Sessions::MaxScroll).small_integer().null())
            .col(ColumnDef::new(Sessions::Screen).integer().null())
            .col(ColumnDef::new(Sessions::Bounce).boolean().null())
            .col(ColumnDef::new(Sessions::EngagementScore).small_integer().null())
            .col(ColumnDef::new(Sessions::ConvertedAt).big_integer().null());
        for col in [
            Sessions::EntryPage,
            Sessions::ExitPage,
            Sessions::Hostname,
            Sessions::ReferrerHost,
            Sessions::Source,
            Sessions::Channel,
            Sessions::UtmSource,
            Sessions::UtmMedium,
            Sessions::UtmCampaign,
            Sessions::UtmTerm,
            Sessions::UtmContent,
            Sessions::Country,
            Sessions::Region,
            Sessions::City,
            Sessions::Browser,
            Sessions::Os,
            Sessions::Device,
            Sessions::Audience,
            Sessions::UserHash,
        ] {
            sessions.col(text(col));
        }
        manager.create_table(sessions.to_owned()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_site_started")
                    .table(Sessions::Table)
                    .col(Sessions::SiteId)
                    .col(Sessions::StartedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(Users::Email).string_len(254).not_null().unique_key())
                    .col(ColumnDef::new(Users::PasswordHash).text().not_null())
                    .col(ColumnDef::new(Users::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(ColumnDef::new(ApiKeys::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(ApiKeys::Prefix).string_len(16).not_null())
                    .col(ColumnDef::new(ApiKeys::KeyHash).string_len(64).not_null().unique_key())
                    .col(ColumnDef::new(ApiKeys::Scope).string_len(32).not_null())
                    .col(ColumnDef::new(ApiKeys::SiteId).big_integer().null())
                    .col(ColumnDef::new(ApiKeys::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(ApiKeys::LastUsedAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApiKeys::Table.into_iden(),
            Users::Table.into_iden(),
            Sessions::Table.into_iden(),
            Events::Table.into_iden(),
            Sites::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
