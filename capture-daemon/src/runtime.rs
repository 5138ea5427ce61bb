//! Where the daemon keeps its files outside shared memory, and who owns them.

use std::path::{Path, PathBuf};

use shmproto::{Namespace, SegmentOwner};

pub use shmproto::{runtime_dir, RUNTIME_DIR_ENV};

/// The files of one namespace's daemon.
#[derive(Debug, Clone)]
pub struct RuntimePaths {
    pub pid_file: PathBuf,
    pub socket: PathBuf,
}

impl RuntimePaths {
    pub fn new(dir: &Path, namespace: &Namespace) -> Self {
        RuntimePaths {
            pid_file: dir.join(format!("{}.pid", namespace.file_stem())),
            socket: namespace.control_socket(dir),
        }
    }
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

/// Gives `path` to `owner` (when set) with mode 0600.
pub fn hand_over(path: &Path, owner: Option<SegmentOwner>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    if let Some(owner) = owner {
        std::os::unix::fs::chown(path, Some(owner.uid), Some(owner.gid))?;
    }
    Ok(())
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
        let default = RuntimePaths::new(Path::new("/tmp"), &Namespace::default_names());
        assert_eq!(default.pid_file, Path::new("/tmp/aaa_camera_daemon.pid"));
    }
}
