//! Accounts and their passwords: `POST /api/v1/account/password` (a signed-in account changes its own),
//! `GET /api/v1/users` and `POST /api/v1/users/{id}/reset-link` (the instance's administrator lists the
//! accounts and makes a one-time reset link for one — no email is sent, the link is handed over), and
//! `POST /api/v1/password-reset/{token}` (whoever holds the link sets the password).
//!
//! A changed password ends the account's other sign-ins, a reset ends all of them: whoever knew the old
//! password is signed out with it. Every request that checks or sets a password is limited per client
//! address (`limits`).
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::access::{InstanceAdmin, SignedIn};
use super::auth;
use super::error::ApiError;
use super::AppState;
use crate::store::{password_resets, users};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current: String,
    new: String,
}

/// `POST /api/v1/account/password` `{"current", "new"}` → 204; 403 `wrong_password` when `current` is not
/// the account's password (403, not 401: the sign-in itself is fine).
pub async fn change_password(
    state: web::Data<AppState>,
    SignedIn(account): SignedIn,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    if users::authenticate(&state.db, &account.user.email, &body.current).await?.is_none() {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "wrong_password", "the current password is not right"));
    }
    users::change_password_keeping(&state.db, account.user.id, &body.new, Some(account.session_id)).await?;
    tracing::info!(user = account.user.id, "password changed; the account's other sign-ins ended");
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/users` → `{"users": [{"id", "email", "is_admin", "created_at"}]}`, the administrator first.
pub async fn list(state: web::Data<AppState>, _: InstanceAdmin) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({ "users": users::list(&state.db).await? })))
}

/// `POST /api/v1/users/{id}/reset-link` → 201 `{"url": "BASE/#/reset/TOKEN", "expires_at"}`; the link is shown
/// only here, works once and for an hour, and replaces the account's earlier one.
pub async fn reset_link(
    req: HttpRequest,
    state: web::Data<AppState>,
    _: InstanceAdmin,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let user = users::find(&state.db, *id).await?.ok_or_else(|| ApiError::not_found("no such account"))?;
    let (token, expires_at) = password_resets::create(&state.db, user.id).await?;
    let base = auth::origin(&req, &state.auth).unwrap_or_default();
    Ok(HttpResponse::Created().json(json!({
        "url": format!("{base}/#/reset/{token}"),
        "expires_at": expires_at,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    password: String,
}

/// `POST /api/v1/password-reset/{token}` `{"password"}` → `{"email"}` (to sign in with); 404 `unknown_link`
/// for an unknown, used or expired link.
pub async fn redeem_reset(
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: web::Json<NewPassword>,
) -> Result<HttpResponse, ApiError> {
    let Some(user) = password_resets::redeem(&state.db, &token, &body.password).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_link",
            "this reset link does not exist, was used already or has expired; ask the administrator for a new one",
        ));
    };
    tracing::info!(user = user.id, "password reset with a link; the account's sign-ins ended");
    Ok(HttpResponse::Ok().json(json!({ "email": user.email })))
}
