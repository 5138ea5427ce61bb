//! The orbit camera of the 3D view and the matrices it hands to OpenGL.
//!
//! The 3D view's world is the depth camera's frame (metres; x right, y down, z forward, the
//! frame of [`shmproto::Intrinsics`]), so a deprojected pixel needs no further transform. The
//! orbit camera circles a target point: at yaw 0 and pitch 0 the eye stands `distance_m` before
//! the target, looking along the optical axis (+z); by default (target 2 m ahead, distance
//! 2 m) it stands exactly where the depth camera stands and looks where it looks.
//!
//! Matrices are column-major `[f32; 16]`, as OpenGL takes them; eye space is OpenGL's (x right,
//! y up, looking down -z), clip space its usual `[-1, 1]` cube.

use egui::{Pos2, Rect, Vec2};

/// A point or direction, `[x, y, z]`, in metres.
pub type Vec3 = [f32; 3];
/// A 4x4 matrix, column-major.
pub type Mat4 = [f32; 16];

/// Vertical field of view of the 3D view.
pub const FIELD_OF_VIEW_Y_DEG: f32 = 60.0;
/// Nearest and farthest distance drawn, metres from the eye.
pub const NEAR_M: f32 = 0.01;
pub const FAR_M: f32 = 200.0;
/// Where the default view's target lies on the optical axis.
pub const DEFAULT_TARGET_DEPTH_M: f32 = 2.0;
/// The eye comes no closer to the target than this, and goes no farther.
pub const MIN_DISTANCE_M: f32 = 0.05;
pub const MAX_DISTANCE_M: f32 = 100.0;
/// Pitch stops short of straight down or up, where "up" would be undefined.
pub const MAX_PITCH_DEG: f32 = 89.0;
/// Degrees turned per point dragged.
const ORBIT_DEG_PER_POINT: f32 = 0.4;
/// Zoom factor per point scrolled: `exp(-scroll * this)`.
const ZOOM_PER_POINT: f32 = 0.002;

/// "Up" in the world: the camera frame's y points down.
const WORLD_UP: Vec3 = [0.0, -1.0, 0.0];

/// Yaw and pitch in degrees, as `--orbit YAW,PITCH` gives them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrbitAngles {
    /// Positive: the eye moves to the right of the target (seen from the depth camera).
    pub yaw_deg: f32,
    /// Positive: the eye rises above the target and looks down.
    pub pitch_deg: f32,
}

/// Why `--orbit` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrbitParseError {
    #[error("expected YAW,PITCH in degrees (e.g. 30,15), got {0:?}")]
    Form(String),
    #[error("the pitch must lie within -{MAX_PITCH_DEG}..={MAX_PITCH_DEG} degrees, got {0}")]
    Pitch(String),
}

impl std::str::FromStr for OrbitAngles {
    type Err = OrbitParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let form = || OrbitParseError::Form(text.to_owned());
        let (yaw, pitch) = text.split_once(',').ok_or_else(form)?;
        let parse = |part: &str| {
            part.trim()
                .parse::<f32>()
                .ok()
                .filter(|value| value.is_finite())
        };
        let (Some(yaw_deg), Some(pitch_deg)) = (parse(yaw), parse(pitch)) else {
            return Err(form());
        };
        if pitch_deg.abs() > MAX_PITCH_DEG {
            return Err(OrbitParseError::Pitch(pitch.trim().to_owned()));
        }
        Ok(OrbitAngles { yaw_deg, pitch_deg })
    }
}

/// An eye circling a target point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrbitCamera {
    pub target_m: Vec3,
    pub yaw_deg: f32,
    pub pitch_deg: f32,
    /// From the eye to the target.
    pub distance_m: f32,
}

impl Default for OrbitCamera {
    /// Where the depth camera stands, looking where it looks.
    fn default() -> Self {
        OrbitCamera {
            target_m: [0.0, 0.0, DEFAULT_TARGET_DEPTH_M],
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            distance_m: DEFAULT_TARGET_DEPTH_M,
        }
    }
}

/// A ray from `origin_m` along the unit vector `direction`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ray {
    pub origin_m: Vec3,
    pub direction: Vec3,
}

impl Ray {
    pub fn at(&self, distance_m: f32) -> Vec3 {
        add(self.origin_m, scale(self.direction, distance_m))
    }
}

impl OrbitCamera {
    /// The default view turned by `angles` around the default target.
    pub fn with_angles(angles: OrbitAngles) -> Self {
        OrbitCamera {
            yaw_deg: angles.yaw_deg,
            pitch_deg: angles.pitch_deg.clamp(-MAX_PITCH_DEG, MAX_PITCH_DEG),
            ..OrbitCamera::default()
        }
    }

    /// The unit vector from the eye to the target.
    pub fn forward(&self) -> Vec3 {
        let (yaw, pitch) = (self.yaw_deg.to_radians(), self.pitch_deg.to_radians());
        [
            -yaw.sin() * pitch.cos(),
            pitch.sin(),
            yaw.cos() * pitch.cos(),
        ]
    }

    pub fn eye_m(&self) -> Vec3 {
        sub(self.target_m, scale(self.forward(), self.distance_m))
    }

    /// The eye's right and up directions in the world.
    fn right_and_up(&self) -> (Vec3, Vec3) {
        let forward = self.forward();
        let right = normalized(cross(forward, WORLD_UP));
        (right, cross(right, forward))
    }

    /// Turns the eye around the target by a drag of `delta` points.
    pub fn orbit_by_drag(&mut self, delta: Vec2) {
        self.yaw_deg =
            (self.yaw_deg - delta.x * ORBIT_DEG_PER_POINT + 180.0).rem_euclid(360.0) - 180.0;
        self.pitch_deg =
            (self.pitch_deg + delta.y * ORBIT_DEG_PER_POINT).clamp(-MAX_PITCH_DEG, MAX_PITCH_DEG);
    }

    /// Moves eye and target together so that the scene follows a drag of `delta` points in a
    /// view `viewport_height` points high (at the target's distance).
    pub fn pan_by_drag(&mut self, delta: Vec2, viewport_height: f32) {
        let metres_per_point =
            2.0 * self.distance_m * (FIELD_OF_VIEW_Y_DEG.to_radians() / 2.0).tan()
                / viewport_height.max(1.0);
        let (right, up) = self.right_and_up();
        let shift = add(
            scale(right, -delta.x * metres_per_point),
            scale(up, delta.y * metres_per_point),
        );
        self.target_m = add(self.target_m, shift);
    }

    /// Moves the eye towards the target (positive `scroll`, in points) or away from it.
    pub fn zoom_by_scroll(&mut self, scroll: f32) {
        self.zoom_by_factor((-scroll * ZOOM_PER_POINT).exp());
    }

    /// Multiplies the distance to the target by `factor` (within the limits).
    pub fn zoom_by_factor(&mut self, factor: f32) {
        if factor.is_finite() && factor > 0.0 {
            self.distance_m = (self.distance_m * factor).clamp(MIN_DISTANCE_M, MAX_DISTANCE_M);
        }
    }

    /// World to OpenGL eye space (a look-at matrix).
    pub fn view_from_world(&self) -> Mat4 {
        let eye = self.eye_m();
        let forward = self.forward();
        let (right, up) = self.right_and_up();
        [
            right[0],
            up[0],
            -forward[0],
            0.0, //
            right[1],
            up[1],
            -forward[1],
            0.0, //
            right[2],
            up[2],
            -forward[2],
            0.0, //
            -dot(right, eye),
            -dot(up, eye),
            dot(forward, eye),
            1.0,
        ]
    }

    /// The world to clip space matrix the shaders take, for a viewport of this aspect ratio
    /// (width / height).
    pub fn clip_from_world(&self, aspect: f32) -> Mat4 {
        mul(&clip_from_view(aspect), &self.view_from_world())
    }

    /// Where `point_m` is drawn in `viewport` (points), `None` when it lies behind the near
    /// plane.
    pub fn project(&self, point_m: Vec3, viewport: Rect) -> Option<Pos2> {
        let clip = transform(&self.clip_from_world(aspect(viewport)), point_m);
        if clip[3] < NEAR_M {
            return None;
        }
        let (ndc_x, ndc_y) = (clip[0] / clip[3], clip[1] / clip[3]);
        Some(Pos2::new(
            viewport.min.x + (ndc_x + 1.0) / 2.0 * viewport.width(),
            viewport.min.y + (1.0 - ndc_y) / 2.0 * viewport.height(),
        ))
    }

    /// How far in front of the eye `point_m` lies, along the view direction.
    pub fn depth_in_view_m(&self, point_m: Vec3) -> f32 {
        dot(sub(point_m, self.eye_m()), self.forward())
    }

    /// The ray from the eye through `pos` of `viewport` (points).
    pub fn ray_through(&self, pos: Pos2, viewport: Rect) -> Ray {
        let ndc_x = (pos.x - viewport.min.x) / viewport.width().max(f32::EPSILON) * 2.0 - 1.0;
        let ndc_y = 1.0 - (pos.y - viewport.min.y) / viewport.height().max(f32::EPSILON) * 2.0;
        let half_height = (FIELD_OF_VIEW_Y_DEG.to_radians() / 2.0).tan();
        let (right, up) = self.right_and_up();
        let direction = add(
            add(
                scale(right, ndc_x * half_height * aspect(viewport)),
                scale(up, ndc_y * half_height),
            ),
            self.forward(),
        );
        Ray {
            origin_m: self.eye_m(),
            direction: normalized(direction),
        }
    }
}

fn aspect(viewport: Rect) -> f32 {
    viewport.width().max(1.0) / viewport.height().max(1.0)
}

/// OpenGL eye space to clip space: a perspective of [`FIELD_OF_VIEW_Y_DEG`] from [`NEAR_M`] to
/// [`FAR_M`].
pub fn clip_from_view(aspect: f32) -> Mat4 {
    let focal = 1.0 / (FIELD_OF_VIEW_Y_DEG.to_radians() / 2.0).tan();
    let depth = NEAR_M - FAR_M;
    [
        focal / aspect,
        0.0,
        0.0,
        0.0, //
        0.0,
        focal,
        0.0,
        0.0, //
        0.0,
        0.0,
        (FAR_M + NEAR_M) / depth,
        -1.0, //
        0.0,
        0.0,
        2.0 * FAR_M * NEAR_M / depth,
        0.0,
    ]
}

/// `a * b`.
pub fn mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut product = [0.0; 16];
    for column in 0..4 {
        for row in 0..4 {
            product[column * 4 + row] = (0..4).map(|k| a[k * 4 + row] * b[column * 4 + k]).sum();
        }
    }
    product
}

/// `m * (point, 1)`, homogeneous.
pub fn transform(m: &Mat4, [x, y, z]: Vec3) -> [f32; 4] {
    std::array::from_fn(|row| m[row] * x + m[4 + row] * y + m[8 + row] * z + m[12 + row])
}

pub fn dot(a: Vec3, b: Vec3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn scale(a: Vec3, factor: f32) -> Vec3 {
    [a[0] * factor, a[1] * factor, a[2] * factor]
}

pub fn normalized(a: Vec3) -> Vec3 {
    let length = dot(a, a).sqrt();
    if length > 0.0 {
        scale(a, 1.0 / length)
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shmproto::Intrinsics;

    fn close(a: f32, b: f32, tolerance: f32) -> bool {
        (a - b).abs() <= tolerance
    }

    fn viewport() -> Rect {
        Rect::from_min_size(Pos2::new(10.0, 30.0), Vec2::new(640.0, 480.0))
    }

    #[test]
    fn the_default_view_is_the_depth_cameras() {
        let camera = OrbitCamera::default();
        assert_eq!(camera.eye_m(), [0.0, 0.0, 0.0]);
        assert_eq!(camera.forward(), [0.0, 0.0, 1.0]);
        let rect = viewport();
        let centre = camera.project([0.0, 0.0, 3.0], rect).unwrap();
        assert!(close(centre.x, rect.center().x, 1e-3) && close(centre.y, rect.center().y, 1e-3));
        // x right is right on screen, y down is down.
        let right_low = camera.project([0.5, 0.5, 3.0], rect).unwrap();
        assert!(
            right_low.x > centre.x && right_low.y > centre.y,
            "{right_low:?}"
        );
        assert_eq!(
            camera.project([0.0, 0.0, -1.0], rect),
            None,
            "behind the eye"
        );
    }

    /// Seen from the depth camera with the camera's own field of view, a deprojected pixel
    /// lands on that pixel: the perspective matrix is a pinhole camera.
    #[test]
    fn the_default_view_puts_deprojected_pixels_on_their_pixels() {
        let (width, height) = (640u32, 480u32);
        let vertical_half = (FIELD_OF_VIEW_Y_DEG.to_radians() / 2.0).tan();
        let horizontal_fov_deg = 2.0
            * (vertical_half * width as f32 / height as f32)
                .atan()
                .to_degrees();
        let intrinsics = Intrinsics::pinhole_from_fov(width, height, horizontal_fov_deg);
        let rect = Rect::from_min_size(Pos2::ZERO, Vec2::new(width as f32, height as f32));
        let camera = OrbitCamera::default();
        for (pixel, depth_m) in [([0, 0], 1.0), ([639, 479], 4.0), ([100, 400], 2.5)] {
            let centre = crate::frame::pixel_centre_in_image(pixel);
            let point = intrinsics.deproject(centre, depth_m);
            let drawn = camera.project(point, rect).unwrap();
            // Pixel (c, r) covers [c, c + 1) x [r, r + 1) of the viewport.
            let expected = crate::view::pixel_centre_in(rect, [width, height], pixel);
            assert!(
                close(drawn.x, expected.x, 1e-2) && close(drawn.y, expected.y, 1e-2),
                "{pixel:?}: {drawn:?} vs {expected:?}"
            );
        }
    }

    #[test]
    fn the_eye_circles_the_target_at_its_distance() {
        for (yaw_deg, pitch_deg) in [(0.0, 0.0), (90.0, 0.0), (-30.0, 45.0), (170.0, -60.0)] {
            let camera = OrbitCamera {
                target_m: [0.3, -0.2, 2.5],
                yaw_deg,
                pitch_deg,
                distance_m: 1.7,
            };
            let offset = sub(camera.target_m, camera.eye_m());
            assert!(close(dot(offset, offset).sqrt(), 1.7, 1e-5));
            // The target is straight ahead in eye space, `distance_m` away.
            let target = transform(&camera.view_from_world(), camera.target_m);
            assert!(close(target[0], 0.0, 1e-5) && close(target[1], 0.0, 1e-5));
            assert!(close(target[2], -1.7, 1e-5), "{target:?}");
            assert!(close(camera.depth_in_view_m(camera.target_m), 1.7, 1e-5));
        }
        // Yaw 90: the eye stands to the right of the target; pitch 30: above it (y is down).
        let side = OrbitCamera::with_angles(OrbitAngles {
            yaw_deg: 90.0,
            pitch_deg: 0.0,
        });
        let eye = side.eye_m();
        assert!(
            close(eye[0], 2.0, 1e-5) && close(eye[2], 2.0, 1e-5),
            "{eye:?}"
        );
        let above = OrbitCamera::with_angles(OrbitAngles {
            yaw_deg: 0.0,
            pitch_deg: 30.0,
        });
        assert!(above.eye_m()[1] < -0.9, "{:?}", above.eye_m());
    }

    #[test]
    fn the_view_matrix_is_a_rotation_then_a_translation() {
        let camera = OrbitCamera {
            target_m: [1.0, 0.5, 3.0],
            yaw_deg: 35.0,
            pitch_deg: 20.0,
            distance_m: 2.0,
        };
        let view = camera.view_from_world();
        let column = |c: usize| [view[c * 4], view[c * 4 + 1], view[c * 4 + 2]];
        for a in 0..3 {
            for b in 0..3 {
                let expected = if a == b { 1.0 } else { 0.0 };
                assert!(close(dot(column(a), column(b)), expected, 1e-5));
            }
        }
        let eye = transform(&view, camera.eye_m());
        assert!(eye[..3].iter().all(|&v| close(v, 0.0, 1e-5)), "{eye:?}");
        // Screen up is world up (-y) when the eye is level.
        let level = OrbitCamera::default();
        let above = level.project([0.0, -1.0, 3.0], viewport()).unwrap();
        assert!(above.y < viewport().center().y);
    }

    #[test]
    fn rays_through_the_screen_project_back_onto_it() {
        let camera = OrbitCamera {
            target_m: [0.2, 0.1, 2.0],
            yaw_deg: -25.0,
            pitch_deg: 15.0,
            distance_m: 3.0,
        };
        let rect = viewport();
        for pos in [
            rect.center(),
            rect.min + Vec2::new(5.0, 7.0),
            Pos2::new(500.0, 90.0),
        ] {
            let ray = camera.ray_through(pos, rect);
            assert!(close(dot(ray.direction, ray.direction), 1.0, 1e-5));
            for distance_m in [0.5, 2.0, 9.0] {
                let back = camera.project(ray.at(distance_m), rect).unwrap();
                assert!(
                    close(back.x, pos.x, 1e-2) && close(back.y, pos.y, 1e-2),
                    "{pos:?} -> {back:?}"
                );
            }
        }
    }

    #[test]
    fn orbit_pan_and_zoom_move_the_eye_as_the_mouse_does() {
        let mut camera = OrbitCamera::default();
        camera.orbit_by_drag(Vec2::new(-50.0, 25.0));
        assert!(close(camera.yaw_deg, 20.0, 1e-4) && close(camera.pitch_deg, 10.0, 1e-4));
        camera.orbit_by_drag(Vec2::new(0.0, 10_000.0));
        assert_eq!(camera.pitch_deg, MAX_PITCH_DEG);

        // A pan moves the target across the view, never along it, and the scene follows the
        // pointer: the old target moves by the dragged amount on screen.
        let mut camera = OrbitCamera::default();
        let rect = viewport();
        let target = camera.target_m;
        camera.pan_by_drag(Vec2::new(40.0, -20.0), rect.height());
        let moved = sub(camera.target_m, target);
        assert!(close(dot(moved, camera.forward()), 0.0, 1e-5));
        let drawn = camera.project(target, rect).unwrap();
        let expected = rect.center() + Vec2::new(40.0, -20.0);
        assert!(
            close(drawn.x, expected.x, 1e-2) && close(drawn.y, expected.y, 1e-2),
            "{drawn:?}"
        );

        let mut camera = OrbitCamera::default();
        camera.zoom_by_scroll(100.0);
        assert!(camera.distance_m < DEFAULT_TARGET_DEPTH_M);
        camera.zoom_by_factor(1e9);
        assert_eq!(camera.distance_m, MAX_DISTANCE_M);
        camera.zoom_by_factor(f32::NAN);
        assert_eq!(camera.distance_m, MAX_DISTANCE_M);
    }

    #[test]
    fn orbit_angles_parse_from_the_command_line() {
        assert_eq!(
            "30,-15".parse::<OrbitAngles>(),
            Ok(OrbitAngles {
                yaw_deg: 30.0,
                pitch_deg: -15.0
            })
        );
        assert_eq!(
            " -12.5 , 4".parse::<OrbitAngles>().map(|a| a.yaw_deg),
            Ok(-12.5)
        );
        assert!(matches!(
            "30".parse::<OrbitAngles>(),
            Err(OrbitParseError::Form(_))
        ));
        assert!(matches!(
            "a,b".parse::<OrbitAngles>(),
            Err(OrbitParseError::Form(_))
        ));
        assert!(matches!(
            "inf,0".parse::<OrbitAngles>(),
            Err(OrbitParseError::Form(_))
        ));
        assert!(matches!(
            "0,95".parse::<OrbitAngles>(),
            Err(OrbitParseError::Pitch(_))
        ));
    }
}
