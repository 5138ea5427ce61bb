//! Connected regions of a depth image: pixels with depth, joined to their 8 neighbours when
//! the depths are continuous (differ by at most a fraction of the nearer one).
//!
//! Two passes over the image with a union-find over provisional labels (the classic
//! Rosenfeld-Pfaltz labelling): the first pass gives each pixel the label of an already
//! visited neighbour (west, north-west, north, north-east) it joins, merging labels when it
//! joins several, or a new one; the roots are then numbered `1..=count` in the order of their
//! first pixel (row-major) and the second pass writes those numbers. Every buffer is kept
//! between frames.

/// The regions of the last labelled image.
#[derive(Debug, Default)]
pub struct Regions {
    /// Per pixel: its region, `1..=count`, or 0 for a pixel without depth.
    labels: Vec<u32>,
    /// Union-find over provisional labels; `parent[label] <= label`, roots point to
    /// themselves. Index 0 is unused.
    parent: Vec<u32>,
    count: usize,
}

impl Regions {
    /// Labels `depth` (`width` x `height`, row by row; 0 = not part of any region): two
    /// neighbouring non-zero pixels are in one region when their depths differ by at most
    /// `step_fraction` times the smaller one.
    pub fn label(&mut self, width: usize, height: usize, depth: &[u16], step_fraction: f32) {
        let pixels = width * height;
        let depth = &depth[..pixels.min(depth.len())];
        self.labels.clear();
        self.labels.resize(depth.len(), 0);
        self.parent.clear();
        self.parent.push(0);
        let joins = |a: u16, b: u16| {
            let (a, b) = (f32::from(a), f32::from(b));
            (a - b).abs() <= step_fraction * a.min(b)
        };
        for (index, &here) in depth.iter().enumerate() {
            if here == 0 {
                continue;
            }
            let column = index % width;
            let mut label = 0u32;
            let mut visit = |neighbour: usize, labels: &[u32], parent: &mut Vec<u32>| {
                let theirs = labels[neighbour];
                if theirs == 0 || !joins(here, depth[neighbour]) {
                    return;
                }
                if label == 0 {
                    label = theirs;
                } else if label != theirs {
                    union(parent, label, theirs);
                }
            };
            if column > 0 {
                visit(index - 1, &self.labels, &mut self.parent);
            }
            if index >= width {
                let above = index - width;
                if column > 0 {
                    visit(above - 1, &self.labels, &mut self.parent);
                }
                visit(above, &self.labels, &mut self.parent);
                if column + 1 < width {
                    visit(above + 1, &self.labels, &mut self.parent);
                }
            }
            if label == 0 {
                label = self.parent.len() as u32;
                self.parent.push(label);
            }
            self.labels[index] = label;
        }
        // Number the roots in label order; a non-root's parent is smaller, so already numbered:
        // `parent` becomes the map from provisional label to region.
        let mut count = 0u32;
        for label in 1..self.parent.len() {
            let up = self.parent[label] as usize;
            self.parent[label] = if up == label {
                count += 1;
                count
            } else {
                self.parent[up]
            };
        }
        self.count = count as usize;
        for label in &mut self.labels {
            *label = self.parent[*label as usize];
        }
    }

    /// Per pixel, its region `1..=count()`, or 0.
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// How many regions the last image had.
    pub fn count(&self) -> usize {
        self.count
    }
}

/// The root of `label`, halving the path on the way.
fn find(parent: &mut [u32], mut label: u32) -> u32 {
    while parent[label as usize] != label {
        let grandparent = parent[parent[label as usize] as usize];
        parent[label as usize] = grandparent;
        label = grandparent;
    }
    label
}

/// Merges the sets of `a` and `b`, the smaller root becoming the root.
fn union(parent: &mut [u32], a: u32, b: u32) {
    let (a, b) = (find(parent, a), find(parent, b));
    let (root, child) = if a < b { (a, b) } else { (b, a) };
    parent[child as usize] = root;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels a picture: '.' no depth, digits depth in metres (times 1000 as units).
    fn label(picture: &[&str], step_fraction: f32) -> (Regions, Vec<u32>) {
        let width = picture[0].len();
        let depth: Vec<u16> = picture
            .iter()
            .flat_map(|row| row.chars())
            .map(|c| c.to_digit(10).map_or(0, |metres| metres as u16 * 1000))
            .collect();
        let mut regions = Regions::default();
        regions.label(width, picture.len(), &depth, step_fraction);
        let labels = regions.labels().to_vec();
        (regions, labels)
    }

    #[test]
    fn blobs_apart_are_separate_and_diagonal_neighbours_join() {
        let (regions, labels) = label(
            &[
                "11..2", //
                "1...2", //
                ".1...", //
                "....3",
            ],
            0.05,
        );
        assert_eq!(regions.count(), 3);
        #[rustfmt::skip]
        let expected = [
            1, 1, 0, 0, 2,
            1, 0, 0, 0, 2,
            0, 1, 0, 0, 0,
            0, 0, 0, 0, 3,
        ];
        assert_eq!(labels, expected);
    }

    #[test]
    fn a_u_shape_merges_into_one_region_numbered_by_first_pixel() {
        let (regions, labels) = label(
            &[
                "2.2.5", //
                "2.2.5", //
                "222.5",
            ],
            0.05,
        );
        // The two arms get different provisional labels and merge at the bottom.
        assert_eq!(regions.count(), 2);
        assert!(labels
            .iter()
            .zip("2.2.52.2.5222.5".chars())
            .all(|(&label, c)| match c {
                '2' => label == 1,
                '5' => label == 2,
                _ => label == 0,
            }));
    }

    #[test]
    fn a_depth_step_splits_touching_pixels() {
        // 2 m next to 3 m: a 50 % step, beyond 10 % but within 60 %.
        let picture = ["2233", "2233"];
        assert_eq!(label(&picture, 0.1).0.count(), 2);
        assert_eq!(label(&picture, 0.6).0.count(), 1);
        // Nothing at all.
        assert_eq!(label(&["....", "...."], 0.1).0.count(), 0);
    }

    #[test]
    fn labels_are_rebuilt_for_every_image() {
        let mut regions = Regions::default();
        regions.label(3, 1, &[1000, 0, 1000], 0.05);
        assert_eq!(regions.count(), 2);
        regions.label(2, 2, &[0, 0, 0, 1000], 0.05);
        assert_eq!((regions.count(), regions.labels()), (1, &[0, 0, 0, 1][..]));
    }
}
