//! Medians and percentiles of samples, and the CPU clock of the calling thread.

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

/// The calling thread's CPU time, from `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`: live to the
/// nanosecond. (`/proc/thread-self/schedstat`, read while the thread runs, is only as fresh as
/// the last scheduler tick or switch, 4 ms here: a busy loop read it in whole ticks.) The whole
/// client (the futures, reqwest's connection tasks, tokio's timers) runs on the thread of a
/// current-thread runtime, so this is the client's CPU time.
pub(crate) struct ThreadCpu;

impl ThreadCpu {
    /// The clock of the calling thread.
    pub(crate) fn open() -> Self {
        Self
    }

    /// Nanoseconds on a CPU so far; `None` where the platform has no thread CPU clock.
    pub(crate) fn now(&self) -> Option<u64> {
        let time = cpu_time::ThreadTime::try_now().ok()?;
        u64::try_from(time.as_duration().as_nanos()).ok()
    }
}

/// The process's peak resident set (`VmHWM`), kilobytes.
pub(crate) fn peak_rss_kb() -> Option<u64> {
    status_kb("VmHWM:")
}

/// The process's resident set now (`VmRSS`), kilobytes.
pub(crate) fn rss_kb() -> Option<u64> {
    status_kb("VmRSS:")
}

/// A kilobyte figure of `/proc/self/status`.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
