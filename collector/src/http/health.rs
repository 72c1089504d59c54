//! `/healthz` (the process answers), `/readyz` (SQL, session store and spool usable), `/metrics`.
use actix_web::{web, HttpResponse};
use sea_orm::ConnectionTrait;
use serde_json::json;

use super::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Which dependency is down, never its error text (driver messages name files, hosts and lock states): the
/// cause goes to the log, once per failed check.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let sql = state.db.execute_unprepared("SELECT 1").await.map(|_| ());
    let sessions = state.sessions.ping().await;
    if let Err(error) = &sql {
        tracing::warn!(%error, "readiness: SQL is not usable");
    }
    if let Err(error) = &sessions {
        tracing::warn!(%error, "readiness: the session store is not usable");
    }
    let spool = &state.ingest.spool;
    let spool_ok = spool.is_ready();
    let body = json!({
        "sql": {"ok": sql.is_ok()},
        "session_store": {"ok": sessions.is_ok()},
        "spool": {"ok": spool_ok, "used_bytes": spool.used_bytes(), "max_bytes": spool.max_bytes()},
    });
    if sql.is_ok() && sessions.is_ok() && spool_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(state.ingest.spool.used_bytes()))
}
