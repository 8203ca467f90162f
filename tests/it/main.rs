//! The integration suite as one test binary (one link step instead of twelve), as
//! zero-to-production's `tests/api/` does. `TEST_LOG=1 cargo test` shows the service's
//! tracing output.
// Scenarios and benchmarks read top to bottom; the 100-line rule is for the product.
#![allow(clippy::too_many_lines)]

mod support;

mod browser;
mod canon_corpus;
mod channels;
pub(crate) mod cli;
mod counting;
mod demo;
mod fuzz;
mod http;
mod import;
mod migrations;
mod pages;
mod payloads;
mod reach;
mod trust;
mod web;
mod weekly;
