//! Numbers: the seeded generator, percentiles, summaries.

use std::time::Duration;

use crate::report::{Latency, Summary};

/// SplitMix64: a tiny seeded generator, so the same `--rng-seed` picks the same instances.
pub struct Rng(u64);

impl Rng {
    /// Stream `stream` of seed `seed`; different streams start far apart in the sequence.
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut mix = Rng(stream);
        Rng(seed ^ mix.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn latency(sorted_ns: &[u64]) -> Latency {
    if sorted_ns.is_empty() {
        return Latency::default();
    }
    let us = |ns: u64| round1(ns as f64 / 1000.0);
    let mean = sorted_ns.iter().map(|&n| n as f64).sum::<f64>() / sorted_ns.len() as f64;
    Latency {
        mean: round1(mean / 1000.0),
        p50: us(percentile(sorted_ns, 50.0)),
        p90: us(percentile(sorted_ns, 90.0)),
        p99: us(percentile(sorted_ns, 99.0)),
        max: us(*sorted_ns.last().expect("not empty")),
    }
}

pub fn summary(durations: &[Duration]) -> Summary {
    let mut ms: Vec<f64> = durations.iter().map(|d| (d.as_secs_f64() * 1e5).round() / 100.0).collect();
    let samples = ms.clone();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let median = if n % 2 == 1 { ms[n / 2] } else { ((ms[n / 2 - 1] + ms[n / 2]) * 50.0).round() / 100.0 };
    Summary { min: ms[0], median, max: ms[n - 1], samples }
}

pub fn mib(kib: u64) -> f64 {
    round1(kib as f64 / 1024.0)
}
