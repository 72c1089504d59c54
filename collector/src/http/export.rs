//! `GET /api/v1/sites/{site}/export` (raw events as CSV, `stats:read`) and `GET` / `DELETE
//! /api/v1/sites/{site}/users/{user_id}` (one identified user's data: reading needs `stats:read`, erasing
//! `sites:write`). The work is in [`crate::export`].
use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::access::{Manage, PersonalData, SiteAccess, StatsRead};
use super::error::ApiError;
use super::params::{self, Params};
use super::AppState;
use crate::export::{events, users, ExportError};

pub async fn csv(
    state: web::Data<AppState>,
    access: SiteAccess<StatsRead>,
    query: Params,
) -> Result<HttpResponse, ApiError> {
    let (report, extra) = params::read(&state, &access.site, query, &events::PARAMETERS).await?;
    let export = events::Export::new(&access.site, report, extra.get("format").map(String::as_str))?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", export.filename())))
        .streaming(events::csv(state.db.clone(), export)))
}

pub async fn user(
    state: web::Data<AppState>,
    access: SiteAccess<PersonalData>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, user_id) = path.into_inner();
    let user = users::User::new(&state.user_key, access.site.id, &user_id)?;
    match users::find(&state.db, &user).await.map_err(ExportError::from)? {
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
    access: SiteAccess<Manage>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, user_id) = path.into_inner();
    let site = &access.site;
    let user = users::User::new(&state.user_key, site.id, &user_id)?;
    let deleted = users::erase(&state.db, &user).await.map_err(ExportError::from)?;
    tracing::info!(site = %site.public_id, sessions = deleted.sessions, events = deleted.events, "erased a user's data");
    Ok(HttpResponse::Ok().json(serde_json::json!({ "deleted": deleted })))
}
