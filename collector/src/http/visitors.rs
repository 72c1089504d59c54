//! `GET` / `DELETE /api/v1/visitors/session/current?site=ID`: the visitor's own view — what is stored about
//! this visit, and "forget it". Public (no credential, any origin), opt-in per site
//! (`public_current_session`), limited per client address. The domain is [`crate::own_visit`]; this handler
//! only recognises the caller the way the ingestion pipeline does and shapes the answer.
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::client_ip::client_ip;
use super::error::ApiError;
use super::AppState;
use crate::export::ExportError;
use crate::ingest::beacon::{truncate, MAX_USER_AGENT};
use crate::own_visit::{self, Caller, NEVER_STORED, STORED};
use crate::store::sites::{valid_public_id, Site};

#[derive(Debug, Deserialize)]
pub struct CurrentParams {
    site: Option<String>,
}

/// The same answer for an unknown site and one that has not opted in, so site ids cannot be probed.
fn disabled() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "current_session_disabled",
        "the visitor's own view is not enabled for this site",
    )
}

/// Rate limit, then the site if it opted in, then the caller as the pipeline's visitor step sees them.
async fn caller(
    state: &AppState,
    req: &HttpRequest,
    params: CurrentParams,
) -> Result<(std::sync::Arc<Site>, Caller), ApiError> {
    let ip = client_ip(req, &state.trusted_proxies);
    state.auth.limits.check_visitor_client(ip)?;
    let Some(id) = params.site.filter(|id| valid_public_id(id)) else {
        return Err(ApiError::bad_request("invalid_site", "site=ID is required"));
    };
    let site = state.sites.get(&id).await?.filter(|s| s.public_current_session).ok_or_else(disabled)?;
    // The User-Agent exactly as ingestion takes it (cut to the same length).
    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let user_agent = truncate(user_agent, MAX_USER_AGENT);
    let now_ms = crate::store::now_ms();
    let (visitor, previous_visitor) = state.ingest.pipeline.visitor_hashes(&site, ip, user_agent, now_ms).await;
    let today = DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap_or_default().date_naive();
    let midnight_ms = today.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_millis();
    let site_id = site.id;
    Ok((site, Caller { site_id, visitor, previous_visitor, midnight_ms }))
}

fn private(mut answer: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    // About one person's visit: never cached, by the browser or anything between.
    answer.insert_header((header::CACHE_CONTROL, "no-store"));
    answer
}

/// The preflight a cross-origin DELETE needs (GET is a simple request).
pub async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, DELETE, OPTIONS"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}

pub async fn current(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<CurrentParams>,
) -> Result<HttpResponse, ApiError> {
    let (site, caller) = caller(&state, &req, params.into_inner()).await?;
    let visit = own_visit::current(&state.db, &caller).await.map_err(ExportError::from)?;
    let header_set = |name: &str| req.headers().get(name).is_some_and(|v| v.as_bytes() == b"1");
    let asks_not_to_be_tracked = header_set("dnt") || header_set("sec-gpc");
    Ok(private(HttpResponse::Ok()).json(json!({
        "recording": !(site.respect_dnt && asks_not_to_be_tracked),
        "honours_dnt": site.respect_dnt,
        "visit": visit,
        "includes_spooled_events": false,
        "stored": STORED,
        "never_stored": NEVER_STORED,
        "retention_days": site.retention_days,
    })))
}

pub async fn forget(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<CurrentParams>,
) -> Result<HttpResponse, ApiError> {
    let (_, caller) = caller(&state, &req, params.into_inner()).await?;
    // The live session first: from here on the visitor's events open a new visit, so nothing new joins the
    // visit being erased.
    let live = state
        .ingest
        .pipeline
        .forget_visitor(caller.site_id, caller.visitor, caller.previous_visitor)
        .await
        .map_err(|e| ApiError::from(crate::realtime::RealtimeError::Store(e)))?;
    let events =
        own_visit::forget(&state.db, &caller, &live, crate::store::now_ms()).await.map_err(ExportError::from)?;
    state.metrics.visits_forgotten.inc();
    Ok(private(HttpResponse::Ok()).json(json!({ "forgotten": { "events": events } })))
}
