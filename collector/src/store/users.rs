//! Dashboard users. Passwords are hashed with Argon2id; no default credentials exist anywhere.
//!
//! The first account (made by the dashboard's first-run set-up or by `footfall user add`) is the instance's
//! administrator: it owns the sites that have no owner (created from the CLI or with an instance-wide key).
//! A unique partial index allows one administrator, so two racing set-ups cannot both win.
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::Serialize;

use super::entities::users;
use super::{auth_sessions, members, password_resets};
use super::{now_ms, StoreError};

pub const MIN_PASSWORD: usize = 10;
/// Longer passwords are refused rather than hashed: Argon2 over megabytes is a denial-of-service lever.
pub const MAX_PASSWORD: usize = 1024;

/// A signed-in or signing-in account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
}

impl From<users::Model> for User {
    fn from(m: users::Model) -> User {
        User { id: m.id, email: m.email, is_admin: m.is_admin }
    }
}

/// Creates a user; the first account of the instance becomes its administrator.
pub async fn create(db: &DatabaseConnection, email: &str, password: &str) -> Result<i64, StoreError> {
    let first = !any(db).await?;
    Ok(insert(db, email, password, first).await?.id)
}

/// The first-run set-up: creates the administrator, only while no account exists (`Conflict` afterwards).
pub async fn create_first(db: &DatabaseConnection, email: &str, password: &str) -> Result<User, StoreError> {
    if any(db).await? {
        return Err(StoreError::Conflict("an account".into()));
    }
    insert(db, email, password, true).await
}

async fn insert(db: &DatabaseConnection, email: &str, password: &str, is_admin: bool) -> Result<User, StoreError> {
    let email = checked_email(email)?;
    check_password(password)?;
    if users::Entity::find().filter(users::Column::Email.eq(&email)).one(db).await?.is_some() {
        return Err(StoreError::Conflict(format!("user `{email}`")));
    }
    let password_hash = hash_password(password).await?;
    insert_hashed(db, &email, password_hash, is_admin).await
}

/// Inserts an account whose email is checked and password hashed already (in the caller's transaction, when
/// an invitation is accepted).
pub(super) async fn insert_hashed(
    db: &impl ConnectionTrait,
    email: &str,
    password_hash: String,
    is_admin: bool,
) -> Result<User, StoreError> {
    let model = users::ActiveModel {
        email: Set(email.to_owned()),
        password_hash: Set(password_hash),
        created_at: Set(now_ms()),
        is_admin: Set(is_admin),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| conflict_on_unique(e, if is_admin { "an account" } else { "this user" }))?;
    Ok(User::from(model))
}

/// The email normalised (trimmed, lower case), if it looks like an address; the same rule for sign-up and
/// invitations.
pub fn checked_email(email: &str) -> Result<String, StoreError> {
    let email = normalise_email(email);
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        let shown: String = email.chars().take(64).filter(|c| !c.is_control()).collect();
        return Err(StoreError::Invalid(format!("`{shown}` is not an email address")));
    }
    Ok(email)
}

/// The length rules of every password, at sign-up, change and reset.
pub fn check_password(password: &str) -> Result<(), StoreError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD {
        return Err(StoreError::Invalid(format!("the password must have at least {MIN_PASSWORD} characters")));
    }
    if length > MAX_PASSWORD {
        return Err(StoreError::Invalid(format!("the password must have at most {MAX_PASSWORD} characters")));
    }
    Ok(())
}

pub(super) async fn hash_password(password: &str) -> Result<String, StoreError> {
    let password = password.to_owned();
    // Hashing takes tens of milliseconds of CPU on purpose; keep it off the async workers.
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))?
    .map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))
}

/// Sets a new password and ends every sign-in of the account, in one transaction: whoever knew the old
/// password is signed out with it.
pub async fn change_password(db: &DatabaseConnection, user_id: i64, password: &str) -> Result<(), StoreError> {
    change_password_keeping(db, user_id, password, None).await
}

/// [`change_password`], but the sign-in `keep` (the one that asked for the change) stays signed in.
pub async fn change_password_keeping(
    db: &DatabaseConnection,
    user_id: i64,
    password: &str,
    keep: Option<i64>,
) -> Result<(), StoreError> {
    check_password(password)?;
    let password_hash = hash_password(password).await?;
    let txn = db.begin().await?;
    set_password_hash(&txn, user_id, password_hash).await?;
    auth_sessions::delete_for_user_except(&txn, user_id, keep).await?;
    txn.commit().await?;
    Ok(())
}

/// Stores a hashed password (the caller ends the sign-ins in the same transaction).
pub(super) async fn set_password_hash(
    db: &impl ConnectionTrait,
    user_id: i64,
    password_hash: String,
) -> Result<(), StoreError> {
    users::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(user_id),
        password_hash: Set(password_hash),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

/// Deletes an account with its sign-ins, memberships and reset links, in one transaction. What happens to the
/// sites it owns is the caller's choice (`footfall user delete`), made before.
pub async fn delete(db: &DatabaseConnection, user_id: i64) -> Result<bool, StoreError> {
    let txn = db.begin().await?;
    auth_sessions::delete_for_user(&txn, user_id).await?;
    members::delete_for_user(&txn, user_id).await?;
    password_resets::delete_for_user(&txn, user_id).await?;
    let deleted = users::Entity::delete_by_id(user_id).exec(&txn).await?.rows_affected > 0;
    txn.commit().await?;
    Ok(deleted)
}

/// A unique-index violation is a conflict (the same email, or a second administrator), not a database fault.
fn conflict_on_unique(error: DbErr, what: &str) -> StoreError {
    match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(what.to_owned()),
        _ => StoreError::Db(error),
    }
}

pub fn normalise_email(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// Whether any account exists (if not, the dashboard offers the first-run set-up).
pub async fn any(db: &DatabaseConnection) -> Result<bool, StoreError> {
    Ok(users::Entity::find().count(db).await? > 0)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<User>, StoreError> {
    Ok(users::Entity::find_by_id(id).one(db).await?.map(User::from))
}

pub async fn find_by_email(db: &DatabaseConnection, email: &str) -> Result<Option<User>, StoreError> {
    let email = normalise_email(email);
    Ok(users::Entity::find().filter(users::Column::Email.eq(email)).one(db).await?.map(User::from))
}

/// An account as `footfall user list` shows it: never its password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
    pub created_at: i64,
}

/// Every account, oldest (the administrator) first.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<UserInfo>, StoreError> {
    let rows = users::Entity::find().order_by_asc(users::Column::Id).all(db).await?;
    Ok(rows
        .into_iter()
        .map(|m| UserInfo { id: m.id, email: m.email, is_admin: m.is_admin, created_at: m.created_at })
        .collect())
}

/// Checks an email and password. Unknown emails cost the same Argon2 verification as known ones, so the
/// answer time does not tell which accounts exist.
pub async fn authenticate(db: &DatabaseConnection, email: &str, password: &str) -> Result<Option<User>, StoreError> {
    if password.chars().count() > MAX_PASSWORD {
        return Ok(None);
    }
    let found = users::Entity::find().filter(users::Column::Email.eq(normalise_email(email))).one(db).await?;
    let stored = found.as_ref().map(|m| m.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_owned());
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || {
        // Argon2's verification compares the digests in constant time.
        PasswordHash::new(&stored)
            .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
    })
    .await
    .unwrap_or(false);
    Ok(found.filter(|_| matches).map(User::from))
}

/// The Argon2id hash (default parameters) of a random password nobody knows, verified for unknown emails.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$k3DrJ8QL+zYzvsHUb0zGLx9Q9XK1yaXvVY6v2G1Ij1E";

/// A password a person can type and a machine cannot guess: 20 characters from a 54-letter alphabet.
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_valid_argon2id_hash_with_the_default_parameters() {
        let hash = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(hash.algorithm.as_str(), "argon2id");
        assert!(Argon2::default().verify_password(b"not the password", &hash).is_err());
        // Same cost as a real hash, so an unknown email takes as long to refuse as a wrong password.
        let (params, default) = (argon2::Params::try_from(&hash).unwrap(), argon2::Params::default());
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (default.m_cost(), default.t_cost(), default.p_cost())
        );
    }
}
