//! Duration quantiles in bounded memory: exact up to [`EXACT_UP_TO`] values, a DDSketch beyond.
//!
//! A DDSketch (`sketches-ddsketch`, the Rust port of Datadog's Go implementation) answers any
//! quantile within a relative error of [`RELATIVE_ACCURACY`] of the exact value, in memory that
//! grows with the logarithm of the range of the values (about 1,100 bins from 1 µs to 1 h at 1 %),
//! not with their count, and two sketches merge by adding their bins, whatever the order the
//! values came in. A t-digest's error is a rank error that depends on the data and on the order
//! of the merges; the report's question ("how long does a stage take at p95") wants the value's
//! error bounded, which is what a DDSketch guarantees.
//!
//! Small inputs (the common case: a few hundred runs) stay exact, so their reports are the
//! nearest-rank percentiles a reader can check by hand.

use crate::format::millis;
use serde::Serialize;
use sketches_ddsketch::{Config, DDSketch};

/// Quantiles are within this fraction of the exact value once the sketch is used.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// Up to this many values are kept as they are (8 KiB); the next one moves them to a sketch.
pub const EXACT_UP_TO: usize = 1024;

/// The sketch's bins: more than the ~1,100 that 1 ns .. 1 h needs at 1 %; beyond it the lowest
/// bins are collapsed (the smallest values lose accuracy, the percentiles asked for do not).
const MAX_BINS: u32 = 4096;

/// Durations in nanoseconds: count, max, and nearest-rank percentiles.
#[derive(Clone)]
pub struct Durations {
    exact: Vec<u64>,
    sketch: Option<Box<DDSketch>>,
    count: u64,
    max: u64,
}

impl Default for Durations {
    fn default() -> Durations {
        Durations::new()
    }
}

impl std::fmt::Debug for Durations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durations")
            .field("count", &self.count)
            .field("max", &self.max)
            .field("sketched", &self.sketch.is_some())
            .finish()
    }
}

fn new_sketch() -> Box<DDSketch> {
    Box::new(DDSketch::new(Config::new(RELATIVE_ACCURACY, MAX_BINS, 1.0)))
}

impl Durations {
    /// None yet.
    pub fn new() -> Durations {
        Durations {
            exact: Vec::new(),
            sketch: None,
            count: 0,
            max: 0,
        }
    }

    /// Adds one duration.
    pub fn add(&mut self, nanos: u64) {
        self.count += 1;
        self.max = self.max.max(nanos);
        match &mut self.sketch {
            Some(sketch) => sketch.add(nanos as f64),
            None if self.exact.len() < EXACT_UP_TO => self.exact.push(nanos),
            None => {
                let mut sketch = new_sketch();
                for value in self.exact.drain(..) {
                    sketch.add(value as f64);
                }
                sketch.add(nanos as f64);
                self.exact = Vec::new();
                self.sketch = Some(sketch);
            }
        }
    }

    /// Adds every value of `other` (what the module's claim that sketches merge rests on; no
    /// command merges today: one thread folds every duration).
    #[cfg(test)]
    pub fn merge(&mut self, other: &Durations) {
        match &other.sketch {
            None => {
                for &value in &other.exact {
                    self.add(value);
                }
            }
            Some(theirs) => {
                let mine = self.sketch.get_or_insert_with(new_sketch);
                for value in self.exact.drain(..) {
                    mine.add(value as f64);
                }
                self.exact = Vec::new();
                // Same configuration on both sides: merging cannot fail.
                let _ = mine.merge(theirs);
                self.count += other.count;
                self.max = self.max.max(other.max);
            }
        }
    }

    /// How many durations were added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The longest, exact; 0 for none.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Whether the values went to the sketch (quantiles approximate).
    pub fn is_sketched(&self) -> bool {
        self.sketch.is_some()
    }

    /// The nearest-rank `p`-th percentile (`p` in 0..=100): the value at rank ⌈p/100·n⌉ of the
    /// sorted values, exact up to [`EXACT_UP_TO`] values, within [`RELATIVE_ACCURACY`] of it
    /// beyond; 0 for none. The 100th percentile is the exact maximum.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let n = self.count;
        let rank = ((p / 100.0) * n as f64).ceil().clamp(1.0, n as f64) as u64;
        if rank == n {
            return self.max;
        }
        match &self.sketch {
            None => {
                let mut sorted = self.exact.clone();
                let index = (rank - 1) as usize;
                *sorted.select_nth_unstable(index).1
            }
            Some(sketch) => {
                // The sketch answers the value at rank ⌊q·(n−1)⌋ (0-based): aim at the middle of
                // the wanted rank so that rounding cannot move it.
                let q = ((rank - 1) as f64 + 0.5) / (n - 1) as f64;
                let value = sketch.quantile(q.min(1.0)).ok().flatten().unwrap_or(0.0);
                (value.round() as u64).min(self.max)
            }
        }
    }
}

/// Durations of a group, in milliseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// The percentiles and maximum of `durations`.
    pub fn of(durations: &Durations) -> Latency {
        Latency {
            p50_ms: millis(durations.percentile(50.0)),
            p95_ms: millis(durations.percentile(95.0)),
            p99_ms: millis(durations.percentile(99.0)),
            max_ms: millis(durations.max()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::Rng;

    /// The exact nearest-rank percentile of sorted values.
    fn exact(sorted: &[u64], p: f64) -> u64 {
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    /// Durations shaped like stage and call latencies: log-normal around 50 ms with a long tail,
    /// some sub-millisecond, a few outliers of minutes.
    fn latencies(n: usize, seed: u64) -> Vec<u64> {
        let mut rng = Rng(seed);
        (0..n)
            .map(|i| {
                // Box-Muller: a normal deviate.
                let (u1, u2) = (rng.unit().max(1e-12), rng.unit());
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                let base = (50e6f64.ln() + 1.5 * z).exp();
                let nanos = if i % 997 == 0 { base * 3_000.0 } else { base };
                nanos.max(1.0) as u64
            })
            .collect()
    }

    fn assert_within(values: &[u64], durations: &Durations) {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        for p in [1.0, 10.0, 50.0, 90.0, 95.0, 99.0, 99.9] {
            let want = exact(&sorted, p) as f64;
            let got = durations.percentile(p) as f64;
            let error = (got - want).abs() / want;
            assert!(
                error <= RELATIVE_ACCURACY,
                "p{p} of {} values: {got} against exact {want} ({:.4} relative error)",
                values.len(),
                error
            );
        }
        assert_eq!(durations.percentile(100.0), *sorted.last().unwrap());
        assert_eq!(durations.max(), *sorted.last().unwrap());
        assert_eq!(durations.count(), values.len() as u64);
    }

    #[test]
    fn small_inputs_are_exact_nearest_rank() {
        let values: Vec<u64> = (1..=20).rev().collect();
        let mut durations = Durations::new();
        values.iter().for_each(|&v| durations.add(v));
        assert!(!durations.is_sketched());
        assert_eq!(durations.percentile(50.0), 10);
        assert_eq!(durations.percentile(95.0), 19);
        assert_eq!(durations.percentile(100.0), 20);
        assert_eq!(Durations::new().percentile(50.0), 0);
    }

    #[test]
    fn large_inputs_are_within_the_stated_relative_error_of_exact_quantiles() {
        for (n, seed) in [(EXACT_UP_TO + 1, 1), (10_000, 2), (250_000, 3)] {
            let values = latencies(n, seed);
            let mut durations = Durations::new();
            values.iter().for_each(|&v| durations.add(v));
            assert!(durations.is_sketched());
            assert_within(&values, &durations);
        }
    }

    #[test]
    fn merged_parts_answer_like_one_sketch_of_everything() {
        let values = latencies(60_000, 4);
        let mut whole = Durations::new();
        values.iter().for_each(|&v| whole.add(v));
        // Parts of every kind: exact ones (under the limit) and sketched ones.
        let mut merged = Durations::new();
        for chunk in values.chunks(7_000).chain([&values[..0]]) {
            let mut part = Durations::new();
            chunk[..chunk.len().min(500)]
                .iter()
                .for_each(|&v| part.add(v));
            let mut sketched = Durations::new();
            chunk[chunk.len().min(500)..]
                .iter()
                .for_each(|&v| sketched.add(v));
            merged.merge(&part);
            merged.merge(&sketched);
        }
        assert_within(&values, &merged);
        for p in [50.0, 95.0, 99.0] {
            assert_eq!(merged.percentile(p), whole.percentile(p), "p{p}");
        }
    }
}
