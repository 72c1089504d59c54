//! The authorisation matrix: every route of the route table (read from `collector/src/http/mod.rs` itself, so a
//! new route without an entry here fails) × {anonymous, share link, key per scope, another account, a viewer and
//! an admin of the site, its owner} → allowed or denied. The owner is also the instance's administrator.
//!
//! Each (route, principal) pair runs against a fresh target site owned by the owner, with its own keys (bound
//! to that site), share link, members, pending invitation, reset link and sign-ins, so a destructive request in
//! one pair cannot influence another.
//! Allowed means a 2xx answer (or one of the entry's listed statuses, e.g. 404 for a placeholder id); denied
//! means 401 for anonymous requests and 403/404 for everyone else. No pair may answer 5xx.
use std::collections::BTreeSet;

use footfall::store::members::{self, Role};
use footfall::store::{auth_sessions, invitations, keys, password_resets, share_links, sites, users};

use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Share,
    StatsKey,
    SitesKey,
    EventsKey,
    OtherAccount,
    /// A member of the target site with role `viewer`.
    Viewer,
    /// A member of the target site with role `admin`.
    Admin,
    Owner,
}

const EVERYONE: [Who; 9] = [
    Who::Anonymous,
    Who::Share,
    Who::StatsKey,
    Who::SitesKey,
    Who::EventsKey,
    Who::OtherAccount,
    Who::Viewer,
    Who::Admin,
    Who::Owner,
];

struct Entry {
    method: &'static str,
    path: &'static str,
    allowed: &'static [Who],
    /// Statuses besides 2xx that count as "allowed" (the request passed authorisation and failed later).
    also_ok: &'static [u16],
    /// A query string to send (placeholders as in paths).
    query: Option<&'static str>,
    body: Option<&'static str>,
}

use Who::*;
const PUBLIC: &[Who] = &EVERYONE;
/// A site's stats, read with GET: share links, stats:read keys, every member, the owner.
const STATS_GET: &[Who] = &[Share, StatsKey, Viewer, Admin, Owner];
/// The same with POST: share links are GET-only.
const STATS_POST: &[Who] = &[StatsKey, Viewer, Admin, Owner];
const SITE_READ: &[Who] = &[Share, StatsKey, SitesKey, Viewer, Admin, Owner];
/// Changing the site: sites:write keys, admins, the owner — never a viewer.
const SITE_WRITE: &[Who] = &[SitesKey, Admin, Owner];
const ACCOUNTS: &[Who] = &[OtherAccount, Viewer, Admin, Owner];
/// Credentials and people of the site: its signed-in admins and owner.
const MANAGERS: &[Who] = &[Admin, Owner];
/// Deleting or giving away the site; the instance's accounts (the owner is the instance's administrator).
const OWNER: &[Who] = &[Owner];

const fn entry(method: &'static str, path: &'static str, allowed: &'static [Who]) -> Entry {
    Entry { method, path, allowed, also_ok: &[], query: None, body: None }
}

/// `{site}` is the target site, `{id}` the fixture's share link (share-link routes) or events key (key
/// routes), `{token}` the share token. Bodies use the same placeholders.
const MATRIX: &[Entry] = &[
    // Ingestion: anyone may send beacons; a Bearer key must have events:write.
    Entry {
        body: Some(r#"{"site":"{site}","type":"pageview","url":"https://example.com/"}"#),
        ..entry("POST", "/api/event", &[Anonymous, Share, EventsKey, OtherAccount, Viewer, Admin, Owner])
    },
    entry("OPTIONS", "/api/event", PUBLIC),
    // Sign-in.
    entry("GET", "/api/v1/auth/status", PUBLIC),
    Entry {
        also_ok: &[409],
        body: Some(r#"{"email":"late@example.com","password":"a long enough password"}"#),
        ..entry("POST", "/api/v1/auth/setup", PUBLIC)
    },
    Entry {
        body: Some(r#"{"email":"third@example.com","password":"third account password"}"#),
        ..entry("POST", "/api/v1/auth/login", PUBLIC)
    },
    entry("POST", "/api/v1/auth/logout", PUBLIC),
    // Sites.
    entry("GET", "/api/v1/sites", &[Share, StatsKey, SitesKey, OtherAccount, Viewer, Admin, Owner]),
    Entry { body: Some(r#"{"domain":"new.example.org"}"#), ..entry("POST", "/api/v1/sites", ACCOUNTS) },
    entry("GET", "/api/v1/sites/{site}", SITE_READ),
    Entry { body: Some(r#"{"timezone":"Europe/Paris"}"#), ..entry("PATCH", "/api/v1/sites/{site}", SITE_WRITE) },
    // An admin changes everything but the site's existence.
    entry("DELETE", "/api/v1/sites/{site}", &[SitesKey, Owner]),
    // Share links and keys: credentials, minted and revoked by the owner's and admins' accounts only.
    entry("GET", "/api/v1/sites/{site}/share-links", MANAGERS),
    Entry { body: Some(r#"{"label":"board"}"#), ..entry("POST", "/api/v1/sites/{site}/share-links", MANAGERS) },
    entry("DELETE", "/api/v1/sites/{site}/share-links/{id}", MANAGERS),
    entry("GET", "/api/v1/keys", ACCOUNTS),
    Entry { body: Some(r#"{"scope":"stats:read","site":"{site}"}"#), ..entry("POST", "/api/v1/keys", MANAGERS) },
    entry("DELETE", "/api/v1/keys/{id}", MANAGERS),
    // People. `{user_id}` is a third member (a viewer), so "a member may leave" is not what allows these.
    entry("GET", "/api/v1/sites/{site}/members", MANAGERS),
    Entry { body: Some(r#"{"role":"admin"}"#), ..entry("PATCH", "/api/v1/sites/{site}/members/{user_id}", MANAGERS) },
    entry("DELETE", "/api/v1/sites/{site}/members/{user_id}", MANAGERS),
    Entry {
        body: Some(r#"{"email":"newcomer@example.com","role":"viewer"}"#),
        ..entry("POST", "/api/v1/sites/{site}/invitations", MANAGERS)
    },
    entry("DELETE", "/api/v1/sites/{site}/invitations/{id}", MANAGERS),
    Entry { body: Some(r#"{"email":"other@example.com"}"#), ..entry("POST", "/api/v1/sites/{site}/transfer", OWNER) },
    // The invited person's side: the link is the credential.
    entry("GET", "/api/v1/invitations/{token}", PUBLIC),
    Entry {
        body: Some(r#"{"password":"a long enough password"}"#),
        ..entry("POST", "/api/v1/invitations/{token}/accept", PUBLIC)
    },
    // Passwords: one's own; reset links by the instance's administrator, redeemed by whoever holds one.
    Entry {
        body: Some(r#"{"current":"a long enough password","new":"a long enough password"}"#),
        ..entry("POST", "/api/v1/account/password", ACCOUNTS)
    },
    entry("GET", "/api/v1/users", OWNER),
    entry("POST", "/api/v1/users/{id}/reset-link", OWNER),
    Entry {
        body: Some(r#"{"password":"a long enough password"}"#),
        ..entry("POST", "/api/v1/password-reset/{token}", PUBLIC)
    },
    // Stats.
    Entry {
        body: Some(r#"{"site":"{site}","metrics":["visitors"],"date_range":"7d"}"#),
        ..entry("POST", "/api/v1/query", STATS_POST)
    },
    Entry { query: Some("site={site}&metrics=visitors&date_range=7d"), ..entry("GET", "/api/v1/query", STATS_GET) },
    entry("GET", "/api/v1/sites/{site}/bots", STATS_GET),
    entry("GET", "/api/v1/sites/{site}/realtime", STATS_GET),
    entry("GET", "/api/v1/sites/{site}/realtime/stream", STATS_GET),
    entry("GET", "/api/v1/sites/{site}/sessions", STATS_GET),
    Entry { also_ok: &[404], ..entry("GET", "/api/v1/sites/{site}/sessions/{id}", STATS_GET) },
    entry("GET", "/api/v1/sites/{site}/conversions", STATS_GET),
    Entry { query: Some("date_range=7d"), ..entry("GET", "/api/v1/sites/{site}/export", STATS_GET) },
    // Per-user export (a read) and erasure (a change of the site's data).
    // One person's data: key holders and the owner only, never a share link.
    Entry { also_ok: &[404], ..entry("GET", "/api/v1/sites/{site}/users/{user_id}", STATS_POST) },
    entry("DELETE", "/api/v1/sites/{site}/users/{user_id}", SITE_WRITE),
    entry("GET", "/api/v1/openapi.json", PUBLIC),
    // Presence widgets: public, opt-in per site (the target site has not opted in: 404 for everyone).
    Entry { query: Some("site={site}&page=/"), also_ok: &[404], ..entry("GET", "/api/v1/presence", PUBLIC) },
    // The visitor's own view: public, opt-in per site (the target site has not opted in: 404 for everyone).
    Entry { query: Some("site={site}"), also_ok: &[404], ..entry("GET", "/api/v1/visitors/session/current", PUBLIC) },
    Entry {
        query: Some("site={site}"),
        also_ok: &[404],
        ..entry("DELETE", "/api/v1/visitors/session/current", PUBLIC)
    },
    entry("OPTIONS", "/api/v1/visitors/session/current", PUBLIC),
    Entry { query: Some("site={site}"), also_ok: &[404], ..entry("GET", "/api/v1/visitors/session/current/", PUBLIC) },
    Entry {
        query: Some("site={site}"),
        also_ok: &[404],
        ..entry("DELETE", "/api/v1/visitors/session/current/", PUBLIC)
    },
    entry("OPTIONS", "/api/v1/visitors/session/current/", PUBLIC),
    // The dashboard's page and files, the tracker, operations: public.
    entry("GET", "/", PUBLIC),
    entry("GET", "/share/{token}", PUBLIC),
    Entry { also_ok: &[404], ..entry("GET", "/assets/{path:.*}", PUBLIC) },
    entry("GET", "/t.js", PUBLIC),
    Entry { also_ok: &[404], ..entry("GET", "/tracker/{file}", PUBLIC) },
    entry("GET", "/healthz", PUBLIC),
    entry("GET", "/readyz", PUBLIC),
    entry("GET", "/metrics", PUBLIC),
];

/// (METHOD, path) of every route registered in `collector/src/http/mod.rs`, read from its source: scopes
/// prefix their routes, `web::resource(P)` gives its path to the methods chained on it, `.route(P, web::M())`
/// names both. Anything the reader does not understand is a failure, so it cannot silently miss a route.
pub(crate) fn routes_in_table() -> BTreeSet<(String, String)> {
    let source = include_str!("../../src/http/mod.rs");
    let start = source.find("pub fn routes").expect("mod.rs has `pub fn routes`");
    // The function's body: up to the brace that closes its first one.
    let open = start + source[start..].find('{').expect("body");
    let mut braces = 0i32;
    let end = (open..source.len())
        .find(|&j| {
            braces += match source.as_bytes()[j] {
                b'{' => 1,
                b'}' => -1,
                _ => 0,
            };
            braces == 0
        })
        .expect("closing brace");
    let code: String = source[start..=end]
        .lines()
        .map(|line| match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!code.contains(".configure("), "routes registered through .configure() are not visible to this test");
    let bytes = code.as_bytes();
    let literal = |at: usize| -> (String, usize) {
        let end = code[at..].find('"').expect("closing quote") + at;
        (code[at..end].to_owned(), end + 1)
    };
    // Frames: (paren depth where the scope/resource expression sits, is_scope, path).
    let mut frames: Vec<(usize, bool, String)> = Vec::new();
    let mut depth = 0usize;
    let mut consumed = BTreeSet::new();
    let mut routes = BTreeSet::new();
    let prefix = |frames: &Vec<(usize, bool, String)>| -> String {
        frames.iter().filter(|f| f.1).map(|f| f.2.as_str()).collect()
    };
    let method_at = |at: usize| -> Option<(String, usize)> {
        let rest = &code[at..];
        for m in ["get", "post", "put", "patch", "delete", "head"] {
            let token = format!("web::{m}()");
            if rest.starts_with(&token) {
                return Some((m.to_ascii_uppercase(), token.len()));
            }
        }
        if rest.starts_with("web::method(") {
            let close = rest.find(')').expect("web::method(...)");
            let inner = &rest["web::method(".len()..close];
            let name = inner.rsplit("Method::").next().expect("Method::X").trim().to_owned();
            return Some((name, close + 1));
        }
        None
    };
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        if rest.starts_with("web::scope(\"") || rest.starts_with("web::resource(\"") {
            let is_scope = rest.starts_with("web::scope");
            let (path, next) = literal(i + rest.find('"').expect("quote") + 1);
            frames.push((depth, is_scope, path));
            depth += 1; // the call's own parenthesis
            i = next;
            continue;
        }
        assert!(!rest.starts_with("web::resource(") && !rest.starts_with("web::scope("), "non-literal path in mod.rs");
        assert!(!rest.starts_with("web::route()"), "web::route() is not understood by this test");
        if rest.starts_with(".route(\"") {
            let (path, next) = literal(i + ".route(\"".len());
            let method_pos = (next..bytes.len()).find(|&j| method_at(j).is_some()).expect("a method after .route(");
            let (method, _) = method_at(method_pos).expect("method");
            consumed.insert(method_pos);
            routes.insert((method, format!("{}{path}", prefix(&frames))));
            depth += 1;
            i = next;
            continue;
        }
        if let Some((method, len)) = method_at(i) {
            if !consumed.contains(&i) {
                let resource = frames.last().filter(|f| !f.1).unwrap_or_else(|| {
                    panic!("a method route outside web::resource near: {}", &code[i..(i + 80).min(code.len())])
                });
                routes.insert((method, format!("{}{}", prefix(&frames), resource.2)));
            }
            i += len;
            continue;
        }
        match bytes[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                // A scope or resource ends with the call it is an argument of.
                while frames.last().is_some_and(|f| depth < f.0) {
                    frames.pop();
                }
            }
            b'"' => {
                i = literal(i + 1).1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    routes
}

#[test]
fn every_route_has_a_matrix_entry_and_every_entry_a_route() {
    let table = routes_in_table();
    assert!(table.contains(&("POST".into(), "/api/v1/query".into())), "the reader found: {table:?}");
    assert!(table.contains(&("OPTIONS".into(), "/api/event".into())), "the reader found: {table:?}");
    let matrix: BTreeSet<(String, String)> = MATRIX.iter().map(|e| (e.method.to_owned(), e.path.to_owned())).collect();
    let missing: Vec<_> = table.difference(&matrix).collect();
    let stale: Vec<_> = matrix.difference(&table).collect();
    assert!(missing.is_empty(), "routes without an authorisation-matrix entry in tests/api/authz.rs: {missing:?}");
    assert!(stale.is_empty(), "matrix entries for routes that do not exist: {stale:?}");
    assert_eq!(matrix.len(), MATRIX.len(), "duplicate matrix entries");
}

const OWNER_EMAIL: &str = "owner@example.com";
const OTHER_EMAIL: &str = "other@example.com";
const PASSWORD: &str = "a long enough password";

/// The accounts of the matrix (ids): the owner (the instance's administrator), another tenant, and three
/// accounts that are members of every target site when it has members: a viewer, an admin and a bystander (a
/// viewer whom the people routes act on).
#[derive(Clone, Copy)]
struct Tenants {
    owner: i64,
    other: i64,
    viewer: i64,
    admin: i64,
    bystander: i64,
}

/// One target site owned by the owner, with a credential of every kind for it.
#[derive(Clone)]
struct Fixture {
    site: String,
    share_token: String,
    share_id: i64,
    stats_key: String,
    sites_key: String,
    events_key: String,
    events_key_id: i64,
    invitation_id: i64,
    invitation_token: String,
    reset_token: String,
    bystander: i64,
    owner: (String, String),
    other: (String, String),
    viewer: (String, String),
    admin: (String, String),
}

/// A fresh site of `t.owner`; `with_members`: the viewer, admin and bystander are its members.
async fn fixture(app: &TestApp, t: Tenants, with_members: bool) -> Fixture {
    let (owner_id, other_id) = (t.owner, t.other);
    let id = format!("m{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let site = sites::create_owned(
        &app.db,
        sites::NewSite { domain: DOMAIN, public_id: Some(&id), timezone: None },
        Some(owner_id),
    )
    .await
    .unwrap();
    let (link, share_token) = share_links::create(&app.db, site.id, "", None).await.unwrap();
    let stats_key = keys::create(&app.db, keys::Scope::StatsRead, Some(site.id)).await.unwrap();
    let sites_key = keys::create(&app.db, keys::Scope::SitesWrite, Some(site.id)).await.unwrap();
    let (events, events_key) = keys::create_with_info(&app.db, keys::Scope::EventsWrite, Some(site.id)).await.unwrap();
    let row = sites::find_model(&app.db, &site.public_id).await.unwrap().unwrap();
    if with_members {
        for (id, role) in [(t.viewer, Role::Viewer), (t.admin, Role::Admin), (t.bystander, Role::Viewer)] {
            let user = users::find(&app.db, id).await.unwrap().unwrap();
            members::add(&app.db, &row, &user, role).await.unwrap();
        }
    }
    let invitee = format!("invitee-{}@example.com", uuid::Uuid::new_v4().simple());
    let (invitation, invitation_token) = invitations::create(&app.db, site.id, &invitee, Role::Viewer).await.unwrap();
    let (reset_token, _) = password_resets::create(&app.db, t.bystander).await.unwrap();
    let hour = 3_600_000;
    let signed_in = |id| auth_sessions::create(&app.db, id, hour);
    let (owner, other) = (signed_in(owner_id).await.unwrap(), signed_in(other_id).await.unwrap());
    let (viewer, admin) = (signed_in(t.viewer).await.unwrap(), signed_in(t.admin).await.unwrap());
    Fixture {
        site: site.public_id,
        share_token,
        share_id: link.id,
        stats_key,
        sites_key,
        events_key,
        events_key_id: events.id,
        invitation_id: invitation.id,
        invitation_token,
        reset_token,
        bystander: t.bystander,
        owner: (csrf_of(app, &owner).await, owner),
        other: (csrf_of(app, &other).await, other),
        viewer: (csrf_of(app, &viewer).await, viewer),
        admin: (csrf_of(app, &admin).await, admin),
    }
}

fn fill(template: &str, path: &str, f: &Fixture) -> String {
    let id = if path.contains("/keys/") {
        f.events_key_id
    } else if path.contains("/invitations/") {
        f.invitation_id
    } else if path.contains("/users/{id}") {
        f.bystander
    } else {
        f.share_id
    };
    let token = if path.contains("/invitations/") {
        &f.invitation_token
    } else if path.contains("/password-reset/") {
        &f.reset_token
    } else {
        &f.share_token
    };
    let user_id = if path.contains("/members/") { f.bystander.to_string() } else { "someone".to_owned() };
    let filled = template
        .replace("{site}", &f.site)
        .replace("{id}", &id.to_string())
        .replace("{token}", token)
        .replace("{user_id}", &user_id)
        .replace("{path:.*}", "no-such-file.js")
        .replace("{file}", "no-such-file.js");
    assert!(!filled.contains('{') || template.starts_with('{'), "add a substitution for a placeholder in {template}");
    filled
}

async fn request(app: &TestApp, entry: &Entry, who: Who, f: &Fixture) -> (u16, String) {
    let method = reqwest::Method::from_bytes(entry.method.as_bytes()).unwrap();
    let mut url = format!("{}{}", app.address, fill(entry.path, entry.path, f));
    if let Some(query) = entry.query {
        url = format!("{url}?{}", fill(query, entry.path, f));
    }
    let mut req = app.client.request(method, url);
    if let Some(body) = entry.body {
        req = req.header("content-type", "application/json").body(fill(body, entry.path, f));
    }
    let signed_in = |req: reqwest::RequestBuilder, (csrf, cookie): &(String, String)| {
        req.header("cookie", format!("footfall_session={cookie}")).header("x-csrf-token", csrf)
    };
    req = match who {
        Anonymous => req,
        Share => req.header("authorization", format!("Share {}", f.share_token)),
        StatsKey => req.bearer_auth(&f.stats_key),
        SitesKey => req.bearer_auth(&f.sites_key),
        EventsKey => req.bearer_auth(&f.events_key),
        OtherAccount => signed_in(req, &f.other),
        Viewer => signed_in(req, &f.viewer),
        Admin => signed_in(req, &f.admin),
        Owner => signed_in(req, &f.owner),
    };
    let response = req.send().await.unwrap();
    let status = response.status().as_u16();
    // Streams (SSE) never end: only the first bytes of an answer are worth showing.
    let body = if status >= 300 { response.text().await.unwrap_or_default() } else { String::new() };
    (status, body.chars().take(200).collect())
}

/// A collector with the owner's and another account, both real tenants, and the three accounts that become
/// members of target sites.
async fn tenants(label: &str) -> (TestApp, Tenants) {
    let dir = temp_dir(label);
    let url = fresh_database(Db::Sqlite, &dir).await;
    let mut settings = settings(&url, Sessions::Memory, dir.join("data"));
    // The matrix itself sends many sign-ins and set-ups from one address; their limit has its own test.
    settings.limits.login_per_minute = 10_000;
    settings.limits.visitor_per_minute = 10_000;
    let app = spawn_app_with(settings).await;
    let owner = users::create(&app.db, OWNER_EMAIL, PASSWORD).await.unwrap();
    let other = users::create(&app.db, OTHER_EMAIL, PASSWORD).await.unwrap();
    let viewer = users::create(&app.db, "viewer@example.com", PASSWORD).await.unwrap();
    let admin = users::create(&app.db, "admin@example.com", PASSWORD).await.unwrap();
    let bystander = users::create(&app.db, "bystander@example.com", PASSWORD).await.unwrap();
    (app, Tenants { owner, other, viewer, admin, bystander })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_allows_exactly_whom_the_matrix_says() {
    let (app, t) = tenants("authz").await;
    users::create(&app.db, "third@example.com", "third account password").await.unwrap();
    // The other account owns a site of its own: it is a real tenant, not an empty one.
    sites::create_owned(
        &app.db,
        sites::NewSite { domain: "other.example", public_id: None, timezone: None },
        Some(t.other),
    )
    .await
    .unwrap();

    let mut failures = Vec::new();
    for entry in MATRIX {
        for who in EVERYONE {
            let f = fixture(&app, t, true).await;
            let (status, body) = request(&app, entry, who, &f).await;
            let allowed = entry.allowed.contains(&who);
            let ok = if status >= 500 {
                false
            } else if allowed {
                (200..400).contains(&status) || entry.also_ok.contains(&status)
            } else if who == Anonymous {
                status == 401
            } else {
                status == 403 || status == 404
            };
            if !ok {
                let expected = if allowed { "allowed" } else { "denied" };
                failures
                    .push(format!("{} {} as {who:?}: {status} {body}, expected {expected}", entry.method, entry.path));
            }
        }
    }
    assert!(failures.is_empty(), "authorisation matrix failures:\n{}", failures.join("\n"));
}

/// A credential for one site, or of one account, learns nothing about another site's existence: every route
/// that names a site answers it exactly as it answers an id no site has (same status, same body).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_credentials_cannot_tell_an_existing_site_from_an_unknown_one() {
    let (app, t) = tenants("authz-probe").await;
    let target = fixture(&app, t, false).await;
    // Every credential of another tenant: its account, its site's keys, share link, viewer and admin.
    let prober = fixture(&app, Tenants { owner: t.other, other: t.owner, ..t }, true).await;
    let aimed_at = |site: &str| Fixture { site: site.to_owned(), ..prober.clone() };
    let (existing, unknown) = (aimed_at(&target.site), aimed_at("zz-no-such-site"));
    let mut leaks = Vec::new();
    let names_a_site = |e: &&Entry| [Some(e.path), e.query, e.body].iter().flatten().any(|t| t.contains("{site}"));
    for entry in MATRIX.iter().filter(names_a_site) {
        for who in [Share, StatsKey, SitesKey, EventsKey, Viewer, Admin, Owner] {
            let on_existing = request(&app, entry, who, &existing).await;
            let on_unknown = request(&app, entry, who, &unknown).await;
            // A public endpoint's JSON may name the id it was asked about; nothing else may differ.
            let on_unknown = (on_unknown.0, on_unknown.1.replace("zz-no-such-site", &target.site));
            if on_existing != on_unknown {
                leaks.push(format!("{} {} as {who:?}: {on_existing:?} vs {on_unknown:?}", entry.method, entry.path));
            }
        }
    }
    assert!(leaks.is_empty(), "answers that tell an existing foreign site from an unknown one:\n{}", leaks.join("\n"));
}
