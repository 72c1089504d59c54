//! Long-lived answers ask again whether their credential still holds.
//!
//! Data flow: a request's credential is resolved once, when it arrives (`auth`), and a plain answer is done
//! with it long before anyone could revoke it. A real-time stream (`GET …/realtime/stream`) is not: it can stay
//! open for days. [`until_revoked`] wraps its body and every [`RECHECK_EVERY`] asks SQL whether the credential
//! captured from the request ([`Credential`]) may still read the site; the stream ends when it may not — the
//! key or share link was revoked or expired, the user signed out, the account no longer owns the site or is
//! no longer a member of it, or the site was deleted (even if a site under the same public id exists again: it has another internal id).
//!
//! The re-check reads SQL itself rather than the credential caches of `auth`, which believe an answer for 30
//! seconds. A storage error is not a revocation: the stream goes on and the next re-check asks again.
use std::fmt;
use std::future::{ready, Ready};
use std::time::Duration;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::{Stream, StreamExt};

use crate::http::auth::{authorization, SESSION_COOKIE};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::store::keys::{self, Scope};
use crate::store::{auth_sessions, members, share_links, sites, StoreError};

/// How often an open stream re-checks its credential: the longest it outlives a revocation, give or take one
/// SQL round trip.
pub const RECHECK_EVERY: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `Authorization: Bearer ff_…`
    Key,
    /// `Authorization: Share ffs_…`
    Share,
    /// The `footfall_session` cookie.
    SignIn,
}

/// The credential a request presented, kept to present it again. Held in memory only, for as long as the
/// stream it belongs to, and never printed: `Debug` shows its kind alone.
pub struct Credential {
    kind: Kind,
    secret: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Key => "api key",
            Kind::Share => "share link",
            Kind::SignIn => "sign-in",
        };
        f.debug_tuple("Credential").field(&kind).finish()
    }
}

impl Credential {
    /// The credential `auth::resolve` goes by, looked at in the same order: the Authorization header wins
    /// over the cookie.
    pub fn of(req: &HttpRequest) -> Option<Credential> {
        if req.headers().contains_key(AUTHORIZATION) {
            let (scheme, token) = authorization(req)?;
            let kind = if scheme.eq_ignore_ascii_case("bearer") {
                Kind::Key
            } else if scheme.eq_ignore_ascii_case("share") {
                Kind::Share
            } else {
                return None;
            };
            return Some(Credential { kind, secret: token.to_owned() });
        }
        req.cookie(SESSION_COOKIE).map(|cookie| Credential { kind: Kind::SignIn, secret: cookie.value().to_owned() })
    }
}

/// Taken beside `Authenticated`, which has already refused a request without credentials.
impl FromRequest for Credential {
    type Error = ApiError;
    type Future = Ready<Result<Credential, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Credential::of(req).ok_or_else(ApiError::unauthorized))
    }
}

/// Whether `credential` may still read the stats of site `site_id`, the site that had the public id
/// `public_id` when the stream opened — asked of SQL now, with no cache in between.
pub async fn still_allowed(
    state: &AppState,
    credential: &Credential,
    site_id: i64,
    public_id: &str,
) -> Result<bool, StoreError> {
    let db = &state.db;
    let allowed = match credential.kind {
        Kind::Key => {
            keys::verify(db, &credential.secret).await?.is_some_and(|key| key.allows(Scope::StatsRead, site_id))
        }
        // `verify` also refuses an expired link.
        Kind::Share => share_links::verify(db, &credential.secret).await?.is_some_and(|link| link.site_id == site_id),
        Kind::SignIn => match auth_sessions::find(db, &credential.secret).await? {
            Some(signed_in) => members::roles_of(db, &signed_in.user).await?.contains_key(&site_id),
            None => false,
        },
    };
    // A key for all sites outlives any one site: the site itself must still be the one the stream opened on.
    Ok(allowed && sites::find(db, public_id).await?.is_some_and(|site| site.id == site_id))
}

/// `stream`, ended once its credential no longer reads the site (see the module doc).
pub fn until_revoked<S: Stream>(
    stream: S,
    state: &web::Data<AppState>,
    credential: Credential,
    site_id: i64,
    public_id: &str,
) -> impl Stream<Item = S::Item> {
    stream.take_until(revoked(state.clone(), credential, site_id, public_id.to_owned()))
}

/// Completes when a re-check says no.
async fn revoked(state: web::Data<AppState>, credential: Credential, site_id: i64, public_id: String) {
    let mut failing = false;
    loop {
        tokio::time::sleep(RECHECK_EVERY).await;
        match still_allowed(&state, &credential, site_id, &public_id).await {
            Ok(true) if failing => {
                tracing::info!(site_id, "real-time stream credentials can be re-checked again");
                failing = false;
            }
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, site_id, "cannot re-check a real-time stream's credential; keeping it open");
                    failing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::cookie::Cookie;
    use actix_web::test::TestRequest;

    const KEY: &str = "ff_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn kind(req: TestRequest) -> Option<Kind> {
        Credential::of(&req.to_http_request()).map(|c| c.kind)
    }

    #[test]
    fn the_credential_kept_is_the_one_auth_goes_by() {
        let cookie = Cookie::new(SESSION_COOKIE, "a".repeat(64));
        let bearer = (AUTHORIZATION, format!("Bearer {KEY}"));
        assert!(kind(TestRequest::default().insert_header(bearer.clone())) == Some(Kind::Key));
        assert!(kind(TestRequest::default().insert_header((AUTHORIZATION, "share ffs_1"))) == Some(Kind::Share));
        assert!(kind(TestRequest::default().cookie(cookie.clone())) == Some(Kind::SignIn));
        // The header wins over the cookie, as in `auth::resolve`.
        assert!(kind(TestRequest::default().cookie(cookie).insert_header(bearer)) == Some(Kind::Key));
        assert!(kind(TestRequest::default().insert_header((AUTHORIZATION, "Basic abc"))).is_none());
        assert!(kind(TestRequest::default()).is_none());
    }

    #[test]
    fn a_kept_credential_never_prints_its_secret() {
        let req = TestRequest::default().insert_header((AUTHORIZATION, format!("Bearer {KEY}"))).to_http_request();
        let printed = format!("{:?}", Credential::of(&req).unwrap());
        assert_eq!(printed, r#"Credential("api key")"#);
    }
}
