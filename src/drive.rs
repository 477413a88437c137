//! Run any [`Flow`](crate::Flow) over a caller-supplied send closure, blocking or async.
