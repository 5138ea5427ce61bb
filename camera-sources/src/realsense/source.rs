//! [`RealsenseSource`]: frames from the capture thread, controls from the sensors, behind the
//! [`Source`] trait. Opening it is `open.rs`.

use shmproto::control::{CommandError, ControlInfo};
use shmproto::Geometry;

use super::controls::SensorControls;
use super::worker::CaptureThread;
use crate::{CapturedFrame, Source, SourceError, SourceInfo};

/// A RealSense camera or recording, delivering RGB8 colour and Z16 depth aligned to colour.
///
/// librealsense's pipeline and align block run on a worker thread of their own (the align
/// block is not `Send`); frames reach [`Source::next_frame`] through a channel of one, and
/// their buffers travel back to the worker to be reused.
///
/// Controls are librealsense options of the colour and depth sensors, read and set from the
/// caller's thread through sensor handles of their own (`Sensor` is `Send`, and
/// librealsense's options are safe to use while another thread streams).
pub struct RealsenseSource {
    /// First, so that it is dropped first: dropping it stops and joins the capture thread,
    /// which releases the device, before the sensor handles go.
    pub(super) capture: CaptureThread,
    pub(super) geometry: Geometry,
    pub(super) info: SourceInfo,
    /// The device's colour and depth sensors, for their options.
    pub(super) controls: SensorControls,
}

impl std::fmt::Debug for RealsenseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealsenseSource")
            .field("geometry", &self.geometry)
            .field("info", &self.info)
            .field("ended", &self.capture.ended())
            .finish_non_exhaustive()
    }
}

impl Source for RealsenseSource {
    fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn info(&self) -> SourceInfo {
        self.info.clone()
    }

    fn next_frame(&mut self, frame: &mut CapturedFrame) -> Result<(), SourceError> {
        self.capture.next_frame(frame)
    }

    fn controls(&self) -> Vec<ControlInfo> {
        self.controls.list()
    }

    fn set_control(&mut self, name: &str, value: f64) -> Result<ControlInfo, CommandError> {
        self.controls.set(name, value)
    }
}
