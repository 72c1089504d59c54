//! `footfall backup`: a consistent copy that holds everything stored, on SQLite and PostgreSQL, never written
//! over an existing file.
use super::*;

async fn a_backup_holds_every_event_and_is_never_written_over(db: Db) {
    let dir = temp_dir("cli-backup");
    let env = env_on(db, &dir).await;
    let conn = database(&env).await;
    footfall_cli(&env, &["site", "add", "kept.example.org", "--id", "kept"]);
    footfall_cli(&env, &["demo", "--site", "kept", "--days", "2", "--visitors", "30", "--seed", "9"]);
    let events = number(&conn, "SELECT COUNT(*) AS n FROM events").await;
    assert!(events > 0);

    let to = dir.join(if db == Db::Postgres { "copy.dump" } else { "copy.db" });
    let output = footfall_command(&env).args(["backup", "--to"]).arg(&to).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), to.display().to_string(), "the path, on stdout");
    assert!(stderr.contains("SECRET_KEY") || stderr.contains("secret.key"), "names the key to keep: {stderr}");

    // The copy restores to the same events.
    let restored = match db {
        Db::Sqlite => format!("sqlite://{}?mode=rw", to.display()),
        Db::Postgres => {
            let url = fresh_database(Db::Postgres, &dir).await;
            let status = std::process::Command::new("pg_restore")
                .args(["--no-owner", "--dbname", &url])
                .arg(&to)
                .status()
                .expect("pg_restore");
            assert!(status.success(), "pg_restore");
            url
        }
    };
    let copy = footfall::store::connect(&restored, 1).await.expect("the copy opens");
    assert_eq!(number(&copy, "SELECT COUNT(*) AS n FROM events").await, events);

    fails(&env, &["backup", "--to", &to.display().to_string()], "exists already");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_sqlite() {
    a_backup_holds_every_event_and_is_never_written_over(Db::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_postgres() {
    a_backup_holds_every_event_and_is_never_written_over(Db::Postgres).await
}
