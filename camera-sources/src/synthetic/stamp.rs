//! The frame-number stamp: every synthetic frame carries its own frame number four times, so a
//! reader can prove that the colour and depth planes it copied belong to one frame (no tear).
//!
//! # Layout
//!
//! Each plane carries the stamp twice: at the very **start of its first row** and at the very
//! **end of its last row**, i.e. in the first and the last bytes of the plane. A reader that
//! copies a plane front to back while the writer overwrites it therefore sees the first stamp
//! of one frame and the last stamp of another whenever the copy overlapped a write.
//!
//! - **Colour (RGB8)**: 80 bits, most significant first: the 64-bit frame number, then a 16-bit
//!   checksum of it ([`stamp_checksum`]). Each bit takes two pixels, Manchester coded: a 1 is
//!   (white, black), a 0 is (black, white). A bit is read by comparing the two pixels'
//!   brightness (sum of channels) and is unreadable unless they differ by at least
//!   [`MIN_CONTRAST`]; all-black, all-white or scene pixels therefore never read as a stamp.
//!   The stamp covers [`STAMP_MIN_WIDTH_PX`] = 160 pixels.
//! - **Depth (Z16)**: five little-endian `u16` words: the frame number's 16-bit words from the
//!   least significant up, then the same 16-bit checksum. It covers 5 pixels.
//!
//! docs/protocol.md, Appendix C, specifies all of this for readers in other languages
//! (`tools/python/aaa_shm_reader.py --verify-synthetic` implements it); keep the two in step.
//!
//! The frame must be at least [`STAMP_MIN_WIDTH_PX`] wide and 2 rows high, so that the two
//! stamps of a plane never overlap.
//!
//! # Cost to the scene
//!
//! Only these pixels are overwritten: the first 160 colour pixels and 5 depth pixels of the
//! first row, and the last 160 colour pixels and 5 depth pixels of the last row. There colour
//! and depth are stamp data, not scene, and a deprojected stamp pixel lands nowhere in
//! particular; every other pixel is untouched.

use shmproto::{ColorFormat, DepthFormat, Geometry};

/// Bits of the colour stamp: 64 for the frame number, 16 for the checksum.
const COLOR_STAMP_BITS: usize = 80;

/// Pixels per colour stamp bit (Manchester: one pixel of each polarity).
const PIXELS_PER_BIT: usize = 2;

/// Narrowest frame that can carry the colour stamp.
pub const STAMP_MIN_WIDTH_PX: u32 = (COLOR_STAMP_BITS * PIXELS_PER_BIT) as u32;

/// Smallest brightness difference (sum of the three channels) between the two pixels of a
/// colour stamp bit for the bit to count as readable: a third of full scale.
pub const MIN_CONTRAST: u32 = 255;

/// `u16` words of the depth stamp.
const DEPTH_STAMP_WORDS: usize = 5;

const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [0, 0, 0];

/// Which plane a stamp is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampPlane {
    Color,
    Depth,
}

impl std::fmt::Display for StampPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StampPlane::Color => "colour",
            StampPlane::Depth => "depth",
        })
    }
}

/// Which of a plane's two stamps: at the start of the first row or at the end of the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampRow {
    First,
    Last,
}

impl std::fmt::Display for StampRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StampRow::First => "first",
            StampRow::Last => "last",
        })
    }
}

/// Why a frame's stamps do not prove it is frame N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    #[error(
        "a {width}x{height} frame cannot carry the frame stamp: it needs at least \
         {STAMP_MIN_WIDTH_PX}x2 pixels"
    )]
    TooSmall { width: u32, height: u32 },
    #[error("the {plane} plane has {len} bytes where the geometry needs {expected}")]
    PlaneSize {
        plane: StampPlane,
        len: usize,
        expected: usize,
    },
    #[error("the {row} row of the {plane} plane carries no readable frame stamp")]
    Unreadable { plane: StampPlane, row: StampRow },
    #[error(
        "the {row} row of the {plane} plane is stamped frame {found}, expected frame {expected}"
    )]
    Mismatch {
        plane: StampPlane,
        row: StampRow,
        found: u64,
        expected: u64,
    },
}

/// The 16-bit checksum stored after the frame number (the top bits of a SplitMix64-like
/// finaliser, so neighbouring frame numbers have unrelated checksums).
///
/// The second multiplier is `0xBF58_4765_1CE4_E5B9`, not SplitMix64's `0xBF58_476D_1CE4_E5B9`
/// (`shmproto::test_pattern` uses the real one). Every published stamp carries this value and
/// docs/protocol.md, Appendix C, specifies it: do not "fix" it, or readers that follow the
/// specification reject every frame.
pub fn stamp_checksum(frame_number: u64) -> u16 {
    let mut z = frame_number.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_4765_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 48) as u16
}

/// Checks that the geometry is valid and large enough to carry stamps.
fn check_geometry(geometry: &Geometry) -> Result<(), StampError> {
    if geometry.validate().is_err() || geometry.width < STAMP_MIN_WIDTH_PX || geometry.height < 2 {
        return Err(StampError::TooSmall {
            width: geometry.width,
            height: geometry.height,
        });
    }
    Ok(())
}

/// Checks that a plane has the size the geometry gives it.
fn check_plane(plane: StampPlane, len: usize, geometry: &Geometry) -> Result<(), StampError> {
    let expected = match plane {
        StampPlane::Color => geometry.color_len(),
        StampPlane::Depth => geometry.depth_len(),
    };
    if len == expected {
        Ok(())
    } else {
        Err(StampError::PlaneSize {
            plane,
            len,
            expected,
        })
    }
}

/// Checks geometry and both planes (the depth plane only when the geometry has depth).
fn check_layout(rgb: &[u8], depth: &[u8], geometry: &Geometry) -> Result<(), StampError> {
    check_geometry(geometry)?;
    check_plane(StampPlane::Color, rgb.len(), geometry)?;
    if geometry.depth.is_some() {
        check_plane(StampPlane::Depth, depth.len(), geometry)?;
    }
    Ok(())
}

/// The colour stamp as 80 bits, most significant first.
fn color_stamp_bits(frame_number: u64) -> impl Iterator<Item = bool> {
    let checksum = stamp_checksum(frame_number);
    (0..64)
        .rev()
        .map(move |bit| (frame_number >> bit) & 1 == 1)
        .chain((0..16).rev().map(move |bit| (checksum >> bit) & 1 == 1))
}

fn depth_stamp_words(frame_number: u64) -> [u16; DEPTH_STAMP_WORDS] {
    [
        frame_number as u16,
        (frame_number >> 16) as u16,
        (frame_number >> 32) as u16,
        (frame_number >> 48) as u16,
        stamp_checksum(frame_number),
    ]
}

/// Byte range of one stamp inside a plane of `plane_len` bytes.
fn stamp_bytes(row: StampRow, plane_len: usize, stamp_len: usize) -> std::ops::Range<usize> {
    match row {
        StampRow::First => 0..stamp_len,
        StampRow::Last => plane_len - stamp_len..plane_len,
    }
}

const COLOR_STAMP_LEN: usize = COLOR_STAMP_BITS * PIXELS_PER_BIT * 3;
const DEPTH_STAMP_LEN: usize = DEPTH_STAMP_WORDS * 2;

/// Writes `frame_number`'s stamps into both rows of both planes (of the depth plane only when
/// the geometry has depth). See the module documentation for the layout.
pub fn write_stamps(
    frame_number: u64,
    rgb: &mut [u8],
    depth: &mut [u8],
    geometry: &Geometry,
) -> Result<(), StampError> {
    check_layout(rgb, depth, geometry)?;
    let ColorFormat::Rgb8 = geometry.color;
    let mut color_stamp = [0u8; COLOR_STAMP_LEN];
    for (pixels, bit) in color_stamp
        .chunks_exact_mut(PIXELS_PER_BIT * 3)
        .zip(color_stamp_bits(frame_number))
    {
        let (first, second) = if bit { (WHITE, BLACK) } else { (BLACK, WHITE) };
        pixels[..3].copy_from_slice(&first);
        pixels[3..].copy_from_slice(&second);
    }
    let rgb_len = rgb.len();
    for row in [StampRow::First, StampRow::Last] {
        rgb[stamp_bytes(row, rgb_len, COLOR_STAMP_LEN)].copy_from_slice(&color_stamp);
    }

    if let Some(DepthFormat::Z16) = geometry.depth {
        let mut depth_stamp = [0u8; DEPTH_STAMP_LEN];
        for (bytes, word) in depth_stamp
            .chunks_exact_mut(2)
            .zip(depth_stamp_words(frame_number))
        {
            bytes.copy_from_slice(&word.to_le_bytes());
        }
        let depth_len = depth.len();
        for row in [StampRow::First, StampRow::Last] {
            depth[stamp_bytes(row, depth_len, DEPTH_STAMP_LEN)].copy_from_slice(&depth_stamp);
        }
    }
    Ok(())
}

/// The frame number in one colour stamp; `None` when the geometry cannot carry a stamp, the
/// plane has the wrong size, a bit is unreadable or the checksum does not match.
pub fn read_stamp_rgb(rgb: &[u8], geometry: &Geometry, row: StampRow) -> Option<u64> {
    check_geometry(geometry).ok()?;
    check_plane(StampPlane::Color, rgb.len(), geometry).ok()?;
    let stamp = &rgb[stamp_bytes(row, rgb.len(), COLOR_STAMP_LEN)];
    let brightness = |pixel: &[u8]| pixel.iter().map(|&channel| u32::from(channel)).sum::<u32>();
    let mut bits = 0u128;
    for pixels in stamp.chunks_exact(PIXELS_PER_BIT * 3) {
        let (first, second) = (brightness(&pixels[..3]), brightness(&pixels[3..]));
        let bit = if first >= second + MIN_CONTRAST {
            1
        } else if second >= first + MIN_CONTRAST {
            0
        } else {
            return None;
        };
        bits = (bits << 1) | bit;
    }
    let frame_number = (bits >> 16) as u64;
    let checksum = bits as u16;
    (checksum == stamp_checksum(frame_number)).then_some(frame_number)
}

/// The frame number in one depth stamp; `None` when the geometry has no depth or cannot carry
/// a stamp, the plane has the wrong size or the checksum does not match.
pub fn read_stamp_depth(depth: &[u8], geometry: &Geometry, row: StampRow) -> Option<u64> {
    let Some(DepthFormat::Z16) = geometry.depth else {
        return None;
    };
    check_geometry(geometry).ok()?;
    check_plane(StampPlane::Depth, depth.len(), geometry).ok()?;
    let stamp = &depth[stamp_bytes(row, depth.len(), DEPTH_STAMP_LEN)];
    let mut words = [0u16; DEPTH_STAMP_WORDS];
    for (word, bytes) in words.iter_mut().zip(stamp.chunks_exact(2)) {
        *word = u16::from_le_bytes([bytes[0], bytes[1]]);
    }
    let frame_number = words[..4]
        .iter()
        .rev()
        .fold(0u64, |number, &word| (number << 16) | u64::from(word));
    (words[4] == stamp_checksum(frame_number)).then_some(frame_number)
}

/// Checks that all stamps of a frame (both rows of the colour plane, and of the depth plane when
/// the geometry has depth) say `expected_frame_number`: the frame is whole and is that frame.
/// `depth` is ignored for colour-only geometries.
pub fn verify_frame(
    rgb: &[u8],
    depth: &[u8],
    geometry: &Geometry,
    expected_frame_number: u64,
) -> Result<(), StampError> {
    check_layout(rgb, depth, geometry)?;
    let mut stamps = vec![
        (
            StampPlane::Color,
            StampRow::First,
            read_stamp_rgb(rgb, geometry, StampRow::First),
        ),
        (
            StampPlane::Color,
            StampRow::Last,
            read_stamp_rgb(rgb, geometry, StampRow::Last),
        ),
    ];
    if geometry.depth.is_some() {
        for row in [StampRow::First, StampRow::Last] {
            stamps.push((
                StampPlane::Depth,
                row,
                read_stamp_depth(depth, geometry, row),
            ));
        }
    }
    for (plane, row, found) in stamps {
        match found {
            None => return Err(StampError::Unreadable { plane, row }),
            Some(found) if found != expected_frame_number => {
                return Err(StampError::Mismatch {
                    plane,
                    row,
                    found,
                    expected: expected_frame_number,
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(geometry: &Geometry, frame_number: u64) -> (Vec<u8>, Vec<u8>) {
        // Mid-grey planes: a stamp must not depend on what it overwrites.
        let mut rgb = vec![128; geometry.color_len()];
        let mut depth = vec![0x55; geometry.depth_len()];
        write_stamps(frame_number, &mut rgb, &mut depth, geometry).unwrap();
        (rgb, depth)
    }

    #[test]
    fn stamps_read_back() {
        let geometry = Geometry::rgbd(640, 480);
        for frame_number in [0, 1, 2, 0xFFFF, 0x1_0000, 123_456_789_012, u64::MAX] {
            let (rgb, depth) = stamped(&geometry, frame_number);
            for row in [StampRow::First, StampRow::Last] {
                assert_eq!(read_stamp_rgb(&rgb, &geometry, row), Some(frame_number));
                assert_eq!(read_stamp_depth(&depth, &geometry, row), Some(frame_number));
            }
            assert_eq!(verify_frame(&rgb, &depth, &geometry, frame_number), Ok(()));
        }
    }

    #[test]
    fn stamps_sit_at_the_ends_of_the_planes_only() {
        let geometry = Geometry::rgbd(200, 3);
        let (rgb, depth) = stamped(&geometry, 77);
        let stride = geometry.color_stride();
        // First row: 160 stamp pixels then untouched grey; the middle row untouched.
        assert!(rgb[160 * 3..stride].iter().all(|&byte| byte == 128));
        assert!(rgb[stride..2 * stride].iter().all(|&byte| byte == 128));
        assert!(rgb[2 * stride..3 * stride - 160 * 3]
            .iter()
            .all(|&byte| byte == 128));
        let depth_stride = geometry.depth_stride();
        assert!(depth[10..depth.len() - 10].iter().all(|&byte| byte == 0x55));
        assert_eq!(depth.len(), 3 * depth_stride);
    }

    #[test]
    fn blank_and_scene_planes_carry_no_stamp() {
        let geometry = Geometry::rgbd(320, 240);
        for fill in [0u8, 128, 255] {
            let rgb = vec![fill; geometry.color_len()];
            let depth = vec![fill; geometry.depth_len()];
            assert_eq!(read_stamp_rgb(&rgb, &geometry, StampRow::First), None);
            assert_eq!(read_stamp_depth(&depth, &geometry, StampRow::Last), None);
            assert!(matches!(
                verify_frame(&rgb, &depth, &geometry, 0),
                Err(StampError::Unreadable { .. })
            ));
        }
    }

    #[test]
    fn stamps_survive_dimming_but_not_bit_flips() {
        let geometry = Geometry::rgbd(320, 240);
        let (mut rgb, _) = stamped(&geometry, 4242);
        // Halving every channel keeps white/black contrast above the threshold.
        for byte in &mut rgb[..COLOR_STAMP_LEN] {
            *byte /= 2;
        }
        assert_eq!(read_stamp_rgb(&rgb, &geometry, StampRow::First), Some(4242));
        // Swap the two pixels of bit 63 (frame number bit 0): a valid bit, wrong checksum.
        let bit = 63 * PIXELS_PER_BIT * 3;
        let (first, second) = rgb[bit..bit + 6].split_at_mut(3);
        first.swap_with_slice(second);
        assert_eq!(read_stamp_rgb(&rgb, &geometry, StampRow::First), None);
    }

    #[test]
    fn mismatched_halves_are_reported() {
        let geometry = Geometry::rgbd(320, 240);
        let (mut rgb, mut depth) = stamped(&geometry, 10);
        let (later_rgb, later_depth) = stamped(&geometry, 11);
        let rgb_half = rgb.len() / 2;
        rgb[rgb_half..].copy_from_slice(&later_rgb[rgb_half..]);
        assert_eq!(
            verify_frame(&rgb, &depth, &geometry, 10),
            Err(StampError::Mismatch {
                plane: StampPlane::Color,
                row: StampRow::Last,
                found: 11,
                expected: 10
            })
        );
        // Colour whole again, depth torn.
        rgb[rgb_half..].copy_from_slice(&stamped(&geometry, 10).0[rgb_half..]);
        let depth_half = depth.len() / 2;
        depth[depth_half..].copy_from_slice(&later_depth[depth_half..]);
        assert!(matches!(
            verify_frame(&rgb, &depth, &geometry, 10),
            Err(StampError::Mismatch {
                plane: StampPlane::Depth,
                row: StampRow::Last,
                found: 11,
                ..
            })
        ));
    }

    #[test]
    fn too_small_or_mis_sized_planes_are_rejected() {
        let narrow = Geometry::rgbd(STAMP_MIN_WIDTH_PX - 1, 100);
        let mut rgb = vec![0; narrow.color_len()];
        let mut depth = vec![0; narrow.depth_len()];
        assert!(matches!(
            write_stamps(1, &mut rgb, &mut depth, &narrow),
            Err(StampError::TooSmall { .. })
        ));
        let one_row = Geometry::rgbd(640, 1);
        assert!(matches!(
            verify_frame(&rgb, &depth, &one_row, 1),
            Err(StampError::TooSmall { .. })
        ));
        let geometry = Geometry::rgbd(320, 240);
        let mut short_rgb = vec![0; geometry.color_len() - 1];
        let mut depth = vec![0; geometry.depth_len()];
        assert!(matches!(
            write_stamps(1, &mut short_rgb, &mut depth, &geometry),
            Err(StampError::PlaneSize {
                plane: StampPlane::Color,
                ..
            })
        ));
    }

    #[test]
    fn colour_only_frames_are_verified_on_colour_alone() {
        let geometry = Geometry::rgb_only(320, 240);
        let mut rgb = vec![0; geometry.color_len()];
        write_stamps(5, &mut rgb, &mut [], &geometry).unwrap();
        assert_eq!(verify_frame(&rgb, &[], &geometry, 5), Ok(()));
        assert_eq!(read_stamp_depth(&[], &geometry, StampRow::First), None);
    }
}
