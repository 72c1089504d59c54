//! One integration-test binary: real collectors on port 0, real SQLite and PostgreSQL, real Redis.
#![allow(clippy::unwrap_used)]
mod helpers;

mod accounts;
mod analytics;
mod authz;
mod cli;
mod demo;
mod dist;
mod durability;
mod edge;
mod enrichment;
mod export;
mod hostile;
mod ingest;
mod malformed;
mod migrations;
mod openapi;
mod own_visit;
mod privacy;
mod query;
mod readme;
mod realtime;
mod redis_server;
mod session_contract;
mod session_outage;
mod sessions;
mod teams;
mod user_agents;
