//! Whether a source needs root to reach its device on this machine: the one root rule.

use std::path::{Path, PathBuf};

use shmproto::SourceKind;

/// The operating systems the root rule knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Other,
}

impl Os {
    /// The system this program was built for.
    pub fn current() -> Self {
        if cfg!(target_os = "linux") {
            Os::Linux
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Other
        }
    }
}

/// What [`root_reason`] looks at, gathered by [`Platform::current`] (tests make their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: Os,
    pub is_root: bool,
    /// Linux: the USB device nodes of plugged-in RealSense cameras, and whether each is
    /// writable by this user.
    pub realsense_nodes: Vec<(PathBuf, bool)>,
    /// Linux: how many /dev/video* nodes exist, and how many this user can read and write.
    pub video_nodes: (usize, usize),
}

/// Why `source` must be started as root on `platform`, or `None` when it need not.
///
/// The one rule, used by the app's **Start daemon**, by `aaa-camera-daemon needs-root` and
/// through it by `make daemon-start`:
/// - nobody needs elevation who is root already, and the synthetic source never does;
/// - RealSense on macOS always does (librealsense needs root for USB access there);
/// - RealSense on Linux does when a plugged-in camera's USB node is not writable by the user
///   (librealsense's udev rules not installed); with the rules, or with no camera plugged in,
///   the daemon runs as the user and reports what it finds;
/// - a webcam on Linux does when /dev/video* nodes exist and none is accessible (the user is
///   not in the `video` group).
pub fn root_reason(source: SourceKind, platform: &Platform) -> Option<String> {
    if platform.is_root {
        return None;
    }
    match (platform.os, source) {
        (_, SourceKind::Synthetic | SourceKind::Other) => None,
        (Os::MacOs, SourceKind::Realsense) => {
            Some("librealsense needs root for USB access to the camera on macOS".to_owned())
        }
        (Os::Linux, SourceKind::Realsense) => platform
            .realsense_nodes
            .iter()
            .find(|(_, writable)| !writable)
            .map(|(node, _)| {
                format!(
                    "{} (the RealSense) is not writable by you; install librealsense's udev rules to run without a password",
                    node.display()
                )
            }),
        (Os::Linux, SourceKind::Webcam) => {
            let (present, accessible) = platform.video_nodes;
            (present > 0 && accessible == 0).then(|| {
                "no /dev/video* is accessible to you (add yourself to the video group to run without a password)".to_owned()
            })
        }
        _ => None,
    }
}

impl Platform {
    /// A user of `os` (not root) with no camera device visible: what tests build on.
    pub fn bare(os: Os) -> Self {
        Platform {
            os,
            is_root: false,
            realsense_nodes: Vec::new(),
            video_nodes: (0, 0),
        }
    }

    /// The facts of this machine.
    pub fn current() -> Self {
        // SAFETY: geteuid cannot fail and has no preconditions.
        let euid = unsafe { libc::geteuid() };
        let os = Os::current();
        let (realsense_nodes, video_nodes) = if os == Os::Linux {
            (realsense_nodes(), video_nodes())
        } else {
            (Vec::new(), (0, 0))
        };
        Platform {
            os,
            is_root: euid == 0,
            realsense_nodes,
            video_nodes,
        }
    }
}

/// Whether this user may access `path` with `mode` (`libc::W_OK`, ...).
pub fn accessible(path: &Path, mode: libc::c_int) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    unsafe { libc::access(path.as_ptr(), mode) == 0 }
}

/// The USB nodes of plugged-in RealSense cameras (Intel vendor id, "RealSense" product).
fn realsense_nodes() -> Vec<(PathBuf, bool)> {
    let Ok(devices) = std::fs::read_dir("/sys/bus/usb/devices") else {
        return Vec::new();
    };
    let read = |dir: &Path, name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map(|text| text.trim().to_owned())
            .ok()
    };
    devices
        .flatten()
        .filter_map(|device| {
            let dir = device.path();
            if read(&dir, "idVendor")?.as_str() != "8086"
                || !read(&dir, "product")?.contains("RealSense")
            {
                return None;
            }
            let bus: u32 = read(&dir, "busnum")?.parse().ok()?;
            let dev: u32 = read(&dir, "devnum")?.parse().ok()?;
            let node = PathBuf::from(format!("/dev/bus/usb/{bus:03}/{dev:03}"));
            let writable = accessible(&node, libc::W_OK);
            Some((node, writable))
        })
        .collect()
}

/// (/dev/video* nodes, those readable and writable by this user).
fn video_nodes() -> (usize, usize) {
    let Ok(entries) = std::fs::read_dir("/dev") else {
        return (0, 0);
    };
    let nodes: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("video"))
        .map(|entry| entry.path())
        .collect();
    let usable = nodes
        .iter()
        .filter(|node| accessible(node, libc::R_OK | libc::W_OK))
        .count();
    (nodes.len(), usable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(os: Os) -> Platform {
        Platform::bare(os)
    }

    #[test]
    fn root_is_asked_for_only_where_the_source_needs_it() {
        let mac = platform(Os::MacOs);
        assert!(root_reason(SourceKind::Realsense, &mac).is_some());
        assert_eq!(root_reason(SourceKind::Webcam, &mac), None);
        assert_eq!(root_reason(SourceKind::Synthetic, &mac), None);

        let mut linux = platform(Os::Linux);
        assert_eq!(root_reason(SourceKind::Realsense, &linux), None);
        linux.realsense_nodes = vec![(PathBuf::from("/dev/bus/usb/002/003"), true)];
        assert_eq!(root_reason(SourceKind::Realsense, &linux), None);
        linux.realsense_nodes = vec![(PathBuf::from("/dev/bus/usb/002/003"), false)];
        let reason = root_reason(SourceKind::Realsense, &linux).unwrap_or_default();
        assert!(reason.contains("/dev/bus/usb/002/003"), "{reason}");

        linux.video_nodes = (2, 0);
        assert!(root_reason(SourceKind::Webcam, &linux).is_some());
        linux.video_nodes = (2, 1);
        assert_eq!(root_reason(SourceKind::Webcam, &linux), None);
        linux.video_nodes = (0, 0);
        assert_eq!(root_reason(SourceKind::Webcam, &linux), None);

        let mut root = platform(Os::MacOs);
        root.is_root = true;
        assert_eq!(root_reason(SourceKind::Realsense, &root), None);
    }
}
