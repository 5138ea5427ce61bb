//! Where the daemon keeps its files outside shared memory, and who owns them.
//!
//! The pid file and socket live in a runtime directory that only the daemon's user (or root)
//! can write (`shmproto::runtime_dir`), so no one else can put a file, a symlink or a hard link
//! under their names. Ownership and modes are changed through descriptors the daemon holds
//! (`fchown`/`fchmod`), never by a path that someone could have swapped meanwhile; the one
//! exception, the socket, which has no descriptor for its file, lives in that private
//! directory.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use shmproto::runtime_dir::{check_private_dir, euid, file_type_name, RuntimeDirError};
use shmproto::{Namespace, SegmentOwner};

pub use shmproto::runtime_dir::{
    daemon_runtime_dir, explicit_runtime_dir, find_runtime_dir, log_file, SYSTEM_RUNTIME_DIR,
};
pub use shmproto::RUNTIME_DIR_ENV;

/// The files of one namespace's daemon.
#[derive(Debug, Clone)]
pub struct RuntimePaths {
    pub dir: PathBuf,
    pub pid_file: PathBuf,
    pub socket: PathBuf,
}

impl RuntimePaths {
    pub fn new(dir: &Path, namespace: &Namespace) -> Self {
        RuntimePaths {
            dir: dir.to_path_buf(),
            pid_file: dir.join(shmproto::runtime_dir::pid_file_name(namespace)),
            socket: namespace.control_socket(dir),
        }
    }
}

/// Why the log cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("log file {path}: {problem}")]
pub struct LogError {
    path: PathBuf,
    problem: String,
}

/// Makes sure `dir` exists and is private ([`check_private_dir`]). Creates it if missing:
/// mode 0755 for [`SYSTEM_RUNTIME_DIR`] (users must reach the socket in it), 0700 otherwise.
pub fn prepare_dir(dir: &Path) -> Result<(), RuntimeDirError> {
    let io_error = |source| RuntimeDirError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mode = if dir == Path::new(SYSTEM_RUNTIME_DIR) {
        0o755
    } else {
        0o700
    };
    if let Some(parent) = dir.parent() {
        if !parent.as_os_str().is_empty() && !parent.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(io_error)?;
        }
    }
    match std::fs::DirBuilder::new().mode(mode).create(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(io_error(error)),
    }
    check_private_dir(dir)?;
    // The system directory must let users reach the socket, whatever made it before (an
    // older version under root's umask): root's own directory under root's /run.
    if mode == 0o755 && euid() == 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(io_error)?;
    }
    Ok(())
}

/// Whom the daemon's segments and files belong to: `--owner UID:GID`, else the user who ran
/// sudo, else the daemon's own user.
pub fn file_owner(flag: Option<SegmentOwner>) -> Option<SegmentOwner> {
    flag.or_else(SegmentOwner::from_sudo_env)
}

/// Parses `UID:GID` (numbers), as given to `--owner`.
pub fn parse_owner(text: &str) -> Result<SegmentOwner, String> {
    let (uid, gid) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not UID:GID"))?;
    let number = |part: &str| {
        part.parse::<u32>()
            .map_err(|_| format!("{part:?} in {text:?} is not a numeric id"))
    };
    Ok(SegmentOwner {
        uid: number(uid)?,
        gid: number(gid)?,
    })
}

/// Gives the open file to `owner` (when set) with `mode`, through its descriptor.
pub fn hand_over(file: &File, mode: u32, owner: Option<SegmentOwner>) -> io::Result<()> {
    // SAFETY: `file` is an open descriptor we own; fchmod/fchown only change its metadata.
    if unsafe { libc::fchmod(file.as_raw_fd(), mode as libc::mode_t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if let Some(owner) = owner {
        // SAFETY: as above.
        if unsafe { libc::fchown(file.as_raw_fd(), owner.uid, owner.gid) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Opens the log for appending without ever following a symlink, blocking on a FIFO, or
/// writing into a file someone linked there: only a regular file with one link, owned by this
/// user or by `owner`, is accepted. A log the daemon creates is handed to `owner`.
pub fn open_log(path: &Path, owner: Option<SegmentOwner>) -> Result<File, LogError> {
    let problem = |problem: String| LogError {
        path: path.to_path_buf(),
        problem,
    };
    // As root, only in a directory no one else controls: O_NOFOLLOW guards the last component
    // only, and a user who can swap a directory on the way could point root anywhere.
    if euid() == 0 {
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        check_private_dir(parent).map_err(|error| {
            problem(format!(
                "a root daemon writes its log only in a directory of root's ({error})"
            ))
        })?;
    }
    let open = |create_new: bool| {
        OpenOptions::new()
            .append(true)
            .create_new(create_new)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
    };
    let (file, created) = match open(true) {
        Ok(file) => (file, true),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => (
            open(false).map_err(|error| problem(open_problem(&error)))?,
            false,
        ),
        Err(error) => return Err(problem(open_problem(&error))),
    };
    let metadata = file
        .metadata()
        .map_err(|error| problem(error.to_string()))?;
    if !metadata.is_file() {
        return Err(problem(format!(
            "is a {}, not a regular file",
            file_type_name(&metadata)
        )));
    }
    if metadata.nlink() != 1 {
        return Err(problem(format!(
            "has {} hard links; a log must not be another file's second name",
            metadata.nlink()
        )));
    }
    if metadata.uid() != euid() && Some(metadata.uid()) != owner.map(|owner| owner.uid) {
        return Err(problem(format!(
            "is owned by uid {}, neither this daemon's user nor the desktop user",
            metadata.uid()
        )));
    }
    if created {
        hand_over(&file, 0o600, owner).map_err(|error| problem(error.to_string()))?;
    }
    Ok(file)
}

fn open_problem(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(libc::ELOOP) => "is a symbolic link; refusing to follow it".to_owned(),
        // A FIFO without a reader refuses a non-blocking writer.
        Some(libc::ENXIO) => "is a FIFO or socket, not a regular file".to_owned(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_flag_parses_numbers_only() {
        assert_eq!(
            parse_owner("1000:1001"),
            Ok(SegmentOwner {
                uid: 1000,
                gid: 1001
            })
        );
        assert!(parse_owner("alice").is_err());
        assert!(parse_owner("1000:x").is_err());
    }

    #[test]
    fn paths_carry_the_namespace() {
        let ns = Namespace::new("cam2").unwrap();
        let paths = RuntimePaths::new(Path::new("/run/x"), &ns);
        assert_eq!(
            paths.pid_file,
            Path::new("/run/x/aaa_camera_daemon.cam2.pid")
        );
        let default = RuntimePaths::new(Path::new("/run/y"), &Namespace::default_names());
        assert_eq!(default.pid_file, Path::new("/run/y/aaa_camera_daemon.pid"));
    }

    #[test]
    fn shared_directories_are_refused_and_private_ones_made() {
        let sticky = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            sticky.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )
        .unwrap();
        let refused = prepare_dir(sticky.path()).unwrap_err().to_string();
        assert!(refused.contains("writable by other users"), "{refused}");
        let private = sticky.path().join("mine");
        prepare_dir(&private).unwrap();
        assert_eq!(std::fs::metadata(&private).unwrap().mode() & 0o777, 0o700);
        let link = sticky.path().join("link");
        std::os::unix::fs::symlink(&private, &link).unwrap();
        let refused = prepare_dir(&link).unwrap_err().to_string();
        assert!(refused.contains("symbolic link"), "{refused}");
    }

    #[test]
    fn logs_never_follow_links() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep").unwrap();
        let symlink = dir.path().join("sym.log");
        std::os::unix::fs::symlink(&target, &symlink).unwrap();
        let error = open_log(&symlink, None).unwrap_err().to_string();
        assert!(error.contains("symbolic link"), "{error}");
        let hardlink = dir.path().join("hard.log");
        std::fs::hard_link(&target, &hardlink).unwrap();
        let error = open_log(&hardlink, None).unwrap_err().to_string();
        assert!(error.contains("hard links"), "{error}");
        let fifo = dir.path().join("fifo.log");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let error = open_log(&fifo, None).unwrap_err().to_string();
        assert!(error.contains("not a regular file"), "{error}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        let log = dir.path().join("daemon.log");
        open_log(&log, None).unwrap();
        open_log(&log, None).unwrap();
    }
}
