//! `footfall user add|list|passwd|reset-link|delete`: dashboard accounts. Passwords are read from stdin
//! (`--password-stdin`, never from an argument, which other users of the machine could see) or generated and
//! printed once; `reset-link` prints a one-time link with which the account's owner sets one themself.
use std::collections::HashMap;
use std::io::BufRead;

use anyhow::{bail, Context};
use clap::Subcommand;
use sea_orm::DatabaseConnection;
use serde_json::json;

use super::{confirm, output};
use crate::settings::Settings;
use crate::store::entities::sites::Model as SiteRow;
use crate::store::{password_resets, sites, users};
use crate::wording::count;

/// Shown under `footfall user delete --help`.
const DELETE_HELP: &str = "\
An account that owns sites (it added them in the dashboard) is not deleted until you say what becomes of them:
--delete-sites deletes them with all their data, as Plausible and Umami do when an account goes; --keep-sites
hands them to the administrator account, with their data, keys and share links. The administrator account
itself cannot be deleted: it owns the sites added from the command line.";

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a dashboard user; without --password-stdin a password is generated and printed once. The first
    /// account of the instance is its administrator.
    Add {
        /// The user's email address; it is their sign-in name.
        email: String,
        /// Read the password from the first line of stdin instead of generating one (at least 10 characters).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the dashboard users: id, email, role, sites owned, created.
    List {
        /// Print `{"users": [{"id", "email", "is_admin", "created_at", "sites"}]}`.
        #[arg(long)]
        json: bool,
    },
    /// Change a user's password and end all their sign-ins; without --password-stdin a password is generated
    /// and printed once.
    Passwd {
        /// The user's email address.
        email: String,
        /// Read the new password from the first line of stdin instead of generating one (at least 10 characters).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a one-time link (valid one hour) with which the user sets a new password in the dashboard; it
    /// replaces their earlier link, and using it ends all their sign-ins. Nothing is sent: hand it over.
    ResetLink {
        /// The user's email address.
        email: String,
        /// The dashboard's address as people open it, e.g. https://stats.example.org (default: the `listen`
        /// address of the configuration).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Delete a user, their memberships and sign-ins (see below for the sites they own).
    #[command(after_help = DELETE_HELP)]
    Delete {
        /// The user's email address.
        email: String,
        /// Delete the sites the user owns, with all their data.
        #[arg(long, conflicts_with = "keep_sites")]
        delete_sites: bool,
        /// Hand the sites the user owns to the administrator account.
        #[arg(long)]
        keep_sites: bool,
        /// Do not ask for confirmation (needed when there is no terminal to ask on).
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(settings: &Settings, db: &DatabaseConnection, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { email, password_stdin } => {
            let (password, generated) = password(password_stdin)?;
            users::create(db, &email, &password).await?;
            if generated {
                println!("{password}");
                eprintln!("user {email} created; the password above is shown only once");
            } else {
                eprintln!("user {email} created");
            }
            Ok(())
        }
        UserCommand::List { json } => list(db, json).await,
        UserCommand::Passwd { email, password_stdin } => {
            let user = user_named(db, &email).await?;
            let (password, generated) = password(password_stdin)?;
            users::change_password(db, user.id, &password).await?;
            if generated {
                println!("{password}");
                eprintln!(
                    "password of {} changed and its sign-ins ended; the password above is shown only once",
                    user.email
                );
            } else {
                eprintln!("password of {} changed and its sign-ins ended", user.email);
            }
            Ok(())
        }
        UserCommand::ResetLink { email, url } => {
            let user = user_named(db, &email).await?;
            let base = url.unwrap_or_else(|| listen_url(&settings.listen));
            let (token, expires_at) = password_resets::create(db, user.id).await?;
            println!("{}/#/reset/{token}", base.trim_end_matches('/'));
            eprintln!(
                "one-time password reset link for {}, valid until {}; give it to them, it is shown only once",
                user.email,
                output::when(expires_at)
            );
            Ok(())
        }
        UserCommand::Delete { email, delete_sites, keep_sites, yes } => {
            let user = user_named(db, &email).await?;
            if user.is_admin {
                bail!(
                    "{} is the administrator account: it owns the sites added from the command line and cannot be \
                     deleted; change its password with `footfall user passwd`",
                    user.email
                );
            }
            let owned = sites::owned_by(db, user.id).await?;
            let names = site_list(&owned);
            let fate = if owned.is_empty() {
                String::new()
            } else if delete_sites {
                format!("; their sites {names} are deleted with all their data")
            } else if keep_sites {
                format!("; their sites {names} go to the administrator account")
            } else {
                bail!(
                    "{} owns {}: {names}. Add --delete-sites to delete them with their data, or --keep-sites to hand \
                     them to the administrator account",
                    user.email,
                    count(owned.len() as u64, "site", "sites")
                );
            };
            confirm::destructive(&format!("delete user {} and end their sign-ins{fate}", user.email), yes)?;
            // Sites first: if this stops half-way, running the command again finishes it.
            if delete_sites {
                for site in &owned {
                    sites::delete(db, site.id).await?;
                }
            } else {
                sites::release_owned(db, user.id).await?;
            }
            users::delete(db, user.id).await?;
            eprintln!("user {} deleted", user.email);
            Ok(())
        }
    }
}

/// The collector's own address from its `listen` setting, for a link opened on the same machine: a wildcard
/// address is reached as `localhost`.
fn listen_url(listen: &str) -> String {
    let (host, port) = listen.rsplit_once(':').unwrap_or((listen, "80"));
    let host = match host {
        "0.0.0.0" | "[::]" | "::" | "" => "localhost",
        other => other,
    };
    format!("http://{host}:{port}")
}

async fn user_named(db: &DatabaseConnection, email: &str) -> anyhow::Result<users::User> {
    users::find_by_email(db, email).await?.with_context(|| format!("no user `{}`", users::normalise_email(email)))
}

/// The password to set, and whether it was generated (and so must be printed, once).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((users::generate_password(), true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
    Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
}

fn site_list(owned: &[SiteRow]) -> String {
    owned.iter().map(|site| format!("{} ({})", site.public_id, site.domain)).collect::<Vec<_>>().join(", ")
}

async fn list(db: &DatabaseConnection, json: bool) -> anyhow::Result<()> {
    let accounts = users::list(db).await?;
    let mut owned: HashMap<i64, usize> = HashMap::new();
    let mut unowned = 0;
    for site in sites::list_models(db).await? {
        match site.owner_user_id {
            Some(owner) => *owned.entry(owner).or_default() += 1,
            None => unowned += 1,
        }
    }
    // The administrator owns the sites without an owner as well as its own.
    let sites_of =
        |user: &users::UserInfo| owned.get(&user.id).copied().unwrap_or(0) + if user.is_admin { unowned } else { 0 };
    if json {
        let listed: Vec<_> = accounts
            .iter()
            .map(|user| {
                let mut item = serde_json::to_value(user).unwrap_or_default();
                item["sites"] = json!(sites_of(user));
                item
            })
            .collect();
        return output::json(&json!({ "users": listed }));
    }
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|user| {
            vec![
                user.id.to_string(),
                user.email.clone(),
                if user.is_admin { "administrator" } else { "user" }.to_owned(),
                sites_of(user).to_string(),
                output::when(user.created_at),
            ]
        })
        .collect();
    output::table(&["ID", "EMAIL", "ROLE", "SITES", "CREATED"], &rows, "no users yet")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_link_opened_on_this_machine_uses_the_listen_address() {
        assert_eq!(listen_url("127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(listen_url("0.0.0.0:8000"), "http://localhost:8000");
        assert_eq!(listen_url("[::]:8000"), "http://localhost:8000");
        assert_eq!(listen_url("[::1]:9000"), "http://[::1]:9000");
    }
}
