//! API keys: created once and shown once; only a BLAKE3 hash is stored. Keys are 32 random bytes, so a fast
//! unsalted hash is enough (there is nothing to brute-force), and lookup is by that hash.
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use subtle::ConstantTimeEq;

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

pub fn hash(key: &str) -> String {
    blake3::hash(key.as_bytes()).to_hex().to_string()
}

/// Creates a key and returns it in clear text — the only time it exists in clear.
pub async fn create(db: &DatabaseConnection, scope: Scope, site_id: Option<i64>) -> Result<String, StoreError> {
    Ok(create_with_info(db, scope, site_id).await?.1)
}

/// [`create`], also answering what the key list will show about the key.
pub async fn create_with_info(
    db: &DatabaseConnection,
    scope: Scope,
    site_id: Option<i64>,
) -> Result<(KeyInfo, String), StoreError> {
    let secret: [u8; 32] = rand::random();
    let key = format!("{PREFIX}{}", hex::encode(secret));
    let m = api_keys::ActiveModel {
        prefix: Set(key[..10].to_owned()),
        key_hash: Set(hash(&key)),
        scope: Set(scope.as_str().into()),
        site_id: Set(site_id),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((KeyInfo::from(m), key))
}

/// Whether `key` has the shape of a key (so malformed ones never reach SQL).
pub fn well_formed(key: &str) -> bool {
    key.starts_with(PREFIX) && key.len() == PREFIX.len() + 64
}

/// `Ok(None)` for an unknown or malformed key.
pub async fn verify(db: &DatabaseConnection, key: &str) -> Result<Option<ApiKey>, StoreError> {
    if !well_formed(key) {
        return Ok(None);
    }
    let key_hash = hash(key);
    let found = api_keys::Entity::find().filter(api_keys::Column::KeyHash.eq(&key_hash)).one(db).await?;
    Ok(found
        // Found by equality in the index; compared again in constant time so the check itself leaks nothing.
        .filter(|m| bool::from(m.key_hash.as_bytes().ct_eq(key_hash.as_bytes())))
        .and_then(|m| Some(ApiKey { id: m.id, scope: Scope::parse(&m.scope)?, site_id: m.site_id })))
}

/// A key as the management API lists it: never the key itself, only its first characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub id: i64,
    pub prefix: String,
    pub scope: String,
    /// The site's internal id; the management API shows the public id instead.
    #[serde(skip)]
    pub site_id: Option<i64>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<api_keys::Model> for KeyInfo {
    fn from(m: api_keys::Model) -> KeyInfo {
        KeyInfo {
            id: m.id,
            prefix: m.prefix,
            scope: m.scope,
            site_id: m.site_id,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
        }
    }
}

/// Keys restricted to one of these sites, oldest first.
pub async fn list_for_sites(db: &DatabaseConnection, site_ids: &[i64]) -> Result<Vec<KeyInfo>, StoreError> {
    let rows = api_keys::Entity::find()
        .filter(api_keys::Column::SiteId.is_in(site_ids.iter().copied()))
        .order_by_asc(api_keys::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(KeyInfo::from).collect())
}

/// Every key of the instance, all-sites ones included, oldest first (`footfall key list`).
pub async fn list_all(db: &DatabaseConnection) -> Result<Vec<KeyInfo>, StoreError> {
    let rows = api_keys::Entity::find().order_by_asc(api_keys::Column::Id).all(db).await?;
    Ok(rows.into_iter().map(KeyInfo::from).collect())
}

/// One key as the list shows it, `None` if there is no such key.
pub async fn find_info(db: &DatabaseConnection, id: i64) -> Result<Option<KeyInfo>, StoreError> {
    Ok(api_keys::Entity::find_by_id(id).one(db).await?.map(KeyInfo::from))
}

/// The site a key is restricted to: `Some(None)` for an instance-wide key, `None` if there is no such key.
pub async fn site_of(db: &DatabaseConnection, id: i64) -> Result<Option<Option<i64>>, StoreError> {
    Ok(api_keys::Entity::find_by_id(id).one(db).await?.map(|m| m.site_id))
}

pub async fn delete(db: &DatabaseConnection, id: i64) -> Result<bool, StoreError> {
    Ok(api_keys::Entity::delete_by_id(id).exec(db).await?.rows_affected > 0)
}

/// Records that a key was used. Called when a verification reaches SQL (at most once per cache period), so
/// `last_used_at` is exact to that period.
pub async fn touch(db: &DatabaseConnection, id: i64) -> Result<(), StoreError> {
    api_keys::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id),
        last_used_at: Set(Some(now_ms())),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}
