//! Finding and loading the ONNX Runtime library, once per process.
//!
//! The library is looked for in this order: the path the user gave (`--onnxruntime`), the
//! environment variable `AAA_ONNXRUNTIME`, the cache `scripts/setup-onnxruntime.sh` fills
//! ([`super::library_cache_dir`]). It is loaded with `ort::init_from`, which reports a missing
//! or too old library as an error (ort's implicit loading would panic instead). A process
//! holds one ONNX Runtime: loading the same file again is a no-op, another file is an error.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::environment::Environment;

use super::cache::{cached_library_path, library_cache_dir, CACHE_ENV};
use crate::detector::DetectError;

/// Names the library file to load, when `--onnxruntime` does not.
pub const LIBRARY_ENV: &str = "AAA_ONNXRUNTIME";

/// The script that installs the library; every "no runtime" error names it.
pub const SETUP_SCRIPT: &str = "scripts/setup-onnxruntime.sh";

/// The oldest ONNX Runtime this build loads (ort's `api-23` feature).
pub const MINIMUM_VERSION: &str = "1.23";

/// The library loaded in this process and the environment sessions are created in.
struct Loaded {
    library: PathBuf,
    environment: Environment,
}

/// Set once, by the first successful load; never unset (the library stays mapped).
static LOADED: Mutex<Option<Loaded>> = Mutex::new(None);

/// The library to load: `explicit` (`--onnxruntime`), else `$AAA_ONNXRUNTIME`, else the cache.
/// Checks only that the file exists; a missing one is a [`DetectError::Runtime`] naming where
/// it was looked for and the setup script.
pub fn find_library(explicit: Option<&Path>) -> Result<PathBuf, DetectError> {
    let from_env = std::env::var_os(LIBRARY_ENV);
    let Some((path, source)) = choose_library(explicit, from_env, cached_library_path()) else {
        return Err(DetectError::Runtime(format!(
            "cannot find the ONNX Runtime library: no --onnxruntime, no {LIBRARY_ENV}, and no \
             cache directory (set {CACHE_ENV}, XDG_CACHE_HOME or HOME); run {SETUP_SCRIPT}"
        )));
    };
    if !path.is_file() {
        return Err(missing(&path, source));
    }
    Ok(path)
}

/// The first of `--onnxruntime`, `AAA_ONNXRUNTIME` (unless empty) and the cache, with where it
/// came from.
fn choose_library(
    explicit: Option<&Path>,
    from_env: Option<OsString>,
    cached: Option<PathBuf>,
) -> Option<(PathBuf, &'static str)> {
    if let Some(path) = explicit {
        return Some((path.to_path_buf(), "given with --onnxruntime"));
    }
    if let Some(path) = from_env.filter(|value| !value.is_empty()) {
        return Some((PathBuf::from(path), "named by AAA_ONNXRUNTIME"));
    }
    cached.map(|path| (path, "the setup script's cache"))
}

/// Loads the ONNX Runtime library at `library` (at least [`MINIMUM_VERSION`]). Once per
/// process: loading the same file again does nothing, another file is an error.
pub fn load_runtime(library: &Path) -> Result<(), DetectError> {
    environment(library).map(drop)
}

/// The environment sessions are created in, loading `library` first if this process has not.
pub(crate) fn environment(library: &Path) -> Result<Environment, DetectError> {
    if !library.is_file() {
        return Err(missing(library, "given"));
    }
    let canonical = std::fs::canonicalize(library).map_err(|error| {
        DetectError::Runtime(format!(
            "cannot resolve the ONNX Runtime library path {}: {error}",
            library.display()
        ))
    })?;
    // A poisoned lock only means another thread panicked while loading; the state it guards is
    // either fully set or still empty.
    let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(loaded) = loaded.as_ref() {
        if loaded.library == canonical {
            return Ok(loaded.environment.clone());
        }
        return Err(DetectError::Runtime(format!(
            "ONNX Runtime is already loaded from {} in this process; cannot load a second one \
             from {} (one ONNX Runtime per process: restart to use another)",
            loaded.library.display(),
            canonical.display()
        )));
    }
    let builder = ort::init_from(&canonical).map_err(|error| {
        DetectError::Runtime(format!(
            "cannot load ONNX Runtime from {}: {error}; this build needs ONNX Runtime \
             {MINIMUM_VERSION} or later: run {SETUP_SCRIPT} (or point --onnxruntime or \
             {LIBRARY_ENV} at a libonnxruntime of that version)",
            canonical.display()
        ))
    })?;
    let environment = builder
        .with_name("aaa-camera")
        .with_telemetry(false)
        .build()
        .map_err(|error| {
            DetectError::Runtime(format!(
                "ONNX Runtime from {} loaded but cannot start: {error}",
                canonical.display()
            ))
        })?;
    *loaded = Some(Loaded {
        library: canonical,
        environment: environment.clone(),
    });
    Ok(environment)
}

/// The library loaded in this process, if any.
pub fn loaded_library() -> Option<PathBuf> {
    let loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
    loaded.as_ref().map(|loaded| loaded.library.clone())
}

fn missing(path: &Path, source: &str) -> DetectError {
    let cache = library_cache_dir()
        .map(|dir| format!(" (it installs into {})", dir.display()))
        .unwrap_or_default();
    DetectError::Runtime(format!(
        "no ONNX Runtime library at {} ({source}): run {SETUP_SCRIPT}{cache}, or point \
         --onnxruntime or {LIBRARY_ENV} at libonnxruntime {MINIMUM_VERSION} or later",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_then_the_environment_then_the_cache() {
        let given = Path::new("/given.so");
        let env = || Some(OsString::from("/env.so"));
        let cached = || Some(PathBuf::from("/cache/libonnxruntime.so"));
        let chosen = |explicit, from_env, cached| {
            choose_library(explicit, from_env, cached).map(|(path, _)| path)
        };
        assert_eq!(chosen(Some(given), env(), cached()), Some(given.into()));
        assert_eq!(chosen(None, env(), cached()), Some("/env.so".into()));
        assert_eq!(chosen(None, Some(OsString::new()), cached()), cached());
        assert_eq!(chosen(None, None, None), None);
    }

    #[test]
    fn a_missing_file_names_the_setup_script() {
        let error = find_library(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
        assert!(error.to_string().contains(SETUP_SCRIPT), "{error}");
    }
}
