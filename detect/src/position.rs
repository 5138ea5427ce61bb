//! Where a detected object is in 3D: the robust depth of its box, deprojected.
//!
//! A box's depth is the median of the valid (non-zero) depth in its central region, the middle
//! half of the box in each direction: the edges of a box hold background more often than
//! object, and the median ignores the rest of the outliers. The box centre is deprojected at
//! that depth with the frame's intrinsics, which gives a point on the object's visible surface
//! (a camera sees only the front of an object; its volumetric centre lies further away by
//! about half its depth).

use crate::frame::FrameView;
use shmproto::ObjectPosition;

/// Fraction of the box's width and height, centred, whose depth is measured.
pub const CENTRAL_FRACTION: f32 = 0.5;

/// Why a box has no 3D position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoPosition {
    #[error("the frame has no depth")]
    NoDepth,
    #[error("the frame has no intrinsics")]
    NoIntrinsics,
    #[error("no valid depth in the box's central region")]
    NoValidDepth,
}

/// The object's position for a box `[x1, y1, x2, y2]` in continuous pixel coordinates (see
/// [`shmproto::Detection::box_px`]).
pub fn object_position(
    frame: &FrameView<'_>,
    box_px: [f32; 4],
) -> Result<ObjectPosition, NoPosition> {
    if frame.depth().is_none() {
        return Err(NoPosition::NoDepth);
    }
    let intrinsics = frame.intrinsics().ok_or(NoPosition::NoIntrinsics)?;
    let depth_m = central_depth_m(frame, box_px).ok_or(NoPosition::NoValidDepth)?;
    // Continuous coordinates put pixel column c's centre at c + 0.5; deprojection takes pixel
    // centres at integer coordinates (librealsense's convention).
    let centre = [
        (box_px[0] + box_px[2]) / 2.0 - 0.5,
        (box_px[1] + box_px[3]) / 2.0 - 0.5,
    ];
    let point_m = intrinsics.deproject(centre, depth_m);
    Ok(ObjectPosition {
        depth_m,
        point_m,
        distance_m: norm(point_m),
        extent_m: None,
    })
}

/// Fills in `position` or `position_missing` of each detection from the frame's depth.
pub fn locate_all(frame: &FrameView<'_>, detections: &mut [shmproto::Detection]) {
    for detection in detections {
        match object_position(frame, detection.box_px) {
            Ok(position) => {
                detection.position = Some(position);
                detection.position_missing = None;
            }
            Err(missing) => {
                detection.position = None;
                detection.position_missing = Some(missing.to_string());
            }
        }
    }
}

/// The length of a vector.
pub fn norm(v: [f32; 3]) -> f32 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// Median valid depth (metres) of the pixels whose centres lie in the central region of the
/// box, clipped to the frame; `None` if there is none.
fn central_depth_m(frame: &FrameView<'_>, box_px: [f32; 4]) -> Option<f32> {
    let [x1, y1, x2, y2] = box_px;
    if !(x1.is_finite() && y1.is_finite() && x2.is_finite() && y2.is_finite()) {
        return None;
    }
    let margin = (1.0 - CENTRAL_FRACTION) / 2.0;
    let (w, h) = (x2 - x1, y2 - y1);
    let region = [
        x1 + w * margin,
        y1 + h * margin,
        x2 - w * margin,
        y2 - h * margin,
    ];
    // Pixels whose centres (c + 0.5) fall inside [left, right); at least the pixel under the
    // region's centre, so tiny boxes still measure something.
    let span = |low: f32, high: f32, limit: u32| -> (u32, u32) {
        let mut first = (low - 0.5).ceil().max(0.0);
        let mut end = (high - 0.5).ceil().min(limit as f32);
        if end <= first {
            first = ((low + high) / 2.0).floor().clamp(0.0, limit as f32 - 1.0);
            end = first + 1.0;
        }
        (first as u32, end.max(first) as u32)
    };
    let (column_first, column_end) = span(region[0], region[2], frame.width());
    let (row_first, row_end) = span(region[1], region[3], frame.height());
    let mut units: Vec<u16> = (row_first..row_end)
        .flat_map(|row| (column_first..column_end).map(move |column| (column, row)))
        .filter_map(|(column, row)| frame.depth_units_at(column, row))
        .filter(|&units| units != 0)
        .collect();
    Some(f32::from(median(&mut units)?) * frame.depth()?.depth_scale_m)
}

/// The median of `values` (the upper one of the two middle values for an even count),
/// reordering them; `None` when empty. The one median of depth units every detector uses.
pub fn median(values: &mut [u16]) -> Option<u16> {
    if values.is_empty() {
        return None;
    }
    let middle = values.len() / 2;
    let (_, median, _) = values.select_nth_unstable(middle);
    Some(*median)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::DepthView;
    use shmproto::Intrinsics;

    fn depth_plane(width: u32, height: u32, at: impl Fn(u32, u32) -> u16) -> Vec<u8> {
        (0..height)
            .flat_map(|row| (0..width).map(move |column| (column, row)))
            .flat_map(|(column, row)| at(column, row).to_le_bytes())
            .collect()
    }

    #[test]
    fn the_median_of_the_central_region_ignores_edges_and_holes() {
        let (width, height) = (64, 48);
        let rgb = vec![0; 64 * 48 * 3];
        // A box 20..40 x 10..30: background 3 m at its edges, the object 1.2 m in the middle,
        // with holes (0) in a quarter of the object's pixels.
        let depth = depth_plane(width, height, |column, row| {
            let inside = (25..35).contains(&column) && (15..25).contains(&row);
            match (inside, (column + row) % 4) {
                (true, 0) => 0,
                (true, _) => 1200,
                (false, _) => 3000,
            }
        });
        let intrinsics = Intrinsics::pinhole_from_fov(width, height, 60.0);
        let frame = FrameView::new(
            width,
            height,
            &rgb,
            Some(DepthView {
                z16_le: &depth,
                depth_scale_m: 0.001,
            }),
            Some(intrinsics),
        )
        .unwrap();
        let position = object_position(&frame, [20.0, 10.0, 40.0, 30.0]).unwrap();
        assert!((position.depth_m - 1.2).abs() < 1e-6, "{position:?}");
        // The box centre (30, 20) in continuous coordinates is pixel centre [29.5, 19.5].
        let expected = intrinsics.deproject([29.5, 19.5], 1.2);
        assert_eq!(position.point_m, expected);
        assert!((position.distance_m - norm(expected)).abs() < 1e-6);
    }

    #[test]
    fn no_depth_gives_a_reason_never_zero_metres() {
        let rgb = vec![0; 8 * 6 * 3];
        let zeros = vec![0u8; 8 * 6 * 2];
        let intrinsics = Some(Intrinsics::pinhole_from_fov(8, 6, 60.0));
        let depthless = FrameView::new(8, 6, &rgb, None, intrinsics).unwrap();
        let box_px = [1.0, 1.0, 5.0, 5.0];
        assert_eq!(
            object_position(&depthless, box_px),
            Err(NoPosition::NoDepth)
        );
        let holes = DepthView {
            z16_le: &zeros,
            depth_scale_m: 0.001,
        };
        let empty = FrameView::new(8, 6, &rgb, Some(holes), intrinsics).unwrap();
        assert_eq!(
            object_position(&empty, box_px),
            Err(NoPosition::NoValidDepth)
        );
        let mut detections = vec![shmproto::Detection {
            class_id: 0,
            label: "x".into(),
            score: 1.0,
            box_px,
            position: None,
            position_missing: None,
        }];
        locate_all(&empty, &mut detections);
        assert_eq!(
            detections[0].position_missing.as_deref(),
            Some("no valid depth in the box's central region")
        );
        // Boxes outside the frame or not finite measure nothing and do not panic.
        for outside in [[100.0, 100.0, 120.0, 130.0], [f32::NAN, 0.0, 1.0, 1.0]] {
            assert_eq!(
                object_position(&empty, outside),
                Err(NoPosition::NoValidDepth)
            );
        }
    }

    #[test]
    fn a_one_pixel_box_measures_its_pixel() {
        let rgb = vec![0; 8 * 6 * 3];
        let depth = depth_plane(
            8,
            6,
            |column, row| if (column, row) == (3, 2) { 800 } else { 0 },
        );
        let frame = FrameView::new(
            8,
            6,
            &rgb,
            Some(DepthView {
                z16_le: &depth,
                depth_scale_m: 0.001,
            }),
            Some(Intrinsics::pinhole_from_fov(8, 6, 60.0)),
        )
        .unwrap();
        let position = object_position(&frame, [3.0, 2.0, 4.0, 3.0]).unwrap();
        assert!((position.depth_m - 0.8).abs() < 1e-6);
    }
}
