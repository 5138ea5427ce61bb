//! Rendering the scene into RGB8 and Z16 planes, cheaply.
//!
//! Ray casting every pixel costs about 6 ms at 640x480 and 20 ms at 1280x720 (20 to 60 % of a
//! core at 30 fps: the benchmark prints it as the first frame's time); instead:
//! 1. The static part (sky and floor) is ray cast once into a cached layer of colour and depth
//!    bytes. It is rebuilt only when the brightness changes (a new geometry means a new
//!    [`Renderer`]).
//! 2. Each frame restores the output planes to the cached layer, then ray casts the moving
//!    objects only where they can be. Restoring copies only what the renderer drew into those
//!    buffers last time (recognised by [`CapturedFrame::contents_id`](crate::CapturedFrame)):
//!    the rows and column spans its objects and the caller's stamp rows covered. Buffers it does
//!    not recognise get the whole layer (two `memcpy`s). The image of an object's bounding sphere is
//!    an ellipse; for every image row the renderer solves for the column interval of that
//!    ellipse (slightly enlarged, so it is conservative). Row by row, a small z-buffer starts
//!    from the cached static depth, each object is intersected over its own interval (one
//!    branch-free loop per shape, which the compiler vectorises), and only the pixels an
//!    object won are shaded and written.
//!
//! The result is bit-identical to ray casting every pixel (the tests compare against such a
//! reference renderer, with fresh and with reused buffers).

use std::sync::atomic::{AtomicU64, Ordering};

use shmproto::{Geometry, Intrinsics};

use super::scene::{sky_color, Color, Hit, Scene, Shape, MAX_RANGE_M, OBJECT_COUNT};

/// Depth plane units: millimetres.
const MM_PER_M: f32 = 1000.0;

/// Grows each bounding sphere before projecting it, so that rounding in the span computation
/// can never drop a pixel the object covers.
const BOUND_GROWTH_FACTOR: f32 = 1.01;
const BOUND_GROWTH_M: f32 = 0.002;

/// How many buffers' drawings the renderer remembers: more than the daemon's shared-memory
/// slots (4, `WriterConfig`'s default), which are the buffers it draws into. A buffer it has
/// forgotten is restored in full, which is only slower.
const REMEMBERED_DRAWINGS: usize = 8;

/// Contents ids, unique in the process so that no renderer mistakes another's buffers for its
/// own. 0 means unknown contents.
static NEXT_CONTENTS_ID: AtomicU64 = AtomicU64::new(1);

/// Columns `[start, end)` of one row: where each object may be, or their union as disjoint
/// spans; `(0, 0)` for none.
type RowSpans = [(usize, usize); OBJECT_COUNT];

/// What the renderer drew over the static layer into the buffers named `contents_id`.
#[derive(Debug)]
struct Drawing {
    contents_id: u64,
    /// Per row, the columns that may differ from the static layer (besides the first and last
    /// rows, which the caller may have changed).
    spans: Vec<RowSpans>,
}

/// The static layer, ready to copy.
#[derive(Debug)]
struct StaticLayer {
    /// The brightness baked into `rgb`.
    brightness: f32,
    rgb: Vec<u8>,
    depth: Vec<u8>,
}

/// Renders frames of one geometry.
#[derive(Debug)]
pub(crate) struct Renderer {
    width: usize,
    height: usize,
    intrinsics: Intrinsics,
    scene: Scene,
    /// Normalised image x of each column's pixel centre: `(u - ppx) / fx` (librealsense's
    /// pixel coordinates: integer coordinates are pixel centres).
    x_of_column: Vec<f32>,
    /// Normalised image y of each row's pixel centre: `(v - ppy) / fy`.
    y_of_row: Vec<f32>,
    static_layer: Option<StaticLayer>,
    /// The latest drawings over `static_layer`, oldest first.
    drawings: Vec<Drawing>,
    scratch: RowScratch,
}

/// Per-row z-buffer for the pixels the objects may cover, indexed by column.
#[derive(Debug, Default)]
struct RowScratch {
    /// Depth of the nearest surface found so far.
    depth_m: Vec<f32>,
    /// Which object and face that surface is, `object_index << 3 | face`; [`NO_OBJECT`] for
    /// the static layer.
    owner: Vec<u8>,
}

const NO_OBJECT: u8 = u8::MAX;

/// Which pixels of the image a moving object may cover.
#[derive(Debug, Clone, Copy)]
struct Footprint {
    rows: (usize, usize),
    /// Set when the bounding sphere comes so close to the camera plane that its image is not a
    /// bounded ellipse: every pixel of `rows` is then a candidate.
    whole_rows: bool,
    center: [f32; 3],
    radius_m: f32,
}

impl Renderer {
    /// A renderer for `geometry` seen through `intrinsics` (which must describe the same size).
    pub(crate) fn new(geometry: &Geometry, intrinsics: Intrinsics) -> Self {
        let x_of_column = (0..geometry.width)
            .map(|u| (u as f32 - intrinsics.ppx) / intrinsics.fx)
            .collect();
        let y_of_row = (0..geometry.height)
            .map(|v| (v as f32 - intrinsics.ppy) / intrinsics.fy)
            .collect();
        Renderer {
            width: geometry.width as usize,
            height: geometry.height as usize,
            intrinsics,
            scene: Scene::default(),
            x_of_column,
            y_of_row,
            static_layer: None,
            drawings: Vec::new(),
            scratch: RowScratch {
                depth_m: vec![0.0; geometry.width as usize],
                owner: vec![NO_OBJECT; geometry.width as usize],
            },
        }
    }

    pub(crate) fn scene(&self) -> &Scene {
        &self.scene
    }

    /// Fills `rgb` and `depth` with the static layer alone: the floor and the sky, without the
    /// moving objects. Same sizes and `contents_id` contract as [`Renderer::render`].
    pub(crate) fn render_static(
        &mut self,
        brightness: f32,
        rgb: &mut [u8],
        depth: &mut [u8],
        contents_id: &mut u64,
    ) -> Result<(), String> {
        self.check_sizes(rgb, depth)?;
        let layer = self.static_layer_for(brightness);
        rgb.copy_from_slice(&layer.rgb);
        depth.copy_from_slice(&layer.depth);
        // Not one of this renderer's drawings: the next `render` into these buffers restores
        // them in full.
        *contents_id = 0;
        self.static_layer = Some(layer);
        Ok(())
    }

    fn check_sizes(&self, rgb: &[u8], depth: &[u8]) -> Result<(), String> {
        let pixel_count = self.width * self.height;
        if rgb.len() != pixel_count * 3 || depth.len() != pixel_count * 2 {
            return Err(format!(
                "frame buffers of {} and {} bytes do not fit {}x{} pixels",
                rgb.len(),
                depth.len(),
                self.width,
                self.height
            ));
        }
        Ok(())
    }

    /// The static layer for `brightness`, taken out of the renderer (put it back after use):
    /// the cached one, or a new one (forgetting every drawing, which was over the old layer).
    fn static_layer_for(&mut self, brightness: f32) -> StaticLayer {
        match self.static_layer.take() {
            Some(layer) if layer.brightness.to_bits() == brightness.to_bits() => layer,
            _ => {
                self.drawings.clear();
                self.render_static_layer(brightness)
            }
        }
    }

    /// Renders the scene at `time_s` into `rgb` (RGB8) and `depth` (little-endian Z16 in
    /// millimetres, 0 = nothing within range). The planes must have exactly the geometry's
    /// sizes; returns a description of the mismatch otherwise.
    ///
    /// `contents_id` names what the planes hold: an id this renderer handed out for them
    /// earlier (their contents untouched since, but for the first and last rows, where the
    /// caller may write), or anything else for unknown contents. It is set to the id of the new
    /// contents.
    pub(crate) fn render(
        &mut self,
        time_s: f64,
        brightness: f32,
        rgb: &mut [u8],
        depth: &mut [u8],
        contents_id: &mut u64,
    ) -> Result<(), String> {
        self.check_sizes(rgb, depth)?;
        let layer = self.static_layer_for(brightness);
        let previous = self
            .drawings
            .iter()
            .position(|drawing| drawing.contents_id == *contents_id)
            .map(|index| self.drawings.remove(index));
        *contents_id = 0;
        let mut drawn = match previous {
            Some(drawing) => {
                self.restore(&layer, &drawing.spans, rgb, depth);
                drawing.spans
            }
            None => {
                rgb.copy_from_slice(&layer.rgb);
                depth.copy_from_slice(&layer.depth);
                Vec::with_capacity(self.height)
            }
        };
        drawn.clear();
        drawn.resize(self.height, [(0, 0); OBJECT_COUNT]);

        let objects = self.scene.objects_at(time_s);
        let footprints = objects
            .each_ref()
            .map(|object| self.footprint(object.bounding_center, object.bounding_radius_m));
        let occupied_rows = footprints
            .iter()
            .map(|f| f.rows)
            .filter(|rows| rows.0 < rows.1);
        let first_row = occupied_rows.clone().map(|rows| rows.0).min().unwrap_or(0);
        let end_row = occupied_rows.map(|rows| rows.1).max().unwrap_or(0);
        let mut scratch = std::mem::take(&mut self.scratch);
        for (v, drawn_spans) in drawn.iter_mut().enumerate().take(end_row).skip(first_row) {
            let y = self.y_of_row[v];
            let spans = footprints.map(|footprint| self.row_span(&footprint, v, y));
            // Objects far apart leave the pixels between them alone.
            let covered = disjoint_union(spans);
            if covered[0].0 >= covered[0].1 {
                continue;
            }
            *drawn_spans = covered;
            let covered = covered.into_iter().filter(|span| span.0 < span.1);
            let row_start = v * self.width;

            // Z-buffer the row: static depth first, then each object over its span, in object
            // order with a strict comparison (the same decisions as `render_reference`). The
            // floor depth is recomputed (one division, vectorised) rather than cached: it is
            // the very f32 the static layer used, and cheaper than reading another cache.
            for (start, end) in covered.clone() {
                for (nearest, &x) in scratch.depth_m[start..end]
                    .iter_mut()
                    .zip(&self.x_of_column[start..end])
                {
                    *nearest = self.scene.floor_depth_m(x, y).min(MAX_RANGE_M);
                }
                scratch.owner[start..end].fill(NO_OBJECT);
            }
            for (index, (object, &(span_start, span_end))) in objects.iter().zip(&spans).enumerate()
            {
                let xs = &self.x_of_column[span_start..span_end];
                let nearest = &mut scratch.depth_m[span_start..span_end];
                let owner = &mut scratch.owner[span_start..span_end];
                // One loop per shape, so that the per-pixel code has no dispatch.
                match &object.shape {
                    Shape::Sphere(sphere) => {
                        let row = sphere.row(y);
                        cast_span(|x| row.hit(x), index, xs, nearest, owner)
                    }
                    Shape::Cuboid(cuboid) => {
                        let row = cuboid.row(y);
                        cast_span(|x| row.hit(x), index, xs, nearest, owner)
                    }
                }
            }

            // Shade the pixels an object won.
            for (start, end) in covered {
                for u in start..end {
                    let owner = scratch.owner[u];
                    let Some(object) = objects.get(usize::from(owner >> 3)) else {
                        continue;
                    };
                    let x = self.x_of_column[u];
                    let hit = Hit {
                        depth_m: scratch.depth_m[u],
                        face: owner & 7,
                    };
                    write_pixel(
                        rgb,
                        depth,
                        row_start + u,
                        object.color(x, y, hit),
                        brightness,
                        hit.depth_m,
                    );
                }
            }
        }
        self.scratch = scratch;
        self.static_layer = Some(layer);
        if self.drawings.len() == REMEMBERED_DRAWINGS {
            self.drawings.remove(0);
        }
        *contents_id = NEXT_CONTENTS_ID.fetch_add(1, Ordering::Relaxed);
        self.drawings.push(Drawing {
            contents_id: *contents_id,
            spans: drawn,
        });
        Ok(())
    }

    /// Copies the static layer over the first and last rows and over every span a drawing
    /// covered.
    fn restore(&self, layer: &StaticLayer, spans: &[RowSpans], rgb: &mut [u8], depth: &mut [u8]) {
        let width = self.width;
        let last_row = self.height - 1;
        let edge_rows = [(0, (0, width)), (last_row, (0, width))];
        let object_spans = spans
            .iter()
            .enumerate()
            .flat_map(|(v, row)| row.iter().map(move |&span| (v, span)))
            .filter(|(_, (start, end))| start < end);
        for (v, (start, end)) in edge_rows.into_iter().chain(object_spans) {
            let pixels = v * width + start..v * width + end;
            let colour = pixels.start * 3..pixels.end * 3;
            let depth_bytes = pixels.start * 2..pixels.end * 2;
            rgb[colour.clone()].copy_from_slice(&layer.rgb[colour]);
            depth[depth_bytes.clone()].copy_from_slice(&layer.depth[depth_bytes]);
        }
    }

    /// Ray casts the sky and the floor for every pixel.
    fn render_static_layer(&self, brightness: f32) -> StaticLayer {
        let started = std::time::Instant::now();
        let pixel_count = self.width * self.height;
        let mut layer = StaticLayer {
            brightness,
            rgb: vec![0; pixel_count * 3],
            depth: vec![0; pixel_count * 2],
        };
        for v in 0..self.height {
            for u in 0..self.width {
                let index = v * self.width + u;
                let (color, depth_m) = self.static_pixel(u, v);
                write_pixel(
                    &mut layer.rgb,
                    &mut layer.depth,
                    index,
                    color,
                    brightness,
                    depth_m,
                );
            }
        }
        tracing::debug!(
            width = self.width,
            height = self.height,
            elapsed = ?started.elapsed(),
            "synthetic scene: ray cast the static layer"
        );
        layer
    }

    /// Colour and depth of the sky or floor at a pixel (depth infinite for the sky).
    fn static_pixel(&self, u: usize, v: usize) -> (Color, f32) {
        let (x, y) = (self.x_of_column[u], self.y_of_row[v]);
        let sky = sky_color((v as f32 + 0.5) / self.height as f32);
        let depth_m = self.scene.floor_depth_m(x, y);
        if depth_m.is_finite() {
            (self.scene.floor_color(x, y, depth_m, sky), depth_m)
        } else {
            (sky, depth_m)
        }
    }

    /// The rows a sphere (an object's bounding sphere) may cover, from its tangent planes.
    fn footprint(&self, center: [f32; 3], radius_m: f32) -> Footprint {
        let radius_m = radius_m * BOUND_GROWTH_FACTOR + BOUND_GROWTH_M;
        let [_, cy, cz] = center;
        let mut footprint = Footprint {
            rows: (0, self.height),
            whole_rows: true,
            center,
            radius_m,
        };
        if cz + radius_m <= 0.0 {
            // Entirely behind the camera.
            footprint.rows = (0, 0);
            return footprint;
        }
        // Keep a margin from the camera plane so the denominators below stay well away from 0.
        if cz <= radius_m * 1.05 {
            return footprint;
        }
        // Planes y = m z through the camera tangent to the sphere:
        // m = (cy cz +- r sqrt(cy^2 + cz^2 - r^2)) / (cz^2 - r^2).
        let denominator = cz * cz - radius_m * radius_m;
        let root = radius_m * (cy * cy + denominator).sqrt();
        let y_min = (cy * cz - root) / denominator;
        let y_max = (cy * cz + root) / denominator;
        footprint.rows = self.pixel_range(
            y_min,
            y_max,
            self.intrinsics.fy,
            self.intrinsics.ppy,
            self.height,
        );
        footprint.whole_rows = false;
        footprint
    }

    /// Columns `[start, end)` of row `v` (normalised y `y`) whose rays may hit the footprint's
    /// sphere; `(0, 0)` when none.
    fn row_span(&self, footprint: &Footprint, v: usize, y: f32) -> (usize, usize) {
        if !(footprint.rows.0..footprint.rows.1).contains(&v) {
            return (0, 0);
        }
        if footprint.whole_rows {
            return (0, self.width);
        }
        // The ray (x, y, 1) meets the sphere iff its distance to the centre is at most r:
        // (|c|^2 - r^2) |d|^2 - (c.d)^2 <= 0, a quadratic a x^2 - 2 b x + c <= 0 in x.
        let [cx, cy, cz] = footprint.center;
        let power = cx * cx + cy * cy + cz * cz - footprint.radius_m * footprint.radius_m;
        let center_along_row = cy * y + cz;
        let a = power - cx * cx;
        let b = cx * center_along_row;
        let c = power * (y * y + 1.0) - center_along_row * center_along_row;
        let discriminant = b * b - a * c;
        if discriminant < 0.0 || a <= 0.0 {
            return (0, 0);
        }
        let root = discriminant.sqrt();
        self.pixel_range(
            (b - root) / a,
            (b + root) / a,
            self.intrinsics.fx,
            self.intrinsics.ppx,
            self.width,
        )
    }

    /// Pixels `[start, end)` whose centres' normalised coordinate lies in `[low, high]`, one
    /// extra pixel on each side, clamped to `[0, size)`.
    fn pixel_range(
        &self,
        low: f32,
        high: f32,
        focal: f32,
        principal: f32,
        size: usize,
    ) -> (usize, usize) {
        // Pixel centre p maps to (p - principal) / focal.
        let first = (low * focal + principal).floor() - 1.0;
        let last = (high * focal + principal).ceil() + 1.0;
        // Float-to-int casts saturate (and map NaN to 0), so the clamps below are total.
        let start = first.max(0.0) as usize;
        let end = (last + 1.0).max(0.0) as usize;
        (start.min(size), end.min(size))
    }

    /// Ray casts every pixel against the floor and every object: the slow reference that the
    /// fast path must match exactly.
    #[cfg(test)]
    pub(crate) fn render_reference(
        &self,
        time_s: f64,
        brightness: f32,
        rgb: &mut [u8],
        depth: &mut [u8],
    ) {
        let objects = self.scene.objects_at(time_s);
        for v in 0..self.height {
            for u in 0..self.width {
                let index = v * self.width + u;
                let (x, y) = (self.x_of_column[u], self.y_of_row[v]);
                let (mut color, mut depth_m) = self.static_pixel(u, v);
                let mut nearest_depth_m = depth_m.min(MAX_RANGE_M);
                for object in &objects {
                    if let Some(hit) = object.hit(x, y) {
                        if hit.depth_m < nearest_depth_m {
                            nearest_depth_m = hit.depth_m;
                            color = object.color(x, y, hit);
                            depth_m = hit.depth_m;
                        }
                    }
                }
                write_pixel(rgb, depth, index, color, brightness, depth_m);
            }
        }
    }
}

/// The pixels covered by any of `spans`, as disjoint spans from left to right, then empty
/// ones `(0, 0)`.
fn disjoint_union(mut spans: RowSpans) -> RowSpans {
    spans.sort_unstable_by_key(|&(start, end)| (start >= end, start));
    let mut union = [(0, 0); OBJECT_COUNT];
    let mut count: usize = 0;
    for (start, end) in spans.into_iter().filter(|span| span.0 < span.1) {
        match count.checked_sub(1).map(|last| &mut union[last]) {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => {
                union[count] = (start, end);
                count += 1;
            }
        }
    }
    union
}

/// Ray casts one object over a span of a row: wherever `hit` (the object's intersection as a
/// function of the normalised image x) is nearer than `nearest`, records it as object `index`.
/// Written with selects rather than branches so that the compiler can vectorise it.
#[inline(always)]
fn cast_span(
    hit: impl Fn(f32) -> Hit,
    index: usize,
    xs: &[f32],
    nearest: &mut [f32],
    owner: &mut [u8],
) {
    let index = (index as u8) << 3;
    for ((&x, nearest), owner) in xs.iter().zip(nearest).zip(owner) {
        let hit = hit(x);
        let nearer = hit.depth_m < *nearest;
        *nearest = if nearer { hit.depth_m } else { *nearest };
        *owner = if nearer { index | hit.face } else { *owner };
    }
}

/// Writes one pixel: colour scaled by `brightness` and rounded, depth in millimetres (0 for an
/// infinite depth).
#[inline(always)]
fn write_pixel(
    rgb: &mut [u8],
    depth: &mut [u8],
    index: usize,
    color: Color,
    brightness: f32,
    depth_m: f32,
) {
    // Colours and brightness are never negative; clamping above lets the compiler drop the
    // saturation checks of `as u8` (which would map anything above 255 to 255 anyway).
    let channel = |value: f32| (value * brightness + 0.5).min(255.0) as u8;
    rgb[index * 3..index * 3 + 3].copy_from_slice(&color.map(channel));
    depth[index * 2..index * 2 + 2].copy_from_slice(&depth_mm(depth_m).to_le_bytes());
}

/// Depth in millimetres for the Z16 plane: 0 for "nothing" (infinite or beyond range), at least
/// 1 for any measured surface.
pub(crate) fn depth_mm(depth_m: f32) -> u16 {
    if depth_m.is_finite() && depth_m <= MAX_RANGE_M {
        // Adding 0.5 and truncating rounds (depth is positive) without a libm call.
        ((depth_m * MM_PER_M + 0.5) as u16).max(1)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_both(
        width: u32,
        height: u32,
        time_s: f64,
        brightness: f32,
    ) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
        let geometry = Geometry::rgbd(width, height);
        let intrinsics =
            Intrinsics::pinhole_from_fov(width, height, super::super::HORIZONTAL_FOV_DEG);
        let mut renderer = Renderer::new(&geometry, intrinsics);
        let mut fast = (vec![0; geometry.color_len()], vec![0; geometry.depth_len()]);
        let mut slow = (vec![0; geometry.color_len()], vec![0; geometry.depth_len()]);
        renderer
            .render(time_s, brightness, &mut fast.0, &mut fast.1, &mut 0)
            .unwrap();
        renderer.render_reference(time_s, brightness, &mut slow.0, &mut slow.1);
        (fast.0, fast.1, slow.0, slow.1)
    }

    #[test]
    fn fast_path_matches_full_ray_cast_exactly() {
        // Several times so that objects overlap each other and the edges differently.
        for (width, height) in [(320, 240), (640, 480), (173, 97)] {
            for step in 0..12 {
                let time_s = step as f64 * 1.7;
                let (fast_rgb, fast_depth, slow_rgb, slow_depth) =
                    render_both(width, height, time_s, 1.0);
                assert!(
                    fast_rgb == slow_rgb,
                    "colour differs at {width}x{height}, t = {time_s}"
                );
                assert!(
                    fast_depth == slow_depth,
                    "depth differs at {width}x{height}, t = {time_s}"
                );
            }
        }
    }

    /// Buffers in rotation, as in the daemon: the renderer restores only what it drew into each
    /// last time, and the result equals a full ray cast. Also with a brightness change, stamp
    /// rows scribbled on by the caller, and a buffer of another renderer.
    #[test]
    fn reused_buffers_match_a_full_ray_cast() {
        let (width, height) = (320, 240);
        let geometry = Geometry::rgbd(width, height);
        let intrinsics = Intrinsics::pinhole_from_fov(width, height, 69.0);
        let mut renderer = Renderer::new(&geometry, intrinsics);
        let mut other = Renderer::new(&geometry, intrinsics);
        let fresh = || {
            (
                vec![0; geometry.color_len()],
                vec![0; geometry.depth_len()],
                0u64,
            )
        };
        let mut buffers = [fresh(), fresh(), fresh()];
        let mut reference = fresh();
        for step in 0..40usize {
            let time_s = step as f64 * 0.37;
            let brightness = if (17..25).contains(&step) { 0.7 } else { 1.0 };
            let buffer = &mut buffers[step % 3];
            if step == 29 {
                // This one comes back from another renderer's hands.
                other
                    .render(9.0, 1.0, &mut buffer.0, &mut buffer.1, &mut buffer.2)
                    .unwrap();
            }
            renderer
                .render(
                    time_s,
                    brightness,
                    &mut buffer.0,
                    &mut buffer.1,
                    &mut buffer.2,
                )
                .unwrap();
            assert_ne!(buffer.2, 0);
            renderer.render_reference(time_s, brightness, &mut reference.0, &mut reference.1);
            assert!(buffer.0 == reference.0, "colour differs at step {step}");
            assert!(buffer.1 == reference.1, "depth differs at step {step}");
            // The caller stamps the first and last rows.
            buffer.0[..30].fill(255);
            let last_row = (height as usize - 1) * width as usize * 2;
            buffer.1[last_row..last_row + 10].fill(7);
        }
    }

    /// Whether the ray through pixel (u, v) meets the sphere, in f64 without any growth.
    fn ray_meets_sphere(
        renderer: &Renderer,
        u: usize,
        v: usize,
        center: [f32; 3],
        radius_m: f32,
    ) -> bool {
        let d = [
            f64::from(renderer.x_of_column[u]),
            f64::from(renderer.y_of_row[v]),
            1.0,
        ];
        let c = center.map(f64::from);
        let d_d = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        let c_d = c[0] * d[0] + c[1] * d[1] + c[2] * d[2];
        let c_c = c[0] * c[0] + c[1] * c[1] + c[2] * c[2];
        // Only hits in front of the camera count (t > 0): the nearest point of the ray to the
        // centre is in front, or the camera is inside the sphere.
        let r2 = f64::from(radius_m).powi(2);
        (c_c - c_d * c_d / d_d <= r2) && (c_d > 0.0 || c_c <= r2)
    }

    #[test]
    fn spans_cover_every_pixel_a_sphere_covers() {
        let geometry = Geometry::rgbd(160, 120);
        let renderer = Renderer::new(&geometry, Intrinsics::pinhole_from_fov(160, 120, 69.0));
        let mut seed = 7u64;
        let mut random = move |low: f32, high: f32| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            low + (high - low) * ((seed >> 40) as f32 / (1u64 << 24) as f32)
        };
        let (mut covered, mut tested) = (0, 0);
        for _ in 0..300 {
            // Spheres far and near, off screen, touching and crossing the camera plane.
            let center = [random(-3.0, 3.0), random(-2.0, 2.0), random(-0.5, 6.0)];
            let radius_m = random(0.05, 1.0);
            let footprint = renderer.footprint(center, radius_m);
            for v in 0..120 {
                let span = renderer.row_span(&footprint, v, renderer.y_of_row[v]);
                for u in 0..160 {
                    if ray_meets_sphere(&renderer, u, v, center, radius_m) {
                        assert!(
                            (span.0..span.1).contains(&u),
                            "pixel ({u}, {v}) of sphere {center:?} r {radius_m} outside {span:?}"
                        );
                        covered += 1;
                    }
                    tested += 1;
                }
            }
        }
        assert!(
            covered > 10_000 && covered < tested / 2,
            "{covered} of {tested}"
        );
    }

    #[test]
    fn brightness_change_rebuilds_the_static_layer() {
        let geometry = Geometry::rgbd(320, 240);
        let intrinsics = Intrinsics::pinhole_from_fov(320, 240, 69.0);
        let mut renderer = Renderer::new(&geometry, intrinsics);
        let mut planes = (vec![0; geometry.color_len()], vec![0; geometry.depth_len()]);
        renderer
            .render(0.0, 1.0, &mut planes.0, &mut planes.1, &mut 0)
            .unwrap();
        let bright_sky = planes.0[..3].to_vec();
        renderer
            .render(0.0, 0.5, &mut planes.0, &mut planes.1, &mut 0)
            .unwrap();
        let dim_sky = planes.0[..3].to_vec();
        for channel in 0..3 {
            assert!(dim_sky[channel].abs_diff(bright_sky[channel] / 2) <= 1);
        }
        let (_, _, slow_rgb, _) = render_both(320, 240, 0.0, 0.5);
        assert!(planes.0 == slow_rgb);
    }

    #[test]
    fn wrong_buffer_sizes_are_reported() {
        let geometry = Geometry::rgbd(320, 240);
        let mut renderer = Renderer::new(&geometry, Intrinsics::pinhole_from_fov(320, 240, 69.0));
        let mut rgb = vec![0; 10];
        let mut depth = vec![0; geometry.depth_len()];
        assert!(renderer
            .render(0.0, 1.0, &mut rgb, &mut depth, &mut 0)
            .is_err());
    }

    #[test]
    fn spans_merge_into_disjoint_spans_in_order() {
        assert_eq!(
            disjoint_union([(50, 60), (0, 0), (5, 10), (8, 20)]),
            [(5, 20), (50, 60), (0, 0), (0, 0)]
        );
        assert_eq!(
            disjoint_union([(30, 40), (20, 30), (0, 0), (7, 3)]),
            [(20, 40), (0, 0), (0, 0), (0, 0)]
        );
        assert_eq!(
            disjoint_union([(0, 0); OBJECT_COUNT]),
            [(0, 0); OBJECT_COUNT]
        );
    }

    #[test]
    fn depth_is_quantised_to_millimetres_with_zero_for_nothing() {
        assert_eq!(depth_mm(1.2344), 1234);
        assert_eq!(depth_mm(1.2346), 1235);
        assert_eq!(depth_mm(f32::INFINITY), 0);
        assert_eq!(depth_mm(MAX_RANGE_M + 0.1), 0);
        assert_eq!(depth_mm(0.0001), 1);
    }
}
