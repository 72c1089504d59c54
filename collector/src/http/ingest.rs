//! `POST /api/event`: gathers the request's facts and hands the body to [`crate::ingest::Ingest`].
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;

use super::auth::bearer_token;
use super::client_ip::client_ip;
use super::error::ApiError;
use super::AppState;
use crate::ingest::body::{self, BodyError};
use crate::ingest::pipeline::{RequestMeta, Sender};
use crate::ingest::IngestError;
use crate::store::keys::{self, Scope};

/// An over-long body is read and discarded up to this much, so the connection stays usable for the next
/// request; beyond it the connection is not worth keeping.
const DRAIN_LIMIT: usize = 1 << 20;

pub async fn event(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let headers = req.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    body::check_content_type(text(header::CONTENT_TYPE)).map_err(IngestError::from)?;
    let max = state.settings.ingest.max_body_bytes;
    let raw = match read_body(&mut payload, max).await {
        Ok(raw) => raw,
        Err(error) if error.close => return Ok(super::edge::holding(error.error_response(), payload)),
        Err(error) => return Err(error),
    };
    let body = body::decode(text(header::CONTENT_ENCODING), raw, max).map_err(IngestError::from)?;
    let sender = match bearer_token(&req) {
        None => Sender::Browser,
        Some(token) => match keys::verify(&state.db, token).await? {
            Some(key) if key.scope == Scope::EventsWrite => Sender::Server { site_id: key.site_id },
            Some(_) => {
                return Err(ApiError::forbidden("sending server-side events needs a key with the events:write scope"))
            }
            None => return Err(ApiError::unauthorized()),
        },
    };
    let meta = RequestMeta {
        ip: client_ip(&req, &state.trusted_proxies),
        user_agent: crate::ingest::beacon::truncate(
            text(header::USER_AGENT).unwrap_or(""),
            crate::ingest::beacon::MAX_USER_AGENT,
        )
        .to_owned(),
        now_ms: crate::store::now_ms(),
        sender,
    };
    let report = state.ingest.accept(&body, &meta).await.inspect_err(|e| {
        if matches!(e, IngestError::Body(_) | IngestError::Beacon(_)) {
            state.metrics.requests_rejected.inc();
        }
        if matches!(e, IngestError::Spool(crate::ingest::spool::SpoolError::Full { .. })) {
            state.metrics.spool_full.inc();
        }
    })?;
    let mut response = HttpResponse::Accepted();
    if state.settings.ingest.debug_drop_header {
        if let Some(reason) = report.dropped.first() {
            response.insert_header(("X-Footfall-Drop", reason.as_str()));
        }
    }
    Ok(response.finish())
}

/// CORS preflight. Beacons sent as `text/plain` need none, but `application/json` senders do.
pub async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}

/// Reads at most `max` bytes of body, and all of it within [`body::BODY_TIMEOUT`].
async fn read_body(payload: &mut web::Payload, max: usize) -> Result<Vec<u8>, ApiError> {
    let deadline = tokio::time::Instant::now() + body::BODY_TIMEOUT;
    let mut body = Vec::new();
    let mut seen = 0usize;
    loop {
        let chunk = match tokio::time::timeout_at(deadline, payload.next()).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(_) => return Err(IngestError::from(BodyError::Timeout(body::BODY_TIMEOUT)).into()),
        };
        let chunk =
            chunk.map_err(|e| ApiError::bad_request("body_read_failed", format!("cannot read the body: {e}")))?;
        seen += chunk.len();
        if seen <= max {
            body.extend_from_slice(&chunk);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > DRAIN_LIMIT {
        return Err(ApiError::from(IngestError::from(BodyError::TooLarge { max })).closing());
    }
    if seen > max {
        return Err(IngestError::from(BodyError::TooLarge { max }).into());
    }
    Ok(body)
}
