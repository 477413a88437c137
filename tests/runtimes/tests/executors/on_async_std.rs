//! async-std: `async_std::net::TcpStream`, connection tasks on `async_std::task::spawn`, the
//! drive itself an async-std task. async-std is discontinued (RUSTSEC-2025-0052) but still
//! run by some users; it is only a dev-dependency here.

use std::future::Future;
use std::io;

use xaa_runtime_tests::Runtime;

use crate::scenario::{self, BlockOn, DEADLINE, Task};

#[derive(Clone, Copy, Debug)]
struct AsyncStd;

impl Runtime for AsyncStd {
    type Stream = async_std::net::TcpStream;

    async fn connect(&self, host: String, port: u16) -> io::Result<Self::Stream> {
        async_std::net::TcpStream::connect((host.as_str(), port)).await
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        // Dropping the handle detaches the task.
        drop(async_std::task::spawn(task));
    }
}

impl BlockOn for AsyncStd {
    fn block_on<T: Send + 'static>(&self, task: Task<T>) -> T {
        let task = async_std::task::spawn(task);
        async_std::task::block_on(async_std::future::timeout(DEADLINE, task))
            .unwrap_or_else(|_| panic!("the task did not finish within {DEADLINE:?}"))
    }
}

#[test]
fn enterprise_flow_on_async_std() {
    scenario::full_flow(AsyncStd);
}

#[test]
fn servers_down_on_async_std() {
    scenario::servers_down(AsyncStd);
}

#[test]
fn redirect_is_not_followed_on_async_std() {
    scenario::redirect_is_not_followed(AsyncStd);
}

#[test]
fn oversized_body_is_cut_on_async_std() {
    scenario::oversized_body_is_cut(AsyncStd);
}
