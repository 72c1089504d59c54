//! The one place where errors become HTTP: status, stable snake_case code, message, and `Retry-After` where
//! waiting helps. Every JSON error has the shape `{"error": {"code": "...", "message": "..."}}`.
//!
//! Handlers return their module's error enum; only this file picks statuses. A failure of a dependency
//! (SQL, the session store, the spool's disk) is logged here once with its cause and answered
//! `503 storage_unavailable` (`spool_unavailable`) with a fixed message: driver text names tables, files and
//! lock states, which tell a prober about the deployment and tell a user nothing they can act on.
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::export::ExportError;
use crate::ingest::body::BodyError;
use crate::ingest::pipeline::PipelineError;
use crate::ingest::spool::SpoolError;
use crate::ingest::IngestError;
use crate::query::QueryError;
use crate::realtime::RealtimeError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    /// Close the connection after answering: what is left of the request is not worth reading.
    pub close: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), retry_after: None, close: false }
    }

    fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    pub fn closing(mut self) -> ApiError {
        self.close = true;
        self
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in, or send a valid API key (Authorization: Bearer ...) or share link (Authorization: Share ...)",
        )
    }

    pub fn too_many_requests(message: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message).retry_after(retry_after.max(1))
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message).retry_after(retry_after)
    }

    /// SQL or the session store failed. `what` names the dependency for the answer; the cause goes to the log.
    pub fn storage_unavailable(what: Dependency, error: impl std::fmt::Display) -> ApiError {
        tracing::warn!(dependency = what.as_str(), %error, "storage failure answered 503");
        ApiError::unavailable(
            "storage_unavailable",
            format!("the {} cannot be used right now; retry later", what.as_str()),
            5,
        )
    }

    pub fn internal(error: impl std::fmt::Display) -> ApiError {
        tracing::error!(%error, "internal error");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the collector log")
    }
}

/// What a request depends on, as named in `503` answers and in `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    Database,
    SessionStore,
    Spool,
}

impl Dependency {
    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::SessionStore => "session store",
            Dependency::Spool => "spool",
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.close {
            response.force_close();
        }
        response
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .json(serde_json::json!({"error": {"code": self.code, "message": self.message}}))
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> ApiError {
        let message = error.to_string();
        match error {
            IngestError::Body(e) => e.into(),
            IngestError::Beacon(e) => ApiError::bad_request(e.code(), message),
            IngestError::Pipeline(PipelineError::SiteLookup(e)) => {
                ApiError::storage_unavailable(Dependency::Database, e)
            }
            IngestError::Pipeline(PipelineError::KeyNotForSite(_)) => ApiError::forbidden(message),
            IngestError::Spool(SpoolError::Full { .. }) => ApiError::unavailable("spool_full", message, 30),
            IngestError::Spool(e) => {
                tracing::warn!(error = %e, "spool failure answered 503");
                ApiError::unavailable("spool_unavailable", "events cannot be stored right now; retry later", 5)
            }
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> ApiError {
        let message = error.to_string();
        let status = match error {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::UnsupportedEncoding(_) | BodyError::UnsupportedMediaType(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            BodyError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            BodyError::CorruptGzip => StatusCode::BAD_REQUEST,
        };
        let answer = ApiError::new(status, error.code(), message);
        // A chunked body would otherwise be drained after the answer, as slowly as the client likes.
        match error {
            BodyError::Timeout(_) => answer.closing(),
            _ => answer,
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> ApiError {
        match error {
            QueryError::Invalid { code, message } => ApiError::bad_request(code, message),
            QueryError::SiteNotFound(site) => ApiError::not_found(format!("no site `{site}`")),
            QueryError::Store(e) => ApiError::storage_unavailable(Dependency::Database, e),
        }
    }
}

impl From<ExportError> for ApiError {
    fn from(error: ExportError) -> ApiError {
        match error {
            ExportError::Query(e) => e.into(),
            ExportError::Invalid { code, message } => ApiError::bad_request(code, message),
            ExportError::Db(e) => ApiError::storage_unavailable(Dependency::Database, e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::Db(e) => ApiError::storage_unavailable(Dependency::Database, e),
            StoreError::Conflict(what) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", format!("{what} already exists"))
            }
            StoreError::Invalid(message) => ApiError::bad_request("invalid_request", message),
        }
    }
}

impl From<RealtimeError> for ApiError {
    fn from(error: RealtimeError) -> ApiError {
        let message = error.to_string();
        match error {
            RealtimeError::Store(e) => ApiError::storage_unavailable(Dependency::SessionStore, e),
            RealtimeError::Invalid { code, .. } => ApiError::bad_request(code, message),
            RealtimeError::PresenceDisabled => ApiError::new(StatusCode::NOT_FOUND, "presence_disabled", message),
        }
    }
}

/// actix's own extractor errors (bad JSON, bad query string) in our error shape.
pub fn json_config() -> actix_web::web::JsonConfig {
    use actix_web::error::JsonPayloadError;
    actix_web::web::JsonConfig::default().limit(super::edge::MAX_BODY).error_handler(|e, _| {
        match e {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                ApiError::from(BodyError::TooLarge { max: super::edge::MAX_BODY }).closing()
            }
            JsonPayloadError::ContentType => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ),
            other => ApiError::bad_request("invalid_json", other.to_string()),
        }
        .into()
    })
}

pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default()
        .error_handler(|e, _| ApiError::bad_request("invalid_query_string", e.to_string()).into())
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("no such endpoint"))
}
