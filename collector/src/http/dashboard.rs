//! Serves the dashboard: the static app in `web/` (HTML, CSS, JS modules, vendored libraries), embedded at
//! compile time by `build.rs`, so the one binary needs no files at run time. The app gets all its data from
//! `/api/v1`; this module only hands out its files.
//!
//! - `GET /` and `GET /share/{token}` answer `index.html` (a share link opens the same app, read-only; the app reads
//!   the token from its own path and sends it to the API — the server does not look at it here);
//! - `GET /assets/{path}` answers the file `web/{path}` (`web/tests/` is not embedded).
//!
//! File names are not content-hashed (no build step), so every response says `Cache-Control: no-cache` with a
//! strong `ETag`: browsers revalidate and get `304` until the binary changes. Text files are gzip-compressed once,
//! on first use, and sent compressed to clients that accept it. Every dashboard response carries a strict
//! Content-Security-Policy: the app has no inline script or style and never turns tracked data into HTML, so the
//! policy costs nothing and limits what a bug could let injected data do.
use std::collections::HashMap;
use std::io::Write;
use std::sync::LazyLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use flate2::write::GzEncoder;
use flate2::Compression;

use super::error::ApiError;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/dashboard_files.rs"));
}

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

struct Asset {
    body: &'static [u8],
    content_type: &'static str,
    etag: String,
    /// Present when compressing saved bytes.
    gzip: Option<(Vec<u8>, String)>,
}

static ASSETS: LazyLock<HashMap<&'static str, Asset>> =
    LazyLock::new(|| embedded::FILES.iter().map(|&(path, body)| (path, Asset::new(path, body))).collect());

impl Asset {
    fn new(path: &str, body: &'static [u8]) -> Asset {
        let content_type = content_type(path);
        let etag = format!("\"{}\"", &blake3::hash(body).to_hex()[..20]);
        let compressible = content_type.starts_with("text/")
            || content_type.starts_with("application/json")
            || content_type.starts_with("image/svg");
        let gzip = compressible.then(|| gzip(body)).flatten().filter(|z| z.len() < body.len()).map(|z| {
            // A strong validator names one representation: the compressed one gets its own.
            let tag = format!("{}-gz\"", etag.trim_end_matches('"'));
            (z, tag)
        });
        Asset { body, content_type, etag, gzip }
    }
}

fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 3), Compression::best());
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("map") => "application/json",
        // LICENSE files of vendored libraries, README, …
        Some("txt" | "md") | None => "text/plain; charset=utf-8",
        Some(_) => "application/octet-stream",
    }
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers().get_all(header::ACCEPT_ENCODING).filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused =
                parts.any(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()) == Some(0.0));
            coding.eq_ignore_ascii_case("gzip") && !refused
        })
    })
}

fn matches_etag(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag))
}

fn respond(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let (body, etag, encoded): (&[u8], &str, bool) = match &asset.gzip {
        Some((z, tag)) if accepts_gzip(req) => (z, tag, true),
        _ => (asset.body, &asset.etag, false),
    };
    let fresh = matches_etag(req, etag);
    let mut response = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"));
    if asset.gzip.is_some() {
        response.insert_header((header::VARY, "Accept-Encoding"));
    }
    if fresh {
        return response.finish();
    }
    response.insert_header((header::CONTENT_TYPE, asset.content_type));
    if encoded {
        // Set explicitly so the framework does not compress again or strip it.
        response.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
    }
    response.body(body.to_vec())
}

/// `GET /` and `GET /share/{token}`: the app's page.
pub async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let asset = ASSETS.get("index.html").ok_or_else(|| ApiError::not_found("the dashboard is not embedded"))?;
    Ok(respond(&req, asset))
}

/// `GET /assets/{path}`: one file of the app.
pub async fn asset(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset = ASSETS.get(path.as_str()).ok_or_else(|| ApiError::not_found("no such dashboard file"))?;
    Ok(respond(&req, asset))
}

#[cfg(test)]
mod tests {
    use actix_web::http::StatusCode;
    use actix_web::test::{call_service, init_service, read_body, TestRequest};
    use actix_web::App;

    use super::*;

    fn app() -> App<
        impl actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        >,
    > {
        App::new()
            .route("/", web::get().to(index))
            .route("/share/{token}", web::get().to(index))
            .route("/assets/{path:.*}", web::get().to(asset))
    }

    fn header(res: &actix_web::dev::ServiceResponse, name: header::HeaderName) -> &str {
        res.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    #[actix_web::test]
    async fn index_and_share_pages_carry_the_security_headers() {
        let app = init_service(app()).await;
        for uri in ["/", "/share/abc123"] {
            let res = call_service(&app, TestRequest::get().uri(uri).to_request()).await;
            assert_eq!(res.status(), StatusCode::OK, "{uri}");
            assert_eq!(header(&res, header::CONTENT_TYPE), "text/html; charset=utf-8");
            assert_eq!(header(&res, header::CONTENT_SECURITY_POLICY), CONTENT_SECURITY_POLICY);
            assert_eq!(header(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
            assert_eq!(header(&res, header::REFERRER_POLICY), "same-origin");
            assert_eq!(header(&res, header::CACHE_CONTROL), "no-cache");
            let body = read_body(res).await;
            assert!(std::str::from_utf8(&body).unwrap().contains("/assets/js/main.js"));
        }
    }

    #[actix_web::test]
    async fn assets_have_types_and_revalidate_with_their_etag() {
        let app = init_service(app()).await;
        for (uri, kind) in [
            ("/assets/js/main.js", "text/javascript; charset=utf-8"),
            ("/assets/js/api.js", "text/javascript; charset=utf-8"),
            ("/assets/css/app.css", "text/css; charset=utf-8"),
            ("/assets/vendor/uplot/LICENSE", "text/plain; charset=utf-8"),
        ] {
            let res = call_service(&app, TestRequest::get().uri(uri).to_request()).await;
            assert_eq!(res.status(), StatusCode::OK, "{uri}");
            assert_eq!(header(&res, header::CONTENT_TYPE), kind, "{uri}");
            assert_eq!(header(&res, header::CONTENT_ENCODING), "", "{uri}: not asked for gzip");
            let etag = header(&res, header::ETAG).to_owned();
            assert!(etag.starts_with('"') && etag.len() > 10, "{uri}: {etag}");
            let again = call_service(
                &app,
                TestRequest::get().uri(uri).insert_header((header::IF_NONE_MATCH, etag)).to_request(),
            )
            .await;
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{uri}");
            assert_eq!(header(&again, header::CONTENT_SECURITY_POLICY), CONTENT_SECURITY_POLICY);
            let stale = call_service(
                &app,
                TestRequest::get().uri(uri).insert_header((header::IF_NONE_MATCH, "\"other\"")).to_request(),
            )
            .await;
            assert_eq!(stale.status(), StatusCode::OK, "{uri}");
        }
    }

    #[actix_web::test]
    async fn gzip_is_sent_to_clients_that_accept_it_and_decodes_to_the_file() {
        let app = init_service(app()).await;
        let plain =
            read_body(call_service(&app, TestRequest::get().uri("/assets/js/main.js").to_request()).await).await;
        let req = TestRequest::get().uri("/assets/js/main.js").insert_header((header::ACCEPT_ENCODING, "br, gzip"));
        let res = call_service(&app, req.to_request()).await;
        assert_eq!(header(&res, header::CONTENT_ENCODING), "gzip");
        assert_eq!(header(&res, header::VARY), "Accept-Encoding");
        assert!(header(&res, header::ETAG).ends_with("-gz\""));
        let zipped = read_body(res).await;
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut decoded).unwrap();
        assert_eq!(decoded, plain);
        let refused = TestRequest::get().uri("/assets/js/main.js").insert_header((header::ACCEPT_ENCODING, "gzip;q=0"));
        let res = call_service(&app, refused.to_request()).await;
        assert_eq!(header(&res, header::CONTENT_ENCODING), "");
    }

    #[actix_web::test]
    async fn unknown_files_and_tests_are_not_served() {
        let app = init_service(app()).await;
        for uri in ["/assets/nope.js", "/assets/../Cargo.toml", "/assets/tests/README.md", "/assets/"] {
            let res = call_service(&app, TestRequest::get().uri(uri).to_request()).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{uri}");
        }
        assert!(embedded::FILES.iter().all(|(path, _)| !path.starts_with("tests/")));
    }

    /// The policy forbids inline code and style; an inline one would silently not run in the browser.
    #[test]
    fn html_has_no_inline_script_style_or_handlers() {
        for (path, body) in embedded::FILES.iter().filter(|(p, _)| p.ends_with(".html")) {
            let html = std::str::from_utf8(body).unwrap().to_ascii_lowercase();
            assert!(!html.contains(" style="), "{path}: style attribute");
            assert!(!html.contains("<style"), "{path}: <style> element");
            assert!(!html.contains("javascript:"), "{path}: javascript: URL");
            for tag in html.split("<script").skip(1) {
                let open = tag.split('>').next().unwrap_or("");
                assert!(open.contains(" src="), "{path}: inline <script>");
                assert!(tag.split('>').nth(1).is_some_and(|rest| rest.starts_with("</script")), "{path}: script body");
            }
            let handlers = html.split(|c: char| c.is_whitespace()).filter(|w| w.starts_with("on") && w.contains('='));
            assert_eq!(handlers.count(), 0, "{path}: inline event handler");
        }
    }

    /// Every file the page and the modules refer to is embedded (no build step catches a typo otherwise).
    #[test]
    fn references_resolve_to_embedded_files() {
        let known: std::collections::HashSet<&str> = embedded::FILES.iter().map(|(p, _)| *p).collect();
        let html_ref = regex::Regex::new(r#"(?:src|href)="(/[^"]*)""#).unwrap();
        // Static imports/re-exports (`import {..} from '..'`, `import '..'`) and dynamic `import('..')`.
        let js_ref = regex::Regex::new(
            r#"(?m)(?:^(?:import|export)\b[^;'"]*?\bfrom\s*|^import\s*|\bimport\s*\(\s*)['"]([^'"]+)['"]"#,
        )
        .unwrap();
        let mut checked = 0;
        for (path, body) in embedded::FILES.iter() {
            let text = std::str::from_utf8(body).unwrap_or("");
            let refs = match path.rsplit_once('.').map(|(_, e)| e) {
                Some("html") => html_ref.captures_iter(text).map(|c| c[1].to_owned()).collect::<Vec<_>>(),
                Some("js") if !path.starts_with("vendor/") => {
                    js_ref.captures_iter(text).map(|c| c[1].to_owned()).collect()
                }
                _ => continue,
            };
            let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            for reference in refs {
                let target = if let Some(rest) = reference.strip_prefix("/assets/") {
                    rest.to_owned()
                } else if reference.starts_with("./") || reference.starts_with("../") {
                    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
                    for segment in reference.split('/') {
                        match segment {
                            "." => {}
                            ".." => {
                                parts.pop();
                            }
                            s => parts.push(s),
                        }
                    }
                    parts.join("/")
                } else {
                    panic!("{path} refers to {reference}: use /assets/... or a relative module path");
                };
                assert!(known.contains(target.as_str()), "{path} refers to {reference}, which is not in web/");
                checked += 1;
            }
        }
        assert!(checked > 10, "only {checked} references found");
    }
}
