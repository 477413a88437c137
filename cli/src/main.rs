//! The `xaa` command.
#![forbid(unsafe_code)]

mod args;
mod client_key;
mod decode;
mod demo;
mod discover;
mod discover_limits;
mod dpop_key;
mod dpop_proof;
mod dpop_proof_help;
mod exit;
mod explain;
mod idp;
mod local_file;
mod login;
mod logout;
mod network;
mod secrets;
mod status;
mod store;
mod terminal;
mod timefmt;
mod token;

use std::process::ExitCode;
use std::time::SystemTime;

use clap::Parser;
use xaa::discovery::{AddressClass, classify};

use args::{Cli, Command, DecodeArgs};
use exit::Failure;
use secrets::SecretSource;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo {
            json,
            dpop,
            sign_in,
        } => demo::run(demo::DemoChoices {
            json,
            dpop,
            sign_in,
        }),
        Command::Token(args) => token::run(*args),
        Command::Discover(args) => discover::run(args),
        Command::Decode(args) => decode_command(args),
        Command::DpopProof(args) => dpop_proof::run(args),
        Command::Login(args) => login::run(*args),
        Command::Status(args) => status::run(&args),
        Command::Logout(args) => logout::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn decode_command(args: DecodeArgs) -> Result<(), Failure> {
    let token = match (args.token.as_deref(), args.file) {
        (Some("-"), None) => SecretSource::Stdin.read("token")?,
        (Some(token), None) => token.to_owned(),
        (None, Some(file)) => SecretSource::File(file).read("token")?,
        (None, None) => SecretSource::Stdin.read("token")?,
        (Some(_), Some(_)) => {
            return Err(Failure::Usage("give the token or --file, not both".into()));
        }
    };
    let jwks = match args.verify_jwks.as_deref() {
        None => None,
        Some(location) if location.starts_with("http://") || location.starts_with("https://") => {
            Some(fetch_jwks(location, &args.network)?)
        }
        Some(path) => Some(local_file::read_bounded(
            std::path::Path::new(path),
            "JWKS",
            local_file::MAX_JWKS_BYTES,
            local_file::Privacy::Public,
        )?),
    };
    let decoded = decode::decode(&token, jwks.as_deref())?;
    let now = SystemTime::now();
    if args.json {
        println!("{}", terminal::json(&decoded.render_json(now), true));
    } else {
        print!("{}", decoded.render_text(now));
    }
    if decoded.verification_failed() {
        return Err(Failure::BadSignature(
            "the signature does not verify with the given JWKS".into(),
        ));
    }
    Ok(())
}

/// Fetches a JWKS over https (plain http only for loopback with --insecure-loopback), through
/// the guarded client, within the run's time bounds.
fn fetch_jwks(url: &str, network_args: &args::NetworkArgs) -> Result<Vec<u8>, Failure> {
    let network = network::Network::new(&network_args.settings(), std::time::Instant::now())?;
    let shown_url = terminal::shown(url);
    let parsed = url::Url::parse(url).map_err(|e| Failure::Usage(format!("{shown_url}: {e}")))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => classify(ip.into()) == AddressClass::Loopback,
        Some(url::Host::Ipv6(ip)) => classify(ip.into()) == AddressClass::Loopback,
        None => false,
    };
    if parsed.scheme() != "https" && !(network_args.insecure_loopback && loopback) {
        return Err(Failure::Usage(format!(
            "{shown_url}: https only (--insecure-loopback allows http on loopback)"
        )));
    }
    let mut policy = xaa::Policy::default();
    policy.allow_http_loopback = network_args.insecure_loopback;
    policy.allow_private_addresses = network_args.allow_private_addresses;
    policy.max_body_bytes = local_file::MAX_JWKS_BYTES;
    let client = network.client(&policy, None)?;
    let request = http::Request::get(url)
        .body(Vec::new())
        .map_err(|e| Failure::Usage(format!("{shown_url}: {e}")))?;
    let response = client
        .send_until(request, network.deadline())
        .map_err(|e| Failure::Protocol(terminal::shown(&e.to_string()).into_owned()))?;
    if !response.status().is_success() {
        return Err(Failure::Protocol(format!(
            "{shown_url} answered {}",
            response.status()
        )));
    }
    Ok(response.into_body())
}
