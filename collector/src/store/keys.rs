//! API keys: created once and shown once; only a BLAKE3 hash is stored. Keys are 32 random bytes, so a fast
//! unsalted hash is enough (there is nothing to brute-force), and lookup is by that hash.
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::entities::api_keys;
use super::{now_ms, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    StatsRead,
    SitesWrite,
    EventsWrite,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::StatsRead => "stats:read",
            Scope::SitesWrite => "sites:write",
            Scope::EventsWrite => "events:write",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        [Scope::StatsRead, Scope::SitesWrite, Scope::EventsWrite].into_iter().find(|s| s.as_str() == text)
    }
}

/// A verified key: what it may do, and for which site (`None` = all sites).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: i64,
    pub scope: Scope,
    pub site_id: Option<i64>,
}

impl ApiKey {
    pub fn allows(&self, scope: Scope, site_id: i64) -> bool {
        self.scope == scope && self.site_id.is_none_or(|s| s == site_id)
    }
}

const PREFIX: &str = "ff_";

fn hash(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex().to_string()
}

/// Creates a key and returns it in clear text — the only time it exists in clear.
pub async fn create(db: &DatabaseConnection, scope: Scope, site_id: Option<i64>) -> Result<String, StoreError> {
    let secret: [u8; 32] = rand::random();
    let key = format!("{PREFIX}{}", hex::encode(secret));
    api_keys::ActiveModel {
        prefix: Set(key[..10].to_owned()),
        key_hash: Set(hash(&key)),
        scope: Set(scope.as_str().into()),
        site_id: Set(site_id),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(key)
}

/// `Ok(None)` for an unknown or malformed key.
pub async fn verify(db: &DatabaseConnection, key: &str) -> Result<Option<ApiKey>, StoreError> {
    if !key.starts_with(PREFIX) || key.len() != PREFIX.len() + 64 {
        return Ok(None);
    }
    let found = api_keys::Entity::find().filter(api_keys::Column::KeyHash.eq(hash(key))).one(db).await?;
    Ok(found.and_then(|m| Some(ApiKey { id: m.id, scope: Scope::parse(&m.scope)?, site_id: m.site_id })))
}
