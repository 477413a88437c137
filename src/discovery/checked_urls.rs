//! URLs a flow has already parsed and checked, carried by its [`Discovery`](crate::Discovery)
//! so that the next flow started from it (two POSTs, design: Starting points) does not parse them
//! again: URL parsing with its IDNA host processing was about 40 % of a warm exchange's work.
//!
//! A memo, never a shortcut around a check: an entry is used only for the very same string,
//! under the very same URL policy (the [`Policy`](crate::Policy) switches the checks read,
//! and the D5 private-deployment flag of the same MCP server URL). Any other URL, a field
//! changed after the flow, another policy, or a discovery read back from storage (the memo is
//! not serialized) is parsed and checked in full.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use url::Url;

/// What the outcome of a URL check depends on besides the URL itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CheckRules {
    pub(crate) allow_http_loopback: bool,
    pub(crate) allow_private_addresses: bool,
    /// The MCP server URL is a private or loopback IP literal (decisions.md D5).
    pub(crate) private_deployment: bool,
}

/// The checked URLs of one discovery, or nothing.
#[derive(Clone, Default)]
pub(crate) struct CheckedUrls(Option<Arc<CheckedSet>>);

pub(crate) struct CheckedSet {
    pub(crate) rules: CheckRules,
    pub(crate) server_url: String,
    /// Each URL as written, with its parsed form.
    pub(crate) urls: Vec<(String, Url)>,
}

impl CheckedUrls {
    pub(crate) fn new(set: CheckedSet) -> Self {
        Self(Some(Arc::new(set)))
    }

    pub(crate) fn set(&self) -> Option<&Arc<CheckedSet>> {
        self.0.as_ref()
    }

    pub(crate) fn shared(set: &Arc<CheckedSet>) -> Self {
        Self(Some(Arc::clone(set)))
    }
}

impl CheckedSet {
    /// The parsed form of `url`, when it was checked.
    pub(crate) fn get(&self, url: &str) -> Option<&Url> {
        parsed_form(&self.urls, url)
    }

    /// Whether every one of `urls` was checked.
    pub(crate) fn covers<'a>(&self, mut urls: impl Iterator<Item = &'a str>) -> bool {
        urls.all(|url| self.get(url).is_some())
    }
}

/// A memo is not part of a discovery's value: two discoveries with the same documents are
/// equal whether or not one carries it.
impl PartialEq for CheckedUrls {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for CheckedUrls {}

impl fmt::Debug for CheckedUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.as_ref().map_or(0, |set| set.urls.len());
        write!(f, "CheckedUrls({count})")
    }
}

/// The URLs checked so far by one flow and its child steps, which share its guard: a flow
/// meets the same URL several times (an issuer when the authorization server is chosen and when
/// its metadata is fetched, a token endpoint in the metadata and in the token request, all of
/// them again for the memo it hands back), and parses it once.
///
/// Only a guard and its clones share one, and a clone keeps the rules it was made with, so an
/// entry is always a check under the rules now in force. Bounded: past [`FlowChecks::LIMIT`]
/// URLs (a hostile document naming many), further ones are checked each time.
#[derive(Clone, Default)]
pub(crate) struct FlowChecks(Arc<Mutex<Vec<(String, Url)>>>);

impl FlowChecks {
    pub(crate) const LIMIT: usize = 32;

    /// The parsed form of `url`, when this flow already checked it.
    pub(crate) fn get(&self, url: &str) -> Option<Url> {
        parsed_form(&self.lock(), url).cloned()
    }

    /// Notes that `url` passed the check as `parsed`.
    pub(crate) fn record(&self, url: &str, parsed: &Url) {
        let mut checked = self.lock();
        if checked.len() < Self::LIMIT && parsed_form(&checked, url).is_none() {
            checked.push((url.to_owned(), parsed.clone()));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Url)>> {
        // The vector is valid whatever a panicking holder left: entries are pushed whole.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for FlowChecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FlowChecks({})", self.lock().len())
    }
}

/// The parsed form of `url` in a list of checked URLs, compared as written.
fn parsed_form<'a>(checked: &'a [(String, Url)], url: &str) -> Option<&'a Url> {
    checked
        .iter()
        .find(|(written, _)| written == url)
        .map(|(_, parsed)| parsed)
}
