//! Sites: creation, and the read-through cache the ingestion pipeline's first step uses.
//!
//! The whole sites table is small; the cache keeps every site in memory and refreshes it in the background,
//! so ingestion keeps working for known sites while SQL is down.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

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

pub async fn create(db: &DatabaseConnection, new: NewSite<'_>) -> Result<Site, StoreError> {
    let domain = new.domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() || domain.len() > 253 || !domain.chars().all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
    {
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
        created_at: Set(now_ms()),
        audience_rules: Set("[]".into()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(Site::from_model(model))
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
    let model = sites::Entity::find().filter(sites::Column::PublicId.eq(public_id)).one(db).await?;
    Ok(model.map(Site::from_model))
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

    /// `Ok(None)`: no such site. `Err`: not in the cache and SQL could not be asked.
    pub async fn get(&self, public_id: &str) -> Result<Option<Arc<Site>>, StoreError> {
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
