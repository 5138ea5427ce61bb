//! The 3D view: the shown frame's depth as a point cloud, turned with the mouse (drag: orbit;
//! right or middle drag, or Shift-drag: pan; scroll: zoom; double-click: reset), its settings
//! row (colours, point size, reset), and why it cannot draw when it cannot.

use std::sync::Arc;

use egui::{Color32, PointerButton, Rect, Sense, Stroke, StrokeKind, Vec2};
use shmproto::Detection;

use super::boxes::{box_style, caption_ui, BoxesDrawn, DrawnBox};
use crate::colormap::DepthRange;
use crate::frame::Frame;
use crate::view3d::camera::OrbitCamera;
use crate::view3d::deprojection::DeprojectionParams;
use crate::view3d::lines::{box_corners, Lines, MARKER_ARM_M};
use crate::view3d::pick::pick_pixel;
use crate::view3d::renderer::{CloudDraw, CloudRenderer, PointColors};

/// Room for the settings row above the view.
pub const SETTINGS_HEIGHT: f32 = 26.0;
const BACKGROUND: Color32 = Color32::from_gray(20);
const PROBLEM_COLOR: Color32 = Color32::from_rgb(220, 60, 60);
/// Point sizes offered, in points.
const POINT_SIZE_RANGE: std::ops::RangeInclusive<f32> = 1.0..=8.0;
const DEFAULT_POINT_SIZE: f32 = 2.0;

/// The 3D view's state: the camera, the settings, and the GPU side.
pub struct PointCloudView {
    pub camera: OrbitCamera,
    /// Where Reset (and a double-click) puts the camera: the launch view (`--orbit`).
    pub home: OrbitCamera,
    /// Side of a point, in points.
    pub point_size: f32,
    pub colors: PointColors,
    renderer: Arc<CloudRenderer>,
}

impl Default for PointCloudView {
    fn default() -> Self {
        PointCloudView::new(OrbitCamera::default())
    }
}

/// What the 3D view drew this pass.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PointCloudResponse {
    /// Where the point cloud was drawn, `None` when it could not be.
    pub rect: Option<Rect>,
    /// The pixel under the pointer (the frame's pixel whose point is drawn there).
    pub hovered_pixel: Option<[u32; 2]>,
}

/// What the frame lacks for a point cloud, in words; `None` when it has everything.
pub fn missing_for_3d(frame: &Frame, source: &str) -> Option<String> {
    if frame.depth_units.is_none() {
        return Some(format!(
            "The 3D view needs depth: the {source} delivers colour only. Switch to 2D to see its images."
        ));
    }
    if frame.metadata.intrinsics.is_none() {
        return Some(format!(
            "The 3D view needs the camera's intrinsics, and the {source} sends none."
        ));
    }
    if frame.metadata.depth_scale_m.is_none() {
        return Some(format!(
            "The 3D view needs the depth scale, and the {source} sends none."
        ));
    }
    None
}

impl PointCloudView {
    pub fn new(home: OrbitCamera) -> Self {
        PointCloudView {
            camera: home,
            home,
            point_size: DEFAULT_POINT_SIZE,
            colors: PointColors::default(),
            renderer: Arc::default(),
        }
    }

    pub fn renderer(&self) -> &Arc<CloudRenderer> {
        &self.renderer
    }

    /// The row over the view: colours, point size, reset.
    pub fn settings_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label("Colour:");
            ui.selectable_value(&mut self.colors, PointColors::Image, "Image")
                .on_hover_text("Each point in the colour of the aligned colour pixel");
            ui.selectable_value(&mut self.colors, PointColors::Depth, "Depth")
                .on_hover_text("Each point coloured by depth over the depth range");
            ui.separator();
            ui.add(
                egui::Slider::new(&mut self.point_size, POINT_SIZE_RANGE)
                    .text("Point size")
                    .step_by(0.5),
            );
            if ui
                .button("Reset view")
                .on_hover_text("Back to the launch view (double-click the view)")
                .clicked()
            {
                self.camera = self.home;
            }
            ui.weak("drag: orbit · right-drag or Shift-drag: pan · scroll: zoom");
        });
    }

    /// Draws `frame` as a point cloud filling `size`, with `lines` (grid, frustum, markers),
    /// and turns the camera as the mouse says. `source` names where the frame came from, for
    /// the message when the frame has no depth.
    pub fn view_ui(
        &mut self,
        ui: &mut egui::Ui,
        frame: &Arc<Frame>,
        source: &str,
        depth_range: DepthRange,
        lines: Lines,
        size: Vec2,
    ) -> PointCloudResponse {
        if let Some(missing) = missing_for_3d(frame, source) {
            ui.colored_label(PROBLEM_COLOR, missing);
            return PointCloudResponse::default();
        }
        if let Some(error) = self.renderer.error() {
            ui.colored_label(PROBLEM_COLOR, format!("The 3D view cannot draw: {error}"));
            return PointCloudResponse::default();
        }
        let (Some(intrinsics), Some(depth_scale_m)) =
            (frame.metadata.intrinsics, frame.metadata.depth_scale_m)
        else {
            return PointCloudResponse::default();
        };
        let (rect, response) =
            ui.allocate_exact_size(size.max(Vec2::splat(1.0)), Sense::click_and_drag());
        self.steer(ui, &response, rect);

        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, BACKGROUND);
        let draw = CloudDraw {
            frame: Arc::clone(frame),
            params: DeprojectionParams::new(&intrinsics, depth_scale_m),
            clip_from_world: self.camera.clip_from_world(rect.width() / rect.height()),
            point_size_px: self.point_size * ui.ctx().pixels_per_point(),
            colors: self.colors,
            depth_range,
            lines,
        };
        painter.add(self.renderer.paint_callback(rect, draw));
        let hovered_pixel = response
            .hover_pos()
            .and_then(|pointer| pick_pixel(frame, &self.camera, rect, pointer, self.point_size));
        PointCloudResponse {
            rect: Some(rect),
            hovered_pixel,
        }
    }

    /// Orbit, pan, zoom and reset from the pointer.
    fn steer(&mut self, ui: &egui::Ui, response: &egui::Response, rect: Rect) {
        let shift = ui.input(|input| input.modifiers.shift);
        let delta = response.drag_delta();
        if response.dragged_by(PointerButton::Secondary)
            || response.dragged_by(PointerButton::Middle)
            || (shift && response.dragged_by(PointerButton::Primary))
        {
            self.camera.pan_by_drag(delta, rect.height());
        } else if response.dragged_by(PointerButton::Primary) {
            self.camera.orbit_by_drag(delta);
        }
        if response.hovered() {
            let (scroll, zoom) =
                ui.input(|input| (input.smooth_scroll_delta.y, input.zoom_delta()));
            if scroll != 0.0 {
                self.camera.zoom_by_scroll(scroll);
            }
            if zoom != 1.0 {
                self.camera.zoom_by_factor(1.0 / zoom);
            }
        }
        if response.double_clicked() {
            self.camera = self.home;
        }
    }
}

/// Detections to mark in the 3D view (their lines are in the view's [`Lines`]).
pub struct MarkersIn3d<'a> {
    /// Where the point cloud was drawn.
    pub rect: Rect,
    pub camera: &'a OrbitCamera,
    pub detections: &'a [Detection],
    pub color: Color32,
    pub highlighted: Option<usize>,
}

/// The marker lines of `detections` in the colour they are drawn in (highlighted or not).
pub fn marker_lines(
    lines: &mut Lines,
    detections: &[Detection],
    color: Color32,
    highlighted: Option<usize>,
) {
    for (index, detection) in detections.iter().enumerate() {
        let (color, _) = box_style(color, highlighted == Some(index));
        let rgb = [color.r(), color.g(), color.b()].map(|channel| f32::from(channel) / 255.0);
        lines.add_marker(detection, rgb);
    }
}

/// Labels each marker with its caption (label, score, distance) over the marker's place on
/// screen, and finds the marker under the pointer. The "box" of a marker is the screen
/// rectangle around its 3D extent (or its cross, without one).
pub fn marker_labels_ui(ui: &egui::Ui, markers: &MarkersIn3d<'_>) -> BoxesDrawn {
    let painter = ui.painter_at(markers.rect);
    let pointer = ui
        .ctx()
        .pointer_hover_pos()
        .filter(|pos| markers.rect.contains(*pos));
    let mut drawn = BoxesDrawn::default();
    let mut hovered: Option<(usize, f32)> = None;
    for (index, detection) in markers.detections.iter().enumerate() {
        let Some(position) = &detection.position else {
            continue;
        };
        let corners = match position.extent_m {
            Some(extent) => box_corners(extent),
            None => box_corners([
                position.point_m.map(|v| v - MARKER_ARM_M),
                position.point_m.map(|v| v + MARKER_ARM_M),
            ]),
        };
        let projected: Vec<_> = corners
            .iter()
            .filter_map(|&corner| markers.camera.project(corner, markers.rect))
            .collect();
        if projected.len() != corners.len() {
            // Partly behind the eye: no place on screen to label.
            continue;
        }
        let box_rect = Rect::from_points(&projected);
        if !box_rect.is_finite() || !box_rect.intersects(markers.rect) {
            continue;
        }
        if pointer.is_some_and(|pos| box_rect.contains(pos)) {
            let area = box_rect.area();
            if hovered.is_none_or(|(_, smallest)| area < smallest) {
                hovered = Some((index, area));
            }
        }
        let (color, width) = box_style(markers.color, markers.highlighted == Some(index));
        if markers.highlighted == Some(index) {
            painter.rect_stroke(
                box_rect,
                0.0,
                Stroke::new(width, color),
                StrokeKind::Outside,
            );
        }
        let caption_rect = caption_ui(&painter, markers.rect, box_rect, detection, color);
        drawn.boxes.push(DrawnBox {
            box_rect,
            caption_rect,
        });
    }
    drawn.hovered = hovered.map(|(index, _)| index);
    drawn
}
