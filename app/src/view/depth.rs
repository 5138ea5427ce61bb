//! The depth image through the turbo colour map, with its legend in metres.

use egui::{Align2, Color32, FontId, Pos2, Rect, Sense, TextureHandle, Vec2};

use super::{image_ui, ImageViewResponse};
use crate::colormap::DepthRange;

/// Height of the legend under the depth image: the colour bar and its labels.
pub const LEGEND_HEIGHT: f32 = 34.0;
const BAR_HEIGHT: f32 = 12.0;

/// Shows the coloured depth texture scaled to fit `max_size` (legend included).
pub fn depth_view_ui(
    ui: &mut egui::Ui,
    texture: &TextureHandle,
    legend: &TextureHandle,
    size_px: [u32; 2],
    range: DepthRange,
    max_size: Vec2,
) -> ImageViewResponse {
    ui.vertical(|ui| {
        ui.label("Depth");
        let image_max = Vec2::new(max_size.x, (max_size.y - LEGEND_HEIGHT).max(0.0));
        let response = image_ui(ui, texture.id(), size_px, image_max);
        depth_legend_ui(ui, legend, range, response.rect.width());
        response
    })
    .inner
}

/// The colour bar from `range.near_m` to `range.far_m` with ticks labelled in metres.
pub fn depth_legend_ui(ui: &mut egui::Ui, legend: &TextureHandle, range: DepthRange, width: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(width, LEGEND_HEIGHT), Sense::hover());
    let bar = Rect::from_min_size(rect.min, Vec2::new(width, BAR_HEIGHT));
    let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
    let painter = ui.painter();
    painter.image(legend.id(), bar, uv, Color32::WHITE);
    let text_color = ui.visuals().text_color();
    let font = FontId::proportional(11.0);
    let ticks = 5;
    for tick in 0..ticks {
        let t = tick as f32 / (ticks - 1) as f32;
        let x = bar.min.x + t * bar.width();
        painter.line_segment(
            [Pos2::new(x, bar.max.y), Pos2::new(x, bar.max.y + 4.0)],
            (1.0, text_color),
        );
        let anchor = match tick {
            0 => Align2::LEFT_TOP,
            t if t == ticks - 1 => Align2::RIGHT_TOP,
            _ => Align2::CENTER_TOP,
        };
        painter.text(
            Pos2::new(x, bar.max.y + 5.0),
            anchor,
            format!("{:.2} m", range.depth_m_at(t)),
            font.clone(),
            text_color,
        );
    }
}
