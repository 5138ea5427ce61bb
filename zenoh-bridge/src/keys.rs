//! Where things are published: one key prefix per camera (default `aaa/<host>/<namespace>`),
//! one key below it per kind of message.

use std::str::FromStr;

use shmproto::Namespace;
use zenoh::key_expr::OwnedKeyExpr;

use crate::error::BridgeError;

/// `sensor_msgs/msg/Image`, rgb8.
pub const COLOR: &str = "color";
/// `sensor_msgs/msg/Image` 16UC1, or `sensor_msgs/msg/CompressedImage` (RVL or zstd).
pub const DEPTH: &str = "depth";
/// `sensor_msgs/msg/CameraInfo`; also answered by a queryable for late joiners.
pub const CAMERA_INFO: &str = "camera_info";
/// `std_msgs/msg/String`: the frame's metadata JSON.
pub const METADATA: &str = "metadata";
/// `std_msgs/msg/String`: the daemon's detection result JSON, when it detects.
pub const DETECTIONS: &str = "detections";

/// The name a namespace has in keys: the default namespace is `default`.
fn namespace_part(namespace: &Namespace) -> &str {
    if namespace.is_default() {
        "default"
    } else {
        namespace.as_str()
    }
}

/// This host's name, reduced to what a key may hold (no `*`, `$`, `?`, `#`, `/`).
pub fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is writable for its whole length, which is what we pass; gethostname
    // writes at most that many bytes.
    let result = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    let name = if result == 0 {
        let end = buffer
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(buffer.len());
        String::from_utf8_lossy(&buffer[..end]).into_owned()
    } else {
        String::new()
    };
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "localhost".to_owned()
    } else {
        cleaned
    }
}

/// The key prefix of one camera: a key expression without wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix(OwnedKeyExpr);

impl KeyPrefix {
    /// `aaa/<this host>/<namespace>`.
    pub fn default_for(namespace: &Namespace) -> Result<Self, BridgeError> {
        format!("aaa/{}/{}", host_name(), namespace_part(namespace)).parse()
    }

    /// The key of one kind of message (`COLOR`, `DEPTH`, ...).
    pub fn key(&self, suffix: &str) -> String {
        format!("{}/{suffix}", self.0)
    }

    /// Every key below the prefix, for one subscriber to them all.
    pub fn all(&self) -> String {
        format!("{}/*", self.0)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The kind of message a key below this prefix carries (`COLOR`, ...), if it is one.
    pub fn suffix_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(self.0.as_str())?.strip_prefix('/')
    }
}

impl FromStr for KeyPrefix {
    type Err = BridgeError;

    fn from_str(prefix: &str) -> Result<Self, BridgeError> {
        let invalid = |reason: String| BridgeError::KeyPrefix {
            prefix: prefix.to_owned(),
            reason,
        };
        let key = OwnedKeyExpr::try_from(prefix.to_owned())
            .map_err(|error| invalid(error.to_string()))?;
        if key.is_wild() {
            return Err(invalid(
                "wildcards (* or $*) name no single camera".to_owned(),
            ));
        }
        Ok(KeyPrefix(key))
    }
}

impl std::fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_prefix_names_host_and_namespace() {
        let prefix = KeyPrefix::default_for(&Namespace::default_names()).unwrap();
        assert!(prefix.as_str().starts_with("aaa/"));
        assert!(prefix.as_str().ends_with("/default"));
        let named = KeyPrefix::default_for(&Namespace::new("lab-1").unwrap()).unwrap();
        assert!(named.as_str().ends_with("/lab-1"));
        assert_eq!(named.key(COLOR), format!("{named}/color"));
        assert_eq!(named.suffix_of(&named.key(DEPTH)), Some(DEPTH));
        assert_eq!(named.suffix_of("elsewhere/depth"), None);
    }

    #[test]
    fn bad_prefixes_are_refused() {
        for bad in ["", "a//b", "a/*/b", "a/**", "/a", "a/", "a?b", "a#b"] {
            assert!(bad.parse::<KeyPrefix>().is_err(), "{bad:?}");
        }
        assert!("robot1/front".parse::<KeyPrefix>().is_ok());
    }
}
