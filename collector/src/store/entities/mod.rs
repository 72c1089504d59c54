//! sea-orm entities for the small tables that are read and written row by row (sites, users, API keys,
//! sign-in sessions, share links, site members and invitations, password resets). They mirror `migrations/`
//! exactly, in the shape `sea-orm-cli generate entity` writes. The events and sessions tables are written in
//! bulk with sea-query (see `ingest::writer`) and read by `query`.
pub mod api_keys;
pub mod auth_sessions;
pub mod password_resets;
pub mod share_links;
pub mod site_invitations;
pub mod site_members;
pub mod sites;
pub mod users;
