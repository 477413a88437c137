//! Exchanges per user, from the kit's recorder: each token exchange the IdP answered (200) is
//! one exchange, attributed to the `sub` of the ID token it was for.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use xaa_testkit::{Endpoint, RecordedRequest, Testkit};

/// What the kit saw of one phase's users.
#[derive(Debug, Default)]
pub(crate) struct Exchanges {
    /// Exchanges per user of the phase, users without one included (as zero).
    pub(crate) per_user: Vec<u64>,
    /// The IdP's token exchanges answered 200, for the phase's users.
    pub(crate) idp_exchanges: u64,
    /// The authorization server's grants answered 200 (every user's: the phases do not
    /// overlap).
    pub(crate) as_grants: u64,
}

/// Counts the exchanges of the users named `names` since the recorder was last cleared.
pub(crate) fn count(kit: &Testkit, names: &[String]) -> Exchanges {
    let mut by_user: HashMap<&str, u64> = names.iter().map(|name| (name.as_str(), 0)).collect();
    let mut exchanges = Exchanges::default();
    for request in kit.requests() {
        if !answered(&request) {
            continue;
        }
        match request.endpoint {
            Some(Endpoint::IdpToken) => {
                let subject = request.param("subject_token").and_then(subject_of);
                if let Some(count) = subject.and_then(|sub| by_user.get_mut(sub.as_str())) {
                    *count += 1;
                    exchanges.idp_exchanges += 1;
                }
            }
            Some(Endpoint::AsToken) => exchanges.as_grants += 1,
            _ => {}
        }
    }
    exchanges.per_user = names
        .iter()
        .map(|name| by_user.get(name.as_str()).copied().unwrap_or(0))
        .collect();
    exchanges
}

fn answered(request: &RecordedRequest) -> bool {
    request.status.is_some_and(|status| status.is_success())
}

/// The `sub` claim of a JWT, read without verification (the kit signed it).
fn subject_of(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}
