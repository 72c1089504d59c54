//! Password reset links, made by the instance's administrator (in the dashboard or with `footfall user
//! reset-link`) for an account that lost its password — no email is sent, the administrator hands the link
//! over. A link (`ffr_` + 64 hex, shown once; only its BLAKE3 hash is stored) works once, for [`LIFETIME`];
//! a newer link of the same account replaces it. Setting the password ends every sign-in of the account.
use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, TransactionTrait,
};
use subtle::ConstantTimeEq;

use super::entities::password_resets;
use super::users::{self, User};
use super::{auth_sessions, now_ms, StoreError};

/// How long a reset link works.
pub const LIFETIME: Duration = Duration::from_secs(3600);
const PREFIX: &str = "ffr_";

fn hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// Makes a reset link for account `user_id`: its token (the only time it exists in clear) and when it
/// expires (epoch ms). Earlier links of the account stop working.
pub async fn create(db: &DatabaseConnection, user_id: i64) -> Result<(String, i64), StoreError> {
    let token = format!("{PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
    let now = now_ms();
    let expires_at = now + LIFETIME.as_millis() as i64;
    let txn = db.begin().await?;
    delete_for_user(&txn, user_id).await?;
    password_resets::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(hash(&token)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok((token, expires_at))
}

/// Sets the password of the account a valid link belongs to, uses the link up and ends the account's
/// sign-ins, in one transaction. `Ok(None)`: unknown, used or expired link.
pub async fn redeem(db: &DatabaseConnection, token: &str, password: &str) -> Result<Option<User>, StoreError> {
    if !token.starts_with(PREFIX) || token.len() != PREFIX.len() + 64 {
        return Ok(None);
    }
    let token_hash = hash(token);
    let Some(row) = password_resets::Entity::find()
        .filter(password_resets::Column::TokenHash.eq(&token_hash))
        .one(db)
        .await?
        .filter(|m| bool::from(m.token_hash.as_bytes().ct_eq(token_hash.as_bytes())))
        .filter(|m| m.expires_at > now_ms())
    else {
        return Ok(None);
    };
    users::check_password(password)?;
    let password_hash = users::hash_password(password).await?;
    let txn = db.begin().await?;
    // Used up first: of two requests with the same link, the second deletes nothing and stops here.
    let used = password_resets::Entity::delete_many()
        .filter(password_resets::Column::Id.eq(row.id))
        .filter(password_resets::Column::ExpiresAt.gt(now_ms()))
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        return Ok(None);
    }
    let Some(user) = users::find(&txn, row.user_id).await? else { return Ok(None) };
    users::set_password_hash(&txn, user.id, password_hash).await?;
    auth_sessions::delete_for_user(&txn, user.id).await?;
    txn.commit().await?;
    Ok(Some(user))
}

/// Removes an account's links (a new one is made, or the account goes).
pub async fn delete_for_user(db: &impl ConnectionTrait, user_id: i64) -> Result<u64, StoreError> {
    let result =
        password_resets::Entity::delete_many().filter(password_resets::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(result.rows_affected)
}

/// Removes expired links; run periodically (any collector may, it is idempotent).
pub async fn delete_expired(db: &DatabaseConnection) -> Result<u64, StoreError> {
    let result = password_resets::Entity::delete_many()
        .filter(password_resets::Column::ExpiresAt.lte(now_ms()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
