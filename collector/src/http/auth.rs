//! API-key authentication for the stats API: `Authorization: Bearer ff_...`, verified against the hash.
use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::error::ApiError;
use super::AppState;
use crate::store::keys::{self, ApiKey};

pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A request that presented a valid API key. Scope and site are checked by the handler, which knows both.
pub struct Authenticated(pub ApiKey);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req).map(str::to_owned);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(state)) = (token, state) else { return Err(ApiError::unauthorized()) };
            match keys::verify(&state.db, &token).await? {
                Some(key) => Ok(Authenticated(key)),
                None => Err(ApiError::unauthorized()),
            }
        })
    }
}
