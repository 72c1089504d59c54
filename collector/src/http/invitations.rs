//! Inviting people to a site: `POST /api/v1/sites/{site}/invitations` `{"email", "role"}` and
//! `DELETE …/invitations/{id}` (the owner and admins), then the invited person's side, without credentials:
//! `GET /api/v1/invitations/{token}` (what the link is for) and `POST /api/v1/invitations/{token}/accept`.
//!
//! An email that has an account becomes a member at once. Another gets a one-time link
//! `BASE/#/invite/TOKEN` (the token after `#` never reaches a server log); whoever opens it sets a password,
//! which creates the account with the invited email and signs it in. If that account exists by then, its
//! password (or being signed in as it) is asked instead: a link never signs anyone in to an existing account
//! on its own.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::access::{ManagerAccount, SiteAccess};
use super::account::sign_in;
use super::auth::{self, SESSION_COOKIE};
use super::error::ApiError;
use super::manage::site_row;
use super::members::invalid_role;
use super::AppState;
use crate::store::invitations::{self, Joiner};
use crate::store::members::{self, Role};
use crate::store::{auth_sessions, sites, users, StoreError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    email: String,
    role: String,
}

/// `POST /api/v1/sites/{site}/invitations` → 201 `{"member"}` for an existing account, or 201
/// `{"invitation", "url"}` with the one-time link (shown only here) for a new email.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    access: SiteAccess<ManagerAccount>,
    body: web::Json<InviteBody>,
) -> Result<HttpResponse, ApiError> {
    let role = Role::parse_member(&body.role).ok_or_else(invalid_role)?;
    let email = users::checked_email(&body.email)?;
    let row = site_row(&state, &access.site.public_id).await?;
    if let Some(user) = users::find_by_email(&state.db, &email).await? {
        let member = members::add(&state.db, &row, &user, role).await.map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::new(
                StatusCode::CONFLICT,
                "already_member",
                format!("{email} is the owner or a member of this site already"),
            ),
            other => other.into(),
        })?;
        return Ok(HttpResponse::Created().json(json!({ "member": member })));
    }
    let (invitation, token) = invitations::create(&state.db, row.id, &email, role).await?;
    let base = auth::origin(&req, &state.auth).unwrap_or_default();
    Ok(HttpResponse::Created().json(json!({
        "invitation": invitation,
        "url": format!("{base}/#/invite/{token}"),
    })))
}

/// `DELETE /api/v1/sites/{site}/invitations/{id}` → 204; the link stops working.
pub async fn revoke(
    state: web::Data<AppState>,
    access: SiteAccess<ManagerAccount>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    if !invitations::revoke(&state.db, access.site.id, id).await? {
        return Err(ApiError::not_found("this site has no such pending invitation"));
    }
    Ok(HttpResponse::NoContent().finish())
}

fn unknown_invitation() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_invitation",
        "this invitation does not exist, was used already or has expired; ask for a new one",
    )
}

/// `GET /api/v1/invitations/{token}` → `{"site": {"id", "domain"}, "role", "email", "expires_at",
/// "account_exists"}`; 404 for an unknown, used or expired link.
pub async fn show(state: web::Data<AppState>, token: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let invitation = invitations::find(&state.db, &token).await?.ok_or_else(unknown_invitation)?;
    let site = sites::public_id_of(&state.db, invitation.site_id).await?.ok_or_else(unknown_invitation)?;
    let domain = state.sites.get(&site).await?.map(|s| s.domain.clone()).unwrap_or_default();
    let account_exists = users::find_by_email(&state.db, &invitation.email).await?.is_some();
    Ok(HttpResponse::Ok().json(json!({
        "site": {"id": site, "domain": domain},
        "role": invitation.role,
        "email": invitation.email,
        "expires_at": invitation.expires_at,
        "account_exists": account_exists,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    password: Option<String>,
}

/// `POST /api/v1/invitations/{token}/accept` `{"password"}`: creates the invited account with this password
/// (or checks the password of the account with the invited email, or needs none when signed in as it), makes
/// it a member, uses the link up and signs in → `{"site", "role", "user", "csrf_header", "csrf_token"}`.
pub async fn accept(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    body: web::Json<AcceptBody>,
) -> Result<HttpResponse, ApiError> {
    let invitation = invitations::find(&state.db, &token).await?.ok_or_else(unknown_invitation)?;
    let cookie = req.cookie(SESSION_COOKIE);
    let signed_in = match &cookie {
        Some(cookie) => auth_sessions::find(&state.db, cookie.value()).await?,
        None => None,
    };
    let password = body.password.as_deref();
    let joiner = match signed_in {
        Some(current) if current.user.email == invitation.email => {
            if let Some(cookie) = &cookie {
                state.auth.check_csrf(&req, cookie.value())?;
            }
            Joiner::Account(current.user)
        }
        _ => match users::find_by_email(&state.db, &invitation.email).await? {
            Some(_) => {
                let user = users::authenticate(&state.db, &invitation.email, password.unwrap_or_default())
                    .await?
                    .ok_or_else(|| {
                        ApiError::new(
                            StatusCode::UNAUTHORIZED,
                            "invalid_credentials",
                            format!("{} has an account: give its password to join", invitation.email),
                        )
                    })?;
                Joiner::Account(user)
            }
            None => Joiner::NewAccount {
                password: password.ok_or_else(|| {
                    ApiError::bad_request("password_required", "choose a password for the new account")
                })?,
            },
        },
    };
    let (user, _) = invitations::accept(&state.db, &invitation, joiner).await?.ok_or_else(unknown_invitation)?;
    let site = sites::public_id_of(&state.db, invitation.site_id).await?.ok_or_else(unknown_invitation)?;
    tracing::info!(site = %site, role = invitation.role.as_str(), "invitation accepted");
    let answer = json!({"site": site, "role": invitation.role});
    // A browser signed in as someone else is signed in as the invited account now, as after a login.
    if let Some(cookie) = &cookie {
        auth_sessions::delete(&state.db, cookie.value()).await?;
    }
    sign_in(&req, &state, user, StatusCode::OK, answer).await
}
