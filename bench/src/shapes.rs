//! Requests per token and sequential round trips on the critical path, per case, counted by
//! the testkit's recorder: once with no delay, then several times with the same delay on
//! every endpoint (which makes the rounds visible and shows what overlapping saves).

use std::time::{Duration, Instant};

use xaa::{EnterpriseAuth, Start};
use xaa_testkit::{Endpoint, RecordedRequest, ReplayMode, Testkit};

use crate::Args;
use crate::contenders::{BoxError, Contenders};
use crate::rounds::Shape;
use crate::stats::{Summary, median_f64};
use crate::target::Target;

/// A case of the requests/round-trips table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    Cold,
    ColdSpeculative,
    Warm,
    Resubmit,
    Hot,
    RmcpWarm,
}

impl Case {
    pub(crate) const ALL: [Self; 6] = [
        Self::Cold,
        Self::ColdSpeculative,
        Self::Warm,
        Self::Resubmit,
        Self::Hot,
        Self::RmcpWarm,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Cold => "xaa cold, from the MCP server URL",
            Self::ColdSpeculative => "xaa cold, speculative PRM (`speculative_resource_metadata`)",
            Self::Warm => "xaa warm refresh (`Start::Cached`)",
            Self::Resubmit => {
                "xaa warm, D13 re-submission (`Start::Resubmit`; the server allows identical \
                 re-submission, D23)"
            }
            Self::Hot => "xaa hot (`Authorizer::token`, cached token)",
            Self::RmcpWarm => "rmcp 3.11 (endpoints supplied; no discovery)",
        }
    }

    /// The protocol's minimum: (requests, sequential round trips).
    pub(crate) fn minimum(self) -> (usize, usize) {
        match self {
            Self::Cold => (6, 5),
            Self::ColdSpeculative => (6, 4),
            Self::Warm | Self::RmcpWarm => (2, 2),
            Self::Resubmit => (1, 1),
            Self::Hot => (0, 0),
        }
    }
}

/// What one case measured.
#[derive(Clone, Debug)]
pub(crate) struct Measured {
    pub(crate) case: Case,
    /// With no delay.
    pub(crate) plain: Shape,
    /// With the delay, one per run.
    pub(crate) delayed: Vec<Shape>,
    /// Wall time of each delayed run, milliseconds.
    pub(crate) delayed_wall_ms: Vec<f64>,
}

impl Measured {
    pub(crate) fn median_wall_ms(&self) -> f64 {
        median_f64(&self.delayed_wall_ms)
    }
}

/// The hot path's own latency: `Authorizer::token` with a cached token.
#[derive(Clone, Debug, Default)]
pub(crate) struct Hot {
    pub(crate) latency: Summary,
}

/// State shared by the cases: xaa's authorizer (for the hot case) and the contenders.
struct Context<'a> {
    target: &'a Target,
    contenders: &'a Contenders,
    authorizer: xaa_reqwest::Authorizer,
    user: xaa::authorizer::User,
}

async fn once(
    kit: &Testkit,
    context: &Context<'_>,
    case: Case,
) -> Result<(Vec<RecordedRequest>, Duration), BoxError> {
    let target = context.target;
    let client = &context.contenders.xaa.client;
    let discovery = target
        .discovery
        .clone()
        .ok_or("the target carries no discovery")?;
    // D13 is an opt-in for authorization servers that accept the same ID-JAG twice (D23); the
    // kit's default is the EMA profile's strict rule, under which the flow falls back to a
    // fresh exchange (three POSTs). The mode must be in force when the ID-JAG is first used:
    // only then does the server keep the token to compare.
    let replay = match case {
        Case::Resubmit => ReplayMode::AllowIdenticalResubmission,
        _ => ReplayMode::Strict,
    };
    kit.set_id_jag_replay(replay);
    // Unrecorded preparation: an ID-JAG to re-submit, a cached token for the hot case.
    let id_jag = match case {
        Case::Resubmit => {
            let flow =
                EnterpriseAuth::new(target.xaa_config(false), Start::Cached(discovery.clone()))?;
            Some(client.run(flow).await?.id_jag.ok_or("no ID-JAG was kept")?)
        }
        Case::Hot => {
            context.authorizer.token(&context.user).await?;
            None
        }
        _ => None,
    };
    kit.clear_requests();
    let started = Instant::now();
    match case {
        Case::Cold | Case::ColdSpeculative => {
            let start = Start::ServerUrl(target.mcp_url.clone());
            let flow =
                EnterpriseAuth::new(target.xaa_config(case == Case::ColdSpeculative), start)?;
            client.run(flow).await?;
        }
        Case::Warm => {
            let flow = EnterpriseAuth::new(target.xaa_config(false), Start::Cached(discovery))?;
            client.run(flow).await?;
        }
        Case::Resubmit => {
            let id_jag = id_jag.ok_or("no ID-JAG was kept")?;
            let start = Start::Resubmit { discovery, id_jag };
            client
                .run(EnterpriseAuth::new(target.xaa_config(false), start)?)
                .await?;
        }
        Case::Hot => {
            context.authorizer.token(&context.user).await?;
        }
        Case::RmcpWarm => {
            context.contenders.rmcp.exchange().await?;
        }
    }
    let wall = started.elapsed();
    Ok((kit.requests(), wall))
}

/// Every case: once with no delay, then `args.delayed_runs` times with `args.delay` on every
/// endpoint. Also the hot path's latency over `args.iterations` calls.
pub(crate) async fn measure(
    kit: &Testkit,
    target: &Target,
    contenders: &Contenders,
    args: &Args,
) -> Result<(Vec<Measured>, Hot), BoxError> {
    let context = Context {
        target,
        contenders,
        authorizer: xaa_reqwest::Authorizer::with_client(
            target.authorizer_config(Duration::from_secs(60)),
            crate::contenders::xaa_client()?,
        ),
        user: target.user()?,
    };
    let mut out = Vec::new();
    for case in Case::ALL {
        kit.clear_delays();
        let (records, _) = once(kit, &context, case).await?;
        let plain = Shape::of(&records);
        for endpoint in Endpoint::ALL {
            kit.set_delay(endpoint, args.delay);
        }
        let mut delayed = Vec::new();
        let mut delayed_wall_ms = Vec::new();
        for _ in 0..args.delayed_runs {
            let (records, wall) = once(kit, &context, case).await?;
            delayed.push(Shape::of(&records));
            delayed_wall_ms.push(wall.as_secs_f64() * 1e3);
        }
        kit.clear_delays();
        out.push(Measured {
            case,
            plain,
            delayed,
            delayed_wall_ms,
        });
    }
    kit.clear_requests();
    // The hot path alone: how long a cached token takes to hand out.
    let mut samples = Vec::with_capacity(args.iterations);
    for _ in 0..args.iterations {
        let started = Instant::now();
        context.authorizer.token(&context.user).await?;
        samples.push(started.elapsed().as_nanos() as u64);
    }
    if !kit.requests().is_empty() {
        return Err("the hot path sent requests".into());
    }
    Ok((
        out,
        Hot {
            latency: Summary::of(&samples),
        },
    ))
}
