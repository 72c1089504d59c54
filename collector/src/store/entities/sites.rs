use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sites")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub public_id: String,
    pub domain: String,
    pub allowed_hostnames: String,
    pub timezone: String,
    pub retention_days: i32,
    pub respect_dnt: bool,
    pub hash_routing: bool,
    pub public_presence: bool,
    pub created_at: i64,
    pub audience_rules: String,
    pub owner_user_id: Option<i64>,
    pub public_current_session: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
