//! The route table, in one place, with middleware per scope. Handlers are thin: they gather the request's
//! facts, call one function of the domain, and let [`error::ApiError`] map failures to HTTP.
pub mod auth;
pub mod bots;
pub mod client_ip;
pub mod error;
pub mod health;
pub mod ingest;
pub mod query;
pub mod realtime;
pub mod tracker;

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
            web::scope("/api/v1")
                .service(web::resource("/query").route(web::post().to(query::post)).route(web::get().to(query::get)))
                .route("/sites/{site}/bots", web::get().to(bots::ledger))
                .route("/sites/{site}/realtime", web::get().to(realtime::snapshot))
                .route("/sites/{site}/realtime/stream", web::get().to(realtime::stream))
                .service(
                    // Public and opt-in per site: read by widgets on the site's own pages, from any origin.
                    web::resource("/presence")
                        .wrap(DefaultHeaders::new().add(("Access-Control-Allow-Origin", "*")))
                        .route(web::get().to(realtime::presence)),
                ),
        )
        .route("/t.js", web::get().to(tracker::loader))
        .route("/tracker/{file}", web::get().to(tracker::file))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .default_service(web::to(error::not_found));
}
