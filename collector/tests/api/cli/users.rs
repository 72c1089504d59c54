//! `footfall user list|passwd|delete`: accounts, their passwords and their sign-ins.
use footfall::store::{auth_sessions, sites, users};

use super::*;

const HOUR_MS: i64 = 3_600_000;

fn user_ids(env: &[(String, String)]) -> Vec<(String, i64, bool)> {
    let listed = cli_json(env, &["user", "list", "--json"]);
    listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["email"].as_str().unwrap().to_owned(), u["id"].as_i64().unwrap(), u["is_admin"].as_bool().unwrap()))
        .collect()
}

async fn a_new_password_ends_every_sign_in(db: Db) {
    let dir = temp_dir("cli-passwd");
    let env = env_on(db, &dir).await;
    let conn = database(&env).await;
    let old = footfall_cli(&env, &["user", "add", "owner@example.org"]);
    let [(email, id, is_admin)] = &user_ids(&env)[..] else { panic!("one user") };
    assert_eq!((email.as_str(), *is_admin), ("owner@example.org", true));
    let table = footfall_cli(&env, &["user", "list"]);
    assert!(
        table.starts_with("ID") && table.contains("owner@example.org") && table.contains("administrator"),
        "{table}"
    );
    let laptop = auth_sessions::create(&conn, *id, HOUR_MS).await.unwrap();
    let phone = auth_sessions::create(&conn, *id, HOUR_MS).await.unwrap();

    let chosen = "a new and long password";
    let output =
        run_with_stdin(&env, &["user", "passwd", "Owner@Example.org", "--password-stdin"], &format!("{chosen}\n"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stdout.is_empty(), "a chosen password is not echoed");
    for token in [&laptop, &phone] {
        assert!(auth_sessions::find(&conn, token).await.unwrap().is_none(), "signed out everywhere");
    }
    assert!(users::authenticate(&conn, "owner@example.org", chosen).await.unwrap().is_some());
    assert!(users::authenticate(&conn, "owner@example.org", &old).await.unwrap().is_none());

    let generated = footfall_cli(&env, &["user", "passwd", "owner@example.org"]);
    assert_eq!(generated.len(), 20, "without --password-stdin a password is generated and printed once");
    assert!(users::authenticate(&conn, "owner@example.org", &generated).await.unwrap().is_some());

    fails(&env, &["user", "passwd", "nobody@example.org"], "no user `nobody@example.org`");
    let short = run_with_stdin(&env, &["user", "passwd", "owner@example.org", "--password-stdin"], "short\n");
    assert!(!short.status.success() && String::from_utf8_lossy(&short.stderr).contains("at least 10"));
    assert!(users::authenticate(&conn, "owner@example.org", &generated).await.unwrap().is_some(), "unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_every_sign_in_on_sqlite() {
    a_new_password_ends_every_sign_in(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_every_sign_in_on_postgres() {
    a_new_password_ends_every_sign_in(Db::Postgres).await
}

async fn deleting_a_user_says_what_becomes_of_their_sites(db: Db) {
    let dir = temp_dir("cli-user-delete");
    let env = env_on(db, &dir).await;
    let conn = database(&env).await;
    footfall_cli(&env, &["user", "add", "admin@example.org"]);
    footfall_cli(&env, &["user", "add", "keeper@example.org"]);
    footfall_cli(&env, &["user", "add", "leaver@example.org"]);
    let ids = user_ids(&env);
    let (keeper, leaver) = (ids[1].1, ids[2].1);
    let site = |domain, id| sites::NewSite { domain, public_id: Some(id), timezone: None };
    sites::create_owned(&conn, site("kept.example.org", "kept"), Some(keeper)).await.unwrap();
    sites::create_owned(&conn, site("gone.example.org", "gone"), Some(leaver)).await.unwrap();
    let signed_in = auth_sessions::create(&conn, keeper, HOUR_MS).await.unwrap();

    fails(&env, &["user", "delete", "keeper@example.org", "--yes"], "owns 1 site: kept (kept.example.org)");
    fails(&env, &["user", "delete", "keeper@example.org", "--keep-sites"], "--yes");
    fails(
        &env,
        &["user", "delete", "keeper@example.org", "--keep-sites", "--delete-sites", "--yes"],
        "cannot be used with",
    );
    assert_eq!(user_ids(&env).len(), 3, "nothing deleted yet");

    footfall_cli(&env, &["user", "delete", "keeper@example.org", "--keep-sites", "--yes"]);
    assert!(auth_sessions::find(&conn, &signed_in).await.unwrap().is_none(), "its sign-ins end with it");
    let kept = sites::find_model(&conn, "kept").await.unwrap().expect("the site stays");
    assert_eq!(kept.owner_user_id, None, "handed to the administrator");

    footfall_cli(&env, &["user", "delete", "leaver@example.org", "--delete-sites", "--yes"]);
    assert!(sites::find(&conn, "gone").await.unwrap().is_none(), "deleted with its owner");
    let left: Vec<String> = user_ids(&env).into_iter().map(|(email, _, _)| email).collect();
    assert_eq!(left, ["admin@example.org"]);

    fails(&env, &["user", "delete", "admin@example.org", "--yes"], "administrator");
    fails(&env, &["user", "delete", "nobody@example.org", "--yes"], "no user `nobody@example.org`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_on_sqlite() {
    deleting_a_user_says_what_becomes_of_their_sites(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_on_postgres() {
    deleting_a_user_says_what_becomes_of_their_sites(Db::Postgres).await
}
