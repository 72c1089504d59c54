//! `footfall share list|revoke`: the share links of the dashboard's Settings, by id.
use footfall::store::{share_links, sites};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_links_are_listed_and_revoked_by_id() {
    let dir = temp_dir("cli-shares");
    let env = env_for(&dir);
    let db = database(&env).await;
    footfall_cli(&env, &["site", "add", "example.com", "--id", "shop"]);
    footfall_cli(&env, &["site", "add", "example.org", "--id", "blog"]);
    let shop = sites::find(&db, "shop").await.unwrap().unwrap();
    let blog = sites::find(&db, "blog").await.unwrap().unwrap();
    let (board, board_token) = share_links::create(&db, shop.id, "for the board", None).await.unwrap();
    share_links::create(&db, blog.id, "", None).await.unwrap();

    let listed = cli_json(&env, &["share", "list", "--json"]);
    let links = listed["share_links"].as_array().unwrap();
    assert_eq!(links.len(), 2, "every site's links: {listed}");
    assert_eq!(links[0]["id"].as_i64(), Some(board.id));
    assert_eq!((links[0]["site"].as_str(), links[0]["label"].as_str()), (Some("shop"), Some("for the board")));
    assert_eq!(links[0]["prefix"].as_str(), Some(&board_token[..10]));
    assert!(!listed.to_string().contains(&board_token), "never the token");
    let only_blog = cli_json(&env, &["share", "list", "--site", "blog", "--json"]);
    assert_eq!(only_blog["share_links"].as_array().unwrap().len(), 1);
    let table = footfall_cli(&env, &["share", "list", "--site", "shop"]);
    assert!(table.starts_with("ID") && table.contains("for the board") && !table.contains("blog"), "{table}");
    fails(&env, &["share", "list", "--site", "nope"], "no site `nope`");

    let id = board.id.to_string();
    fails(&env, &["share", "revoke", &id], "--yes");
    fails(&env, &["share", "revoke", "999999", "--yes"], "no share link with id 999999");
    assert!(share_links::verify(&db, &board_token).await.unwrap().is_some());
    let output = footfall_command(&env).args(["share", "revoke", &id, "--yes"]).output().unwrap();
    assert!(output.status.success() && output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(share_links::verify(&db, &board_token).await.unwrap().is_none(), "the link no longer opens");
    assert_eq!(cli_json(&env, &["share", "list", "--json"])["share_links"].as_array().unwrap().len(), 1);
}
