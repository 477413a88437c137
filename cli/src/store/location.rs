//! Where the token store is when `--token-store` is not given: `$XDG_STATE_HOME/xaa/store.json`,
//! or `~/.local/state/xaa/store.json` when `XDG_STATE_HOME` is unset or not absolute (the XDG
//! Base Directory Specification ignores a relative one). The directory `xaa` is created 0700.

use std::ffi::OsString;
use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::exit::Failure;
use crate::terminal::shown;

/// The store's file name in its directory.
const FILE_NAME: &str = "store.json";

/// The default store's path, its directory created (0700) when missing.
pub(crate) fn default_path() -> Result<PathBuf, Failure> {
    let path = default_path_from(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))?;
    if let Some(directory) = path.parent() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(directory)
            .map_err(|e| {
                Failure::Usage(format!(
                    "token store directory {}: cannot create it: {e}; give --token-store",
                    shown(&directory.to_string_lossy())
                ))
            })?;
    }
    Ok(path)
}

/// The default store's path when the file exists (nothing is created): where `xaa token`
/// without a subject token looks for the session of `xaa login`.
pub(crate) fn existing_default_path() -> Option<PathBuf> {
    default_path_from(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
        .ok()
        .filter(|path| path.symlink_metadata().is_ok())
}

/// `given`, or the default store's path.
pub(crate) fn path_or_default(given: Option<&Path>) -> Result<PathBuf, Failure> {
    given.map_or_else(default_path, |path| Ok(path.to_owned()))
}

fn default_path_from(
    state_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, Failure> {
    let absolute =
        |value: Option<OsString>| value.map(PathBuf::from).filter(|path| path.is_absolute());
    let state = match (absolute(state_home), absolute(home)) {
        (Some(state), _) => state,
        (None, Some(home)) => home.join(".local").join("state"),
        (None, None) => {
            return Err(Failure::Usage(
                "no token store given and neither XDG_STATE_HOME nor HOME is an absolute \
                 path: give --token-store FILE"
                    .into(),
            ));
        }
    };
    Ok(state.join("xaa").join(FILE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_under_the_xdg_state_home_else_under_home() {
        let path = |state: Option<&str>, home: Option<&str>| {
            default_path_from(state.map(OsString::from), home.map(OsString::from))
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        };
        assert_eq!(
            path(Some("/s"), Some("/h")).as_deref(),
            Some("/s/xaa/store.json")
        );
        assert_eq!(
            path(Some("relative"), Some("/h")).as_deref(),
            Some("/h/.local/state/xaa/store.json")
        );
        assert_eq!(
            path(None, Some("/h")).as_deref(),
            Some("/h/.local/state/xaa/store.json")
        );
        assert_eq!(path(None, Some("h")), None);
        assert_eq!(path(None, None), None);
    }
}
