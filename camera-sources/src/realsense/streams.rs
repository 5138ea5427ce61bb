//! What a started pipeline delivers: the colour stream's format, intrinsics and geometry (which
//! aligned depth shares), and the depth sensor's scale.

use realsense_rust::device::Device;
use realsense_rust::kind::{Rs2DistortionModel, Rs2Extension, Rs2Format, Rs2Option, Rs2StreamKind};
use realsense_rust::pipeline::PipelineProfile;
use shmproto::{DistortionModel, Geometry, Intrinsics};

use super::open_error;
use crate::SourceError;

/// Metres per depth unit of every RealSense D400 camera at its factory setting; used only
/// when neither the depth sensor nor the recording tells.
const FALLBACK_DEPTH_SCALE_M: f32 = 0.001;

/// The started colour stream: depth is aligned to it, so its size is the frames' size.
#[derive(Debug)]
pub(super) struct ColorStream {
    /// One of RGB8, BGR8, RGBA8, BGRA8 ([`copy_color`](super::planes::copy_color) reads them).
    pub format: Rs2Format,
    pub intrinsics: Intrinsics,
    pub geometry: Geometry,
}

impl ColorStream {
    /// The colour stream of a started pipeline; an error when there is none, or its format
    /// cannot be copied as RGB8, or its intrinsics cannot be read or make no usable geometry.
    pub(super) fn of_profile(profile: &PipelineProfile) -> Result<Self, SourceError> {
        let Some(color_profile) = profile
            .streams()
            .iter()
            .find(|stream| stream.kind() == Rs2StreamKind::Color)
        else {
            return Err(open_error("the pipeline started without a colour stream"));
        };
        let format = color_profile.format();
        if !matches!(
            format,
            Rs2Format::Rgb8 | Rs2Format::Bgr8 | Rs2Format::Rgba8 | Rs2Format::Bgra8
        ) {
            return Err(open_error(format!(
                "colour stream format {format:?} is not supported (RGB8, BGR8, RGBA8, BGRA8 are)"
            )));
        }
        let color_intrinsics = color_profile.intrinsics().map_err(|error| {
            open_error(format!(
                "cannot read the colour stream's intrinsics: {error}"
            ))
        })?;
        let distortion = color_intrinsics.distortion();
        let intrinsics = Intrinsics {
            width: color_intrinsics.width() as u32,
            height: color_intrinsics.height() as u32,
            fx: color_intrinsics.fx(),
            fy: color_intrinsics.fy(),
            ppx: color_intrinsics.ppx(),
            ppy: color_intrinsics.ppy(),
            model: distortion_model(distortion.model),
            coeffs: distortion.coeffs,
        };
        let geometry = Geometry::rgbd(intrinsics.width, intrinsics.height);
        geometry
            .validate()
            .map_err(|error| open_error(format!("the colour stream is unusable: {error}")))?;
        Ok(ColorStream {
            format,
            intrinsics,
            geometry,
        })
    }
}

fn distortion_model(model: Rs2DistortionModel) -> DistortionModel {
    match model {
        Rs2DistortionModel::None => DistortionModel::None,
        Rs2DistortionModel::BrownConrady => DistortionModel::BrownConrady,
        Rs2DistortionModel::BrownConradyModified => DistortionModel::ModifiedBrownConrady,
        Rs2DistortionModel::BrownConradyInverse => DistortionModel::InverseBrownConrady,
        Rs2DistortionModel::FThetaFisheye | Rs2DistortionModel::KannalaBrandt => {
            DistortionModel::Other
        }
    }
}

/// The depth sensor's `depth_units` option; 0.001 with a warning if no sensor has it.
pub(super) fn depth_scale_m(device: &Device) -> f32 {
    let sensors = device.sensors();
    let from_sensor = sensors
        .iter()
        .filter(|sensor| sensor.extension() == Rs2Extension::DepthSensor)
        .chain(sensors.iter())
        .find_map(|sensor| sensor.get_option(Rs2Option::DepthUnits))
        .filter(|scale| scale.is_finite() && *scale > 0.0);
    match from_sensor {
        Some(scale) => scale,
        None => {
            tracing::warn!(
                "the RealSense depth sensor reports no depth units; assuming {FALLBACK_DEPTH_SCALE_M} m"
            );
            FALLBACK_DEPTH_SCALE_M
        }
    }
}
