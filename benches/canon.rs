//! Canonicalization throughput on one core, over the URL corpus of the tests.
//!
//!     cargo bench --bench canon
//!
//! Each round canonicalizes every URL of tests/data/url_corpus.tsv; rounds repeat for about
//! three seconds after a warm-up. Prints URLs per second.

use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/url_corpus.tsv");
    let text = std::fs::read_to_string(&path).expect("tests/data/url_corpus.tsv");
    let urls: Vec<String> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split('\t').nth(1).map(str::to_string))
        .collect();
    assert!(!urls.is_empty(), "the corpus is empty");

    let round = || {
        let mut ok = 0usize;
        for url in &urls {
            if black_box(lantoa_core::links::canonicalize(black_box(url))).is_ok() {
                ok += 1;
            }
        }
        ok
    };
    let warm_up = Instant::now();
    while warm_up.elapsed() < Duration::from_millis(500) {
        round();
    }
    let started = Instant::now();
    let mut done = 0usize;
    let mut accepted = 0usize;
    while started.elapsed() < Duration::from_secs(3) {
        accepted = round();
        done += urls.len();
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} corpus URLs ({} accepted, {} refused); {done} canonicalized in {seconds:.2} s on one thread",
        urls.len(),
        accepted,
        urls.len() - accepted
    );
    println!(
        "{:.0} URLs/s, {:.2} µs per URL",
        done as f64 / seconds,
        seconds * 1e6 / done as f64
    );
}
