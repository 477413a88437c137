//! The client's DPoP binding as the flows see it, with or without the `dpop` feature.
//!
//! With the feature this is [`crate::dpop::DpopBinding`]. Without it, an uninhabited type with
//! the same crate-internal methods: an `Option<Binding>` is then always `None`, and the flows
//! handle DPoP in one code path with no `cfg` of their own.

#[cfg(feature = "dpop")]
pub(crate) use crate::dpop::{DpopBinding as Binding, IdJagConfirmation, TokenAnswer};

#[cfg(not(feature = "dpop"))]
pub(crate) use without::{Binding, IdJagConfirmation, TokenAnswer};

#[cfg(not(feature = "dpop"))]
mod without {
    use std::time::SystemTime;

    use crate::discovery::AuthorizationServerMetadata;
    use crate::{DpopRefusal, HttpRequest, HttpResponse};

    /// No DPoP key can exist without the feature: the field cannot be made.
    #[derive(Clone, Debug)]
    pub(crate) struct Binding {
        pub(crate) never: std::convert::Infallible,
    }

    /// Mirrors the feature's type.
    #[allow(dead_code)]
    #[derive(Clone, Copy, Debug)]
    pub(crate) enum IdJagConfirmation<'a> {
        Absent,
        Jkt(&'a str),
        Malformed,
        Encrypted,
    }

    /// Mirrors the feature's type; never made.
    #[allow(dead_code)]
    #[derive(Clone, Copy, Debug)]
    pub(crate) enum TokenAnswer {
        RetryWithNonce,
        NonceMissing,
        Judge,
    }

    impl Binding {
        pub(crate) fn is_on(&self) -> bool {
            match self.never {}
        }
        pub(crate) fn jkt(&self) -> &str {
            match self.never {}
        }
        pub(crate) fn sends_proofs_to(
            &self,
            _: Option<&AuthorizationServerMetadata>,
        ) -> Result<bool, DpopRefusal> {
            match self.never {}
        }
        pub(crate) fn attach_token_proof(
            &self,
            _: &mut HttpRequest,
            _: SystemTime,
        ) -> Result<(), DpopRefusal> {
            match self.never {}
        }
        pub(crate) fn token_answer(&self, _: &http::Uri, _: &HttpResponse) -> TokenAnswer {
            match self.never {}
        }
        pub(crate) fn judge_id_jag(
            &self,
            _: IdJagConfirmation<'_>,
        ) -> Result<Option<String>, DpopRefusal> {
            match self.never {}
        }
        pub(crate) fn judge_token_type(&self, _: &str) -> Result<Option<String>, DpopRefusal> {
            match self.never {}
        }
    }
}
