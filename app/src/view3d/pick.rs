//! Which depth pixel's point is drawn under the pointer: one ray on the CPU per hover, never a
//! pass over all points.
//!
//! The ray from the orbit camera's eye through the pointer is walked outwards; each sample is
//! projected into the depth image and compared with the depth measured there. Where the ray
//! crosses behind the measured surface, the pixels around that place are candidates: the
//! nearest to the eye whose point is drawn under the pointer (within the point's half size) is
//! the pick. A crossing with no such pixel (the ray slipped behind a surface seen edge-on,
//! through the shadow the depth camera could not see into) is passed and the walk goes on.

use egui::{Pos2, Rect};
use shmproto::Intrinsics;

use super::camera::OrbitCamera;
use super::deprojection::DeprojectionParams;
use crate::frame::{Frame, PIXEL_CENTRE_OFFSET_PX};

/// The walk starts this close to the eye and ends this far.
const WALK_FROM_M: f32 = 0.02;
const WALK_TO_M: f32 = 60.0;
/// Steps grow with the distance walked: this fraction of it, at least [`MIN_STEP_M`].
const STEP_FRACTION: f32 = 0.004;
const MIN_STEP_M: f32 = 0.002;
/// Pixels searched on each side of the crossing's pixel.
const SEARCH_RADIUS_PX: i64 = 3;
/// Candidates this much (a fraction of the depth, plus metres) behind the nearest one still
/// lie on the same surface.
const SURFACE_SLACK: f32 = 0.02;
const SURFACE_SLACK_M: f32 = 0.02;

/// The pixel whose point is drawn under `pointer` in `viewport`, with points `point_size`
/// points wide; `None` when no point is there (or the frame lacks depth or intrinsics).
pub fn pick_pixel(
    frame: &Frame,
    camera: &OrbitCamera,
    viewport: Rect,
    pointer: Pos2,
    point_size: f32,
) -> Option<[u32; 2]> {
    let depth_units = frame.depth_units.as_deref()?;
    let intrinsics = frame.metadata.intrinsics?;
    let depth_scale_m = frame.metadata.depth_scale_m?;
    let params = DeprojectionParams::new(&intrinsics, depth_scale_m);
    let (width, height) = (frame.geometry.width, frame.geometry.height);
    let depth_at = |[column, row]: [u32; 2]| -> Option<f32> {
        let units = *depth_units.get(row as usize * width as usize + column as usize)?;
        (units != 0).then(|| f32::from(units) * depth_scale_m)
    };
    // A point drawn `point_size` wide covers the pointer within half of it, half a point more
    // for rounding; where points are drawn farther apart than their size (zoomed in, or a
    // small frame in a large view), the nearest point within half the gap counts, so that the
    // readout does not flicker between points.
    let drawn_reach = point_size / 2.0 + 0.5;
    let ray = camera.ray_through(pointer, viewport);
    let mut distance_m = WALK_FROM_M;
    let mut was_in_front = true;
    while distance_m < WALK_TO_M {
        let sample = ray.at(distance_m);
        distance_m += (distance_m * STEP_FRACTION).max(MIN_STEP_M);
        let Some(pixel) = pixel_of(&intrinsics, sample, width, height) else {
            was_in_front = true;
            continue;
        };
        let Some(measured_m) = depth_at(pixel) else {
            was_in_front = true;
            continue;
        };
        let in_front = sample[2] < measured_m;
        if in_front || !was_in_front {
            was_in_front = in_front;
            continue;
        }
        was_in_front = false;
        // Crossed behind the surface: is one of the points here drawn under the pointer?
        let reach = drawn_reach
            .max(0.75 * drawn_spacing(&params, depth_units, width, pixel, camera, viewport));
        // (pixel, distance on screen, depth in the view)
        let mut candidates: Vec<([u32; 2], f32, f32)> = Vec::new();
        for row in neighbours(pixel[1], height) {
            for column in neighbours(pixel[0], width) {
                let candidate = [column, row];
                let Some(units) = depth_units.get(row as usize * width as usize + column as usize)
                else {
                    continue;
                };
                let Some(point) = params.deproject_like_shader(candidate, *units) else {
                    continue;
                };
                let Some(drawn) = camera.project(point, viewport) else {
                    continue;
                };
                let offset = drawn - pointer;
                if offset.x.abs() > reach || offset.y.abs() > reach {
                    continue;
                }
                candidates.push((candidate, offset.length(), camera.depth_in_view_m(point)));
            }
        }
        // The nearest surface hides what lies behind it; on it, the point nearest the pointer.
        let nearest_m = candidates.iter().map(|c| c.2).fold(f32::INFINITY, f32::min);
        let on_surface =
            |depth_m: f32| depth_m <= nearest_m * (1.0 + SURFACE_SLACK) + SURFACE_SLACK_M;
        if let Some((pixel, _, _)) = candidates
            .into_iter()
            .filter(|c| on_surface(c.2))
            .min_by(|a, b| a.1.total_cmp(&b.1))
        {
            return Some(pixel);
        }
    }
    None
}

/// How far apart the points of `pixel` and its right and lower neighbours are drawn (the
/// larger gap), in points; 0 where that is unknown.
fn drawn_spacing(
    params: &DeprojectionParams,
    depth_units: &[u16],
    width: u32,
    pixel: [u32; 2],
    camera: &OrbitCamera,
    viewport: Rect,
) -> f32 {
    let drawn = |[column, row]: [u32; 2]| {
        let units = *depth_units.get(row as usize * width as usize + column as usize)?;
        let point = params.deproject_like_shader([column, row], units)?;
        camera.project(point, viewport)
    };
    let Some(here) = drawn(pixel) else {
        return 0.0;
    };
    [[pixel[0] + 1, pixel[1]], [pixel[0], pixel[1] + 1]]
        .into_iter()
        .filter(|neighbour| neighbour[0] < width)
        .filter_map(drawn)
        .map(|there| (there - here).length())
        .fold(0.0, f32::max)
}

/// The depth pixel `point_m` falls in, `None` outside the image or behind the camera.
fn pixel_of(
    intrinsics: &Intrinsics,
    point_m: [f32; 3],
    width: u32,
    height: u32,
) -> Option<[u32; 2]> {
    if point_m[2] <= 0.0 {
        return None;
    }
    let [u, v] = intrinsics.project(point_m);
    // Pixel c covers [c + offset - 0.5, c + offset + 0.5).
    let column = (u - PIXEL_CENTRE_OFFSET_PX + 0.5).floor();
    let row = (v - PIXEL_CENTRE_OFFSET_PX + 0.5).floor();
    let inside = |value: f32, size: u32| value >= 0.0 && value < size as f32;
    (inside(column, width) && inside(row, height)).then_some([column as u32, row as u32])
}

fn neighbours(centre: u32, size: u32) -> impl Iterator<Item = u32> {
    let from = (i64::from(centre) - SEARCH_RADIUS_PX).max(0);
    let to = (i64::from(centre) + SEARCH_RADIUS_PX).min(i64::from(size) - 1);
    (from..=to).map(|value| value as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::test_frames::{plane_frame, scene_frame};
    use crate::view3d::camera::OrbitAngles;
    use egui::Vec2;

    fn viewport() -> Rect {
        Rect::from_min_size(Pos2::new(20.0, 40.0), Vec2::new(800.0, 500.0))
    }

    fn drawn_at(frame: &Frame, camera: &OrbitCamera, pixel: [u32; 2]) -> Pos2 {
        let point = frame.point_in_camera_at(pixel).unwrap();
        camera.project(point, viewport()).unwrap()
    }

    #[test]
    fn the_pointer_over_a_drawn_point_picks_its_pixel() {
        let frame = plane_frame(1, 160, 120, 1500);
        for angles in [(0.0, 0.0), (35.0, 20.0), (-50.0, -10.0)] {
            let camera = OrbitCamera::with_angles(OrbitAngles {
                yaw_deg: angles.0,
                pitch_deg: angles.1,
            });
            for pixel in [[80, 60], [10, 100], [150, 5]] {
                let pointer = drawn_at(&frame, &camera, pixel);
                let picked = pick_pixel(&frame, &camera, viewport(), pointer, 2.0)
                    .unwrap_or_else(|| panic!("{angles:?} {pixel:?}: nothing picked"));
                // That pixel's point is drawn under the pointer (neighbours may be too, when
                // points are drawn closer than their size).
                let drawn = drawn_at(&frame, &camera, picked);
                assert!(
                    (drawn - pointer).length() <= 2.0,
                    "{angles:?} {pixel:?} -> {picked:?} drawn at {drawn:?}, pointer {pointer:?}"
                );
                assert!(
                    picked[0].abs_diff(pixel[0]) <= 2 && picked[1].abs_diff(pixel[1]) <= 2,
                    "{angles:?} {pixel:?} -> {picked:?}"
                );
            }
        }
    }

    #[test]
    fn nothing_is_picked_where_no_point_is_drawn() {
        let frame = plane_frame(1, 160, 120, 1500);
        let camera = OrbitCamera::default();
        // Far outside the wall's picture.
        let away = viewport().min + Vec2::new(2.0, 2.0);
        let wall_corner = drawn_at(&frame, &camera, [0, 0]);
        assert!(
            away.x < wall_corner.x - 5.0,
            "the corner {wall_corner:?} leaves room"
        );
        assert_eq!(pick_pixel(&frame, &camera, viewport(), away, 2.0), None);
    }

    /// In the synthetic scene, seen from the side, the pointer on a sphere's drawn points
    /// picks a pixel of the sphere (its colour), not the floor the ray passes over behind it.
    #[test]
    fn the_nearest_surface_wins() {
        let frame = scene_frame(320, 240);
        let camera = OrbitCamera::with_angles(OrbitAngles {
            yaw_deg: 25.0,
            pitch_deg: 15.0,
        });
        let red = frame
            .metadata
            .ground_truth
            .iter()
            .find(|object| object.name == "red sphere")
            .unwrap();
        let pointer = camera.project(red.center_m, viewport()).unwrap();
        let picked = pick_pixel(&frame, &camera, viewport(), pointer, 2.0).unwrap();
        let [r, g, b] = frame.rgb_at(picked).unwrap();
        assert!(
            r > 2 * g && r > 2 * b,
            "picked {picked:?} of colour {:?}",
            [r, g, b]
        );
        let point = frame.point_in_camera_at(picked).unwrap();
        let from_centre: f32 = (0..3)
            .map(|i| (point[i] - red.center_m[i]).powi(2))
            .sum::<f32>()
            .sqrt();
        assert!(
            (from_centre - red.size_m[0] / 2.0).abs() < 0.05,
            "on the sphere's surface: {from_centre}"
        );
    }
}
