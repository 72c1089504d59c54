//! The bookkeeping both kinds of rollups share: a day is claimed (its row in `rollup_days` or
//! `visitor_rollup_days` inserted dirty if new; its bounds set: a whole day, or the settled part of one), its
//! version noted, its rows replaced in one transaction, and
//! it is marked clean only if no writer bumped the version meanwhile — a late event during a build leaves the
//! day dirty for the next run instead of being lost.
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait, Value as SqlValue};

pub struct Claim {
    days_table: &'static str,
    site_id: i64,
    day: String,
    version: i64,
}

pub async fn claim(
    db: &DatabaseConnection,
    days_table: &'static str,
    site_id: i64,
    day: String,
    (start, end): (i64, i64),
    now_ms: i64,
) -> Result<Claim, DbErr> {
    let backend = db.get_database_backend();
    let mut insert = Query::insert();
    insert
        .into_table(Alias::new(days_table))
        .columns(["site_id", "day", "day_start", "day_end", "dirty", "version", "built_at"].map(Alias::new))
        .values_panic([
            site_id.into(),
            day.clone().into(),
            start.into(),
            end.into(),
            true.into(),
            0i64.into(),
            now_ms.into(),
        ])
        // A day that had only its settled part (`settled`) is claimed whole: its bounds move, and it is dirty
        // until built, so that no query takes the part's rows for the whole day meanwhile.
        .on_conflict(
            OnConflict::columns(["site_id", "day"].map(Alias::new))
                .value(
                    Alias::new("dirty"),
                    Expr::cust(format!(
                        "CASE WHEN {days_table}.day_end <> excluded.day_end THEN TRUE ELSE {days_table}.dirty END"
                    )),
                )
                .update_columns(["day_start", "day_end"].map(Alias::new))
                .to_owned(),
        );
    db.execute(backend.build(&insert)).await?;
    let mut select = Query::select();
    select
        .from(Alias::new(days_table))
        .column(Alias::new("version"))
        .and_where(Expr::col(Alias::new("site_id")).eq(site_id))
        .and_where(Expr::col(Alias::new("day")).eq(day.clone()));
    let version: i64 = match db.query_one(backend.build(&select)).await? {
        Some(row) => row.try_get("", "version")?,
        None => return Err(DbErr::RecordNotFound(format!("{days_table}: the claimed day vanished"))),
    };
    Ok(Claim { days_table, site_id, day, version })
}

/// A table's name, its columns and the day's rows for it.
pub type TableRows<'a> = (&'a str, &'a [&'a str], Vec<Vec<SqlValue>>);

impl Claim {
    /// Replaces the day's rows of each table (whose rows' first two columns are `site_id` and `day`) and marks
    /// the day clean if it is still the version claimed.
    pub async fn commit<const N: usize>(
        self,
        db: &DatabaseConnection,
        tables: [TableRows<'_>; N],
        now_ms: i64,
    ) -> Result<(), DbErr> {
        self.commit_then(db, tables, Vec::new(), now_ms).await
    }

    /// As `commit`, with `then` run after the rows are replaced, in the same transaction (rows derived from
    /// the new ones).
    pub async fn commit_then<const N: usize>(
        self,
        db: &DatabaseConnection,
        tables: [TableRows<'_>; N],
        then: Vec<Statement>,
        now_ms: i64,
    ) -> Result<(), DbErr> {
        let backend = db.get_database_backend();
        let txn = db.begin().await?;
        for (table, columns, rows) in tables {
            self.replace(&txn, table, columns, rows).await?;
        }
        for statement in then {
            txn.execute(statement).await?;
        }
        let mut clean = Query::update();
        clean
            .table(Alias::new(self.days_table))
            .values([(Alias::new("dirty"), false.into()), (Alias::new("built_at"), now_ms.into())])
            .and_where(Expr::col(Alias::new("site_id")).eq(self.site_id))
            .and_where(Expr::col(Alias::new("day")).eq(self.day))
            .and_where(Expr::col(Alias::new("version")).eq(self.version));
        txn.execute(backend.build(&clean)).await?;
        txn.commit().await
    }

    async fn replace(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<SqlValue>>,
    ) -> Result<(), DbErr> {
        let backend = txn.get_database_backend();
        let mut delete = Query::delete();
        delete
            .from_table(Alias::new(table))
            .and_where(Expr::col(Alias::new("site_id")).eq(self.site_id))
            .and_where(Expr::col(Alias::new("day")).eq(self.day.clone()));
        txn.execute(backend.build(&delete)).await?;
        // Rows per statement stay well under both databases' bound-parameter limits.
        let per_insert = (30_000 / columns.len().max(1)).clamp(1, 500);
        for chunk in rows.chunks(per_insert) {
            let mut insert = Query::insert();
            insert.into_table(Alias::new(table)).columns(columns.iter().map(|c| Alias::new(*c)));
            for row in chunk {
                insert.values(row.iter().cloned().map(Into::into)).map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            txn.execute(backend.build(&insert)).await?;
        }
        Ok(())
    }
}
