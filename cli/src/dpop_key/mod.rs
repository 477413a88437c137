//! Which key binds the tokens with DPoP (RFC 9449), and under which policy: a key file of the
//! user's (`--dpop-key`, [`key_file`]) or the key the command keeps beside the token store
//! (`--dpop`, `crate::store`'s kept key).

mod key_file;

use std::path::Path;
use std::sync::Arc;

use xaa::dpop::{DpopBinding, DpopPolicy, EsDpopKey};
use xaa::jose::RandomJti;

use crate::args::DpopPolicyArg;
use crate::exit::Failure;
use crate::store::{FileStore, IfMissing};
use crate::terminal::shown;

/// Where the key comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum KeySource<'a> {
    /// No DPoP: bearer tokens.
    None,
    /// A key file of the user's.
    File(&'a Path),
    /// The key kept beside the token store.
    Kept,
}

impl<'a> KeySource<'a> {
    /// The source the options name: `--dpop-key FILE`, `--dpop`, or neither.
    pub(crate) fn pick(file: Option<&'a Path>, kept: bool) -> Result<Self, Failure> {
        match (file, kept) {
            (Some(_), true) => Err(Failure::Usage(
                "give --dpop-key FILE or --dpop, not both".into(),
            )),
            (Some(path), false) => Ok(Self::File(path)),
            (None, true) => Ok(Self::Kept),
            (None, false) => Ok(Self::None),
        }
    }
}

/// A key in use, and where it came from (for the line on stderr).
pub(crate) struct ChosenKey {
    /// The key pair.
    pub(crate) key: Arc<EsDpopKey>,
    /// "the key in FILE", "the kept key FILE", "a new key, kept in FILE".
    pub(crate) described: String,
}

/// The key `source` names, read (or, for the kept key, made when missing and `if_missing`
/// says so); `None` for [`KeySource::None`]. The kept key needs the token store.
pub(crate) fn load(
    source: KeySource<'_>,
    store: Option<&FileStore>,
    if_missing: IfMissing,
) -> Result<Option<ChosenKey>, Failure> {
    match source {
        KeySource::None => Ok(None),
        KeySource::File(path) => Ok(Some(ChosenKey {
            key: Arc::new(key_file::read(path)?),
            described: format!("the key in {}", shown(&path.to_string_lossy())),
        })),
        KeySource::Kept => {
            let store = store.ok_or_else(|| {
                Failure::Usage(
                    "--dpop keeps its key beside the token store: give --token-store FILE (or \
                     name a key file with --dpop-key)"
                        .into(),
                )
            })?;
            let kept = store.kept_dpop_key(if_missing)?;
            let described = if kept.made {
                format!("a new key, kept in {}", kept.shown)
            } else {
                format!("the kept key {}", kept.shown)
            };
            Ok(Some(ChosenKey {
                key: Arc::new(kept.key),
                described,
            }))
        }
    }
}

/// The policy for a run with a key: `required` unless the options say `preferred`. A policy
/// without a key is a mistake worth saying.
pub(crate) fn policy(
    chosen: Option<&ChosenKey>,
    asked: Option<DpopPolicyArg>,
) -> Result<DpopPolicy, Failure> {
    match (chosen, asked) {
        (None, None) => Ok(DpopPolicy::Off),
        (None, Some(_)) => Err(Failure::Usage(
            "--dpop-policy needs a DPoP key: --dpop-key FILE or --dpop".into(),
        )),
        (Some(_), Some(DpopPolicyArg::Preferred)) => Ok(DpopPolicy::Preferred),
        (Some(_), Some(DpopPolicyArg::Required) | None) => Ok(DpopPolicy::Required),
    }
}

/// The binding the flow uses: the key, random proof `jti`s, the policy.
pub(crate) fn binding(chosen: &ChosenKey, policy: DpopPolicy) -> DpopBinding {
    DpopBinding::new(chosen.key.clone(), Arc::new(RandomJti), policy)
}

/// The policy's name, as the options spell it.
pub(crate) fn policy_name(policy: DpopPolicy) -> &'static str {
    match policy {
        DpopPolicy::Required => "required",
        DpopPolicy::Preferred => "preferred",
        _ => "off",
    }
}
