//! Today's settled part holds anonymous visits only (collector/src/query/settled.rs): identified visits last
//! hours or weeks, so the query reads them raw, through this partial index of identified sessions by their last
//! event. Rollup rows say whether they are a settled part, so that the writer leaves them alone when an
//! identified visit goes on; parts built before this migration also held identified visits and are rebuilt.
use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000009_settled_parts"
    }
}

#[derive(DeriveIden)]
enum RollupDays {
    Table,
    Settled,
}

#[derive(DeriveIden)]
enum VisitorRollupDays {
    Table,
    Settled,
}

const DAY_MS: i64 = 86_400_000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let settled = || ColumnDef::new(Alias::new("settled")).boolean().not_null().default(false).to_owned();
        manager.alter_table(Table::alter().table(RollupDays::Table).add_column(settled()).to_owned()).await?;
        manager.alter_table(Table::alter().table(VisitorRollupDays::Table).add_column(settled()).to_owned()).await?;
        let db = manager.get_connection();
        // Same text on SQLite and PostgreSQL; sea-query has no partial index for both.
        db.execute_unprepared(
            "CREATE INDEX idx_sessions_identified_seen ON sessions (site_id, last_seen) WHERE user_hash IS NOT NULL",
        )
        .await?;
        // Settled parts are today's; whatever ends in the last two days is built again by the job.
        let recent = chrono_now_ms() - 2 * DAY_MS;
        for table in ["rollup_days", "visitor_rollup_days"] {
            db.execute_unprepared(&format!("UPDATE {table} SET dirty = TRUE WHERE day_end > {recent}")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP INDEX idx_sessions_identified_seen").await?;
        manager
            .alter_table(Table::alter().table(VisitorRollupDays::Table).drop_column(VisitorRollupDays::Settled).to_owned())
            .await?;
        manager.alter_table(Table::alter().table(RollupDays::Table).drop_column(RollupDays::Settled).to_owned()).await
    }
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
