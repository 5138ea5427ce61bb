//! Where `scripts/setup-onnxruntime.sh` puts the ONNX Runtime library, and so where the
//! binaries look for it last.
//!
//! The rule, written out here and in the script (a test runs the script's `--print-cache-dir`
//! and checks that both agree):
//! `$AAA_ONNXRUNTIME_CACHE`, else `$XDG_CACHE_HOME/aaa-camera/onnxruntime` (when set and
//! absolute, as the XDG base directory specification asks), else
//! `$HOME/.cache/aaa-camera/onnxruntime` (macOS too). A relative `AAA_ONNXRUNTIME_CACHE` is
//! taken from the current directory.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Overrides the cache directory (tests, several checkouts with different versions).
pub const CACHE_ENV: &str = "AAA_ONNXRUNTIME_CACHE";

/// The directory below the user's cache directory.
const CACHE_SUBDIR: [&str; 2] = ["aaa-camera", "onnxruntime"];

/// The cache directory from the process environment, absolute; `None` when neither
/// `AAA_ONNXRUNTIME_CACHE`, `XDG_CACHE_HOME` nor `HOME` is set.
pub fn library_cache_dir() -> Option<PathBuf> {
    let dir = cache_dir_from(
        std::env::var_os(CACHE_ENV),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )?;
    Some(std::path::absolute(&dir).unwrap_or(dir))
}

/// The library inside the cache directory: `libonnxruntime.so` (`.dylib` on macOS), whatever
/// its version (the script keeps the version next to it).
pub fn cached_library_path() -> Option<PathBuf> {
    Some(library_cache_dir()?.join(library_file_name()))
}

/// `libonnxruntime.so` on Linux, `libonnxruntime.dylib` on macOS, `onnxruntime.dll` on Windows.
pub fn library_file_name() -> String {
    format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// The rule itself, from the three variables' values (unset and empty are the same).
pub fn cache_dir_from(
    aaa_onnxruntime_cache: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let set = |value: Option<OsString>| value.filter(|value| !value.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(aaa_onnxruntime_cache) {
        return Some(dir);
    }
    let base = match set(xdg_cache_home).filter(|dir| dir.is_absolute()) {
        Some(xdg) => xdg,
        None => set(home)?.join(".cache"),
    };
    Some(CACHE_SUBDIR.iter().fold(base, |dir, part| dir.join(part)))
}

/// The directory the setup script's `--test` installs the `onnx` Python package into (the
/// tests put it on `PYTHONPATH` to write their models).
pub fn test_python_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("python")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(text: &str) -> Option<OsString> {
        Some(OsString::from(text))
    }

    #[test]
    fn the_override_wins_then_xdg_then_home() {
        assert_eq!(
            cache_dir_from(os("/c"), os("/x"), os("/h")),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(
            cache_dir_from(os(""), os("/x"), os("/h")),
            Some(PathBuf::from("/x/aaa-camera/onnxruntime"))
        );
        // A relative XDG_CACHE_HOME is invalid and ignored.
        assert_eq!(
            cache_dir_from(None, os("x"), os("/h")),
            Some(PathBuf::from("/h/.cache/aaa-camera/onnxruntime"))
        );
        assert_eq!(cache_dir_from(None, None, None), None);
    }
}
