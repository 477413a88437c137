//! Child processes: the binary re-executes itself with `--child`, hands the child its [`Job`]
//! on standard input, and reads its lines back on a thread of its own, so that every wait for a
//! child has a deadline. A child still running when its handle drops is killed.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::BoxError;
use crate::job::{Job, REPORT_PREFIX, Report};
use crate::report::printable;

/// The flag that makes the binary a child.
pub(crate) const CHILD_FLAG: &str = "--child";
/// What a replica prints once it is ready for the signal to start.
const READY: &str = "ready";
/// How long a child may take to exit once it has reported (a child still running when its
/// handle drops is killed).
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A child process and its output.
pub(crate) struct ChildProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    what: String,
}

impl ChildProcess {
    /// Starts this binary as a child doing `job`.
    pub(crate) fn spawn(what: impl Into<String>, job: &Job) -> Result<Self, BoxError> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(CHILD_FLAG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("the child's output is piped")?;
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Self {
            stdin: child.stdin.take(),
            child,
            lines,
            what: what.into(),
        };
        process.send(&serde_json::to_string(job)?)?;
        Ok(process)
    }

    /// Writes `line` to the child's standard input.
    pub(crate) fn send(&mut self, line: &str) -> Result<(), BoxError> {
        let stdin = self.stdin.as_mut().ok_or("the child's input is closed")?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()?;
        Ok(())
    }

    /// Waits until the child says it is ready, for at most `timeout`.
    pub(crate) fn wait_ready(&mut self, timeout: Duration) -> Result<(), BoxError> {
        self.next_line(timeout, |line| (line == READY).then_some(()))
    }

    /// Tells a ready child to start.
    pub(crate) fn go(&mut self) -> Result<(), BoxError> {
        self.send("go")
    }

    /// Waits for the child's report, for at most `timeout`, then for it to exit.
    pub(crate) fn report(mut self, timeout: Duration) -> Result<Report, BoxError> {
        let report = self.next_line(timeout, |line| {
            line.strip_prefix(REPORT_PREFIX)
                .map(serde_json::from_str::<Report>)
        })??;
        let exited = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if exited.elapsed() > EXIT_TIMEOUT {
                return Err(format!("{} did not exit after its report", self.what).into());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if !status.success() {
            return Err(format!("{} exited with {status}", self.what).into());
        }
        Ok(report)
    }

    /// The first line `accept` takes, within `timeout`; other lines are passed through.
    fn next_line<T>(
        &mut self,
        timeout: Duration,
        mut accept: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, BoxError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => match accept(&line) {
                    Some(value) => return Ok(value),
                    None => println!("  ({}) {}", self.what, printable(&line)),
                },
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("{} did not answer within {timeout:?}", self.what).into());
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("{} exited early", self.what).into());
                }
            }
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// In a child: the job on the first line of standard input.
pub(crate) fn read_job() -> Result<Job, BoxError> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(serde_json::from_str(&line)?)
}

/// In a replica: says it is ready and blocks until the parent says `go`.
pub(crate) fn ready_and_wait_for_go() -> Result<(), BoxError> {
    println!("{READY}");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    if line.trim() != "go" {
        return Err("the parent closed the input before saying go".into());
    }
    Ok(())
}

/// In a child: prints the report line the parent reads.
pub(crate) fn print_report(report: &Report) -> Result<(), BoxError> {
    println!("{REPORT_PREFIX}{}", serde_json::to_string(report)?);
    Ok(())
}
