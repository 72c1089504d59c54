//! Ingestion: beacon bytes → validated beacons → pipeline → durable spool → SQL writer.
//!
//! [`Ingest::accept`] is everything a beacon request does; the HTTP handler only gathers the request's facts
//! and maps the result to a status. It returns once the accepted events are in the spool (fsynced), never
//! waiting on SQL.
pub mod beacon;
pub mod body;
pub mod event;
pub mod ledger;
pub mod pipeline;
pub mod rate;
pub mod spool;
pub mod visitor;
pub mod writer;

use std::sync::Arc;

use beacon::{BeaconError, ParseOptions};
use body::BodyError;
use pipeline::{DropReason, Outcome, Pipeline, PipelineError, RequestMeta, Sender};
use spool::{Spool, SpoolError};

use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Body(#[from] BodyError),
    #[error(transparent)]
    Beacon(#[from] BeaconError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

/// What happened to a request's events.
#[derive(Debug, Default)]
pub struct Report {
    pub accepted: usize,
    pub dropped: Vec<DropReason>,
}

pub struct Ingest {
    pub pipeline: Pipeline,
    pub spool: Spool,
    pub metrics: Arc<Metrics>,
    pub max_batch: usize,
}

impl Ingest {
    pub async fn accept(&self, body: &[u8], meta: &RequestMeta) -> Result<Report, IngestError> {
        let trusted = matches!(meta.sender, Sender::Server { .. });
        let options = ParseOptions { max_batch: self.max_batch, trusted, now_ms: meta.now_ms };
        let beacons = beacon::parse_body(body, options)?;
        // A beacon refused for a full spool must not touch sessions or presence first: its retry would.
        self.spool.check_room()?;
        let mut report = Report::default();
        let mut records = Vec::with_capacity(beacons.len());
        for beacon in beacons {
            match self.pipeline.process(beacon, meta).await? {
                Outcome::Accepted(event) => {
                    // Serialising a plain struct of strings and numbers cannot fail.
                    records.push(serde_json::to_vec(&event).unwrap_or_default());
                }
                Outcome::Dropped(reason) => report.dropped.push(reason),
            }
        }
        if !records.is_empty() {
            report.accepted = records.len();
            self.spool.append(records).await?;
            self.metrics.events_accepted.add(report.accepted as u64);
        }
        Ok(report)
    }
}
