//! `InPlaceFrame`: a frame held where it lies in shared memory for one `with` block
//! ([`shmproto::HeldFrame`]). Its arrays are read-only numpy views of the daemon's memory, not
//! copies; the frame is checked when the block ends and `FrameOverwritten` raised if the daemon
//! reused that memory meanwhile, so nothing computed from a mix of two frames passes silently.
//!
//! Arrays handed out keep the frame (and so the mappings) alive: using one after its block
//! never touches unmapped memory, but shows whatever the daemon wrote there since. The
//! documentation says to use them inside the block only, and the frame refuses to hand out
//! new ones after it.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use numpy::npyffi::{self, npy_intp, PY_ARRAY_API};
use numpy::{Element, PyArray2, PyArray3, PyArrayDescrMethods, PyUntypedArray};
use pyo3::prelude::*;
use shmproto::{FrameBuf, Geometry, HeldFrame, HeldPlane, ReadError};

use crate::errors::{read_error, AaaCameraError, FrameOverwritten, ProtocolError};
use crate::frame::{BufPool, Frame};

/// A frame of the daemon's, held where it lies in shared memory for one `with` block
/// (`Camera.wait_next_in_place`).
#[pyclass(frozen, module = "aaa_camera")]
pub struct InPlaceFrame {
    held: HeldFrame,
    /// For `copy()`: the camera's buffers.
    bufs: Arc<BufPool>,
    /// False once its `with` block ended: no new arrays, no new copies.
    open: AtomicBool,
}

impl InPlaceFrame {
    pub fn new(held: HeldFrame, bufs: Arc<BufPool>) -> InPlaceFrame {
        InPlaceFrame {
            held,
            bufs,
            open: AtomicBool::new(true),
        }
    }

    fn ensure_open(&self) -> PyResult<()> {
        // Relaxed: a flag of this object alone, set and read under the GIL.
        if self.open.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(AaaCameraError::new_err(
                "an in-place frame is readable only inside its with block (use wait_next() for \
                 a frame to keep, or copy() inside the block)",
            ))
        }
    }

    fn geometry(&self) -> Geometry {
        self.held.geometry()
    }

    /// The check at the end of the block (or on request), as a Python exception.
    fn checked(&self) -> PyResult<()> {
        self.held.check().map_err(|error| match error {
            ReadError::Overwritten { .. } => FrameOverwritten::new_err(error.to_string()),
            other => read_error(&other),
        })
    }
}

/// A read-only numpy array of `T` with `dims`, over `plane`'s bytes where they lie, whose base
/// object is `owner` (which keeps the mapping alive).
fn array_over<'py, T: Element>(
    owner: &Bound<'py, InPlaceFrame>,
    plane: HeldPlane,
    dims: &[usize],
) -> PyResult<Bound<'py, PyUntypedArray>> {
    let py = owner.py();
    let elements: usize = dims.iter().product();
    if elements.checked_mul(std::mem::size_of::<T>()) != Some(plane.len) {
        return Err(ProtocolError::new_err(format!(
            "a plane of {} bytes does not hold {dims:?} elements of {} bytes",
            plane.len,
            std::mem::size_of::<T>()
        )));
    }
    let mut dims = dims
        .iter()
        .map(|&dim| npy_intp::try_from(dim))
        .collect::<Result<Vec<npy_intp>, _>>()
        .map_err(|error| ProtocolError::new_err(format!("plane dimensions: {error}")))?;
    let descr = T::get_dtype(py).into_dtype_ptr();
    let ndim = dims.len() as std::ffi::c_int;
    // SAFETY: `descr` is a new reference that PyArray_NewFromDescr steals; `dims` holds `ndim`
    // dimensions whose product times the element size is exactly the plane's length (checked
    // above), and with null strides the array is C-contiguous over `[address, address + len)`,
    // which stays mapped while `owner` lives (it holds the mappings). Flags 0: not writeable
    // (the memory is the daemon's); numpy works out alignment and contiguity itself. The
    // bytes may change under the array: numpy reads them as plain memory, no Rust reference is
    // ever formed over them, and the block's check discards what was made of a changed frame.
    let array = unsafe {
        PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            npyffi::get_type_object(py, npyffi::NpyTypes::PyArray_Type),
            descr,
            ndim,
            dims.as_mut_ptr(),
            std::ptr::null_mut(),
            plane.address.as_ptr().cast::<c_void>(),
            0,
            std::ptr::null_mut(),
        )
    };
    if array.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `array` is a new, owned reference to an ndarray (checked non-null above).
    let array = unsafe { Bound::from_owned_ptr(py, array) };
    // SAFETY: `array` is a fresh ndarray without a base; SetBaseObject steals the reference
    // to `owner` made by `into_ptr`, so the array keeps the frame alive.
    let status = unsafe {
        PY_ARRAY_API.PyArray_SetBaseObject(
            py,
            array.as_ptr().cast::<npyffi::PyArrayObject>(),
            owner.clone().into_ptr(),
        )
    };
    if status != 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(array.cast_into::<PyUntypedArray>()?)
}

#[pymethods]
impl InPlaceFrame {
    /// Colour, H x W x 3 `uint8`: a read-only view of the daemon's memory.
    #[getter]
    fn rgb<'py>(this: Bound<'py, Self>) -> PyResult<Bound<'py, PyArray3<u8>>> {
        let frame = this.get();
        frame.ensure_open()?;
        let geometry = frame.geometry();
        let Some(plane) = frame.held.rgb() else {
            return Err(ProtocolError::new_err(
                "the colour plane lies outside its segment",
            ));
        };
        let dims = [geometry.height as usize, geometry.width as usize, 3];
        Ok(array_over::<u8>(&this, plane, &dims)?.cast_into::<PyArray3<u8>>()?)
    }

    /// Depth, H x W `uint16` in depth units (0: no measurement): a read-only view of the
    /// daemon's memory; `None` for a colour-only source.
    #[getter]
    fn depth<'py>(this: Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyArray2<u16>>>> {
        let frame = this.get();
        frame.ensure_open()?;
        let Some(plane) = frame.held.depth() else {
            return Ok(None);
        };
        if cfg!(target_endian = "big") {
            return Err(AaaCameraError::new_err(
                "in-place depth needs a little-endian machine (the protocol's byte order); \
                 use copy() or wait_next()",
            ));
        }
        let geometry = frame.geometry();
        let dims = [geometry.height as usize, geometry.width as usize];
        Ok(Some(
            array_over::<u16>(&this, plane, &dims)?.cast_into::<PyArray2<u16>>()?,
        ))
    }

    /// The frame's metadata JSON as a dict (copied out; like the arrays, trust it once the
    /// block ended without `FrameOverwritten`).
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.ensure_open()?;
        let metadata = self.held.metadata().map_err(|error| {
            // A parse error of a frame the daemon overwrote is the overwrite's fault.
            match self.checked() {
                Err(overwritten) => overwritten,
                Ok(()) => read_error(&error),
            }
        })?;
        let text = serde_json::to_string(&metadata)
            .map_err(|error| ProtocolError::new_err(format!("frame metadata: {error}")))?;
        py.import("json")?.call_method1("loads", (text,))
    }

    /// Copies the frame into a `Frame` of its own (arrays that own their memory), checked:
    /// `FrameOverwritten` if the daemon reused its memory first.
    fn copy(&self, py: Python<'_>) -> PyResult<Frame> {
        self.ensure_open()?;
        py.detach(|| {
            let mut buf: FrameBuf = self.bufs.take();
            if let Err(error) = self.held.copy_into(&mut buf) {
                self.bufs.give_back(buf);
                return Err(match error {
                    ReadError::Overwritten { .. } => FrameOverwritten::new_err(error.to_string()),
                    other => read_error(&other),
                });
            }
            Frame::new(buf, &self.bufs)
        })
    }

    /// Raises `FrameOverwritten` if the daemon has reused the frame's memory since it was
    /// taken (the arrays now show another frame, or a mix); returns None otherwise.
    fn check(&self) -> PyResult<()> {
        self.checked()
    }

    /// The source's frame counter.
    #[getter]
    fn frame_number(&self) -> u64 {
        self.held.header().frame_number
    }

    /// When the daemon published the frame, on `CLOCK_MONOTONIC`.
    #[getter]
    fn publish_mono_ns(&self) -> u64 {
        self.held.header().publish_mono_ns
    }

    /// When the frame was captured, on `CLOCK_MONOTONIC`.
    #[getter]
    fn capture_mono_ns(&self) -> u64 {
        self.held.header().capture_mono_ns
    }

    /// When the frame was captured, nanoseconds since the Unix epoch.
    #[getter]
    fn capture_wall_ns(&self) -> u64 {
        self.held.header().capture_wall_ns
    }

    #[getter]
    fn width(&self) -> u32 {
        self.geometry().width
    }

    #[getter]
    fn height(&self) -> u32 {
        self.geometry().height
    }

    fn __enter__(this: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        this.get().ensure_open()?;
        Ok(this)
    }

    /// Ends the block: no new arrays after it, and the check. An exception of the block goes
    /// on unchanged (never replaced by `FrameOverwritten`).
    fn __exit__(
        &self,
        exc_type: Option<Bound<'_, PyAny>>,
        _exc_value: Option<Bound<'_, PyAny>>,
        _traceback: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        // Relaxed: as in `ensure_open`.
        self.open.store(false, Ordering::Relaxed);
        if exc_type.is_none() {
            self.checked()?;
        }
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let geometry = self.geometry();
        format!(
            "<aaa_camera.InPlaceFrame {} {}x{}{}{}>",
            self.frame_number(),
            geometry.width,
            geometry.height,
            if geometry.depth.is_some() {
                " rgb+depth"
            } else {
                " rgb"
            },
            // Relaxed: as in `ensure_open`.
            if self.open.load(Ordering::Relaxed) {
                ""
            } else {
                " (closed)"
            }
        )
    }
}
