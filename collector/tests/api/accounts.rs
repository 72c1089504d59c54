//! Accounts, sign-in and the management API: first-run set-up, login/logout, the cookie's flags, CSRF, login
//! and API rate limits, share links, keys, site settings, and one account not seeing another's sites.
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

use footfall::store::{sites, users};

use crate::helpers::*;
use crate::on_every_backend;

const PASSWORD: &str = "correct horse battery";

/// A signed-in browser: the session cookie's value and the CSRF token from the login answer.
struct Browser {
    cookie: String,
    csrf: String,
}

fn set_cookie(response: &Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("footfall_session="))
        .expect("a footfall_session cookie")
}

fn cookie_value(header: &str) -> String {
    header.split(';').next().unwrap().trim_start_matches("footfall_session=").to_owned()
}

impl TestApp {
    fn api(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.address))
    }

    async fn login(&self, email: &str, password: &str) -> Response {
        self.api(Method::POST, "/api/v1/auth/login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    async fn browser(&self, email: &str, password: &str) -> Browser {
        let response = self.login(email, password).await;
        assert_eq!(response.status(), 200);
        let cookie = cookie_value(&set_cookie(&response));
        let body: Value = response.json().await.unwrap();
        Browser { cookie, csrf: body["csrf_token"].as_str().unwrap().to_owned() }
    }

    /// A request with the browser's cookie and its CSRF header.
    fn as_browser(&self, browser: &Browser, method: Method, path: &str) -> RequestBuilder {
        self.api(method, path)
            .header("cookie", format!("footfall_session={}", browser.cookie))
            .header("x-csrf-token", &browser.csrf)
    }
}

/// Sends raw bytes on a fresh connection and returns what the server said within `wait`.
async fn raw_exchange(address: &str, bytes: &[u8], wait: std::time::Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address.trim_start_matches("http://")).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(wait, stream.read(&mut answer)).await.unwrap_or(Ok(0)).unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

async fn json_of(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn first_run_setup_happens_once_and_signs_in(db: Db, sessions: Sessions) {
    let app = spawn_app(db, sessions).await;
    let (status, body) = json_of(app.api(Method::GET, "/api/v1/auth/status").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"setup_required": true, "user": null, "principal": null, "csrf_header": "X-CSRF-Token", "csrf_token": null})
    );
    let weak =
        app.api(Method::POST, "/api/v1/auth/setup").json(&json!({"email": "a@example.com", "password": "short"}));
    assert_eq!(json_of(weak.send().await.unwrap()).await.0, 400);

    let response = app
        .api(Method::POST, "/api/v1/auth/setup")
        .json(&json!({"email": "Admin@Example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let cookie = set_cookie(&response);
    let (_, body) = json_of(response).await;
    assert_eq!(body["user"], json!({"email": "admin@example.com"}));
    assert_eq!(body["csrf_header"], "X-CSRF-Token");
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();

    // The set-up signed in: status names the user and repeats the same CSRF token.
    let (_, status) = json_of(
        app.api(Method::GET, "/api/v1/auth/status")
            .header("cookie", format!("footfall_session={}", cookie_value(&cookie)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status["setup_required"], false);
    assert_eq!(status["user"]["email"], "admin@example.com");
    assert_eq!(status["csrf_token"], csrf.as_str());

    let again = app
        .api(Method::POST, "/api/v1/auth/setup")
        .json(&json!({"email": "intruder@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(again).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("setup_done")));
    assert_eq!(app.count("users").await, 1);

    // The administrator owns the sites made without an owner (the test app's site, made like the CLI does).
    let browser = Browser { cookie: cookie_value(&cookie), csrf };
    let (_, listed) = json_of(app.as_browser(&browser, Method::GET, "/api/v1/sites").send().await.unwrap()).await;
    assert_eq!(listed["sites"][0]["id"], app.site.as_str());
}
on_every_backend!(first_run_setup_happens_once_and_signs_in);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_made_with_the_cli_signs_in_and_out_with_the_cookie_rules() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let env = [
        ("FOOTFALL_DATABASE_URL".to_owned(), app.database_url.clone()),
        ("FOOTFALL_SECRET_KEY".to_owned(), SECRET.to_owned()),
        ("FOOTFALL_DATA_DIR".to_owned(), temp_dir("cli-user").display().to_string()),
    ];
    let mut child = footfall_command(&env)
        .args(["user", "add", "cli@example.com", "--password-stdin"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(child.wait().unwrap().success());

    let (status, body) = json_of(app.login("cli@example.com", "wrong password!").await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")));
    let (status, _) = json_of(app.login("nobody@example.com", PASSWORD).await).await;
    assert_eq!(status, 401);

    let response = app.login("CLI@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let header = set_cookie(&response);
    let attributes: Vec<String> = header.split(';').skip(1).map(|a| a.trim().to_ascii_lowercase()).collect();
    for wanted in ["httponly", "samesite=strict", "path=/"] {
        assert!(attributes.iter().any(|a| a == wanted), "{wanted} missing in {header}");
    }
    assert!(!attributes.iter().any(|a| a == "secure"), "plain HTTP without a TLS proxy: no Secure ({header})");
    let body: Value = response.json().await.unwrap();
    let browser = Browser { cookie: cookie_value(&header), csrf: body["csrf_token"].as_str().unwrap().to_owned() };
    assert_eq!(body["csrf_header"], "X-CSRF-Token");
    // Only a hash of the cookie is stored.
    assert_eq!(app.count(&format!("auth_sessions WHERE token_hash = '{}'", browser.cookie)).await, 0);
    assert_eq!(app.count("auth_sessions").await, 1);

    // Behind a trusted proxy that says HTTPS, the cookie is Secure.
    let via_tls = app
        .api(Method::POST, "/api/v1/auth/login")
        .header("x-forwarded-proto", "https")
        .json(&json!({"email": "cli@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(set_cookie(&via_tls).to_ascii_lowercase().contains("; secure"));

    // Reads need no CSRF token; writes do, and only the right one passes.
    let read = app.api(Method::GET, "/api/v1/sites").header("cookie", format!("footfall_session={}", browser.cookie));
    assert_eq!(read.send().await.unwrap().status(), 200);
    let site = json!({"domain": "https://Blog.Example.net/welcome"});
    let no_csrf = app
        .api(Method::POST, "/api/v1/sites")
        .header("cookie", format!("footfall_session={}", browser.cookie))
        .json(&site);
    let (status, body) = json_of(no_csrf.send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("csrf_required")));
    let wrong = app
        .api(Method::POST, "/api/v1/sites")
        .header("cookie", format!("footfall_session={}", browser.cookie))
        .header("x-csrf-token", "0".repeat(64))
        .json(&site);
    assert_eq!(wrong.send().await.unwrap().status(), 403);
    let (status, created) =
        json_of(app.as_browser(&browser, Method::POST, "/api/v1/sites").json(&site).send().await.unwrap()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["domain"], "blog.example.net", "a pasted address is cleaned to its domain");
    assert_eq!(app.count("sites").await, 2);

    // Logout is a write too; afterwards the cookie is worthless.
    let no_csrf =
        app.api(Method::POST, "/api/v1/auth/logout").header("cookie", format!("footfall_session={}", browser.cookie));
    assert_eq!(no_csrf.send().await.unwrap().status(), 403);
    let out = app.as_browser(&browser, Method::POST, "/api/v1/auth/logout").send().await.unwrap();
    assert_eq!(out.status(), 204);
    assert!(set_cookie(&out).to_ascii_lowercase().contains("max-age=0"));
    let stale = app.api(Method::GET, "/api/v1/sites").header("cookie", format!("footfall_session={}", browser.cookie));
    assert_eq!(stale.send().await.unwrap().status(), 401);
    let (_, status) = json_of(
        app.api(Method::GET, "/api/v1/auth/status")
            .header("cookie", format!("footfall_session={}", browser.cookie))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status["user"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_are_limited_per_client_address_before_the_body_is_read() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    users::create(&app.db, "victim@example.com", PASSWORD).await.unwrap();
    let attempt = |email: &str, ip: &str| {
        app.api(Method::POST, "/api/v1/auth/login")
            .header("x-forwarded-for", ip)
            .json(&json!({"email": email, "password": "guess"}))
            .send()
    };
    // One address trying many emails: five a minute, then 429 with a wait.
    for n in 0..5 {
        assert_eq!(attempt(&format!("user{n}@example.com"), "203.0.113.50").await.unwrap().status(), 401);
    }
    let refused = attempt("someone-else@example.com", "203.0.113.50").await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(json_of(refused).await.1["error"]["code"], "rate_limited");
    // The refusal does not wait for a body: a head that announces one and sends nothing is answered at once.
    let head = "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.50\r\n\
                Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n";
    let answer = raw_exchange(&app.address, head.as_bytes(), std::time::Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 429"), "answered before any body byte: {answer:?}");
    // The set-up is counted the same way.
    let setup = app
        .api(Method::POST, "/api/v1/auth/setup")
        .header("x-forwarded-for", "203.0.113.50")
        .json(&json!({"email": "x@example.com", "password": PASSWORD}));
    assert_eq!(setup.send().await.unwrap().status(), 429);

    // A client on a private network behind the trusted proxy cannot pose as fresh addresses: the first hop
    // that is not a trusted proxy is the client, whatever it wrote to its left.
    for n in 0..5 {
        let posing = format!("6.6.7.{n}, 10.1.2.3");
        assert_eq!(attempt("victim@example.com", &posing).await.unwrap().status(), 401);
    }
    assert_eq!(attempt("victim@example.com", "6.6.7.99, 10.1.2.3").await.unwrap().status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_can_lock_the_owner_out_of_a_browser_the_owner_signed_in_from() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    users::create(&app.db, "owner@example.com", PASSWORD).await.unwrap();
    let login = |password: &str, ip: &str, device: Option<&str>| {
        let mut request = app
            .api(Method::POST, "/api/v1/auth/login")
            .header("x-forwarded-for", ip)
            .json(&json!({"email": "owner@example.com", "password": password}));
        if let Some(device) = device {
            request = request.header("cookie", device.to_owned());
        }
        request.send()
    };
    // The owner signed in once from this browser and kept its device cookie.
    let first = login(PASSWORD, "198.51.100.7", None).await.unwrap();
    assert_eq!(first.status(), 200);
    let device = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("footfall_device="))
        .expect("a device cookie");
    assert!(device.contains("HttpOnly") && device.contains("SameSite=Strict"), "{device}");
    let device = device.split(';').next().unwrap().to_owned();

    // An attacker fails on purpose from many addresses, five a minute each: far past what used to lock the
    // account (five a minute per email from anywhere).
    for n in 0..40 {
        let status = login("guess", &format!("203.0.113.{n}"), None).await.unwrap().status();
        assert!(status == 401 || status == 429, "{status}");
    }
    // Strangers' browsers are slowed down for this email now…
    assert_eq!(login(PASSWORD, "192.0.2.200", None).await.unwrap().status(), 429);
    // …but the owner's own browser signs in, from its usual address and from a new one.
    assert_eq!(login(PASSWORD, "198.51.100.7", Some(&device)).await.unwrap().status(), 200);
    assert_eq!(login(PASSWORD, "192.0.2.201", Some(&device)).await.unwrap().status(), 200);
    // A device cookie is worth nothing for another email, nor forged.
    assert_eq!(login(PASSWORD, "192.0.2.202", Some("footfall_device=00ff")).await.unwrap().status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_requests_are_limited_per_key_share_link_and_user() {
    let dir = temp_dir("api-limit");
    let url = fresh_database(Db::Sqlite, &dir).await;
    let mut env_settings = settings(&url, Sessions::Memory, dir.join("data"));
    env_settings.limits.api_per_hour = 3;
    env_settings.limits.dashboard_per_hour = 5;
    let app = spawn_app_with(env_settings).await;
    let query = json!({"site": app.site, "metrics": ["visitors"], "date_range": "7d"});
    for _ in 0..3 {
        assert_eq!(app.query(query.clone()).await.0, 200);
    }
    let bots = format!("/api/v1/sites/{}/bots", app.site);
    let refused = app.api(Method::GET, &bots).bearer_auth(&app.stats_key).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    // Three an hour: one comes back every 20 minutes.
    assert!((1..=1200).contains(&wait), "Retry-After {wait}");
    assert_eq!(refused.headers()["content-type"], "application/json");
    assert_eq!(json_of(refused).await.1["error"]["code"], "rate_limited");
    // Management spends the same budget: `GET /api/v1/sites/{id}` unlimited let a credential probe site ids.
    let settings = app.api(Method::GET, &format!("/api/v1/sites/{}", app.site)).bearer_auth(&app.stats_key);
    assert_eq!(settings.send().await.unwrap().status(), 429);

    // Share links and dashboard users have budgets of their own.
    let id = users::create(&app.db, "owner@example.com", PASSWORD).await.unwrap();
    assert!(id > 0);
    let browser = app.browser("owner@example.com", PASSWORD).await;
    let (_, link) = json_of(
        app.as_browser(&browser, Method::POST, &format!("/api/v1/sites/{}/share-links", app.site))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = link["token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let shared = app.api(Method::GET, &bots).header("authorization", format!("Share {token}"));
        assert_eq!(shared.send().await.unwrap().status(), 200);
    }
    let shared = app.api(Method::GET, &bots).header("authorization", format!("Share {token}"));
    assert_eq!(shared.send().await.unwrap().status(), 429);
    // Making the share link spent one of the user's five.
    for _ in 0..4 {
        assert_eq!(app.as_browser(&browser, Method::GET, &bots).send().await.unwrap().status(), 200);
    }
    assert_eq!(app.as_browser(&browser, Method::GET, &bots).send().await.unwrap().status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_links_read_one_site_and_change_nothing() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    users::create(&app.db, "owner@example.com", PASSWORD).await.unwrap();
    let browser = app.browser("owner@example.com", PASSWORD).await;
    let links = format!("/api/v1/sites/{}/share-links", app.site);
    let (status, link) = json_of(
        app.as_browser(&browser, Method::POST, &links).json(&json!({"label": "Team board"})).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{link}");
    let token = link["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("ffs_"));
    assert_eq!(link["url"], format!("/share/{token}"));
    assert_eq!(link["label"], "Team board");
    // The page the link opens is served (by the dashboard).
    assert_eq!(app.api(Method::GET, &format!("/share/{token}")).send().await.unwrap().status(), 200);
    // Listed without the token.
    let (_, listed) = json_of(app.as_browser(&browser, Method::GET, &links).send().await.unwrap()).await;
    assert_eq!(listed["share_links"].as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&token));

    let share = |method: Method, path: &str| app.api(method, path).header("authorization", format!("Share {token}"));
    let site_path = format!("/api/v1/sites/{}", app.site);
    let query = format!("/api/v1/query?site={}&metrics=visitors&date_range=7d", app.site);
    assert_eq!(share(Method::GET, &query).send().await.unwrap().status(), 200);
    assert_eq!(share(Method::GET, &format!("{site_path}/bots")).send().await.unwrap().status(), 200);
    let (_, site) = json_of(share(Method::GET, &site_path).send().await.unwrap()).await;
    assert_eq!(site["id"], app.site.as_str());
    let (_, visible) = json_of(share(Method::GET, "/api/v1/sites").send().await.unwrap()).await;
    assert_eq!(visible["sites"].as_array().unwrap().len(), 1);

    let body = json!({"site": app.site, "metrics": ["visitors"], "date_range": "7d"});
    for (method, path, body) in [
        (Method::POST, "/api/v1/query".to_owned(), body),
        (Method::PATCH, site_path.clone(), json!({"timezone": "Europe/Paris"})),
        (Method::DELETE, site_path.clone(), Value::Null),
        (Method::POST, links.clone(), json!({})),
        (Method::POST, "/api/v1/keys".to_owned(), json!({"scope": "stats:read", "site": app.site})),
        (Method::POST, "/api/v1/sites".to_owned(), json!({"domain": "x.example"})),
    ] {
        let (status, answer) = json_of(share(method.clone(), &path).json(&body).send().await.unwrap()).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
    }
    assert_eq!(app.count("sites").await, 1);
    assert_eq!(app.count("share_links").await, 1);

    // Another site is out of reach, answered as if it did not exist.
    let other =
        sites::create(&app.db, sites::NewSite { domain: "b.example", public_id: None, timezone: None }).await.unwrap();
    let other_query = format!("/api/v1/query?site={}&metrics=visitors&date_range=7d", other.public_id);
    assert_eq!(share(Method::GET, &other_query).send().await.unwrap().status(), 404);

    // Revoked: refused at once on this collector.
    let id = link["id"].as_i64().unwrap();
    let revoke = app.as_browser(&browser, Method::DELETE, &format!("{links}/{id}"));
    assert_eq!(revoke.send().await.unwrap().status(), 204);
    assert_eq!(share(Method::GET, &query).send().await.unwrap().status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_sees_and_touches_only_its_own_sites() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    users::create(&app.db, "admin@example.com", PASSWORD).await.unwrap();
    users::create(&app.db, "second@example.com", PASSWORD).await.unwrap();
    let admin = app.browser("admin@example.com", PASSWORD).await;
    let second = app.browser("second@example.com", PASSWORD).await;
    let ids = |v: &Value| -> Vec<String> {
        v["sites"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
    };
    // The CLI-made site belongs to the administrator (the first account) only.
    let (_, listed) = json_of(app.as_browser(&admin, Method::GET, "/api/v1/sites").send().await.unwrap()).await;
    assert_eq!(ids(&listed), vec![app.site.clone()]);
    let (_, listed) = json_of(app.as_browser(&second, Method::GET, "/api/v1/sites").send().await.unwrap()).await;
    assert!(ids(&listed).is_empty());

    let (status, mine) = json_of(
        app.as_browser(&second, Method::POST, "/api/v1/sites")
            .json(&json!({"domain": "second.example", "id": "second-site", "timezone": "Asia/Tokyo"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{mine}");
    assert_eq!(mine["timezone"], "Asia/Tokyo");
    let (_, listed) = json_of(app.as_browser(&second, Method::GET, "/api/v1/sites").send().await.unwrap()).await;
    assert_eq!(ids(&listed), vec!["second-site".to_owned()]);
    let (_, listed) = json_of(app.as_browser(&admin, Method::GET, "/api/v1/sites").send().await.unwrap()).await;
    assert_eq!(ids(&listed), vec![app.site.clone()]);

    // Nothing of the other account's site is reachable, in either direction, and its existence does not show:
    // the answer is the one for a site that does not exist.
    let admin_site = format!("/api/v1/sites/{}", app.site);
    let unknown_site = "/api/v1/sites/no-such-site".to_owned();
    for (method, path, unknown) in [
        (Method::GET, admin_site.clone(), unknown_site.clone()),
        (Method::PATCH, admin_site.clone(), unknown_site.clone()),
        (Method::DELETE, admin_site.clone(), unknown_site.clone()),
        (Method::GET, format!("{admin_site}/bots"), format!("{unknown_site}/bots")),
        (Method::GET, format!("{admin_site}/share-links"), format!("{unknown_site}/share-links")),
        (
            Method::GET,
            format!("/api/v1/query?site={}&metrics=visitors&date_range=7d", app.site),
            "/api/v1/query?site=no-such-site&metrics=visitors&date_range=7d".to_owned(),
        ),
    ] {
        let foreign = json_of(app.as_browser(&second, method.clone(), &path).json(&json!({})).send().await.unwrap());
        let missing = json_of(app.as_browser(&second, method.clone(), &unknown).json(&json!({})).send().await.unwrap());
        let (foreign, missing) = (foreign.await, missing.await);
        assert_eq!(foreign.0, 404, "{method} {path}: {}", foreign.1);
        assert_eq!(foreign, missing, "{method} {path} answers like a site that does not exist");
    }
    let status = app.as_browser(&admin, Method::GET, "/api/v1/sites/second-site").send().await.unwrap().status();
    assert_eq!(status, 404);
    let key_for_admin_site = json!({"scope": "stats:read", "site": app.site});
    let status =
        app.as_browser(&second, Method::POST, "/api/v1/keys").json(&key_for_admin_site).send().await.unwrap().status();
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_shown_once_listed_without_secret_and_revoked_at_once() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    users::create(&app.db, "owner@example.com", PASSWORD).await.unwrap();
    let owner = app.browser("owner@example.com", PASSWORD).await;
    let (status, body) = json_of(
        app.as_browser(&owner, Method::POST, "/api/v1/keys")
            .json(&json!({"scope": "stats:read"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("site_required")));
    let (status, body) = json_of(
        app.as_browser(&owner, Method::POST, "/api/v1/keys")
            .json(&json!({"scope": "stats:everything", "site": app.site}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_scope")));

    let (status, created) = json_of(
        app.as_browser(&owner, Method::POST, "/api/v1/keys")
            .json(&json!({"scope": "stats:read", "site": app.site}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(created["scope"], "stats:read");
    assert_eq!(created["site"], app.site.as_str());
    assert!(key.starts_with(created["prefix"].as_str().unwrap()));

    let query = format!("/api/v1/query?site={}&metrics=visitors&date_range=7d", app.site);
    assert_eq!(app.api(Method::GET, &query).bearer_auth(&key).send().await.unwrap().status(), 200);
    let (_, listed) = json_of(app.as_browser(&owner, Method::GET, "/api/v1/keys").send().await.unwrap()).await;
    assert!(!listed.to_string().contains(&key), "the list never shows a key");
    let mine: Vec<&Value> = listed["keys"].as_array().unwrap().iter().filter(|k| k["id"] == created["id"]).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["site"], app.site.as_str());
    // The test app's instance-wide keys are the operator's, not listed for an account.
    assert!(listed["keys"].as_array().unwrap().iter().all(|k| k["site"] == app.site.as_str()));
    app.wait_until_key_used(created["id"].as_i64().unwrap()).await;

    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        app.as_browser(&owner, Method::DELETE, &format!("/api/v1/keys/{id}")).send().await.unwrap().status(),
        204
    );
    assert_eq!(app.api(Method::GET, &query).bearer_auth(&key).send().await.unwrap().status(), 401);
    assert_eq!(
        app.as_browser(&owner, Method::DELETE, &format!("/api/v1/keys/{id}")).send().await.unwrap().status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_names_who_is_asking_so_the_dashboard_offers_only_what_they_may_do() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    users::create(&app.db, "owner@example.com", PASSWORD).await.unwrap();
    let status = "/api/v1/auth/status";
    let (_, nobody) = json_of(app.api(Method::GET, status).send().await.unwrap()).await;
    assert_eq!(nobody["principal"], Value::Null);

    let owner = app.browser("owner@example.com", PASSWORD).await;
    let (_, signed_in) = json_of(app.as_browser(&owner, Method::GET, status).send().await.unwrap()).await;
    assert_eq!(signed_in["principal"], json!({"kind": "account"}));

    let (_, created) = json_of(
        app.as_browser(&owner, Method::POST, "/api/v1/keys")
            .json(&json!({"scope": "sites:write", "site": app.site}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let site_key = created["key"].as_str().unwrap();
    let (code, as_key) = json_of(app.api(Method::GET, status).bearer_auth(site_key).send().await.unwrap()).await;
    assert_eq!(code, 200);
    assert_eq!(as_key["principal"], json!({"kind": "key", "scope": "sites:write", "site": app.site}));
    assert_eq!(as_key["user"], Value::Null, "a key is nobody's sign-in");
    // The operator's key from `footfall key add` reaches every site.
    let (_, instance) = json_of(app.api(Method::GET, status).bearer_auth(&app.stats_key).send().await.unwrap()).await;
    assert_eq!(instance["principal"], json!({"kind": "key", "scope": "stats:read", "site": null}));

    let (_, link) = json_of(
        app.as_browser(&owner, Method::POST, &format!("/api/v1/sites/{}/share-links", app.site))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let token = link["token"].as_str().unwrap();
    let (_, shared) =
        json_of(app.api(Method::GET, status).header("authorization", format!("Share {token}")).send().await.unwrap())
            .await;
    assert_eq!(shared["principal"], json!({"kind": "share", "site": app.site}));

    let (code, wrong) = json_of(app.api(Method::GET, status).bearer_auth("ff_not_a_key").send().await.unwrap()).await;
    assert_eq!((code, wrong["error"]["code"].as_str()), (401, Some("unauthorized")));
}

impl TestApp {
    async fn wait_until_key_used(&self, id: i64) {
        let used = format!("api_keys WHERE id = {id} AND last_used_at IS NOT NULL");
        wait_until(std::time::Duration::from_secs(5), || async { self.count(&used).await == 1 }).await;
        assert_eq!(self.count(&used).await, 1, "last_used_at recorded");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_settings_are_validated_and_apply_at_once() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    users::create(&app.db, "owner@example.com", PASSWORD).await.unwrap();
    let owner = app.browser("owner@example.com", PASSWORD).await;
    let site_path = format!("/api/v1/sites/{}", app.site);
    let patch = |body: Value| app.as_browser(&owner, Method::PATCH, &site_path).json(&body).send();

    for bad in [
        json!({"timezone": "Mars/Olympus"}),
        json!({"retention_days": 0}),
        json!({"allowed_hostnames": ["<script>"]}),
        json!({"allowed_hostnames": ["a..b"]}),
        json!({"surprise": true}),
        json!({"respect_dnt": "yes"}),
    ] {
        let (status, body) = json_of(patch(bad.clone()).await.unwrap()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // A page on another host is dropped as `hostname` until the host is allowed; then it counts at once.
    let foreign = json!({"site": app.site, "type": "pageview", "url": "https://shop.example.net/cart"});
    assert_eq!(app.send(&foreign).await.headers()["x-footfall-drop"], "hostname");
    let (status, updated) = json_of(
        patch(json!({
            "allowed_hostnames": ["Shop.Example.net", "*.cdn.example.org"],
            "timezone": "Europe/Paris",
            "retention_days": 30,
        }))
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["allowed_hostnames"], json!(["shop.example.net", "*.cdn.example.org"]));
    assert_eq!(updated["timezone"], "Europe/Paris");
    assert_eq!(updated["retention_days"], 30);
    let accepted = app.send(&foreign).await;
    assert_eq!(accepted.status(), 202);
    assert!(accepted.headers().get("x-footfall-drop").is_none());

    // Creating: validated, and ids are unique.
    let create = |body: Value| app.as_browser(&owner, Method::POST, "/api/v1/sites").json(&body).send();
    for bad in [
        json!({"domain": "not a domain"}),
        json!({"domain": "-bad-.example"}),
        json!({"domain": "ok.example", "timezone": "Nowhere/Land"}),
        json!({"domain": "ok.example", "id": "has space"}),
        json!({}),
    ] {
        let (status, body) = json_of(create(bad.clone()).await.unwrap()).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, _) = json_of(create(json!({"domain": "ok.example", "id": app.site})).await.unwrap()).await;
    assert_eq!(status, 409);

    // Deleting removes the site, its data and its keys; beacons for it are dropped at once.
    assert_eq!(app.send(&pageview(&app.site, "/")).await.status(), 202);
    app.wait_for_events(2).await;
    assert_eq!(app.as_browser(&owner, Method::DELETE, &site_path).send().await.unwrap().status(), 204);
    assert_eq!(app.as_browser(&owner, Method::GET, &site_path).send().await.unwrap().status(), 404);
    assert_eq!(app.stored_events().await, 0);
    assert_eq!(app.count(&format!("api_keys WHERE site_id = {}", app.site_id)).await, 0);
    assert_eq!(app.send(&pageview(&app.site, "/")).await.headers()["x-footfall-drop"], "unknown_site");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_carry_security_headers() {
    let app = spawn_app(Db::Sqlite, Sessions::Memory).await;
    let (_, body) = app.query(json!({"site": app.site, "metrics": ["visitors"], "date_range": "7d"})).await;
    assert!(body["results"].is_array());
    for response in [
        app.api(Method::GET, &format!("/api/v1/sites/{}/bots", app.site))
            .bearer_auth(&app.stats_key)
            .send()
            .await
            .unwrap(),
        app.api(Method::GET, "/api/v1/sites").send().await.unwrap(),
        app.api(Method::GET, "/api/v1/auth/status").send().await.unwrap(),
    ] {
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_embedded_default_a_missing_or_weak_secret_key_stops_the_start() {
    let dir = temp_dir("secret");
    let url = fresh_database(Db::Sqlite, &dir).await;
    let mut production = settings(&url, Sessions::Redis, dir.join("data"));
    production.secret_key = None;
    let error = footfall::startup::Application::build(production.clone()).await.err().expect("refused");
    assert!(error.to_string().contains("FOOTFALL_SECRET_KEY is required"), "{error}");
    production.secret_key = Some("ab".repeat(20));
    let error = footfall::startup::Application::build(production).await.err().expect("refused");
    assert!(error.to_string().contains("too weak"), "{error}");
}
