//! The panels of the window, one file each; each draws from plain data and reports what the
//! user did.

pub mod boxes;
pub mod color;
pub mod controls;
pub mod depth;
pub mod detection;
pub mod health;
pub mod hover;
pub mod no_source;
pub mod point_cloud;
pub mod status_bar;
pub mod toolbar;

use egui::{Color32, Pos2, Rect, Sense, TextureId, Vec2};

/// How the central panel shows the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewMode {
    /// Colour and depth images side by side.
    #[default]
    Images,
    /// The depth as a coloured point cloud, turned with the mouse.
    PointCloud,
}

/// `--view`: `2d` or `3d`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 2d or 3d, got {0:?}")]
pub struct ViewModeParseError(String);

impl std::str::FromStr for ViewMode {
    type Err = ViewModeParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "2d" => Ok(ViewMode::Images),
            "3d" => Ok(ViewMode::PointCloud),
            _ => Err(ViewModeParseError(text.to_owned())),
        }
    }
}

/// The largest size of an image of `size_px` that fits `available`, same aspect ratio.
pub fn fit_size(size_px: [u32; 2], available: Vec2) -> Vec2 {
    let image = Vec2::new(size_px[0].max(1) as f32, size_px[1].max(1) as f32);
    let scale = (available.x / image.x).min(available.y / image.y).max(0.0);
    image * scale
}

/// The pixel of an image of `size_px` drawn in `rect` that lies under `pos`.
pub fn pixel_at(rect: Rect, size_px: [u32; 2], pos: Pos2) -> Option<[u32; 2]> {
    if !rect.contains(pos) || rect.width() <= 0.0 || rect.height() <= 0.0 {
        return None;
    }
    let u = (pos.x - rect.min.x) / rect.width() * size_px[0] as f32;
    let v = (pos.y - rect.min.y) / rect.height() * size_px[1] as f32;
    // `contains` includes the far edges; clamp them onto the last pixel.
    let x = (u.floor() as u32).min(size_px[0].saturating_sub(1));
    let y = (v.floor() as u32).min(size_px[1].saturating_sub(1));
    Some([x, y])
}

/// Where the centre of `pixel` is drawn when the image is in `rect`.
pub fn pixel_centre_in(rect: Rect, size_px: [u32; 2], pixel: [u32; 2]) -> Pos2 {
    Pos2::new(
        rect.min.x + (pixel[0] as f32 + 0.5) / size_px[0].max(1) as f32 * rect.width(),
        rect.min.y + (pixel[1] as f32 + 0.5) / size_px[1].max(1) as f32 * rect.height(),
    )
}

/// An image drawn to fit `max_size`; reports where it was drawn and the pixel hovered.
pub struct ImageViewResponse {
    pub rect: Rect,
    pub hovered_pixel: Option<[u32; 2]>,
}

/// Draws a texture of `size_px` scaled to fit `max_size` with its aspect ratio.
pub fn image_ui(
    ui: &mut egui::Ui,
    texture: TextureId,
    size_px: [u32; 2],
    max_size: Vec2,
) -> ImageViewResponse {
    let (rect, response) = ui.allocate_exact_size(fit_size(size_px, max_size), Sense::hover());
    let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
    ui.painter().image(texture, rect, uv, Color32::WHITE);
    let hovered_pixel = response
        .hover_pos()
        .and_then(|pos| pixel_at(rect, size_px, pos));
    ImageViewResponse {
        rect,
        hovered_pixel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_modes_parse_from_the_command_line() {
        assert_eq!("2d".parse(), Ok(ViewMode::Images));
        assert_eq!("3D".parse(), Ok(ViewMode::PointCloud));
        assert!("4d".parse::<ViewMode>().is_err());
    }

    #[test]
    fn fit_keeps_the_aspect_ratio() {
        assert_eq!(
            fit_size([640, 480], Vec2::new(320.0, 1000.0)),
            Vec2::new(320.0, 240.0)
        );
        assert_eq!(
            fit_size([640, 480], Vec2::new(1000.0, 240.0)),
            Vec2::new(320.0, 240.0)
        );
    }

    #[test]
    fn pixel_lookup_inverts_pixel_centres() {
        let rect = Rect::from_min_size(Pos2::new(10.0, 20.0), Vec2::new(320.0, 240.0));
        for pixel in [[0, 0], [639, 479], [123, 456]] {
            let centre = pixel_centre_in(rect, [640, 480], pixel);
            assert_eq!(pixel_at(rect, [640, 480], centre), Some(pixel));
        }
        assert_eq!(pixel_at(rect, [640, 480], Pos2::new(0.0, 0.0)), None);
        assert_eq!(pixel_at(rect, [640, 480], rect.max), Some([639, 479]));
    }
}
