//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of every route, built from the code. Paths and
//! methods are this table, which a test holds equal to the route table in `mod.rs`; the query schema (metric,
//! dimension and filter names) comes from the query engine's own enums, so it cannot drift from what the
//! engine accepts.
use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use crate::query::model::{Dimension, Metric};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// `stats:read` key, share link (GET only) or the dashboard session of the owner or a member (any role).
    StatsRead,
    /// `sites:write` key or the dashboard session of the owner or an admin (with the CSRF header).
    SitesWrite,
    /// Anyone; an `events:write` key unlocks the trusted fields.
    Beacon,
    /// A signed-in dashboard user (for a site: its owner or an admin, unless the summary says otherwise).
    Account,
    /// The instance's administrator account, signed in.
    Administrator,
}

pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    /// Query parameters: (name, description).
    pub params: &'static [(&'static str, &'static str)],
}

const RANGE: (&str, &str) =
    ("date_range", "`[from, to]` as JSON or today, yesterday, 7d, 30d, month, year, all; default 30d");
const TZ: (&str, &str) = ("timezone", "IANA time zone; default: the site's");
const FILTERS: (&str, &str) = ("filters", "JSON list of [operator, dimension, [values]] as in the query API");
const PAGE: [(&str, &str); 2] = [("limit", "rows per page"), ("offset", "rows to skip")];

const fn doc(method: &'static str, path: &'static str, access: Access, summary: &'static str) -> RouteDoc {
    RouteDoc { method, path, summary, access, params: &[] }
}

pub const ROUTES: &[RouteDoc] = &[
    doc("POST", "/api/event", Access::Beacon, "Send one event or a batch of up to 50 (DESIGN.md §3); 202 when durable"),
    doc("OPTIONS", "/api/event", Access::Public, "CORS preflight for beacons"),
    doc(
        "GET",
        "/api/v1/auth/status",
        Access::Public,
        "Whether first-run set-up is needed, who is signed in, the CSRF header, and the principal: \
         {kind: account | key | share, scope?, site?} (a key's scope and site, null for all sites)",
    ),
    doc("POST", "/api/v1/auth/setup", Access::Public, "Create the first account (only while none exists) and sign in"),
    doc("POST", "/api/v1/auth/login", Access::Public, "Sign in: {email, password} → session cookie and CSRF token"),
    doc("POST", "/api/v1/auth/logout", Access::Account, "Sign out"),
    doc("GET", "/api/v1/sites", Access::StatsRead, "The sites this principal can see"),
    doc("POST", "/api/v1/sites", Access::SitesWrite, "Create a site: {domain, id?, timezone?}"),
    doc("GET", "/api/v1/sites/{site}", Access::StatsRead, "One site and its settings"),
    doc(
        "PATCH",
        "/api/v1/sites/{site}",
        Access::SitesWrite,
        "Change settings: allowed hostnames, timezone, retention, privacy, presence",
    ),
    doc("DELETE", "/api/v1/sites/{site}", Access::SitesWrite, "Delete a site and its data"),
    doc("GET", "/api/v1/sites/{site}/share-links", Access::SitesWrite, "The site's share links"),
    doc("POST", "/api/v1/sites/{site}/share-links", Access::SitesWrite, "Create a read-only share link"),
    doc("DELETE", "/api/v1/sites/{site}/share-links/{id}", Access::SitesWrite, "Revoke a share link"),
    doc(
        "GET",
        "/api/v1/sites/{site}/members",
        Access::Account,
        "The site's people: {members: [{user_id, email, role: owner | admin | viewer, since}], invitations: \
         [{id, email, role, created_at, expires_at}]}, the owner first",
    ),
    doc("PATCH", "/api/v1/sites/{site}/members/{user_id}", Access::Account, "Change a member's role: {role}"),
    doc(
        "DELETE",
        "/api/v1/sites/{site}/members/{user_id}",
        Access::Account,
        "Remove a member (owner and admins), or leave the site (any member, for themself)",
    ),
    doc(
        "POST",
        "/api/v1/sites/{site}/invitations",
        Access::Account,
        "Invite {email, role}: an existing account becomes a member ({member}); a new email gets a one-time \
         link valid 7 days ({invitation, url}, shown once)",
    ),
    doc("DELETE", "/api/v1/sites/{site}/invitations/{id}", Access::Account, "Revoke a pending invitation"),
    doc(
        "POST",
        "/api/v1/sites/{site}/transfer",
        Access::Account,
        "The owner gives the site to an existing account {email}; the old owner stays as an admin",
    ),
    doc(
        "GET",
        "/api/v1/invitations/{token}",
        Access::Public,
        "What an invitation link is for: {site, role, email, expires_at, account_exists}; 404 once used or expired",
    ),
    doc(
        "POST",
        "/api/v1/invitations/{token}/accept",
        Access::Public,
        "Accept an invitation {password}: creates the invited account (or checks its password), joins, signs in",
    ),
    doc(
        "POST",
        "/api/v1/account/password",
        Access::Account,
        "Change the signed-in account's password {current, new}; ends its other sign-ins",
    ),
    doc("GET", "/api/v1/users", Access::Administrator, "The instance's accounts: {users: [{id, email, is_admin}]}"),
    doc(
        "POST",
        "/api/v1/users/{id}/reset-link",
        Access::Administrator,
        "A one-time password reset link for an account, valid one hour: {url, expires_at}",
    ),
    doc(
        "POST",
        "/api/v1/password-reset/{token}",
        Access::Public,
        "Set a password with a reset link {password}; ends the account's sign-ins",
    ),
    doc("GET", "/api/v1/keys", Access::Account, "API keys (prefix, scope, site; never the key)"),
    doc("POST", "/api/v1/keys", Access::Account, "Create an API key {scope, site?}; shown once"),
    doc("DELETE", "/api/v1/keys/{id}", Access::Account, "Revoke an API key"),
    doc("POST", "/api/v1/query", Access::StatsRead, "Stats query (body: the Query schema)"),
    RouteDoc {
        params: &[
            ("site", "site id"),
            ("metrics", "comma-separated or JSON list"),
            RANGE,
            TZ,
            ("dimensions", "comma-separated or JSON list"),
            FILTERS,
            ("order_by", "JSON list of [name, asc|desc]"),
            ("limit", "rows (1–10000)"),
            ("offset", "rows to skip"),
            ("compare", "previous_period"),
        ],
        ..doc("GET", "/api/v1/query", Access::StatsRead, "Stats query with the same fields as query parameters")
    },
    RouteDoc {
        params: &[RANGE],
        ..doc(
            "GET",
            "/api/v1/sites/{site}/bots",
            Access::StatsRead,
            "Bot ledger: dropped traffic by UTC day, reason and signature",
        )
    },
    RouteDoc {
        params: &[RANGE, TZ, FILTERS, ("format", "csv")],
        ..doc("GET", "/api/v1/sites/{site}/export", Access::StatsRead, "Raw events as CSV (formula-injection escaped)")
    },
    doc(
        "GET",
        "/api/v1/sites/{site}/users/{user_id}",
        Access::StatsRead,
        "Everything stored about one identified user",
    ),
    doc("DELETE", "/api/v1/sites/{site}/users/{user_id}", Access::SitesWrite, "Erase one identified user's data"),
    RouteDoc {
        params: &[RANGE, TZ, FILTERS, PAGE[0], PAGE[1]],
        ..doc("GET", "/api/v1/sites/{site}/sessions", Access::StatsRead, "Sessions started in a range, newest first")
    },
    doc(
        "GET",
        "/api/v1/sites/{site}/sessions/{id}",
        Access::StatsRead,
        "One session: attributes, engagement score, timeline, insights",
    ),
    RouteDoc {
        params: &[RANGE, TZ, FILTERS],
        ..doc(
            "GET",
            "/api/v1/sites/{site}/conversions",
            Access::StatsRead,
            "Anonymous → identified conversions with attribution",
        )
    },
    doc(
        "GET",
        "/api/v1/sites/{site}/realtime",
        Access::StatsRead,
        "Visitors of the last 5 minutes per site, page and group",
    ),
    doc(
        "GET",
        "/api/v1/sites/{site}/realtime/stream",
        Access::StatsRead,
        "The same as Server-Sent Events, pushed on change",
    ),
    RouteDoc {
        params: &[("site", "site id"), ("page", "a path"), ("group", "a page group")],
        ..doc("GET", "/api/v1/presence", Access::Public, "Public, opt-in per site: {visitors} on a page or group")
    },
    RouteDoc {
        params: &[("site", "site id")],
        ..doc(
            "GET",
            "/api/v1/visitors/session/current",
            Access::Public,
            "Public, opt-in per site: what is stored about the caller's own visit",
        )
    },
    RouteDoc {
        params: &[("site", "site id")],
        ..doc(
            "DELETE",
            "/api/v1/visitors/session/current",
            Access::Public,
            "Public, opt-in per site: forget the caller's own visit",
        )
    },
    doc("OPTIONS", "/api/v1/visitors/session/current", Access::Public, "CORS preflight for forgetting a visit"),
    RouteDoc {
        params: &[("site", "site id")],
        ..doc(
            "GET",
            "/api/v1/visitors/session/current/",
            Access::Public,
            "Public, opt-in per site: what is stored about the caller's own visit",
        )
    },
    RouteDoc {
        params: &[("site", "site id")],
        ..doc(
            "DELETE",
            "/api/v1/visitors/session/current/",
            Access::Public,
            "Public, opt-in per site: forget the caller's own visit",
        )
    },
    doc("OPTIONS", "/api/v1/visitors/session/current/", Access::Public, "CORS preflight for forgetting a visit"),
    doc("GET", "/api/v1/openapi.json", Access::Public, "This document"),
    doc("GET", "/", Access::Public, "The dashboard"),
    doc("GET", "/share/{token}", Access::Public, "The dashboard, read-only through a share link"),
    doc("GET", "/assets/{path}", Access::Public, "Dashboard files"),
    doc("GET", "/t.js", Access::Public, "The tracker loader"),
    doc("GET", "/tracker/{file}", Access::Public, "Tracker bundle files (content-hashed, immutable)"),
    doc("GET", "/healthz", Access::Public, "Process up"),
    doc("GET", "/readyz", Access::Public, "SQL, Redis and spool usable"),
    doc("GET", "/metrics", Access::Public, "Prometheus metrics"),
];

fn security(access: Access) -> Value {
    match access {
        Access::Public | Access::Beacon => json!([]),
        Access::StatsRead => json!([{"bearer": []}, {"share": []}, {"cookie": []}]),
        Access::SitesWrite => json!([{"bearer": []}, {"cookie": [], "csrf": []}]),
        Access::Account | Access::Administrator => json!([{"cookie": [], "csrf": []}]),
    }
}

fn operation(route: &RouteDoc) -> Value {
    let mut params: Vec<Value> = Vec::new();
    let mut rest = route.path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c).unwrap_or(rest.len());
        let name = &rest[open + 1..close];
        params.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
        rest = &rest[close..];
    }
    for (name, description) in route.params {
        params.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}}));
    }
    let mut op = json!({
        "summary": route.summary,
        "parameters": params,
        "security": security(route.access),
        "responses": {
            "2XX": {"description": "success"},
            "default": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    });
    if route.path == "/api/v1/query" && route.method == "POST" {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Query"}}}});
    }
    op
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let item = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        item[route.method.to_ascii_lowercase()] = operation(route);
    }
    let metrics: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
    let dimensions: Vec<&str> = Dimension::ALL.iter().map(|d| d.name()).collect();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Footfall", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Self-hosted, privacy-first web analytics. Metric definitions: README and API.md."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API key (stats:read, sites:write, events:write)"},
                "share": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`Share <token>`: read-only, one site, GET only"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "footfall_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
                    "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Query": {"type": "object", "required": ["site", "metrics"], "additionalProperties": false, "properties": {
                    "site": {"type": "string"},
                    "metrics": {"type": "array", "minItems": 1, "items": {"enum": metrics}},
                    "date_range": {"default": "30d", "oneOf": [
                        {"enum": ["today", "yesterday", "7d", "30d", "month", "year", "all"]},
                        {"type": "array", "items": {"type": "string", "format": "date"}, "minItems": 2, "maxItems": 2}]},
                    "timezone": {"type": "string", "description": "IANA time zone"},
                    "dimensions": {"type": "array", "maxItems": 3, "items": {"enum": dimensions}},
                    "filters": {"type": "array", "items": {"type": "array", "prefixItems": [
                        {"enum": ["is", "is_not", "contains", "not_contains"]},
                        {"enum": dimensions},
                        {"type": "array", "items": {"type": "string"}}]}},
                    "order_by": {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "string"}, {"enum": ["asc", "desc"]}]}},
                    "limit": {"type": "integer", "minimum": 1, "maximum": crate::query::MAX_LIMIT},
                    "offset": {"type": "integer", "minimum": 0},
                    "compare": {"enum": ["previous_period"]},
                }},
            },
        },
    })
}

pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}
