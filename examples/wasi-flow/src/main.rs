//! Runs the canned flow and prints what it found; exits 1 on failure.

fn main() -> std::process::ExitCode {
    match xaa_wasi_flow::run() {
        Ok(summary) => {
            println!(
                "flow done: a token for {} from {}, valid {} s, after {} requests",
                summary.resource,
                summary.authorization_server,
                summary.lifetime_seconds,
                summary.requests
            );
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("flow failed: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
