//! Which site a request may act on: the one extractor behind every `/api/v1/sites/{site}/…` route, and the
//! one function the query route calls with the site named in its body.
//!
//! Order matters: the principal is resolved first (no credentials: `401`), then the site is looked up and the
//! requirement checked. A credential that reaches no site of that id — because none exists, or because it
//! belongs to someone else — gets the same `404` with the same body, so site ids cannot be probed with a
//! credential of one's own (a probe told an existing foreign id from an unknown one by 403 against 404). A
//! credential that does reach the site but lacks the requirement (a `stats:read` key changing settings, a
//! viewer inviting someone) gets `403`: it learns nothing it did not know.
//!
//! Accounts act by their role on the site (`store::members`): the owner and admins manage it, viewers read
//! it; only the owner deletes or transfers it. What is not about one site — the accounts of the instance —
//! belongs to the instance's administrator ([`InstanceAdmin`]).
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::auth::{Account, Authenticated, Principal};
use super::error::ApiError;
use super::AppState;
use crate::store::keys::Scope;
use crate::store::members::Role;
use crate::store::sites::Site;

/// What a route asks of the principal on the site.
pub trait Requirement {
    fn permits(principal: &Principal, site_id: i64) -> bool;
    /// The `403` message for a principal that reaches the site without this right.
    const REFUSAL: &'static str;
}

/// Reading stats: share links, `stats:read` keys, the owner and every member.
pub struct StatsRead;
/// One identified person's data: `stats:read` keys, the owner and members, never a share link (it is for the
/// site's team, not for whoever a dashboard was shared with).
pub struct PersonalData;
/// A site's settings, which shape every report (time zone, domain): any key or link that reads or manages it.
pub struct SiteSettings;
/// Changing the site or its data: `sites:write` keys, the owner and admins.
pub struct Manage;
/// Credentials and people of the site (share links, members, invitations): only a signed-in owner or admin
/// manages them, so no key or link can widen itself.
pub struct ManagerAccount;
/// Deleting the site: `sites:write` keys and the owner — not an admin, who may change everything else.
pub struct DeleteSite;
/// Giving the site away: its signed-in owner only.
pub struct SiteOwner;
/// Any signed-in account of the site, whatever its role (a member leaving).
pub struct SiteAccount;

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

impl Requirement for ManagerAccount {
    fn permits(principal: &Principal, site_id: i64) -> bool {
        principal.role(site_id).is_some_and(Role::manages)
    }
    const REFUSAL: &'static str =
        "share links and the site's people are managed by its signed-in owner and admins, not by a viewer, key or link";
}

impl Requirement for DeleteSite {
    fn permits(principal: &Principal, site_id: i64) -> bool {
        match principal {
            Principal::Key(_) => principal.allows(Scope::SitesWrite, site_id),
            _ => principal.role(site_id) == Some(Role::Owner),
        }
    }
    const REFUSAL: &'static str = "only the site's owner or a sites:write key deletes the site";
}

impl Requirement for SiteOwner {
    fn permits(principal: &Principal, site_id: i64) -> bool {
        principal.role(site_id) == Some(Role::Owner)
    }
    const REFUSAL: &'static str = "only the site's owner, signed in, gives the site to another account";
}

impl Requirement for SiteAccount {
    fn permits(principal: &Principal, site_id: i64) -> bool {
        principal.role(site_id).is_some()
    }
    const REFUSAL: &'static str = "this is for the site's signed-in accounts";
}

/// Whether the principal (allowed [`SiteAccount`] on the site) may end `user_id`'s membership: anyone may
/// leave; the owner and admins may remove others.
pub fn may_remove_member(principal: &Principal, site_id: i64, user_id: i64) -> Result<(), ApiError> {
    let own = principal.account().is_some_and(|account| account.user.id == user_id);
    if own || ManagerAccount::permits(principal, site_id) {
        Ok(())
    } else {
        Err(ApiError::forbidden("a member may leave; removing others is for the site's owner and admins"))
    }
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

/// A request of a signed-in account (not a key or share link), for what belongs to the account itself.
pub struct SignedIn(pub Account);

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let authenticated = Authenticated::from_request(req, payload);
        Box::pin(async move {
            match authenticated.await? {
                Authenticated(Principal::User(account)) => Ok(SignedIn(account)),
                _ => Err(ApiError::forbidden("this is for a signed-in account, not a key or share link")),
            }
        })
    }
}

/// A request of the instance's administrator account (the first account), for the instance's accounts.
pub struct InstanceAdmin(pub Account);

impl FromRequest for InstanceAdmin {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed_in = SignedIn::from_request(req, payload);
        Box::pin(async move {
            match signed_in.await? {
                SignedIn(account) if account.user.is_admin => Ok(InstanceAdmin(account)),
                _ => Err(ApiError::forbidden("the instance's accounts are managed by its administrator account")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::ApiKey;
    use crate::store::users::User;

    const SITE: i64 = 7;

    fn account(role: Role) -> Principal {
        Principal::User(Account {
            user: User { id: 3, email: "a@example.com".into(), is_admin: false },
            roles: [(SITE, role)].into_iter().collect(),
            session_id: 1,
        })
    }

    /// Which of the site's requirements a principal meets, in the order of the module's list.
    fn meets(principal: &Principal) -> [bool; 8] {
        [
            StatsRead::permits(principal, SITE),
            PersonalData::permits(principal, SITE),
            SiteSettings::permits(principal, SITE),
            Manage::permits(principal, SITE),
            ManagerAccount::permits(principal, SITE),
            DeleteSite::permits(principal, SITE),
            SiteOwner::permits(principal, SITE),
            SiteAccount::permits(principal, SITE),
        ]
    }

    #[test]
    fn each_role_meets_exactly_its_requirements() {
        // StatsRead, PersonalData, SiteSettings, Manage, ManagerAccount, DeleteSite, SiteOwner, SiteAccount
        assert_eq!(meets(&account(Role::Owner)), [true; 8]);
        assert_eq!(meets(&account(Role::Admin)), [true, true, true, true, true, false, false, true]);
        assert_eq!(meets(&account(Role::Viewer)), [true, true, true, false, false, false, false, true]);
        let key = Principal::Key(ApiKey { id: 1, scope: Scope::SitesWrite, site_id: Some(SITE) });
        assert_eq!(meets(&key), [false, false, true, true, false, true, false, false], "a key is no account");
        let elsewhere = Principal::User(Account {
            user: User { id: 4, email: "b@example.com".into(), is_admin: true },
            roles: Default::default(),
            session_id: 2,
        });
        assert_eq!(meets(&elsewhere), [false; 8], "not even the instance's administrator reaches others' sites");
    }

    #[test]
    fn anyone_may_leave_and_only_managers_remove_others() {
        assert!(may_remove_member(&account(Role::Viewer), SITE, 3).is_ok(), "a viewer leaves");
        assert!(may_remove_member(&account(Role::Viewer), SITE, 4).is_err());
        assert!(may_remove_member(&account(Role::Admin), SITE, 4).is_ok());
    }
}
