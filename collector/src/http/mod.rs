//! The route table, in one place, with middleware per scope. Every request first passes [`edge::guard`]
//! (body bounds and headers, wrapped around the whole app in `startup`); `/api/v1` then passes
//! [`limits::api_guard`] (budgets). Handlers are thin: [`access::SiteAccess`] resolves who asks for which site,
//! [`params`] reads report parameters, and [`error::ApiError`] maps every module's errors to HTTP.
pub mod access;
pub mod account;
pub mod accounts;
pub mod auth;
pub mod bots;
pub mod client_ip;
pub mod dashboard;
pub mod edge;
pub mod error;
pub mod export;
pub mod health;
pub mod ingest;
pub mod invitations;
pub mod limits;
pub mod manage;
pub mod members;
pub mod openapi;
pub mod params;
pub mod query;
pub mod realtime;
pub mod recheck;
pub mod reports;
pub mod tracker;
pub mod visitors;

use std::sync::Arc;

use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use sea_orm::DatabaseConnection;

use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::session::SessionStore;
use crate::settings::{IpNet, Settings};
use crate::store::sites::SiteCache;

/// Everything handlers share.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub sessions: Arc<dyn SessionStore>,
    pub sites: SiteCache,
    pub ingest: Arc<Ingest>,
    pub metrics: Arc<Metrics>,
    pub trusted_proxies: Vec<IpNet>,
    /// Per-site pollers behind the real-time streams.
    pub realtime: crate::realtime::Feeds,
    /// Credential caches, CSRF derivation, rate limits (see [`auth`], [`limits`]).
    pub auth: Arc<auth::AuthState>,
    /// The key the pipeline hashes sites' user ids with, so per-user export and erasure find what it stored.
    pub user_key: [u8; 32],
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(error::json_config())
        .app_data(error::query_config())
        .service(
            // Beacons come from any origin, without credentials; CORS is open on this route only.
            web::resource("/api/event")
                .wrap(DefaultHeaders::new().add(("Access-Control-Allow-Origin", "*")))
                .route(web::post().to(ingest::event))
                .route(web::method(actix_web::http::Method::OPTIONS).to(ingest::preflight)),
        )
        .service(
            // Every /api/v1 answer: rate limits for analytics reads, nosniff, no-store (see `limits`).
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(limits::api_guard))
                .route("/auth/status", web::get().to(account::status))
                .route("/auth/setup", web::post().to(account::setup))
                .route("/auth/login", web::post().to(account::login))
                .route("/auth/logout", web::post().to(account::logout))
                .service(
                    web::resource("/sites")
                        .route(web::get().to(manage::list_sites))
                        .route(web::post().to(manage::create_site)),
                )
                .service(
                    web::resource("/sites/{site}")
                        .route(web::get().to(manage::get_site))
                        .route(web::patch().to(manage::update_site))
                        .route(web::delete().to(manage::delete_site)),
                )
                .service(
                    web::resource("/sites/{site}/share-links")
                        .route(web::get().to(manage::list_share_links))
                        .route(web::post().to(manage::create_share_link)),
                )
                .route("/sites/{site}/share-links/{id}", web::delete().to(manage::delete_share_link))
                // People: members and invitations of a site, its transfer, and the invited person's side.
                .route("/sites/{site}/members", web::get().to(members::list))
                .service(
                    web::resource("/sites/{site}/members/{user_id}")
                        .route(web::patch().to(members::update))
                        .route(web::delete().to(members::remove)),
                )
                .route("/sites/{site}/invitations", web::post().to(invitations::create))
                .route("/sites/{site}/invitations/{id}", web::delete().to(invitations::revoke))
                .route("/sites/{site}/transfer", web::post().to(members::transfer))
                .route("/invitations/{token}", web::get().to(invitations::show))
                .route("/invitations/{token}/accept", web::post().to(invitations::accept))
                // Accounts and passwords.
                .route("/account/password", web::post().to(accounts::change_password))
                .route("/users", web::get().to(accounts::list))
                .route("/users/{id}/reset-link", web::post().to(accounts::reset_link))
                .route("/password-reset/{token}", web::post().to(accounts::redeem_reset))
                .service(
                    web::resource("/keys")
                        .route(web::get().to(manage::list_keys))
                        .route(web::post().to(manage::create_key)),
                )
                .route("/keys/{id}", web::delete().to(manage::delete_key))
                .service(web::resource("/query").route(web::post().to(query::post)).route(web::get().to(query::get)))
                .route("/openapi.json", web::get().to(openapi::serve))
                .route("/sites/{site}/bots", web::get().to(bots::ledger))
                .route("/sites/{site}/export", web::get().to(export::csv))
                .service(
                    web::resource("/sites/{site}/users/{user_id}")
                        .route(web::get().to(export::user))
                        .route(web::delete().to(export::erase_user)),
                )
                .route("/sites/{site}/sessions", web::get().to(reports::sessions))
                .route("/sites/{site}/sessions/{id}", web::get().to(reports::session))
                .route("/sites/{site}/conversions", web::get().to(reports::conversions))
                .route("/sites/{site}/realtime", web::get().to(realtime::snapshot))
                .route("/sites/{site}/realtime/stream", web::get().to(realtime::stream))
                .service(
                    // Public and opt-in per site: read by widgets on the site's own pages, from any origin.
                    web::resource("/presence")
                        .wrap(DefaultHeaders::new().add(("Access-Control-Allow-Origin", "*")))
                        .route(web::get().to(realtime::presence)),
                )
                // Public and opt-in per site: a visitor's own visit, read and forgotten from the site's pages.
                .service(
                    web::resource("/visitors/session/current")
                        .wrap(DefaultHeaders::new().add(("Access-Control-Allow-Origin", "*")))
                        .route(web::get().to(visitors::current))
                        .route(web::delete().to(visitors::forget))
                        .route(web::method(actix_web::http::Method::OPTIONS).to(visitors::preflight)),
                )
                // The same with the trailing slash the product's notes wrote.
                .service(
                    web::resource("/visitors/session/current/")
                        .wrap(DefaultHeaders::new().add(("Access-Control-Allow-Origin", "*")))
                        .route(web::get().to(visitors::current))
                        .route(web::delete().to(visitors::forget))
                        .route(web::method(actix_web::http::Method::OPTIONS).to(visitors::preflight)),
                ),
        )
        // The dashboard: its page (also for share links, which the app reads from its path) and its files.
        .route("/", web::get().to(dashboard::index))
        .route("/share/{token}", web::get().to(dashboard::index))
        .route("/assets/{path:.*}", web::get().to(dashboard::asset))
        .route("/t.js", web::get().to(tracker::loader))
        .route("/tracker/{file}", web::get().to(tracker::file))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .default_service(web::to(error::not_found));
}
