//! `cleanup`: removes what a dead daemon left behind; refuses while one is alive.

use std::path::Path;

use anyhow::bail;
use shmproto::{CreateError, Namespace};

use crate::pidfile::{self, PidFileError};
use crate::runtime::RuntimePaths;

/// Removes stale segments and pid file of `namespace`; returns what was removed.
pub fn cleanup(namespace: &Namespace, runtime_dir: &Path) -> anyhow::Result<Vec<String>> {
    let paths = RuntimePaths::new(runtime_dir, namespace);
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
