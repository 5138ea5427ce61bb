//! Finding the stack's executables (the daemon, the viewer): the one named on the command line,
//! else the one next to this program, else the first on `PATH`.

use std::path::{Path, PathBuf};

use camera_sources::access::accessible;

use super::LaunchError;

/// The daemon's executable name.
pub const DAEMON_BINARY: &str = "aaa-camera-daemon";

/// The viewer's executable name.
pub const VIEWER_BINARY: &str = "aaa";

/// Finds the daemon: `explicit` if given, else next to this program, else on `PATH`.
pub fn find_daemon_binary(explicit: Option<&Path>) -> Result<PathBuf, LaunchError> {
    find_program(DAEMON_BINARY, explicit)
}

/// Finds the executable `name`: `explicit` if given, else next to this program, else on `PATH`.
pub fn find_program(name: &'static str, explicit: Option<&Path>) -> Result<PathBuf, LaunchError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let next_to = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let beside = next_to.join(name);
    if is_executable(&beside) {
        return Ok(beside);
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_absolute() && is_executable(candidate))
    });
    on_path.ok_or(LaunchError::NotFound {
        program: name,
        next_to,
    })
}

fn is_executable(path: &Path) -> bool {
    path.is_file() && accessible(path, libc::X_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_says_where_it_looked() {
        let error = find_daemon_binary(None).err();
        // In the test target dir the daemon may well have been built; only check the message.
        if let Some(error) = error {
            assert!(error.to_string().contains("not found next to"), "{error}");
        }
        let error = find_program("aaa-no-such-program", None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("aaa-no-such-program not found next to this program"),
            "{error}"
        );
    }
}
