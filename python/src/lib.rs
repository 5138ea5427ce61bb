//! `aaa_camera._native`: the Python package's extension module, a thin layer over
//! [`shmproto::Reader`] (frames), [`shmproto::DetectionsReader`] (the daemon's detections) and
//! [`shmproto::control::ControlClient`] (controls). Nothing of the protocol is implemented
//! here: every byte is read by shmproto, every message is shmproto's. The Python side
//! (`aaa_camera/__init__.py`) only re-exports.
//!
//! Blocking calls (waiting for a frame, copying it out of shared memory, the command socket)
//! run with the GIL released, so other Python threads run meanwhile. Arrays own their memory:
//! each frame is copied out of shared memory into buffers of its own, which its arrays view;
//! except inside a `with cam.wait_next_in_place()` block, whose read-only arrays view the
//! daemon's memory and are checked when the block ends (`in_place.rs`).

use pyo3::prelude::*;

mod camera;
mod errors;
mod frame;
mod in_place;

/// `CLOCK_MONOTONIC` now, in nanoseconds: the clock of `Frame.publish_mono_ns`, comparable
/// across processes (`time.monotonic_ns()` reads the same clock on Linux).
#[pyfunction]
fn monotonic_ns() -> u64 {
    shmproto::monotonic_now_ns()
}

#[pymodule]
#[pyo3(name = "_native")]
fn aaa_camera_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add_class::<camera::Camera>()?;
    module.add_class::<frame::Frame>()?;
    module.add_class::<in_place::InPlaceFrame>()?;
    module.add_function(wrap_pyfunction!(monotonic_ns, module)?)?;
    module.add("AaaCameraError", py.get_type::<errors::AaaCameraError>())?;
    module.add(
        "DaemonNotRunning",
        py.get_type::<errors::DaemonNotRunning>(),
    )?;
    module.add("DaemonGone", py.get_type::<errors::DaemonGone>())?;
    module.add("ProtocolError", py.get_type::<errors::ProtocolError>())?;
    module.add("ControlError", py.get_type::<errors::ControlError>())?;
    module.add(
        "FrameOverwritten",
        py.get_type::<errors::FrameOverwritten>(),
    )?;
    Ok(())
}
