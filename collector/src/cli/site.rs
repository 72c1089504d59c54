//! `footfall site add|list|show|set|delete`: the dashboard's site management, through the store functions
//! `http::manage` uses. Collectors that are running see a change within their site cache's refresh period
//! (10 s): the CLI changes the database, not their memory.
use std::collections::HashMap;

use clap::Subcommand;
use sea_orm::DatabaseConnection;
use serde_json::json;

use super::{confirm, output, site_named};
use crate::http::manage::site_json;
use crate::settings::Settings;
use crate::store::entities::sites::Model as SiteRow;
use crate::store::sites::{self, NewSite, SitePatch};
use crate::store::users;

#[derive(Subcommand, Debug)]
pub enum SiteCommand {
    /// Create a site; prints its public id (the `data-site` of the tracking snippet).
    Add {
        /// The site's domain, e.g. example.org; a pasted address (https://example.org/page) is cleaned to it.
        /// Page views from this domain, its subdomains and the allowed hostnames are counted.
        domain: String,
        /// Public id to use instead of a generated one (1-64 of a-z A-Z 0-9 - _ .).
        #[arg(long)]
        id: Option<String>,
        /// IANA time zone for the site's reports, e.g. Europe/Paris (default: UTC).
        #[arg(long)]
        timezone: Option<String>,
        /// Print the new site's settings as JSON instead of its id.
        #[arg(long)]
        json: bool,
    },
    /// List every site: id, domain, time zone, retention and owner.
    List {
        /// Print `{"sites": [...]}` with each site's settings, as `GET /api/v1/sites` does.
        #[arg(long)]
        json: bool,
    },
    /// Print a site's settings.
    Show {
        /// The site's public id.
        id: String,
        /// Print them as JSON, as `GET /api/v1/sites/{site}` does.
        #[arg(long)]
        json: bool,
    },
    /// Change a site's settings (those of `PATCH /api/v1/sites/{site}`); settings not given stay as they are.
    Set {
        /// The site's public id.
        id: String,
        /// IANA time zone for the site's reports, e.g. Europe/Paris. Changing it rebuilds the site's rollups.
        #[arg(long)]
        timezone: Option<String>,
        /// Comma-separated hostnames counted besides the domain and its subdomains (`*.example.net` for
        /// subdomains); an empty value clears the list.
        #[arg(long, value_name = "HOSTS")]
        allowed_hostnames: Option<String>,
        /// Days raw events and sessions are kept (1-3650); daily rollups are kept after that.
        #[arg(long, value_name = "DAYS")]
        retention_days: Option<i32>,
        /// Drop the events of browsers that send Do Not Track or Global Privacy Control.
        #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
        respect_dnt: Option<bool>,
        /// Count `#/route` changes of single-page applications as pages.
        #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
        hash_routing: Option<bool>,
        /// Let the site's pages ask how many people are on them now (GET /api/v1/presence, no credential).
        #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
        public_presence: Option<bool>,
        /// Let visitors read and forget their own visit (GET/DELETE /api/v1/visitors/session/current).
        #[arg(long, value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
        public_current_session: Option<bool>,
        /// Print the site's settings after the change as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a site and everything stored for it: events, sessions, rollups, its API keys and share links.
    Delete {
        /// The site's public id.
        id: String,
        /// Do not ask for confirmation (needed when there is no terminal to ask on).
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(settings: &Settings, db: &DatabaseConnection, command: SiteCommand) -> anyhow::Result<()> {
    match command {
        SiteCommand::Add { domain, id, timezone, json } => {
            let new = NewSite { domain: &domain, public_id: id.as_deref(), timezone: timezone.as_deref() };
            let site = sites::create(db, new).await?;
            if json {
                output::json(&site_json(&row(db, &site.public_id).await?))
            } else {
                println!("{}", site.public_id);
                Ok(())
            }
        }
        SiteCommand::List { json } => list(db, json).await,
        SiteCommand::Show { id, json } => {
            let row = row(db, &id).await?;
            if json {
                output::json(&site_json(&row))
            } else {
                show(&row)
            }
        }
        SiteCommand::Set {
            id,
            timezone,
            allowed_hostnames,
            retention_days,
            respect_dnt,
            hash_routing,
            public_presence,
            public_current_session,
            json,
        } => {
            let patch = SitePatch {
                allowed_hostnames: allowed_hostnames.map(|list| {
                    list.split(',').map(str::trim).filter(|host| !host.is_empty()).map(str::to_owned).collect()
                }),
                timezone,
                retention_days,
                respect_dnt,
                hash_routing,
                public_presence,
                public_current_session,
            };
            if is_empty(&patch) {
                anyhow::bail!(
                    "nothing to change: give at least one of --timezone, --allowed-hostnames, --retention-days, \
                     --respect-dnt, --hash-routing, --public-presence, --public-current-session"
                );
            }
            let updated = sites::update(db, &id, patch).await?.ok_or_else(|| anyhow::anyhow!("no site `{id}`"))?;
            eprintln!("site {id} updated");
            if json {
                output::json(&site_json(&updated))?;
            }
            Ok(())
        }
        SiteCommand::Delete { id, yes } => {
            let site = site_named(db, &id).await?;
            confirm::destructive(
                &format!(
                    "delete site {} ({}) with all its data, API keys and share links; this cannot be undone",
                    site.public_id, site.domain
                ),
                yes,
            )?;
            sites::delete(db, site.id).await?;
            forget_live_state(settings, site.id).await;
            eprintln!("site {} deleted with its data; running collectors stop counting it within 10 s", site.public_id);
            Ok(())
        }
    }
}

/// Drops the deleted site's live sessions and presence from Redis, as deleting it in the dashboard does. The
/// site is already gone from SQL: a Redis that cannot be reached is reported, not an error (its id is never
/// used again, and what Redis keeps of it expires). Without Redis, the sessions live in the collectors.
async fn forget_live_state(settings: &Settings, site_id: i64) {
    use crate::session::SessionStore;
    let Some(url) = &settings.redis.url else { return };
    let timeout = std::time::Duration::from_millis(settings.redis.timeout_ms.max(1000));
    let forgotten = match crate::session::redis::RedisStore::connect(url, timeout).await {
        Ok(store) => store.forget_site(site_id).await,
        Err(error) => Err(error),
    };
    if let Err(error) = forgotten {
        eprintln!("the site's live sessions stay in Redis until they expire: {error}");
    }
}

async fn row(db: &DatabaseConnection, public_id: &str) -> anyhow::Result<SiteRow> {
    sites::find_model(db, public_id).await?.ok_or_else(|| anyhow::anyhow!("no site `{public_id}`"))
}

fn is_empty(patch: &SitePatch) -> bool {
    patch.allowed_hostnames.is_none()
        && patch.timezone.is_none()
        && patch.retention_days.is_none()
        && patch.respect_dnt.is_none()
        && patch.hash_routing.is_none()
        && patch.public_presence.is_none()
        && patch.public_current_session.is_none()
}

async fn list(db: &DatabaseConnection, json: bool) -> anyhow::Result<()> {
    let rows = sites::list_models(db).await?;
    if json {
        return output::json(&json!({"sites": rows.iter().map(site_json).collect::<Vec<_>>()}));
    }
    let owners: HashMap<i64, String> = users::list(db).await?.into_iter().map(|u| (u.id, u.email)).collect();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let owner = match row.owner_user_id {
                Some(id) => owners.get(&id).cloned().unwrap_or_else(|| format!("account {id} (deleted)")),
                None => "(administrator)".to_owned(),
            };
            vec![
                row.public_id.clone(),
                row.domain.clone(),
                row.timezone.clone(),
                format!("{} days", row.retention_days),
                owner,
                output::when(row.created_at),
            ]
        })
        .collect();
    output::table(&["ID", "DOMAIN", "TIMEZONE", "RETENTION", "OWNER", "CREATED"], &table, "no sites yet")
}

fn show(row: &SiteRow) -> anyhow::Result<()> {
    let hostnames: Vec<String> = serde_json::from_str(&row.allowed_hostnames).unwrap_or_default();
    let yes_no = |v: bool| if v { "yes" } else { "no" }.to_owned();
    output::fields(&[
        ("id", row.public_id.clone()),
        ("domain", row.domain.clone()),
        ("timezone", row.timezone.clone()),
        ("allowed_hostnames", if hostnames.is_empty() { "(none)".to_owned() } else { hostnames.join(", ") }),
        ("retention_days", row.retention_days.to_string()),
        ("respect_dnt", yes_no(row.respect_dnt)),
        ("hash_routing", yes_no(row.hash_routing)),
        ("public_presence", yes_no(row.public_presence)),
        ("public_current_session", yes_no(row.public_current_session)),
        ("created_at", output::when(row.created_at)),
    ])
}
