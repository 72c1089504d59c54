//! Dashboard sign-ins: the cookie carries 32 random bytes (hex); only their BLAKE3 hash is stored, so a copy of
//! the database does not let anyone sign in. A sign-in ends at `expires_at` (fixed when it starts) or at
//! logout; `last_seen_at` is updated at most every few minutes, not on every request.
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use subtle::ConstantTimeEq;

use super::entities::auth_sessions;
use super::users::{self, User};
use super::{now_ms, StoreError};

/// How stale `last_seen_at` may get before a request refreshes it.
const TOUCH_EVERY_MS: i64 = 5 * 60 * 1000;

pub fn hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// A valid sign-in and its account.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session_id: i64,
    pub user: User,
}

/// Starts a sign-in; returns the cookie value — the only time it exists in clear.
pub async fn create(db: &DatabaseConnection, user_id: i64, lifetime_ms: i64) -> Result<String, StoreError> {
    let token = hex::encode(rand::random::<[u8; 32]>());
    let now = now_ms();
    auth_sessions::ActiveModel {
        token_hash: Set(hash(&token)),
        user_id: Set(user_id),
        created_at: Set(now),
        expires_at: Set(now + lifetime_ms),
        last_seen_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(token)
}

/// The sign-in a cookie value belongs to, if it exists and has not expired.
pub async fn find(db: &DatabaseConnection, token: &str) -> Result<Option<SignedIn>, StoreError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let token_hash = hash(token);
    let Some(row) =
        auth_sessions::Entity::find().filter(auth_sessions::Column::TokenHash.eq(&token_hash)).one(db).await?
    else {
        return Ok(None);
    };
    let now = now_ms();
    // The index found the row by equality; compare again in constant time so the check itself leaks nothing.
    if !bool::from(row.token_hash.as_bytes().ct_eq(token_hash.as_bytes())) || row.expires_at <= now {
        return Ok(None);
    }
    let Some(user) = users::find(db, row.user_id).await? else { return Ok(None) };
    if now - row.last_seen_at > TOUCH_EVERY_MS {
        auth_sessions::ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(row.id),
            last_seen_at: Set(now),
            ..Default::default()
        }
        .update(db)
        .await?;
    }
    Ok(Some(SignedIn { session_id: row.id, user }))
}

/// Ends a sign-in (logout). Unknown tokens are not an error: the result is the same.
pub async fn delete(db: &DatabaseConnection, token: &str) -> Result<(), StoreError> {
    auth_sessions::Entity::delete_many().filter(auth_sessions::Column::TokenHash.eq(hash(token))).exec(db).await?;
    Ok(())
}

/// Ends every sign-in of an account (its password changed, or the account goes); answers how many there were.
pub async fn delete_for_user(db: &impl ConnectionTrait, user_id: i64) -> Result<u64, StoreError> {
    let result =
        auth_sessions::Entity::delete_many().filter(auth_sessions::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(result.rows_affected)
}

/// Ends every sign-in of an account but `keep` (the one that changed the password stays signed in).
pub async fn delete_for_user_except(
    db: &impl ConnectionTrait,
    user_id: i64,
    keep: Option<i64>,
) -> Result<u64, StoreError> {
    let mut delete = auth_sessions::Entity::delete_many().filter(auth_sessions::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        delete = delete.filter(auth_sessions::Column::Id.ne(keep));
    }
    Ok(delete.exec(db).await?.rows_affected)
}

/// Removes expired sign-ins; run periodically (any collector may, it is idempotent).
pub async fn delete_expired(db: &DatabaseConnection) -> Result<u64, StoreError> {
    let result =
        auth_sessions::Entity::delete_many().filter(auth_sessions::Column::ExpiresAt.lte(now_ms())).exec(db).await?;
    Ok(result.rows_affected)
}
