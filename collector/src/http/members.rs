//! A site's people: `GET /api/v1/sites/{site}/members` (the owner, the members and the pending invitations),
//! `PATCH` / `DELETE …/members/{user_id}` (change a role, remove someone, or leave), and
//! `POST …/transfer` (the owner gives the site to another account and stays on as an admin).
//!
//! Who may do what is [`access`]'s: the owner and admins manage people ([`ManagerAccount`]), every member may
//! leave ([`SiteAccount`] with [`access::may_remove_member`]), only the owner transfers ([`SiteOwner`]). The
//! owner is never a member row: it cannot be given a role, removed or leave — it transfers the site first.
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::access::{self, ManagerAccount, SiteAccess, SiteAccount, SiteOwner};
use super::error::ApiError;
use super::manage::site_row;
use super::AppState;
use crate::store::members::{self, Role};
use crate::store::{invitations, users};

pub(super) fn invalid_role() -> ApiError {
    ApiError::bad_request("invalid_role", "role must be admin or viewer (the owner changes by a transfer)")
}

fn owner_stays() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "owner_stays",
        "the owner keeps the site until they transfer it to another account (POST …/transfer)",
    )
}

fn no_such_member() -> ApiError {
    ApiError::not_found("this account is not a member of the site")
}

/// `GET /api/v1/sites/{site}/members` → `{"members": [owner, …], "invitations": [pending, …]}`.
pub async fn list(state: web::Data<AppState>, access: SiteAccess<ManagerAccount>) -> Result<HttpResponse, ApiError> {
    let row = site_row(&state, &access.site.public_id).await?;
    Ok(HttpResponse::Ok().json(json!({
        "members": members::list(&state.db, &row).await?,
        "invitations": invitations::list(&state.db, row.id).await?,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: String,
}

/// `PATCH /api/v1/sites/{site}/members/{user_id}` `{"role": "admin" | "viewer"}` → `{"member"}`.
pub async fn update(
    state: web::Data<AppState>,
    access: SiteAccess<ManagerAccount>,
    path: web::Path<(String, i64)>,
    body: web::Json<RoleBody>,
) -> Result<HttpResponse, ApiError> {
    let (_, user_id) = path.into_inner();
    let role = Role::parse_member(&body.role).ok_or_else(invalid_role)?;
    let row = site_row(&state, &access.site.public_id).await?;
    if members::owner_of(&state.db, &row).await?.is_some_and(|owner| owner.id == user_id) {
        return Err(owner_stays());
    }
    if !members::set_role(&state.db, row.id, user_id, role).await? {
        return Err(no_such_member());
    }
    let member = members::find(&state.db, &row, user_id).await?.ok_or_else(no_such_member)?;
    Ok(HttpResponse::Ok().json(json!({ "member": member })))
}

/// `DELETE /api/v1/sites/{site}/members/{user_id}` → 204: the owner or an admin removes a member, or a member
/// leaves. Their sign-ins lose the site with their next request (roles are read on every request).
pub async fn remove(
    state: web::Data<AppState>,
    access: SiteAccess<SiteAccount>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (_, user_id) = path.into_inner();
    access::may_remove_member(&access.principal, access.site.id, user_id)?;
    let row = site_row(&state, &access.site.public_id).await?;
    if members::owner_of(&state.db, &row).await?.is_some_and(|owner| owner.id == user_id) {
        return Err(owner_stays());
    }
    if !members::remove(&state.db, row.id, user_id).await? {
        return Err(no_such_member());
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    email: String,
}

/// `POST /api/v1/sites/{site}/transfer` `{"email"}` → `{"members"}`: the account with that email owns the site
/// from now on; the previous owner stays as an admin. The new owner must have an account already (invite
/// them first).
pub async fn transfer(
    state: web::Data<AppState>,
    access: SiteAccess<SiteOwner>,
    body: web::Json<TransferBody>,
) -> Result<HttpResponse, ApiError> {
    let Some(to) = users::find_by_email(&state.db, &body.email).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_account",
            "no account has this email: invite it to the site first, then transfer the site",
        ));
    };
    let row = site_row(&state, &access.site.public_id).await?;
    let from = access.principal.account().map(|account| account.user.clone()).ok_or_else(ApiError::unauthorized)?;
    members::transfer(&state.db, row.id, &from, &to).await?;
    tracing::info!(site = %row.public_id, "site transferred to another account");
    let row = site_row(&state, &row.public_id).await?;
    Ok(HttpResponse::Ok().json(json!({ "members": members::list(&state.db, &row).await? })))
}
