//! The async connection the stores are meant to run on: redis' `ConnectionManager`, which
//! reconnects on its own, with bounded timeouts and retries.

use redis::Client;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::StoreError;
use crate::reconnecting::Timeouts;

/// How many times the manager tries to reconnect after a failure before it reports one.
const RECONNECT_ATTEMPTS: usize = 3;

/// An async connection to the server `client` names, that reconnects by itself after Redis
/// went away and came back; every command waits at most `timeouts.response`, every connection
/// attempt at most `timeouts.connect`. Fails when the first connection cannot be made.
pub async fn connection_manager(
    client: Client,
    timeouts: Timeouts,
) -> Result<ConnectionManager, StoreError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeouts.connect))
        .set_response_timeout(Some(timeouts.response))
        .set_number_of_retries(RECONNECT_ATTEMPTS);
    Ok(ConnectionManager::new_with_config(client, config).await?)
}
