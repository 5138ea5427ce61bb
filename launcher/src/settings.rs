//! Where the daemon the app watches lives, and how to start one.

use std::path::PathBuf;

use shmproto::{Namespace, SourceKind};

/// Where the daemon the app watches lives, and how to start one.
#[derive(Debug, Clone)]
pub struct DaemonSettings {
    pub namespace: Namespace,
    /// The daemon's pid file and command socket are here (`--runtime-dir`,
    /// `$AAA_RUNTIME_DIR`); `None`: where the daemon of this namespace is found
    /// ([`shmproto::runtime_dir::find_runtime_dir`]).
    pub runtime_dir: Option<PathBuf>,
    /// The source a started daemon opens.
    pub source: SourceKind,
    /// Run this executable instead of looking for `aaa-camera-daemon`.
    pub binary: Option<PathBuf>,
}

impl DaemonSettings {
    /// The settings for `namespace` in the default runtime directory.
    pub fn new(namespace: Namespace, source: SourceKind) -> Self {
        DaemonSettings {
            namespace,
            runtime_dir: None,
            source,
            binary: None,
        }
    }

    /// The runtime directory of the namespace's daemon, looked up now: a daemon started as
    /// root after the app moves it to the system directory.
    pub fn runtime_dir(&self) -> PathBuf {
        shmproto::runtime_dir::find_runtime_dir(self.runtime_dir.as_deref(), &self.namespace)
    }

    pub fn control_socket(&self) -> PathBuf {
        self.namespace.control_socket(&self.runtime_dir())
    }

    /// Where a daemon started by the app writes its output (the same file as `make
    /// daemon-start`): in the runtime directory when one was given, else the user's log
    /// directory.
    pub fn log_file(&self) -> PathBuf {
        shmproto::runtime_dir::log_file(self.runtime_dir.as_deref(), &self.namespace)
    }
}
