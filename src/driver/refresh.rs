//! [`Refresh`]: a refresh flight a transport runs in the background, while its caller goes on
//! with a still-valid token. How it runs is in [`super::authorize`], with the rest of the loop.

use std::fmt;

use crate::authorizer::{Authorizer, Flight};

/// A refresh flight to run in the background, while its caller goes on with a still-valid
/// token ([`BlockingTransport::refresh_in_background`](super::BlockingTransport::refresh_in_background),
/// [`AsyncTransport::refresh_in_background`](super::AsyncTransport::refresh_in_background)). Dropping it unrun releases its waiters, who
/// then try again.
pub struct Refresh<C> {
    pub(super) authorizer: Authorizer,
    pub(super) client: C,
    pub(super) flight: Flight,
}

impl<C> fmt::Debug for Refresh<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refresh")
            .field("flight", &self.flight)
            .finish_non_exhaustive()
    }
}

impl<C> Refresh<C> {
    pub(super) fn new(authorizer: Authorizer, client: C, flight: Flight) -> Self {
        Self {
            authorizer,
            client,
            flight,
        }
    }
}
