//! Schema migrations as an upgrade meets them: every collector of a database starting at the same moment.
use footfall::store;

use crate::helpers::*;

async fn collectors_starting_at_once_all_come_up_migrated(db: Db) {
    let dir = temp_dir("migrate-at-once");
    let url = fresh_database(db, &dir).await;
    let starts = (0..5).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            let db = store::connect(&url, 2).await.expect("connect");
            store::migrate(&db).await
        })
    });
    for started in futures_util::future::join_all(starts).await {
        started.expect("no panic").expect("each collector migrates, or waits and finds the schema current");
    }
    let db = store::connect(&url, 1).await.unwrap();
    store::migrate(&db).await.expect("a later start has nothing to do");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn collectors_starting_at_once_on_an_empty_postgres_database_all_come_up_migrated() {
    collectors_starting_at_once_all_come_up_migrated(Db::Postgres).await;
}

#[tokio::test]
async fn collectors_starting_at_once_on_a_new_sqlite_file_all_come_up_migrated() {
    collectors_starting_at_once_all_come_up_migrated(Db::Sqlite).await;
}
