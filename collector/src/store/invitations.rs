//! Invitations of an email without an account to a site: a one-time link (`ffi_` + 64 hex, shown once; only
//! its BLAKE3 hash is stored, as for share links) that expires after [`LIFETIME`]. Accepting it makes the
//! account (or, for an account made meanwhile, checks it is that account's) and the membership, and uses the
//! invitation up — all in one transaction, so a link works once even when opened twice at the same moment.
use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::entities::{site_invitations, sites as site_rows};
use super::members::{self, Member, Role};
use super::users::{self, User};
use super::{now_ms, StoreError};

/// How long an invitation can be accepted.
pub const LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
const PREFIX: &str = "ffi_";

fn hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// A pending invitation as the members list shows it (never with its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invitation {
    pub id: i64,
    #[serde(skip)]
    pub site_id: i64,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Invitation {
    fn from_model(m: site_invitations::Model) -> Option<Invitation> {
        Some(Invitation {
            id: m.id,
            site_id: m.site_id,
            role: Role::parse_member(&m.role)?,
            email: m.email,
            created_at: m.created_at,
            expires_at: m.expires_at,
        })
    }
}

/// Invites `email` to the site as `role`; answers the invitation and its token — the only time the token
/// exists in clear. An earlier invitation of the same email to the site is replaced (its link stops working):
/// inviting again is how a lost link is replaced.
pub async fn create(
    db: &DatabaseConnection,
    site_id: i64,
    email: &str,
    role: Role,
) -> Result<(Invitation, String), StoreError> {
    let email = users::checked_email(email)?;
    if role == Role::Owner {
        return Err(StoreError::Invalid("invite as admin or viewer; the owner changes by a transfer".into()));
    }
    let token = format!("{PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
    let now = now_ms();
    let txn = db.begin().await?;
    site_invitations::Entity::delete_many()
        .filter(site_invitations::Column::SiteId.eq(site_id))
        .filter(site_invitations::Column::Email.eq(&email))
        .exec(&txn)
        .await?;
    let model = site_invitations::ActiveModel {
        site_id: Set(site_id),
        email: Set(email),
        role: Set(role.as_str().to_owned()),
        token_hash: Set(hash(&token)),
        created_at: Set(now),
        expires_at: Set(now + LIFETIME.as_millis() as i64),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    let invitation = Invitation::from_model(model).ok_or_else(|| StoreError::Invalid("unknown role".into()))?;
    Ok((invitation, token))
}

/// The site's invitations that can still be accepted, oldest first.
pub async fn list(db: &DatabaseConnection, site_id: i64) -> Result<Vec<Invitation>, StoreError> {
    let rows = site_invitations::Entity::find()
        .filter(site_invitations::Column::SiteId.eq(site_id))
        .filter(site_invitations::Column::ExpiresAt.gt(now_ms()))
        .order_by_asc(site_invitations::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(Invitation::from_model).collect())
}

/// Revokes invitation `id` of the site; `false` if the site has no such invitation.
pub async fn revoke(db: &DatabaseConnection, site_id: i64, id: i64) -> Result<bool, StoreError> {
    let result = site_invitations::Entity::delete_many()
        .filter(site_invitations::Column::SiteId.eq(site_id))
        .filter(site_invitations::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The pending invitation a token opens: `None` for unknown, used, expired or malformed tokens.
pub async fn find(db: &DatabaseConnection, token: &str) -> Result<Option<Invitation>, StoreError> {
    if !token.starts_with(PREFIX) || token.len() != PREFIX.len() + 64 {
        return Ok(None);
    }
    let token_hash = hash(token);
    let found =
        site_invitations::Entity::find().filter(site_invitations::Column::TokenHash.eq(&token_hash)).one(db).await?;
    Ok(found
        .filter(|m| bool::from(m.token_hash.as_bytes().ct_eq(token_hash.as_bytes())))
        .filter(|m| m.expires_at > now_ms())
        .and_then(Invitation::from_model))
}

/// Who accepts an invitation.
pub enum Joiner<'a> {
    /// A new account with the invited email and this password.
    NewAccount { password: &'a str },
    /// The account with the invited email, which proved itself (signed in, or gave its password).
    Account(User),
}

/// Uses invitation `invitation` up for `joiner`: the account (made now, for a new one) becomes a member with
/// the invited role. `Ok(None)`: the invitation was used, revoked or expired meanwhile.
pub async fn accept(
    db: &DatabaseConnection,
    invitation: &Invitation,
    joiner: Joiner<'_>,
) -> Result<Option<(User, Option<Member>)>, StoreError> {
    let password_hash = match &joiner {
        Joiner::NewAccount { password } => {
            users::check_password(password)?;
            Some(users::hash_password(password).await?)
        }
        Joiner::Account(_) => None,
    };
    let txn = db.begin().await?;
    if !use_up(&txn, invitation.id).await? {
        return Ok(None);
    }
    let Some(site) = site_rows::Entity::find_by_id(invitation.site_id).one(&txn).await? else { return Ok(None) };
    let user = match (joiner, password_hash) {
        (Joiner::Account(user), _) => user,
        (Joiner::NewAccount { .. }, Some(hash)) => users::insert_hashed(&txn, &invitation.email, hash, false).await?,
        (Joiner::NewAccount { .. }, None) => return Err(StoreError::Invalid("no password".into())),
    };
    // An account that is the owner or a member already keeps what it has; the invitation is used up anyway.
    let member = match members::add(&txn, &site, &user, invitation.role).await {
        Ok(member) => Some(member),
        Err(StoreError::Conflict(_)) => None,
        Err(other) => return Err(other),
    };
    txn.commit().await?;
    Ok(Some((user, member)))
}

/// Deletes invitation `id` if it can still be accepted; `false` when another request used it first.
async fn use_up(db: &impl ConnectionTrait, id: i64) -> Result<bool, StoreError> {
    let result = site_invitations::Entity::delete_many()
        .filter(site_invitations::Column::Id.eq(id))
        .filter(site_invitations::Column::ExpiresAt.gt(now_ms()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Removes expired invitations; run periodically (any collector may, it is idempotent).
pub async fn delete_expired(db: &DatabaseConnection) -> Result<u64, StoreError> {
    let result = site_invitations::Entity::delete_many()
        .filter(site_invitations::Column::ExpiresAt.lte(now_ms()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
