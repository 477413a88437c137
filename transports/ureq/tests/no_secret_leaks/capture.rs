//! Part of the leak test; see `main.rs`.

use super::*;

// ---------------------------------------------------------------------------------------------
// The capture: every event and span field of every crate, as text.
// ---------------------------------------------------------------------------------------------

/// What the subscriber wrote: one line per event, span or recorded span value.
pub(crate) static CAPTURED: Mutex<String> = Mutex::new(String::new());

pub(crate) fn captured() -> MutexGuard<'static, String> {
    CAPTURED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A subscriber interested in everything, at every level, that writes every field it is shown.
pub(crate) struct CaptureEverything {
    pub(crate) next_span: AtomicU64,
}

/// Writes each field as ` name=value`; errors with their `Display`, `Debug` and sources.
pub(crate) struct FieldWriter<'a>(&'a mut String);

impl Visit for FieldWriter<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let _ = write!(self.0, " {}={value} {value:?}", field.name());
        let mut source = value.source();
        while let Some(error) = source {
            let _ = write!(self.0, " caused_by={error} {error:?}");
            source = error.source();
        }
    }
}

impl Subscriber for CaptureEverything {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let metadata = attributes.metadata();
        let mut out = captured();
        let _ = write!(
            out,
            "SPAN {} {} {}:",
            metadata.level(),
            metadata.target(),
            metadata.name()
        );
        attributes.record(&mut FieldWriter(&mut out));
        out.push('\n');
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut out = captured();
        let _ = write!(out, "SPAN-RECORD {}:", span.into_u64());
        values.record(&mut FieldWriter(&mut out));
        out.push('\n');
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut out = captured();
        let _ = write!(out, "{} {}:", metadata.level(), metadata.target());
        event.record(&mut FieldWriter(&mut out));
        out.push('\n');
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Installs the capture for the whole process: the kit's runtime thread and the driver's
/// refresh threads report to it too. This file has a single test, so the global is safe.
pub(crate) fn install_capture() {
    tracing::subscriber::set_global_default(CaptureEverything {
        next_span: AtomicU64::new(0),
    })
    .expect("no other global subscriber in this test binary");
}

/// Polls the capture until a line holds every one of `needles`, for at most `timeout`.
pub(crate) fn wait_for_captured_line(needles: &[&str], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if has_line(&captured(), needles) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether some line of `text` holds every one of `needles`.
pub(crate) fn has_line(text: &str, needles: &[&str]) -> bool {
    text.lines()
        .any(|line| needles.iter().all(|needle| line.contains(needle)))
}

// ---------------------------------------------------------------------------------------------
// The secrets of the run.
