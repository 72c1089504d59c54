//! The first thing every request meets, before routing and before any handler or extractor: the bounds every
//! route shares. Ingestion (`POST /api/event`) reads its own body (gzip allowed, its own size limit) with the
//! same deadline; every other route is held to these:
//!
//! - no `Content-Encoding` but identity: `415`. A 65 KB gzip body inflates to 64 MiB, and actix's extractors
//!   inflated a whole chunk before their size limit applied (32 clients took the server from 150 MB to 1.6 GB
//!   RSS); no dashboard or API client compresses what it sends.
//! - at most [`MAX_BODY`] bytes: `413`, and the connection is closed rather than drained.
//! - the whole body within [`BODY_TIMEOUT`] of the request head: `408`, and the connection is closed. A client
//!   that announced `Content-Length: 60000` and sent nothing held its connection for 130 s and more; 480 of
//!   them made `/healthz` time out.
//! - a body the handler did not read closes the connection after the answer, so it is never drained slowly.
//!
//! Every answer gets `X-Content-Type-Options: nosniff`, and every `/api/` answer `Cache-Control: no-store`
//! unless its handler chose a policy (answers depend on who asks).
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use futures_util::Stream;

use super::error::ApiError;
use crate::ingest::body::BodyError;
pub use crate::ingest::body::BODY_TIMEOUT;

/// The largest body any route but ingestion takes: a site's settings, a goal or a query are a few hundred
/// bytes; 64 KiB leaves room for a query with a hundred long filter values.
pub const MAX_BODY: usize = 64 * 1024;

const INGEST_PATH: &str = "/api/event";

/// The middleware (see the module doc).
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let api = req.path().starts_with("/api/");
    let mut response = if req.path() == INGEST_PATH || !has_body(req.headers()) {
        next.call(req).await?.map_into_boxed_body()
    } else {
        bounded(req, next).await?
    };
    secure_headers(response.headers_mut(), api);
    Ok(response)
}

/// A request with a body, answered within the body's bounds.
async fn bounded(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let reading = Rc::new(RefCell::new(Reading { payload: Some(req.take_payload()), outcome: Outcome::Unread }));
    if let Some(encoding) = unsupported_encoding(req.headers()) {
        let error = ApiError::from(BodyError::UnsupportedEncoding(encoding)).closing();
        return Ok(hold(req.into_response(error.error_response()), &reading));
    }
    let bounded = Bounded { reading: reading.clone(), deadline: Box::pin(tokio::time::sleep(BODY_TIMEOUT)), seen: 0 };
    req.set_payload(Payload::Stream { payload: Box::pin(bounded) });
    let response = next.call(req).await?.map_into_boxed_body();
    let outcome = reading.borrow().outcome;
    let refusal = match outcome {
        Outcome::Complete => return Ok(response),
        Outcome::Unread => return Ok(hold(response, &reading)),
        Outcome::TimedOut => ApiError::from(BodyError::Timeout(BODY_TIMEOUT)),
        Outcome::TooLarge => ApiError::from(BodyError::TooLarge { max: MAX_BODY }),
    };
    let (request, _) = response.into_parts();
    Ok(hold(ServiceResponse::new(request, refusal.closing().error_response()), &reading))
}

fn has_body(headers: &HeaderMap) -> bool {
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(str::trim);
    headers.contains_key(header::TRANSFER_ENCODING) || length.is_some_and(|n| n != "0")
}

fn unsupported_encoding(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_ENCODING)?;
    let text = value.to_str().unwrap_or("(not text)").trim();
    (!text.eq_ignore_ascii_case("identity")).then(|| crate::ingest::beacon::truncate(text, 40).to_owned())
}

fn secure_headers(headers: &mut HeaderMap, api: bool) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// How far the handler got with the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Unread,
    Complete,
    TimedOut,
    TooLarge,
}

/// The request's own payload, shared by the stream the handler reads and the middleware, which keeps what is
/// left of it alive in an answer that closes the connection (see [`hold`]).
struct Reading {
    payload: Option<Payload>,
    outcome: Outcome,
}

/// The body as handlers see it: the request's payload, cut off at [`MAX_BODY`] bytes and at the deadline.
struct Bounded {
    reading: Rc<RefCell<Reading>>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    seen: usize,
}

impl Stream for Bounded {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut reading = this.reading.borrow_mut();
        if reading.outcome != Outcome::Unread {
            return Poll::Ready(None);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            reading.outcome = Outcome::TimedOut;
            let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "the body did not arrive in time");
            return Poll::Ready(Some(Err(PayloadError::Io(late))));
        }
        let Some(payload) = reading.payload.as_mut() else { return Poll::Ready(None) };
        match Pin::new(payload).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.seen += chunk.len();
                if this.seen > MAX_BODY {
                    reading.outcome = Outcome::TooLarge;
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                reading.outcome = Outcome::Complete;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

/// An answer that keeps the unread rest of the request body alive until it is sent, and closes the connection
/// after it. actix-http drains a dropped chunked body before the next request, for as long as the client keeps
/// sending, however slowly; one still referenced when the answer ends makes it close the connection instead.
fn hold(response: ServiceResponse<BoxBody>, reading: &Rc<RefCell<Reading>>) -> ServiceResponse<BoxBody> {
    let payload = reading.borrow_mut().payload.take();
    let mut response = response.map_body(|head, body| {
        head.set_connection_type(actix_web::http::ConnectionType::Close);
        BoxBody::new(Holding { body, _payload: payload })
    });
    // Also on the response's own head: with the body's alone, 200 silent clients were let go at 11.5 s, not
    // 10.5 s (hostile::a_slow_or_missing_body_on_any_route_is_cut_off_like_ingestion).
    response.response_mut().head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
    response
}

/// Used by ingestion too, which reads its body itself.
pub(crate) fn holding(response: HttpResponse, payload: actix_web::web::Payload) -> HttpResponse {
    response.map_body(|_, body| BoxBody::new(Holding { body, _payload: Some(payload.into_inner()) }))
}

struct Holding {
    body: BoxBody,
    _payload: Option<Payload>,
}

impl MessageBody for Holding {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}
