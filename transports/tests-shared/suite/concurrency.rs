//! Many callers (threads, or tokio tasks) through one authorizer against the testkit:
//! single-flight on a cold cache, callers holding a valid token never waiting for a refresh
//! (decisions.md D19), and (async) a cancelled flight releasing its waiters.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::Barrier;
use crate::common::{self, count, user};
use crate::driver::Authorizer;
use xaa_testkit::{Endpoint, Options};

driver_test! {
    workers = 4;
    fn sixty_four_cold_callers_cause_one_exchange_and_one_jwt_bearer_grant() {
        const CALLERS: usize = 64;
        let kit = common::kit();
        // A slow exchange widens the window in which the callers meet the flight.
        kit.set_delay(Endpoint::IdpToken, Duration::from_millis(300));
        let authorizer = common::authorizer(&kit);
        let alice = user(&kit, "alice");
        let barrier = Arc::new(Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (authorizer, alice, barrier) =
                    (authorizer.clone(), alice.clone(), Arc::clone(&barrier));
                spawn!({
                    wait!(barrier.wait());
                    wait!(authorizer.token(&alice))
                })
            })
            .collect();
        let mut tokens = Vec::new();
        for caller in callers {
            tokens.push(joined!(caller).expect("token"));
        }
        assert!(tokens.iter().all(|token| *token == tokens[0]), "one token");
        assert_eq!(count(&kit, Endpoint::IdpToken), 1, "{:#?}", kit.requests());
        assert_eq!(count(&kit, Endpoint::AsToken), 1);
        assert_eq!(count(&kit, Endpoint::ResourceMetadata), 1, "one discovery");
        assert_eq!(
            kit.access_token_info(tokens[0].expose_secret())
                .expect("kit token")
                .subject,
            "alice"
        );
    }
}

driver_test! {
    workers = 4;
    fn callers_with_a_valid_token_are_not_delayed_by_a_refresh() {
        const CALLERS: usize = 16;
        const EXCHANGE_DELAY: Duration = Duration::from_secs(3);
        // Tokens live 10 s and are due for refresh 8 s before expiry: fresh for about 2 s.
        let kit =
            common::kit_with(Options::default().access_token_lifetime(Duration::from_secs(10)));
        let authorizer = Authorizer::with_client(
            common::config(&kit).refresh_lead(Duration::from_secs(8)),
            common::client(),
        );
        let alice = user(&kit, "alice");
        let first = wait!(authorizer.token(&alice)).expect("cold");
        let landed = Instant::now();
        sleep!(Duration::from_secs(3).saturating_sub(landed.elapsed()));
        kit.set_delay(Endpoint::IdpToken, EXCHANGE_DELAY);
        kit.clear_requests();

        // The caller that starts the refresh.
        let started = Instant::now();
        assert_eq!(wait!(authorizer.token(&alice)).expect("due"), first);
        let trigger = started.elapsed();
        // And callers arriving while it runs.
        let barrier = Arc::new(Barrier::new(CALLERS));
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (authorizer, alice, barrier) =
                    (authorizer.clone(), alice.clone(), Arc::clone(&barrier));
                spawn!({
                    wait!(barrier.wait());
                    let started = Instant::now();
                    let token = wait!(authorizer.token(&alice)).expect("token");
                    (token, started.elapsed())
                })
            })
            .collect();
        let mut results = Vec::new();
        for caller in callers {
            results.push(joined!(caller));
        }
        let all_returned = started.elapsed();
        let slowest = results
            .iter()
            .map(|(_, took)| *took)
            .max()
            .expect("callers");
        let bound = EXCHANGE_DELAY / 4;
        assert!(trigger < bound, "the trigger took {trigger:?}");
        assert!(slowest < bound, "the slowest caller took {slowest:?}");
        assert!(results.iter().all(|(token, _)| *token == first));
        if all_returned < EXCHANGE_DELAY {
            assert!(
                kit.requests_to(Endpoint::IdpToken)
                    .iter()
                    .all(|r| r.status.is_none()),
                "every caller returned before the exchange was answered"
            );
        }

        // The refresh completes in the background; the next call sees the new token.
        assert!(wait_until!(
            Duration::from_secs(30),
            wait!(authorizer.token(&alice)).expect("token") != first
        ));
        let second = wait!(authorizer.token(&alice)).expect("refreshed");
        assert_ne!(second, first);
        assert_eq!(count(&kit, Endpoint::IdpToken), 1, "{:#?}", kit.requests());
        assert_eq!(count(&kit, Endpoint::AsToken), 1);
        assert_eq!(common::metadata_requests(&kit), 0);
        assert_eq!(
            kit.access_token_info(second.expose_secret())
                .expect("kit token")
                .subject,
            "alice"
        );
    }
}

async_only! {
    /// A task running a flight is aborted while another waits on it: the waiter tries again
    /// on its own and gets a token (a dropped flight releases its waiters).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_flight_releases_its_waiters() {
        let kit = common::kit();
        kit.set_delay(Endpoint::IdpToken, Duration::from_secs(1));
        let authorizer = common::authorizer(&kit);
        let alice = user(&kit, "alice");
        let runner = {
            let (authorizer, alice) = (authorizer.clone(), alice.clone());
            tokio::spawn(async move { authorizer.token(&alice).await })
        };
        // The runner is inside its flight (its exchange is held by the delay) when a waiter
        // joins.
        assert!(wait_until!(
            Duration::from_secs(30),
            !kit.requests_to(Endpoint::IdpToken).is_empty()
        ));
        let waiter = {
            let (authorizer, alice) = (authorizer.clone(), alice.clone());
            tokio::spawn(async move { authorizer.token(&alice).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        runner.abort();
        assert!(runner.await.expect_err("aborted").is_cancelled());

        // The waiter tries again on its own and gets a token.
        let token = tokio::time::timeout(Duration::from_secs(30), waiter)
            .await
            .expect("the waiter is released")
            .expect("task")
            .expect("token");
        assert_eq!(
            kit.access_token_info(token.expose_secret())
                .expect("kit token")
                .subject,
            "alice"
        );
        assert_eq!(count(&kit, Endpoint::IdpToken), 2, "{:#?}", kit.requests());
        assert_eq!(count(&kit, Endpoint::AsToken), 1);
    }
}
