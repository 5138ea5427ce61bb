//! Self-verifying frames for stress tests and benchmarks: every byte of both planes and the
//! metadata is derived from the frame number, so a reader can prove a frame is not torn. The
//! same for detection results ([`detection_result`]).

use crate::{
    Detection, DetectionResult, DetectorInfo, FrameBuf, FrameMetadata, FrameView, Geometry,
    ObjectPosition, SourceKind,
};

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The 8-byte word at word index `index` of a plane seeded with `seed`.
fn word(seed: u64, index: u64) -> [u8; 8] {
    (seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes()
}

fn plane_seeds(frame_number: u64) -> (u64, u64) {
    (splitmix64(frame_number), splitmix64(!frame_number))
}

fn fill(plane: &mut [u8], seed: u64) {
    let index = (plane.len() / 8) as u64;
    let mut chunks = plane.chunks_exact_mut(8);
    for (index, chunk) in (0u64..).zip(&mut chunks) {
        chunk.copy_from_slice(&word(seed, index));
    }
    let tail = chunks.into_remainder();
    let len = tail.len();
    tail.copy_from_slice(&word(seed, index)[..len]);
}

fn matches(plane: &[u8], seed: u64) -> bool {
    matches_from(plane, seed, 0)
}

/// Whether `part`, which starts at word `first_word` of a plane, matches the plane's pattern.
fn matches_from(part: &[u8], seed: u64, first_word: u64) -> bool {
    let plane = part;
    let mut chunks = plane.chunks_exact(8);
    let body_ok = (first_word..)
        .zip(&mut chunks)
        .all(|(index, chunk)| chunk == word(seed, index));
    let index = first_word + (plane.len() / 8) as u64;
    let tail = chunks.remainder();
    body_ok && tail == &word(seed, index)[..tail.len()]
}

/// Fills `rgb` and `depth` (sized for `geometry`) with the pattern of `frame_number`.
pub fn fill_frame(geometry: &Geometry, frame_number: u64, rgb: &mut Vec<u8>, depth: &mut Vec<u8>) {
    rgb.resize(geometry.color_len(), 0);
    depth.resize(geometry.depth_len(), 0);
    fill_planes(frame_number, rgb, Some(depth));
}

/// Fills planes of any size with the pattern of `frame_number` (for
/// [`Writer::publish_with`](crate::Writer::publish_with)).
pub fn fill_planes(frame_number: u64, rgb: &mut [u8], depth: Option<&mut [u8]>) {
    let (rgb_seed, depth_seed) = plane_seeds(frame_number);
    fill(rgb, rgb_seed);
    if let Some(depth) = depth {
        fill(depth, depth_seed);
    }
}

/// Metadata whose every field is derived from `frame_number` (timestamps are real, and
/// checked only for consistency with the binary header).
pub fn metadata(frame_number: u64) -> FrameMetadata {
    FrameMetadata {
        frame_number,
        capture_wall_ns: crate::wall_now_ns(),
        capture_mono_ns: crate::monotonic_now_ns(),
        fps: 0.0,
        source_kind: SourceKind::Other,
        source_description: format!("test pattern frame {frame_number}"),
        intrinsics: None,
        depth_scale_m: Some(0.001),
        depth_aligned_to_color: true,
        ground_truth: Vec::new(),
    }
}

/// Why a frame failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("frame holds no geometry")]
    Empty,
    #[error("colour plane does not belong to frame {0}")]
    Color(u64),
    #[error("depth plane does not belong to frame {0}")]
    Depth(u64),
    #[error("metadata does not belong to frame {frame_number}: {problem}")]
    Metadata { frame_number: u64, problem: String },
    #[error("detection result does not belong to frame {0}")]
    Detections(u64),
}

/// Checks that every byte of `frame` belongs to the frame its header names.
pub fn verify(frame: &FrameBuf) -> Result<(), PatternError> {
    if frame.geometry().is_none() {
        return Err(PatternError::Empty);
    }
    let frame_number = frame.frame_number();
    let (rgb_seed, depth_seed) = plane_seeds(frame_number);
    if !matches(frame.rgb(), rgb_seed) {
        return Err(PatternError::Color(frame_number));
    }
    if let Some(depth) = frame.depth() {
        if !matches(depth, depth_seed) {
            return Err(PatternError::Depth(frame_number));
        }
    }
    let metadata_problem = match frame.metadata() {
        Err(error) => Some(error.to_string()),
        Ok(metadata) if metadata.frame_number != frame_number => {
            Some(format!("frame_number {}", metadata.frame_number))
        }
        Ok(metadata)
            if metadata.source_description != format!("test pattern frame {frame_number}") =>
        {
            Some(format!("description {:?}", metadata.source_description))
        }
        Ok(metadata) if metadata.capture_mono_ns != frame.capture_mono_ns() => {
            Some("capture time differs from the slot's".to_owned())
        }
        Ok(_) => None,
    };
    match metadata_problem {
        Some(problem) => Err(PatternError::Metadata {
            frame_number,
            problem,
        }),
        None => Ok(()),
    }
}

/// [`verify`] for a frame read in place: checks every byte where it lies, a chunk at a time
/// (copied through a small buffer, never the whole frame), and the metadata. Meaningful only
/// if the in-place read that ran it then succeeds; a failure inside a read that returns
/// [`crate::ReadError::Overwritten`] is the writer's doing, not a torn frame.
pub fn verify_view(view: &FrameView<'_>) -> Result<(), PatternError> {
    /// Chunk length: a multiple of the pattern's 8-byte words.
    const CHUNK: usize = 8 * 512;
    let frame_number = view.frame_number();
    let (rgb_seed, depth_seed) = plane_seeds(frame_number);
    let plane_matches = |plane: crate::PlaneView<'_>, seed: u64| {
        let mut all = true;
        plane.for_each_chunk(CHUNK, |start, chunk| {
            all &= matches_from(chunk, seed, (start / 8) as u64);
        });
        all
    };
    if !plane_matches(view.rgb(), rgb_seed) {
        return Err(PatternError::Color(frame_number));
    }
    if let Some(depth) = view.depth() {
        if !plane_matches(depth, depth_seed) {
            return Err(PatternError::Depth(frame_number));
        }
    }
    let problem = match view.metadata() {
        Err(error) => Some(error.to_string()),
        Ok(metadata) if metadata.frame_number != frame_number => {
            Some(format!("frame_number {}", metadata.frame_number))
        }
        Ok(metadata)
            if metadata.source_description != format!("test pattern frame {frame_number}") =>
        {
            Some(format!("description {:?}", metadata.source_description))
        }
        Ok(metadata) if metadata.capture_mono_ns != view.header().capture_mono_ns => {
            Some("capture time differs from the slot's".to_owned())
        }
        Ok(_) => None,
    };
    match problem {
        Some(problem) => Err(PatternError::Metadata {
            frame_number,
            problem,
        }),
        None => Ok(()),
    }
}

/// A detection result whose every field follows from `frame_number` (docs/protocol.md,
/// Appendix A): the number of detections (1 to 5), their labels and the JSON's length vary
/// with it, so a copy mixing two results does not pass [`verify_detections`]. Every number is
/// exact in binary, so any JSON reader can rebuild it.
pub fn detection_result(frame_number: u64) -> DetectionResult {
    let n = frame_number;
    let detections = (0..1 + n % 5)
        .map(|i| {
            let depth_m = (i + 1) as f32 * 0.5;
            let top = (n % 1000) as f32;
            Detection {
                class_id: i as u32,
                label: format!(
                    "pattern {n} #{i} {}",
                    "x".repeat((n.wrapping_mul(7).wrapping_add(i) % 50) as usize)
                ),
                score: ((n + i) % 64) as f32 / 64.0,
                box_px: [(i * 10) as f32, top, (i * 10 + 5) as f32, top + 5.0],
                position: (i % 2 == 0).then_some(ObjectPosition {
                    depth_m,
                    point_m: [0.0, 0.0, depth_m],
                    distance_m: depth_m,
                    extent_m: None,
                }),
                position_missing: (i % 2 == 1).then(|| "no valid depth in the box".to_owned()),
            }
        })
        .collect();
    DetectionResult {
        frame_number: n,
        frame_publish_mono_ns: n.wrapping_mul(1000),
        detector: DetectorInfo {
            format: "pattern".into(),
            model: Some(format!("pattern-{}.onnx", n % 3)),
        },
        score_threshold: 0.25,
        inference_ms: (n % 16) as f32 * 0.5,
        detections,
    }
}

/// Checks that `result` is the [`detection_result`] of its own frame number.
pub fn verify_detections(result: &DetectionResult) -> Result<(), PatternError> {
    if *result == detection_result(result.frame_number) {
        Ok(())
    } else {
        Err(PatternError::Detections(result.frame_number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_patterns_verify_and_differ_between_frames() {
        for n in [0, 1, 7, 12345] {
            let result = detection_result(n);
            assert_eq!(verify_detections(&result), Ok(()));
            let json = serde_json::to_vec(&result).unwrap();
            let back: DetectionResult = serde_json::from_slice(&json).unwrap();
            assert_eq!(verify_detections(&back), Ok(()), "JSON round trip of {n}");
        }
        let mut mixed = detection_result(8);
        mixed.frame_number = 9;
        assert!(verify_detections(&mixed).is_err());
    }

    #[test]
    fn patterns_differ_between_frames_and_match_their_own() {
        let geometry = Geometry::rgbd(13, 7);
        let (mut rgb, mut depth) = (Vec::new(), Vec::new());
        fill_frame(&geometry, 5, &mut rgb, &mut depth);
        let (rgb_seed, depth_seed) = plane_seeds(5);
        assert!(matches(&rgb, rgb_seed) && matches(&depth, depth_seed));
        let (other_rgb, _) = plane_seeds(6);
        assert!(!matches(&rgb, other_rgb));
        let last = rgb.len() - 1;
        rgb[last] ^= 1;
        assert!(
            !matches(&rgb, rgb_seed),
            "a flipped tail byte must be noticed"
        );
    }
}
