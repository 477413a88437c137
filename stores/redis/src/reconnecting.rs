//! A blocking connection that opens itself when first used and again after it broke, with
//! timeouts on every step, so no call hangs on a Redis that went away.

use std::time::Duration;

use redis::{Client, Connection, ConnectionLike, RedisResult, Value};

/// How long a blocking connection waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For the TCP connection to be made.
    pub connect: Duration,
    /// For a reply to each command, and for each write.
    pub response: Duration,
}

impl Default for Timeouts {
    /// 2 seconds to connect, 2 seconds for each reply.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            response: Duration::from_secs(2),
        }
    }
}

/// A [`ConnectionLike`] over one Redis server that connects on first use and reconnects on
/// the first use after a failure.
///
/// A command that fails on a broken connection (Redis restarted, the network dropped, a reply
/// timed out) returns its error and drops the connection; the next command opens a new one.
/// A failed command is never sent again on its own: whether it took effect is unknown, and
/// only the caller knows whether repeating it is safe.
pub struct ReconnectingConnection {
    client: Client,
    timeouts: Timeouts,
    connection: Option<Connection>,
}

impl ReconnectingConnection {
    /// A connection to the server `client` names, opened on first use.
    pub fn new(client: Client, timeouts: Timeouts) -> Self {
        Self {
            client,
            timeouts,
            connection: None,
        }
    }

    /// The client, for opening the subscriptions [`RedisLeases::wait_for`] listens on.
    ///
    /// [`RedisLeases::wait_for`]: crate::RedisLeases::wait_for
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn connection(&mut self) -> RedisResult<&mut Connection> {
        let connection = match self.connection.take() {
            Some(connection) if connection.is_open() => connection,
            _ => {
                let connection = self
                    .client
                    .get_connection_with_timeout(nonzero(self.timeouts.connect))?;
                connection.set_read_timeout(Some(nonzero(self.timeouts.response)))?;
                connection.set_write_timeout(Some(nonzero(self.timeouts.response)))?;
                connection
            }
        };
        Ok(self.connection.insert(connection))
    }

    /// Keeps the connection only when `result` leaves it usable.
    fn settle<T>(&mut self, result: RedisResult<T>) -> RedisResult<T> {
        if let Err(error) = &result
            && (error.is_io_error()
                || error.is_timeout()
                || error.is_connection_dropped()
                || error.is_unrecoverable_error())
        {
            self.connection = None;
        }
        result
    }
}

impl std::fmt::Debug for ReconnectingConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconnectingConnection")
            .field("timeouts", &self.timeouts)
            .field("connected", &self.connection.is_some())
            .finish_non_exhaustive()
    }
}

impl ConnectionLike for ReconnectingConnection {
    fn req_packed_command(&mut self, command: &[u8]) -> RedisResult<Value> {
        let result = self
            .connection()
            .and_then(|connection| connection.req_packed_command(command));
        self.settle(result)
    }

    fn req_packed_commands(
        &mut self,
        commands: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        let result = self
            .connection()
            .and_then(|connection| connection.req_packed_commands(commands, offset, count));
        self.settle(result)
    }

    fn get_db(&self) -> i64 {
        self.connection.as_ref().map_or(0, ConnectionLike::get_db)
    }

    fn check_connection(&mut self) -> bool {
        let alive = self
            .connection()
            .is_ok_and(|connection| connection.check_connection());
        if !alive {
            self.connection = None;
        }
        alive
    }

    fn is_open(&self) -> bool {
        self.connection
            .as_ref()
            .is_some_and(ConnectionLike::is_open)
    }
}

/// A socket timeout of zero means "wait forever": at least a millisecond.
fn nonzero(duration: Duration) -> Duration {
    duration.max(Duration::from_millis(1))
}
