//! Dashboard users. Passwords are hashed with Argon2id; no default credentials exist anywhere.
use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use super::entities::users;
use super::{now_ms, StoreError};

pub const MIN_PASSWORD: usize = 10;

pub async fn create(db: &DatabaseConnection, email: &str, password: &str) -> Result<i64, StoreError> {
    let email = email.trim().to_ascii_lowercase();
    let valid = email.len() <= 254 && email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if !valid {
        return Err(StoreError::Invalid(format!("`{email}` is not an email address")));
    }
    if password.chars().count() < MIN_PASSWORD {
        return Err(StoreError::Invalid(format!("the password must have at least {MIN_PASSWORD} characters")));
    }
    if users::Entity::find().filter(users::Column::Email.eq(&email)).one(db).await?.is_some() {
        return Err(StoreError::Conflict(format!("user `{email}`")));
    }
    let salt = SaltString::generate(&mut OsRng);
    let password_hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))?
        .to_string();
    let model = users::ActiveModel {
        email: Set(email),
        password_hash: Set(password_hash),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(model.id)
}

/// A password a person can type and a machine cannot guess: 20 characters from a 54-letter alphabet.
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}
