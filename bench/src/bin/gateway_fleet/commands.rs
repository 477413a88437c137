//! The commands Redis served, from `INFO commandstats`: how many round trips a pass of calls
//! cost, counted by the server.

use std::collections::BTreeMap;

use redis::aio::ConnectionLike;

use crate::BoxError;

/// Calls per command (lower case, as Redis names them), since the server started.
pub(crate) async fn served(
    connection: &mut impl ConnectionLike,
) -> Result<BTreeMap<String, u64>, BoxError> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(connection)
        .await?;
    Ok(info.lines().filter_map(calls_of_line).collect())
}

/// The commands served between `before` and `after`, but the `INFO` and `PING` the
/// measurement itself sends.
pub(crate) fn between(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter(|(command, _)| !matches!(command.as_str(), "info" | "ping"))
        .map(|(command, &calls)| {
            let earlier = before.get(command).copied().unwrap_or(0);
            (command.clone(), calls.saturating_sub(earlier))
        })
        .filter(|&(_, calls)| calls > 0)
        .collect()
}

/// `cmdstat_get:calls=5,usec=12,...` is `("get", 5)`.
fn calls_of_line(line: &str) -> Option<(String, u64)> {
    let (name, stats) = line.trim().strip_prefix("cmdstat_")?.split_once(':')?;
    let calls = stats
        .split(',')
        .find_map(|field| field.strip_prefix("calls="))?
        .parse()
        .ok()?;
    Some((name.to_owned(), calls))
}
