//! The real app in a real window under Xvfb, for end-to-end tests.

use std::process::Command;

/// Whether `xvfb-run` is there. When it is missing the caller should skip (this says so on
/// stderr), unless `CI` or `AAA_REQUIRE_XVFB` is set: there a missing tool fails the test.
pub fn xvfb_available() -> bool {
    let available = Command::new("xvfb-run")
        .arg("--help")
        .output()
        .is_ok_and(|output| output.status.success() || !output.stdout.is_empty());
    if !available {
        let required =
            std::env::var_os("CI").is_some() || std::env::var_os("AAA_REQUIRE_XVFB").is_some();
        assert!(
            !required,
            "xvfb-run is missing: bash scripts/setup-runtime-deps.sh --test"
        );
        eprintln!("skipped: xvfb-run is missing (bash scripts/setup-runtime-deps.sh --test)");
    }
    available
}

/// `xvfb-run` running `program` on a 1400x800 screen of its own, with info logs and no colour
/// codes; add the program's arguments.
pub fn xvfb_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("xvfb-run");
    command
        .args(["-a", "-s", "-screen 0 1400x800x24"])
        .arg(program)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    command
}

/// Asserts that `what` exited successfully (showing its output if not); returns its stdout
/// and stderr.
pub fn succeeded(output: &std::process::Output, what: &str) -> (String, String) {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    (stdout, stderr)
}
