//! The session-store contract. Every implementation — in-process, Redis, Redis Cluster — must pass the same
//! specification, because the pipeline cannot tell them apart.
use std::sync::Arc;
use std::time::Duration;

use footfall::session::memory::MemoryStore;
use footfall::session::redis::RedisStore;
use footfall::session::{LiveSnapshot, Presence, Scope, SessionStore, Touch, LIVE_LIMIT};

use crate::helpers::redis_url;
use crate::redis_server::RedisCluster;

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A site id no other test uses: the shared Redis keeps every run's keys for a while. (Test databases number
/// their sites from a random start below 2^33.)
fn site() -> i64 {
    (1 << 40) + i64::from(rand::random::<u32>())
}

/// A site no touch has reached.
const UNKNOWN_SITE: i64 = 1 << 50;

fn touch(site_id: i64, visitor: u64, page: &str) -> Touch<'_> {
    let now = now();
    Touch {
        site_id,
        visitor,
        previous_visitor: visitor ^ 0xffff,
        now_ms: now,
        page: Some(page),
        group: None,
        identified: false,
        user: None,
        ttl_ms: 30 * 60 * 1000,
        visit_timeout_ms: 30 * 60 * 1000,
        new_session_id: rand::random::<i64>() & i64::MAX,
        new_session_started_ms: now,
    }
}

/// The same touch at another time, with a fresh id in case it opens a session.
fn at<'a>(t: &Touch<'a>, now_ms: i64) -> Touch<'a> {
    Touch { now_ms, new_session_id: t.new_session_id + 1, new_session_started_ms: now_ms, ..t.clone() }
}

async fn touches_within_the_timeout_share_one_session(store: &dyn SessionStore) {
    let site = site();
    let first = store.touch(&touch(site, 1, "/")).await.unwrap();
    assert!(first.is_new);
    let second = store.touch(&touch(site, 1, "/next")).await.unwrap();
    assert!(!second.is_new);
    assert_eq!(second.session_id, first.session_id);
    assert_eq!(second.started_ms, first.started_ms);
    let other = store.touch(&touch(site, 2, "/")).await.unwrap();
    assert_ne!(other.session_id, first.session_id, "another visitor has another session");
}

async fn a_touch_after_the_timeout_opens_a_new_session(store: &dyn SessionStore) {
    let site = site();
    let mut t = touch(site, 7, "/");
    t.ttl_ms = 150;
    t.visit_timeout_ms = 150;
    let first = store.touch(&t).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let later = store.touch(&at(&t, now())).await.unwrap();
    assert!(later.is_new);
    assert_ne!(later.session_id, first.session_id);
}

async fn a_session_open_at_midnight_continues_under_the_new_days_hash(store: &dyn SessionStore) {
    let site = site();
    let yesterday = store.touch(&touch(site, 100, "/")).await.unwrap();
    let mut after_midnight = touch(site, 200, "/");
    after_midnight.previous_visitor = 100;
    let continued = store.touch(&after_midnight).await.unwrap();
    assert!(!continued.is_new);
    assert_eq!(continued.session_id, yesterday.session_id);
    // Present once, under the new hash only.
    assert_eq!(store.presence(site, Scope::Site, now()).await.unwrap().visitors(), 1);
}

async fn presence_counts_site_page_and_group_with_identified_split(store: &dyn SessionStore) {
    let site = site();
    let mut a = touch(site, 1, "/a");
    a.group = Some("community:montreal");
    store.touch(&a).await.unwrap();
    store.touch(&touch(site, 2, "/a")).await.unwrap();
    let mut c = touch(site, 3, "/b");
    c.identified = true;
    c.group = Some("community:montreal");
    store.touch(&c).await.unwrap();
    let n = now();
    let whole = store.presence(site, Scope::Site, n).await.unwrap();
    assert_eq!((whole.anonymous, whole.identified), (2, 1));
    assert_eq!(store.presence(site, Scope::Page("/a"), n).await.unwrap().visitors(), 2);
    let group = store.presence(site, Scope::Group("community:montreal"), n).await.unwrap();
    assert_eq!((group.anonymous, group.identified), (1, 1));
    // Visitor 2 moves on: counted on the new page only.
    store.touch(&touch(site, 2, "/b")).await.unwrap();
    let n = now();
    assert_eq!(store.presence(site, Scope::Page("/a"), n).await.unwrap().visitors(), 1);
    assert_eq!(store.presence(site, Scope::Page("/b"), n).await.unwrap().visitors(), 2);
    assert_eq!(store.presence(site, Scope::Site, n).await.unwrap().visitors(), 3);
    // Five minutes later nobody is here.
    let later = n + 5 * 60 * 1000 + 1;
    assert_eq!(store.presence(site, Scope::Site, later).await.unwrap().visitors(), 0);
    assert_eq!(store.presence(UNKNOWN_SITE, Scope::Site, n).await.unwrap().visitors(), 0);
}

fn split(identified: u64, anonymous: u64) -> Presence {
    Presence { identified, anonymous }
}

async fn live_lists_pages_and_groups_most_visited_first(store: &dyn SessionStore) {
    let site = site();
    let mut one = touch(site, 1, "/a");
    one.group = Some("community:montreal");
    store.touch(&one).await.unwrap();
    store.touch(&touch(site, 2, "/a")).await.unwrap();
    let mut three = touch(site, 3, "/b");
    three.identified = true;
    three.group = Some("community:montreal");
    store.touch(&three).await.unwrap();
    let mut four = touch(site, 4, "/c");
    four.group = Some("jobs");
    store.touch(&four).await.unwrap();
    let live = store.live(site, now()).await.unwrap();
    assert_eq!(
        live,
        LiveSnapshot {
            site: split(1, 3),
            pages: vec![("/a".into(), 2), ("/b".into(), 1), ("/c".into(), 1)],
            groups: vec![("community:montreal".into(), split(1, 1)), ("jobs".into(), split(0, 1))],
        }
    );
    // Visitor 2 moves on; visitor 4 leaves its group for another.
    store.touch(&touch(site, 2, "/b")).await.unwrap();
    let mut four = touch(site, 4, "/c");
    four.group = Some("community:montreal");
    store.touch(&four).await.unwrap();
    let live = store.live(site, now()).await.unwrap();
    assert_eq!(live.pages, vec![("/b".into(), 2), ("/a".into(), 1), ("/c".into(), 1)]);
    assert_eq!(live.groups, vec![("community:montreal".into(), split(1, 2))]);
    // An event that names no group keeps visitor 4 in its group; a page view in no group takes it out.
    let mut report = touch(site, 4, "/c");
    report.page = None;
    store.touch(&report).await.unwrap();
    assert_eq!(store.live(site, now()).await.unwrap().groups, vec![("community:montreal".into(), split(1, 2))]);
    let mut elsewhere = touch(site, 4, "/d");
    elsewhere.group = Some("");
    store.touch(&elsewhere).await.unwrap();
    let live = store.live(site, now()).await.unwrap();
    assert_eq!(live.groups, vec![("community:montreal".into(), split(1, 1))]);
    // Five minutes later nobody is here; an unknown site has nobody.
    let later = now() + 5 * 60 * 1000 + 1;
    assert_eq!(store.live(site, later).await.unwrap(), LiveSnapshot::default());
    assert_eq!(store.live(UNKNOWN_SITE, now()).await.unwrap(), LiveSnapshot::default());
}

async fn live_lists_are_capped_keeping_the_most_visited(store: &dyn SessionStore) {
    let site = site();
    let pages: Vec<String> = (0..LIVE_LIMIT + 5).map(|i| format!("/p{i:03}")).collect();
    for (i, page) in pages.iter().enumerate() {
        store.touch(&touch(site, 1000 + i as u64, page)).await.unwrap();
    }
    // A second visitor on the last page puts it first.
    store.touch(&touch(site, 5000, &pages[LIVE_LIMIT + 4])).await.unwrap();
    let live = store.live(site, now()).await.unwrap();
    assert_eq!(live.site.visitors(), LIVE_LIMIT as u64 + 6);
    assert_eq!(live.pages.len(), LIVE_LIMIT);
    assert_eq!(live.pages[0], (pages[LIVE_LIMIT + 4].clone(), 2));
    // Ties by name: the first names are kept.
    assert_eq!(live.pages[1], (pages[0].clone(), 1));
    assert_eq!(live.pages[LIVE_LIMIT - 1], (pages[LIVE_LIMIT - 2].clone(), 1));
}

async fn an_identified_session_stays_identified(store: &dyn SessionStore) {
    let site = site();
    let mut identify = touch(site, 77, "/account");
    identify.identified = true;
    identify.group = Some("members");
    store.touch(&identify).await.unwrap();
    // The next page view carries no user id: the visitor is still the identified one, counted once.
    store.touch(&touch(site, 77, "/next")).await.unwrap();
    let n = now();
    let whole = store.presence(site, Scope::Site, n).await.unwrap();
    assert_eq!(whole, split(1, 0));
    assert_eq!(store.presence(site, Scope::Page("/next"), n).await.unwrap(), split(1, 0));
    assert_eq!(store.presence(site, Scope::Page("/account"), n).await.unwrap().visitors(), 0);
    let live = store.live(site, n).await.unwrap();
    assert_eq!(live.site, split(1, 0));
    assert_eq!(live.pages, vec![("/next".into(), 1)]);
    assert_eq!(live.groups, vec![("members".into(), split(1, 0))]);
}

async fn the_days_salt_is_created_once_and_then_stable(store: &dyn SessionStore) {
    // A day no earlier run can have salted (salts live 48 h in the shared Redis).
    let day = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap()
        + chrono::Days::new(rand::random::<u32>() as u64 % 50_000_000);
    let offered: [u8; 32] = rand::random();
    let first = store.salt(day, offered).await.unwrap();
    assert_eq!(first, offered, "the first candidate offered for a day becomes its salt");
    assert_eq!(store.salt(day, rand::random()).await.unwrap(), first, "later candidates get the stored one");
    let next_day = store.salt(day.succ_opt().unwrap(), rand::random()).await.unwrap();
    assert_ne!(next_day, first);
    store.ping().await.unwrap();
}

/// Backfilled events carry their own times: two visits two hours apart are two sessions even when they arrive
/// a millisecond apart.
async fn event_times_decide_the_timeout_for_backfills(store: &dyn SessionStore) {
    let site = site();
    let mut t = touch(site, 11, "/");
    t.now_ms = now() - 6 * 3_600_000;
    t.new_session_started_ms = t.now_ms;
    let morning = store.touch(&t).await.unwrap();
    t.now_ms += 10 * 60_000;
    t.new_session_id += 1;
    t.new_session_started_ms = t.now_ms;
    assert_eq!(store.touch(&t).await.unwrap().session_id, morning.session_id, "ten minutes later: same visit");
    t.now_ms += 2 * 3_600_000;
    t.new_session_id += 1;
    t.new_session_started_ms = t.now_ms;
    let later = store.touch(&t).await.unwrap();
    assert!(later.is_new, "two hours later: a new visit");
    assert_ne!(later.session_id, morning.session_id);
}

/// After `identify` the store keeps who the visitor is for 4 h; the visit itself still ends after 30 minutes of
/// inactivity. The next visit is new, and the same user's, as is the presence it counts under.
async fn an_identity_outlives_its_visit(store: &dyn SessionStore) {
    let site = site();
    let mut t = touch(site, 12, "/");
    t.now_ms = now() - 6 * 3_600_000;
    t.new_session_started_ms = t.now_ms;
    let first = store.touch(&t).await.unwrap();
    assert_eq!(first.user, None);
    t.identified = true;
    t.user = Some("c0ffee");
    t.ttl_ms = 4 * 3_600_000;
    t.now_ms += 60_000;
    let identified = store.touch(&t).await.unwrap();
    assert_eq!((identified.session_id, identified.user.as_deref()), (first.session_id, Some("c0ffee")));
    t.identified = false;
    t.user = None;
    t.ttl_ms = 30 * 60 * 1000;
    t.now_ms += 20 * 60_000;
    let later = store.touch(&t).await.unwrap();
    assert_eq!((later.session_id, later.user.as_deref()), (first.session_id, Some("c0ffee")), "same visit");
    t.now_ms += 3 * 3_600_000;
    t.new_session_id += 1;
    t.new_session_started_ms = t.now_ms;
    let back = store.touch(&t).await.unwrap();
    assert!(back.is_new, "three hours later: a new visit");
    assert_eq!((back.session_id, back.started_ms), (t.new_session_id, t.now_ms));
    assert_eq!(back.user.as_deref(), Some("c0ffee"), "of the same user");
    t.now_ms += 5 * 3_600_000;
    t.new_session_id += 1;
    t.new_session_started_ms = t.now_ms;
    let gone = store.touch(&t).await.unwrap();
    assert!(gone.is_new);
    assert_eq!(gone.user, None, "four hours after the last event the identity is gone");
}

/// Identified presence holds over the user's visits while the identity is kept.
async fn the_next_visit_of_an_identified_visitor_counts_as_identified(store: &dyn SessionStore) {
    let site = site();
    let mut t = touch(site, 14, "/account");
    t.now_ms = now() - 3_600_000;
    t.new_session_started_ms = t.now_ms;
    t.identified = true;
    t.user = Some("beef");
    t.ttl_ms = 4 * 3_600_000;
    store.touch(&t).await.unwrap();
    let mut back = touch(site, 14, "/again");
    back.new_session_id = t.new_session_id + 1;
    let visit = store.touch(&back).await.unwrap();
    assert!(visit.is_new);
    assert_eq!(visit.user.as_deref(), Some("beef"));
    assert_eq!(store.presence(site, Scope::Site, now()).await.unwrap(), split(1, 0));
}

/// A store that lost a visit (Redis restarted empty) is handed its id and start by the collector that knows it:
/// the visit continues under them, and the event is not the start of a visit.
async fn a_lost_visit_handed_back_continues_under_its_id_and_start(store: &dyn SessionStore) {
    let site = site();
    let mut t = touch(site, 13, "/during");
    let began = t.now_ms - 10 * 60_000;
    t.new_session_started_ms = began;
    let adopted = store.touch(&t).await.unwrap();
    assert_eq!((adopted.session_id, adopted.started_ms), (t.new_session_id, began));
    assert!(!adopted.is_new, "the visit began ten minutes ago, elsewhere");
    let next = store.touch(&at(&t, t.now_ms + 1)).await.unwrap();
    assert_eq!((next.session_id, next.started_ms, next.is_new), (t.new_session_id, began, false));
    // A visit the store still has wins over the one handed in.
    let mut other = at(&t, t.now_ms + 2);
    other.new_session_started_ms = began - 60_000;
    assert_eq!(store.touch(&other).await.unwrap().session_id, t.new_session_id);
    assert_eq!(store.presence(site, Scope::Site, now()).await.unwrap().visitors(), 1);
}

/// A deleted site leaves nothing behind: its presence and its visitors' sessions (identities included) are
/// gone, other sites keep theirs, and forgetting a site the store never saw is no error.
async fn a_forgotten_site_keeps_no_presence_and_no_sessions(store: &dyn SessionStore) {
    let (gone, kept) = (site(), site());
    let mut member = touch(gone, 1, "/a");
    member.identified = true;
    member.user = Some("f00d");
    member.group = Some("members");
    let first = store.touch(&member).await.unwrap();
    for visitor in 2..8 {
        store.touch(&touch(gone, visitor, "/b")).await.unwrap();
    }
    store.touch(&touch(kept, 1, "/a")).await.unwrap();
    assert_eq!(store.live(gone, now()).await.unwrap().site.visitors(), 7);

    store.forget_site(gone).await.unwrap();
    let n = now();
    assert_eq!(store.live(gone, n).await.unwrap(), LiveSnapshot::default());
    assert_eq!(store.presence(gone, Scope::Site, n).await.unwrap().visitors(), 0);
    assert_eq!(store.presence(gone, Scope::Page("/a"), n).await.unwrap().visitors(), 0);
    assert_eq!(store.presence(gone, Scope::Group("members"), n).await.unwrap().visitors(), 0);
    let back = store.touch(&at(&touch(gone, 1, "/a"), n)).await.unwrap();
    assert!(back.is_new, "the visit is gone");
    assert_ne!(back.session_id, first.session_id);
    assert_eq!(back.user, None, "and so is who the visitor was");
    assert_eq!(store.live(gone, now()).await.unwrap().site, split(0, 1), "counted afresh, anonymous");
    assert_eq!(store.live(kept, now()).await.unwrap().pages, vec![("/a".into(), 1)], "other sites keep theirs");
    store.forget_site(UNKNOWN_SITE).await.unwrap();
}

/// A visitor who asked to be forgotten: their session (under today's and yesterday's hash), identity and
/// presence in every scope go at once; the store answers the session id it held; other visitors stay.
async fn a_forgotten_visitor_keeps_no_session_and_no_presence(store: &dyn SessionStore) {
    let site = site();
    let mut me = touch(site, 11, "/private");
    me.identified = true;
    me.user = Some("beef");
    me.group = Some("members");
    let mine = store.touch(&me).await.unwrap();
    store.touch(&touch(site, 12, "/private")).await.unwrap();
    // Visitor 13's visit, still held under yesterday's hash (it began before midnight, no event since).
    let yesterday = store.touch(&touch(site, 13 ^ 0xffff, "/old")).await.unwrap();
    assert_eq!(store.live(site, now()).await.unwrap().site, split(1, 2));

    let mut forgotten = store.forget_visitor(site, 11, 11 ^ 0xffff).await.unwrap();
    forgotten.sort_unstable();
    assert_eq!(forgotten, vec![mine.session_id]);
    let n = now();
    assert_eq!(store.presence(site, Scope::Site, n).await.unwrap(), split(0, 2));
    assert_eq!(store.presence(site, Scope::Page("/private"), n).await.unwrap().visitors(), 1);
    assert_eq!(store.presence(site, Scope::Group("members"), n).await.unwrap().visitors(), 0);
    let back = store.touch(&at(&touch(site, 11, "/private"), n)).await.unwrap();
    assert!(back.is_new && back.session_id != mine.session_id, "the next event opens a new visit");
    assert_eq!(back.user, None, "and who the visitor was is forgotten too");

    // Under yesterday's hash: the visit carried into today is found and forgotten as well.
    assert_eq!(store.forget_visitor(site, 13, 13 ^ 0xffff).await.unwrap(), vec![yesterday.session_id]);
    assert_eq!(store.presence(site, Scope::Page("/old"), now()).await.unwrap().visitors(), 0);
    assert_eq!(store.forget_visitor(site, 99, 98).await.unwrap(), Vec::<i64>::new(), "nobody: nothing, no error");
}

async fn contract(store: Arc<dyn SessionStore>) {
    a_forgotten_visitor_keeps_no_session_and_no_presence(store.as_ref()).await;
    a_lost_visit_handed_back_continues_under_its_id_and_start(store.as_ref()).await;
    touches_within_the_timeout_share_one_session(store.as_ref()).await;
    a_touch_after_the_timeout_opens_a_new_session(store.as_ref()).await;
    a_session_open_at_midnight_continues_under_the_new_days_hash(store.as_ref()).await;
    presence_counts_site_page_and_group_with_identified_split(store.as_ref()).await;
    live_lists_pages_and_groups_most_visited_first(store.as_ref()).await;
    live_lists_are_capped_keeping_the_most_visited(store.as_ref()).await;
    an_identified_session_stays_identified(store.as_ref()).await;
    event_times_decide_the_timeout_for_backfills(store.as_ref()).await;
    an_identity_outlives_its_visit(store.as_ref()).await;
    the_next_visit_of_an_identified_visitor_counts_as_identified(store.as_ref()).await;
    the_days_salt_is_created_once_and_then_stable(store.as_ref()).await;
    a_forgotten_site_keeps_no_presence_and_no_sessions(store.as_ref()).await;
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
async fn forgetting_a_site_leaves_no_redis_key_of_it() {
    let store =
        RedisStore::connect(&redis_url(), Duration::from_secs(2)).await.expect("Redis must be running for this test");
    let site = site();
    let mut grouped = touch(site, 1, "/a");
    grouped.group = Some("members");
    grouped.identified = true;
    store.touch(&grouped).await.unwrap();
    for visitor in 2..1500 {
        store.touch(&touch(site, visitor, &format!("/p{}", visitor % 7))).await.unwrap();
    }
    let mut conn = redis::Client::open(redis_url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let keys_of_site = format!("ff:*{{{site}}}*");
    let before: Vec<String> = redis::cmd("KEYS").arg(&keys_of_site).query_async(&mut conn).await.unwrap();
    assert!(before.len() > 1500, "sessions, presence sets and indexes ({} keys)", before.len());
    store.forget_site(site).await.unwrap();
    let after: Vec<String> = redis::cmd("KEYS").arg(&keys_of_site).query_async(&mut conn).await.unwrap();
    assert_eq!(after, Vec::<String>::new());
}

#[tokio::test]
async fn two_redis_clients_agree_on_salts_and_sessions() {
    let a =
        RedisStore::connect(&redis_url(), Duration::from_secs(2)).await.expect("Redis must be running for this test");
    let b = RedisStore::connect(&redis_url(), Duration::from_secs(2)).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2031, 1, 1).unwrap() + chrono::Days::new(rand::random::<u16>() as u64);
    assert_eq!(a.salt(day, rand::random()).await.unwrap(), b.salt(day, rand::random()).await.unwrap());
    let site = site();
    let first = a.touch(&touch(site, 9, "/")).await.unwrap();
    let second = b.touch(&touch(site, 9, "/x")).await.unwrap();
    assert_eq!(first.session_id, second.session_id);
}
