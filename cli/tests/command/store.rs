//! `xaa token --token-store`: the file is written only through names the command created,
//! believed only when nobody else could have written it, and shared safely by runs at once.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::fs::{chown, symlink};
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde_json::Value;
use xaa_testkit::{Options, Server, Testkit};

use crate::support::{EXIT_USAGE, Run, Setup, Via, Xaa, kit, mode, set_mode, skip_unless_root};

/// The user other than this one that the refusals give files to.
const NOBODY: u32 = 65534;

/// What a planted link points at: a file of the victim's that must never change.
const VICTIM_CONTENT: &str = "the victim's own file\n";

/// `xaa token` against the kit for alice, keeping tokens in `store`.
fn with_store(setup: &Setup, store: &Path) -> Xaa {
    setup
        .token(Via::File, Via::Env)
        .args([OsString::from("--token-store"), store.into()])
}

/// The store file as JSON, checked to be a private regular file of format version 1.
#[track_caller]
fn stored_document(store: &Path) -> Value {
    let metadata = std::fs::symlink_metadata(store).expect("the store exists");
    assert!(
        metadata.file_type().is_file(),
        "the store is a regular file"
    );
    assert_eq!(mode(store), 0o600, "the store is private");
    let document: Value =
        serde_json::from_slice(&std::fs::read(store).expect("read the store")).expect("JSON");
    assert_eq!(document["version"], 1, "{document:#}");
    document
}

/// The access tokens held by the store.
#[track_caller]
fn stored_tokens(store: &Path) -> BTreeSet<String> {
    stored_document(store)["tokens"]
        .as_array()
        .expect("a tokens array")
        .iter()
        .map(|entry| {
            entry["token"]["access_token"]
                .as_str()
                .expect("an access token")
                .to_owned()
        })
        .collect()
}

/// The names in `directory`.
fn names_in(directory: &Path) -> BTreeSet<String> {
    std::fs::read_dir(directory)
        .expect("list the directory")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn set<const N: usize>(names: [&str; N]) -> BTreeSet<String> {
    names.into_iter().map(str::to_owned).collect()
}

/// A refused run: exit 2, nothing on stdout, the store's path and `rule` in the message.
#[track_caller]
fn assert_refused(run: &Run, path: &Path, rule: &str) {
    assert_eq!(run.code, EXIT_USAGE, "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(
        run.stderr.contains(&path.display().to_string()),
        "the message names {}:\n{run}",
        path.display()
    );
    assert!(
        run.stderr.contains(rule),
        "the message says {rule:?}:\n{run}"
    );
}

#[track_caller]
fn assert_nothing_sent(kits: &[&Testkit]) {
    for kit in kits {
        assert!(
            kit.requests().is_empty(),
            "no request may be sent: {:?}",
            kit.requests()
        );
    }
}

#[test]
fn links_planted_at_temporary_names_are_never_followed() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let directory = setup.dir.subdir("store", 0o700);
    let store = directory.join("tokens.json");
    let victim = setup.dir.write("victim", VICTIM_CONTENT);
    set_mode(&victim, 0o644);
    let not_there = setup.dir.path().join("created-through-a-link");
    // The name earlier releases wrote (`with_extension("tmp")`), `<store>.tmp`, and other
    // names a writer might pick; one link dangles (O_CREAT would create its target).
    let planted = [
        ("tokens.tmp", &victim),
        ("tokens.json.tmp", &victim),
        (".tokens.json.tmp", &victim),
        ("tokens.json.new", &victim),
        ("tokens.json~", &victim),
        (".tokens.json.swp", &not_there),
    ];
    for (name, target) in planted {
        symlink(target, directory.join(name)).expect("plant a link");
    }

    // A first write creates the store, a second (another scope) replaces it.
    let first = with_store(&setup, &store).run().expect_code(0);
    let second = with_store(&setup, &store)
        .args(["--scope", "tools:admin"])
        .run()
        .expect_code(0);
    let tokens = [setup.printed_token(&first), setup.printed_token(&second)];

    assert_eq!(
        std::fs::read_to_string(&victim).expect("the victim"),
        VICTIM_CONTENT
    );
    assert_eq!(mode(&victim), 0o644, "the victim's mode is untouched");
    assert!(
        !not_there.exists(),
        "a dangling link's target is never created"
    );
    for (name, target) in planted {
        assert_eq!(
            std::fs::read_link(directory.join(name)).expect("still a link"),
            *target
        );
    }
    assert_eq!(stored_tokens(&store), tokens.into_iter().collect());
    let mut expected: BTreeSet<String> = planted.iter().map(|(name, _)| (*name).into()).collect();
    expected.extend(set(["tokens.json", "tokens.json.lock"]));
    assert_eq!(names_in(&directory), expected, "no temporary file is left");
}

#[test]
fn a_store_that_is_a_link_or_not_a_regular_file_is_refused_and_its_target_untouched() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    // A real, valid store holding a valid token: followed, it would be used.
    let real = setup.dir.subdir("real", 0o700).join("tokens.json");
    with_store(&setup, &real).run().expect_code(0);
    let real_bytes = std::fs::read(&real).expect("the real store");
    let directory = setup.dir.subdir("store", 0o700);
    let store = directory.join("tokens.json");
    symlink(&real, &store).expect("plant a link");

    kit.clear_requests();
    let run = with_store(&setup, &store).run();
    assert_refused(&run, &store, "it is a symbolic link");
    assert_nothing_sent(&[&kit]);
    assert_eq!(std::fs::read(&real).expect("the real store"), real_bytes);
    assert_eq!(mode(&real), 0o600);
    assert_eq!(std::fs::read_link(&store).expect("still a link"), real);

    // A dangling link: its target is not created either.
    let missing = setup.dir.path().join("missing.json");
    std::fs::remove_file(&store).expect("remove the link");
    symlink(&missing, &store).expect("plant a dangling link");
    let run = with_store(&setup, &store).run();
    assert_refused(&run, &store, "it is a symbolic link");
    assert_nothing_sent(&[&kit]);
    assert!(!missing.exists());

    // A second name of the real store (a hard link), then a directory: not the store either.
    std::fs::remove_file(&store).expect("remove the link");
    std::fs::hard_link(&real, &store).expect("a hard link");
    let run = with_store(&setup, &store).run();
    assert_refused(&run, &store, "it has 2 names (hard links)");
    assert_nothing_sent(&[&kit]);
    std::fs::remove_file(&store).expect("remove the hard link");
    assert_eq!(std::fs::read(&real).expect("the real store"), real_bytes);
    std::fs::create_dir(&store).expect("a directory at the store's name");
    let run = with_store(&setup, &store).run();
    assert_refused(&run, &store, "it is not a regular file");
    assert_nothing_sent(&[&kit]);
}

/// A store whose IdP token endpoint was edited to the attacker's, without tokens: believed,
/// the next run sends the ID token and the IdP secret there.
fn poisoned_store(setup: &Setup, attacker: &Testkit) -> PathBuf {
    let store = setup.dir.subdir("store", 0o700).join("tokens.json");
    with_store(setup, &store).run().expect_code(0);
    let text = std::fs::read_to_string(&store).expect("the store");
    assert!(text.contains(setup.kit.idp_token_endpoint()), "{text}");
    let mut document: Value = serde_json::from_str(&text.replace(
        setup.kit.idp_token_endpoint(),
        attacker.idp_token_endpoint(),
    ))
    .expect("JSON");
    document["tokens"] = Value::Array(Vec::new());
    std::fs::write(&store, document.to_string()).expect("edit the store");
    store
}

/// How a file was opened to other users.
#[derive(Clone, Copy, Debug)]
enum Exposure {
    /// These permission bits.
    Mode(u32),
    /// Given to this user.
    Owner(u32),
}

impl Exposure {
    fn apply(self, path: &Path) {
        match self {
            Self::Mode(bits) => set_mode(path, bits),
            Self::Owner(uid) => chown(path, Some(uid), None).expect("chown"),
        }
    }
}

#[test]
fn a_store_others_could_have_written_is_refused_before_any_request() {
    let kit = kit(Options::new());
    let attacker = crate::support::kit(Options::new());
    let setup = Setup::new(&kit);
    let store = poisoned_store(&setup, &attacker);
    let poisoned = std::fs::read(&store).expect("the store");

    let mut cases = vec![
        (
            Exposure::Mode(0o666),
            "it is writable by other users (mode 0666)",
        ),
        (
            Exposure::Mode(0o620),
            "it is writable by other users (mode 0620)",
        ),
    ];
    if !skip_unless_root("give the token store to another user") {
        cases.push((
            Exposure::Owner(NOBODY),
            "it is owned by uid 65534, not by this user (uid 0)",
        ));
    }
    for (case, rule) in cases {
        case.apply(&store);
        let before = mode(&store);
        kit.clear_requests();
        attacker.clear_requests();
        let run = with_store(&setup, &store).run();
        assert_refused(&run, &store, rule);
        assert!(run.stderr.contains("delete it"), "{case:?}: {run}");
        assert_nothing_sent(&[&kit, &attacker]);
        assert_eq!(
            std::fs::read(&store).expect("the store"),
            poisoned,
            "{case:?}"
        );
        assert_eq!(
            mode(&store),
            before,
            "{case:?}: a refused store is not changed"
        );
        chown(&store, Some(rustix::process::geteuid().as_raw()), None).expect("chown back");
        set_mode(&store, 0o600);
    }

    // The control: the same file, this user's and private, is believed, and the IdP's
    // token request goes where it says. The refusals above are what kept it from there.
    kit.clear_requests();
    with_store(&setup, &store).run();
    let diverted = attacker.token_requests();
    assert_eq!(diverted.len(), 1, "{diverted:?}");
    assert_eq!(diverted[0].server, Server::Idp);
}

#[test]
fn a_store_readable_by_others_is_used_tightened_and_warned_about() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let store = setup.dir.subdir("store", 0o700).join("tokens.json");
    let token = setup.printed_token(&with_store(&setup, &store).run().expect_code(0));
    for readable in [0o644, 0o640, 0o604] {
        set_mode(&store, readable);
        kit.clear_requests();
        let run = with_store(&setup, &store).run().expect_code(0);
        assert_eq!(setup.printed_token(&run), token, "the stored token is used");
        assert_nothing_sent(&[&kit]);
        assert!(
            run.stderr.contains(&format!(
                "token store {} was readable by other users (mode {readable:04o}), so its \
                 tokens may have been read; it is now 0600",
                store.display()
            )),
            "{run}"
        );
        assert_eq!(mode(&store), 0o600, "tightened");
    }
    let run = with_store(&setup, &store).run().expect_code(0);
    assert!(
        !run.stderr.contains("warning"),
        "a private store: no word\n{run}"
    );
}

/// What stands at the lock file's name.
#[derive(Debug)]
enum PlantedLock {
    /// A symbolic link to this path.
    Link(PathBuf),
    /// A file, then opened to others so.
    File(Exposure),
}

#[test]
fn a_lock_file_that_is_a_link_or_not_private_is_refused() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let directory = setup.dir.subdir("store", 0o700);
    let store = directory.join("tokens.json");
    // A valid store with a valid token: without the lock's checks, it would be used.
    with_store(&setup, &store).run().expect_code(0);
    let stored = std::fs::read(&store).expect("the store");
    let lock = directory.join("tokens.json.lock");
    let victim = setup.dir.write("victim", VICTIM_CONTENT);
    let not_there = setup.dir.path().join("created-through-a-link");

    let mut cases = vec![
        (PlantedLock::Link(victim.clone()), "it is a symbolic link"),
        (
            PlantedLock::Link(not_there.clone()),
            "it is a symbolic link",
        ),
        (
            PlantedLock::File(Exposure::Mode(0o666)),
            "it is writable by other users (mode 0666)",
        ),
    ];
    if !skip_unless_root("give the lock file to another user") {
        cases.push((
            PlantedLock::File(Exposure::Owner(NOBODY)),
            "it is owned by uid 65534",
        ));
    }
    for (case, rule) in cases {
        let _ = std::fs::remove_file(&lock);
        match &case {
            PlantedLock::Link(target) => symlink(target, &lock).expect("plant a link"),
            PlantedLock::File(exposure) => {
                std::fs::write(&lock, "").expect("a lock file");
                set_mode(&lock, 0o600);
                exposure.apply(&lock);
            }
        }
        kit.clear_requests();
        let run = with_store(&setup, &store).run();
        assert_refused(&run, &lock, rule);
        assert!(run.stderr.contains("token store lock"), "{case:?}: {run}");
        assert_nothing_sent(&[&kit]);
        assert_eq!(
            std::fs::read(&store).expect("the store"),
            stored,
            "{case:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&victim).expect("the victim"),
            VICTIM_CONTENT
        );
        assert!(!not_there.exists(), "{case:?}");
    }
}

#[test]
fn a_directory_others_can_write_to_needs_the_sticky_bit() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);

    let mut cases = vec![
        (
            "open",
            setup.dir.subdir("open", 0o777),
            "(mode 0777) without the sticky bit",
        ),
        (
            "group",
            setup.dir.subdir("group", 0o770),
            "(mode 0770) without the sticky bit",
        ),
    ];
    if !skip_unless_root("give the store's directory to another user") {
        let theirs = setup.dir.subdir("theirs", 0o755);
        chown(&theirs, Some(NOBODY), None).expect("chown");
        cases.push((
            "another user's",
            theirs,
            "it is owned by uid 65534, neither this user (uid 0) nor root",
        ));
    }
    for (case, directory, rule) in cases {
        kit.clear_requests();
        let run = with_store(&setup, &directory.join("tokens.json")).run();
        assert_refused(&run, &directory, rule);
        assert!(
            run.stderr.contains("token store directory"),
            "{case:?}: {run}"
        );
        assert_nothing_sent(&[&kit]);
        assert!(names_in(&directory).is_empty(), "{case:?}: nothing created");
    }

    // Sticky, as /tmp is: others cannot rename or remove what is ours.
    let sticky = setup.dir.subdir("sticky", 0o1777);
    let store = sticky.join("tokens.json");
    let run = with_store(&setup, &store).run().expect_code(0);
    let token = setup.printed_token(&run);
    assert_eq!(stored_tokens(&store), BTreeSet::from([token]));
}

/// `users` run `xaa token` on one store, all started at once; each must print its own token,
/// and the store must hold every one.
fn all_at_once(setup: &Setup, store: &Path, users: &[String]) -> BTreeSet<String> {
    let commands: Vec<(String, Xaa)> = users
        .iter()
        .map(|user| {
            let id_token = setup.kit.id_token(user).expose_secret().to_owned();
            let file = setup.dir.write(&format!("id-token-{user}"), &id_token);
            let xaa = setup
                .credentials(setup.bare(), Via::Env, Via::Env)
                .args([OsString::from("--subject-token-file"), file.into()])
                .args([OsString::from("--token-store"), store.into()])
                .secrets([id_token]);
            (user.clone(), xaa)
        })
        .collect();
    let start = Barrier::new(commands.len());
    let runs: Vec<(String, Run)> = std::thread::scope(|scope| {
        let start = &start;
        let threads: Vec<_> = commands
            .into_iter()
            .map(|(user, xaa)| {
                scope.spawn(move || {
                    start.wait();
                    (user, xaa.run())
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("a run thread"))
            .collect()
    });
    runs.into_iter()
        .map(|(user, run)| {
            let run = run.expect_code(0);
            let token = run.stdout.trim().to_owned();
            let info = setup
                .kit
                .access_token_info(&token)
                .unwrap_or_else(|| panic!("the kit issued the token printed:\n{run}"));
            assert_eq!(info.subject, user, "{run}");
            token
        })
        .collect()
}

#[test]
fn twenty_runs_at_once_each_print_their_token_and_the_store_keeps_all() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let directory = setup.dir.subdir("store", 0o700);
    let store = directory.join("tokens.json");
    let users =
        |round: usize| -> Vec<String> { (0..20).map(|n| format!("user-{round}-{n:02}")).collect() };

    let first = all_at_once(&setup, &store, &users(1));
    assert_eq!(first.len(), 20, "twenty distinct tokens");
    assert_eq!(stored_tokens(&store), first);

    // Again, with twenty other users writing on top of the first twenty.
    let second = all_at_once(&setup, &store, &users(2));
    assert_eq!(second.len(), 20);
    let all: BTreeSet<String> = first.union(&second).cloned().collect();
    assert_eq!(stored_tokens(&store), all);
    assert_eq!(
        names_in(&directory),
        set(["tokens.json", "tokens.json.lock"]),
        "no temporary file is left"
    );
}

#[test]
fn a_file_that_is_not_a_token_store_is_named_and_left_alone() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let looks_like_a_token = "at-AAAAAAAAAAAAAAAAAAAAAAsecret";
    let cases = [
        (
            "not JSON",
            "not json{".to_owned(),
            "it is not JSON (line 1, column 2)",
        ),
        (
            "an array",
            "[1, 2]".to_owned(),
            "it is JSON but not an object",
        ),
        (
            "an empty object",
            "{}".to_owned(),
            "it has no format version",
        ),
        (
            "the unversioned format of earlier releases",
            r#"{"discovery": {}, "tokens": []}"#.to_owned(),
            "it has no format version",
        ),
        (
            "a later version",
            r#"{"version": 2, "discoveries": [], "tokens": []}"#.to_owned(),
            "it has format version 2; this xaa reads version 1",
        ),
        (
            "version 1 with a token where the list belongs",
            format!(r#"{{"version": 1, "discoveries": [], "tokens": "{looks_like_a_token}"}}"#),
            "its entries do not match format version 1 (line 1, column",
        ),
    ];
    for (case, contents, reason) in cases {
        let store = setup.dir.write("tokens.json", &contents);
        kit.clear_requests();
        let run = with_store(&setup, &store)
            .secrets([looks_like_a_token])
            .run();
        assert_refused(&run, &store, reason);
        assert!(
            run.stderr.contains("is not a token store of this xaa")
                && run.stderr.contains("delete it"),
            "{case:?}: {run}"
        );
        assert_nothing_sent(&[&kit]);
        assert_eq!(
            std::fs::read_to_string(&store).expect("the file"),
            contents,
            "{case:?}: left as it was"
        );
    }
}

/// Holds the exclusive lock on `lock` as another process would.
fn hold_lock(lock: &Path) -> std::fs::File {
    let file = std::fs::File::open(lock).expect("open the lock file");
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).expect("flock");
    file
}

#[test]
fn a_held_lock_is_waited_for_but_not_forever() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let store = setup.dir.subdir("store", 0o700).join("tokens.json");
    let token = setup.printed_token(&with_store(&setup, &store).run().expect_code(0));
    let lock = store.with_file_name("tokens.json.lock");

    // Released after a second: the run waits, then reuses the stored token.
    let held = hold_lock(&lock);
    let started = Instant::now();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        drop(held);
    });
    kit.clear_requests();
    let run = with_store(&setup, &store).run().expect_code(0);
    release.join().expect("the releasing thread");
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    assert_eq!(setup.printed_token(&run), token);

    // Never released: a clear error after ten seconds, before any request.
    let _held = hold_lock(&lock);
    let started = Instant::now();
    let run = with_store(&setup, &store).run();
    let waited = started.elapsed();
    assert_refused(&run, &store, "another process held its lock");
    assert!(run.stderr.contains("for over 10 s"), "{run}");
    assert!(
        (Duration::from_secs(10)..Duration::from_secs(20)).contains(&waited),
        "{waited:?}"
    );
    assert_nothing_sent(&[&kit]);
}

#[test]
fn a_token_issued_while_the_store_cannot_take_it_is_still_printed() {
    let kit = kit(Options::new());
    let setup = Setup::new(&kit);
    let store = setup.dir.subdir("store", 0o700).join("tokens.json");
    // A first run creates the store and its lock file; a new scope needs a new token.
    setup.printed_token(&with_store(&setup, &store).run().expect_code(0));
    let before = std::fs::read(&store).expect("the store");
    let lock = store.with_file_name("tokens.json.lock");
    // A reader holds the lock shared: loading goes ahead, the update never gets its turn.
    let reader = std::fs::File::open(&lock).expect("open the lock file");
    rustix::fs::flock(&reader, rustix::fs::FlockOperation::LockShared).expect("flock");
    kit.clear_requests();
    let run = with_store(&setup, &store)
        .args(["--scope", "tools:admin"])
        .run()
        .expect_code(0);
    let token = run.stdout.trim();
    assert!(kit.access_token_info(token).is_some(), "{run}");
    assert!(run.stderr.contains("the token is not kept"), "{run}");
    assert_eq!(kit.token_requests().len(), 2, "one exchange was made");
    assert_eq!(
        std::fs::read(&store).expect("the store"),
        before,
        "the store was left as it was"
    );
    drop(reader);
}
