//! Who may use a site besides the instance's keys and share links: its owner and its members.
//!
//! The owner is `sites.owner_user_id` (NULL: the administrator account, see `users`); members are rows of
//! `site_members` with role `viewer` (reads every report) or `admin` (everything the owner may, but deleting
//! and transferring the site). What each role allows is decided in one place, `http::access`; this module only
//! stores who has which role. A sign-in reads its roles on every request ([`roles_of`]), so a removed member
//! loses the site with the next request.
use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::Serialize;

use super::entities::{site_members, sites as site_rows, users as user_rows};
use super::users::User;
use super::{now_ms, sites, StoreError};

/// An account's role on a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    /// A role a member can be given: `admin` or `viewer` (a site has one owner, changed by a transfer).
    pub fn parse_member(text: &str) -> Option<Role> {
        [Role::Admin, Role::Viewer].into_iter().find(|r| r.as_str() == text)
    }

    /// May this role change the site, its credentials and its people?
    pub fn manages(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// A person of a site as the members list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    /// When the membership began (epoch ms); `None` for the owner, whose ownership has no stored start.
    pub since: Option<i64>,
}

/// The roles of account `user` on every site it reaches: owner of its own sites (and, for the administrator,
/// of the sites without an owner), then its memberships. Ownership wins over a stale membership row.
pub async fn roles_of(db: &impl ConnectionTrait, user: &User) -> Result<HashMap<i64, Role>, StoreError> {
    let memberships = site_members::Entity::find().filter(site_members::Column::UserId.eq(user.id)).all(db).await?;
    let mut roles: HashMap<i64, Role> =
        memberships.into_iter().filter_map(|m| Some((m.site_id, Role::parse_member(&m.role)?))).collect();
    for site_id in sites::owned_ids(db, user.id, user.is_admin).await? {
        roles.insert(site_id, Role::Owner);
    }
    Ok(roles)
}

/// The account that owns `site`: its `owner_user_id`, or the administrator for a site without one.
pub async fn owner_of(db: &impl ConnectionTrait, site: &site_rows::Model) -> Result<Option<User>, StoreError> {
    let owner = match site.owner_user_id {
        Some(id) => user_rows::Entity::find_by_id(id).one(db).await?,
        None => user_rows::Entity::find().filter(user_rows::Column::IsAdmin.eq(true)).one(db).await?,
    };
    Ok(owner.map(User::from))
}

/// The owner first, then the members in the order they joined.
pub async fn list(db: &DatabaseConnection, site: &site_rows::Model) -> Result<Vec<Member>, StoreError> {
    let owner = owner_of(db, site).await?;
    let rows = site_members::Entity::find()
        .filter(site_members::Column::SiteId.eq(site.id))
        .order_by_asc(site_members::Column::Id)
        .all(db)
        .await?;
    let emails: HashMap<i64, String> = user_rows::Entity::find()
        .filter(user_rows::Column::Id.is_in(rows.iter().map(|m| m.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let mut members: Vec<Member> = owner
        .iter()
        .map(|o| Member { user_id: o.id, email: o.email.clone(), role: Role::Owner, since: None })
        .collect();
    for row in rows {
        let (Some(role), Some(email)) = (Role::parse_member(&row.role), emails.get(&row.user_id)) else { continue };
        if owner.as_ref().is_some_and(|o| o.id == row.user_id) {
            continue;
        }
        members.push(Member { user_id: row.user_id, email: email.clone(), role, since: Some(row.created_at) });
    }
    Ok(members)
}

/// One person of the site (the owner included), if they are one.
pub async fn find(
    db: &DatabaseConnection,
    site: &site_rows::Model,
    user_id: i64,
) -> Result<Option<Member>, StoreError> {
    Ok(list(db, site).await?.into_iter().find(|m| m.user_id == user_id))
}

/// Makes account `user` a member with `role` (`Conflict` if it is already the owner or a member).
pub async fn add(
    db: &impl ConnectionTrait,
    site: &site_rows::Model,
    user: &User,
    role: Role,
) -> Result<Member, StoreError> {
    if role == Role::Owner {
        return Err(StoreError::Invalid("a site's owner changes by a transfer, not by a membership".into()));
    }
    if owner_of(db, site).await?.is_some_and(|o| o.id == user.id) {
        return Err(StoreError::Conflict(format!("{} as this site's owner", user.email)));
    }
    let existing = site_members::Entity::find()
        .filter(site_members::Column::SiteId.eq(site.id))
        .filter(site_members::Column::UserId.eq(user.id))
        .one(db)
        .await?;
    if existing.is_some() {
        return Err(StoreError::Conflict(format!("{} as a member of this site", user.email)));
    }
    let row = site_members::ActiveModel {
        site_id: Set(site.id),
        user_id: Set(user.id),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(db)
    .await
    .map_err(|e| match e.sql_err() {
        // Two invitations accepted at once: the second finds the first's row.
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            StoreError::Conflict(format!("{} as a member of this site", user.email))
        }
        _ => StoreError::Db(e),
    })?;
    Ok(Member { user_id: user.id, email: user.email.clone(), role, since: Some(row.created_at) })
}

/// Changes a member's role; `false` if the account is no member of the site.
pub async fn set_role(db: &DatabaseConnection, site_id: i64, user_id: i64, role: Role) -> Result<bool, StoreError> {
    if role == Role::Owner {
        return Err(StoreError::Invalid("a site's owner changes by a transfer, not by a role".into()));
    }
    let result = site_members::Entity::update_many()
        .col_expr(site_members::Column::Role, sea_orm::sea_query::Expr::value(role.as_str()))
        .filter(site_members::Column::SiteId.eq(site_id))
        .filter(site_members::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Ends a membership; `false` if there was none.
pub async fn remove(db: &impl ConnectionTrait, site_id: i64, user_id: i64) -> Result<bool, StoreError> {
    let result = site_members::Entity::delete_many()
        .filter(site_members::Column::SiteId.eq(site_id))
        .filter(site_members::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Ends every membership of an account (the account goes).
pub async fn delete_for_user(db: &impl ConnectionTrait, user_id: i64) -> Result<u64, StoreError> {
    let result = site_members::Entity::delete_many().filter(site_members::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(result.rows_affected)
}

/// Makes account `to` the site's owner, in one transaction: its membership (if any) ends, and the previous
/// owner `from` stays on as an admin.
pub async fn transfer(db: &DatabaseConnection, site_id: i64, from: &User, to: &User) -> Result<(), StoreError> {
    if from.id == to.id {
        return Err(StoreError::Invalid(format!("{} owns this site already", to.email)));
    }
    let txn = db.begin().await?;
    let site = site_rows::Entity::find_by_id(site_id)
        .one(&txn)
        .await?
        .ok_or_else(|| StoreError::Invalid("the site was deleted meanwhile".into()))?;
    let mut active: site_rows::ActiveModel = site.clone().into();
    active.owner_user_id = Set(Some(to.id));
    active.update(&txn).await?;
    remove(&txn, site_id, to.id).await?;
    remove(&txn, site_id, from.id).await?;
    let stays = site_rows::Model { owner_user_id: Some(to.id), ..site };
    add(&txn, &stays, from, Role::Admin).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_and_viewer_are_roles_a_member_can_be_given() {
        assert_eq!(Role::parse_member("admin"), Some(Role::Admin));
        assert_eq!(Role::parse_member("viewer"), Some(Role::Viewer));
        assert_eq!(Role::parse_member("owner"), None);
        assert_eq!(Role::parse_member("Admin"), None);
        assert!(Role::Owner.manages() && Role::Admin.manages() && !Role::Viewer.manages());
    }
}
