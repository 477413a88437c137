//! Medians and 90th percentiles of samples.

use serde::{Deserialize, Serialize};

/// The median and the 90th percentile (nearest rank) of a set of samples.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Summary {
    pub(crate) n: usize,
    pub(crate) median: f64,
    pub(crate) p90: f64,
}

impl Summary {
    /// The summary of `samples` (all zero when there are none).
    pub(crate) fn of(samples: &[f64]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self {
            n: sorted.len(),
            median: median_sorted(&sorted),
            p90: percentile_sorted(&sorted, 90.0),
        }
    }

    /// The summary of durations in nanoseconds.
    pub(crate) fn of_nanos(samples: &[u64]) -> Self {
        let floats: Vec<f64> = samples.iter().map(|&ns| ns as f64).collect();
        Self::of(&floats)
    }
}

/// The median of sorted samples (the mean of the two middle ones for an even count).
fn median_sorted(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The nearest-rank percentile of sorted samples.
fn percentile_sorted(sorted: &[f64], percentile: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (percentile / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Nanoseconds as a human figure: `850 ns`, `12.3 µs`, `4.56 ms`.
pub(crate) fn duration(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}
