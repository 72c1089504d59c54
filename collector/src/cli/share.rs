//! `footfall share list|revoke`: share links (read-only dashboards of one site) as the dashboard's Settings
//! lists them. Links are made in the dashboard, where the link is shown once; here they are listed by `id` and
//! token prefix, and revoked by id.
use anyhow::bail;
use clap::Subcommand;
use sea_orm::DatabaseConnection;
use serde_json::json;

use super::{confirm, output, site_named, site_names};
use crate::http::auth::CREDENTIAL_TTL;
use crate::http::manage::with_site;
use crate::store::share_links;

#[derive(Subcommand, Debug)]
pub enum ShareCommand {
    /// List share links: id, site, label, prefix, created, expiry. Never the links' tokens.
    List {
        /// Only this site's links (public id); default: every site's.
        #[arg(long)]
        site: Option<String>,
        /// Print `{"share_links": [{"id", "site", "prefix", "label", "created_at", "expires_at"}]}`.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a share link: whoever has it loses access (within 30 s on running collectors).
    Revoke {
        /// The link's id, as `footfall share list` shows it.
        id: i64,
        /// Do not ask for confirmation (needed when there is no terminal to ask on).
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(db: &DatabaseConnection, command: ShareCommand) -> anyhow::Result<()> {
    match command {
        ShareCommand::List { site, json } => {
            let links = match site {
                Some(public_id) => share_links::list(db, site_named(db, &public_id).await?.id).await?,
                None => share_links::list_all(db).await?,
            };
            let names = site_names(db).await?;
            let site_of = |link: &share_links::ShareLink| names.get(&link.site_id).cloned().unwrap_or_default();
            if json {
                let listed: Vec<_> = links.iter().map(|link| with_site(link, Some(&site_of(link)))).collect();
                return output::json(&json!({ "share_links": listed }));
            }
            let rows: Vec<Vec<String>> = links
                .iter()
                .map(|link| {
                    vec![
                        link.id.to_string(),
                        site_of(link),
                        if link.label.is_empty() { "(no label)".to_owned() } else { link.label.clone() },
                        format!("{}…", link.prefix),
                        output::when(link.created_at),
                        output::when_or(link.expires_at, "never"),
                    ]
                })
                .collect();
            output::table(&["ID", "SITE", "LABEL", "PREFIX", "CREATED", "EXPIRES"], &rows, "no share links yet")
        }
        ShareCommand::Revoke { id, yes } => {
            let Some(link) = share_links::find(db, id).await? else { bail!("no share link with id {id}") };
            let names = site_names(db).await?;
            let site = names.get(&link.site_id).map(String::as_str).unwrap_or("?");
            let label = if link.label.is_empty() { String::new() } else { format!(" \"{}\"", link.label) };
            confirm::destructive(&format!("revoke share link {id}{label} of site {site}"), yes)?;
            share_links::delete(db, link.site_id, id).await?;
            eprintln!("share link {id} revoked; running collectors refuse it within {} s", CREDENTIAL_TTL.as_secs());
            Ok(())
        }
    }
}
