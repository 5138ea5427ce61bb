//! The frame on screen: the one shown (or frozen), its textures and depth colouring, and what
//! the last pass drew of it (where the images went, the hovered pixel).

use std::sync::Arc;

use egui::{Rect, Vec2};

use crate::colormap::DepthRange;
use crate::feed::Origin;
use crate::frame::{Frame, FrozenFrame};
use crate::texture::{FrameTextures, TextureError};
use crate::view::color::color_view_ui;
use crate::view::depth::{depth_view_ui, LEGEND_HEIGHT};
use crate::view::hover::{hover_readout_ui, HoverReadout};
use crate::view::point_cloud::{PointCloudView, SETTINGS_HEIGHT};
use crate::view::status_bar::LatencyKind;
use crate::view::ViewMode;
use crate::view3d::lines::Lines;

/// Room for the "Colour"/"Depth" captions above the images.
const CAPTION_HEIGHT: f32 = 20.0;
/// Room for the hover readout under the images.
const READOUT_HEIGHT: f32 = 24.0;

/// Where the images were drawn in the last pass (tests hover pixels through it).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ImageRects {
    pub color: Option<Rect>,
    pub depth: Option<Rect>,
    /// The 3D view's point cloud.
    pub cloud: Option<Rect>,
}

/// The frame on screen and where it came from.
pub(super) struct ShownFrame {
    pub(super) frame: Arc<Frame>,
    pub(super) origin: Origin,
    /// From publish (or capture) to the moment it was put on screen, ms.
    pub(super) latency: Option<(f32, LatencyKind)>,
}

/// The shown frame, the frozen one, and their textures.
#[derive(Default)]
pub(super) struct FrameDisplay {
    /// Once a frame was shown there always is one: the last frame stays up when its feed goes.
    shown: Option<ShownFrame>,
    frozen: Option<FrozenFrame>,
    textures: FrameTextures,
    /// The shown frame is not in the 2D textures yet (it came while the 3D view was up).
    textures_stale: bool,
    view_mode: ViewMode,
    cloud: PointCloudView,
    depth_range: DepthRange,
    /// Range the depth texture was coloured with.
    textured_range: DepthRange,
    /// Frames put on screen.
    displayed: u64,
    hover: Option<HoverReadout>,
    image_rects: ImageRects,
}

impl FrameDisplay {
    pub(super) fn shown(&self) -> Option<&ShownFrame> {
        self.shown.as_ref()
    }

    /// Number of the frame on screen (the frozen one while frozen).
    pub(super) fn frame_number(&self) -> Option<u64> {
        self.shown.as_ref().map(|shown| shown.frame.frame_number)
    }

    pub(super) fn frozen(&self) -> Option<&FrozenFrame> {
        self.frozen.as_ref()
    }

    pub(super) fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    pub(super) fn displayed(&self) -> u64 {
        self.displayed
    }

    pub(super) fn image_rects(&self) -> ImageRects {
        self.image_rects
    }

    pub(super) fn hover_readout(&self) -> Option<&HoverReadout> {
        self.hover.as_ref()
    }

    /// True while a frame with depth is on screen (the toolbar then offers the depth range).
    pub(super) fn has_depth(&self) -> bool {
        self.shown
            .as_ref()
            .is_some_and(|shown| shown.frame.depth_units.is_some())
    }

    pub(super) fn view_mode_mut(&mut self) -> &mut ViewMode {
        &mut self.view_mode
    }

    pub(super) fn view_mode(&self) -> ViewMode {
        self.view_mode
    }

    pub(super) fn cloud(&self) -> &PointCloudView {
        &self.cloud
    }

    pub(super) fn cloud_mut(&mut self) -> &mut PointCloudView {
        &mut self.cloud
    }

    /// The range depth is coloured over; the toolbar edits it.
    pub(super) fn depth_range_mut(&mut self) -> &mut DepthRange {
        &mut self.depth_range
    }

    /// Freezes the shown frame, or unfreezes (the newest frame is shown at the next pass).
    pub(super) fn toggle_freeze(&mut self, ctx: &egui::Context) {
        if self.frozen.take().is_some() {
            tracing::debug!("unfrozen");
            ctx.request_repaint();
        } else if let Some(shown) = &self.shown {
            tracing::debug!("frozen at frame {}", shown.frame.frame_number);
            self.frozen = Some(FrozenFrame::new(Arc::clone(&shown.frame)));
        }
    }

    /// Puts `frame` on screen. Returns the daemon's publish-to-display latency in ms, for the
    /// health plot (`None` for frames from other feeds).
    pub(super) fn show(
        &mut self,
        ctx: &egui::Context,
        frame: Arc<Frame>,
        origin: Origin,
    ) -> Result<Option<f64>, TextureError> {
        tracing::trace!("showing frame {} from the {origin}", frame.frame_number);
        // The 3D view takes the planes as they are (on the GPU): the 2D textures wait until
        // the images are shown again.
        if self.view_mode == ViewMode::Images {
            self.textures.upload(ctx, &frame, self.depth_range)?;
            self.textured_range = self.depth_range;
            self.textures_stale = false;
        } else {
            self.textures_stale = true;
        }
        let now_ns = shmproto::monotonic_now_ns();
        let publish_latency_ms = match (origin, frame.publish_mono_ns) {
            (Origin::Daemon, Some(publish_ns)) => {
                Some(now_ns.saturating_sub(publish_ns) as f64 / 1e6)
            }
            _ => None,
        };
        let latency = match frame.publish_mono_ns {
            Some(publish_ns) => (publish_ns, LatencyKind::PublishToDisplay),
            None => (
                frame.metadata.capture_mono_ns,
                LatencyKind::CaptureToDisplay,
            ),
        };
        let latency = (latency.0 != 0).then(|| {
            let latency_ms = now_ns.saturating_sub(latency.0) as f32 / 1e6;
            (latency_ms, latency.1)
        });
        self.displayed += 1;
        self.shown = Some(ShownFrame {
            frame,
            origin,
            latency,
        });
        Ok(publish_latency_ms)
    }

    /// Brings the 2D textures up to date while the images are shown: the whole frame if it
    /// came while the 3D view was up, else the depth colours if the range changed.
    pub(super) fn refresh_textures(&mut self, ctx: &egui::Context) -> Result<(), TextureError> {
        if self.view_mode != ViewMode::Images {
            return Ok(());
        }
        let Some(shown) = &self.shown else {
            return Ok(());
        };
        if self.textures_stale {
            self.textures_stale = false;
            self.textured_range = self.depth_range;
            return self.textures.upload(ctx, &shown.frame, self.depth_range);
        }
        if self.depth_range == self.textured_range {
            return Ok(());
        }
        self.textured_range = self.depth_range;
        self.textures
            .upload_depth(ctx, &shown.frame, self.depth_range)
    }

    /// Draws the shown frame as the view mode says, with the readout of the hovered pixel
    /// under it; `lines` are the 3D view's extra drawings (markers).
    pub(super) fn frames_ui(&mut self, ui: &mut egui::Ui, lines: Lines) {
        self.hover = None;
        self.image_rects = ImageRects::default();
        match self.view_mode {
            ViewMode::Images => self.images_ui(ui),
            ViewMode::PointCloud => self.cloud_ui(ui, lines),
        }
    }

    /// The point cloud as large as fits, its settings over it.
    fn cloud_ui(&mut self, ui: &mut egui::Ui, mut lines: Lines) {
        let Some(shown) = &self.shown else {
            return;
        };
        let frame = Arc::clone(&shown.frame);
        let source = shown.origin.to_string();
        self.cloud.settings_ui(ui);
        let size = ui.available_size() - Vec2::new(0.0, READOUT_HEIGHT.max(SETTINGS_HEIGHT - 2.0));
        lines.add_grid();
        if let Some(intrinsics) = &frame.metadata.intrinsics {
            lines.add_camera(intrinsics);
        }
        let response = self
            .cloud
            .view_ui(ui, &frame, &source, self.depth_range, lines, size);
        self.image_rects.cloud = response.rect;
        if response.rect.is_some() {
            self.hover = response
                .hovered_pixel
                .map(|pixel| HoverReadout::of(&frame, pixel));
            hover_readout_ui(ui, self.hover.as_ref());
        }
    }

    /// The colour and depth images side by side (colour alone when there is no depth), each as
    /// large as fits.
    fn images_ui(&mut self, ui: &mut egui::Ui) {
        let Some(shown) = &self.shown else {
            return;
        };
        let frame = Arc::clone(&shown.frame);
        let size_px = [frame.geometry.width, frame.geometry.height];
        let available = ui.available_size() - Vec2::new(0.0, READOUT_HEIGHT);
        let spacing = ui.spacing().item_spacing.x;
        let Some(color) = self.textures.color() else {
            return;
        };
        let hovered = if let Some((depth, legend)) = self.textures.depth() {
            let image_max = Vec2::new(
                (available.x - spacing) / 2.0,
                available.y - CAPTION_HEIGHT - LEGEND_HEIGHT,
            );
            let (color_view, depth_view) = ui
                .horizontal_top(|ui| {
                    let color_view = color_view_ui(ui, color, size_px, image_max);
                    let depth_max = image_max + Vec2::new(0.0, LEGEND_HEIGHT);
                    let depth_view =
                        depth_view_ui(ui, depth, legend, size_px, self.depth_range, depth_max);
                    (color_view, depth_view)
                })
                .inner;
            self.image_rects = ImageRects {
                color: Some(color_view.rect),
                depth: Some(depth_view.rect),
                cloud: None,
            };
            color_view.hovered_pixel.or(depth_view.hovered_pixel)
        } else {
            let image_max = available - Vec2::new(0.0, CAPTION_HEIGHT);
            let color_view = color_view_ui(ui, color, size_px, image_max);
            self.image_rects.color = Some(color_view.rect);
            color_view.hovered_pixel
        };
        self.hover = hovered.map(|pixel| HoverReadout::of(&frame, pixel));
        hover_readout_ui(ui, self.hover.as_ref());
    }
}
