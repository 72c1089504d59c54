//! Who is asking. Every stats and management route takes [`Authenticated`], which resolves one [`Principal`]
//! from the request, and asks it one question: `principal.allows(scope, site_id)`.
//!
//! Credentials, in the order they are looked at:
//! - `Authorization: Bearer ff_…` — an API key: its scope, for its site or all sites.
//! - `Authorization: Share ffs_…` — a share link: `stats:read` for its one site, on GET requests only.
//! - the `footfall_session` cookie — a signed-in dashboard user: what its role allows on each site it owns or
//!   is a member of (`store::members`; the owner and admins manage the site, viewers read it).
//!   State-changing requests (anything but GET/HEAD/OPTIONS) must also carry `X-CSRF-Token`, whose value the
//!   login answer and `GET /api/v1/auth/status` give; a cross-site page can make the browser send the cookie,
//!   but cannot read that value. Bearer and Share credentials are never sent by a browser on its own, so they
//!   need no CSRF token.
//!
//! Key and share-link verification is cached in memory for [`CREDENTIAL_TTL`], so a stats request costs no SQL
//! for its credential: revoking a key or link takes effect at once on the collector that revoked it and within
//! that time on the others. Sign-in sessions and their roles are looked up on every request (logout, and the
//! removal of a member, are immediate everywhere).
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::Method;
use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::limits::Limits;
use super::AppState;
use crate::settings::{CookieSecure, IpNet, Settings};
use crate::store::keys::{self, ApiKey, Scope};
use crate::store::members::{self, Role};
use crate::store::share_links::{self, ShareLink};
use crate::store::users::User;
use crate::store::{auth_sessions, now_ms};

pub const SESSION_COOKIE: &str = "footfall_session";
/// Set on a successful sign-in: proves this browser signed in to that email before, so failures from other
/// browsers never lock it out (OWASP's "device cookie"; see `limits::check_login_email`).
pub const DEVICE_COOKIE: &str = "footfall_device";
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// How long a verified (or refused) API key or share link is believed without asking SQL again.
pub const CREDENTIAL_TTL: Duration = Duration::from_secs(30);

pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let (scheme, token) = authorization(req)?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// The `Authorization` header as (scheme, token).
pub(crate) fn authorization(req: &HttpRequest) -> Option<(&str, &str)> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    Some((scheme, token.trim()))
}

/// A signed-in dashboard user, its role on each site it reaches (read when the request arrived), and the
/// sign-in it came with.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    pub roles: HashMap<i64, Role>,
    pub session_id: i64,
}

impl Account {
    /// The sites this account changes: it owns them or is their admin.
    pub fn managed_sites(&self) -> impl Iterator<Item = i64> + '_ {
        self.roles.iter().filter(|(_, role)| role.manages()).map(|(site, _)| *site)
    }
}

/// The one identity a request acts as.
#[derive(Debug, Clone)]
pub enum Principal {
    Key(ApiKey),
    User(Account),
    /// A share link: read-only, one site. Only GET/HEAD requests resolve to it.
    Share(ShareLink),
}

impl Principal {
    /// May this principal do `scope` on site `site_id`? The same question for keys, users and share links.
    pub fn allows(&self, scope: Scope, site_id: i64) -> bool {
        match self {
            Principal::Key(key) => key.allows(scope, site_id),
            // Viewers read; owners and admins do everything a key of any scope could.
            Principal::User(account) => match account.roles.get(&site_id) {
                Some(role) => scope == Scope::StatsRead || role.manages(),
                None => false,
            },
            Principal::Share(link) => scope == Scope::StatsRead && link.site_id == site_id,
        }
    }

    /// Does this principal reach site `site_id` at all, with any right? Tells "no access" (answered like an
    /// unknown site) from "not this right" (403) in [`super::access`].
    pub fn reaches(&self, site_id: i64) -> bool {
        match self {
            Principal::Key(key) => key.site_id.is_none_or(|s| s == site_id),
            Principal::User(account) => account.roles.contains_key(&site_id),
            Principal::Share(link) => link.site_id == site_id,
        }
    }

    /// The account's role on site `site_id`; `None` for keys and share links, and for sites it does not reach.
    pub fn role(&self, site_id: i64) -> Option<Role> {
        self.account().and_then(|account| account.roles.get(&site_id).copied())
    }

    /// The signed-in account, for what only accounts may do (minting keys and share links).
    pub fn account(&self) -> Option<&Account> {
        match self {
            Principal::User(account) => Some(account),
            _ => None,
        }
    }
}

/// A request that presented valid credentials. Scope and site are checked by the handler, which knows both.
pub struct Authenticated(pub Principal);

/// The outcome of [`resolve`], left in the request's extensions by the rate-limit middleware so the extractor
/// does not look the credentials up twice.
pub(crate) struct Resolved(pub Result<Option<Principal>, ApiError>);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let earlier = req.extensions_mut().remove::<Resolved>();
            let resolved = match earlier {
                Some(Resolved(outcome)) => outcome,
                None => {
                    let state =
                        req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| ApiError::internal("no state"))?;
                    resolve(&req, &state).await
                }
            };
            resolved?.map(Authenticated).ok_or_else(ApiError::unauthorized)
        })
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Finds the request's principal: `Ok(None)` when it presents no credentials (or an unknown or expired
/// session cookie, which is the same as none), `Err` when it presents bad ones or breaks a rule (CSRF,
/// share links on a non-GET request).
pub async fn resolve(req: &HttpRequest, state: &AppState) -> Result<Option<Principal>, ApiError> {
    let auth = &state.auth;
    if let Some((scheme, token)) = authorization(req) {
        if scheme.eq_ignore_ascii_case("bearer") {
            return match auth.verify_key(state, token).await? {
                Some(key) => Ok(Some(Principal::Key(key))),
                None => Err(ApiError::unauthorized()),
            };
        }
        if scheme.eq_ignore_ascii_case("share") {
            let Some(link) = auth.verify_share(state, token).await? else { return Err(ApiError::unauthorized()) };
            if !is_safe(req.method()) {
                return Err(ApiError::forbidden("a share link is read-only: it allows GET requests only"));
            }
            return Ok(Some(Principal::Share(link)));
        }
        return Err(ApiError::unauthorized());
    }
    let Some(cookie) = req.cookie(SESSION_COOKIE) else { return Ok(None) };
    let token = cookie.value();
    let Some(signed_in) = auth_sessions::find(&state.db, token).await? else { return Ok(None) };
    if !is_safe(req.method()) {
        auth.check_csrf(req, token)?;
    }
    let roles = members::roles_of(&state.db, &signed_in.user).await?;
    Ok(Some(Principal::User(Account { user: signed_in.user, roles, session_id: signed_in.session_id })))
}

/// Credentials' shared state: verification caches, the keyed CSRF derivation, rate limiters, cookie settings.
pub struct AuthState {
    keys: TtlCache<ApiKey>,
    shares: TtlCache<ShareLink>,
    /// Key for deriving a session's CSRF token from its cookie value (from `FOOTFALL_SECRET_KEY`).
    csrf_key: [u8; 32],
    /// Key for the device cookie's value (a keyed hash of the email it signed in to).
    device_key: [u8; 32],
    pub limits: Limits,
    pub session_ms: i64,
    cookie_secure: CookieSecure,
    trusted_proxies: Vec<IpNet>,
}

impl AuthState {
    pub fn new(settings: &Settings, secret: &str) -> Result<AuthState, crate::settings::SettingsError> {
        let hours = i64::try_from(settings.auth.session_hours).unwrap_or(i64::MAX / 3_600_000).min(24 * 366 * 10);
        Ok(AuthState {
            keys: TtlCache::new(CREDENTIAL_TTL),
            shares: TtlCache::new(CREDENTIAL_TTL),
            csrf_key: blake3::derive_key("footfall 2026-11 csrf token", secret.as_bytes()),
            device_key: blake3::derive_key("footfall 2026-12 login device", secret.as_bytes()),
            limits: Limits::new(
                &settings.limits,
                blake3::derive_key("footfall 2026-11 login limit", secret.as_bytes()),
            ),
            session_ms: hours * 3_600_000,
            cookie_secure: settings.auth.cookie_secure,
            trusted_proxies: settings.trusted_proxy_nets()?,
        })
    }

    /// The CSRF token of a sign-in: a keyed hash of its cookie value, so nothing more is stored and only the
    /// holder of the cookie (who can read the login answer or `/auth/status`) learns it.
    pub fn csrf_token(&self, session_token: &str) -> String {
        blake3::keyed_hash(&self.csrf_key, session_token.as_bytes()).to_hex().to_string()
    }

    /// The device cookie's value for `email`: only a browser that signed in to it was ever given this.
    pub fn device_token(&self, email: &str) -> String {
        let email = crate::store::users::normalise_email(email);
        blake3::keyed_hash(&self.device_key, email.as_bytes()).to_hex().to_string()
    }

    /// Did this browser sign in to `email` before?
    pub fn is_known_device(&self, req: &HttpRequest, email: &str) -> bool {
        req.cookie(DEVICE_COOKIE)
            .is_some_and(|c| bool::from(c.value().as_bytes().ct_eq(self.device_token(email).as_bytes())))
    }

    pub fn check_csrf(&self, req: &HttpRequest, session_token: &str) -> Result<(), ApiError> {
        let expected = self.csrf_token(session_token);
        let sent = req.headers().get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        if bool::from(sent.ct_eq(expected.as_bytes())) {
            Ok(())
        } else {
            Err(ApiError::new(
                actix_web::http::StatusCode::FORBIDDEN,
                "csrf_required",
                format!("a signed-in request that changes something must carry the {CSRF_HEADER} header"),
            ))
        }
    }

    async fn verify_key(&self, state: &AppState, key: &str) -> Result<Option<ApiKey>, ApiError> {
        if !keys::well_formed(key) {
            return Ok(None);
        }
        let hash = keys::hash(key);
        if let Some(cached) = self.keys.get(&hash) {
            return Ok(cached);
        }
        let found = keys::verify(&state.db, key).await?;
        if let Some(found) = &found {
            // `last_used_at` is exact to the cache period. Recorded before the request goes on (once per
            // period), not beside it: on SQLite a concurrent write can make the handler's own transaction fail.
            if let Err(error) = keys::touch(&state.db, found.id).await {
                tracing::debug!(%error, "cannot record the key's last use");
            }
        }
        self.keys.put(hash, found.clone());
        Ok(found)
    }

    async fn verify_share(&self, state: &AppState, token: &str) -> Result<Option<ShareLink>, ApiError> {
        let hash = share_links::hash(token);
        let cached = match self.shares.get(&hash) {
            Some(cached) => cached,
            None => {
                let found = share_links::verify(&state.db, token).await?;
                self.shares.put(hash, found.clone());
                found
            }
        };
        // A cached link may have expired since it was read.
        Ok(cached.filter(|link| link.expires_at.is_none_or(|at| at > now_ms())))
    }

    /// Forgets cached keys after a revocation on this collector, so it applies at once here.
    pub fn forget_keys(&self, mut revoked: impl FnMut(&ApiKey) -> bool) {
        self.keys.forget(|key| revoked(key));
    }

    pub fn forget_share_links(&self, mut revoked: impl FnMut(&ShareLink) -> bool) {
        self.shares.forget(|link| revoked(link));
    }

    /// Drops expired cache entries and idle rate-limit state; run periodically.
    pub fn housekeeping(&self) {
        self.keys.purge();
        self.shares.purge();
        self.limits.retain_recent();
    }

    /// Whether the session cookie gets `Secure`: per setting, or (auto) when a trusted proxy says the client
    /// spoke HTTPS. The collector itself serves plain HTTP, so without such a proxy the answer is no.
    pub fn cookie_is_secure(&self, req: &HttpRequest) -> bool {
        match self.cookie_secure {
            CookieSecure::Always => true,
            CookieSecure::Never => false,
            CookieSecure::Auto => came_over_tls(req, &self.trusted_proxies),
        }
    }
}

/// The dashboard's address as the asking browser reached it (`https://stats.example.org`), for the one-time
/// links an answer hands over (invitations, password resets): HTTPS when the session cookie would be `Secure`,
/// the request's `Host`. `None` when the Host is missing or not a plain host name and port; the link is then
/// relative and the dashboard makes it absolute.
pub fn origin(req: &HttpRequest, auth: &AuthState) -> Option<String> {
    let host = req.headers().get(actix_web::http::header::HOST).and_then(|v| v.to_str().ok())?;
    let plain = !host.is_empty()
        && host.len() <= 261
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    let scheme = if auth.cookie_is_secure(req) { "https" } else { "http" };
    plain.then(|| format!("{scheme}://{host}"))
}

fn came_over_tls(req: &HttpRequest, trusted: &[IpNet]) -> bool {
    let Some(peer) = req.peer_addr() else { return false };
    if !trusted.iter().any(|net| net.contains(peer.ip())) {
        return false;
    }
    let headers = req.headers();
    if let Some(proto) = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) {
        // A chain of proxies appends; the first value is what the client used.
        return proto.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    }
    headers.get("forwarded").and_then(|v| v.to_str().ok()).is_some_and(|forwarded| {
        let first = forwarded.split(',').next().unwrap_or("");
        first.split(';').any(|pair| pair.trim().eq_ignore_ascii_case("proto=https"))
    })
}

/// Verified (or refused) credentials by hash, each believed for `ttl`. Bounded: when full it starts over,
/// which costs some SQL lookups and nothing else.
struct TtlCache<T> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Option<T>)>>,
}

const CACHE_MAX: usize = 10_000;

impl<T: Clone> TtlCache<T> {
    fn new(ttl: Duration) -> TtlCache<T> {
        TtlCache { ttl, entries: Mutex::default() }
    }

    /// `None`: not cached (ask SQL). `Some(None)`: known not to exist.
    fn get(&self, hash: &str) -> Option<Option<T>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(hash).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, value)| value.clone())
    }

    fn put(&self, hash: String, value: Option<T>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_MAX {
            entries.clear();
        }
        entries.insert(hash, (Instant::now(), value));
    }

    fn forget(&self, mut matches: impl FnMut(&T) -> bool) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (_, value)| !value.as_ref().is_some_and(&mut matches));
    }

    fn purge(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn key(scope: Scope, site_id: Option<i64>) -> Principal {
        Principal::Key(ApiKey { id: 1, scope, site_id })
    }

    #[test]
    fn one_question_means_the_same_for_keys_users_and_share_links() {
        assert!(key(Scope::StatsRead, None).allows(Scope::StatsRead, 7));
        assert!(!key(Scope::StatsRead, Some(8)).allows(Scope::StatsRead, 7));
        assert!(!key(Scope::EventsWrite, None).allows(Scope::StatsRead, 7));
        let user = Principal::User(Account {
            user: User { id: 3, email: "a@example.com".into(), is_admin: false },
            roles: [(7, Role::Owner), (9, Role::Admin), (10, Role::Viewer)].into_iter().collect(),
            session_id: 1,
        });
        assert!(user.allows(Scope::StatsRead, 7) && user.allows(Scope::SitesWrite, 7));
        assert!(user.allows(Scope::StatsRead, 9) && user.allows(Scope::SitesWrite, 9), "an admin manages");
        assert!(user.allows(Scope::StatsRead, 10), "a viewer reads");
        assert!(!user.allows(Scope::SitesWrite, 10) && !user.allows(Scope::EventsWrite, 10), "and changes nothing");
        assert!(user.reaches(10) && !user.reaches(8));
        assert!(!user.allows(Scope::StatsRead, 8));
        let share = Principal::Share(ShareLink {
            id: 1,
            site_id: 7,
            prefix: "ffs_000000".into(),
            label: String::new(),
            created_at: 0,
            expires_at: None,
        });
        assert!(share.allows(Scope::StatsRead, 7));
        assert!(!share.allows(Scope::SitesWrite, 7));
        assert!(!share.allows(Scope::StatsRead, 8));
    }

    #[test]
    fn https_is_believed_only_from_a_trusted_proxy() {
        let trusted = vec![IpNet::parse("10.0.0.0/8").unwrap()];
        let via = |peer: &str, name: &str, value: &str| {
            TestRequest::default().peer_addr(peer.parse().unwrap()).insert_header((name, value)).to_http_request()
        };
        assert!(came_over_tls(&via("10.0.0.2:1", "x-forwarded-proto", "https"), &trusted));
        assert!(came_over_tls(&via("10.0.0.2:1", "forwarded", "for=1.2.3.4;proto=https"), &trusted));
        assert!(!came_over_tls(&via("10.0.0.2:1", "x-forwarded-proto", "http"), &trusted));
        assert!(!came_over_tls(&via("203.0.113.5:1", "x-forwarded-proto", "https"), &trusted));
    }
}
