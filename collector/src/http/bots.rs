//! `GET /api/v1/sites/{site}/bots`: the bot ledger for a date range (`date_range`, as in the query API;
//! default `30d`; days are UTC days).
use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::auth::Authenticated;
use super::error::ApiError;
use super::AppState;
use crate::query::range::DateRange;
use crate::store::keys::Scope;

pub async fn ledger(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    site: web::Path<String>,
    params: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let site = state.sites.get(&site).await?.ok_or_else(|| ApiError::not_found("no such site"))?;
    if !principal.allows(Scope::StatsRead, site.id) {
        return Err(ApiError::forbidden("reading the bot ledger needs stats:read access to this site"));
    }
    let raw = params.get("date_range").map(String::as_str).unwrap_or("30d");
    let value = if raw.starts_with('[') {
        serde_json::from_str(raw).map_err(|e| ApiError::bad_request("invalid_date_range", e.to_string()))?
    } else {
        Value::String(raw.to_owned())
    };
    let today = chrono::Utc::now().date_naive();
    let range = DateRange::parse(&value, today, today - chrono::Days::new(365))?;
    Ok(HttpResponse::Ok().json(crate::query::bots::ledger(&state.db, site.id, &range).await?))
}
