//! The per-frame work of the GUI thread: turning a frame's planes into egui images and handing
//! them to the renderer.
//!
//! Each image is written in place into a buffer the viewer keeps (`Arc<ColorImage>`): egui's
//! renderer holds a clone only until it uploaded the texture, so from the next frame on the
//! buffer is ours again and no frame allocates (allocating and faulting in fresh megabytes
//! each frame cost more than the conversion itself). Benchmarked in `benches/frame_prep.rs`.

use std::sync::Arc;

use egui::{Color32, ColorImage, TextureHandle, TextureOptions};

use crate::colormap::{turbo, DepthLut, DepthRange};
use crate::frame::Frame;

/// `image` as a writable image of `size_px`: the same buffer when nobody else holds it and the
/// size is right, else a new one.
fn writable(image: &mut Arc<ColorImage>, size_px: [usize; 2]) -> &mut ColorImage {
    let reusable = Arc::get_mut(image).is_some_and(|image| image.size == size_px);
    if !reusable {
        *image = Arc::new(ColorImage::filled(size_px, Color32::TRANSPARENT));
    }
    // Unique at this point, so this never clones.
    Arc::make_mut(image)
}

/// Writes a tightly packed RGB8 plane into `image`. False (nothing written) if the plane does
/// not match the size.
pub fn fill_color_image(image: &mut Arc<ColorImage>, size_px: [usize; 2], rgb: &[u8]) -> bool {
    if rgb.len() != size_px[0] * size_px[1] * 3 {
        return false;
    }
    let image = writable(image, size_px);
    for (pixel, rgb) in image.pixels.iter_mut().zip(rgb.chunks_exact(3)) {
        *pixel = Color32::from_rgb(rgb[0], rgb[1], rgb[2]);
    }
    true
}

/// Writes a depth plane coloured through `lut` into `image`. False (nothing written) if the
/// plane does not match the size.
pub fn fill_depth_image(
    image: &mut Arc<ColorImage>,
    size_px: [usize; 2],
    depth_units: &[u16],
    lut: &DepthLut,
) -> bool {
    if depth_units.len() != size_px[0] * size_px[1] {
        return false;
    }
    let image = writable(image, size_px);
    for (pixel, &units) in image.pixels.iter_mut().zip(depth_units) {
        *pixel = lut.color(units);
    }
    true
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

/// The textures of the shown frame, the buffers they are filled from, and the depth colouring
/// table.
#[derive(Default)]
pub struct FrameTextures {
    color: Option<TextureHandle>,
    depth: Option<TextureHandle>,
    legend: Option<TextureHandle>,
    color_image: Arc<ColorImage>,
    depth_image: Arc<ColorImage>,
    lut: Option<DepthLut>,
}

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
        if !fill_color_image(&mut self.color_image, size_px, &frame.rgb) {
            return Err(TextureError::of(frame, "colour"));
        }
        set_texture(ctx, &mut self.color, "colour", &self.color_image);
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
        let filled = fill_depth_image(&mut self.depth_image, size_px, depth_units, &lut);
        self.lut = Some(lut);
        if !filled {
            return Err(TextureError::of(frame, "depth"));
        }
        set_texture(ctx, &mut self.depth, "depth", &self.depth_image);
        if self.legend.is_none() {
            let gradient = (0..256).map(|i| turbo(i as f32 / 255.0)).collect();
            let legend = ColorImage::new([256, 1], gradient);
            self.legend = Some(ctx.load_texture("depth legend", legend, TextureOptions::LINEAR));
        }
        Ok(())
    }

    pub fn color(&self) -> Option<&TextureHandle> {
        self.color.as_ref()
    }

    /// The depth texture and the legend's colour bar, `None` for a colour-only frame.
    pub fn depth(&self) -> Option<(&TextureHandle, &TextureHandle)> {
        Some((self.depth.as_ref()?, self.legend.as_ref()?))
    }
}

/// Hands `image` to the renderer (which keeps a clone only until it uploaded it).
fn set_texture(
    ctx: &egui::Context,
    slot: &mut Option<TextureHandle>,
    name: &str,
    image: &Arc<ColorImage>,
) {
    match slot {
        Some(texture) if texture.size() == image.size => {
            texture.set(Arc::clone(image), TextureOptions::LINEAR)
        }
        _ => *slot = Some(ctx.load_texture(name, Arc::clone(image), TextureOptions::LINEAR)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_image_keeps_pixel_order_and_checks_its_size() {
        let mut image = Arc::default();
        assert!(fill_color_image(&mut image, [2, 1], &[1, 2, 3, 4, 5, 6]));
        assert_eq!(
            image.pixels,
            vec![Color32::from_rgb(1, 2, 3), Color32::from_rgb(4, 5, 6)]
        );
        assert!(!fill_color_image(&mut image, [2, 2], &[0; 6]));
    }

    #[test]
    fn buffers_are_reused_once_the_renderer_let_go() {
        let mut image = Arc::default();
        assert!(fill_color_image(&mut image, [2, 1], &[0; 6]));
        let buffer = image.pixels.as_ptr();
        assert!(fill_color_image(&mut image, [2, 1], &[9; 6]));
        assert_eq!(image.pixels.as_ptr(), buffer, "unique: written in place");

        let held_by_renderer = Arc::clone(&image);
        assert!(fill_color_image(&mut image, [2, 1], &[7; 6]));
        assert_eq!(
            held_by_renderer.pixels[0],
            Color32::from_rgb(9, 9, 9),
            "never written while shared"
        );
        assert_eq!(image.pixels[0], Color32::from_rgb(7, 7, 7));
    }

    #[test]
    fn egui_lets_go_of_the_buffers_once_its_output_is_painted() {
        let ctx = egui::Context::default();
        let mut textures = FrameTextures::default();
        let frame = crate::frame::test_frames::plane_frame(1, 8, 6, 1000);
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            assert!(textures
                .upload(ui.ctx(), &frame, DepthRange::default())
                .is_ok());
        });
        assert!(
            Arc::strong_count(&textures.color_image) > 1,
            "the output holds the image"
        );
        output.textures_delta.clear(); // What the renderer does once it uploaded them.
        assert_eq!(Arc::strong_count(&textures.color_image), 1);
        assert_eq!(Arc::strong_count(&textures.depth_image), 1);
    }

    #[test]
    fn depth_image_checks_its_size() {
        let lut = DepthLut::new(0.001, DepthRange::default());
        let mut image = Arc::default();
        assert!(!fill_depth_image(&mut image, [2, 2], &[0; 3], &lut));
        assert!(fill_depth_image(&mut image, [1, 1], &[1000], &lut));
        assert_eq!(image.pixels, vec![lut.color(1000)]);
    }
}
