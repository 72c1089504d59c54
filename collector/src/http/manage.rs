//! Management: sites (`/api/v1/sites`, `/api/v1/sites/{site}`), API keys (`/api/v1/keys`) and share links
//! (`/api/v1/sites/{site}/share-links`).
//!
//! Who may do what:
//! - Sites: an account on the sites it owns or is an admin of (only the owner deletes one); a key with
//!   `sites:write` on its site (or all sites). Reading a site's settings (`GET`) is also open to viewers,
//!   `stats:read` keys and share links, because its time zone and domain shape every report; an account sees
//!   its `role` beside each site. Creating a site: an account (it owns the new site) or an instance-wide
//!   `sites:write` key (the site has no owner: it belongs to the administrator account).
//! - Keys and share links are credentials, and only a signed-in owner or admin mints or revokes them — never
//!   another key or link, so no credential can widen itself. Keys made here are always for one of the sites
//!   the account manages; instance-wide keys come from `footfall key add` on the server.
//!
//! After a site changes, this collector's site cache is reloaded at once, so ingestion and reports use the new
//! settings immediately here (other collectors at their next refresh, within 10 s).
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::access::{self, DeleteSite, Manage, ManagerAccount, SiteAccess, SiteSettings};
use super::auth::{Account, Authenticated, Principal};
use super::error::ApiError;
use super::AppState;
use crate::store::entities::sites::Model as SiteRow;
use crate::store::keys::{self, Scope};
use crate::store::share_links;
use crate::store::sites::{self, NewSite, SitePatch};

/// A site's settings as the API answers them (and `footfall site show --json` prints them).
pub(crate) fn site_json(row: &SiteRow) -> Value {
    let hostnames: Vec<String> = serde_json::from_str(&row.allowed_hostnames).unwrap_or_default();
    json!({
        "id": row.public_id,
        "domain": row.domain,
        "timezone": row.timezone,
        "allowed_hostnames": hostnames,
        "retention_days": row.retention_days,
        "respect_dnt": row.respect_dnt,
        "hash_routing": row.hash_routing,
        "public_presence": row.public_presence,
        "public_current_session": row.public_current_session,
        "created_at": row.created_at,
    })
}

fn may_read_site(principal: &Principal, site_id: i64) -> bool {
    <SiteSettings as access::Requirement>::permits(principal, site_id)
}

fn account(principal: &Principal) -> Result<&Account, ApiError> {
    principal.account().ok_or_else(|| {
        ApiError::forbidden("keys and share links are managed by a signed-in account, not by another key or link")
    })
}

/// The stored row of a site an extractor allowed (the cache's copy lacks its owner and settings' raw values).
pub(super) async fn site_row(state: &AppState, public_id: &str) -> Result<SiteRow, ApiError> {
    sites::find_model(&state.db, public_id).await?.ok_or_else(|| ApiError::not_found("no such site"))
}

/// `GET /api/v1/sites`: the sites the caller may read or manage.
pub async fn list_sites(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    if let Principal::Key(key) = &principal {
        if key.scope == Scope::EventsWrite {
            return Err(ApiError::forbidden("listing sites needs a stats:read or sites:write key"));
        }
    }
    let rows = sites::list_models(&state.db).await?;
    let visible: Vec<Value> =
        rows.iter().filter(|row| may_read_site(&principal, row.id)).map(|row| with_role(&principal, row)).collect();
    Ok(HttpResponse::Ok().json(json!({"sites": visible})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSiteBody {
    domain: String,
    id: Option<String>,
    timezone: Option<String>,
}

/// `POST /api/v1/sites` → 201 with the site.
pub async fn create_site(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: web::Json<NewSiteBody>,
) -> Result<HttpResponse, ApiError> {
    let owner = match &principal {
        Principal::User(account) => Some(account.user.id),
        Principal::Key(key) if key.scope == Scope::SitesWrite && key.site_id.is_none() => None,
        _ => {
            return Err(ApiError::forbidden(
                "creating a site needs a signed-in account or an all-sites sites:write key",
            ))
        }
    };
    let new = NewSite { domain: &body.domain, public_id: body.id.as_deref(), timezone: body.timezone.as_deref() };
    let site = sites::create_owned(&state.db, new, owner).await?;
    state.sites.reload(&site.public_id).await?;
    let row = site_row(&state, &site.public_id).await?;
    Ok(HttpResponse::Created().json(site_json(&row)))
}

/// `GET /api/v1/sites/{site}`.
pub async fn get_site(state: web::Data<AppState>, access: SiteAccess<SiteSettings>) -> Result<HttpResponse, ApiError> {
    let row = site_row(&state, &access.site.public_id).await?;
    Ok(HttpResponse::Ok().json(with_role(&access.principal, &row)))
}

/// A site's settings, and for an account its `role` there (`owner`, `admin`, `viewer`): the dashboard offers
/// only what the role allows.
fn with_role(principal: &Principal, row: &SiteRow) -> Value {
    let mut site = site_json(row);
    if let Some(role) = principal.role(row.id) {
        site["role"] = json!(role);
    }
    site
}

/// `PATCH /api/v1/sites/{site}`: any of allowed_hostnames, timezone, retention_days, respect_dnt,
/// hash_routing, public_presence, public_current_session.
pub async fn update_site(
    state: web::Data<AppState>,
    access: SiteAccess<Manage>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let row = site_row(&state, &access.site.public_id).await?;
    let patch: SitePatch = serde_json::from_value(body.into_inner())
        .map_err(|e| ApiError::bad_request("invalid_request", e.to_string()))?;
    let updated =
        sites::update(&state.db, &row.public_id, patch).await?.ok_or_else(|| ApiError::not_found("no such site"))?;
    state.sites.reload(&row.public_id).await?;
    Ok(HttpResponse::Ok().json(site_json(&updated)))
}

/// `DELETE /api/v1/sites/{site}`: the site and everything stored for it, its keys, share links, members and
/// invitations included.
pub async fn delete_site(state: web::Data<AppState>, access: SiteAccess<DeleteSite>) -> Result<HttpResponse, ApiError> {
    let row = site_row(&state, &access.site.public_id).await?;
    sites::delete(&state.db, row.id).await?;
    state.ingest.pipeline.forget_site(row.id).await;
    state.sites.reload(&row.public_id).await?;
    state.auth.forget_keys(|key| key.site_id == Some(row.id));
    state.auth.forget_share_links(|link| link.site_id == row.id);
    tracing::info!(site = %row.public_id, "site deleted with its data");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKeyBody {
    scope: String,
    site: Option<String>,
}

/// `POST /api/v1/keys` → 201 `{"id", "key", "prefix", "scope", "site", "created_at"}`; the key is shown once.
pub async fn create_key(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    body: web::Json<NewKeyBody>,
) -> Result<HttpResponse, ApiError> {
    account(&principal)?;
    let scope = Scope::parse(&body.scope).ok_or_else(|| {
        ApiError::bad_request("invalid_scope", "scope must be stats:read, sites:write or events:write")
    })?;
    let Some(public_id) = &body.site else {
        return Err(ApiError::bad_request(
            "site_required",
            "a key made in the dashboard is for one site; all-sites keys come from `footfall key add`",
        ));
    };
    let site = access::authorize::<Manage>(&state, &principal, public_id).await?;
    let (info, key) = keys::create_with_info(&state.db, scope, Some(site.id)).await?;
    Ok(HttpResponse::Created().json(json!({
        "id": info.id,
        "key": key,
        "prefix": info.prefix,
        "scope": info.scope,
        "site": site.public_id,
        "created_at": info.created_at,
    })))
}

/// `GET /api/v1/keys`: the keys of the sites the account manages — prefix, scope, site, created, last used;
/// never a key.
pub async fn list_keys(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let account = account(&principal)?;
    let managed: Vec<i64> = account.managed_sites().collect();
    let names: HashMap<i64, String> =
        sites::list_models(&state.db).await?.into_iter().map(|row| (row.id, row.public_id)).collect();
    let listed: Vec<Value> = keys::list_for_sites(&state.db, &managed)
        .await?
        .into_iter()
        .map(|info| with_site(&info, info.site_id.and_then(|id| names.get(&id)).map(String::as_str)))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"keys": listed})))
}

/// A stored key or share link as the lists show it, with its site's public id (`None` for an all-sites key);
/// the records hold internal ids only, and never a key or token.
pub(crate) fn with_site(record: &impl serde::Serialize, site: Option<&str>) -> Value {
    let mut item = serde_json::to_value(record).unwrap_or_default();
    item["site"] = json!(site);
    item
}

/// `DELETE /api/v1/keys/{id}` → 204. Keys of sites the account does not manage are "not found", as are
/// all-sites keys.
pub async fn delete_key(
    state: web::Data<AppState>,
    Authenticated(principal): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let account = account(&principal)?;
    let id = id.into_inner();
    match keys::site_of(&state.db, id).await? {
        Some(Some(site_id)) if account.roles.get(&site_id).is_some_and(|role| role.manages()) => {
            keys::delete(&state.db, id).await?;
            state.auth.forget_keys(|key| key.id == id);
            Ok(HttpResponse::NoContent().finish())
        }
        _ => Err(ApiError::not_found("no such key among the keys of the sites you manage")),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewShareLinkBody {
    #[serde(default)]
    label: String,
    /// Epoch milliseconds; absent: valid until revoked.
    expires_at: Option<i64>,
}

/// `POST /api/v1/sites/{site}/share-links` → 201 `{"id", "token", "url": "/share/TOKEN", ...}`; the token is
/// shown once.
pub async fn create_share_link(
    state: web::Data<AppState>,
    access: SiteAccess<ManagerAccount>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // The body is optional: an empty one makes an unlabelled link without expiry.
    let body: NewShareLinkBody = if body.iter().all(u8::is_ascii_whitespace) {
        NewShareLinkBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?
    };
    let (link, token) = share_links::create(&state.db, access.site.id, &body.label, body.expires_at).await?;
    let mut answer = serde_json::to_value(&link).unwrap_or_default();
    answer["token"] = json!(token);
    answer["url"] = json!(format!("/share/{token}"));
    Ok(HttpResponse::build(StatusCode::CREATED).json(answer))
}

/// `GET /api/v1/sites/{site}/share-links`: id, label, prefix, created, expiry; never a token.
pub async fn list_share_links(
    state: web::Data<AppState>,
    access: SiteAccess<ManagerAccount>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({"share_links": share_links::list(&state.db, access.site.id).await?})))
}

/// `DELETE /api/v1/sites/{site}/share-links/{id}` → 204; the link stops working at once on this collector.
pub async fn delete_share_link(
    state: web::Data<AppState>,
    access: SiteAccess<ManagerAccount>,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (_, id) = path.into_inner();
    if !share_links::delete(&state.db, access.site.id, id).await? {
        return Err(ApiError::not_found("this site has no such share link"));
    }
    state.auth.forget_share_links(|link| link.id == id);
    Ok(HttpResponse::NoContent().finish())
}
