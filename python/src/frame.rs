//! `Frame`: one frame copied out of shared memory. It owns its buffers (a
//! [`shmproto::FrameBuf`] of its own, never written again), and its arrays are views of them
//! that keep the frame alive, so no array ever points into shared memory.

use std::sync::{Arc, Mutex, Weak};

use numpy::ndarray::{Array2, ArrayView2, ArrayView3};
use numpy::{IntoPyArray, PyArray2, PyArray3};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use shmproto::{FrameBuf, FrameMetadata, Geometry};

use crate::errors::{read_error, ProtocolError};

/// Buffers of frames that are gone, for the next frames of the same camera: copying into
/// memory already mapped and of the right size is a plain copy, where a new buffer costs page
/// faults and zeroing first.
#[derive(Default)]
pub struct BufPool(Mutex<Vec<FrameBuf>>);

/// Buffers kept for reuse: the frame being read, and one that was just dropped.
const POOLED_BUFS: usize = 2;

impl BufPool {
    pub fn take(&self) -> FrameBuf {
        self.lock().pop().unwrap_or_default()
    }

    pub fn give_back(&self, buf: FrameBuf) {
        let mut bufs = self.lock();
        if bufs.len() < POOLED_BUFS {
            bufs.push(buf);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FrameBuf>> {
        // A panic while locked leaves only whole buffers behind.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One frame: colour, depth, metadata and timestamps, copied out of shared memory.
#[pyclass(frozen, module = "aaa_camera")]
pub struct Frame {
    /// Never changed while the frame lives: the arrays handed out view its vectors (and hold
    /// the frame alive). Goes back to `pool` when the frame is dropped.
    buf: FrameBuf,
    pool: Weak<BufPool>,
    geometry: Geometry,
    metadata: FrameMetadata,
    /// The depth plane as `u16`, only where its bytes cannot be viewed as such in place
    /// (misaligned, or a big-endian machine); `None` otherwise and without depth.
    depth_converted: Option<Vec<u16>>,
}

impl Frame {
    /// A frame over `buf`, which a reader just filled; `buf` goes back to `pool` when the
    /// frame is dropped. Runs without the GIL.
    pub fn new(buf: FrameBuf, pool: &Arc<BufPool>) -> PyResult<Frame> {
        let Some(geometry) = buf.geometry() else {
            return Err(ProtocolError::new_err(
                "the reader returned a frame without geometry",
            ));
        };
        let metadata = buf.metadata().map_err(|error| read_error(&error))?;
        let depth_converted = buf.depth().and_then(|bytes| {
            // SAFETY: every bit pattern is a valid u16; align_to only reinterprets the aligned
            // middle of the slice.
            let (head, _, tail) = unsafe { bytes.align_to::<u16>() };
            let in_place = cfg!(target_endian = "little") && head.is_empty() && tail.is_empty();
            (!in_place).then(|| {
                bytes
                    .chunks_exact(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                    .collect()
            })
        });
        Ok(Frame {
            buf,
            pool: Arc::downgrade(pool),
            geometry,
            metadata,
            depth_converted,
        })
    }

    fn shape(&self) -> (usize, usize) {
        (self.geometry.height as usize, self.geometry.width as usize)
    }

    /// The depth plane in depth units, `None` without depth.
    fn depth_units(&self) -> Option<&[u16]> {
        if let Some(converted) = &self.depth_converted {
            return Some(converted);
        }
        let bytes = self.buf.depth()?;
        // SAFETY: every bit pattern is a valid u16. `new` checked that the whole plane is
        // aligned (else `depth_converted` is set) and that the machine is little-endian, the
        // protocol's byte order.
        let (_, middle, _) = unsafe { bytes.align_to::<u16>() };
        Some(middle)
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        // No array views the buffer any more: each held the frame alive.
        if let Some(pool) = self.pool.upgrade() {
            pool.give_back(std::mem::take(&mut self.buf));
        }
    }
}

#[pymethods]
impl Frame {
    /// Colour, H x W x 3 `uint8` (red, green, blue).
    #[getter]
    fn rgb<'py>(this: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let frame = this.get();
        let (height, width) = frame.shape();
        let view = ArrayView3::from_shape((height, width, 3), frame.buf.rgb())
            .map_err(|error| ProtocolError::new_err(format!("colour plane: {error}")))?;
        // SAFETY: the array views the frame's own colour buffer and holds the frame (its base
        // object) alive; the frame is frozen and its buffer never written or reallocated.
        Ok(unsafe { PyArray3::borrow_from_array(&view, this.clone().into_any()) })
    }

    /// Depth, H x W `uint16` in depth units (`metadata["depth_scale_m"]` metres each, 0: no
    /// measurement), or `None` for a colour-only source.
    #[getter]
    fn depth<'py>(this: Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyArray2<u16>>>> {
        let frame = this.get();
        let Some(units) = frame.depth_units() else {
            return Ok(None);
        };
        let view = ArrayView2::from_shape(frame.shape(), units)
            .map_err(|error| ProtocolError::new_err(format!("depth plane: {error}")))?;
        // SAFETY: as for `rgb`: the frame's own depth buffer, never changed, kept alive by
        // the array's base object.
        Ok(Some(unsafe {
            PyArray2::borrow_from_array(&view, this.clone().into_any())
        }))
    }

    /// Depth in metres, H x W `float32` (NaN where there is no measurement), or `None` for a
    /// colour-only source. A new array on each call, computed without the GIL.
    fn depth_m<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyArray2<f32>>>> {
        let (Some(units), Some(scale)) = (self.depth_units(), self.metadata.depth_scale_m) else {
            return Ok(None);
        };
        let shape = self.shape();
        let metres = py.detach(|| {
            let values = units
                .iter()
                .map(|&unit| {
                    if unit == 0 {
                        f32::NAN
                    } else {
                        f32::from(unit) * scale
                    }
                })
                .collect::<Vec<f32>>();
            Array2::from_shape_vec(shape, values)
        });
        let metres =
            metres.map_err(|error| ProtocolError::new_err(format!("depth plane: {error}")))?;
        Ok(Some(metres.into_pyarray(py)))
    }

    /// The 3D point (x right, y down, z forward, metres, in the colour camera's frame) seen at
    /// pixel (u, v), or `None` where depth has no measurement there, or the frame has no depth
    /// or no intrinsics.
    fn deproject(&self, u: f64, v: f64) -> PyResult<Option<(f32, f32, f32)>> {
        let (height, width) = self.shape();
        if !(u >= 0.0 && v >= 0.0 && u < width as f64 && v < height as f64) {
            return Err(PyValueError::new_err(format!(
                "pixel ({u}, {v}) is outside the {width}x{height} image"
            )));
        }
        let (Some(units), Some(scale), Some(intrinsics)) = (
            self.depth_units(),
            self.metadata.depth_scale_m,
            self.metadata.intrinsics.as_ref(),
        ) else {
            return Ok(None);
        };
        // In range: checked above, so the truncations land inside the image.
        let index = v as usize * width + u as usize;
        let Some(&unit) = units.get(index) else {
            return Ok(None);
        };
        if unit == 0 {
            return Ok(None);
        }
        let [x, y, z] = intrinsics.deproject([u as f32, v as f32], f32::from(unit) * scale);
        Ok(Some((x, y, z)))
    }

    /// Everything the daemon says about the frame besides its pixels (source, fps,
    /// intrinsics, depth scale, ground truth of the synthetic scene): its JSON as a dict.
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = std::str::from_utf8(self.buf.metadata_json())
            .map_err(|error| ProtocolError::new_err(format!("frame metadata: {error}")))?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// The source's frame counter.
    #[getter]
    fn frame_number(&self) -> u64 {
        self.buf.frame_number()
    }

    /// When the daemon published the frame, on `CLOCK_MONOTONIC` (see `aaa_camera.monotonic_ns`).
    #[getter]
    fn publish_mono_ns(&self) -> u64 {
        self.buf.publish_mono_ns()
    }

    /// When the frame was captured, on `CLOCK_MONOTONIC`.
    #[getter]
    fn capture_mono_ns(&self) -> u64 {
        self.buf.capture_mono_ns()
    }

    /// When the frame was captured, nanoseconds since the Unix epoch.
    #[getter]
    fn capture_wall_ns(&self) -> u64 {
        self.buf.header().capture_wall_ns
    }

    #[getter]
    fn width(&self) -> u32 {
        self.geometry.width
    }

    #[getter]
    fn height(&self) -> u32 {
        self.geometry.height
    }

    /// Checks the frame stamps the synthetic source draws into colour and depth (its first
    /// and last rows) against the frame number: raises `ProtocolError` if this frame is not
    /// exactly the synthetic frame it claims to be (torn, mixed or misplaced planes). Only
    /// for frames of `--source synthetic`.
    fn verify_synthetic(&self, py: Python<'_>) -> PyResult<()> {
        let depth = self.buf.depth().unwrap_or(&[]);
        py.detach(|| {
            camera_sources::synthetic::verify_frame(
                self.buf.rgb(),
                depth,
                &self.geometry,
                self.buf.frame_number(),
            )
        })
        .map_err(|error| ProtocolError::new_err(error.to_string()))
    }

    fn __repr__(&self) -> String {
        format!(
            "<aaa_camera.Frame {} {}x{}{}>",
            self.buf.frame_number(),
            self.geometry.width,
            self.geometry.height,
            if self.geometry.depth.is_some() {
                " rgb+depth"
            } else {
                " rgb"
            }
        )
    }
}
