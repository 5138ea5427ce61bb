//! The readout of the pixel under the pointer: colour, depth in metres and its 3D point.

use crate::frame::Frame;

/// What the frame says about one pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct HoverReadout {
    pub pixel: [u32; 2],
    pub rgb: Option<[u8; 3]>,
    /// `None` without depth or where nothing was measured.
    pub depth_m: Option<f32>,
    /// From the metadata's intrinsics; `None` without depth or intrinsics.
    pub point_in_camera: Option<[f32; 3]>,
    pub frame_has_depth: bool,
    pub depth_aligned_to_color: bool,
}

impl HoverReadout {
    pub fn of(frame: &Frame, pixel: [u32; 2]) -> Self {
        HoverReadout {
            pixel,
            rgb: frame.rgb_at(pixel),
            depth_m: frame.depth_m_at(pixel),
            point_in_camera: frame.point_in_camera_at(pixel),
            frame_has_depth: frame.depth_units.is_some(),
            depth_aligned_to_color: frame.metadata.depth_aligned_to_color,
        }
    }

    /// One line for the readout row.
    pub fn text(&self) -> String {
        let [x, y] = self.pixel;
        let mut text = format!("pixel ({x}, {y})");
        if let Some([r, g, b]) = self.rgb {
            text += &format!("   rgb ({r}, {g}, {b})");
        }
        match (self.frame_has_depth, self.depth_m) {
            (false, _) => text += "   no depth from this source",
            (true, None) => text += "   depth: no measurement",
            (true, Some(depth_m)) => text += &format!("   depth {depth_m:.3} m"),
        }
        if let Some([px, py, pz]) = self.point_in_camera {
            text += &format!("   point ({px:.3}, {py:.3}, {pz:.3}) m");
            if !self.depth_aligned_to_color {
                text += " (depth not aligned to colour)";
            }
        }
        text
    }
}

/// The readout row under the images.
pub fn hover_readout_ui(ui: &mut egui::Ui, readout: Option<&HoverReadout>) {
    match readout {
        Some(readout) => ui.label(egui::RichText::new(readout.text()).monospace()),
        None => ui.weak("Hover over an image for the depth and 3D point of a pixel"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::test_frames::plane_frame;

    #[test]
    fn readout_names_depth_and_point() {
        let frame = plane_frame(1, 64, 48, 2000);
        let readout = HoverReadout::of(&frame, [32, 24]);
        assert_eq!(readout.depth_m, Some(2.0));
        let text = readout.text();
        assert!(text.contains("depth 2.000 m"), "{text}");
        assert!(
            text.contains("point (0.000, 0.000, 2.000) m") || text.contains("point (0.0"),
            "{text}"
        );
    }
}
