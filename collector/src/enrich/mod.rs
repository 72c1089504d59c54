//! Enrichment: what the pipeline learns about an event beyond what the beacon says — device and browser
//! from the User-Agent, bots from crawler lists, and (in `crate::ingest::pipeline`) source and campaign.
//! Each piece is a pure lookup the pipeline's named steps call; none of them keeps the IP address.
pub mod audience;
pub mod bots;
pub mod geo;
pub mod referrer;
pub mod spam;
pub mod user_agent;
