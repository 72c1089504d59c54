//! Real-time endpoints (the domain is [`crate::realtime`]):
//! - `GET /api/v1/sites/{site}/realtime` — who is here now, as JSON (stats:read on the site)
//! - `GET /api/v1/sites/{site}/realtime/stream` — the same as Server-Sent Events, pushed on change
//! - `GET /api/v1/presence?site=ID&page=PATH|group=NAME` — public `{"visitors": n}` for sites that opted in
use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::access::{SiteAccess, StatsRead};
use super::error::ApiError;
use super::recheck::{self, Credential};
use super::AppState;
use crate::realtime::{self, PresenceParams, PresenceQuery, RealtimeError};

pub async fn snapshot(state: web::Data<AppState>, access: SiteAccess<StatsRead>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(realtime::report(state.sessions.as_ref(), access.site.id).await?))
}

pub async fn stream(
    state: web::Data<AppState>,
    access: SiteAccess<StatsRead>,
    credential: Credential,
) -> Result<HttpResponse, ApiError> {
    let site = access.site;
    // Read once before answering, so an unreadable store is a JSON error rather than a silent stream.
    let first = realtime::report(state.sessions.as_ref(), site.id).await?;
    let body = state.realtime.stream(site.id, &first, state.metrics.clone());
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Reverse proxies (nginx) would otherwise buffer the stream.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(recheck::until_revoked(body, &state, credential, site.id, &site.public_id)))
}

pub async fn presence(
    state: web::Data<AppState>,
    params: web::Query<PresenceParams>,
) -> Result<HttpResponse, ApiError> {
    let query = PresenceQuery::parse(params.into_inner())?;
    let site = state.sites.get(&query.site).await?;
    let Some(site) = site.filter(|s| s.public_presence) else { return Err(RealtimeError::PresenceDisabled.into()) };
    let visitors = realtime::presence(state.sessions.as_ref(), site.id, &query).await?;
    Ok(HttpResponse::Ok()
        // Widgets on every page may poll this; a few seconds of caching costs nothing in accuracy.
        .insert_header((header::CACHE_CONTROL, "public, max-age=5"))
        .json(serde_json::json!({ "visitors": visitors })))
}
