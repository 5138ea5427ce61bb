//! The real daemon binary in a namespace and runtime directory of its own.

#![allow(dead_code)] // Each test binary uses a different part.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use shmproto::{Namespace, Reader};

pub const DAEMON: &str = env!("CARGO_BIN_EXE_aaa-camera-daemon");

pub struct Fixture {
    pub namespace: Namespace,
    pub runtime_dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new(tag: &str) -> Self {
        Fixture {
            namespace: Namespace::new(&format!("{tag}{}", std::process::id()))
                .expect("test namespace"),
            runtime_dir: tempfile::tempdir().expect("runtime dir"),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(DAEMON);
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
        let deadline = Instant::now() + Duration::from_secs(20);
        while Reader::open(&self.namespace).is_err() {
            assert!(Instant::now() < deadline, "daemon did not come up");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid_file(&self) -> std::path::PathBuf {
        self.runtime_dir
            .path()
            .join(format!("{}.pid", self.namespace.file_stem()))
    }

    pub fn segments_in_dev_shm(&self) -> Vec<String> {
        let names = [
            self.namespace.rgb_segment(),
            self.namespace.depth_segment(),
            self.namespace.metadata_segment(),
        ];
        names
            .into_iter()
            .filter(|name| Path::new("/dev/shm").join(name).exists())
            .collect()
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

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

impl Fixture {
    pub fn socket(&self) -> std::path::PathBuf {
        self.namespace.control_socket(self.runtime_dir.path())
    }

    pub fn client(&self) -> shmproto::control::ControlClient {
        shmproto::control::ControlClient::connect(&self.socket(), Duration::from_secs(10))
            .expect("connect to the command socket")
    }
}
