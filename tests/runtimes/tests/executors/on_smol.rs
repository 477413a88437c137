//! smol: `smol::net::TcpStream`, connection tasks on `smol::spawn`, the drive itself a smol
//! task.

use std::future::Future;
use std::io;
use std::sync::Arc;

use xaa_runtime_tests::Runtime;

use crate::scenario::{self, BlockOn, DEADLINE, Task};

#[derive(Clone, Copy, Debug)]
struct Smol;

impl Runtime for Smol {
    type Stream = smol::net::TcpStream;

    async fn connect(&self, host: String, port: u16) -> io::Result<Self::Stream> {
        smol::net::TcpStream::connect((host.as_str(), port)).await
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        smol::spawn(task).detach();
    }
}

impl BlockOn for Smol {
    fn block_on<T: Send + 'static>(&self, task: Task<T>) -> T {
        let task = smol::spawn(task);
        smol::block_on(smol::future::or(task, async {
            smol::Timer::after(DEADLINE).await;
            panic!("the task did not finish within {DEADLINE:?}");
        }))
    }
}

#[test]
fn enterprise_flow_on_smol() {
    scenario::full_flow(Smol);
}

#[test]
fn serialized_sends_on_smol_do_not_overlap() {
    let mutex = Arc::new(smol::lock::Mutex::new(()));
    scenario::serialized_sends_do_not_overlap(Smol, move || {
        let mutex = Arc::clone(&mutex);
        Box::pin(async move { Box::new(mutex.lock_arc().await) as Box<dyn Send> })
    });
}

#[test]
fn servers_down_on_smol() {
    scenario::servers_down(Smol);
}

#[test]
fn redirect_is_not_followed_on_smol() {
    scenario::redirect_is_not_followed(Smol);
}

#[test]
fn oversized_body_is_cut_on_smol() {
    scenario::oversized_body_is_cut(Smol);
}
