//! The setup script installs ONNX Runtime where the Rust side looks: both write out the cache
//! directory rule, and this checks that they agree, for each way of setting it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use detect::onnx::cache_dir_from;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/setup-onnxruntime.sh")
}

/// What the script prints with these variables (others unset), started in `cwd`.
fn script_dir(aaa: Option<&str>, xdg: Option<&str>, home: Option<&str>, cwd: &Path) -> PathBuf {
    let mut command = Command::new("bash");
    command
        .arg(script())
        .arg("--print-cache-dir")
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (name, value) in [
        ("AAA_ONNXRUNTIME_CACHE", aaa),
        ("XDG_CACHE_HOME", xdg),
        ("HOME", home),
    ] {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    let output = command.output().expect("bash runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(
        String::from_utf8(output.stdout)
            .expect("UTF-8")
            .trim_end_matches('\n'),
    )
}

#[test]
fn the_setup_script_and_library_cache_dir_agree() {
    let cwd = tempfile::tempdir().unwrap();
    let cwd = cwd.path();
    let cases = [
        (Some("/opt/ort-cache"), Some("/xdg"), Some("/home/u")),
        (Some("relative/cache"), None, Some("/home/u")),
        (Some(""), Some("/xdg"), Some("/home/u")),
        (None, Some("/xdg"), Some("/home/u")),
        (None, Some("relative-xdg"), Some("/home/u")),
        (None, None, Some("/home/u")),
    ];
    for (aaa, xdg, home) in cases {
        let os = |value: Option<&str>| value.map(OsString::from);
        let rust = cache_dir_from(os(aaa), os(xdg), os(home)).unwrap();
        // library_cache_dir() makes a relative override absolute from the current directory.
        let rust = cwd.join(rust);
        assert_eq!(
            script_dir(aaa, xdg, home, cwd),
            rust,
            "AAA_ONNXRUNTIME_CACHE={aaa:?} XDG_CACHE_HOME={xdg:?} HOME={home:?}"
        );
    }
}
