//! `sensor_msgs/msg/CameraInfo` and its `sensor_msgs/msg/RegionOfInterest`.

use crate::cdr::{CdrError, CdrReader, CdrWriter};
use crate::header::Header;

pub const SCHEMA_NAME: &str = "sensor_msgs/msg/CameraInfo";
pub const SCHEMA_TEXT: &str = "std_msgs/Header header
uint32 height
uint32 width
string distortion_model
float64[] d
float64[9] k
float64[9] r
float64[12] p
uint32 binning_x
uint32 binning_y
sensor_msgs/RegionOfInterest roi
================================================================================
MSG: std_msgs/Header
builtin_interfaces/Time stamp
string frame_id
================================================================================
MSG: builtin_interfaces/Time
int32 sec
uint32 nanosec
================================================================================
MSG: sensor_msgs/RegionOfInterest
uint32 x_offset
uint32 y_offset
uint32 height
uint32 width
bool do_rectify
";

/// A part of the image; all zeros means the whole image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegionOfInterest {
    pub x_offset: u32,
    pub y_offset: u32,
    pub height: u32,
    pub width: u32,
    pub do_rectify: bool,
}

/// A camera's calibration: intrinsics `k`, distortion `d`, rectification `r`, projection `p`
/// (row-major matrices).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CameraInfo {
    pub header: Header,
    pub height: u32,
    pub width: u32,
    /// `plumb_bob`, `rational_polynomial`, `equidistant`, ...
    pub distortion_model: String,
    pub d: Vec<f64>,
    pub k: [f64; 9],
    pub r: [f64; 9],
    pub p: [f64; 12],
    pub binning_x: u32,
    pub binning_y: u32,
    pub roi: RegionOfInterest,
}

impl CameraInfo {
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = CdrWriter::with_capacity(400);
        self.header.write(&mut writer);
        writer.write_u32(self.height);
        writer.write_u32(self.width);
        writer.write_string(&self.distortion_model);
        writer.write_f64_sequence(&self.d);
        writer.write_f64_array(&self.k);
        writer.write_f64_array(&self.r);
        writer.write_f64_array(&self.p);
        writer.write_u32(self.binning_x);
        writer.write_u32(self.binning_y);
        writer.write_u32(self.roi.x_offset);
        writer.write_u32(self.roi.y_offset);
        writer.write_u32(self.roi.height);
        writer.write_u32(self.roi.width);
        writer.write_bool(self.roi.do_rectify);
        writer.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CdrError> {
        let mut reader = CdrReader::new(bytes)?;
        Ok(CameraInfo {
            header: Header::read(&mut reader)?,
            height: reader.read_u32("height")?,
            width: reader.read_u32("width")?,
            distortion_model: reader.read_string("distortion_model")?,
            d: reader.read_f64_sequence("d")?,
            k: reader.read_f64_array("k")?,
            r: reader.read_f64_array("r")?,
            p: reader.read_f64_array("p")?,
            binning_x: reader.read_u32("binning_x")?,
            binning_y: reader.read_u32("binning_y")?,
            roi: RegionOfInterest {
                x_offset: reader.read_u32("roi.x_offset")?,
                y_offset: reader.read_u32("roi.y_offset")?,
                height: reader.read_u32("roi.height")?,
                width: reader.read_u32("roi.width")?,
                do_rectify: reader.read_bool("roi.do_rectify")?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Time;

    #[test]
    fn camera_info_round_trips() {
        let info = CameraInfo {
            header: Header {
                stamp: Time::from_unix_ns(3),
                frame_id: "x".into(),
            },
            height: 480,
            width: 640,
            distortion_model: "plumb_bob".into(),
            d: vec![0.1, 0.2, 0.0, 0.0, 0.3],
            k: [600.0, 0.0, 320.0, 0.0, 600.0, 240.0, 0.0, 0.0, 1.0],
            r: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            p: [
                600.0, 0.0, 320.0, 0.0, 0.0, 600.0, 240.0, 0.0, 0.0, 0.0, 1.0, 0.0,
            ],
            binning_x: 0,
            binning_y: 0,
            roi: RegionOfInterest {
                do_rectify: true,
                ..RegionOfInterest::default()
            },
        };
        let bytes = info.encode();
        assert_eq!(CameraInfo::decode(&bytes).unwrap(), info);
        for len in 0..bytes.len() {
            assert!(CameraInfo::decode(&bytes[..len]).is_err(), "{len} bytes");
        }
    }
}
