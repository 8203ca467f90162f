//! `lantoa demo` and the fake Zalo OA, Zalo OAuth and Graph APIs it and the tests run
//! against, on loopback. Nothing here is in a production build: the `lantoa` binary depends on
//! this crate only with its default `demo` feature.

pub mod demo;
pub mod fake_platform;

pub use demo::run;
