//! Teams on SQLite and PostgreSQL: inviting an existing account or a new email (a link that works once and
//! expires), what a viewer and an admin may do, transferring a site, leaving it, changing one's password, and
//! the administrator's one-time reset links (API and `footfall user reset-link`).
use reqwest::{Method, Response};
use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use footfall::store::users;

use crate::helpers::*;
use crate::on_both_databases;

const PASSWORD: &str = "correct horse battery";

/// A browser signed in through the API: its session cookie and CSRF token.
#[derive(Clone)]
struct Person {
    cookie: String,
    csrf: String,
}

fn session_cookie(response: &Response) -> Option<String> {
    response.headers().get_all("set-cookie").iter().find_map(|v| {
        let text = v.to_str().ok()?;
        let value = text.strip_prefix("footfall_session=")?.split(';').next()?;
        (!value.is_empty()).then(|| value.to_owned())
    })
}

/// The test app's site (owned by the administrator, the first account) and its people.
struct Team {
    app: TestApp,
}

impl Team {
    /// A collector whose first account, `owner@example.com`, owns the app's site.
    async fn start(db: Db) -> (Team, Person) {
        let dir = temp_dir("teams");
        let url = fresh_database(db, &dir).await;
        let mut settings = settings(&url, Sessions::Memory, dir.join("data"));
        // These tests sign in, accept and reset more often than one person a minute would.
        settings.limits.login_per_minute = 1000;
        let team = Team { app: spawn_app_with(settings).await };
        users::create(&team.app.db, "owner@example.com", PASSWORD).await.unwrap();
        let owner = team.sign_in("owner@example.com", PASSWORD).await.expect("the owner signs in");
        (team, owner)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.app.address, path.replace("{site}", &self.app.site))
    }

    async fn sign_in(&self, email: &str, password: &str) -> Option<Person> {
        let response = self
            .app
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        if response.status() != 200 {
            return None;
        }
        let cookie = session_cookie(&response)?;
        let body: Value = response.json().await.unwrap();
        Some(Person { cookie, csrf: body["csrf_token"].as_str()?.to_owned() })
    }

    /// An account made on the server, signed in.
    async fn account(&self, email: &str) -> (i64, Person) {
        let id = users::create(&self.app.db, email, PASSWORD).await.unwrap();
        (id, self.sign_in(email, PASSWORD).await.unwrap())
    }

    /// `method path` as `who` (`None`: without credentials), with an optional JSON body → (status, JSON).
    async fn call(&self, who: Option<&Person>, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.app.client.request(method, self.url(path));
        if let Some(person) = who {
            request = request
                .header("cookie", format!("footfall_session={}", person.cookie))
                .header("x-csrf-token", &person.csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn invite(&self, who: &Person, email: &str, role: &str) -> (u16, Value) {
        let body = json!({"email": email, "role": role});
        self.call(Some(who), Method::POST, "/api/v1/sites/{site}/invitations", Some(body)).await
    }

    async fn people(&self, who: &Person) -> Value {
        let (status, body) = self.call(Some(who), Method::GET, "/api/v1/sites/{site}/members", None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Accepts an invitation without credentials → (status, body, the new sign-in if one started).
    async fn accept(&self, token: &str, password: Option<&str>) -> (u16, Value, Option<Person>) {
        let url = self.url(&format!("/api/v1/invitations/{token}/accept"));
        let response = self.app.client.post(url).json(&json!({ "password": password })).send().await.unwrap();
        let status = response.status().as_u16();
        let cookie = session_cookie(&response);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let person =
            cookie.zip(body["csrf_token"].as_str().map(str::to_owned)).map(|(cookie, csrf)| Person { cookie, csrf });
        (status, body, person)
    }
}

fn token_of(url: &str, marker: &str) -> String {
    url.split_once(marker).unwrap_or_else(|| panic!("{marker} in {url}")).1.to_owned()
}

async fn a_viewer_reads_every_report_and_changes_nothing_an_admin_changes_all_but_the_sites_existence(db: Db) {
    let (team, owner) = Team::start(db).await;
    let (viewer_id, viewer) = team.account("viewer@example.com").await;
    let (status, invited) = team.invite(&owner, "Viewer@Example.com", "viewer").await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(invited["member"]["email"], "viewer@example.com", "an existing account is a member at once");
    assert_eq!(invited["member"]["role"], "viewer");
    assert!(invited.get("url").is_none(), "and needs no link");

    // Reads: the site, its reports, its sessions list.
    let (status, site) = team.call(Some(&viewer), Method::GET, "/api/v1/sites/{site}", None).await;
    assert_eq!((status, site["role"].as_str()), (200, Some("viewer")));
    let (_, sites) = team.call(Some(&viewer), Method::GET, "/api/v1/sites", None).await;
    assert_eq!(sites["sites"][0]["id"], team.app.site.as_str());
    let query = format!("/api/v1/query?site={}&metrics=visitors&date_range=7d", team.app.site);
    assert_eq!(team.call(Some(&viewer), Method::GET, &query, None).await.0, 200);
    assert_eq!(team.call(Some(&viewer), Method::GET, "/api/v1/sites/{site}/sessions", None).await.0, 200);

    // Changes nothing: settings, share links, keys, people.
    let patch = Some(json!({"timezone": "Europe/Paris"}));
    let refused = [
        team.call(Some(&viewer), Method::PATCH, "/api/v1/sites/{site}", patch.clone()).await,
        team.call(Some(&viewer), Method::POST, "/api/v1/sites/{site}/share-links", Some(json!({}))).await,
        team.call(
            Some(&viewer),
            Method::POST,
            "/api/v1/keys",
            Some(json!({"scope": "stats:read", "site": team.app.site})),
        )
        .await,
        team.invite(&viewer, "friend@example.com", "viewer").await,
        team.call(Some(&viewer), Method::GET, "/api/v1/sites/{site}/members", None).await,
        team.call(Some(&viewer), Method::DELETE, "/api/v1/sites/{site}", None).await,
    ];
    for (status, body) in refused {
        assert_eq!(status, 403, "{body}");
    }
    assert_eq!(team.app.count("site_invitations").await, 0);

    // Promoted to admin: settings, share links and people, but not deleting or giving the site away.
    let promote = format!("/api/v1/sites/{{site}}/members/{viewer_id}");
    let (status, changed) = team.call(Some(&owner), Method::PATCH, &promote, Some(json!({"role": "admin"}))).await;
    assert_eq!((status, changed["member"]["role"].as_str()), (200, Some("admin")), "{changed}");
    let admin = viewer;
    assert_eq!(team.call(Some(&admin), Method::PATCH, "/api/v1/sites/{site}", patch).await.0, 200);
    assert_eq!(team.call(Some(&admin), Method::POST, "/api/v1/sites/{site}/share-links", Some(json!({}))).await.0, 201);
    assert_eq!(team.invite(&admin, "friend@example.com", "viewer").await.0, 201);
    let owner_role = format!("/api/v1/sites/{{site}}/members/{}", team.people(&admin).await["members"][0]["user_id"]);
    let (status, body) = team.call(Some(&admin), Method::PATCH, &owner_role, Some(json!({"role": "viewer"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("owner_stays")), "the owner has no role to change");
    assert_eq!(team.call(Some(&admin), Method::DELETE, "/api/v1/sites/{site}", None).await.0, 403);
    let transfer = Some(json!({"email": "viewer@example.com"}));
    assert_eq!(team.call(Some(&admin), Method::POST, "/api/v1/sites/{site}/transfer", transfer).await.0, 403);
    let (status, body) = team.call(Some(&owner), Method::PATCH, &promote, Some(json!({"role": "owner"}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_role")));

    // The list: owner first, then members, then the pending invitation, never with its token.
    let people = team.people(&owner).await;
    let roles: Vec<(&str, &str)> = people["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("owner@example.com", "owner"), ("viewer@example.com", "admin")]);
    assert!(people["members"][1]["since"].as_i64().is_some());
    let pending = &people["invitations"][0];
    assert_eq!((pending["email"].as_str(), pending["role"].as_str()), (Some("friend@example.com"), Some("viewer")));
    assert!(!people.to_string().contains("ffi_"), "tokens are shown once, when made: {people}");
    assert_eq!(team.invite(&owner, "viewer@example.com", "viewer").await.0, 409, "a member is not invited twice");
}
on_both_databases!(a_viewer_reads_every_report_and_changes_nothing_an_admin_changes_all_but_the_sites_existence);

async fn a_new_email_gets_a_link_that_creates_the_account_and_works_once(db: Db) {
    let (team, owner) = Team::start(db).await;
    let (status, invited) = team.invite(&owner, "new@example.com", "viewer").await;
    assert_eq!(status, 201, "{invited}");
    let url = invited["url"].as_str().unwrap();
    assert!(url.starts_with(&team.app.address), "an absolute link to this dashboard: {url}");
    let token = token_of(url, "/#/invite/");
    let expires_in = invited["invitation"]["expires_at"].as_i64().unwrap() - footfall::store::now_ms();
    assert!((7 * 86_400_000 - 60_000..=7 * 86_400_000).contains(&expires_in), "valid for 7 days: {expires_in}");

    let (status, shown) = team.call(None, Method::GET, &format!("/api/v1/invitations/{token}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(shown["site"], json!({"id": team.app.site, "domain": DOMAIN}));
    assert_eq!((shown["email"].as_str(), shown["role"].as_str()), (Some("new@example.com"), Some("viewer")));
    assert_eq!(shown["account_exists"], false);

    assert_eq!(team.accept(&token, Some("short")).await.0, 400, "the sign-up's password rules");
    assert_eq!(team.accept(&token, None).await.0, 400);
    let (status, joined, person) = team.accept(&token, Some(PASSWORD)).await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(joined["site"], team.app.site.as_str());
    assert_eq!(joined["user"]["email"], "new@example.com");
    let person = person.expect("accepting signs in");
    let (status, site) = team.call(Some(&person), Method::GET, "/api/v1/sites/{site}", None).await;
    assert_eq!((status, site["role"].as_str()), (200, Some("viewer")));
    assert!(team.sign_in("new@example.com", PASSWORD).await.is_some(), "the account has the chosen password");

    // Once only: the link is used up, for reading it too.
    assert_eq!(team.accept(&token, Some("another long password")).await.0, 404);
    let (status, body) = team.call(None, Method::GET, &format!("/api/v1/invitations/{token}"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("unknown_invitation")));
    assert_eq!(team.people(&owner).await["invitations"], json!([]));
    assert_eq!(team.app.count("users WHERE email = 'new@example.com'").await, 1);
}
on_both_databases!(a_new_email_gets_a_link_that_creates_the_account_and_works_once);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_revoked_and_replaced_invitations_are_refused() {
    let (team, owner) = Team::start(Db::Sqlite).await;
    let link = |answer: &Value| token_of(answer["url"].as_str().unwrap(), "/#/invite/");
    let expired = link(&team.invite(&owner, "late@example.com", "viewer").await.1);
    team.app
        .db
        .execute_unprepared("UPDATE site_invitations SET expires_at = 1 WHERE email = 'late@example.com'")
        .await
        .unwrap();
    assert_eq!(team.call(None, Method::GET, &format!("/api/v1/invitations/{expired}"), None).await.0, 404);
    assert_eq!(team.accept(&expired, Some(PASSWORD)).await.0, 404);
    assert_eq!(team.people(&owner).await["invitations"], json!([]), "an expired invitation is not pending");

    let (_, revoked) = team.invite(&owner, "gone@example.com", "admin").await;
    let revoke = format!("/api/v1/sites/{{site}}/invitations/{}", revoked["invitation"]["id"]);
    assert_eq!(team.call(Some(&owner), Method::DELETE, &revoke, None).await.0, 204);
    assert_eq!(team.accept(&link(&revoked), Some(PASSWORD)).await.0, 404);
    assert_eq!(team.call(Some(&owner), Method::DELETE, &revoke, None).await.0, 404);

    // Inviting again replaces the lost link.
    let first = link(&team.invite(&owner, "twice@example.com", "viewer").await.1);
    let second = link(&team.invite(&owner, "twice@example.com", "admin").await.1);
    assert_eq!(team.accept(&first, Some(PASSWORD)).await.0, 404);
    let (status, joined, _) = team.accept(&second, Some(PASSWORD)).await;
    assert_eq!((status, joined["role"].as_str()), (200, Some("admin")));
    assert_eq!(team.app.count("users").await, 2, "refused links made no account");

    // An account made with the invited email meanwhile joins with its own password, not the link alone.
    let pending = link(&team.invite(&owner, "meanwhile@example.com", "viewer").await.1);
    users::create(&team.app.db, "meanwhile@example.com", PASSWORD).await.unwrap();
    let (status, body, _) = team.accept(&pending, Some("not the password")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")));
    assert_eq!(team.accept(&pending, Some(PASSWORD)).await.0, 200);
    // Signed in as the invited account, no password is asked (the CSRF token is, as for every signed-in write).
    let signed = link(&team.invite(&owner, "signed@example.com", "viewer").await.1);
    let (_, person) = team.account("signed@example.com").await;
    let accept = format!("/api/v1/invitations/{signed}/accept");
    let forged = Person { csrf: "not the token".into(), ..person.clone() };
    assert_eq!(team.call(Some(&forged), Method::POST, &accept, Some(json!({}))).await.0, 403);
    let (status, joined) = team.call(Some(&person), Method::POST, &accept, Some(json!({}))).await;
    assert_eq!((status, joined["user"]["email"].as_str()), (200, Some("signed@example.com")), "{joined}");
}

async fn the_owner_transfers_the_site_and_stays_as_an_admin(db: Db) {
    let (team, owner) = Team::start(db).await;
    let (_, heir) = team.account("heir@example.com").await;
    let transfer = |email: &str| Some(json!({ "email": email }));
    let (status, body) =
        team.call(Some(&owner), Method::POST, "/api/v1/sites/{site}/transfer", transfer("nobody@example.com")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("unknown_account")));
    let (status, body) =
        team.call(Some(&owner), Method::POST, "/api/v1/sites/{site}/transfer", transfer("owner@example.com")).await;
    assert_eq!(status, 400, "{body}");

    let (status, body) =
        team.call(Some(&owner), Method::POST, "/api/v1/sites/{site}/transfer", transfer("heir@example.com")).await;
    assert_eq!(status, 200, "{body}");
    let roles: Vec<(&str, &str)> = body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("heir@example.com", "owner"), ("owner@example.com", "admin")]);
    assert_eq!(team.call(Some(&owner), Method::DELETE, "/api/v1/sites/{site}", None).await.0, 403, "no longer");
    let back = team.call(Some(&owner), Method::POST, "/api/v1/sites/{site}/transfer", transfer("owner@example.com"));
    assert_eq!(back.await.0, 403, "only the owner transfers");
    // Keys and share links made before keep working.
    let query = format!("/api/v1/query?site={}&metrics=visitors&date_range=7d", team.app.site);
    let with_key = team.app.client.get(team.url(&query)).bearer_auth(&team.app.stats_key).send().await.unwrap();
    assert_eq!(with_key.status(), 200);
    assert_eq!(team.call(Some(&heir), Method::DELETE, "/api/v1/sites/{site}", None).await.0, 204);
    assert_eq!(team.app.count("site_members").await, 0, "the site's members go with it");
}
on_both_databases!(the_owner_transfers_the_site_and_stays_as_an_admin);

async fn a_member_may_leave_and_a_removed_member_loses_the_site_at_once(db: Db) {
    let (team, owner) = Team::start(db).await;
    let (viewer_id, viewer) = team.account("viewer@example.com").await;
    let (admin_id, admin) = team.account("admin@example.com").await;
    let (leaver_id, leaver) = team.account("leaver@example.com").await;
    assert_eq!(team.invite(&owner, "viewer@example.com", "viewer").await.0, 201);
    assert_eq!(team.invite(&owner, "admin@example.com", "admin").await.0, 201);
    assert_eq!(team.invite(&owner, "leaver@example.com", "viewer").await.0, 201);
    let member = |id: i64| format!("/api/v1/sites/{{site}}/members/{id}");
    let owner_id = team.people(&owner).await["members"][0]["user_id"].as_i64().unwrap();

    assert_eq!(team.call(Some(&viewer), Method::DELETE, &member(leaver_id), None).await.0, 403, "not others");
    let (status, body) = team.call(Some(&admin), Method::DELETE, &member(owner_id), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("owner_stays")));
    let (status, body) = team.call(Some(&owner), Method::DELETE, &member(owner_id), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("owner_stays")), "the owner transfers first");

    assert_eq!(team.call(Some(&leaver), Method::DELETE, &member(leaver_id), None).await.0, 204, "anyone may leave");
    assert_eq!(team.call(Some(&leaver), Method::GET, "/api/v1/sites/{site}", None).await.0, 404);
    assert_eq!(team.call(Some(&admin), Method::DELETE, &member(viewer_id), None).await.0, 204);
    // The removed member's sign-in stays valid, but reaches the site no more, with its very next request.
    assert_eq!(team.call(Some(&viewer), Method::GET, "/api/v1/sites/{site}/sessions", None).await.0, 404);
    let (_, sites) = team.call(Some(&viewer), Method::GET, "/api/v1/sites", None).await;
    assert_eq!(sites["sites"], json!([]));
    assert_eq!(team.call(Some(&owner), Method::DELETE, &member(viewer_id), None).await.0, 404, "gone already");

    // Deleting an account ends its memberships.
    assert!(users::delete(&team.app.db, admin_id).await.unwrap());
    assert_eq!(team.app.count(&format!("site_members WHERE user_id = {admin_id}")).await, 0);
    assert_eq!(team.people(&owner).await["members"].as_array().unwrap().len(), 1);
}
on_both_databases!(a_member_may_leave_and_a_removed_member_loses_the_site_at_once);

async fn a_password_change_needs_the_current_password_and_ends_the_other_sign_ins(db: Db) {
    let (team, owner) = Team::start(db).await;
    let elsewhere = team.sign_in("owner@example.com", PASSWORD).await.unwrap();
    let change = |current: &str, new: &str| Some(json!({"current": current, "new": new}));
    let path = "/api/v1/account/password";
    let (status, body) = team.call(Some(&owner), Method::POST, path, change("wrong password!", "a new password")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("wrong_password")));
    let (status, _) = team.call(Some(&owner), Method::POST, path, change(PASSWORD, "short")).await;
    assert_eq!(status, 400, "the sign-up's length rules");
    assert_eq!(team.call(Some(&elsewhere), Method::GET, "/api/v1/sites", None).await.0, 200, "nothing changed yet");

    assert_eq!(team.call(Some(&owner), Method::POST, path, change(PASSWORD, "a new password")).await.0, 204);
    assert!(team.sign_in("owner@example.com", PASSWORD).await.is_none(), "the old password stops working");
    assert!(team.sign_in("owner@example.com", "a new password").await.is_some());
    assert_eq!(team.call(Some(&owner), Method::GET, "/api/v1/sites", None).await.0, 200, "this sign-in goes on");
    assert_eq!(team.call(Some(&elsewhere), Method::GET, "/api/v1/sites", None).await.0, 401, "the others end");

    let key = team.app.client.post(team.url(path)).bearer_auth(&team.app.stats_key).json(&change(PASSWORD, PASSWORD));
    assert_eq!(key.send().await.unwrap().status(), 403, "a key has no password");
}
on_both_databases!(a_password_change_needs_the_current_password_and_ends_the_other_sign_ins);

async fn the_administrator_makes_reset_links_that_work_once(db: Db) {
    let (team, admin) = Team::start(db).await;
    let (user_id, user) = team.account("forgetful@example.com").await;
    let link = format!("/api/v1/users/{user_id}/reset-link");
    assert_eq!(team.call(Some(&user), Method::POST, &link, None).await.0, 403, "only the administrator");
    assert_eq!(team.call(Some(&user), Method::GET, "/api/v1/users", None).await.0, 403);
    let (_, listed) = team.call(Some(&admin), Method::GET, "/api/v1/users", None).await;
    let emails: Vec<&str> = listed["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["owner@example.com", "forgetful@example.com"]);
    assert!(!listed.to_string().contains("argon2"), "never a password hash");

    let (status, made) = team.call(Some(&admin), Method::POST, &link, None).await;
    assert_eq!(status, 201, "{made}");
    let token = token_of(made["url"].as_str().unwrap(), "/#/reset/");
    let expires_in = made["expires_at"].as_i64().unwrap() - footfall::store::now_ms();
    assert!((3_540_000..=3_600_000).contains(&expires_in), "valid for an hour: {expires_in}");

    let reset = format!("/api/v1/password-reset/{token}");
    let set = |password: &str| Some(json!({ "password": password }));
    assert_eq!(team.call(None, Method::POST, &reset, set("short")).await.0, 400, "the sign-up's length rules");
    assert_eq!(team.call(Some(&user), Method::GET, "/api/v1/sites", None).await.0, 200, "still signed in");
    let (status, body) = team.call(None, Method::POST, &reset, set("a brand new password")).await;
    assert_eq!((status, body["email"].as_str()), (200, Some("forgetful@example.com")));
    assert_eq!(team.call(Some(&user), Method::GET, "/api/v1/sites", None).await.0, 401, "every sign-in ends");
    assert!(team.sign_in("forgetful@example.com", PASSWORD).await.is_none());
    assert!(team.sign_in("forgetful@example.com", "a brand new password").await.is_some());
    let (status, body) = team.call(None, Method::POST, &reset, set("yet another password")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("unknown_link")), "once only");

    // A newer link replaces the older one; an expired one is refused.
    let older =
        token_of(team.call(Some(&admin), Method::POST, &link, None).await.1["url"].as_str().unwrap(), "/#/reset/");
    let newer =
        token_of(team.call(Some(&admin), Method::POST, &link, None).await.1["url"].as_str().unwrap(), "/#/reset/");
    let redeem = |token: &str| format!("/api/v1/password-reset/{token}");
    assert_eq!(team.call(None, Method::POST, &redeem(&older), set("a third password!")).await.0, 404);
    team.app.db.execute_unprepared("UPDATE password_resets SET expires_at = 1").await.unwrap();
    assert_eq!(team.call(None, Method::POST, &redeem(&newer), set("a third password!")).await.0, 404);
}
on_both_databases!(the_administrator_makes_reset_links_that_work_once);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_prints_a_reset_link_and_deletes_a_member_with_their_memberships() {
    let (team, owner) = Team::start(Db::Sqlite).await;
    let (member_id, _) = team.account("member@example.com").await;
    assert_eq!(team.invite(&owner, "member@example.com", "admin").await.0, 201);
    let env = [
        ("FOOTFALL_DATABASE_URL".to_owned(), team.app.database_url.clone()),
        ("FOOTFALL_SECRET_KEY".to_owned(), SECRET.to_owned()),
        ("FOOTFALL_DATA_DIR".to_owned(), temp_dir("cli-teams").display().to_string()),
    ];
    let printed =
        footfall_cli(&env, &["user", "reset-link", "Member@example.com", "--url", "https://stats.example.org/"]);
    let token = token_of(&printed, "https://stats.example.org/#/reset/");
    let reset = format!("/api/v1/password-reset/{token}");
    let (status, _) = team.call(None, Method::POST, &reset, Some(json!({"password": "set from the CLI link"}))).await;
    assert_eq!(status, 200);
    assert!(team.sign_in("member@example.com", "set from the CLI link").await.is_some());

    footfall_cli(&env, &["user", "delete", "member@example.com", "--yes"]);
    assert_eq!(team.app.count(&format!("site_members WHERE user_id = {member_id}")).await, 0);
    assert_eq!(team.people(&owner).await["members"].as_array().unwrap().len(), 1);
}
