//! The per-frame work of the GUI thread: turning a frame's planes into egui images.
//!
//! Benchmarked in `benches/frame_prep.rs`; keep it to one pass over each plane.

use egui::{Color32, ColorImage};

use crate::colormap::{turbo, DepthLut, DepthRange};
use crate::frame::Frame;

/// An egui image of a tightly packed RGB8 plane; `None` if the plane does not match the size.
pub fn color_image_from_rgb(size_px: [usize; 2], rgb: &[u8]) -> Option<ColorImage> {
    if rgb.len() != size_px[0] * size_px[1] * 3 {
        return None;
    }
    let pixels = rgb
        .chunks_exact(3)
        .map(|pixel| Color32::from_rgb(pixel[0], pixel[1], pixel[2]))
        .collect();
    Some(ColorImage::new(size_px, pixels))
}

/// An egui image of a depth plane coloured through `lut`; `None` if the plane does not match
/// the size.
pub fn depth_image(size_px: [usize; 2], depth_units: &[u16], lut: &DepthLut) -> Option<ColorImage> {
    if depth_units.len() != size_px[0] * size_px[1] {
        return None;
    }
    Some(ColorImage::new(size_px, lut.colorize(depth_units)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DepthRange;

    #[test]
    fn color_image_keeps_pixel_order() {
        let image = color_image_from_rgb([2, 1], &[1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(
            image.pixels,
            vec![Color32::from_rgb(1, 2, 3), Color32::from_rgb(4, 5, 6)]
        );
        assert!(color_image_from_rgb([2, 2], &[0; 6]).is_none());
    }

    #[test]
    fn depth_image_checks_its_size() {
        let lut = DepthLut::new(0.001, DepthRange::default());
        assert!(depth_image([2, 2], &[0; 3], &lut).is_none());
        assert_eq!(
            depth_image([1, 1], &[1000], &lut).unwrap().pixels,
            vec![lut.color(1000)]
        );
    }
}

/// The GPU textures of the shown frame, and the depth colouring table they were made with.
#[derive(Default)]
pub struct FrameTextures {
    color: Option<egui::TextureHandle>,
    depth: Option<egui::TextureHandle>,
    legend: Option<egui::TextureHandle>,
    lut: Option<DepthLut>,
}

/// Why a frame could not be turned into textures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frame {frame_number}: the {plane} plane does not match the size {width}x{height}")]
pub struct TextureError {
    pub frame_number: u64,
    pub plane: &'static str,
    pub width: u32,
    pub height: u32,
}

impl TextureError {
    fn of(frame: &Frame, plane: &'static str) -> Self {
        TextureError {
            frame_number: frame.frame_number,
            plane,
            width: frame.geometry.width,
            height: frame.geometry.height,
        }
    }
}

/// Depth scale assumed when a frame with depth does not say (RealSense's millimetres).
const FALLBACK_DEPTH_SCALE_M: f32 = 0.001;

impl FrameTextures {
    /// Uploads the colour and depth planes of `frame`; depth goes through the turbo colour map
    /// over `range`.
    pub fn upload(
        &mut self,
        ctx: &egui::Context,
        frame: &Frame,
        range: DepthRange,
    ) -> Result<(), TextureError> {
        let size_px = [
            frame.geometry.width as usize,
            frame.geometry.height as usize,
        ];
        let color = color_image_from_rgb(size_px, &frame.rgb)
            .ok_or_else(|| TextureError::of(frame, "colour"))?;
        set_texture(ctx, &mut self.color, "colour", color);
        self.upload_depth(ctx, frame, range)
    }

    /// Colours the depth plane of `frame` again (after a change of `range`).
    pub fn upload_depth(
        &mut self,
        ctx: &egui::Context,
        frame: &Frame,
        range: DepthRange,
    ) -> Result<(), TextureError> {
        let Some(depth_units) = &frame.depth_units else {
            self.depth = None;
            return Ok(());
        };
        let size_px = [
            frame.geometry.width as usize,
            frame.geometry.height as usize,
        ];
        let depth_scale_m = frame
            .metadata
            .depth_scale_m
            .unwrap_or(FALLBACK_DEPTH_SCALE_M);
        let lut = match self.lut.take() {
            Some(lut) if lut.is_for(depth_scale_m, range) => lut,
            _ => DepthLut::new(depth_scale_m, range),
        };
        let depth = depth_image(size_px, depth_units, &lut)
            .ok_or_else(|| TextureError::of(frame, "depth"))?;
        self.lut = Some(lut);
        set_texture(ctx, &mut self.depth, "depth", depth);
        if self.legend.is_none() {
            let gradient = (0..256).map(|i| turbo(i as f32 / 255.0)).collect();
            let legend = ColorImage::new([256, 1], gradient);
            self.legend =
                Some(ctx.load_texture("depth legend", legend, egui::TextureOptions::LINEAR));
        }
        Ok(())
    }

    pub fn color(&self) -> Option<&egui::TextureHandle> {
        self.color.as_ref()
    }

    /// The depth texture and the legend's colour bar, `None` for a colour-only frame.
    pub fn depth(&self) -> Option<(&egui::TextureHandle, &egui::TextureHandle)> {
        Some((self.depth.as_ref()?, self.legend.as_ref()?))
    }
}

fn set_texture(
    ctx: &egui::Context,
    slot: &mut Option<egui::TextureHandle>,
    name: &str,
    image: ColorImage,
) {
    match slot {
        Some(texture) if texture.size() == image.size => {
            texture.set(image, egui::TextureOptions::LINEAR)
        }
        _ => *slot = Some(ctx.load_texture(name, image, egui::TextureOptions::LINEAR)),
    }
}
