//! Every class of bad input gets its status and stable error code — never a 500, never a panic — and the
//! collector keeps serving afterwards.
use std::io::Write;

use serde_json::{json, Value};

use crate::helpers::*;

fn vector_body(vector: &Value, site: &str) -> Vec<u8> {
    let fill = |text: String| {
        text.replace("SITE", site)
            .replace("HOST", DOMAIN)
            .replace("LONG2100", &"a".repeat(2100))
            .replace("NAME65", &"n".repeat(65))
    };
    if let Some(raw) = vector["raw"].as_str() {
        return fill(raw.to_owned()).into_bytes();
    }
    if let Some(text) = vector["body_text"].as_str() {
        return fill(text.to_owned()).into_bytes();
    }
    if let Some(hex) = vector["raw_hex"].as_str() {
        return (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    }
    if let Some(parts) = vector["raw_repeat"].as_array() {
        let n = parts[1].as_u64().unwrap() as usize;
        return format!("{}{}", parts[0].as_str().unwrap().repeat(n), parts[2].as_str().unwrap().repeat(n))
            .into_bytes();
    }
    if let Some(n) = vector["repeat_valid"].as_u64() {
        return Value::Array(vec![pageview(site, "/"); n as usize]).to_string().into_bytes();
    }
    if let Some(n) = vector["props_count"].as_u64() {
        let props: serde_json::Map<String, Value> = (0..n).map(|i| (format!("k{i}"), json!(i))).collect();
        return json!({"site": site, "type": "interaction", "url": "https://example.com/", "name": "x", "props": props}).to_string().into_bytes();
    }
    fill(vector["body"].to_string()).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_protocol_vector_gets_its_status_and_code() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let vectors: Value = serde_json::from_str(include_str!("../../../protocol/beacon-vectors.json")).unwrap();
    for vector in vectors["invalid"].as_array().unwrap() {
        let response = app.post_raw(vector_body(vector, &app.site), &[("content-type", "text/plain")]).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, vector["status"].as_u64().unwrap() as u16, "vector `{}`: {body}", vector["name"]);
        assert_eq!(body["error"]["code"], vector["code"], "vector `{}`: {body}", vector["name"]);
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "vector `{}` has a message",
            vector["name"]
        );
    }
    assert_eq!(
        app.metric("footfall_requests_rejected_total").await,
        vectors["invalid"].as_array().unwrap().len() as u64
    );
    // Nothing of it was stored, and the collector still accepts good beacons.
    assert_eq!(app.send(&pageview(&app.site, "/still-fine")).await.status(), 202);
    app.wait_for_events(1).await;
}

/// A valid page view padded (with an ignored field) to exactly `size` bytes.
fn padded_pageview(site: &str, size: usize) -> Vec<u8> {
    let base = json!({"site": site, "type": "pageview", "url": "https://example.com/padded", "pad": ""}).to_string();
    let text = base.replace(r#""pad":"""#, &format!(r#""pad":"{}""#, "x".repeat(size - base.len())));
    assert_eq!(text.len(), size);
    text.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_cap_is_exact_and_the_connection_survives_a_413() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let cap = 64 * 1024;
    let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
    let post = |body: Vec<u8>| {
        client.post(format!("{}/api/event", app.address)).header("content-type", "text/plain").body(body).send()
    };
    assert_eq!(post(padded_pageview(&app.site, cap)).await.unwrap().status(), 202);
    let over = post(padded_pageview(&app.site, cap + 1)).await.unwrap();
    assert_eq!(over.status(), 413);
    assert_eq!(over.json::<Value>().await.unwrap()["error"]["code"], "payload_too_large");
    assert_eq!(post(padded_pageview(&app.site, 200)).await.unwrap().status(), 202);
    app.wait_for_events(2).await;
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_is_accepted_bombs_are_413_and_other_encodings_415() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let ok =
        app.post_raw(gzip(pageview(&app.site, "/gz").to_string().as_bytes()), &[("content-encoding", "gzip")]).await;
    assert_eq!(ok.status(), 202);
    let bomb = gzip(&vec![b' '; 20 * 1024 * 1024]);
    let response = app.post_raw(bomb, &[("content-encoding", "gzip")]).await;
    assert_eq!(response.status(), 413);
    for encoding in ["br", "deflate", "zstd"] {
        let response = app.post_raw(b"{}".to_vec(), &[("content-encoding", encoding)]).await;
        assert_eq!(response.status(), 415, "{encoding}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "unsupported_encoding");
    }
    let form = app.post_raw(b"{}".to_vec(), &[("content-type", "multipart/form-data; boundary=x")]).await;
    assert_eq!(form.status(), 415);
    let corrupt = app.post_raw(b"\x1f\x8b not gzip".to_vec(), &[("content-encoding", "gzip")]).await;
    assert_eq!(corrupt.status(), 400);
    app.wait_for_events(1).await;
}
