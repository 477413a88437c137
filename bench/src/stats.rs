//! Medians and percentiles of samples, and the CPU clock of the calling thread.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// Summary of a set of durations (nanoseconds).
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Summary {
    pub(crate) n: usize,
    pub(crate) median_ns: f64,
    pub(crate) p99_ns: f64,
    pub(crate) max_ns: f64,
}

impl Summary {
    pub(crate) fn of(samples: &[u64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Self {
            n: sorted.len(),
            median_ns: median_sorted(&sorted),
            p99_ns: percentile_sorted(&sorted, 99.0),
            max_ns: sorted.last().copied().unwrap_or_default() as f64,
        }
    }
}

/// The median of sorted samples (mean of the two middle ones for an even count).
pub(crate) fn median_sorted(sorted: &[u64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2] as f64,
        n => (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0,
    }
}

/// The nearest-rank percentile of sorted samples.
pub(crate) fn percentile_sorted(sorted: &[u64], percentile: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (percentile / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64
}

/// The median of floats.
pub(crate) fn median_f64(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The calling thread's CPU time, from `/proc/thread-self/schedstat` (its first field: time
/// on a CPU, in nanoseconds). The file is opened once and re-read at offset 0, one `pread`
/// per reading. The whole client (the futures, reqwest's connection tasks, tokio's timers)
/// runs on the thread of a current-thread runtime, so this is the client's CPU time.
pub(crate) struct ThreadCpu {
    file: Option<File>,
}

impl ThreadCpu {
    /// Opens the clock of the calling thread; `None` readings where procfs has no schedstat.
    pub(crate) fn open() -> Self {
        Self {
            file: File::open("/proc/thread-self/schedstat").ok(),
        }
    }

    /// Nanoseconds on a CPU so far.
    pub(crate) fn now(&self) -> Option<u64> {
        let file = self.file.as_ref()?;
        let mut buffer = [0u8; 128];
        let read = file.read_at(&mut buffer, 0).ok()?;
        let text = std::str::from_utf8(&buffer[..read]).ok()?;
        text.split_whitespace().next()?.parse().ok()
    }
}

/// The process's peak resident set (`VmHWM`), kilobytes.
pub(crate) fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
