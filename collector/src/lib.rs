//! Footfall collector: privacy-first web analytics.
//!
//! Data flow (DESIGN.md §2): `http::ingest` → `ingest` (parse, pipeline, spool) → `ingest::writer` → SQL
//! (`store`); live sessions and presence in `session`; `query` answers the stats API.
pub mod cli;
pub mod demo;
pub mod enrich;
pub mod export;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod metrics;
pub mod own_visit;
pub mod query;
pub mod realtime;
pub mod session;
pub mod settings;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod wording;
