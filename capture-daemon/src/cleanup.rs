//! `cleanup`: removes what a dead daemon left behind; refuses while one is alive.

use std::path::Path;

use anyhow::bail;
use shmproto::{CreateError, Namespace};

use crate::pidfile::{self, PidFileError, PidFileState};
use crate::runtime::RuntimePaths;

/// Removes stale segments and pid file of `namespace`; returns what was removed.
pub fn cleanup(namespace: &Namespace, runtime_dir: &Path) -> anyhow::Result<Vec<String>> {
    let paths = RuntimePaths::new(runtime_dir, namespace);
    // A running daemon holds its pid file: ask that first, before touching any segment (its
    // segments may be between two writers during a mode change).
    if let Ok(PidFileState::Running(pid)) = pidfile::inspect(&paths.pid_file) {
        let pid = pid.map_or_else(|| "unknown".to_owned(), |pid| pid.to_string());
        bail!("the daemon is alive (pid {pid}) in namespace {namespace}; stop it first (make daemon-stop)");
    }
    let mut removed = match shmproto::remove_stale(namespace) {
        Ok(removed) => removed,
        Err(CreateError::WriterAlive { pid, .. }) => bail!(
            "the daemon is alive (pid {pid}) in namespace {namespace}; stop it first (make daemon-stop)"
        ),
        Err(error) => return Err(error.into()),
    };
    match pidfile::remove_stale(&paths.pid_file) {
        Ok(true) => removed.push(paths.pid_file.display().to_string()),
        Ok(false) => {}
        Err(error @ (PidFileError::Running { .. } | PidFileError::RunningUnknownPid { .. })) => {
            bail!("{error}; stop it first (make daemon-stop)")
        }
        Err(error) => return Err(error.into()),
    }
    Ok(removed)
}
