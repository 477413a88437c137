//! One Redis request, built once and sent over a blocking or an async connection: the only
//! place where the two kinds of connection differ.

use redis::{Cmd, ConnectionLike, Script, Value, aio};

use crate::error::StoreError;

/// A command, or a script with its keys and arguments.
pub(crate) enum Request {
    /// A plain command.
    Command(Cmd),
    /// A script, sent as `EVALSHA` and, when Redis does not know it yet, as `EVAL`.
    Script(ScriptCall),
}

/// A script with its keys and arguments (bytes: a sealed value is one).
pub(crate) struct ScriptCall {
    pub(crate) script: &'static Script,
    pub(crate) keys: Vec<String>,
    pub(crate) args: Vec<Vec<u8>>,
}

impl ScriptCall {
    fn invocation(&self) -> redis::ScriptInvocation<'static> {
        let mut invocation = self.script.prepare_invoke();
        for key in &self.keys {
            invocation.key(key);
        }
        for arg in &self.args {
            invocation.arg(arg);
        }
        invocation
    }
}

impl Request {
    /// Sends the request over a blocking connection and returns the reply.
    pub(crate) fn run(&self, connection: &mut impl ConnectionLike) -> Result<Value, StoreError> {
        let reply = match self {
            Self::Command(command) => command.query(connection),
            Self::Script(call) => call.invocation().invoke(connection),
        };
        Ok(reply?)
    }

    /// Sends the request over an async connection and returns the reply.
    pub(crate) async fn run_async<C>(&self, connection: &mut C) -> Result<Value, StoreError>
    where
        C: aio::ConnectionLike + Send,
    {
        let reply = match self {
            Self::Command(command) => command.query_async(connection).await,
            Self::Script(call) => call.invocation().invoke_async(connection).await,
        };
        Ok(reply?)
    }
}
