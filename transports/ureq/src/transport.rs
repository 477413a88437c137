//! [`UreqTransport`]: a ureq agent configured for OAuth, sending one request at a time.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::DefaultConnector;
use ureq::{Agent, AsSendBody};
use xaa::driver::{
    BlockingTransport, BuildTransport, ClientOptions, Limits, MonotonicClock, ProxySetting,
    Refresh, Transport, sends_body,
};
use xaa::{HttpRequest, HttpResponse};

use crate::error::failure;
use crate::guard::GuardedResolver;
use crate::{Client, Error, tls};

/// The `User-Agent` unless the options name another.
const USER_AGENT: &str = concat!("xaa-ureq/", env!("CARGO_PKG_VERSION"));

/// ureq 3 with no redirects, every status a response, a total timeout, TLS through rustls with
/// aws-lc-rs, and the address guard as its resolver: the transport of [`Client`].
///
/// Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct UreqTransport {
    /// The agent; the middleware's resends go through it too.
    pub(crate) agent: Agent,
}

impl fmt::Debug for UreqTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UreqTransport").finish_non_exhaustive()
    }
}

impl Transport for UreqTransport {
    type Failure = ureq::Error;

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn timeout_detail(failure: &ureq::Error) -> Option<String> {
        match failure {
            ureq::Error::Timeout(reason) => Some(reason.to_string()),
            _ => None,
        }
    }

    fn is_total_timeout(failure: &ureq::Error) -> bool {
        matches!(failure, ureq::Error::Timeout(ureq::Timeout::Global))
    }
}

impl MonotonicClock for UreqTransport {
    fn instant(&self) -> Instant {
        Instant::now()
    }
}

impl BuildTransport for UreqTransport {
    fn build(options: &ClientOptions) -> Result<Self, Error> {
        let proxy = match &options.proxy {
            ProxySetting::Environment => ureq::Proxy::try_from_env(),
            ProxySetting::None => None,
            ProxySetting::Url(url) => Some(
                ureq::Proxy::new(url)
                    .map_err(|_| Error::Config("the proxy URL is not valid".into()))?,
            ),
        };
        let config = Agent::config_builder()
            // A 3xx comes back as a response, which the core refuses (decisions.md D4).
            .max_redirects(0)
            // OAuth error bodies (400 invalid_grant, ...) reach the core.
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .timeout_connect(options.connect_timeout)
            .proxy(proxy)
            .user_agent(options.user_agent_or(USER_AGENT))
            .tls_config(tls::config(options)?)
            .build();
        let resolver = GuardedResolver {
            inner: DefaultResolver::default(),
            guard: options.guard(),
            answers: options.static_answers.clone(),
        };
        let agent = Agent::with_parts(config, DefaultConnector::new(), resolver);
        Ok(Self { agent })
    }
}

impl BlockingTransport for UreqTransport {
    fn send(&self, request: HttpRequest, limits: Limits) -> Result<HttpResponse, Error> {
        let (parts, body) = request.into_parts();
        let response = if sends_body(&parts.method, &body) {
            self.execute(http::Request::from_parts(parts, body), limits.timeout)
        } else {
            self.execute(http::Request::from_parts(parts, ()), limits.timeout)
        }?;
        let (parts, mut body) = response.into_parts();
        limits.check_declared(&parts.headers)?;
        let cap = u64::try_from(limits.max_body_bytes).unwrap_or(u64::MAX);
        // ureq's limited reader: more than the cap is `BodyExceedsLimit`, never a truncation.
        let bytes = body.with_config().limit(cap).read_to_vec();
        Ok(http::Response::from_parts(parts, bytes.map_err(failure)?))
    }

    fn refresh_in_background(refresh: Refresh<Client>) {
        let spawned = std::thread::Builder::new()
            .name("xaa-refresh".into())
            .spawn(move || {
                if let Err(error) = refresh.run() {
                    tracing::debug!(event = "refresh_failed", error = %error, "background refresh failed");
                }
            });
        if let Err(error) = spawned {
            // The closure, and with it the flight, is dropped: its waiters try again.
            tracing::debug!(event = "refresh_not_started", error = %error, "could not spawn the refresh thread");
        }
    }
}

impl UreqTransport {
    /// Runs the request, with its total timeout cut to `timeout` when there is one.
    fn execute<S: AsSendBody>(
        &self,
        request: http::Request<S>,
        timeout: Option<Duration>,
    ) -> Result<http::Response<ureq::Body>, Error> {
        let request = match timeout {
            Some(timeout) => self
                .agent
                .configure_request(request)
                .timeout_global(Some(timeout))
                .build(),
            None => request,
        };
        self.agent.run(request).map_err(failure)
    }
}
