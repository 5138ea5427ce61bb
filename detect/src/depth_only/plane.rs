//! The dominant plane of a point cloud: RANSAC over three-point hypotheses, refined by least
//! squares on the inliers.
//!
//! 1. RANSAC: `ransac_iterations` times, three distinct points drawn with a seeded
//!    [`XorShift64Star`] span a plane; it scores the number of points (of an even subsample of
//!    at most `ransac_scored_points`) within their inlier band of it. The best one wins (the
//!    first on ties).
//! 2. Refinement, twice: the plane through the centroid of the inliers (over all points)
//!    whose normal is the direction of least spread (the eigenvector of the smallest eigenvalue
//!    of their scatter matrix: total least squares, which treats a floor seen edge-on as well as
//!    a wall seen face-on).
//! 3. The plane is dominant when its final inliers are at least `min_plane_points` and
//!    `min_plane_fraction` of all points; otherwise there is none.

use super::params::DepthOnlyParams;
use super::rng::XorShift64Star;

/// Planes passing this close to the camera centre are refused: the camera sees them edge-on,
/// so they are no floor or table it looks at, and their side of the camera is ill-defined.
pub const MIN_PLANE_DISTANCE_M: f32 = 0.02;

/// Three points whose spanning vectors make a smaller sine of angle than this are collinear.
const MIN_SINE: f32 = 1e-3;

/// Refinement rounds after RANSAC.
const REFINEMENTS: usize = 2;

/// A plane in the camera frame: the points `p` with `normal . p + offset_m = 0`, `normal` a
/// unit vector pointing to the camera's side, so that the camera centre lies at the positive
/// height `offset_m`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plane {
    pub normal: [f32; 3],
    pub offset_m: f32,
}

/// A fitted dominant plane and its support.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaneFit {
    pub plane: Plane,
    /// Points within their inlier band of `plane`.
    pub inliers: usize,
    /// Points the fit was given.
    pub points: usize,
}

impl Plane {
    /// A plane from a normal (any length) and a point on it, oriented towards the camera;
    /// `None` for a zero or non-finite normal, or a plane within [`MIN_PLANE_DISTANCE_M`] of
    /// the camera centre.
    pub fn from_normal_and_point(normal: [f32; 3], point_m: [f32; 3]) -> Option<Plane> {
        let length = dot(normal, normal).sqrt();
        if !(length.is_finite() && length > 0.0) {
            return None;
        }
        let mut normal = normal.map(|component| component / length);
        let mut offset_m = -dot(normal, point_m);
        if !offset_m.is_finite() || offset_m.abs() < MIN_PLANE_DISTANCE_M {
            return None;
        }
        if offset_m < 0.0 {
            normal = normal.map(|component| -component);
            offset_m = -offset_m;
        }
        Some(Plane { normal, offset_m })
    }

    /// The plane through three points; `None` when they are (nearly) collinear or the plane
    /// passes (nearly) through the camera centre.
    pub fn through(a: [f32; 3], b: [f32; 3], c: [f32; 3]) -> Option<Plane> {
        let (ab, ac) = (sub(b, a), sub(c, a));
        let normal = cross(ab, ac);
        let scale = (dot(ab, ab) * dot(ac, ac)).sqrt();
        if dot(normal, normal).sqrt() <= MIN_SINE * scale {
            return None;
        }
        Plane::from_normal_and_point(normal, a)
    }

    /// Signed distance of `point_m` from the plane: positive on the camera's side.
    #[inline(always)]
    pub fn height_m(&self, point_m: [f32; 3]) -> f32 {
        dot(self.normal, point_m) + self.offset_m
    }
}

/// Fits the dominant plane of `points_m`, each of which counts as on a plane within its own
/// `bands_m` (same length). Deterministic: seeded with `params.ransac_seed`. `None` when there
/// are fewer than `params.min_plane_points` points or no plane holds enough of them.
pub fn fit_plane(
    points_m: &[[f32; 3]],
    bands_m: &[f32],
    params: &DepthOnlyParams,
) -> Option<PlaneFit> {
    let count = points_m.len().min(bands_m.len());
    let (points_m, bands_m) = (&points_m[..count], &bands_m[..count]);
    if count < params.min_plane_points.max(3) {
        return None;
    }
    let mut rng = XorShift64Star::new(params.ransac_seed);
    let scoring_step = count.div_ceil(params.ransac_scored_points.max(1));
    let mut best: Option<(Plane, usize)> = None;
    for _ in 0..params.ransac_iterations {
        let a = rng.below(count);
        let b = rng.below(count);
        let c = rng.below(count);
        if a == b || b == c || a == c {
            continue;
        }
        let Some(plane) = Plane::through(points_m[a], points_m[b], points_m[c]) else {
            continue;
        };
        let score = count_inliers(&plane, points_m, bands_m, scoring_step);
        if best.is_none_or(|(_, best_score)| score > best_score) {
            best = Some((plane, score));
        }
    }
    let (mut plane, _) = best?;
    for _ in 0..REFINEMENTS {
        match least_squares(&plane, points_m, bands_m) {
            Some(refined) => plane = refined,
            None => break,
        }
    }
    let inliers = count_inliers(&plane, points_m, bands_m, 1);
    let needed = params
        .min_plane_points
        .max((params.min_plane_fraction * count as f32).ceil() as usize);
    (inliers >= needed).then_some(PlaneFit {
        plane,
        inliers,
        points: count,
    })
}

/// Points within their band of `plane`, among every `step`-th one.
fn count_inliers(plane: &Plane, points_m: &[[f32; 3]], bands_m: &[f32], step: usize) -> usize {
    points_m
        .iter()
        .zip(bands_m)
        .step_by(step)
        .filter(|(point, band)| plane.height_m(**point).abs() <= **band)
        .count()
}

/// The total-least-squares plane of the inliers of `plane`; `None` when they are fewer than
/// three or degenerate (all on a line).
fn least_squares(plane: &Plane, points_m: &[[f32; 3]], bands_m: &[f32]) -> Option<Plane> {
    let mut count = 0usize;
    let mut sum = [0f64; 3];
    for (point, band) in points_m.iter().zip(bands_m) {
        if plane.height_m(*point).abs() <= *band {
            count += 1;
            for axis in 0..3 {
                sum[axis] += f64::from(point[axis]);
            }
        }
    }
    if count < 3 {
        return None;
    }
    let centroid = sum.map(|total| total / count as f64);
    let mut scatter = [[0f64; 3]; 3];
    for (point, band) in points_m.iter().zip(bands_m) {
        if plane.height_m(*point).abs() <= *band {
            let d: [f64; 3] = std::array::from_fn(|axis| f64::from(point[axis]) - centroid[axis]);
            for (row, scatter_row) in scatter.iter_mut().enumerate() {
                for (column, entry) in scatter_row.iter_mut().enumerate() {
                    *entry += d[row] * d[column];
                }
            }
        }
    }
    let normal = smallest_eigenvector(scatter)?;
    Plane::from_normal_and_point(normal.map(|c| c as f32), centroid.map(|c| c as f32))
}

/// The eigenvector of the smallest eigenvalue of a symmetric 3x3 matrix (not normalised);
/// `None` when it is not unique enough to compute (a degenerate point set). Eigenvalues in
/// closed form (trigonometric solution of the characteristic cubic), the vector as the
/// largest cross product of two rows of `m - lambda I`.
fn smallest_eigenvector(m: [[f64; 3]; 3]) -> Option<[f64; 3]> {
    let off_diagonal = m[0][1] * m[0][1] + m[0][2] * m[0][2] + m[1][2] * m[1][2];
    let q = (m[0][0] + m[1][1] + m[2][2]) / 3.0;
    let p2 =
        (m[0][0] - q).powi(2) + (m[1][1] - q).powi(2) + (m[2][2] - q).powi(2) + 2.0 * off_diagonal;
    let p = (p2 / 6.0).sqrt();
    if !(p.is_finite() && p > 0.0) {
        // A multiple of the identity: every direction is an eigenvector.
        return None;
    }
    let b: [[f64; 3]; 3] = std::array::from_fn(|row| {
        std::array::from_fn(|column| (m[row][column] - if row == column { q } else { 0.0 }) / p)
    });
    let det_b = b[0][0] * (b[1][1] * b[2][2] - b[1][2] * b[2][1])
        - b[0][1] * (b[1][0] * b[2][2] - b[1][2] * b[2][0])
        + b[0][2] * (b[1][0] * b[2][1] - b[1][1] * b[2][0]);
    let phi = (det_b / 2.0).clamp(-1.0, 1.0).acos() / 3.0;
    let smallest = q + 2.0 * p * (phi + 2.0 * std::f64::consts::FRAC_PI_3).cos();
    let rows: [[f64; 3]; 3] = std::array::from_fn(|row| {
        std::array::from_fn(|column| m[row][column] - if row == column { smallest } else { 0.0 })
    });
    let candidates = [
        cross64(rows[0], rows[1]),
        cross64(rows[0], rows[2]),
        cross64(rows[1], rows[2]),
    ];
    let norm2 = |v: &[f64; 3]| v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    let best = candidates
        .into_iter()
        .max_by(|a, b| norm2(a).total_cmp(&norm2(b)))?;
    // Relative to the matrix's scale: two rows (nearly) parallel means a repeated smallest
    // eigenvalue, i.e. points on a line.
    (norm2(&best) > 1e-18 * p2 * p2 && norm2(&best).is_finite()).then_some(best)
}

fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn cross64(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A floor 1.2 m below a camera pitched down, as points on a grid, with deterministic
    /// noise of up to `noise_m`.
    fn floor_points(noise_m: f32, rng: &mut XorShift64Star) -> (Plane, Vec<[f32; 3]>) {
        let pitch = 20f32.to_radians();
        // World up (0, 1, 0) seen from a camera pitched down: y points down in the camera.
        let up = [0.0, -pitch.cos(), -pitch.sin()];
        let plane = Plane {
            normal: up,
            offset_m: 1.2,
        };
        let mut points = Vec::new();
        for i in 0..60 {
            for j in 0..40 {
                // A point on the floor: x across, and forward along the floor's direction.
                let x = -2.0 + i as f32 * 0.07;
                let forward = 1.0 + j as f32 * 0.1;
                let along = [0.0, pitch.sin(), -pitch.cos()].map(|c| -c * forward);
                let base = up.map(|c| -c * 1.2);
                let jitter = (rng.below(2001) as f32 / 1000.0 - 1.0) * noise_m;
                points.push([
                    x + base[0] + along[0] + up[0] * jitter,
                    base[1] + along[1] + up[1] * jitter,
                    base[2] + along[2] + up[2] * jitter,
                ]);
            }
        }
        (plane, points)
    }

    fn angle_between(a: [f32; 3], b: [f32; 3]) -> f32 {
        dot(a, b).clamp(-1.0, 1.0).acos()
    }

    #[test]
    fn ransac_finds_a_noisy_floor_among_many_outliers() {
        let mut rng = XorShift64Star::new(3);
        let (truth, mut points) = floor_points(0.005, &mut rng);
        for point in &points {
            assert!(truth.height_m(*point).abs() < 0.0051);
        }
        let floor_count = points.len();
        // 40 % outliers: boxes standing on the floor and scattered points in the air.
        for _ in 0..floor_count * 2 / 3 {
            let x = rng.below(4000) as f32 / 1000.0 - 2.0;
            let y = rng.below(2000) as f32 / 1000.0 - 1.0;
            let z = rng.below(5000) as f32 / 1000.0 + 0.5;
            points.push([x, y, z]);
        }
        let bands = vec![0.02; points.len()];
        let params = DepthOnlyParams::default();
        let fit = fit_plane(&points, &bands, &params).unwrap();
        assert!(
            angle_between(fit.plane.normal, truth.normal) < 0.5f32.to_radians(),
            "{fit:?}"
        );
        assert!((fit.plane.offset_m - 1.2).abs() < 0.003, "{fit:?}");
        assert!(fit.inliers >= floor_count && fit.inliers < floor_count * 11 / 10);
        // Deterministic: the same points give the same plane.
        assert_eq!(fit_plane(&points, &bands, &params), Some(fit));
    }

    #[test]
    fn least_squares_recovers_an_exact_plane() {
        let mut rng = XorShift64Star::new(5);
        let (truth, points) = floor_points(0.0, &mut rng);
        let bands = vec![0.01; points.len()];
        let fit = fit_plane(&points, &bands, &DepthOnlyParams::default()).unwrap();
        assert!(angle_between(fit.plane.normal, truth.normal) < 1e-3);
        assert!((fit.plane.offset_m - truth.offset_m).abs() < 1e-4);
        assert_eq!(fit.inliers, points.len());
    }

    #[test]
    fn no_plane_in_too_few_points_or_in_scattered_ones() {
        let params = DepthOnlyParams::default();
        let few = vec![[0.0, 1.0, 2.0], [1.0, 1.0, 2.0], [0.0, 1.0, 3.0]];
        assert_eq!(fit_plane(&few, &[0.02; 3], &params), None);
        let mut rng = XorShift64Star::new(9);
        let cloud: Vec<[f32; 3]> = (0..3000)
            .map(|_| {
                [
                    rng.below(4000) as f32 / 1000.0 - 2.0,
                    rng.below(4000) as f32 / 1000.0 - 2.0,
                    rng.below(4000) as f32 / 1000.0 + 1.0,
                ]
            })
            .collect();
        // A 4 m cube of uniform points: any 4 cm slab holds about 1 % of them, not 20 %.
        assert_eq!(fit_plane(&cloud, &vec![0.02; 3000], &params), None);
    }

    #[test]
    fn three_points_orient_the_plane_towards_the_camera() {
        // The floor y = 1 (camera frame, y down): the camera is above it, so the normal points
        // up (negative y) and the camera's height is 1.
        let plane = Plane::through([0.0, 1.0, 1.0], [1.0, 1.0, 2.0], [-1.0, 1.0, 3.0]).unwrap();
        assert!((plane.normal[1] + 1.0).abs() < 1e-6 && (plane.offset_m - 1.0).abs() < 1e-6);
        assert!(plane.height_m([0.0, 0.5, 2.0]) > 0.0);
        // Collinear points and planes through the camera span nothing usable.
        assert_eq!(
            Plane::through([0.0, 1.0, 1.0], [0.0, 1.0, 2.0], [0.0, 1.0, 3.0]),
            None
        );
        assert_eq!(
            Plane::through([0.0, 0.0, 1.0], [1.0, 0.0, 2.0], [0.0, 0.0, 3.0]),
            None
        );
    }

    #[test]
    fn the_smallest_eigenvector_of_a_diagonal_scatter_is_its_thin_axis() {
        let v = smallest_eigenvector([[4.0, 0.0, 0.0], [0.0, 0.01, 0.0], [0.0, 0.0, 9.0]]).unwrap();
        let length = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        assert!((v[1].abs() / length - 1.0).abs() < 1e-9, "{v:?}");
        assert_eq!(
            smallest_eigenvector([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]),
            None
        );
    }
}
