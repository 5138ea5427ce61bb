//! The real daemon binary in a namespace and runtime directory of its own, for end-to-end
//! tests of any crate: spawning, commands, waiting until it publishes, stopping it whatever
//! state a failed assertion left it in, and removing its leftovers.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use shmproto::{Namespace, Reader};

/// Generous: two cores shared with other builds and tests.
pub const WITHIN: Duration = Duration::from_secs(30);

/// A namespace and runtime directory of one test; runs `cleanup` on drop, so the segments of
/// a killed daemon do not outlive the test.
pub struct DaemonFixture {
    pub namespace: Namespace,
    pub runtime_dir: tempfile::TempDir,
    binary: PathBuf,
}

impl DaemonFixture {
    /// `tag`: at most 7 characters, so that tag and pid fit a namespace (14 characters).
    pub fn new(tag: &str, binary: impl Into<PathBuf>) -> Self {
        DaemonFixture {
            namespace: Namespace::new(&format!("{tag}{}", std::process::id()))
                .expect("test namespace"),
            runtime_dir: tempfile::tempdir().expect("runtime dir"),
            binary: binary.into(),
        }
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// `aaa-camera-daemon --namespace NS --runtime-dir DIR ARGS...`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .arg("--namespace")
            .arg(self.namespace.as_str())
            .arg("--runtime-dir")
            .arg(self.runtime_dir.path())
            .args(args)
            .env_remove("AAA_NAMESPACE")
            .env("RUST_LOG", "info");
        command
    }

    pub fn output(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run aaa-camera-daemon")
    }

    /// `ctl ARGS...`, which must succeed.
    pub fn ctl(&self, args: &[&str]) -> Output {
        let mut full = vec!["ctl"];
        full.extend_from_slice(args);
        let output = self.output(&full);
        assert!(output.status.success(), "ctl {args:?}: {}", stderr(&output));
        output
    }

    /// `run --source synthetic EXTRA...`, once it publishes (stderr piped).
    pub fn spawn_synthetic(&self, extra: &[&str]) -> Child {
        let mut args = vec!["run", "--source", "synthetic"];
        args.extend_from_slice(extra);
        let child = self
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn daemon");
        self.wait_live();
        child
    }

    /// Waits until a reader can attach (the daemon is publishing).
    pub fn wait_live(&self) {
        let deadline = Instant::now() + WITHIN;
        while Reader::open(&self.namespace).is_err() {
            assert!(Instant::now() < deadline, "daemon did not come up");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid_file(&self) -> PathBuf {
        self.runtime_dir
            .path()
            .join(shmproto::runtime_dir::pid_file_name(&self.namespace))
    }

    pub fn socket(&self) -> PathBuf {
        self.namespace.control_socket(self.runtime_dir.path())
    }

    pub fn client(&self) -> shmproto::control::ControlClient {
        shmproto::control::ControlClient::connect(&self.socket(), Duration::from_secs(10))
            .expect("connect to the command socket")
    }

    /// The namespace's segment names that exist in /dev/shm.
    pub fn segments_in_dev_shm(&self) -> Vec<String> {
        self.namespace
            .segment_names()
            .into_iter()
            .filter(|name| Path::new("/dev/shm").join(name).exists())
            .collect()
    }
}

impl Drop for DaemonFixture {
    fn drop(&mut self) {
        let _ = self.command(&["cleanup"]).output();
    }
}

/// Stops a daemon on drop (SIGCONT, SIGTERM, SIGKILL after 10 s), whatever state the test left
/// it in.
pub struct DaemonGuard {
    pid: u32,
    /// Set when the test spawned it (then it is reaped here); a launcher reaps its own.
    child: Option<Child>,
}

impl DaemonGuard {
    /// Guards a daemon the test spawned.
    pub fn spawned(child: Child) -> Self {
        DaemonGuard {
            pid: child.id(),
            child: Some(child),
        }
    }

    /// Guards a daemon someone else started (and reaps).
    pub fn of_pid(pid: u32) -> Self {
        DaemonGuard { pid, child: None }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill has no memory-safety preconditions; the pid is a daemon of this test.
        unsafe { libc::kill(self.pid as libc::pid_t, signal) };
    }
}

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let gone = match &mut self.child {
                Some(child) => !matches!(child.try_wait(), Ok(None)),
                None => !shmproto::process_exists(self.pid),
            };
            if gone {
                return;
            }
            if Instant::now() > deadline {
                self.signal(libc::SIGKILL);
                if let Some(child) = &mut self.child {
                    let _ = child.wait();
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The daemon binary for tests of crates other than capture-daemon (`CARGO_BIN_EXE_*` names
/// only the binaries of the package under test): `$AAA_DAEMON_BIN` if set, else built with
/// `cargo build -p capture-daemon --features zenoh` into the target directory the test runs
/// from (cargo holds no lock while tests run; the build is a no-op when the binary is up to
/// date). Always with the Zenoh bridge, which the remote viewer's tests need: every caller
/// asks for the same build, so concurrent tests never rebuild it under one another. Built once
/// per test process.
pub fn workspace_daemon_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_daemon_binary).clone()
}

fn build_daemon_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("AAA_DAEMON_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    // <target>/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("<target>");
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .expect("a profile directory name");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--quiet",
            "-p",
            "capture-daemon",
            "--bin",
            "aaa-camera-daemon",
            "--features",
            "zenoh",
        ])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let status = command.status().expect("run cargo to build the daemon");
    assert!(status.success(), "building aaa-camera-daemon failed");
    let binary = profile_dir.join("aaa-camera-daemon");
    assert!(
        binary.exists(),
        "{} missing after the build",
        binary.display()
    );
    binary
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// stdout parsed as one JSON value; panics with both streams otherwise.
pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_str(stdout(output).trim()).unwrap_or_else(|error| {
        panic!(
            "not JSON ({error}): stdout {:?} stderr {:?}",
            stdout(output),
            stderr(output)
        )
    })
}

pub fn sigterm(child: &Child) {
    // SAFETY: sending SIGTERM to our own child process.
    let result = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(result, 0, "SIGTERM failed");
}
