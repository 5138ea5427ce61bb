//! The colour image.

use egui::{TextureHandle, Vec2};

use super::{image_ui, ImageViewResponse};

/// Shows the colour texture scaled to fit `max_size`.
pub fn color_view_ui(
    ui: &mut egui::Ui,
    texture: &TextureHandle,
    size_px: [u32; 2],
    max_size: Vec2,
) -> ImageViewResponse {
    ui.vertical(|ui| {
        ui.label("Colour");
        image_ui(ui, texture.id(), size_px, max_size)
    })
    .inner
}
