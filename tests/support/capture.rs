//! What the leak tests search: every `tracing` event and span field, at the most verbose level,
//! written out as text while a test body runs; and the search itself, which looks for a secret
//! as it is and in every base64 or base64url text that could hold it.
#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Runs `body` with every `tracing` event and span of this thread captured, whatever its level
/// or target. Returns the body's result and the captured text: one line per event (level,
/// target, then each field as `name=value`) and one per span or span record.
pub fn capture<T>(body: impl FnOnce() -> T) -> (T, String) {
    let out = Arc::new(Mutex::new(String::new()));
    let subscriber = Capture {
        out: Arc::clone(&out),
        next_id: AtomicU64::new(0),
    };
    let result = tracing::subscriber::with_default(subscriber, || {
        // Call sites first seen under another subscriber may have cached "disabled".
        tracing::callsite::rebuild_interest_cache();
        body()
    });
    let captured = lock(&out).clone();
    (result, captured)
}

/// Writes every event and span field, as text, into one buffer.
struct Capture {
    out: Arc<Mutex<String>>,
    next_id: AtomicU64,
}

/// The buffer, also after a panic elsewhere poisoned it: what was written stays readable.
fn lock(out: &Mutex<String>) -> MutexGuard<'_, String> {
    out.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Writer<'a>(&'a mut String);

impl Visit for Writer<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut out = lock(&self.out);
        let _ = write!(out, "span {}", attributes.metadata().name());
        attributes.record(&mut Writer(&mut out));
        out.push('\n');
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut out = lock(&self.out);
        values.record(&mut Writer(&mut out));
        out.push('\n');
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut out = lock(&self.out);
        let _ = write!(
            out,
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Writer(&mut out));
        out.push('\n');
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Fails the test when `secret` appears in `text`: as it is, or inside any base64 or base64url
/// text that encodes it (a Basic credential, a JWT segment, a PEM body), whatever its offset
/// there. `name` says which secret it was; the message quotes the lines it was found in.
pub fn assert_absent(text: &str, name: &str, secret: &str) {
    assert!(
        !secret.is_empty(),
        "the {name} is empty: nothing to look for"
    );
    let mut forms = vec![secret.to_owned()];
    forms.extend(encoded_forms(secret.as_bytes()));
    if let Some(form) = forms.iter().find(|form| text.contains(form.as_str())) {
        let lines: Vec<&str> = text
            .lines()
            .filter(|line| line.contains(form.as_str()))
            .collect();
        panic!(
            "the {name} leaked (as {form}) in {} line(s), the first:\n{}",
            lines.len(),
            lines.first().copied().unwrap_or_default()
        );
    }
}

/// The texts every base64 or base64url encoding of a byte string holding `secret` contains.
/// Base64 turns each group of 3 bytes into 4 characters, so what `secret` becomes depends on
/// where it starts within a group: for each of the 3 offsets, the characters made only of the
/// secret's bytes (the groups it fills entirely), in both alphabets.
pub fn encoded_forms(secret: &[u8]) -> Vec<String> {
    let mut forms = Vec::new();
    for offset in 0..3 {
        let mut shifted = vec![0u8; offset];
        shifted.extend_from_slice(secret);
        let whole_groups = shifted.len() / 3;
        let first_group = usize::from(offset > 0);
        if whole_groups <= first_group {
            continue;
        }
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&shifted);
            forms.push(encoded[first_group * 4..whole_groups * 4].to_owned());
        }
    }
    forms.sort();
    forms.dedup();
    forms
}
