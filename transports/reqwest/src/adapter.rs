//! What the reqwest-middleware and tower adapters share besides what every driver's adapters
//! share (`xaa::driver::{AdapterError, request_user, set_bearer}`): the capped body.

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use xaa::driver::BoxError;

use crate::AdapterError;

/// Reads the whole body, at most `limit` bytes.
pub(crate) async fn collect_capped<B>(body: B, limit: usize) -> Result<Bytes, AdapterError>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(AdapterError::BodyTooLarge { limit }),
        Err(error) => Err(AdapterError::Body(error)),
    }
}
