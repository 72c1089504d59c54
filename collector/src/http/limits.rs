//! Rate limits for `/api/v1` (a small middleware on `governor`'s GCRA limiters).
//!
//! - Every credentialed request under `/api/v1` — analytics and management alike, except sign-in, the
//!   OpenAPI document, public presence, the visitor's own view and the one-time links (invitations, password resets) — spends its
//!   principal's budget: per API key and per share link
//!   `limits.api_per_hour` (default 100), per signed-in user a separate, generous one (`limits.dashboard_per_hour`,
//!   default 3600: one dashboard screen sends about 20 queries, and a person clicking through filters for an
//!   hour should never see a 429, while a script replaying a stolen cookie still gets stopped). Each budget
//!   refills evenly over the hour and may be spent at once. `GET /api/v1/sites/{id}` had no limit, which let
//!   anyone with a credential probe site ids as fast as the server answered.
//! - Every request that checks or sets a password — login, first-run set-up, a password change, accepting an
//!   invitation, a password reset — `limits.login_per_minute` (default 5) per client address, checked here
//!   before the body is read (a body costs memory and time, Argon2 costs CPU; the limit must not wait). The client address is
//!   the first hop that is not a trusted proxy ([`super::client_ip`]), kept in memory only as a keyed hash.
//! - Login, per email address: `limits.login_per_email_hour` (default 30), counted only for browsers without a
//!   device cookie for that email ([`super::account`]). A per-email lock-out counted from every address let
//!   anyone who knew the owner's email lock the owner out with 5 wrong attempts a minute.
//! - The visitor's own view (`/api/v1/visitors/session/current`, public): `limits.visitor_per_minute` (30) per client
//!   address, counted under a keyed hash like sign-in attempts.
//! - Over a limit: 429 `rate_limited` with `Retry-After` (seconds).
//!
//! Counters live in this process: with N collectors behind a load balancer a client can get up to N times
//! the budget.
use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use super::auth::{self, Principal, Resolved};
use super::client_ip::client_ip;
use super::error::ApiError;
use super::AppState;
use crate::settings::LimitSettings;

/// Whose budget a request spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Budget {
    Key(i64),
    Share(i64),
}

pub struct Limits {
    api: Option<DefaultKeyedRateLimiter<Budget>>,
    dashboard: Option<DefaultKeyedRateLimiter<i64>>,
    /// Per email, for browsers that never signed in to it.
    login_email: Option<DefaultKeyedRateLimiter<String>>,
    login_client: DefaultKeyedRateLimiter<[u8; 16]>,
    /// Per client address, for the visitor's own view (public: no principal to charge).
    visitor_client: DefaultKeyedRateLimiter<[u8; 16]>,
    /// Keys the hash under which a client address is counted, so no address is held in clear.
    client_key: [u8; 32],
}

impl Limits {
    pub fn new(settings: &LimitSettings, client_key: [u8; 32]) -> Limits {
        let hourly = |n: u32| NonZeroU32::new(n).map(Quota::per_hour);
        let login = Quota::per_minute(NonZeroU32::new(settings.login_per_minute).unwrap_or(NonZeroU32::MIN));
        Limits {
            api: hourly(settings.api_per_hour).map(DefaultKeyedRateLimiter::dashmap),
            dashboard: hourly(settings.dashboard_per_hour).map(DefaultKeyedRateLimiter::dashmap),
            login_email: hourly(settings.login_per_email_hour).map(DefaultKeyedRateLimiter::dashmap),
            login_client: DefaultKeyedRateLimiter::dashmap(login),
            visitor_client: DefaultKeyedRateLimiter::dashmap(Quota::per_minute(
                NonZeroU32::new(settings.visitor_per_minute).unwrap_or(NonZeroU32::MIN),
            )),
            client_key,
        }
    }

    /// Spends one analytics request of the principal's budget.
    fn check_analytics(&self, principal: &Principal) -> Result<(), ApiError> {
        let outcome = match principal {
            Principal::Key(key) => self.api.as_ref().map(|l| (l.check_key(&Budget::Key(key.id)), l.clock())),
            Principal::Share(link) => self.api.as_ref().map(|l| (l.check_key(&Budget::Share(link.id)), l.clock())),
            Principal::User(account) => self.dashboard.as_ref().map(|l| (l.check_key(&account.user.id), l.clock())),
        };
        match outcome {
            Some((Err(not_until), clock)) => Err(ApiError::too_many_requests(
                "too many requests for this credential; see limits in the configuration",
                seconds(not_until.wait_time_from(clock.now())),
            )),
            _ => Ok(()),
        }
    }

    /// Spends one login (or set-up) attempt of the client address's budget, before the body is read.
    pub fn check_login_client(&self, client: IpAddr) -> Result<(), ApiError> {
        let client_hash = self.client_hash(client);
        self.login_client.check_key(&client_hash).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.login_client.clock().now());
            ApiError::too_many_requests("too many password attempts (sign-ins, password changes, invitations, resets) from this address; wait and try again", seconds(wait))
        })
    }

    /// Spends one request of the client address's budget for the visitor's own view.
    pub fn check_visitor_client(&self, client: IpAddr) -> Result<(), ApiError> {
        self.visitor_client.check_key(&self.client_hash(client)).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.visitor_client.clock().now());
            ApiError::too_many_requests(
                "too many requests for your own visit from this address; wait and try again",
                seconds(wait),
            )
        })
    }

    /// The key a client address is counted under: a keyed hash, so no address is held in clear.
    fn client_hash(&self, client: IpAddr) -> [u8; 16] {
        let address = match client {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        let mut client_hash = [0u8; 16];
        client_hash.copy_from_slice(&blake3::keyed_hash(&self.client_key, &address).as_bytes()[..16]);
        client_hash
    }

    /// Spends one login attempt of the email's budget, unless the browser signed in to this email before
    /// (`known_device`): the owner's own browser is never locked out by someone else's failures.
    pub fn check_login_email(&self, email: &str, known_device: bool) -> Result<(), ApiError> {
        let Some(limiter) = self.login_email.as_ref().filter(|_| !known_device) else { return Ok(()) };
        let email: String = crate::store::users::normalise_email(email).chars().take(254).collect();
        limiter.check_key(&email).map_err(|not_until| {
            ApiError::too_many_requests(
                "too many login attempts for this account from browsers that never signed in to it; wait, or \
                 sign in from a browser you used before",
                seconds(not_until.wait_time_from(limiter.clock().now())),
            )
        })
    }

    pub fn retain_recent(&self) {
        if let Some(l) = &self.api {
            l.retain_recent();
        }
        if let Some(l) = &self.dashboard {
            l.retain_recent();
        }
        if let Some(l) = &self.login_email {
            l.retain_recent();
        }
        self.login_client.retain_recent();
        self.visitor_client.retain_recent();
    }
}

fn seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Requests that spend their principal's budget: everything under `/api/v1` but sign-in (limited per client
/// and per email instead), the OpenAPI document, public presence and one-time links (no principal).
pub fn spends_budget(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/v1/") else { return false };
    let first = rest.split('/').next().unwrap_or("");
    !matches!(first, "auth" | "openapi.json" | "presence" | "visitors" | "invitations" | "password-reset")
}

/// Requests that check or set a password (see the module doc).
pub fn is_password_attempt(method: &actix_web::http::Method, path: &str) -> bool {
    if method != actix_web::http::Method::POST {
        return false;
    }
    let Some(rest) = path.strip_prefix("/api/v1/") else { return false };
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(
        parts.as_slice(),
        ["auth", "login"]
            | ["auth", "setup"]
            | ["account", "password"]
            | ["invitations", _, "accept"]
            | ["password-reset", _]
    )
}

/// The `/api/v1` middleware: sign-in attempts per client address, then principals' budgets.
pub async fn api_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if is_password_attempt(req.method(), req.path()) {
        let client = client_ip(req.request(), &state.trusted_proxies);
        if let Err(error) = state.auth.limits.check_login_client(client) {
            return Ok(req.into_response(error.error_response()));
        }
    }
    if spends_budget(req.path()) {
        let resolved = auth::resolve(req.request(), &state).await;
        if let Ok(Some(principal)) = &resolved {
            if let Err(error) = state.auth.limits.check_analytics(principal) {
                return Ok(req.into_response(error.error_response()));
            }
        }
        req.extensions_mut().insert(Resolved(resolved));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_principal_route_spends_budget_but_sign_in_openapi_and_presence() {
        for path in [
            "/api/v1/query",
            "/api/v1/sites",
            "/api/v1/sites/abc",
            "/api/v1/sites/abc/bots",
            "/api/v1/sites/abc/share-links/3",
            "/api/v1/keys",
            "/api/v1/sites/a/realtime",
        ] {
            assert!(spends_budget(path), "{path}");
        }
        for path in [
            "/api/v1/auth/login",
            "/api/v1/auth/status",
            "/api/v1/openapi.json",
            "/api/v1/presence",
            "/api/v1/visitors/session/current",
            "/api/event",
            "/api/v1/invitations/ffi_x",
            "/api/v1/password-reset/ffr_x",
        ] {
            assert!(!spends_budget(path), "{path}");
        }
        assert!(spends_budget("/api/v1/sites/a/invitations"), "inviting is a credentialed request");
    }

    #[test]
    fn every_request_that_checks_or_sets_a_password_is_limited_per_client() {
        let post = actix_web::http::Method::POST;
        for path in [
            "/api/v1/auth/login",
            "/api/v1/auth/setup",
            "/api/v1/account/password",
            "/api/v1/invitations/ffi_x/accept",
            "/api/v1/password-reset/ffr_x",
        ] {
            assert!(is_password_attempt(&post, path), "{path}");
        }
        assert!(!is_password_attempt(&actix_web::http::Method::GET, "/api/v1/invitations/ffi_x"));
        assert!(!is_password_attempt(&post, "/api/v1/sites/a/invitations"));
        assert!(!is_password_attempt(&post, "/api/v1/users/3/reset-link"), "making a link checks no password");
    }

    fn limits(login_per_minute: u32, login_per_email_hour: u32) -> Limits {
        let settings = LimitSettings {
            api_per_hour: 0,
            dashboard_per_hour: 0,
            login_per_minute,
            login_per_email_hour,
            visitor_per_minute: 2,
        };
        Limits::new(&settings, [7; 32])
    }

    #[test]
    fn sign_in_attempts_are_counted_per_client_address() {
        let limits = limits(2, 0);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limits.check_login_client(a).is_ok());
        assert!(limits.check_login_client(a).is_ok());
        let refused = limits.check_login_client(a).unwrap_err();
        assert_eq!(refused.status.as_u16(), 429);
        assert!(refused.retry_after.is_some_and(|s| (1..=60).contains(&s)));
        assert!(limits.check_login_client("192.0.2.2".parse().unwrap()).is_ok(), "another address has its own");
    }

    #[test]
    fn the_visitors_own_view_is_limited_per_client_address_apart_from_sign_in() {
        let limits = limits(1, 0);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limits.check_login_client(a).is_ok());
        assert!(limits.check_visitor_client(a).is_ok(), "a spent sign-in budget is not the visitor's");
        assert!(limits.check_visitor_client(a).is_ok());
        assert_eq!(limits.check_visitor_client(a).unwrap_err().status.as_u16(), 429);
        assert!(limits.check_visitor_client("192.0.2.2".parse().unwrap()).is_ok(), "another address has its own");
    }

    #[test]
    fn failures_from_strangers_never_lock_out_a_browser_that_signed_in_before() {
        let limits = limits(5, 3);
        for _ in 0..3 {
            assert!(limits.check_login_email("owner@example.com", false).is_ok());
        }
        assert!(limits.check_login_email("Owner@example.com ", false).is_err(), "the email's budget is spent");
        assert!(limits.check_login_email("owner@example.com", true).is_ok(), "the owner's browser is not");
        assert!(limits.check_login_email("other@example.com", false).is_ok(), "other emails are not");
    }
}
