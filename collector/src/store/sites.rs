//! Sites: creation, and the read-through cache the ingestion pipeline's first step uses.
//!
//! The whole sites table is small; the cache keeps every site in memory and refreshes it in the background,
//! so ingestion keeps working for known sites while SQL is down.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rand::Rng;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Deserialize;

use super::entities::sites;
use super::{now_ms, StoreError};

/// A site as the pipeline needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub id: i64,
    pub public_id: String,
    pub domain: String,
    pub allowed_hostnames: Vec<String>,
    pub timezone: chrono_tz::Tz,
    pub retention_days: i32,
    pub respect_dnt: bool,
    pub hash_routing: bool,
    pub public_presence: bool,
    /// Visitors may read and forget their own visit (`/api/v1/visitors/session/current`).
    pub public_current_session: bool,
    pub audience_rules: Vec<crate::enrich::audience::Rule>,
}

impl Site {
    fn from_model(m: sites::Model) -> Site {
        Site {
            id: m.id,
            allowed_hostnames: serde_json::from_str(&m.allowed_hostnames).unwrap_or_default(),
            timezone: m.timezone.parse().unwrap_or(chrono_tz::UTC),
            public_id: m.public_id,
            domain: m.domain,
            retention_days: m.retention_days,
            respect_dnt: m.respect_dnt,
            hash_routing: m.hash_routing,
            public_presence: m.public_presence,
            public_current_session: m.public_current_session,
            audience_rules: serde_json::from_str(&m.audience_rules).unwrap_or_default(),
        }
    }

    /// The site's domain and its subdomains, plus any listed host (`*.example.org` matches subdomains).
    pub fn allows_hostname(&self, host: &str) -> bool {
        let matches = |pattern: &str| match pattern.strip_prefix("*.") {
            Some(base) => host.ends_with(&format!(".{base}")) || host == base,
            None => host == pattern,
        };
        host == self.domain
            || host.ends_with(&format!(".{}", self.domain))
            || self.allowed_hostnames.iter().any(|p| matches(p))
    }
}

pub struct NewSite<'a> {
    pub domain: &'a str,
    pub public_id: Option<&'a str>,
    pub timezone: Option<&'a str>,
}

/// Creates a site without an owner (the CLI, instance-wide keys): it belongs to the administrator account.
pub async fn create(db: &DatabaseConnection, new: NewSite<'_>) -> Result<Site, StoreError> {
    create_owned(db, new, None).await
}

/// Creates a site owned by account `owner` (`None`: the administrator's).
pub async fn create_owned(db: &DatabaseConnection, new: NewSite<'_>, owner: Option<i64>) -> Result<Site, StoreError> {
    let domain = clean_domain(new.domain);
    if !valid_hostname(&domain) {
        return Err(StoreError::Invalid(format!("`{}` is not a domain name", new.domain)));
    }
    let public_id = match new.public_id {
        Some(id) if valid_public_id(id) => id.to_owned(),
        Some(id) => {
            return Err(StoreError::Invalid(format!("`{id}` is not a valid site id (1-64 of a-z A-Z 0-9 - _ .)")))
        }
        None => generate_public_id(),
    };
    let timezone = new.timezone.unwrap_or("UTC");
    if timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(StoreError::Invalid(format!("`{timezone}` is not an IANA time zone")));
    }
    if sites::Entity::find().filter(sites::Column::PublicId.eq(&public_id)).one(db).await?.is_some() {
        return Err(StoreError::Conflict(format!("site `{public_id}`")));
    }
    let model = sites::ActiveModel {
        public_id: Set(public_id),
        domain: Set(domain),
        allowed_hostnames: Set("[]".into()),
        timezone: Set(timezone.into()),
        retention_days: Set(90),
        // Do-Not-Track and Global Privacy Control are honoured unless the owner decides otherwise.
        respect_dnt: Set(true),
        hash_routing: Set(false),
        public_presence: Set(false),
        public_current_session: Set(false),
        created_at: Set(now_ms()),
        audience_rules: Set("[]".into()),
        owner_user_id: Set(owner),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Site::from_model(model))
}

/// The domain a person means when they type or paste it: `https://Shop.Example.org/pricing` is
/// `shop.example.org`. The scheme and anything from the path on are dropped, the case and a final dot too;
/// the dashboard's form, the management API and `footfall site add` all create sites through this.
pub fn clean_domain(input: &str) -> String {
    let trimmed = input.trim();
    let lower = trimmed.to_ascii_lowercase();
    let without_scheme = ["https://", "http://"]
        .iter()
        .find_map(|scheme| lower.starts_with(scheme).then(|| &trimmed[scheme.len()..]))
        .unwrap_or(trimmed);
    let host = without_scheme.split(['/', '?', '#']).next().unwrap_or_default();
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A host name: dot-separated labels of letters, digits and inner hyphens (`localhost` included).
pub fn valid_hostname(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

pub fn valid_public_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

fn generate_public_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..12).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

pub async fn find(db: &DatabaseConnection, public_id: &str) -> Result<Option<Site>, StoreError> {
    Ok(find_model(db, public_id).await?.map(Site::from_model))
}

/// An id no site can have is not looked up: it may hold what the database refuses to compare (PostgreSQL and
/// U+0000), which would turn "no such site" into a database error.
pub async fn find_model(db: &DatabaseConnection, public_id: &str) -> Result<Option<sites::Model>, StoreError> {
    if !valid_public_id(public_id) {
        return Ok(None);
    }
    Ok(sites::Entity::find().filter(sites::Column::PublicId.eq(public_id)).one(db).await?)
}

/// The public id of the site with internal id `site_id` (what the API names a site by), if it still exists.
pub async fn public_id_of(db: &DatabaseConnection, site_id: i64) -> Result<Option<String>, StoreError> {
    Ok(sites::Entity::find_by_id(site_id).one(db).await?.map(|site| site.public_id))
}

/// Every site, oldest first (the management API filters them by who asks).
pub async fn list_models(db: &DatabaseConnection) -> Result<Vec<sites::Model>, StoreError> {
    Ok(sites::Entity::find().order_by_asc(sites::Column::Id).all(db).await?)
}

/// The most recently added site, if there is any.
pub async fn latest(db: &DatabaseConnection) -> Result<Option<Site>, StoreError> {
    let newest = sites::Entity::find().order_by_desc(sites::Column::Id).one(db).await?;
    Ok(newest.map(Site::from_model))
}

/// The sites account `user_id` itself owns (not the administrator's unowned ones), oldest first.
pub async fn owned_by(db: &DatabaseConnection, user_id: i64) -> Result<Vec<sites::Model>, StoreError> {
    Ok(sites::Entity::find()
        .filter(sites::Column::OwnerUserId.eq(user_id))
        .order_by_asc(sites::Column::Id)
        .all(db)
        .await?)
}

/// Hands the sites of account `user_id` to the administrator (sites without an owner are the administrator's).
pub async fn release_owned(db: &DatabaseConnection, user_id: i64) -> Result<u64, StoreError> {
    let released = sites::Entity::update_many()
        .col_expr(sites::Column::OwnerUserId, Expr::value(Option::<i64>::None))
        .filter(sites::Column::OwnerUserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(released.rows_affected)
}

/// The internal ids of the sites an account owns; the administrator also owns the sites without an owner.
pub async fn owned_ids(db: &impl ConnectionTrait, user_id: i64, is_admin: bool) -> Result<Vec<i64>, StoreError> {
    let mut owner = Condition::any().add(sites::Column::OwnerUserId.eq(user_id));
    if is_admin {
        owner = owner.add(sites::Column::OwnerUserId.is_null());
    }
    Ok(sites::Entity::find().select_only().column(sites::Column::Id).filter(owner).into_tuple().all(db).await?)
}

/// A change of a site's settings; absent fields stay as they are.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitePatch {
    pub allowed_hostnames: Option<Vec<String>>,
    pub timezone: Option<String>,
    pub retention_days: Option<i32>,
    pub respect_dnt: Option<bool>,
    pub hash_routing: Option<bool>,
    pub public_presence: Option<bool>,
    pub public_current_session: Option<bool>,
}

pub const MAX_ALLOWED_HOSTNAMES: usize = 50;
pub const MAX_RETENTION_DAYS: i32 = 3650;

/// Validates and applies a patch; `Ok(None)` if there is no such site.
pub async fn update(
    db: &DatabaseConnection,
    public_id: &str,
    patch: SitePatch,
) -> Result<Option<sites::Model>, StoreError> {
    let Some(model) = find_model(db, public_id).await? else { return Ok(None) };
    let (site_id, model_timezone) = (model.id, model.timezone.clone());
    let mut rezoned = false;
    let mut active: sites::ActiveModel = model.into();
    if let Some(hosts) = patch.allowed_hostnames {
        if hosts.len() > MAX_ALLOWED_HOSTNAMES {
            return Err(StoreError::Invalid(format!("at most {MAX_ALLOWED_HOSTNAMES} allowed hostnames")));
        }
        let mut clean = Vec::with_capacity(hosts.len());
        for host in hosts {
            let lower = host.trim().trim_end_matches('.').to_ascii_lowercase();
            if !valid_hostname(lower.strip_prefix("*.").unwrap_or(&lower)) {
                let shown: String = host.chars().take(64).collect();
                return Err(StoreError::Invalid(format!("`{shown}` is not a hostname (or *.domain)")));
            }
            if !clean.contains(&lower) {
                clean.push(lower);
            }
        }
        active.allowed_hostnames = Set(serde_json::Value::from(clean).to_string());
    }
    if let Some(tz) = patch.timezone {
        if tz.parse::<chrono_tz::Tz>().is_err() {
            let shown: String = tz.chars().take(64).collect();
            return Err(StoreError::Invalid(format!("`{shown}` is not an IANA time zone")));
        }
        rezoned = tz != model_timezone;
        active.timezone = Set(tz);
    }
    if let Some(days) = patch.retention_days {
        if !(1..=MAX_RETENTION_DAYS).contains(&days) {
            return Err(StoreError::Invalid(format!("retention_days must be 1..={MAX_RETENTION_DAYS}")));
        }
        active.retention_days = Set(days);
    }
    if let Some(v) = patch.respect_dnt {
        active.respect_dnt = Set(v);
    }
    if let Some(v) = patch.hash_routing {
        active.hash_routing = Set(v);
    }
    if let Some(v) = patch.public_presence {
        active.public_presence = Set(v);
    }
    if let Some(v) = patch.public_current_session {
        active.public_current_session = Set(v);
    }
    let txn = db.begin().await?;
    let updated = active.update(&txn).await?;
    if rezoned {
        // Rollups are cut at the site's local midnights: under another zone they are rebuilt from raw data.
        for table in [
            "rollups",
            "rollup_days",
            "visitor_rollups",
            "identified_rollups",
            "identified_returns",
            "visitor_rollup_days",
        ] {
            let mut delete = Query::delete();
            delete.from_table(Alias::new(table)).and_where(Expr::col(Alias::new("site_id")).eq(site_id));
            txn.execute(txn.get_database_backend().build(&delete)).await?;
        }
    }
    txn.commit().await?;
    Ok(Some(updated))
}

/// Tables holding a site's data, deleted with it (the site row last).
const SITE_TABLES: &[&str] = &[
    "events",
    "sessions",
    "identities",
    "rollups",
    "rollup_days",
    "visitor_rollups",
    "identified_rollups",
    "identified_returns",
    "visitor_rollup_days",
    "bot_ledger",
    "api_keys",
    "share_links",
    "site_members",
    "site_invitations",
    "forgotten_visits",
];

/// Deletes a site and everything stored for it, in one transaction; `false` if there is no such site.
pub async fn delete(db: &DatabaseConnection, site_id: i64) -> Result<bool, StoreError> {
    let txn = db.begin().await?;
    let backend = txn.get_database_backend();
    for table in SITE_TABLES {
        let sql = Query::delete()
            .from_table(Alias::new(*table))
            .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
            .to_owned();
        txn.execute(backend.build(&sql)).await?;
    }
    let deleted = sites::Entity::delete_by_id(site_id).exec(&txn).await?.rows_affected > 0;
    txn.commit().await?;
    Ok(deleted)
}

/// Unknown ids are remembered briefly, so random ids cannot turn beacons into SQL queries.
const NEGATIVE_TTL: Duration = Duration::from_secs(10);
pub const REFRESH_EVERY: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct SiteCache {
    db: DatabaseConnection,
    inner: Arc<RwLock<CacheState>>,
}

#[derive(Default)]
struct CacheState {
    sites: HashMap<String, Arc<Site>>,
    unknown: HashMap<String, Instant>,
}

impl SiteCache {
    pub fn new(db: DatabaseConnection) -> SiteCache {
        SiteCache { db, inner: Arc::default() }
    }

    /// Reloads every site; run at start and then periodically.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let all = sites::Entity::find().all(&self.db).await?;
        let sites = all.into_iter().map(|m| (m.public_id.clone(), Arc::new(Site::from_model(m)))).collect();
        let mut state = self.inner.write().unwrap_or_else(|p| p.into_inner());
        state.sites = sites;
        state.unknown.clear();
        Ok(())
    }

    /// Reads one site again right after the management API changed or deleted it, so the change applies at
    /// once on this collector (the others see it at their next refresh).
    pub async fn reload(&self, public_id: &str) -> Result<(), StoreError> {
        let found = find(&self.db, public_id).await?;
        let mut state = self.inner.write().unwrap_or_else(|p| p.into_inner());
        state.unknown.remove(public_id);
        match found {
            Some(site) => state.sites.insert(public_id.to_owned(), Arc::new(site)),
            None => state.sites.remove(public_id),
        };
        Ok(())
    }

    /// `Ok(None)`: no such site. `Err`: not in the cache and SQL could not be asked.
    pub async fn get(&self, public_id: &str) -> Result<Option<Arc<Site>>, StoreError> {
        if !valid_public_id(public_id) {
            // Nor is it remembered as unknown: the negative cache holds ids that could exist.
            return Ok(None);
        }
        {
            let state = self.inner.read().unwrap_or_else(|p| p.into_inner());
            if let Some(site) = state.sites.get(public_id) {
                return Ok(Some(site.clone()));
            }
            if state.unknown.get(public_id).is_some_and(|at| at.elapsed() < NEGATIVE_TTL) {
                return Ok(None);
            }
        }
        let found = find(&self.db, public_id).await?.map(Arc::new);
        let mut state = self.inner.write().unwrap_or_else(|p| p.into_inner());
        match &found {
            Some(site) => {
                state.sites.insert(public_id.to_owned(), site.clone());
            }
            None => {
                if state.unknown.len() > 10_000 {
                    state.unknown.clear();
                }
                state.unknown.insert(public_id.to_owned(), Instant::now());
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_address_is_cleaned_to_its_domain() {
        assert_eq!(clean_domain("https://Shop.Example.org/pricing?x=1"), "shop.example.org");
        assert_eq!(clean_domain("  HTTP://example.org.  "), "example.org");
        assert_eq!(clean_domain("example.org#top"), "example.org");
        assert_eq!(clean_domain("Blog.Example.org"), "blog.example.org");
        assert!(!valid_hostname(&clean_domain("ftp://example.org")), "other schemes are not guessed at");
        assert!(!valid_hostname(&clean_domain("https://")));
    }
}
