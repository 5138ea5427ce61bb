//! Loading ONNX Runtime: once per process, errors naming the setup script. One test function,
//! so that the order of loads is the same under any test runner (the loaded library is
//! process-wide).

mod onnx_support;

use std::path::Path;

use detect::onnx::{load_runtime, loaded_library, SETUP_SCRIPT};
use detect::DetectError;
use onnx_support::library;

fn runtime_error(result: Result<(), DetectError>) -> String {
    match result {
        Err(DetectError::Runtime(message)) => message,
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

#[test]
fn the_library_loads_once_and_bad_paths_say_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    // Missing, and not a library at all: errors naming the setup script; nothing is loaded.
    let message = runtime_error(load_runtime(Path::new("/nonexistent/libonnxruntime.so")));
    assert!(message.contains(SETUP_SCRIPT), "{message}");
    let not_a_library = dir.path().join("libonnxruntime.so");
    std::fs::write(&not_a_library, b"not an ELF file").unwrap();
    let message = runtime_error(load_runtime(&not_a_library));
    assert!(message.contains(SETUP_SCRIPT), "{message}");
    assert_eq!(loaded_library(), None);

    // The real one: loads; again (also through a symlink) is a no-op.
    let real = library();
    load_runtime(&real).unwrap();
    load_runtime(&real).unwrap();
    let link = dir.path().join("link.so");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    load_runtime(&link).unwrap();
    assert_eq!(
        loaded_library(),
        Some(std::fs::canonicalize(&real).unwrap())
    );

    // Another file, even a copy of the same library: a clear error.
    let copy = dir.path().join("copy.so");
    std::fs::copy(&real, &copy).unwrap();
    let message = runtime_error(load_runtime(&copy));
    assert!(message.contains("already loaded"), "{message}");
    assert!(
        message.contains(&real.canonicalize().unwrap().display().to_string()),
        "{message}"
    );
}
