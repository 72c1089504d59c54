//! Share links: a read-only capability for one site's stats. The token (`ffs_` + 64 hex) is shown once, in the
//! link; only its BLAKE3 hash is stored. Revoking deletes the row; an optional expiry ends it by itself.
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::entities::share_links;
use super::{now_ms, StoreError};

const PREFIX: &str = "ffs_";
pub const MAX_LABEL: usize = 128;

pub fn hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// A share link as its site's owner sees it (never with the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShareLink {
    pub id: i64,
    #[serde(skip)]
    pub site_id: i64,
    pub prefix: String,
    pub label: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

impl From<share_links::Model> for ShareLink {
    fn from(m: share_links::Model) -> ShareLink {
        ShareLink {
            id: m.id,
            site_id: m.site_id,
            prefix: m.prefix,
            label: m.label,
            created_at: m.created_at,
            expires_at: m.expires_at,
        }
    }
}

/// Creates a link; returns it and its token — the only time the token exists in clear.
pub async fn create(
    db: &DatabaseConnection,
    site_id: i64,
    label: &str,
    expires_at: Option<i64>,
) -> Result<(ShareLink, String), StoreError> {
    let label = label.trim();
    if label.chars().count() > MAX_LABEL || label.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "a label has at most {MAX_LABEL} characters and no control characters"
        )));
    }
    if expires_at.is_some_and(|at| at <= now_ms()) {
        return Err(StoreError::Invalid("the expiry must be in the future".into()));
    }
    let token = format!("{PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
    let model = share_links::ActiveModel {
        site_id: Set(site_id),
        token_hash: Set(hash(&token)),
        prefix: Set(token[..10].to_owned()),
        label: Set(label.to_owned()),
        created_at: Set(now_ms()),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((ShareLink::from(model), token))
}

pub async fn list(db: &DatabaseConnection, site_id: i64) -> Result<Vec<ShareLink>, StoreError> {
    let rows = share_links::Entity::find()
        .filter(share_links::Column::SiteId.eq(site_id))
        .order_by_asc(share_links::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(ShareLink::from).collect())
}

/// Every site's links, oldest first (`footfall share list` without `--site`).
pub async fn list_all(db: &DatabaseConnection) -> Result<Vec<ShareLink>, StoreError> {
    let rows = share_links::Entity::find().order_by_asc(share_links::Column::Id).all(db).await?;
    Ok(rows.into_iter().map(ShareLink::from).collect())
}

/// Link `id`, whichever site it is for.
pub async fn find(db: &DatabaseConnection, id: i64) -> Result<Option<ShareLink>, StoreError> {
    Ok(share_links::Entity::find_by_id(id).one(db).await?.map(ShareLink::from))
}

/// Revokes link `id` of the site; `false` if the site has no such link.
pub async fn delete(db: &DatabaseConnection, site_id: i64, id: i64) -> Result<bool, StoreError> {
    let result = share_links::Entity::delete_many()
        .filter(share_links::Column::SiteId.eq(site_id))
        .filter(share_links::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The link a token opens, if it exists and has not expired. `None` for malformed tokens without a query.
pub async fn verify(db: &DatabaseConnection, token: &str) -> Result<Option<ShareLink>, StoreError> {
    if !token.starts_with(PREFIX) || token.len() != PREFIX.len() + 64 {
        return Ok(None);
    }
    let token_hash = hash(token);
    let found = share_links::Entity::find().filter(share_links::Column::TokenHash.eq(&token_hash)).one(db).await?;
    Ok(found
        .filter(|m| bool::from(m.token_hash.as_bytes().ct_eq(token_hash.as_bytes())))
        .filter(|m| m.expires_at.is_none_or(|at| at > now_ms()))
        .map(ShareLink::from))
}
