//! What can go wrong coding or decoding depth.

/// Why depth could not be coded or decoded. Hostile or damaged input is always one of these,
/// never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepthCodecError {
    #[error("the compressed depth ends before the image is complete")]
    Truncated,
    #[error("a variable-length code in the compressed depth is longer than any encoder writes")]
    OverlongCode,
    #[error("a run of {run} pixels in the compressed depth exceeds the {left} pixels left")]
    RunTooLong { run: u64, left: usize },
    #[error("a {width}x{height} image needs {expected} depth pixels, got {actual}")]
    SizeMismatch {
        width: u32,
        height: u32,
        expected: u64,
        actual: usize,
    },
    #[error("a {width}x{height} depth image is larger than the {max} pixels accepted")]
    TooLarge { width: u32, height: u32, max: u64 },
    #[error("the format {0:?} is not 16-bit depth in RVL (\"16UC1; compressedDepth rvl\")")]
    UnsupportedFormat(String),
    #[error("zstd: {0}")]
    Zstd(String),
}
