//! Micro-benchmark of the user-agent step: uncached and cached parse time per UA (crawler check included),
//! over uap-core's own test corpus. `cargo run --release -p footfall-collector --example ua_bench`
use std::time::Instant;

use footfall::enrich::user_agent::UserAgents;

fn main() {
    let path = "/usr/share/uap-core/tests/test_ua.yaml";
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e} (install Debian's uap-core)"));
    let corpus: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- user_agent_string: "))
        .map(|s| s.trim_matches(|c| c == '\'' || c == '"').to_owned())
        .collect();
    let start = Instant::now();
    let uas = UserAgents::new();
    println!("parser and crawler list built in {:.0} ms", start.elapsed().as_secs_f64() * 1000.0);
    let _ = uas.parse_uncached(&corpus[0]);

    // One pass to let the lazy DFAs settle, as they have in a running collector; then the measured pass.
    for ua in &corpus {
        std::hint::black_box(uas.parse_uncached(ua));
    }
    let start = Instant::now();
    for ua in &corpus {
        std::hint::black_box(uas.parse_uncached(ua));
    }
    let uncached = start.elapsed().as_secs_f64() / corpus.len() as f64;

    for ua in &corpus {
        uas.parse(ua);
    }
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        for ua in &corpus {
            std::hint::black_box(uas.parse(ua));
        }
    }
    let cached = start.elapsed().as_secs_f64() / (corpus.len() * rounds) as f64;
    split(&corpus);
    println!(
        "{} distinct UAs: uncached {:.1} µs per UA, cached {:.3} µs per UA",
        corpus.len(),
        uncached * 1e6,
        cached * 1e6
    );
}

/// The crawler-list share of the uncached time.
fn split(corpus: &[String]) {
    let crawlers = footfall::enrich::bots::Crawlers::get();
    let start = Instant::now();
    for ua in corpus {
        std::hint::black_box(crawlers.matching(ua));
    }
    println!("  of which crawler list: {:.1} µs per UA", start.elapsed().as_secs_f64() * 1e6 / corpus.len() as f64);
}
