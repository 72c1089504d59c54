//! Which site a request may act on: the one extractor behind every `/api/v1/sites/{site}/…` route, and the
//! one function the query route calls with the site named in its body.
//!
//! Order matters: the principal is resolved first (no credentials: `401`), then the site is looked up and the
//! requirement checked. A credential that reaches no site of that id — because none exists, or because it
//! belongs to someone else — gets the same `404` with the same body, so site ids cannot be probed with a
//! credential of one's own (a probe told an existing foreign id from an unknown one by 403 against 404). A
//! credential that does reach the site but lacks the requirement (a `stats:read` key changing settings) gets
//! `403`: it learns nothing it did not know.
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::auth::{Authenticated, Principal};
use super::error::ApiError;
use super::AppState;
use crate::store::keys::Scope;
use crate::store::sites::Site;

/// What a route asks of the principal on the site.
pub trait Requirement {
    fn permits(principal: &Principal, site_id: i64) -> bool;
    /// The `403` message for a principal that reaches the site without this right.
    const REFUSAL: &'static str;
}

/// Reading stats: share links, `stats:read` keys, the owner.
pub struct StatsRead;
/// One identified person's data: `stats:read` keys and the owner, never a share link (it is for the site's
/// operators, not for whoever a dashboard was shared with).
pub struct PersonalData;
/// A site's settings, which shape every report (time zone, domain): any key or link that reads or manages it.
pub struct SiteSettings;
/// Changing the site or its data: `sites:write` keys and the owner.
pub struct Manage;
/// Credentials of the site (share links): only a signed-in owner mints or revokes them, so no credential can
/// widen itself.
pub struct OwnerAccount;

impl Requirement for StatsRead {
    fn permits(principal: &Principal, site_id: i64) -> bool {
        principal.allows(Scope::StatsRead, site_id)
    }
    const REFUSAL: &'static str = "this needs stats:read access to the site";
}

impl Requirement for PersonalData {
    fn permits(principal: &Principal, site_id: i64) -> bool {
        !matches!(principal, Principal::Share(_)) && principal.allows(Scope::StatsRead, site_id)
    }
    const REFUSAL: &'static str = "one person's data is for the site's owner and stats:read keys, not share links";
}

impl Requirement for SiteSettings {
    fn permits(principal: &Principal, site_id: i64) -> bool {
        principal.allows(Scope::StatsRead, site_id) || principal.allows(Scope::SitesWrite, site_id)
    }
    const REFUSAL: &'static str = "reading this site needs stats:read or sites:write access to it";
}

impl Requirement for Manage {
    fn permits(principal: &Principal, site_id: i64) -> bool {
        principal.allows(Scope::SitesWrite, site_id)
    }
    const REFUSAL: &'static str = "this needs the site's owner or a sites:write key for it";
}

impl Requirement for OwnerAccount {
    fn permits(principal: &Principal, site_id: i64) -> bool {
        principal.account().is_some() && principal.allows(Scope::SitesWrite, site_id)
    }
    const REFUSAL: &'static str = "share links are managed by the site's signed-in owner, not by a key or link";
}

/// The answer for a site the credential cannot reach, whether or not it exists.
fn unreachable_site() -> ApiError {
    ApiError::not_found("no such site, or this credential has no access to it")
}

/// The site `public_id` if `principal` meets `R` on it (see the module doc for the answers when not).
pub async fn authorize<R: Requirement>(
    state: &AppState,
    principal: &Principal,
    public_id: &str,
) -> Result<Arc<Site>, ApiError> {
    let site = state.sites.get(public_id).await?.ok_or_else(unreachable_site)?;
    if !principal.reaches(site.id) {
        return Err(unreachable_site());
    }
    if !R::permits(principal, site.id) {
        return Err(ApiError::forbidden(R::REFUSAL));
    }
    Ok(site)
}

/// A request allowed `R` on the site of its `{site}` path segment.
pub struct SiteAccess<R> {
    pub principal: Principal,
    pub site: Arc<Site>,
    requirement: PhantomData<R>,
}

impl<R: Requirement + 'static> FromRequest for SiteAccess<R> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let authenticated = Authenticated::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let Authenticated(principal) = authenticated.await?;
            let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| ApiError::internal("no state"))?;
            let public_id = req.match_info().get("site").ok_or_else(|| ApiError::internal("no {site} in route"))?;
            let site = authorize::<R>(state, &principal, public_id).await?;
            Ok(SiteAccess { principal, site, requirement: PhantomData })
        })
    }
}
