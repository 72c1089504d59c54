//! `POST /api/v1/query` and `GET /api/v1/query`: the site named in the request is authorised through
//! [`access::authorize`], the fields validated by [`RawQuery::validate`] (its shared report parameters by
//! [`crate::query::params`]), and the answer computed by [`query::run`].
use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::access::{self, StatsRead};
use super::auth::Authenticated;
use super::error::ApiError;
use super::params::first_day;
use super::AppState;
use crate::query::{self, RawQuery};

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
    let site = access::authorize::<StatsRead>(&state, &principal, site_id).await?;
    let first_day = first_day(&state, &site, raw.report.needs_first_day()).await?;
    let query = raw.validate(site, chrono::Utc::now(), first_day)?;
    let (mut body, dropped) = futures_util::try_join!(
        query::run(&state.db, &query),
        query::bots::dropped(&state.db, query.site.id, &query.range)
    )?;
    if !dropped.is_empty() {
        body["meta"]["dropped"] = Value::Object(dropped);
    }
    Ok(HttpResponse::Ok().json(body))
}
