//! `footfall key add|list|revoke`: API keys of the whole instance — the all-sites keys only the CLI makes, and
//! the one-site keys made here or in the dashboard. A key exists in clear only when it is made; lists show its
//! first characters (`prefix`) and its `id`, which `revoke` takes.
use std::collections::HashMap;

use anyhow::bail;
use clap::Subcommand;
use sea_orm::DatabaseConnection;
use serde_json::json;

use super::{confirm, output, site_named, site_names};
use crate::http::auth::CREDENTIAL_TTL;
use crate::http::manage::with_site;
use crate::store::keys::{self, KeyInfo, Scope};

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create an API key; prints it once (only a hash is stored).
    Add {
        /// What the key may do: stats:read (reports), sites:write (manage sites) or events:write (send events as
        /// a server, with the visitor's address and User-Agent).
        #[arg(long)]
        scope: String,
        /// Restrict the key to one site (public id); default: all sites.
        #[arg(long)]
        site: Option<String>,
        /// Print `{"id", "key", "prefix", "scope", "site", "created_at"}` instead of the key alone.
        #[arg(long)]
        json: bool,
    },
    /// List every API key: id, prefix, scope, site, created, last used. Never the keys themselves.
    List {
        /// Print `{"keys": [{"id", "prefix", "scope", "site", "created_at", "last_used_at"}]}`.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API key: it stops working at once for new collectors, within 30 s on running ones (they cache
    /// verified keys that long).
    Revoke {
        /// The key's id, as `footfall key list` shows it.
        id: i64,
        /// Do not ask for confirmation (needed when there is no terminal to ask on).
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(db: &DatabaseConnection, command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Add { scope, site, json } => {
            let Some(scope) = Scope::parse(&scope) else {
                bail!("unknown scope `{scope}`; use stats:read, sites:write or events:write");
            };
            let site = match site {
                Some(public_id) => Some(site_named(db, &public_id).await?),
                None => None,
            };
            let (info, key) = keys::create_with_info(db, scope, site.as_ref().map(|s| s.id)).await?;
            if json {
                let mut document = with_site(&info, site.as_ref().map(|s| s.public_id.as_str()));
                document["key"] = json!(key);
                output::json(&document)
            } else {
                println!("{key}");
                Ok(())
            }
        }
        KeyCommand::List { json } => {
            let names = site_names(db).await?;
            let listed = keys::list_all(db).await?;
            if json {
                let keys: Vec<_> = listed.iter().map(|info| with_site(info, site_of(info, &names))).collect();
                return output::json(&json!({ "keys": keys }));
            }
            let rows: Vec<Vec<String>> = listed
                .iter()
                .map(|info| {
                    vec![
                        info.id.to_string(),
                        format!("{}…", info.prefix),
                        info.scope.clone(),
                        site_of(info, &names).unwrap_or("(all sites)").to_owned(),
                        output::when(info.created_at),
                        output::when_or(info.last_used_at, "never"),
                    ]
                })
                .collect();
            output::table(&["ID", "PREFIX", "SCOPE", "SITE", "CREATED", "LAST USED"], &rows, "no API keys yet")
        }
        KeyCommand::Revoke { id, yes } => {
            let Some(info) = keys::find_info(db, id).await? else { bail!("no API key with id {id}") };
            let names = site_names(db).await?;
            let site = site_of(&info, &names).unwrap_or("all sites");
            confirm::destructive(&format!("revoke API key {id} ({}…, {} on {site})", info.prefix, info.scope), yes)?;
            keys::delete(db, id).await?;
            eprintln!("API key {id} revoked; running collectors refuse it within {} s", CREDENTIAL_TTL.as_secs());
            Ok(())
        }
    }
}

fn site_of<'a>(info: &KeyInfo, names: &'a HashMap<i64, String>) -> Option<&'a str> {
    info.site_id.and_then(|id| names.get(&id)).map(String::as_str)
}
