//! Rate limits and response headers for `/api/v1` (a small middleware on `governor`'s GCRA limiters).
//!
//! - Analytics requests — `/api/v1/query` and everything under `/api/v1/sites/{site}/` except share-link
//!   management — are limited per API key and per share link (`limits.api_per_hour`, default 100), and per
//!   signed-in user with a separate, generous budget (`limits.dashboard_per_hour`, default 3600: one
//!   dashboard screen sends about 20 queries, and a person clicking through filters for an hour should never
//!   see a 429, while a script replaying a stolen cookie still gets stopped). Each budget refills evenly over
//!   the hour and may be spent at once.
//! - Login and first-run set-up: `limits.login_per_minute` (default 5) per email address and per client
//!   address; the address is kept in memory only as a keyed hash.
//! - Over a limit: 429 `rate_limited` with `Retry-After` (seconds).
//!
//! Counters live in this process: with N collectors behind a load balancer a client can get up to N times
//! the budget. Every `/api/v1` answer gets `X-Content-Type-Options: nosniff` and, unless its handler chose a
//! cache policy, `Cache-Control: no-store` (answers depend on who asks).
use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use super::auth::{self, Principal, Resolved};
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
    login_email: DefaultKeyedRateLimiter<String>,
    login_client: DefaultKeyedRateLimiter<[u8; 16]>,
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
            login_email: DefaultKeyedRateLimiter::dashmap(login),
            login_client: DefaultKeyedRateLimiter::dashmap(login),
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
                "too many analytics requests for this credential; see limits in the configuration",
                seconds(not_until.wait_time_from(clock.now())),
            )),
            _ => Ok(()),
        }
    }

    /// Spends one login (or set-up) attempt of the email's and of the client's budget.
    pub fn check_login(&self, email: &str, client: IpAddr) -> Result<(), ApiError> {
        let email: String = crate::store::users::normalise_email(email).chars().take(254).collect();
        let address = match client {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        let mut client_hash = [0u8; 16];
        client_hash.copy_from_slice(&blake3::keyed_hash(&self.client_key, &address).as_bytes()[..16]);
        let by_client = self.login_client.check_key(&client_hash);
        let by_email = self.login_email.check_key(&email);
        let now = self.login_email.clock().now();
        let wait = [by_client.err(), by_email.err()].into_iter().flatten().map(|n| n.wait_time_from(now)).max();
        match wait {
            Some(wait) => {
                Err(ApiError::too_many_requests("too many login attempts; wait and try again", seconds(wait)))
            }
            None => Ok(()),
        }
    }

    pub fn retain_recent(&self) {
        if let Some(l) = &self.api {
            l.retain_recent();
        }
        if let Some(l) = &self.dashboard {
            l.retain_recent();
        }
        self.login_email.retain_recent();
        self.login_client.retain_recent();
    }
}

fn seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Requests that read a site's stats: `/api/v1/query` and `/api/v1/sites/{site}/…` except share links.
pub fn is_analytics(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/v1/") else { return false };
    let mut parts = rest.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("query"), None, _) => true,
        (Some("sites"), Some(site), Some(section)) => {
            !site.is_empty() && !section.is_empty() && section != "share-links"
        }
        _ => false,
    }
}

/// The `/api/v1` middleware: budgets for analytics requests, then headers on every answer.
pub async fn api_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if is_analytics(req.path()) {
        if let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
            let resolved = auth::resolve(req.request(), &state).await;
            if let Ok(Some(principal)) = &resolved {
                if let Err(error) = state.auth.limits.check_analytics(principal) {
                    let mut response = req.into_response(error.error_response());
                    secure_headers(response.headers_mut());
                    return Ok(response);
                }
            }
            req.extensions_mut().insert(Resolved(resolved));
        }
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    secure_headers(response.headers_mut());
    Ok(response)
}

fn secure_headers(headers: &mut actix_web::http::header::HeaderMap) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytics_paths_are_stats_reads_only() {
        for path in
            ["/api/v1/query", "/api/v1/sites/abc/bots", "/api/v1/sites/abc/sessions/12", "/api/v1/sites/a/realtime"]
        {
            assert!(is_analytics(path), "{path}");
        }
        for path in [
            "/api/v1/sites",
            "/api/v1/sites/abc",
            "/api/v1/sites/abc/share-links",
            "/api/v1/sites/abc/share-links/3",
            "/api/v1/keys",
            "/api/v1/auth/login",
            "/api/v1/presence",
            "/api/event",
        ] {
            assert!(!is_analytics(path), "{path}");
        }
    }

    #[test]
    fn login_attempts_are_counted_per_email_and_per_client() {
        let limits =
            Limits::new(&LimitSettings { api_per_hour: 0, dashboard_per_hour: 0, login_per_minute: 2 }, [7; 32]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limits.check_login("x@example.com", a).is_ok());
        assert!(limits.check_login("X@example.com ", b).is_ok());
        // Third attempt for this email, from a fresh client: refused, with a wait.
        let refused = limits.check_login("x@example.com", "192.0.2.3".parse().unwrap()).unwrap_err();
        assert_eq!(refused.status.as_u16(), 429);
        assert!(refused.retry_after.is_some_and(|s| (1..=60).contains(&s)));
        // Client `a` has one attempt left; then it is refused for any email.
        assert!(limits.check_login("y@example.com", a).is_ok());
        assert!(limits.check_login("z@example.com", a).is_err());
    }
}
