//! The OpenAPI document describes exactly the routes the collector serves, and the query schema names exactly
//! what the engine accepts.
use std::collections::BTreeSet;

use footfall::http::openapi::ROUTES;
use serde_json::Value;

use crate::helpers::*;

#[test]
fn every_route_is_described_and_nothing_else() {
    let served: BTreeSet<(String, String)> = crate::authz::routes_in_table()
        .into_iter()
        .map(|(method, path)| (method, path.replace("{path:.*}", "{path}")))
        .collect();
    let described: BTreeSet<(String, String)> =
        ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    assert_eq!(
        served.difference(&described).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes without a description"
    );
    assert_eq!(
        described.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "descriptions of no route"
    );
}

#[tokio::test]
async fn the_document_is_served_and_lists_the_query_vocabulary() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let doc: Value =
        app.client.get(format!("{}/api/v1/openapi.json", app.address)).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/sites/{site}/sessions/{id}"]["get"]["parameters"].as_array().unwrap().len() >= 2);
    let metrics =
        doc["components"]["schemas"]["Query"]["properties"]["metrics"]["items"]["enum"].as_array().unwrap().clone();
    for m in [
        "visitors",
        "visits",
        "pageviews",
        "views_per_visit",
        "bounce_rate",
        "visit_duration",
        "time_on_page",
        "scroll_depth",
        "interactions",
        "engagement_rate",
        "engagement_score",
        "conversions",
        "conversion_rate",
    ] {
        assert!(metrics.contains(&Value::from(m)), "{m}");
    }
    let dimensions =
        doc["components"]["schemas"]["Query"]["properties"]["dimensions"]["items"]["enum"].as_array().unwrap().len();
    assert_eq!(dimensions, 31);
}
