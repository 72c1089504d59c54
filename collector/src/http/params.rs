//! Report parameters from a query string, for every report route: the one parser ([`crate::query::params`])
//! plus the one lookup it cannot do itself — the site's first day, only when `date_range` is `all`.
use std::collections::HashMap;

use actix_web::web;

use super::error::ApiError;
use super::AppState;
use crate::query::params::{RawReport, Report, ReportSpec};
use crate::store::sites::Site;

/// A report route's query string, as sent.
pub type Params = web::Query<HashMap<String, String>>;

/// The validated report parameters of `params`, and the endpoint's own (`spec.extra`) as sent.
pub async fn read(
    state: &AppState,
    site: &Site,
    params: Params,
    spec: &ReportSpec,
) -> Result<(Report, HashMap<String, String>), ApiError> {
    let (raw, extra) = RawReport::from_params(params.into_inner(), spec)?;
    let first_day = first_day(state, site, raw.needs_first_day()).await?;
    Ok((raw.resolve(site.timezone, chrono::Utc::now(), first_day, spec)?, extra))
}

/// The site's first day of data when `all` asks for it; otherwise a day no range reaches back to.
pub async fn first_day(state: &AppState, site: &Site, needed: bool) -> Result<chrono::NaiveDate, ApiError> {
    Ok(match needed {
        true => crate::query::first_day(&state.db, site.id).await?,
        false => chrono::NaiveDate::default(),
    })
}
