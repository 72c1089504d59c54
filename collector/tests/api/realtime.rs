//! Real-time read side: beacons in, presence out — the JSON report, its Server-Sent Events stream, and the
//! public, opt-in presence endpoint for widgets.
use std::time::Duration;

use footfall::store::{auth_sessions, keys, sites, users};
use reqwest::{Method, RequestBuilder};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{csrf_of, pageview, spawn_app, wait_until, Db, Sessions, TestApp, DOMAIN};
use crate::on_every_backend;

const GROUP: &str = "community:montreal";

fn in_group(site: &str, path: &str, group: &str) -> Value {
    let mut beacon = pageview(site, path);
    beacon["group"] = json!(group);
    beacon
}

impl TestApp {
    async fn realtime_as(&self, key: Option<&str>, site: &str) -> (u16, Value) {
        let mut request = self.client.get(format!("{}/api/v1/sites/{site}/realtime", self.address));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn presence(&self, query: &str) -> (u16, Value, reqwest::header::HeaderMap) {
        let response =
            self.client.get(format!("{}/api/v1/presence?{query}", self.address)).send().await.expect("request");
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        (status, response.json().await.unwrap_or(Value::Null), headers)
    }
}

async fn realtime_counts_pages_groups_and_identified_visitors(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    let site = app.site.clone();
    assert_eq!(app.send_as("198.51.100.1", &in_group(&site, "/a", GROUP)).await.status(), 202);
    assert_eq!(app.send_as("198.51.100.2", &pageview(&site, "/a")).await.status(), 202);
    assert_eq!(app.send_as("198.51.100.3", &in_group(&site, "/b", GROUP)).await.status(), 202);
    // Visitor 3 signs in on /b (DESIGN §3 `identify`), then views another page: still identified.
    let identify = json!({"site": site, "type": "identify", "url": format!("https://{DOMAIN}/b"), "user": "user-42"});
    assert_eq!(app.send_as("198.51.100.3", &identify).await.status(), 202);
    assert_eq!(app.send_as("198.51.100.3", &in_group(&site, "/c", GROUP)).await.status(), 202);
    assert_eq!(app.send_as("198.51.100.4", &in_group(&site, "/c", "jobs")).await.status(), 202);

    let (status, body) = app.realtime_as(Some(&app.stats_key), &site).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "visitors": 4, "identified": 1, "anonymous": 3,
            "pages": [{"page": "/a", "visitors": 2}, {"page": "/c", "visitors": 2}],
            "groups": [
                {"group": GROUP, "visitors": 2, "identified": 1, "anonymous": 1},
                {"group": "jobs", "visitors": 1, "identified": 0, "anonymous": 1},
            ],
        })
    );
    // Visitor 4 goes on to a page in no group: it leaves "jobs" (it used to stay there until its visit ended).
    assert_eq!(app.send_as("198.51.100.4", &pageview(&site, "/about")).await.status(), 202);
    let (_, body) = app.realtime_as(Some(&app.stats_key), &site).await;
    assert_eq!(body["groups"], json!([{"group": GROUP, "visitors": 2, "identified": 1, "anonymous": 1}]), "{body}");
}
on_every_backend!(realtime_counts_pages_groups_and_identified_visitors);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_needs_stats_read_access_to_the_site() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let site = app.site.clone();
    let other = sites::create(&app.db, sites::NewSite { domain: "other.example", public_id: None, timezone: None })
        .await
        .unwrap();
    let other_sites_key = keys::create(&app.db, keys::Scope::StatsRead, Some(other.id)).await.unwrap();
    let this_sites_key = keys::create(&app.db, keys::Scope::StatsRead, Some(app.site_id)).await.unwrap();
    let code = |body: &Value| body["error"]["code"].as_str().unwrap_or_default().to_owned();

    let (status, body) = app.realtime_as(None, &site).await;
    assert_eq!((status, code(&body).as_str()), (401, "unauthorized"));
    // A key of another site cannot tell this site from one that does not exist.
    let (status, body) = app.realtime_as(Some(&other_sites_key), &site).await;
    assert_eq!((status, code(&body).as_str()), (404, "not_found"));
    let (status, body) = app.realtime_as(Some(&app.events_key), &site).await;
    assert_eq!((status, code(&body).as_str()), (403, "forbidden"));
    let (status, body) = app.realtime_as(Some(&app.stats_key), "no-such-site").await;
    assert_eq!((status, code(&body).as_str()), (404, "not_found"));
    let (status, body) = app.realtime_as(Some(&this_sites_key), &site).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"visitors": 0, "identified": 0, "anonymous": 0, "pages": [], "groups": []}));
    // The stream is guarded the same way.
    let url = format!("{}/api/v1/sites/{site}/realtime/stream", app.address);
    let response = app.client.get(&url).bearer_auth(&other_sites_key).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
}

/// Reads Server-Sent Events off a streaming response.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// The next event's text (`data: …` or a `: comment`), waiting at most `timeout`.
    async fn next(&mut self, timeout: Duration) -> String {
        let read = async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let event = self.buffer[..end].to_owned();
                    self.buffer.drain(..end + 2);
                    return event;
                }
                let chunk = self.response.chunk().await.expect("stream readable").expect("stream still open");
                self.buffer.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
            }
        };
        tokio::time::timeout(timeout, read).await.expect("an event in time")
    }

    /// The next `data:` event as JSON.
    async fn next_data(&mut self, timeout: Duration) -> Value {
        let event = self.next(timeout).await;
        let data = event.strip_prefix("data: ").unwrap_or_else(|| panic!("a data event, got {event:?}"));
        serde_json::from_str(data).expect("JSON data")
    }

    /// Whether the collector ends the stream within `timeout` (events before the end are skipped).
    async fn ends_within(&mut self, timeout: Duration) -> bool {
        let end = async {
            // A clean end of the body, or the connection closed under it: either way the stream is over.
            while let Ok(Some(_)) = self.response.chunk().await {}
        };
        tokio::time::timeout(timeout, end).await.is_ok()
    }
}

/// How soon a stream must end after its credential stops holding.
const REVOCATION_TAKES_AT_MOST: Duration = Duration::from_secs(5);

/// A signed-in dashboard user: the session cookie's value and its CSRF token.
struct SignIn {
    cookie: String,
    csrf: String,
}

impl TestApp {
    /// A new sign-in of the account `user_id`.
    async fn sign_in(&self, user_id: i64) -> SignIn {
        let cookie = auth_sessions::create(&self.db, user_id, 3_600_000).await.unwrap();
        let csrf = csrf_of(self, &cookie).await;
        SignIn { cookie, csrf }
    }

    /// A request as that user, with the CSRF header a write needs.
    fn signed_in(&self, who: &SignIn, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .header("cookie", format!("footfall_session={}", who.cookie))
            .header("x-csrf-token", &who.csrf)
    }

    /// Opens the site's stream with the credential `authorise` adds, and reads its opening report.
    async fn open_stream(&self, site: &str, authorise: impl FnOnce(RequestBuilder) -> RequestBuilder) -> Events {
        let request = self.client.get(format!("{}/api/v1/sites/{site}/realtime/stream", self.address));
        let response = authorise(request).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let mut events = Events { response, buffer: String::new() };
        events.next_data(Duration::from_secs(2)).await;
        events
    }
}

/// Each open stream ends within seconds of its own credential being revoked through the API — a share link,
/// an API key, a sign-in — while the streams of the other credentials carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_within_seconds_of_its_credential_being_revoked() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let owner_id = users::create(&app.db, "owner@example.com", "a long enough password").await.unwrap();
    let owner = app.sign_in(owner_id).await;
    let site = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    sites::create_owned(
        &app.db,
        sites::NewSite { domain: DOMAIN, public_id: Some(&site), timezone: None },
        Some(owner_id),
    )
    .await
    .unwrap();
    let response = app.signed_in(&owner, Method::POST, &format!("/api/v1/sites/{site}/share-links")).send().await;
    let link: Value = response.unwrap().json().await.unwrap();
    let response =
        app.signed_in(&owner, Method::POST, "/api/v1/keys").json(&json!({"scope": "stats:read", "site": site}));
    let key: Value = response.send().await.unwrap().json().await.unwrap();
    let watcher = app.sign_in(owner_id).await;

    let share_token = link["token"].as_str().unwrap().to_owned();
    let mut by_link = app.open_stream(&site, |r| r.header("authorization", format!("Share {share_token}"))).await;
    let mut by_key = app.open_stream(&site, |r| r.bearer_auth(key["key"].as_str().unwrap())).await;
    let cookie = format!("footfall_session={}", watcher.cookie);
    let mut by_cookie = app.open_stream(&site, |r| r.header("cookie", cookie)).await;

    let revoke_link = format!("/api/v1/sites/{site}/share-links/{}", link["id"]);
    assert_eq!(app.signed_in(&owner, Method::DELETE, &revoke_link).send().await.unwrap().status(), 204);
    assert!(by_link.ends_within(REVOCATION_TAKES_AT_MOST).await, "the share link's stream ends");
    assert_eq!(app.send_as("198.51.100.30", &pageview(&site, "/one")).await.status(), 202);
    assert_eq!(by_key.next_data(Duration::from_secs(5)).await["visitors"], 1, "the key's stream goes on");
    assert_eq!(by_cookie.next_data(Duration::from_secs(5)).await["visitors"], 1, "so does the sign-in's");

    let revoke_key = format!("/api/v1/keys/{}", key["id"]);
    assert_eq!(app.signed_in(&owner, Method::DELETE, &revoke_key).send().await.unwrap().status(), 204);
    assert!(by_key.ends_within(REVOCATION_TAKES_AT_MOST).await, "the key's stream ends");
    assert_eq!(app.send_as("198.51.100.31", &pageview(&site, "/two")).await.status(), 202);
    assert_eq!(by_cookie.next_data(Duration::from_secs(5)).await["visitors"], 2, "the sign-in's goes on");

    let logout = app.signed_in(&watcher, Method::POST, "/api/v1/auth/logout").send().await.unwrap();
    assert_eq!(logout.status(), 204);
    assert!(by_cookie.ends_within(REVOCATION_TAKES_AT_MOST).await, "signing out ends the sign-in's stream");
}

/// A member watching a site live stops seeing it within seconds of being removed from it, and a viewer's
/// stream ends as soon as they leave — without signing out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_members_stream_ends_within_seconds() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let owner_id = users::create(&app.db, "owner@example.com", "a long enough password").await.unwrap();
    let viewer_id = users::create(&app.db, "viewer@example.com", "a long enough password").await.unwrap();
    let (owner, viewer) = (app.sign_in(owner_id).await, app.sign_in(viewer_id).await);
    let site = app.site.clone();
    let invite = json!({"email": "viewer@example.com", "role": "viewer"});
    let invited = app.signed_in(&owner, Method::POST, &format!("/api/v1/sites/{site}/invitations")).json(&invite);
    assert_eq!(invited.send().await.unwrap().status(), 201);
    let (watching_cookie, owners_cookie) =
        (format!("footfall_session={}", viewer.cookie), format!("footfall_session={}", owner.cookie));
    let mut by_viewer = app.open_stream(&site, |r| r.header("cookie", watching_cookie)).await;
    let mut by_owner = app.open_stream(&site, |r| r.header("cookie", owners_cookie)).await;

    let removal = format!("/api/v1/sites/{site}/members/{viewer_id}");
    assert_eq!(app.signed_in(&owner, Method::DELETE, &removal).send().await.unwrap().status(), 204);
    assert!(by_viewer.ends_within(REVOCATION_TAKES_AT_MOST).await, "the removed member's stream ends");
    assert_eq!(app.send_as("198.51.100.32", &pageview(&site, "/still-watched")).await.status(), 202);
    assert_eq!(by_owner.next_data(Duration::from_secs(5)).await["visitors"], 1, "the owner's goes on");
    let again = app.signed_in(&viewer, Method::GET, &format!("/api/v1/sites/{site}/realtime")).send().await.unwrap();
    assert_eq!(again.status(), 404, "and the sign-in no longer reaches the site at all");
}

/// A public id is free again once its site is deleted. Account A deletes site `xt` while a visitor is on it
/// and A watches it live; account B creates a site `xt`. A's stream ends, and B's new site has nobody on it
/// and none of the old site's pages — whichever session store holds presence.
async fn a_deleted_sites_public_id_taken_again_starts_with_nobody_on_it(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    let a_id = users::create(&app.db, "a@example.com", "a long enough password").await.unwrap();
    let b_id = users::create(&app.db, "b@example.com", "b long enough password").await.unwrap();
    let (a, b) = (app.sign_in(a_id).await, app.sign_in(b_id).await);
    let create = json!({"domain": DOMAIN, "id": "xt"});
    let created = app.signed_in(&a, Method::POST, "/api/v1/sites").json(&create).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let old = sites::find(&app.db, "xt").await.unwrap().unwrap();
    assert_eq!(app.send_as("198.51.100.40", &in_group("xt", "/only-a-sees-this", GROUP)).await.status(), 202);
    let cookie = format!("footfall_session={}", a.cookie);
    let mut watching = app.open_stream("xt", |r| r.header("cookie", cookie)).await;

    assert_eq!(app.signed_in(&a, Method::DELETE, "/api/v1/sites/xt").send().await.unwrap().status(), 204);
    let created = app.signed_in(&b, Method::POST, "/api/v1/sites").json(&create).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let new = sites::find(&app.db, "xt").await.unwrap().unwrap();
    assert_ne!(new.id, old.id, "internal ids are never given again");

    assert!(watching.ends_within(REVOCATION_TAKES_AT_MOST).await, "A's stream of the deleted site ends");
    let response = app.signed_in(&b, Method::GET, "/api/v1/sites/xt/realtime").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let now: Value = response.json().await.unwrap();
    assert_eq!(now, json!({"visitors": 0, "identified": 0, "anonymous": 0, "pages": [], "groups": []}));
}

mod a_deleted_sites_public_id_taken_again_starts_with_nobody_on_it {
    use crate::helpers::{Db, Sessions};
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_in_process() {
        super::a_deleted_sites_public_id_taken_again_starts_with_nobody_on_it(Db::Sqlite, Sessions::Memory).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_redis() {
        super::a_deleted_sites_public_id_taken_again_starts_with_nobody_on_it(Db::Sqlite, Sessions::Redis).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_redis() {
        super::a_deleted_sites_public_id_taken_again_starts_with_nobody_on_it(Db::Postgres, Sessions::Redis).await
    }
}

async fn the_stream_pushes_the_report_when_a_beacon_arrives(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    let site = app.site.clone();
    let response = app
        .client
        .get(format!("{}/api/v1/sites/{site}/realtime/stream", app.address))
        .bearer_auth(&app.stats_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let mut events = Events { response, buffer: String::new() };
    // At once, without waiting for a poll.
    let first = events.next_data(Duration::from_millis(900)).await;
    assert_eq!(first["visitors"], 0, "{first}");

    assert_eq!(app.send_as("198.51.100.7", &in_group(&site, "/live", GROUP)).await.status(), 202);
    let update = events.next_data(Duration::from_secs(5)).await;
    assert_eq!(update["visitors"], 1, "{update}");
    assert_eq!(update["pages"], json!([{"page": "/live", "visitors": 1}]));
    assert_eq!(update["groups"][0]["group"], GROUP);

    // A second visitor on the same page changes the report again.
    assert_eq!(app.send_as("198.51.100.8", &pageview(&site, "/live")).await.status(), 202);
    let update = events.next_data(Duration::from_secs(5)).await;
    assert_eq!(update["pages"], json!([{"page": "/live", "visitors": 2}]), "{update}");

    // The client goes away: the collector ends the stream (and its share of the site's poller).
    assert_eq!(app.metric("footfall_realtime_streams_closed_total").await, 0);
    drop(events);
    wait_until(Duration::from_secs(10), || async { app.metric("footfall_realtime_streams_closed_total").await == 1 })
        .await;
    assert_eq!(app.metric("footfall_realtime_streams_opened_total").await, 1);
    assert_eq!(app.metric("footfall_realtime_streams_closed_total").await, 1, "the stream ended after disconnect");
}
on_every_backend!(the_stream_pushes_the_report_when_a_beacon_arrives);

/// A site that opted in to public presence, created with its option in one statement so the site cache's
/// background refresh never sees it without.
async fn site_with_public_presence(app: &TestApp) -> String {
    let id = format!("p{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    app.db
        .execute_unprepared(&format!(
            "INSERT INTO sites (public_id, domain, allowed_hostnames, timezone, retention_days, respect_dnt, \
             hash_routing, public_presence, created_at, audience_rules) \
             VALUES ('{id}', '{DOMAIN}', '[]', 'UTC', 90, true, false, true, 0, '[]')"
        ))
        .await
        .unwrap();
    id
}

async fn public_presence_is_opt_in_and_open_to_any_origin(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    // The app's own site has not opted in: the same answer as for a site that does not exist.
    assert_eq!(app.send_as("198.51.100.20", &pageview(&app.site, "/a")).await.status(), 202);
    let (status, closed, headers) = app.presence(&format!("site={}&page=/a", app.site)).await;
    assert_eq!(status, 404, "{closed}");
    assert_eq!(closed["error"]["code"], "presence_disabled");
    assert_eq!(headers["access-control-allow-origin"], "*");
    let (status, unknown, _) = app.presence("site=no-such-site&page=/a").await;
    assert_eq!((status, &unknown), (404, &closed), "unknown and closed sites look alike");

    let open = site_with_public_presence(&app).await;
    assert_eq!(app.send_as("198.51.100.21", &in_group(&open, "/post/1", GROUP)).await.status(), 202);
    assert_eq!(app.send_as("198.51.100.22", &pageview(&open, "/post/1")).await.status(), 202);
    assert_eq!(app.send_as("198.51.100.23", &pageview(&open, "/post/2")).await.status(), 202);
    let (status, body, headers) = app.presence(&format!("site={open}&page=/post/1")).await;
    assert_eq!((status, &body), (200, &json!({"visitors": 2})));
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers["cache-control"].to_str().unwrap().contains("max-age"), "{headers:?}");
    let (_, body, _) = app.presence(&format!("site={open}&group=community%3Amontreal")).await;
    assert_eq!(body, json!({"visitors": 1}));
    let (_, body, _) = app.presence(&format!("site={open}&page=/nobody-here")).await;
    assert_eq!(body, json!({"visitors": 0}));
    // No credentials are needed, and none are looked at: the stats report of that site stays closed.
    let (status, _) = app.realtime_as(None, &open).await;
    assert_eq!(status, 401);
}
on_every_backend!(public_presence_is_opt_in_and_open_to_any_origin);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_parameters_are_validated() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let open = site_with_public_presence(&app).await;
    let long_page = format!("/{}", "a".repeat(2048));
    let long_group = "g".repeat(129);
    let cases = [
        ("page=/a".to_owned(), "missing_site"),
        ("site=bad%20id&page=/a".to_owned(), "invalid_site"),
        (format!("site={open}"), "missing_scope"),
        (format!("site={open}&page=/a&group=g"), "conflicting_scope"),
        (format!("site={open}&page=no-slash"), "invalid_page"),
        (format!("site={open}&page={long_page}"), "invalid_page"),
        (format!("site={open}&group="), "invalid_group"),
        (format!("site={open}&group={long_group}"), "invalid_group"),
    ];
    for (query, code) in cases {
        let (status, body, headers) = app.presence(&query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], code, "{query}");
        assert_eq!(headers["access-control-allow-origin"], "*", "{query}");
    }
}
