//! `GET /api/v1/sites/{site}/export` (raw events as CSV, `stats:read`) and `GET` / `DELETE
//! /api/v1/sites/{site}/users/{user_id}` (one identified user's data: reading needs `stats:read`, erasing
//! `sites:write`). The work is in [`crate::export`].
use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::auth::{Authenticated, Principal};
use super::error::ApiError;
use super::AppState;
use crate::export::{events, users};
use crate::store::keys::Scope;
use crate::store::sites::Site;

async fn site_for(
    state: &AppState,
    principal: &Principal,
    site: &str,
    scope: Scope,
    what: &str,
) -> Result<std::sync::Arc<Site>, ApiError> {
    let site = state.sites.get(site).await?.ok_or_else(|| ApiError::not_found("no such site"))?;
    if !principal.allows(scope, site.id) {
        return Err(ApiError::forbidden(format!("{what} needs {} access to this site", scope.as_str())));
    }
    Ok(site)
}

pub async fn csv(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    site: web::Path<String>,
    params: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let site = site_for(&state, &principal, &site, Scope::StatsRead, "exporting events").await?;
    let first_day = match params.get("date_range").map(String::as_str) {
        Some("all") => crate::query::first_day(&state.db, site.id).await?,
        _ => chrono::NaiveDate::default(),
    };
    let export = events::Export::parse(&params, &site, chrono::Utc::now(), first_day)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", export.filename())))
        .streaming(events::csv(state.db.clone(), export)))
}

pub async fn user(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (site, user_id) = path.into_inner();
    // One person's data is for the site's operators (owner or key holder), not for whoever holds a share link.
    if matches!(principal, Principal::Share(_)) {
        return Err(ApiError::forbidden("share links cannot read an identified user's data"));
    }
    let site = site_for(&state, &principal, &site, Scope::StatsRead, "reading a user's data").await?;
    let user = users::User::new(&state.user_key, site.id, &user_id)?;
    match users::find(&state.db, &user).await.map_err(crate::export::ExportError::from)? {
        Some(body) => Ok(HttpResponse::Ok().json(body)),
        None => Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "user_not_found",
            "nothing is stored about this user on this site",
        )),
    }
}

pub async fn erase_user(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (site, user_id) = path.into_inner();
    let site = site_for(&state, &principal, &site, Scope::SitesWrite, "erasing a user's data").await?;
    let user = users::User::new(&state.user_key, site.id, &user_id)?;
    let deleted = users::erase(&state.db, &user).await.map_err(crate::export::ExportError::from)?;
    tracing::info!(site = %site.public_id, sessions = deleted.sessions, events = deleted.events, "erased a user's data");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "deleted": deleted })))
}
