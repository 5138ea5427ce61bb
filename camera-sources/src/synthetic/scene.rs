//! The synthetic scene: a checkered floor under a sky and four moving objects, described in the
//! camera frame and intersected with pixel rays.
//!
//! Two frames are involved:
//! - the *world*: metres, X right, Y up, Z away from the camera; the floor is the plane Y = 0;
//! - the *camera*: metres, x right, y down, z forward (the frame of [`shmproto::Intrinsics`]).
//!
//! The camera stands [`CAMERA_HEIGHT_M`] above the floor and looks down by [`CAMERA_PITCH_DEG`].
//! Every ray starts at the camera centre and is written `t * (x, y, 1)` with `(x, y)` the
//! normalised image coordinates of a pixel centre, so the parameter `t` of a hit *is* its depth
//! (camera z) in metres: a pixel deprojected with that depth lands exactly on the hit point.

/// A point or direction, `[x, y, z]`, in metres.
pub(crate) type Vec3 = [f32; 3];

/// A colour before brightness and quantisation: red, green, blue on a 0..=255 scale.
pub(crate) type Color = [f32; 3];

/// Nothing farther than this is measured: such pixels get depth 0 and the sky colour.
pub(crate) const MAX_RANGE_M: f32 = 10.0;

/// Height of the camera centre above the floor.
pub(crate) const CAMERA_HEIGHT_M: f32 = 1.1;

/// How far the optical axis points below the horizon.
pub(crate) const CAMERA_PITCH_DEG: f32 = 15.0;

/// Number of moving objects; the renderer keeps per-object state in arrays of this size.
pub(crate) const OBJECT_COUNT: usize = 4;

/// Side of one floor checker square.
const CHECKER_SIZE_M: f32 = 0.5;
const FLOOR_LIGHT: Color = [205.0, 200.0, 185.0];
const FLOOR_DARK: Color = [70.0, 75.0, 85.0];
/// Sky colour at the top and at the bottom edge of the image.
const SKY_TOP: Color = [70.0, 120.0, 200.0];
const SKY_BOTTOM: Color = [190.0, 215.0, 240.0];
/// The floor fades towards the sky colour with distance, this much at [`MAX_RANGE_M`]. Kept
/// below 1 so that a measured floor pixel never has exactly the sky colour.
const FOG_AT_MAX_RANGE: f32 = 0.8;

/// Direction towards the (directional) light in the world: above, left, behind the camera.
const TOWARDS_LIGHT_IN_WORLD: Vec3 = [-0.5, 1.0, -0.6];
const AMBIENT: f32 = 0.3;
const DIFFUSE: f32 = 0.7;

pub(crate) const RED: Color = [220.0, 50.0, 40.0];
pub(crate) const ORANGE: Color = [240.0, 150.0, 30.0];
pub(crate) const GREEN: Color = [60.0, 190.0, 80.0];
pub(crate) const BLUE: Color = [60.0, 110.0, 230.0];

pub(crate) fn dot(a: Vec3, b: Vec3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn add_scaled(a: Vec3, b: Vec3, scale: f32) -> Vec3 {
    [
        a[0] + b[0] * scale,
        a[1] + b[1] * scale,
        a[2] + b[2] * scale,
    ]
}

fn normalized(a: Vec3) -> Vec3 {
    let length = dot(a, a).sqrt();
    [a[0] / length, a[1] / length, a[2] / length]
}

fn lerp(a: Color, b: Color, fraction: f32) -> Color {
    [
        a[0] + (b[0] - a[0]) * fraction,
        a[1] + (b[1] - a[1]) * fraction,
        a[2] + (b[2] - a[2]) * fraction,
    ]
}

fn scaled(color: Color, factor: f32) -> Color {
    [color[0] * factor, color[1] * factor, color[2] * factor]
}

/// The background colour of the image row at `row_fraction` (0 = top edge, 1 = bottom edge).
pub(crate) fn sky_color(row_fraction: f32) -> Color {
    lerp(SKY_TOP, SKY_BOTTOM, row_fraction.clamp(0.0, 1.0))
}

/// Camera pose, light and floor: everything about the scene that does not move.
#[derive(Debug, Clone)]
pub(crate) struct Scene {
    /// Camera centre in the world.
    camera_in_world: Vec3,
    /// The camera's x, y and z axes expressed in the world.
    camera_axes_in_world: [Vec3; 3],
    /// Unit vector towards the light, in the camera frame.
    towards_light_in_camera: Vec3,
    /// The floor's upward unit normal, in the camera frame.
    floor_normal_in_camera: Vec3,
}

impl Default for Scene {
    fn default() -> Self {
        let (sin_pitch, cos_pitch) = CAMERA_PITCH_DEG.to_radians().sin_cos();
        let camera_axes_in_world = [
            [1.0, 0.0, 0.0],
            [0.0, -cos_pitch, -sin_pitch],
            [0.0, -sin_pitch, cos_pitch],
        ];
        let mut scene = Scene {
            camera_in_world: [0.0, CAMERA_HEIGHT_M, 0.0],
            camera_axes_in_world,
            towards_light_in_camera: [0.0; 3],
            floor_normal_in_camera: [0.0; 3],
        };
        scene.towards_light_in_camera =
            scene.camera_from_world_vector(normalized(TOWARDS_LIGHT_IN_WORLD));
        scene.floor_normal_in_camera = scene.camera_from_world_vector([0.0, 1.0, 0.0]);
        scene
    }
}

impl Scene {
    pub(crate) fn camera_from_world_vector(&self, vector_in_world: Vec3) -> Vec3 {
        let [x_axis, y_axis, z_axis] = self.camera_axes_in_world;
        [
            dot(vector_in_world, x_axis),
            dot(vector_in_world, y_axis),
            dot(vector_in_world, z_axis),
        ]
    }

    pub(crate) fn camera_from_world_point(&self, point_in_world: Vec3) -> Vec3 {
        self.camera_from_world_vector(sub(point_in_world, self.camera_in_world))
    }

    pub(crate) fn world_from_camera_point(&self, point_in_camera: Vec3) -> Vec3 {
        let [x_axis, y_axis, z_axis] = self.camera_axes_in_world;
        let point = add_scaled(self.camera_in_world, x_axis, point_in_camera[0]);
        let point = add_scaled(point, y_axis, point_in_camera[1]);
        add_scaled(point, z_axis, point_in_camera[2])
    }

    /// Depth of the floor along the ray `t * (x, y, 1)`; `f32::INFINITY` when the ray misses
    /// it or hits it beyond [`MAX_RANGE_M`]. Branch-free, so that loops over a row vectorise.
    #[inline(always)]
    pub(crate) fn floor_depth_m(&self, x: f32, y: f32) -> f32 {
        // The floor is n . p = -height in the camera frame (n its upward normal); with
        // p = t * d this gives t = height / -(n . d), a hit only for rays going down.
        let normal = self.floor_normal_in_camera;
        let downward = -(normal[0] * x + normal[1] * y + normal[2]);
        let depth_m = CAMERA_HEIGHT_M / downward;
        if downward > 0.0 && depth_m <= MAX_RANGE_M {
            depth_m
        } else {
            f32::INFINITY
        }
    }

    /// Colour of the floor hit at depth `depth_m` along the ray `t * (x, y, 1)`: a checker
    /// pattern, lit by the light, fading into `sky` with distance.
    pub(crate) fn floor_color(&self, x: f32, y: f32, depth_m: f32, sky: Color) -> Color {
        let point_in_world = self.world_from_camera_point([x * depth_m, y * depth_m, depth_m]);
        let column = (point_in_world[0] / CHECKER_SIZE_M).floor() as i64;
        let row = (point_in_world[2] / CHECKER_SIZE_M).floor() as i64;
        let albedo = if (column + row) & 1 == 0 {
            FLOOR_LIGHT
        } else {
            FLOOR_DARK
        };
        let lit = scaled(albedo, self.lambert(self.floor_normal_in_camera));
        let distance_fraction = depth_m / MAX_RANGE_M;
        lerp(
            lit,
            sky,
            FOG_AT_MAX_RANGE * distance_fraction * distance_fraction,
        )
    }

    /// Brightness factor of a surface with the given unit normal (camera frame).
    fn lambert(&self, normal_in_camera: Vec3) -> f32 {
        AMBIENT + DIFFUSE * dot(normal_in_camera, self.towards_light_in_camera).max(0.0)
    }

    /// The moving objects at scene time `time_s`, in the camera frame. Pure function of the
    /// time: the same time always gives the same scene.
    pub(crate) fn objects_at(&self, time_s: f64) -> [Object; OBJECT_COUNT] {
        // Phases in f64 so that hours of scene time do not turn into visible jitter.
        let wave = |rad_per_s: f64| (rad_per_s * time_s).sin() as f32;
        let wave_cos = |rad_per_s: f64| (rad_per_s * time_s).cos() as f32;

        // A red ball bouncing near the camera while drifting sideways.
        let red_radius_m = 0.25;
        let red = self.sphere(
            "red sphere",
            [
                -0.7 + 0.25 * wave(0.7),
                red_radius_m + 0.45 * wave(2.2).abs(),
                2.0,
            ],
            red_radius_m,
            RED,
        );

        // An orange cube spinning about the vertical and sliding left and right.
        let orange = self.cuboid(
            "orange cube",
            [0.55 + 0.3 * wave(0.45), 0.2, 2.9],
            (0.8 * time_s).rem_euclid(std::f64::consts::TAU) as f32,
            [0.2, 0.2, 0.2],
            ORANGE,
        );

        // A green ball rolling on a circle farther away.
        let green_radius_m = 0.35;
        let green = self.sphere(
            "green sphere",
            [
                -0.2 + 0.9 * wave_cos(0.35),
                green_radius_m,
                4.3 + 0.8 * wave(0.35),
            ],
            green_radius_m,
            GREEN,
        );

        // A blue ball floating against the sky at the back.
        let blue = self.sphere(
            "blue sphere",
            [-1.6, 1.3 + 0.25 * wave(0.9), 6.0],
            0.3,
            BLUE,
        );

        [red, orange, green, blue]
    }

    fn sphere(
        &self,
        name: &'static str,
        center_in_world: Vec3,
        radius_m: f32,
        albedo: Color,
    ) -> Object {
        let center = self.camera_from_world_point(center_in_world);
        let inverse_radius = 1.0 / radius_m;
        Object {
            shape: Shape::Sphere(Sphere {
                center,
                power_of_camera: dot(center, center) - radius_m * radius_m,
                albedo,
                light_over_radius: scaled(self.towards_light_in_camera, inverse_radius),
                center_light_over_radius: dot(center, self.towards_light_in_camera)
                    * inverse_radius,
            }),
            name,
            bounding_center: center,
            bounding_radius_m: radius_m,
            size_m: [2.0 * radius_m; 3],
        }
    }

    /// A box centred at `center_in_world`, turned by `yaw_rad` about the vertical.
    fn cuboid(
        &self,
        name: &'static str,
        center_in_world: Vec3,
        yaw_rad: f32,
        half_extents_m: Vec3,
        albedo: Color,
    ) -> Object {
        let (sin_yaw, cos_yaw) = yaw_rad.sin_cos();
        let axes = [
            self.camera_from_world_vector([cos_yaw, 0.0, -sin_yaw]),
            self.camera_from_world_vector([0.0, 1.0, 0.0]),
            self.camera_from_world_vector([sin_yaw, 0.0, cos_yaw]),
        ];
        let center = self.camera_from_world_point(center_in_world);
        // The camera centre in box coordinates: the origin of every ray.
        let camera_in_box = [
            -dot(center, axes[0]),
            -dot(center, axes[1]),
            -dot(center, axes[2]),
        ];
        // Flat faces under a directional light: one colour per face.
        let face_colors = std::array::from_fn(|face| {
            let normal = scaled(axes[face / 2], if face % 2 == 0 { -1.0 } else { 1.0 });
            scaled(albedo, self.lambert(normal))
        });
        Object {
            shape: Shape::Cuboid(Cuboid {
                axes,
                half_extents_m,
                camera_in_box,
                face_colors,
            }),
            name,
            bounding_center: center,
            bounding_radius_m: dot(half_extents_m, half_extents_m).sqrt(),
            // The extent along camera axis i of a box is the sum of its edges' projections.
            size_m: std::array::from_fn(|i| {
                2.0 * (0..3)
                    .map(|edge| axes[edge][i].abs() * half_extents_m[edge])
                    .sum::<f32>()
            }),
        }
    }
}

/// One moving object in the camera frame, for one scene time, with its shading precomputed.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    /// Its colour and shape in words ("red sphere"), for the ground truth.
    pub(crate) name: &'static str,
    pub(crate) shape: Shape,
    /// A sphere that contains the object: what the renderer projects to find its pixels. Its
    /// centre is the object's volumetric centre (both shapes are symmetric).
    pub(crate) bounding_center: Vec3,
    pub(crate) bounding_radius_m: f32,
    /// Axis-aligned size in the camera frame (along x, y, z).
    pub(crate) size_m: Vec3,
}

#[derive(Debug, Clone)]
pub(crate) enum Shape {
    Sphere(Sphere),
    Cuboid(Cuboid),
}

#[derive(Debug, Clone)]
pub(crate) struct Sphere {
    center: Vec3,
    /// `|center|^2 - radius^2`, the constant term of every ray's quadratic.
    power_of_camera: f32,
    albedo: Color,
    /// With n = (t d - c) / r: n . l = t (d . l / r) - (c . l) / r.
    light_over_radius: Vec3,
    center_light_over_radius: f32,
}

/// An oriented box.
#[derive(Debug, Clone)]
pub(crate) struct Cuboid {
    /// The box's unit axes in the camera frame.
    axes: [Vec3; 3],
    half_extents_m: Vec3,
    camera_in_box: Vec3,
    face_colors: [Color; 6],
}

/// Where a ray meets an object: the depth (`f32::INFINITY` for a miss), and for a box which
/// face (`2 * axis`, plus 1 for the face on the positive side of the axis).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hit {
    pub(crate) depth_m: f32,
    pub(crate) face: u8,
}

impl Hit {
    const MISS: Hit = Hit {
        depth_m: f32::INFINITY,
        face: 0,
    };
}

impl Sphere {
    /// The ray quadratic for the rays of one image row (normalised y `y`).
    #[inline(always)]
    pub(crate) fn row(&self, y: f32) -> SphereRow {
        let [cx, cy, cz] = self.center;
        SphereRow {
            cx,
            a_of_row: y * y + 1.0,
            half_b_of_row: cy * y + cz,
            power_of_camera: self.power_of_camera,
        }
    }

    #[inline(always)]
    fn color(&self, x: f32, y: f32, depth_m: f32) -> Color {
        let light = self.light_over_radius;
        let n_dot_l =
            depth_m * (x * light[0] + y * light[1] + light[2]) - self.center_light_over_radius;
        scaled(self.albedo, AMBIENT + DIFFUSE * n_dot_l.max(0.0))
    }
}

/// A sphere intersected with the rays of one image row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SphereRow {
    cx: f32,
    a_of_row: f32,
    half_b_of_row: f32,
    power_of_camera: f32,
}

impl SphereRow {
    /// The nearest hit in front of the camera along the ray `t * (x, y, 1)`. Branch-free, so
    /// that loops over a row vectorise.
    #[inline(always)]
    pub(crate) fn hit(&self, x: f32) -> Hit {
        // |t d - c|^2 = r^2  <=>  (d.d) t^2 - 2 (d.c) t + (c.c - r^2) = 0.
        let a = x * x + self.a_of_row;
        let half_b = self.cx * x + self.half_b_of_row;
        let discriminant = half_b * half_b - a * self.power_of_camera;
        let depth_m = (half_b - discriminant.max(0.0).sqrt()) / a;
        let hit = discriminant >= 0.0 && depth_m > 0.0;
        Hit {
            depth_m: if hit { depth_m } else { f32::INFINITY },
            face: 0,
        }
    }
}

impl Cuboid {
    /// The slab equations for the rays of one image row (normalised y `y`).
    #[inline(always)]
    pub(crate) fn row(&self, y: f32) -> CuboidRow {
        CuboidRow {
            along_per_x: self.axes.map(|axis| axis[0]),
            along_of_row: self.axes.map(|axis| axis[1] * y + axis[2]),
            near_offset: std::array::from_fn(|axis| {
                -self.half_extents_m[axis] - self.camera_in_box[axis]
            }),
            far_offset: std::array::from_fn(|axis| {
                self.half_extents_m[axis] - self.camera_in_box[axis]
            }),
        }
    }
}

/// A box intersected with the rays of one image row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CuboidRow {
    /// Per box axis: the ray direction's component along it is `x * along_per_x +
    /// along_of_row`.
    along_per_x: Vec3,
    along_of_row: Vec3,
    /// Per box axis: distances from the camera to the two faces, in box coordinates.
    near_offset: Vec3,
    far_offset: Vec3,
}

impl CuboidRow {
    /// The nearest hit in front of the camera along the ray `t * (x, y, 1)`: slab test in box
    /// coordinates, the face being the slab entered last. A ray parallel to a slab gets
    /// infinite (or, exactly on a face plane, NaN) slab distances, which the comparisons below
    /// treat correctly without a branch.
    #[inline(always)]
    pub(crate) fn hit(&self, x: f32) -> Hit {
        let mut entry = f32::NEG_INFINITY;
        let mut exit = f32::INFINITY;
        let mut face = 0;
        for axis in 0..3 {
            let inverse = 1.0 / (x * self.along_per_x[axis] + self.along_of_row[axis]);
            let near = self.near_offset[axis] * inverse;
            let far = self.far_offset[axis] * inverse;
            let (enter, leave, enter_face) = if near <= far {
                (near, far, 2 * axis as u8)
            } else {
                (far, near, 2 * axis as u8 + 1)
            };
            if enter > entry {
                entry = enter;
                face = enter_face;
            }
            exit = exit.min(leave);
        }
        if entry <= exit && entry > 0.0 {
            Hit {
                depth_m: entry,
                face,
            }
        } else {
            Hit::MISS
        }
    }
}

impl Object {
    /// The nearest hit in front of the camera along the ray `t * (x, y, 1)`, `None` for a
    /// miss. The renderer uses the per-row forms directly; this is the same computation.
    pub(crate) fn hit(&self, x: f32, y: f32) -> Option<Hit> {
        let hit = match &self.shape {
            Shape::Sphere(sphere) => sphere.row(y).hit(x),
            Shape::Cuboid(cuboid) => cuboid.row(y).hit(x),
        };
        hit.depth_m.is_finite().then_some(hit)
    }

    /// Colour (lit, before brightness) of the hit `hit` of the ray `t * (x, y, 1)`.
    #[inline]
    pub(crate) fn color(&self, x: f32, y: f32, hit: Hit) -> Color {
        match &self.shape {
            Shape::Sphere(sphere) => sphere.color(x, y, hit.depth_m),
            Shape::Cuboid(cuboid) => cuboid.face_colors[usize::from(hit.face) % 6],
        }
    }

    /// Signed distance-like measure from a point to the object's surface: 0 on the surface,
    /// negative inside. For the box it is the largest per-axis overshoot, exact on the faces.
    #[cfg(test)]
    pub(crate) fn surface_offset_m(&self, point_in_camera: Vec3) -> f32 {
        let offset = sub(point_in_camera, self.bounding_center);
        match &self.shape {
            // A sphere is its own bounding sphere.
            Shape::Sphere(_) => dot(offset, offset).sqrt() - self.bounding_radius_m,
            // The bounding sphere of a box is centred on it.
            Shape::Cuboid(cuboid) => (0..3)
                .map(|axis| dot(offset, cuboid.axes[axis]).abs() - cuboid.half_extents_m[axis])
                .fold(f32::NEG_INFINITY, f32::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_and_world_frames_round_trip() {
        let scene = Scene::default();
        let point_in_world = [0.3, 0.2, 2.5];
        let back = scene.world_from_camera_point(scene.camera_from_world_point(point_in_world));
        for axis in 0..3 {
            assert!((back[axis] - point_in_world[axis]).abs() < 1e-6);
        }
    }

    #[test]
    fn floor_hits_lie_on_the_floor() {
        let scene = Scene::default();
        for (x, y) in [(0.0, 0.3), (-0.5, 0.1), (0.4, -0.1)] {
            let depth_m = scene.floor_depth_m(x, y);
            assert!(depth_m.is_finite());
            let point = scene.world_from_camera_point([x * depth_m, y * depth_m, depth_m]);
            assert!(point[1].abs() < 1e-5, "{point:?}");
        }
        // Straight up never meets the floor.
        assert_eq!(scene.floor_depth_m(0.0, -2.0), f32::INFINITY);
    }

    #[test]
    fn objects_rest_on_or_float_above_the_floor_in_front_of_the_camera() {
        let scene = Scene::default();
        for step in 0..200 {
            for object in scene.objects_at(step as f64 * 0.37) {
                let center_in_world = scene.world_from_camera_point(object.bounding_center);
                assert!(center_in_world[1] >= 0.19, "{center_in_world:?}");
                assert!(object.bounding_center[2] > object.bounding_radius_m + 1.0);
            }
        }
    }

    #[test]
    fn ray_hits_land_on_the_surface() {
        let scene = Scene::default();
        for object in scene.objects_at(1.25) {
            let [cx, cy, cz] = object.bounding_center;
            let (x, y) = (cx / cz, cy / cz);
            let depth_m = object.hit(x, y).unwrap().depth_m;
            let offset = object.surface_offset_m([x * depth_m, y * depth_m, depth_m]);
            assert!(offset.abs() < 1e-4, "{offset}");
        }
    }
}
