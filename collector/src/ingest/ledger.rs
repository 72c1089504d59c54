//! The bot ledger: what the pipeline filtered out, per site, UTC day, reason and signature (the matched
//! crawler pattern, the foreign hostname, …) — counts only, never an address. Counts gather in memory and are
//! added to SQL every few seconds (`ingest.ledger_flush_ms`); a crash loses at most those seconds of counts, never an event.
use std::collections::HashMap;
use std::sync::Mutex;

use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use super::pipeline::DropReason;

const MAX_SIGNATURE: usize = 256;

type Key = (i64, String, DropReason, String);

#[derive(Default)]
pub struct Ledger {
    pending: Mutex<HashMap<Key, i64>>,
}

impl Ledger {
    pub fn record(&self, site_id: i64, ts_ms: i64, reason: DropReason, signature: &str) {
        let day = chrono::DateTime::from_timestamp_millis(ts_ms).unwrap_or_default().date_naive().to_string();
        let signature = crate::ingest::beacon::truncate(signature, MAX_SIGNATURE).to_owned();
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: a flood of distinct signatures folds into one row rather than growing without limit.
        let signature = if pending.len() >= 10_000 { "(many signatures)".to_owned() } else { signature };
        *pending.entry((site_id, day, reason, signature)).or_default() += 1;
    }

    /// Adds the pending counts to SQL; on failure they stay pending for the next flush.
    pub async fn flush(&self, db: &DatabaseConnection) -> Result<usize, DbErr> {
        let batch: Vec<(Key, i64)> =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner())).into_iter().collect();
        if batch.is_empty() {
            return Ok(0);
        }
        for chunk in batch.chunks(500) {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new("bot_ledger"))
                .columns(["site_id", "day", "reason", "signature", "count"].map(Alias::new));
            for ((site_id, day, reason, signature), count) in chunk {
                let row = [
                    (*site_id).into(),
                    day.clone().into(),
                    reason.as_str().into(),
                    signature.clone().into(),
                    (*count).into(),
                ];
                insert.values(row).map_err(|e| DbErr::Custom(format!("building the insert: {e}")))?;
            }
            insert.on_conflict(
                OnConflict::columns(["site_id", "day", "reason", "signature"].map(Alias::new))
                    .value(Alias::new("count"), Expr::cust("bot_ledger.count + excluded.count"))
                    .to_owned(),
            );
            if let Err(error) = db.execute(db.get_database_backend().build(&insert)).await {
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                for (key, count) in batch {
                    *pending.entry(key).or_default() += count;
                }
                return Err(error);
            }
        }
        Ok(batch.len())
    }
}
