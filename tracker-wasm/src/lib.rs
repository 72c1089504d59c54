//! Footfall's tracker, compiled to WebAssembly and started by the `t.js` loader.
//!
//! Where it sits: browser page → this module → `POST /api/event` on the collector (DESIGN.md §3 and §8).
//! The pure logic — URL cleaning, payload encoding, engagement accounting — lives in modules that are tested
//! with plain `cargo test` on the host; `browser` is the thin layer of web-sys calls around them.
pub mod engagement;
pub mod json;
pub mod payload;
pub mod url;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod heap;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static HEAP: heap::Heap = heap::Heap::new();
