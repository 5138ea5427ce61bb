//! One daemon per namespace: a pid file held under an exclusive `flock` for the daemon's life.
//!
//! The kernel drops the lock when the process dies however it dies, so a pid file whose lock
//! can be taken belongs to a dead daemon and is reclaimed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use shmproto::runtime_dir::{check_owner, file_type_name, UntrustedFile};
use shmproto::SegmentOwner;

/// Why the pid file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    #[error("a daemon is already running in this namespace (pid {pid}, pid file {path})")]
    Running { pid: u32, path: PathBuf },
    #[error("a daemon is already running in this namespace (pid file {path} is locked)")]
    RunningUnknownPid { path: PathBuf },
    #[error("cannot use pid file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("refusing pid file: {0}")]
    Untrusted(UntrustedFile),
    /// The pid file's directory is not private: whatever it says may have been planted.
    #[error("ignoring pid file {path}: {source}")]
    UnsafeDir {
        path: PathBuf,
        source: shmproto::runtime_dir::RuntimeDirError,
    },
}

/// The held pid file; removed on drop.
#[derive(Debug)]
pub struct PidFile {
    /// Holds the lock; closing it releases the lock.
    _locked: File,
    path: PathBuf,
    /// A daemon that died earlier left this pid behind.
    pub reclaimed_from: Option<u32>,
}

/// Opens the pid file without following a symlink or blocking on a FIFO, and accepts only a
/// regular file owned by this user, root, or `also` (the user a root daemon hands it to).
fn open(path: &Path, create: bool, also: Option<u32>) -> Result<File, PidFileError> {
    let file = OpenOptions::new()
        .read(true)
        .write(create)
        .create(create)
        .mode(0o644)
        // Never follow a symlink, never wait for a FIFO's writer.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| PidFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let metadata = file.metadata().map_err(|source| PidFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(PidFileError::Untrusted(UntrustedFile::WrongType {
            path: path.to_path_buf(),
            found: file_type_name(&metadata),
            expected: "regular file",
        }));
    }
    // A second name of another file (a hard link) would have that file truncated and given
    // away.
    if create && std::os::unix::fs::MetadataExt::nlink(&metadata) != 1 {
        return Err(PidFileError::Untrusted(UntrustedFile::WrongType {
            path: path.to_path_buf(),
            found: "file with several hard links",
            expected: "pid file of its own",
        }));
    }
    let root = shmproto::runtime_dir::euid() == 0;
    // Root may look at anyone's pid file (it only reads it), but takes only a trusted one.
    if create || !root {
        check_owner(path, &metadata, also).map_err(PidFileError::Untrusted)?;
    }
    Ok(file)
}

fn try_lock(file: &File, kind: libc::c_int) -> std::io::Result<bool> {
    // SAFETY: flock on a descriptor we own; LOCK_NB makes it return at once.
    if unsafe { libc::flock(file.as_raw_fd(), kind | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(error)
    }
}

/// Whether `path` still names the file we opened (same inode).
fn is_still_linked(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(ours), Ok(named)) => ours.dev() == named.dev() && ours.ino() == named.ino(),
        _ => false,
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl PidFile {
    /// Takes the pid file at `path`, writing our pid into it, and gives it to `owner` (mode
    /// 0644: anyone may see which daemon runs) through the descriptor.
    pub fn acquire(path: &Path, owner: Option<SegmentOwner>) -> Result<Self, PidFileError> {
        let io_error = |source| PidFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = loop {
            let mut file = open(path, true, owner.map(|owner| owner.uid))?;
            if !try_lock(&file, libc::LOCK_EX).map_err(io_error)? {
                return Err(match read_pid(&mut file) {
                    Some(pid) => PidFileError::Running {
                        pid,
                        path: path.to_path_buf(),
                    },
                    None => PidFileError::RunningUnknownPid {
                        path: path.to_path_buf(),
                    },
                });
            }
            // The previous holder may have removed the file between our open and our lock:
            // then we hold a lock on a file nobody can find. Start again on the new one.
            if is_still_linked(&file, path) {
                break file;
            }
        };
        let reclaimed_from = read_pid(&mut file);
        file.set_len(0).map_err(io_error)?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        writeln!(file, "{}", std::process::id()).map_err(io_error)?;
        file.flush().map_err(io_error)?;
        crate::runtime::hand_over(&file, 0o644, owner).map_err(io_error)?;
        Ok(PidFile {
            _locked: file,
            path: path.to_path_buf(),
            reclaimed_from,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Remove while still holding the lock (released when `file` closes after this);
        // a daemon that opened the old file meanwhile notices it was unlinked and retries.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What a pid file says about its daemon, without taking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PidFileState {
    Absent,
    /// Locked: the daemon with this pid (if readable) is running.
    Running(Option<u32>),
    /// Present but unlocked: its daemon died without cleaning up.
    Stale(Option<u32>),
}

/// Looks at the pid file without disturbing a running daemon. A pid file in a directory that
/// others can write is not believed ([`shmproto::runtime_dir::check_private_dir`]).
pub fn inspect(path: &Path) -> Result<PidFileState, PidFileError> {
    use shmproto::runtime_dir::{check_private_dir, RuntimeDirError};
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        match check_private_dir(dir) {
            Ok(()) => {}
            Err(RuntimeDirError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Ok(PidFileState::Absent)
            }
            Err(source) => {
                return Err(PidFileError::UnsafeDir {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
    let mut file = match open(path, false, None) {
        Ok(file) => file,
        Err(PidFileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(PidFileState::Absent)
        }
        Err(error) => return Err(error),
    };
    let pid = read_pid(&mut file);
    // A shared lock is refused while the daemon holds its exclusive one.
    let locked = try_lock(&file, libc::LOCK_SH).map_err(|source| PidFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if locked {
        Ok(PidFileState::Stale(pid))
    } else {
        Ok(PidFileState::Running(pid))
    }
}

/// Removes a stale pid file; refuses while its daemon runs.
pub fn remove_stale(path: &Path) -> Result<bool, PidFileError> {
    let io_error = |source| PidFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    match inspect(path)? {
        PidFileState::Absent => Ok(false),
        PidFileState::Running(Some(pid)) => Err(PidFileError::Running {
            pid,
            path: path.to_path_buf(),
        }),
        PidFileState::Running(None) => Err(PidFileError::RunningUnknownPid {
            path: path.to_path_buf(),
        }),
        PidFileState::Stale(pid) => {
            // Take the lock before removing, so a daemon starting right now is not robbed of
            // the file it just locked.
            let file = open(path, false, None)?;
            if !try_lock(&file, libc::LOCK_EX).map_err(io_error)? || !is_still_linked(&file, path) {
                return Err(match pid {
                    Some(pid) => PidFileError::Running {
                        pid,
                        path: path.to_path_buf(),
                    },
                    None => PidFileError::RunningUnknownPid {
                        path: path.to_path_buf(),
                    },
                });
            }
            std::fs::remove_file(path).map_err(io_error)?;
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_names_the_holder_and_release_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pid");
        let held = PidFile::acquire(&path, None).unwrap();
        assert_eq!(
            inspect(&path).unwrap(),
            PidFileState::Running(Some(std::process::id()))
        );
        match PidFile::acquire(&path, None) {
            Err(PidFileError::Running { pid, .. }) => assert_eq!(pid, std::process::id()),
            other => panic!("unexpected: {other:?}"),
        }
        assert!(remove_stale(&path).is_err());
        drop(held);
        assert_eq!(inspect(&path).unwrap(), PidFileState::Absent);
    }

    #[test]
    fn a_dead_daemons_pid_file_is_stale_and_reclaimed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pid");
        std::fs::write(&path, "999999\n").unwrap();
        assert_eq!(inspect(&path).unwrap(), PidFileState::Stale(Some(999_999)));
        let held = PidFile::acquire(&path, None).unwrap();
        assert_eq!(held.reclaimed_from, Some(999_999));
    }

    #[test]
    fn symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("d.pid");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(PidFile::acquire(&link, None).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }

    #[test]
    fn a_fifo_at_the_pid_path_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pid");
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // Today's blocking open would wait here for a writer for ever.
        assert!(matches!(
            inspect(&path),
            Err(PidFileError::Untrusted(UntrustedFile::WrongType { .. }))
        ));
        assert!(PidFile::acquire(&path, None).is_err());
    }

    #[test]
    fn the_pid_file_is_handed_over_through_its_descriptor() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pid");
        let held = PidFile::acquire(&path, None).unwrap();
        let metadata = std::fs::metadata(held.path()).unwrap();
        assert_eq!(metadata.mode() & 0o777, 0o644);
    }
}
