//! `/healthz` (the process answers), `/readyz` (SQL, session store and spool usable), `/metrics`.
use actix_web::{web, HttpResponse};
use sea_orm::ConnectionTrait;
use serde_json::json;

use super::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let sql = state.db.execute_unprepared("SELECT 1").await.map(|_| ()).map_err(|e| e.to_string());
    let sessions = state.sessions.ping().await.map_err(|e| e.to_string());
    let spool = &state.ingest.spool;
    let spool_ok = spool.is_ready();
    let check = |r: &Result<_, String>| match r {
        Ok(_) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": e}),
    };
    let body = json!({
        "sql": check(&sql),
        "session_store": check(&sessions),
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
