//! Read endpoints beside the query API: `GET /sites/{site}/sessions`, `/sessions/{id}` and `/conversions`.
//! Parameters are the shared report parameters ([`crate::query::params`]).
use actix_web::{web, HttpResponse};

use super::access::{SiteAccess, StatsRead};
use super::error::ApiError;
use super::params::{self, Params};
use super::AppState;
use crate::query::params::{Days, Paging, ReportSpec};
use crate::query::{self, QueryError};

const SESSIONS: ReportSpec = ReportSpec {
    days: Days::Local,
    filters: true,
    paging: Some(Paging { default_limit: 50, max_limit: query::sessions::MAX_PAGE }),
    compare: false,
    extra: &[],
};
const CONVERSIONS: ReportSpec =
    ReportSpec { days: Days::Local, filters: true, paging: None, compare: false, extra: &[] };

pub async fn sessions(
    state: web::Data<AppState>,
    access: SiteAccess<StatsRead>,
    query: Params,
) -> Result<HttpResponse, ApiError> {
    let (report, _) = params::read(&state, &access.site, query, &SESSIONS).await?;
    let (limit, offset) = (report.limit as u64, report.offset as u64);
    let body = query::sessions::list(&state.db, access.site.id, report.span(), &report.filters, limit, offset)
        .await
        .map_err(QueryError::from)?;
    Ok(HttpResponse::Ok().json(body))
}

pub async fn session(
    state: web::Data<AppState>,
    access: SiteAccess<StatsRead>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    let id: i64 = id.parse().map_err(|_| ApiError::bad_request("invalid_session_id", "session ids are integers"))?;
    match query::sessions::detail(&state.db, access.site.id, id).await.map_err(QueryError::from)? {
        Some(body) => Ok(HttpResponse::Ok().json(body)),
        None => Err(ApiError::not_found("no such session")),
    }
}

pub async fn conversions(
    state: web::Data<AppState>,
    access: SiteAccess<StatsRead>,
    query: Params,
) -> Result<HttpResponse, ApiError> {
    let (report, _) = params::read(&state, &access.site, query, &CONVERSIONS).await?;
    let body = query::conversions::report(&state.db, access.site.id, report.span(), &report.filters)
        .await
        .map_err(QueryError::from)?;
    Ok(HttpResponse::Ok().json(body))
}
