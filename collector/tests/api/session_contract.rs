//! The session-store contract. Every implementation — in-process, Redis, Redis Cluster — must pass the same
//! specification, because the pipeline cannot tell them apart.
use std::sync::Arc;
use std::time::Duration;

use footfall::session::memory::MemoryStore;
use footfall::session::redis::RedisStore;
use footfall::session::{Scope, SessionStore, Touch};

use crate::helpers::redis_url;
use crate::redis_server::RedisCluster;

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn site() -> String {
    format!("c{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

fn touch<'a>(site: &'a str, visitor: u64, page: &'a str) -> Touch<'a> {
    Touch {
        site,
        visitor,
        previous_visitor: visitor ^ 0xffff,
        now_ms: now(),
        page: Some(page),
        group: None,
        identified: false,
        ttl_ms: 30 * 60 * 1000,
        new_session_id: rand::random::<i64>() & i64::MAX,
    }
}

async fn touches_within_the_timeout_share_one_session(store: &dyn SessionStore) {
    let site = site();
    let first = store.touch(&touch(&site, 1, "/")).await.unwrap();
    assert!(first.is_new);
    let second = store.touch(&touch(&site, 1, "/next")).await.unwrap();
    assert!(!second.is_new);
    assert_eq!(second.session_id, first.session_id);
    assert_eq!(second.started_ms, first.started_ms);
    let other = store.touch(&touch(&site, 2, "/")).await.unwrap();
    assert_ne!(other.session_id, first.session_id, "another visitor has another session");
}

async fn a_touch_after_the_timeout_opens_a_new_session(store: &dyn SessionStore) {
    let site = site();
    let mut t = touch(&site, 7, "/");
    t.ttl_ms = 150;
    let first = store.touch(&t).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    t.now_ms = now();
    t.new_session_id += 1;
    let later = store.touch(&t).await.unwrap();
    assert!(later.is_new);
    assert_ne!(later.session_id, first.session_id);
}

async fn a_session_open_at_midnight_continues_under_the_new_days_hash(store: &dyn SessionStore) {
    let site = site();
    let yesterday = store.touch(&touch(&site, 100, "/")).await.unwrap();
    let mut after_midnight = touch(&site, 200, "/");
    after_midnight.previous_visitor = 100;
    let continued = store.touch(&after_midnight).await.unwrap();
    assert!(!continued.is_new);
    assert_eq!(continued.session_id, yesterday.session_id);
}

async fn presence_counts_site_page_and_group_with_identified_split(store: &dyn SessionStore) {
    let site = site();
    let mut a = touch(&site, 1, "/a");
    a.group = Some("community:montreal");
    store.touch(&a).await.unwrap();
    store.touch(&touch(&site, 2, "/a")).await.unwrap();
    let mut c = touch(&site, 3, "/b");
    c.identified = true;
    c.group = Some("community:montreal");
    store.touch(&c).await.unwrap();
    let n = now();
    let whole = store.presence(&site, Scope::Site, n).await.unwrap();
    assert_eq!((whole.anonymous, whole.identified), (2, 1));
    assert_eq!(store.presence(&site, Scope::Page("/a"), n).await.unwrap().visitors(), 2);
    let group = store.presence(&site, Scope::Group("community:montreal"), n).await.unwrap();
    assert_eq!((group.anonymous, group.identified), (1, 1));
    // Visitor 2 moves on: counted on the new page only.
    store.touch(&touch(&site, 2, "/b")).await.unwrap();
    let n = now();
    assert_eq!(store.presence(&site, Scope::Page("/a"), n).await.unwrap().visitors(), 1);
    assert_eq!(store.presence(&site, Scope::Page("/b"), n).await.unwrap().visitors(), 2);
    assert_eq!(store.presence(&site, Scope::Site, n).await.unwrap().visitors(), 3);
    // Five minutes later nobody is here.
    let later = n + 5 * 60 * 1000 + 1;
    assert_eq!(store.presence(&site, Scope::Site, later).await.unwrap().visitors(), 0);
    assert_eq!(store.presence("unknown-site", Scope::Site, n).await.unwrap().visitors(), 0);
}

async fn the_days_salt_is_created_once_and_then_stable(store: &dyn SessionStore) {
    let day = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap() + chrono::Days::new(rand::random::<u16>() as u64);
    let first = store.salt(day).await.unwrap();
    assert_eq!(store.salt(day).await.unwrap(), first);
    assert_ne!(store.salt(day.succ_opt().unwrap()).await.unwrap(), first);
    store.ping().await.unwrap();
}

async fn contract(store: Arc<dyn SessionStore>) {
    touches_within_the_timeout_share_one_session(store.as_ref()).await;
    a_touch_after_the_timeout_opens_a_new_session(store.as_ref()).await;
    a_session_open_at_midnight_continues_under_the_new_days_hash(store.as_ref()).await;
    presence_counts_site_page_and_group_with_identified_split(store.as_ref()).await;
    the_days_salt_is_created_once_and_then_stable(store.as_ref()).await;
}

#[tokio::test]
async fn the_in_process_store_meets_the_contract() {
    contract(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn the_redis_store_meets_the_contract() {
    let store =
        RedisStore::connect(&redis_url(), Duration::from_secs(2)).await.expect("Redis must be running for this test");
    contract(Arc::new(store)).await;
}

#[tokio::test]
async fn the_redis_store_meets_the_contract_on_a_three_node_cluster() {
    let cluster = RedisCluster::start();
    let store = RedisStore::connect(&cluster.url(), Duration::from_secs(2)).await.expect("cluster connection");
    contract(Arc::new(store)).await;
}

#[tokio::test]
async fn two_redis_clients_agree_on_salts_and_sessions() {
    let a =
        RedisStore::connect(&redis_url(), Duration::from_secs(2)).await.expect("Redis must be running for this test");
    let b = RedisStore::connect(&redis_url(), Duration::from_secs(2)).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2031, 1, 1).unwrap() + chrono::Days::new(rand::random::<u16>() as u64);
    assert_eq!(a.salt(day).await.unwrap(), b.salt(day).await.unwrap());
    let site = site();
    let first = a.touch(&touch(&site, 9, "/")).await.unwrap();
    let second = b.touch(&touch(&site, 9, "/x")).await.unwrap();
    assert_eq!(first.session_id, second.session_id);
}
