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
    answer(state, key, RawQuery::from_json(body.into_inner())?).await
}

/// The same fields as query parameters (see [`RawQuery::from_params`]).
pub async fn get(
    state: web::Data<AppState>,
    key: Authenticated,
    params: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    answer(state, key, RawQuery::from_params(params.into_inner())?).await
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
