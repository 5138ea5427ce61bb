//! Where a daemon keeps its pid file and command socket, where clients look for them, and
//! which of those files may be trusted.
//!
//! A directory that other users can write is never used: anyone could put a pid file, a
//! socket or a symlink there first. A daemon running as root uses [`SYSTEM_RUNTIME_DIR`]
//! (root's, mode 0755; its files are handed to the desktop user), any other daemon its user's
//! own directory ([`user_runtime_dir`]). `--runtime-dir` or `$AAA_RUNTIME_DIR` choose another,
//! which must be just as private.

use std::path::{Path, PathBuf};

use crate::Namespace;

/// Environment variable naming the directory of the daemon's pid file and command socket.
pub const RUNTIME_DIR_ENV: &str = "AAA_RUNTIME_DIR";

/// The runtime directory of a daemon running as root.
#[cfg(target_os = "linux")]
pub const SYSTEM_RUNTIME_DIR: &str = "/run/aaa-camera-daemon";
/// The runtime directory of a daemon running as root.
#[cfg(not(target_os = "linux"))]
pub const SYSTEM_RUNTIME_DIR: &str = "/var/run/aaa-camera-daemon";

/// This process's effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Whether a file owned by `uid` can be one of ours: this user's, root's, or `also`'s (the
/// user a root daemon hands its files to). The one ownership rule for segments, pid files,
/// sockets and runtime directories.
pub fn is_trusted_owner(uid: u32, also: Option<u32>) -> bool {
    uid == euid() || uid == 0 || Some(uid) == also
}

/// This user's runtime directory: `$XDG_RUNTIME_DIR/aaa-camera-daemon` (the per-login
/// directory that only the user can write), else `/tmp/aaa-camera-daemon-<uid>`, which the
/// daemon creates mode 0700 and refuses if someone else made it first. Root's is
/// [`SYSTEM_RUNTIME_DIR`].
pub fn user_runtime_dir() -> PathBuf {
    let uid = euid();
    if uid == 0 {
        return PathBuf::from(SYSTEM_RUNTIME_DIR);
    }
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir.join("aaa-camera-daemon"),
        _ => std::env::temp_dir().join(format!("aaa-camera-daemon-{uid}")),
    }
}

/// The directory a daemon started now uses: `flag` if given, else `$AAA_RUNTIME_DIR`, else
/// [`user_runtime_dir`] (root: [`SYSTEM_RUNTIME_DIR`]).
pub fn daemon_runtime_dir(flag: Option<&Path>) -> PathBuf {
    explicit_runtime_dir(flag).unwrap_or_else(user_runtime_dir)
}

/// `flag`, else `$AAA_RUNTIME_DIR` when set and not empty.
pub fn explicit_runtime_dir(flag: Option<&Path>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(RUNTIME_DIR_ENV)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
    })
}

/// Where clients look for the daemon of `namespace`: `flag` or `$AAA_RUNTIME_DIR` if given,
/// else the first of this user's directory and [`SYSTEM_RUNTIME_DIR`] that holds the
/// namespace's pid file, else where a daemon started by this user would go.
pub fn find_runtime_dir(flag: Option<&Path>, namespace: &Namespace) -> PathBuf {
    if let Some(dir) = explicit_runtime_dir(flag) {
        return dir;
    }
    let pid_file = pid_file_name(namespace);
    let own = user_runtime_dir();
    [own.clone(), PathBuf::from(SYSTEM_RUNTIME_DIR)]
        .into_iter()
        .find(|dir| std::fs::symlink_metadata(dir.join(&pid_file)).is_ok())
        .unwrap_or(own)
}

/// The file name of a namespace's pid file in its runtime directory.
pub fn pid_file_name(namespace: &Namespace) -> String {
    format!("{}.pid", namespace.file_stem())
}

/// Where the daemon's log goes when it is started for a user (by `make daemon-start` or the
/// app): in the runtime directory when one was chosen (`explicit_dir`), else
/// `$XDG_STATE_HOME/aaa-camera-daemon/<stem>.log`, by default under `~/.local/state`, or the
/// user's runtime directory when there is no home. Never a shared directory such as /tmp.
pub fn log_file(explicit_dir: Option<&Path>, namespace: &Namespace) -> PathBuf {
    let file = format!("{}.log", namespace.file_stem());
    if let Some(dir) = explicit_dir {
        return dir.join(file);
    }
    let state_home = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|home| home.is_absolute())
                .map(|home| home.join(".local/state"))
        });
    match state_home {
        Some(dir) => dir.join("aaa-camera-daemon").join(file),
        None => user_runtime_dir().join(file),
    }
}

/// The log of a daemon that runs as root and writes its log itself (`--log-file`, as the
/// app's administrator prompt on macOS asks): in root's log directory, never in a directory
/// of the user (whose malware could point root elsewhere), readable by that user once the
/// daemon hands it over.
pub fn system_log_file(namespace: &Namespace) -> PathBuf {
    PathBuf::from("/var/log").join(format!("{}.log", namespace.file_stem()))
}

/// Why a file in a runtime directory is not to be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UntrustedFile {
    #[error("{path} is owned by uid {uid}, neither you (uid {euid}) nor root; it was not made by a daemon you can trust")]
    ForeignOwner { path: PathBuf, uid: u32, euid: u32 },
    #[error(
        "{path} is writable by other users (mode {mode:o}); it cannot hold a daemon's files safely"
    )]
    OpenToOthers { path: PathBuf, mode: u32 },
    #[error("{path} is a {found}, not a {expected}")]
    WrongType {
        path: PathBuf,
        found: &'static str,
        expected: &'static str,
    },
}

/// Why a runtime directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeDirError {
    #[error("runtime directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unsafe runtime directory: {0}; use a directory only you can write (the default is {default})", default = user_runtime_dir().display())]
    Untrusted(UntrustedFile),
}

/// Whether `dir` is private enough to hold a daemon's files or to believe the files in it: a
/// directory (not a symlink) owned by this user or root that no one else may write. In any
/// other directory someone else could plant a pid file, a socket or a link under the
/// daemon's names.
pub fn check_private_dir(dir: &Path) -> Result<(), RuntimeDirError> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::symlink_metadata(dir).map_err(|source| RuntimeDirError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    check_ancestors(dir)?;
    if !metadata.is_dir() {
        return Err(RuntimeDirError::Untrusted(UntrustedFile::WrongType {
            path: dir.to_path_buf(),
            found: file_type_name(&metadata),
            expected: "directory",
        }));
    }
    check_owner(dir, &metadata, None).map_err(RuntimeDirError::Untrusted)?;
    if metadata.mode() & 0o022 != 0 {
        return Err(RuntimeDirError::Untrusted(UntrustedFile::OpenToOthers {
            path: dir.to_path_buf(),
            mode: metadata.mode() & 0o7777,
        }));
    }
    Ok(())
}

/// The login name of `uid`, if the user database knows it.
pub fn user_name(uid: u32) -> Option<String> {
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value of this plain C struct.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call, and `buffer` is as long as we say.
    let code = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if code != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so `pw_name` points to a NUL-terminated string inside
    // `buffer`, which outlives this borrow.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// Every directory above `dir` (symlinks resolved) must be one that only its owner, this user
/// or root can rename things in: owned by this user or root, and not writable by others unless
/// sticky (as /tmp is: others cannot move our entries there). Otherwise someone could swap
/// `dir` itself for another directory after it was checked.
fn check_ancestors(dir: &Path) -> Result<(), RuntimeDirError> {
    use std::os::unix::fs::MetadataExt;
    let io = |path: &Path, source| RuntimeDirError::Io {
        path: path.to_path_buf(),
        source,
    };
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => return Ok(()),
    };
    let canonical = std::fs::canonicalize(parent).map_err(|source| io(parent, source))?;
    for ancestor in canonical.ancestors() {
        let metadata = std::fs::metadata(ancestor).map_err(|source| io(ancestor, source))?;
        check_owner(ancestor, &metadata, None).map_err(RuntimeDirError::Untrusted)?;
        let sticky = metadata.mode() & 0o1000 != 0;
        if metadata.mode() & 0o022 != 0 && !sticky {
            return Err(RuntimeDirError::Untrusted(UntrustedFile::OpenToOthers {
                path: ancestor.to_path_buf(),
                mode: metadata.mode() & 0o7777,
            }));
        }
    }
    Ok(())
}

/// What a file's metadata says it is.
pub fn file_type_name(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let file_type = metadata.file_type();
    if file_type.is_symlink() {
        "symbolic link"
    } else if file_type.is_dir() {
        "directory"
    } else if file_type.is_file() {
        "regular file"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_fifo() {
        "FIFO"
    } else {
        "device or special file"
    }
}

/// Checks that a daemon's file (pid file, socket) or its directory belongs to this user or
/// root: what any user may trust. `also` is one more trusted owner (the user a root daemon
/// hands its files to).
pub fn check_owner(
    path: &Path,
    metadata: &std::fs::Metadata,
    also: Option<u32>,
) -> Result<(), UntrustedFile> {
    use std::os::unix::fs::MetadataExt;
    let uid = metadata.uid();
    if is_trusted_owner(uid, also) {
        Ok(())
    } else {
        Err(UntrustedFile::ForeignOwner {
            path: path.to_path_buf(),
            uid,
            euid: euid(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_directories_win_and_the_pid_file_name_carries_the_namespace() {
        let flag = Path::new("/some/where");
        assert_eq!(daemon_runtime_dir(Some(flag)), flag);
        let namespace = Namespace::new("cam2").unwrap();
        assert_eq!(find_runtime_dir(Some(flag), &namespace), flag);
        assert_eq!(pid_file_name(&namespace), "aaa_camera_daemon.cam2.pid");
    }

    #[test]
    fn a_private_user_directory_is_never_a_shared_one() {
        let dir = user_runtime_dir();
        assert!(dir.is_absolute());
        assert_ne!(dir, std::env::temp_dir());
    }

    #[test]
    fn foreign_owners_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let metadata = std::fs::metadata(dir.path()).unwrap();
        assert!(check_owner(dir.path(), &metadata, None).is_ok());
    }
}
