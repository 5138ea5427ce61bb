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
