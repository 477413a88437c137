//! A whole [`xaa::EnterpriseAuth`] flow through [`xaa::drive_async`] on smol and on
//! async-std, each with the hyper client of `xaa-runtime-tests` on its own TCP streams and
//! tasks, against the loopback testkit.
#![allow(unreachable_pub, missing_docs)]

mod on_async_std;
mod on_smol;
mod scenario;
