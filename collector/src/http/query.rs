//! `POST /api/v1/query` and `GET /api/v1/query`: authorise, validate, answer.
use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde_json::Value;

use super::auth::Authenticated;
use super::error::ApiError;
use super::AppState;
use crate::query::{self, RawQuery};
use crate::store::keys::Scope;

pub async fn post(
    state: web::Data<AppState>,
    key: Authenticated,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let raw: RawQuery =
        serde_json::from_value(body.into_inner()).map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    answer(state, key, raw).await
}

/// The same fields as query parameters; lists and ranges JSON-encoded (`metrics=["visitors"]`), or for
/// plain lists also comma-separated (`metrics=visitors,pageviews`).
pub async fn get(
    state: web::Data<AppState>,
    key: Authenticated,
    params: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let mut object = serde_json::Map::new();
    for (name, text) in params.into_inner() {
        let value = match name.as_str() {
            "limit" | "offset" => text.parse::<u64>().map(Value::from).unwrap_or(Value::String(text)),
            "metrics" | "dimensions" if !text.trim_start().starts_with('[') => {
                Value::Array(text.split(',').map(|s| Value::String(s.trim().to_owned())).collect())
            }
            "date_range" | "metrics" | "dimensions" | "filters" | "order_by" if text.trim_start().starts_with('[') => {
                serde_json::from_str(&text)
                    .map_err(|e| ApiError::bad_request("invalid_query", format!("`{name}` is not valid JSON: {e}")))?
            }
            _ => Value::String(text),
        };
        object.insert(name, value);
    }
    let raw: RawQuery = serde_json::from_value(Value::Object(object))
        .map_err(|e| ApiError::bad_request("invalid_query", e.to_string()))?;
    answer(state, key, raw).await
}

async fn answer(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    raw: RawQuery,
) -> Result<HttpResponse, ApiError> {
    let site_id = query::parse::parse_site(&raw.site)?;
    let site = state.sites.get(site_id).await?.ok_or_else(|| ApiError::not_found(format!("no site `{site_id}`")))?;
    if !principal.allows(Scope::StatsRead, site.id) {
        return Err(ApiError::forbidden("querying stats needs stats:read access to this site"));
    }
    let first_day = match raw.date_range.as_str() {
        Some("all") => query::first_day(&state.db, site.id).await?,
        _ => NaiveDate::default(),
    };
    let query = raw.validate(site, chrono::Utc::now(), first_day)?;
    let body = query::run(&state.db, &query).await?;
    Ok(HttpResponse::Ok().json(body))
}
