//! `GET /api/v1/sites/{site}/bots`: the bot ledger for a date range (report parameters as everywhere; the
//! ledger is kept per UTC day, so its days are UTC days).
use actix_web::{web, HttpResponse};

use super::access::{SiteAccess, StatsRead};
use super::error::ApiError;
use super::params::{self, Params};
use super::AppState;
use crate::query::params::{Days, ReportSpec};

const LEDGER: ReportSpec = ReportSpec { days: Days::Utc, filters: false, paging: None, compare: false, extra: &[] };

pub async fn ledger(
    state: web::Data<AppState>,
    access: SiteAccess<StatsRead>,
    query: Params,
) -> Result<HttpResponse, ApiError> {
    let (report, _) = params::read(&state, &access.site, query, &LEDGER).await?;
    Ok(HttpResponse::Ok().json(crate::query::bots::ledger(&state.db, access.site.id, &report.range).await?))
}
