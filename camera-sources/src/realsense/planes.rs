//! librealsense's video frames copied into our planes: colour as tightly packed RGB8 whatever its
//! byte order, aligned depth as tightly packed little-endian Z16.

use realsense_rust::frame::{ColorFrame, DepthFrame, FrameEx, ImageFrame};
use realsense_rust::kind::Rs2Format;
use shmproto::Geometry;

use super::capture_error;
use crate::SourceError;

/// The rows of a video frame's pixel buffer, each `width * bytes_per_pixel` bytes long
/// (without the stride's padding); checks the frame against the expected geometry.
fn frame_rows<'a, K>(
    what: &str,
    frame: &'a ImageFrame<K>,
    geometry: Geometry,
    bytes_per_pixel: usize,
) -> Result<impl Iterator<Item = &'a [u8]>, SourceError> {
    let (width, height, stride) = (frame.width(), frame.height(), frame.stride());
    if width != geometry.width as usize || height != geometry.height as usize {
        return Err(capture_error(format!(
            "{what} frame is {width}x{height}, expected {}x{}",
            geometry.width, geometry.height
        )));
    }
    let row_len = width * bytes_per_pixel;
    let data_len = frame.get_data_size();
    if frame.bits_per_pixel() != bytes_per_pixel * 8
        || stride < row_len
        || data_len < stride * (height - 1) + row_len
    {
        return Err(capture_error(format!(
            "{what} frame has an unexpected layout: {} bits per pixel, stride {stride}, \
             {data_len} bytes for {width}x{height}",
            frame.bits_per_pixel()
        )));
    }
    // SAFETY: librealsense allocates a video frame's pixels as one buffer of
    // `rs2_get_frame_data_size` bytes (`get_data_size`) starting at `rs2_get_frame_data`
    // (`get_data`), and neither frees nor writes it while the frame is referenced. The slice
    // borrows `frame`, so it cannot outlive the frame; `u8` has no alignment or validity
    // requirement. (realsense-rust offers only per-pixel access otherwise, which costs
    // 35-75 ms per 640x480 plane in a debug build and drops frames of a real-time
    // playback.)
    let data = unsafe {
        std::slice::from_raw_parts(std::ptr::from_ref(frame.get_data()).cast::<u8>(), data_len)
    };
    Ok(data
        .chunks(stride)
        .take(height)
        .map(move |row| &row[..row_len]))
}

/// Copies a colour frame as tightly packed RGB8, whatever its byte order.
pub(super) fn copy_color(
    color: &ColorFrame,
    geometry: Geometry,
    rgb: &mut Vec<u8>,
) -> Result<(), SourceError> {
    let format = color.stream_profile().format();
    let (bytes_per_pixel, red, blue) = match format {
        Rs2Format::Rgb8 => (3, 0, 2),
        Rs2Format::Bgr8 => (3, 2, 0),
        Rs2Format::Rgba8 => (4, 0, 2),
        Rs2Format::Bgra8 => (4, 2, 0),
        other => return Err(capture_error(format!("unexpected colour format {other:?}"))),
    };
    rgb.clear();
    rgb.reserve(geometry.color_len());
    for row in frame_rows("colour", color, geometry, bytes_per_pixel)? {
        if format == Rs2Format::Rgb8 {
            rgb.extend_from_slice(row);
        } else {
            for pixel in row.chunks_exact(bytes_per_pixel) {
                rgb.extend_from_slice(&[pixel[red], pixel[1], pixel[blue]]);
            }
        }
    }
    Ok(())
}

/// Copies an aligned depth frame as tightly packed little-endian Z16.
pub(super) fn copy_depth(
    depth: &DepthFrame,
    geometry: Geometry,
    out: &mut Vec<u8>,
) -> Result<(), SourceError> {
    let format = depth.stream_profile().format();
    if format != Rs2Format::Z16 {
        return Err(capture_error(format!("unexpected depth format {format:?}")));
    }
    out.clear();
    out.reserve(geometry.depth_len());
    for row in frame_rows("aligned depth", depth, geometry, 2)? {
        // librealsense stores Z16 in the host's byte order.
        if cfg!(target_endian = "little") {
            out.extend_from_slice(row);
        } else {
            for units in row.chunks_exact(2) {
                out.extend_from_slice(&u16::from_ne_bytes([units[0], units[1]]).to_le_bytes());
            }
        }
    }
    Ok(())
}
