//! Dashboard sign-in: `GET /api/v1/auth/status`, `POST /api/v1/auth/setup` (the first account, once),
//! `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`.
//!
//! The status also names the request's principal, so the dashboard shows only what that principal may do
//! (an API key cannot use Save buttons its scope refuses, and cannot find out its scope any other way).
//!
//! A sign-in is the `footfall_session` cookie (`HttpOnly; SameSite=Strict; Path=/`, `Secure` over HTTPS) plus a
//! CSRF token the answers carry in JSON; see [`super::auth`] for how both are checked.
use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::auth::{self, Principal, CSRF_HEADER, DEVICE_COOKIE, SESSION_COOKIE};
use super::error::ApiError;
use super::AppState;
use crate::store::users::{self, User};
use crate::store::{auth_sessions, sites, StoreError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    email: String,
    password: String,
}

/// What the dashboard needs before anything else: is there an account yet, who is signed in, which CSRF
/// token to send. Never an error for a missing or stale cookie: that is simply "signed out".
pub async fn status(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let setup_required = !users::any(&state.db).await?;
    let signed_in = match req.cookie(SESSION_COOKIE) {
        Some(cookie) => auth_sessions::find(&state.db, cookie.value())
            .await?
            .map(|s| (s.user, state.auth.csrf_token(cookie.value()))),
        None => None,
    };
    // A Bearer or Share credential is who the request acts as, even beside a cookie (as in `auth::resolve`);
    // a bad one is a 401, so a mistyped key is told at once.
    let principal = match auth::authorization(&req) {
        Some(_) => match auth::resolve(&req, &state).await? {
            Some(principal) => describe(&state, &principal).await?,
            None => json!(null),
        },
        None if signed_in.is_some() => json!({"kind": "account"}),
        None => json!(null),
    };
    let (user, csrf) = match signed_in {
        // The id and the administrator flag let the dashboard offer leaving a site and the accounts list.
        Some((user, csrf)) => (json!({"email": user.email, "id": user.id, "is_admin": user.is_admin}), json!(csrf)),
        None => (json!(null), json!(null)),
    };
    Ok(HttpResponse::Ok().json(json!({
        "setup_required": setup_required,
        "user": user,
        "principal": principal,
        "csrf_header": CSRF_HEADER,
        "csrf_token": csrf,
    })))
}

/// `{"kind": "account" | "key" | "share", "scope"?, "site"?}`: a key's scope and site (`null`: all sites), a
/// share link's site. Sites are named by their public id, as everywhere in the API.
async fn describe(state: &AppState, principal: &Principal) -> Result<serde_json::Value, ApiError> {
    Ok(match principal {
        Principal::User(_) => json!({"kind": "account"}),
        Principal::Key(key) => {
            let site = match key.site_id {
                Some(id) => Some(public_id(state, id).await?),
                None => None,
            };
            json!({"kind": "key", "scope": key.scope.as_str(), "site": site})
        }
        Principal::Share(link) => json!({"kind": "share", "site": public_id(state, link.site_id).await?}),
    })
}

/// A credential whose site is gone reaches nothing: answered like an unknown credential.
async fn public_id(state: &AppState, site_id: i64) -> Result<String, ApiError> {
    sites::public_id_of(&state.db, site_id).await?.ok_or_else(ApiError::unauthorized)
}

/// Creates the first account — only while none exists (then 409 `setup_done`) — and signs it in. Attempts
/// are limited per client address before the body is read (`limits::api_guard`).
pub async fn setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let user = users::create_first(&state.db, &body.email, &body.password).await.map_err(|e| match e {
        StoreError::Conflict(_) => ApiError::new(
            StatusCode::CONFLICT,
            "setup_done",
            "the first account exists already; sign in, or add accounts with `footfall user add`",
        ),
        other => other.into(),
    })?;
    tracing::info!("first account created through the dashboard set-up");
    sign_in(&req, &state, user, StatusCode::CREATED, json!({})).await
}

/// Signs in. Limited per client address before the body is read (`limits::api_guard`), and per email for
/// browsers that never signed in to it.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, ApiError> {
    let known_device = state.auth.is_known_device(&req, &body.email);
    state.auth.limits.check_login_email(&body.email, known_device)?;
    let Some(user) = users::authenticate(&state.db, &body.email, &body.password).await? else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "wrong email or password"));
    };
    // A new sign-in replaces the one this browser had, rather than leaving it valid behind the new cookie.
    if let Some(old) = req.cookie(SESSION_COOKIE) {
        auth_sessions::delete(&state.db, old.value()).await?;
    }
    sign_in(&req, &state, user, StatusCode::OK, json!({})).await
}

/// Starts a sign-in of `user` for this browser: the session and device cookies, and `answer` with the user and
/// the CSRF token added (an accepted invitation signs in too, and says which site it joined).
pub(crate) async fn sign_in(
    req: &HttpRequest,
    state: &AppState,
    user: User,
    status: StatusCode,
    mut answer: serde_json::Value,
) -> Result<HttpResponse, ApiError> {
    let token = auth_sessions::create(&state.db, user.id, state.auth.session_ms).await?;
    let secure = state.auth.cookie_is_secure(req);
    let cookie = Cookie::build(SESSION_COOKIE, token.clone())
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(secure)
        .max_age(time::Duration::milliseconds(state.auth.session_ms))
        .finish();
    // Outlives sign-outs on purpose: it only says this browser knew the password once.
    let device = Cookie::build(DEVICE_COOKIE, state.auth.device_token(&user.email))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/api/v1/auth")
        .secure(secure)
        .max_age(time::Duration::days(365))
        .finish();
    answer["user"] = json!({"email": user.email});
    answer["csrf_header"] = json!(CSRF_HEADER);
    answer["csrf_token"] = json!(state.auth.csrf_token(&token));
    Ok(HttpResponse::build(status).cookie(cookie).cookie(device).json(answer))
}

/// Ends the sign-in. With a valid cookie this changes state, so it needs the CSRF header like every other
/// signed-in write; without one there is nothing to end, and the answer is the same 204.
pub async fn logout(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        if auth_sessions::find(&state.db, cookie.value()).await?.is_some() {
            state.auth.check_csrf(&req, cookie.value())?;
            auth_sessions::delete(&state.db, cookie.value()).await?;
        }
    }
    let mut removal = Cookie::build(SESSION_COOKIE, "")
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(state.auth.cookie_is_secure(&req))
        .finish();
    removal.make_removal();
    Ok(HttpResponse::NoContent().cookie(removal).finish())
}
