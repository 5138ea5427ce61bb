//! What each synthetic frame really shows: the objects in view, where they are and how big.
//!
//! An object is listed when its volumetric centre is *in view*: in front of the camera, inside
//! the image, and not hidden at that pixel. Precisely, the pixel its centre projects onto must
//! show the object in the rendered frame: the ray through that pixel's centre meets it before
//! the floor, before every other object (the renderer's own rule, same arithmetic) and within
//! range. An object partly hidden by a nearer one is listed as long as its centre is seen; one
//! whose centre is hidden, or that is out of the picture, is not.

use shmproto::Intrinsics;

use super::scene::{Object, Scene, MAX_RANGE_M, OBJECT_COUNT};
use crate::{GroundTruth, KnownObject};

/// The objects in view at scene time `time_s`, seen through `intrinsics`, in the scene's order
/// (red sphere, orange cube, green sphere, blue sphere).
pub(crate) fn ground_truth(scene: &Scene, intrinsics: &Intrinsics, time_s: f64) -> GroundTruth {
    let objects = scene.objects_at(time_s);
    let mut truth = GroundTruth::default();
    for (index, object) in objects.iter().enumerate() {
        if centre_is_seen(scene, intrinsics, &objects, index) {
            // OBJECT_COUNT is below GROUND_TRUTH_CAPACITY (checked at compile time below).
            let _ = truth.push(KnownObject {
                name: object.name,
                center_m: object.bounding_center,
                size_m: object.size_m,
            });
        }
    }
    truth
}

const _: () = assert!(OBJECT_COUNT <= crate::GROUND_TRUTH_CAPACITY);

/// Whether the pixel onto which object `index`'s centre projects shows that object.
fn centre_is_seen(
    scene: &Scene,
    intrinsics: &Intrinsics,
    objects: &[Object; OBJECT_COUNT],
    index: usize,
) -> bool {
    let centre = objects[index].bounding_center;
    if centre[2] <= 0.0 {
        return false;
    }
    // Pixel coordinates put pixel c's centre at c, so it covers [c - 0.5, c + 0.5).
    let [u, v] = intrinsics.project(centre);
    let (column, row) = ((u + 0.5).floor(), (v + 0.5).floor());
    let inside = |coordinate: f32, size: u32| coordinate >= 0.0 && coordinate < size as f32;
    if !(inside(column, intrinsics.width) && inside(row, intrinsics.height)) {
        return false;
    }
    // The renderer's ray for that pixel, and its z-buffer decision: the floor (capped at the
    // range) first, then each object in order, a strictly nearer hit winning.
    let x = (column - intrinsics.ppx) / intrinsics.fx;
    let y = (row - intrinsics.ppy) / intrinsics.fy;
    let mut nearest_m = scene.floor_depth_m(x, y).min(MAX_RANGE_M);
    let mut owner = None;
    for (other, object) in objects.iter().enumerate() {
        if let Some(hit) = object.hit(x, y) {
            if hit.depth_m < nearest_m {
                nearest_m = hit.depth_m;
                owner = Some(other);
            }
        }
    }
    owner == Some(index)
}
