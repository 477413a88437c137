//! A real headless Chromium signs in: `xaa login --no-browser` prints the sign-in URL, the
//! browser opens it, a person's choice is clicked on the kit's form and submitted, the IdP
//! redirects the browser to the command's loopback listener, and the session is stored. Then
//! `xaa token` gets an access token from the session alone, and renews the session with the
//! refresh token, without a browser, once the ID token has expired.

use std::path::Path;
use std::time::Duration;

use xaa_testkit::{AS_CLIENT_ID, Options, Testkit};

use crate::browser_support::{ChromeDriver, Chromium, XaaChild, skipped};
use crate::login_support::{self, assert_no_secret, stored_secrets};
use crate::support::{Run, Setup, TempDir, Via, Xaa, kit, mode};

/// The kit's ID tokens live this long: every `xaa token` finds the session's ID token within
/// its freshness margin and renews it, and a short sleep lets it expire.
const ID_TOKEN_LIFETIME: Duration = Duration::from_secs(5);

/// The environment of every `xaa` child: no OS credential store, the file store alone.
const NO_CREDENTIAL_STORE: (&str, &str) = ("XAA_CREDENTIAL_STORE", "none");

/// The user the browser chooses: not the one the form checks first, so the click counts.
const USER: &str = "bob";

/// The longest any step of the browser's sign-in may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// `xaa login --no-browser` against the kit's IdP, its client as registered now.
fn login_args(kit: &Testkit, dir: &TempDir, store: &Path) -> Vec<String> {
    let mut args = vec!["login".to_owned()];
    args.extend(login_support::login_args(
        kit,
        dir,
        store,
        &["--no-browser"],
    ));
    args
}

/// The `redirect_uri` a sign-in URL carries.
fn redirect_uri(sign_in_url: &str) -> String {
    url::Url::parse(sign_in_url)
        .expect("the sign-in URL parses")
        .query_pairs()
        .find(|(name, _)| name == "redirect_uri")
        .map(|(_, value)| value.into_owned())
        .expect("the sign-in URL has a redirect_uri")
}

/// `xaa token` with the store and the authorization server's client alone: no subject token,
/// no IdP setting (both come from the session). Neither `secrets` nor the setup's may be
/// printed.
fn token_from_session(setup: &Setup<'_>, store: &Path, secrets: &[String]) -> Run {
    let kit = setup.kit;
    let bare = Xaa::new(["token", "--insecure-loopback"])
        .args(["--server", kit.mcp_url()])
        .args(["--as-client-id", AS_CLIENT_ID])
        .args(["--token-store".into(), store.as_os_str().to_owned()])
        .env(NO_CREDENTIAL_STORE.0, NO_CREDENTIAL_STORE.1)
        .secrets(setup.secrets.iter().chain(secrets).cloned());
    setup.credentials(bare, Via::File, Via::File).run()
}

/// stdout is one access token the kit issued for [`USER`] and the MCP server.
#[track_caller]
fn assert_token_for_user(kit: &Testkit, run: &Run) {
    let token = run.stdout.trim_end_matches('\n');
    assert!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "stdout is exactly the token:\n{run}"
    );
    let info = kit
        .access_token_info(token)
        .unwrap_or_else(|| panic!("the kit did not issue the token printed:\n{run}"));
    assert_eq!(info.subject, USER);
    assert_eq!(info.resource, kit.mcp_url());
    assert_eq!(info.idp_issuer, kit.idp_issuer());
}

/// One grant the kit's IdP token endpoint served: grant type, user, refresh generation,
/// error.
type Grant = (String, Option<String>, Option<u32>, Option<String>);

/// The grants the kit's IdP token endpoint served, in order.
fn token_grants(kit: &Testkit) -> Vec<Grant> {
    kit.sign_in_records()
        .into_iter()
        .filter_map(|record| {
            let grant = record.grant_type?;
            Some((grant, record.user, record.refresh_generation, record.error))
        })
        .collect()
}

#[test]
fn browser_signs_in_through_the_kit_form_then_token_renews_without_it() {
    let chromium = match Chromium::find() {
        Ok(chromium) => chromium,
        Err(reason) => return skipped(&reason),
    };
    let kit = kit(Options::new());
    kit.set_id_token_lifetime(ID_TOKEN_LIFETIME);
    let setup = Setup::new(&kit);
    let store = setup.dir.path().join("store.json");
    let profile = setup.dir.subdir("chromium-profile", 0o700);
    let driver = ChromeDriver::start(&chromium.driver, &setup.dir.path().join("chromedriver.log"));
    let browser = driver.session(&chromium.browser, &profile);

    let mut login = XaaChild::start(
        &login_args(&kit, &setup.dir, &store),
        &[NO_CREDENTIAL_STORE],
    );
    let sign_in_url = login.next_line(STEP_TIMEOUT);
    assert!(
        sign_in_url.starts_with(&format!("{}?", kit.idp_authorization_endpoint())),
        "stdout starts with the sign-in URL alone: {sign_in_url}"
    );
    let listener = redirect_uri(&sign_in_url);
    assert!(listener.starts_with("http://127.0.0.1:"), "{listener}");

    browser.navigate(&sign_in_url);
    assert_eq!(browser.title(), "Sign in to the xaa test kit IdP");
    let choice = browser.find(&format!("form#sign-in input[name='user'][value='{USER}']"));
    assert!(
        !browser.is_selected(&choice),
        "the form does not preselect {USER}"
    );
    browser.click(&choice);
    assert!(browser.is_selected(&choice), "the click chose {USER}");
    browser.click(&browser.find("form#sign-in button#allow"));

    let landed = browser.wait_for_url(|url| url.starts_with(&listener), STEP_TIMEOUT);
    let code = url::Url::parse(&landed)
        .expect("the landing URL parses")
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .unwrap_or_else(|| panic!("the redirect carried no code: {landed}"));
    assert_eq!(browser.title(), "xaa: Signed in");
    let page = browser.text(&browser.find("body"));
    assert!(page.contains("You are signed in."), "{page}");

    let ended = login.finish(STEP_TIMEOUT);
    assert_eq!(ended.code, 0, "{ended:?}");
    assert_eq!(ended.stdout, "", "nothing after the URL: {ended:?}");
    assert!(
        ended.stderr.contains(&format!("signed in as {USER} at ")),
        "{ended:?}"
    );
    assert_eq!(mode(&store), 0o600, "the session is stored, private");
    let mut secrets = stored_secrets(&store);
    assert_eq!(secrets.len(), 2, "an ID token and a refresh token are kept");
    secrets.push(code);
    assert_no_secret(&ended.stderr, &secrets);
    assert_eq!(
        token_grants(&kit),
        vec![(
            "authorization_code".to_owned(),
            Some(USER.to_owned()),
            None,
            None
        )],
        "one code redeemed, for the user chosen in the browser"
    );
    let status = Xaa::new([
        "status".into(),
        "--token-store".into(),
        store.as_os_str().to_owned(),
    ])
    .env(NO_CREDENTIAL_STORE.0, NO_CREDENTIAL_STORE.1)
    .secrets(secrets.clone())
    .run()
    .expect_code(0);
    assert!(
        status.stdout.starts_with(&format!("signed in as {USER}")),
        "{status}"
    );

    // The browser is done: the session alone gets tokens from here on.
    drop(browser);
    drop(driver);
    let first = token_from_session(&setup, &store, &secrets).expect_code(0);
    assert_token_for_user(&kit, &first);
    assert_eq!(kit.refresh_token_redemptions(), 1, "{first}");

    std::thread::sleep(ID_TOKEN_LIFETIME + Duration::from_secs(1));
    secrets.extend(stored_secrets(&store));
    let second = token_from_session(&setup, &store, &secrets).expect_code(0);
    assert_token_for_user(&kit, &second);
    assert!(second.stderr.contains("renewing the session"), "{second}");
    let renewed = stored_secrets(&store);
    assert!(
        renewed.iter().all(|secret| !secrets.contains(secret)),
        "a new ID token and a rotated refresh token are kept"
    );
    assert_no_secret(&format!("{}{}", second.stdout, second.stderr), &renewed);
    let refreshes: Vec<_> = token_grants(&kit)
        .into_iter()
        .filter(|(grant, ..)| grant == "refresh_token")
        .map(|(_, user, generation, error)| (user, generation, error))
        .collect();
    assert_eq!(
        refreshes,
        vec![
            (Some(USER.to_owned()), Some(0), None),
            (Some(USER.to_owned()), Some(1), None)
        ],
        "the expired ID token was renewed with the rotated refresh token, once per run"
    );
    assert_eq!(
        token_grants(&kit)
            .iter()
            .filter(|(grant, ..)| grant == "authorization_code")
            .count(),
        1,
        "no second sign-in"
    );
}
