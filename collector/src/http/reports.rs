//! Read endpoints beside the query API: `GET /sites/{site}/sessions`, `/sessions/{id}` and `/conversions`.
//! Parameters are the query API's (`date_range`, `timezone`, `filters` as JSON, `limit`, `offset`), validated
//! by the same parsers.
use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::auth::Authenticated;
use super::error::ApiError;
use super::AppState;
use crate::query::parse::{parse_filter, parse_timezone};
use crate::query::range::{day_start_ms, DateRange};
use crate::query::{self, Filter};
use crate::store::keys::Scope;
use crate::store::sites::Site;

type Params = web::Query<HashMap<String, String>>;

async fn readable_site(state: &AppState, principal: &Authenticated, site: &str) -> Result<Arc<Site>, ApiError> {
    let site = state.sites.get(site).await?.ok_or_else(|| ApiError::not_found("no such site"))?;
    if !principal.0.allows(Scope::StatsRead, site.id) {
        return Err(ApiError::forbidden("this needs stats:read access to the site"));
    }
    Ok(site)
}

/// `[start, end)` in epoch ms for `date_range` (default `7d`) in `timezone` (default: the site's).
fn span(site: &Site, params: &HashMap<String, String>) -> Result<(i64, i64), ApiError> {
    let tz = parse_timezone(params.get("timezone").map(String::as_str), site.timezone)?;
    let raw = params.get("date_range").map(String::as_str).unwrap_or("7d");
    let value = if raw.trim_start().starts_with('[') {
        serde_json::from_str(raw).map_err(|e| ApiError::bad_request("invalid_date_range", e.to_string()))?
    } else {
        Value::String(raw.to_owned())
    };
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let range = DateRange::parse(&value, today, today - chrono::Days::new(3 * 365))?;
    Ok((day_start_ms(tz, range.from), day_start_ms(tz, range.to + chrono::Days::new(1))))
}

fn filters(params: &HashMap<String, String>) -> Result<Vec<Filter>, ApiError> {
    let Some(text) = params.get("filters") else { return Ok(Vec::new()) };
    let list: Vec<Value> = serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request("invalid_filter", format!("filters must be a JSON list: {e}")))?;
    if list.len() > 20 {
        return Err(ApiError::bad_request("invalid_filter", "at most 20 filters"));
    }
    Ok(list.iter().map(parse_filter).collect::<Result<Vec<_>, _>>()?)
}

fn number(params: &HashMap<String, String>, name: &str, default: u64, max: u64) -> Result<u64, ApiError> {
    match params.get(name) {
        None => Ok(default),
        Some(text) => text.parse::<u64>().ok().filter(|n| *n <= max && (name != "limit" || *n > 0)).ok_or_else(|| {
            ApiError::bad_request("invalid_parameter", format!("`{name}` must be a number up to {max}"))
        }),
    }
}

pub async fn sessions(
    state: web::Data<AppState>,
    principal: Authenticated,
    site: web::Path<String>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let site = readable_site(&state, &principal, &site).await?;
    let span = span(&site, &params)?;
    let filters = filters(&params)?;
    let limit = number(&params, "limit", 50, query::sessions::MAX_PAGE)?;
    let offset = number(&params, "offset", 0, 1_000_000)?;
    let body = query::sessions::list(&state.db, site.id, span, &filters, limit, offset)
        .await
        .map_err(query::QueryError::from)?;
    Ok(HttpResponse::Ok().json(body))
}

pub async fn session(
    state: web::Data<AppState>,
    principal: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (site, id) = path.into_inner();
    let site = readable_site(&state, &principal, &site).await?;
    let id: i64 = id.parse().map_err(|_| ApiError::bad_request("invalid_session_id", "session ids are integers"))?;
    match query::sessions::detail(&state.db, site.id, id).await.map_err(query::QueryError::from)? {
        Some(body) => Ok(HttpResponse::Ok().json(body)),
        None => Err(ApiError::not_found("no such session")),
    }
}

pub async fn conversions(
    state: web::Data<AppState>,
    principal: Authenticated,
    site: web::Path<String>,
    params: Params,
) -> Result<HttpResponse, ApiError> {
    let site = readable_site(&state, &principal, &site).await?;
    let span = span(&site, &params)?;
    let body = query::conversions::report(&state.db, site.id, span).await.map_err(query::QueryError::from)?;
    Ok(HttpResponse::Ok().json(body))
}
