//! The RealSense devices librealsense lists: what they are, and which one a config names.

use std::collections::HashSet;

use realsense_rust::context::Context;
use realsense_rust::device::Device;
use realsense_rust::kind::Rs2CameraInfo;

use super::{open_error, RealsenseDeviceInfo, RealsenseInput};
use crate::SourceError;

/// A librealsense context, which lists devices and makes pipelines.
pub(super) fn new_context() -> Result<Context, SourceError> {
    Context::new()
        .map_err(|error| open_error(format!("cannot create a librealsense context: {error}")))
}

/// One of the device's info strings (name, serial, ...); empty when it has none.
pub(super) fn device_info_string(device: &Device, what: Rs2CameraInfo) -> String {
    device
        .info(what)
        .map(|value| value.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The devices connected now, for [`list_realsense_devices`](super::list_realsense_devices).
pub(super) fn list_devices() -> Result<Vec<RealsenseDeviceInfo>, SourceError> {
    let context = new_context()?;
    Ok(context
        .query_devices(HashSet::new())
        .iter()
        .enumerate()
        .map(|(index, device)| RealsenseDeviceInfo {
            index,
            name: device_info_string(device, Rs2CameraInfo::Name),
            serial: device_info_string(device, Rs2CameraInfo::SerialNumber),
            firmware_version: device_info_string(device, Rs2CameraInfo::FirmwareVersion),
        })
        .collect())
}

/// The serial number of the connected device that `input` names (by serial, by index, or the
/// first); an error listing what is connected when there is no such device. A recording names
/// no device: it is read as [`RealsenseInput::FirstDevice`].
pub(super) fn chosen_device_serial(
    context: &Context,
    input: &RealsenseInput,
) -> Result<String, SourceError> {
    let devices = context.query_devices(HashSet::new());
    let chosen = match input {
        RealsenseInput::Serial(serial) => devices
            .iter()
            .find(|device| device_info_string(device, Rs2CameraInfo::SerialNumber) == *serial),
        RealsenseInput::Index(index) => devices.get(*index),
        _ => devices.first(),
    };
    let Some(device) = chosen else {
        let wanted = match input {
            RealsenseInput::Serial(serial) => format!(" with serial {serial}"),
            RealsenseInput::Index(index) => format!(" at index {index}"),
            _ => String::new(),
        };
        return Err(open_error(format!(
            "no RealSense device found{wanted} ({})",
            describe_devices(&devices)
        )));
    };
    Ok(device_info_string(device, Rs2CameraInfo::SerialNumber))
}

/// `2 devices connected: #0 <name> serial <serial>, #1 ...`, for error messages.
fn describe_devices(devices: &[Device]) -> String {
    let names: Vec<String> = devices
        .iter()
        .enumerate()
        .map(|(index, device)| {
            format!(
                "#{index} {} serial {}",
                device_info_string(device, Rs2CameraInfo::Name),
                device_info_string(device, Rs2CameraInfo::SerialNumber)
            )
        })
        .collect();
    match names.len() {
        0 => "0 devices connected".to_owned(),
        1 => format!("1 device connected: {}", names.join(", ")),
        n => format!("{n} devices connected: {}", names.join(", ")),
    }
}
