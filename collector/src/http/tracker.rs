//! Serves the tracker: `GET /t.js` (the loader; short cache, so a new bundle reaches sites within minutes)
//! and `GET /tracker/{file}` (glue and wasm under content-hashed names; cached for a year, immutable).
//! The loader `import()`s the glue cross-origin, which needs CORS.
use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::error::ApiError;

mod bundle {
    include!(concat!(env!("OUT_DIR"), "/tracker_bundle.rs"));
}

const LOADER_MAX_AGE: &str = "public, max-age=300";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn asset(body: &'static [u8], content_type: &str, cache: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

pub async fn loader() -> HttpResponse {
    asset(bundle::LOADER, "text/javascript; charset=utf-8", LOADER_MAX_AGE)
}

pub async fn file(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match name.as_str() {
        n if n == bundle::GLUE_NAME => Ok(asset(bundle::GLUE, "text/javascript; charset=utf-8", IMMUTABLE)),
        n if n == bundle::WASM_NAME => Ok(asset(bundle::WASM, "application/wasm", IMMUTABLE)),
        _ => Err(ApiError::not_found("no such tracker file; the loader at /t.js names the current ones")),
    }
}

/// The names the loader refers to, for tests and diagnostics.
pub fn bundle_names() -> (&'static str, &'static str) {
    (bundle::GLUE_NAME, bundle::WASM_NAME)
}
