//! How to open a webcam ([`WebcamConfig`]); compiled in every build, with or without nokhwa.

/// How to open a webcam.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebcamConfig {
    /// Device index: `/dev/video<index>` on Linux.
    pub index: u32,
    /// Requested size and rate; the camera's closest mode is used (nearest size first, then
    /// nearest rate), and [`Source::geometry`](crate::Source::geometry) tells which.
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Default for WebcamConfig {
    /// The first webcam at 640x480, 30 fps.
    fn default() -> Self {
        WebcamConfig {
            index: 0,
            width: 640,
            height: 480,
            fps: 30,
        }
    }
}
