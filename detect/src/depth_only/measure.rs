//! What one region is in pixels and in 3D: its pixel bounds, its points' centroid and
//! axis-aligned bounds, and their mean height above the plane; then its median depth.

pub use crate::position::median;

/// Running sums over one region's pixels.
#[derive(Debug, Clone, Copy)]
pub struct RegionStats {
    pub pixels: u32,
    /// Pixel bounds, inclusive.
    pub column_min: u32,
    pub column_max: u32,
    pub row_min: u32,
    pub row_max: u32,
    /// Sum of the points (camera frame, metres), for the centroid.
    pub sum_m: [f64; 3],
    /// Axis-aligned bounds of the points.
    pub min_m: [f32; 3],
    pub max_m: [f32; 3],
    /// Sum of the points' heights above the plane.
    pub sum_height_m: f64,
}

impl Default for RegionStats {
    fn default() -> Self {
        RegionStats {
            pixels: 0,
            column_min: u32::MAX,
            column_max: 0,
            row_min: u32::MAX,
            row_max: 0,
            sum_m: [0.0; 3],
            min_m: [f32::INFINITY; 3],
            max_m: [f32::NEG_INFINITY; 3],
            sum_height_m: 0.0,
        }
    }
}

impl RegionStats {
    /// Adds the pixel (column, row) whose point is `point_m`, `height_m` above the plane.
    #[inline(always)]
    pub fn add(&mut self, column: u32, row: u32, point_m: [f32; 3], height_m: f32) {
        self.pixels += 1;
        self.column_min = self.column_min.min(column);
        self.column_max = self.column_max.max(column);
        self.row_min = self.row_min.min(row);
        self.row_max = self.row_max.max(row);
        for (axis, &coordinate) in point_m.iter().enumerate() {
            self.sum_m[axis] += f64::from(coordinate);
            self.min_m[axis] = self.min_m[axis].min(coordinate);
            self.max_m[axis] = self.max_m[axis].max(coordinate);
        }
        self.sum_height_m += f64::from(height_m);
    }

    /// The mean of the region's points (0 for an empty region).
    pub fn centroid_m(&self) -> [f32; 3] {
        let count = f64::from(self.pixels.max(1));
        self.sum_m.map(|sum| (sum / count) as f32)
    }

    /// The mean height of the region's points above the plane.
    pub fn mean_height_m(&self) -> f32 {
        (self.sum_height_m / f64::from(self.pixels.max(1))) as f32
    }

    /// The longest side of the points' axis-aligned bounds.
    pub fn longest_side_m(&self) -> f32 {
        (0..3)
            .map(|axis| self.max_m[axis] - self.min_m[axis])
            .fold(0.0, f32::max)
    }

    /// The box `[x1, y1, x2, y2]` in continuous pixel coordinates: pixel column `c` spans
    /// `c..c + 1`, so columns `c0..=c1` give `x1 = c0`, `x2 = c1 + 1`.
    pub fn box_px(&self) -> [f32; 4] {
        [
            self.column_min as f32,
            self.row_min as f32,
            self.column_max as f32 + 1.0,
            self.row_max as f32 + 1.0,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_knows_its_bounds_centroid_and_height() {
        let mut stats = RegionStats::default();
        stats.add(10, 5, [0.0, 0.0, 2.0], 0.2);
        stats.add(12, 7, [0.2, -0.1, 2.2], 0.4);
        assert_eq!(stats.box_px(), [10.0, 5.0, 13.0, 8.0]);
        assert_eq!(stats.centroid_m(), [0.1, -0.05, 2.1]);
        assert!((stats.mean_height_m() - 0.3).abs() < 1e-6);
        assert_eq!(stats.min_m, [0.0, -0.1, 2.0]);
        assert_eq!(stats.max_m, [0.2, 0.0, 2.2]);
        assert!((stats.longest_side_m() - 0.2).abs() < 1e-6);
    }

    #[test]
    fn the_median_of_a_few_values() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5]), Some(5));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(3));
    }
}
