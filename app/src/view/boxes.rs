//! Detection boxes over an image: where a box in image pixels lands on screen, and drawing the
//! boxes with their label, score and distance.

use egui::{Color32, FontId, Pos2, Rect, Stroke, StrokeKind, Vec2};
use shmproto::Detection;

/// The colour of the app's detector's boxes: magenta, which neither the synthetic scene nor
/// the depth colour map (turbo) contains, so boxes stand out (and tests can find them).
pub const APP_BOX_COLOR: Color32 = Color32::from_rgb(255, 0, 255);
/// The daemon's detections: cyan.
pub const DAEMON_BOX_COLOR: Color32 = Color32::from_rgb(0, 255, 255);
/// A box hovered here or in the list.
pub const HIGHLIGHT_COLOR: Color32 = Color32::from_rgb(255, 230, 0);

const BOX_WIDTH: f32 = 2.0;
const HIGHLIGHT_WIDTH: f32 = 4.0;

/// Where the box `box_px` (continuous image coordinates: 0 is the image's left or top edge,
/// `width` or `height` its right or bottom edge) lands when an image of `size_px` is drawn
/// in `image_rect`. Not clipped: a box reaching out of the image reaches out of the rect.
pub fn box_rect_in(image_rect: Rect, size_px: [u32; 2], box_px: [f32; 4]) -> Rect {
    let scale = Vec2::new(
        image_rect.width() / size_px[0].max(1) as f32,
        image_rect.height() / size_px[1].max(1) as f32,
    );
    let [x1, y1, x2, y2] = box_px;
    Rect::from_two_pos(
        image_rect.min + Vec2::new(x1 * scale.x, y1 * scale.y),
        image_rect.min + Vec2::new(x2 * scale.x, y2 * scale.y),
    )
}

/// The text on a box: label, score and distance (or that there is none).
pub fn box_caption(detection: &Detection) -> String {
    let mut caption = format!("{} {:.2}", detection.label, detection.score);
    if let Some(position) = &detection.position {
        caption += &format!(" {:.2} m", position.distance_m);
    }
    caption
}

/// The boxes to draw over one image.
pub struct BoxesOverImage<'a> {
    pub image_rect: Rect,
    pub size_px: [u32; 2],
    pub detections: &'a [Detection],
    pub color: Color32,
    /// The detection to draw highlighted.
    pub highlighted: Option<usize>,
}

/// One box as drawn: the box and its caption, in points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawnBox {
    pub box_rect: Rect,
    pub caption_rect: Rect,
}

/// What [`detection_boxes_ui`] drew.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoxesDrawn {
    /// The detection under the pointer, the smallest box if boxes overlap there.
    pub hovered: Option<usize>,
    /// In the order of the detections (those whose box is not finite are left out).
    pub boxes: Vec<DrawnBox>,
}

/// Where a caption of `size` goes: on top of the box's top edge, or just inside the box when
/// there is no room above it in the image.
fn caption_rect(image_rect: Rect, box_rect: Rect, size: Vec2) -> Rect {
    let left = box_rect.min.x.max(image_rect.min.x);
    let top = if box_rect.min.y - size.y >= image_rect.min.y {
        box_rect.min.y - size.y
    } else {
        box_rect.min.y.max(image_rect.min.y)
    };
    Rect::from_min_size(Pos2::new(left, top), size)
}

/// The colour and stroke width of a box, highlighted or not.
pub fn box_style(color: Color32, highlighted: bool) -> (Color32, f32) {
    if highlighted {
        (HIGHLIGHT_COLOR, HIGHLIGHT_WIDTH)
    } else {
        (color, BOX_WIDTH)
    }
}

/// Draws a box's caption (label, score, distance) on `color` over `box_rect`; returns where.
pub fn caption_ui(
    painter: &egui::Painter,
    image_rect: Rect,
    box_rect: Rect,
    detection: &Detection,
    color: Color32,
) -> Rect {
    let galley = painter.layout_no_wrap(
        box_caption(detection),
        FontId::proportional(12.0),
        Color32::BLACK,
    );
    let caption = caption_rect(image_rect, box_rect, galley.size() + Vec2::new(4.0, 0.0));
    painter.rect_filled(caption, 0.0, color);
    painter.galley(
        caption.left_top() + Vec2::new(2.0, 0.0),
        galley,
        Color32::BLACK,
    );
    caption
}

/// Draws the boxes and their captions (clipped to the image).
pub fn detection_boxes_ui(ui: &egui::Ui, boxes: &BoxesOverImage<'_>) -> BoxesDrawn {
    let painter = ui.painter_at(boxes.image_rect);
    let pointer = ui
        .ctx()
        .pointer_hover_pos()
        .filter(|pos| boxes.image_rect.contains(*pos));
    let mut hovered: Option<(usize, f32)> = None;
    let mut drawn = Vec::with_capacity(boxes.detections.len());
    for (index, detection) in boxes.detections.iter().enumerate() {
        let box_rect = box_rect_in(boxes.image_rect, boxes.size_px, detection.box_px);
        if !box_rect.is_finite() {
            continue;
        }
        if pointer.is_some_and(|pos| box_rect.contains(pos)) {
            let area = box_rect.area();
            if hovered.is_none_or(|(_, smallest)| area < smallest) {
                hovered = Some((index, area));
            }
        }
        let (color, width) = box_style(boxes.color, boxes.highlighted == Some(index));
        painter.rect_stroke(box_rect, 0.0, Stroke::new(width, color), StrokeKind::Inside);
        let caption = caption_ui(&painter, boxes.image_rect, box_rect, detection, color);
        drawn.push(DrawnBox {
            box_rect,
            caption_rect: caption,
        });
    }
    BoxesDrawn {
        hovered: hovered.map(|(index, _)| index),
        boxes: drawn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_maps_onto_the_drawn_image_by_its_edges() {
        let image = Rect::from_min_size(Pos2::new(10.0, 20.0), Vec2::new(320.0, 240.0));
        // The whole image.
        assert_eq!(
            box_rect_in(image, [640, 480], [0.0, 0.0, 640.0, 480.0]),
            image
        );
        // Pixel column 0 spans 0..1 image pixels: half a point at this scale.
        let first_pixel = box_rect_in(image, [640, 480], [0.0, 0.0, 1.0, 1.0]);
        assert_eq!(
            first_pixel,
            Rect::from_min_size(image.min, Vec2::new(0.5, 0.5))
        );
        let quarter = box_rect_in(image, [640, 480], [160.0, 120.0, 480.0, 360.0]);
        assert_eq!(
            quarter,
            Rect::from_min_max(Pos2::new(90.0, 80.0), Pos2::new(250.0, 200.0))
        );
        // Boxes reaching past the image stay unclipped; swapped corners are normalised.
        let outside = box_rect_in(image, [640, 480], [700.0, 500.0, -20.0, 0.0]);
        assert_eq!(
            outside,
            Rect::from_min_max(Pos2::new(0.0, 20.0), Pos2::new(360.0, 270.0))
        );
    }

    #[test]
    fn the_caption_sits_above_the_box_unless_the_image_ends_there() {
        let image = Rect::from_min_size(Pos2::new(0.0, 100.0), Vec2::new(320.0, 240.0));
        let size = Vec2::new(80.0, 14.0);
        let low = Rect::from_min_max(Pos2::new(50.0, 150.0), Pos2::new(90.0, 200.0));
        assert_eq!(
            caption_rect(image, low, size),
            Rect::from_min_size(Pos2::new(50.0, 136.0), size)
        );
        let at_top = Rect::from_min_max(Pos2::new(-5.0, 105.0), Pos2::new(90.0, 200.0));
        assert_eq!(
            caption_rect(image, at_top, size),
            Rect::from_min_size(Pos2::new(0.0, 105.0), size)
        );
    }

    #[test]
    fn the_caption_names_label_score_and_distance() {
        let mut detection = Detection {
            class_id: 0,
            label: "object".to_owned(),
            score: 0.876,
            box_px: [0.0; 4],
            position: None,
            position_missing: Some("the frame has no depth".to_owned()),
        };
        assert_eq!(box_caption(&detection), "object 0.88");
        detection.position = Some(shmproto::ObjectPosition {
            depth_m: 2.0,
            point_m: [0.0, 0.0, 2.0],
            distance_m: 2.004,
            extent_m: None,
        });
        assert_eq!(box_caption(&detection), "object 0.88 2.00 m");
    }
}
