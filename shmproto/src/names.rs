//! The one place that knows the names of the shared-memory segments.

use std::fmt;

/// Longest namespace accepted. macOS limits POSIX shared-memory names to 31 bytes including
/// the leading slash, and the longest segment name is `aaa_<namespace>_depth_frame` (the
/// detections segment, `aaa_<namespace>_detections`, is one byte shorter).
pub const MAX_NAMESPACE_LEN: usize = 14;

/// Environment variable that selects the namespace when no `--namespace` flag is given.
pub const NAMESPACE_ENV: &str = "AAA_NAMESPACE";

/// Separates the segments of several cameras or test runs on one machine.
///
/// The empty namespace (the default) gives the default names: `aaa_rgb_frame`,
/// `aaa_depth_frame`, `aaa_metadata`. A namespace `cam2` gives `aaa_cam2_rgb_frame`, ...
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Namespace(String);

/// Why a namespace was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid namespace {given:?}: use at most {MAX_NAMESPACE_LEN} characters from a-z, A-Z, 0-9 and '-'"
)]
pub struct NamespaceError {
    pub given: String,
}

impl Namespace {
    /// The default namespace: the segment names `aaa_rgb_frame`, `aaa_depth_frame`,
    /// `aaa_metadata`.
    pub fn default_names() -> Self {
        Namespace(String::new())
    }

    pub fn new(name: &str) -> Result<Self, NamespaceError> {
        let valid = name.len() <= MAX_NAMESPACE_LEN
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if valid {
            Ok(Namespace(name.to_owned()))
        } else {
            Err(NamespaceError {
                given: name.to_owned(),
            })
        }
    }

    /// `flag` if given, else `$AAA_NAMESPACE` if set, else the default namespace.
    pub fn from_flag_or_env(flag: Option<&str>) -> Result<Self, NamespaceError> {
        match flag {
            Some(name) => Namespace::new(name),
            None => match std::env::var(NAMESPACE_ENV) {
                Ok(name) => Namespace::new(&name),
                Err(_) => Ok(Namespace::default_names()),
            },
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_default(&self) -> bool {
        self.0.is_empty()
    }

    fn name(&self, suffix: &str) -> String {
        if self.0.is_empty() {
            format!("aaa_{suffix}")
        } else {
            format!("aaa_{}_{suffix}", self.0)
        }
    }

    /// The colour segment; its existence is what clients probe for.
    pub fn rgb_segment(&self) -> String {
        self.name("rgb_frame")
    }

    pub fn depth_segment(&self) -> String {
        self.name("depth_frame")
    }

    /// The control segment: header, slot table, writer status and per-frame metadata.
    pub fn metadata_segment(&self) -> String {
        self.name("metadata")
    }

    /// The three segment names of the frame writer: colour, depth, metadata. (The detections
    /// segment belongs to another writer: [`Namespace::detections_segment`].)
    pub fn segment_names(&self) -> [String; 3] {
        [
            self.rgb_segment(),
            self.depth_segment(),
            self.metadata_segment(),
        ]
    }

    /// The detections segment: results of a detector run over the frames, published by a
    /// [`crate::DetectionsWriter`] independent of the frame writer.
    pub fn detections_segment(&self) -> String {
        self.name("detections")
    }

    /// Every segment name of the namespace: the frame writer's three, then the detections
    /// segment.
    pub fn all_segment_names(&self) -> [String; 4] {
        let [rgb, depth, metadata] = self.segment_names();
        [rgb, depth, metadata, self.detections_segment()]
    }

    /// The daemon's command socket in `runtime_dir` (see [`crate::control`]).
    pub fn control_socket(&self, runtime_dir: &std::path::Path) -> std::path::PathBuf {
        runtime_dir.join(format!("{}.sock", self.file_stem()))
    }

    /// Stem for files outside shared memory that belong to this namespace (pid file, socket):
    /// `aaa_camera_daemon` or `aaa_camera_daemon.<namespace>`.
    pub fn file_stem(&self) -> String {
        if self.0.is_empty() {
            "aaa_camera_daemon".to_owned()
        } else {
            format!("aaa_camera_daemon.{}", self.0)
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(default)")
        } else {
            f.write_str(&self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_namespace_gives_the_default_names() {
        let ns = Namespace::default_names();
        assert_eq!(ns.rgb_segment(), "aaa_rgb_frame");
        assert_eq!(ns.depth_segment(), "aaa_depth_frame");
        assert_eq!(ns.metadata_segment(), "aaa_metadata");
        assert_eq!(ns.detections_segment(), "aaa_detections");
    }

    #[test]
    fn named_namespace_is_inserted_and_fits_macos() {
        let ns = Namespace::new("abcdefghij1234").unwrap();
        assert_eq!(ns.rgb_segment(), "aaa_abcdefghij1234_rgb_frame");
        assert_eq!(ns.detections_segment(), "aaa_abcdefghij1234_detections");
        // macOS: at most 31 bytes including the leading slash.
        for name in ns.all_segment_names() {
            assert!(
                format!("/{name}").len() <= 31,
                "{name} is too long for macOS"
            );
        }
    }

    #[test]
    fn bad_namespaces_are_refused() {
        for bad in ["a/b", "with space", "x".repeat(15).as_str(), "dot.", "ü"] {
            assert!(Namespace::new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
