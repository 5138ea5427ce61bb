//! Frame pixels into a model's input tensor: resampled into the [`Placement`], normalised, in
//! planar (NCHW) `f32`, the padding grey.
//!
//! The resampling is bilinear with pixel centres aligned (OpenCV's `INTER_LINEAR`, which
//! Ultralytics and RF-DETR use), done separably for speed: the source and weight of every
//! output column and row are computed once per frame size; each source row needed is
//! interpolated horizontally once (and normalised on the way, which commutes with the
//! blending), and each output row blends two of those rows into the three planes. An output row
//! falling exactly on a source row (no vertical scaling) copies it.

use super::geometry::Placement;
use crate::detector::DetectError;

/// The grey Ultralytics pads letterboxed images with.
pub const PAD_GREY: u8 = 114;

/// How a pixel value `v` (0..=255) of channel `c` becomes a model input: `v * gain[c] + bias[c]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalisation {
    pub gain: [f32; 3],
    pub bias: [f32; 3],
}

impl Normalisation {
    /// `v / 255` (YOLO).
    pub const UNIT: Normalisation = Normalisation {
        gain: [1.0 / 255.0; 3],
        bias: [0.0; 3],
    };

    /// `(v / 255 - mean) / std` with ImageNet's mean and standard deviation (RF-DETR).
    pub fn imagenet() -> Normalisation {
        Normalisation::mean_std([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    }

    /// `(v / 255 - mean[c]) / std[c]`.
    pub fn mean_std(mean: [f32; 3], std: [f32; 3]) -> Normalisation {
        Normalisation {
            gain: std::array::from_fn(|c| 1.0 / (255.0 * std[c])),
            bias: std::array::from_fn(|c| -mean[c] / std[c]),
        }
    }

    /// The input value of `value` in channel `channel`.
    pub fn apply(&self, channel: usize, value: f32) -> f32 {
        value * self.gain[channel] + self.bias[channel]
    }
}

/// One output column's (or row's) sources: `first` and `second` (offsets in source pixels)
/// blended with `weight` on the second.
#[derive(Debug, Clone, Copy)]
struct Tap {
    first: usize,
    second: usize,
    weight: f32,
}

/// A source row interpolated horizontally and normalised: planar (all red, all green, all
/// blue), `resized` wide, so that the vertical blend reads and writes contiguous runs.
#[derive(Debug, Clone)]
struct Row {
    source: Option<usize>,
    values: Vec<f32>,
}

/// Writes frames of one size into input tensors of one size; keeps its tables and row buffers
/// between frames. Build another when the frame size changes.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    placement: Placement,
    normalisation: Normalisation,
    columns: Vec<Tap>,
    rows: Vec<Tap>,
    upper: Row,
    lower: Row,
}

impl Preprocessor {
    pub fn new(placement: Placement, normalisation: Normalisation) -> Preprocessor {
        let row = Row {
            source: None,
            values: vec![0.0; placement.resized[0] as usize * 3],
        };
        Preprocessor {
            columns: taps(placement.image_size[0], placement.resized[0]),
            rows: taps(placement.image_size[1], placement.resized[1]),
            placement,
            normalisation,
            upper: row.clone(),
            lower: row,
        }
    }

    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// The number of `f32`s in the input tensor (`3 * width * height`).
    pub fn tensor_len(&self) -> usize {
        3 * self.placement.input_size[0] as usize * self.placement.input_size[1] as usize
    }

    /// Writes `rgb` (tightly packed RGB8 of the placement's image size) into `tensor` (planar
    /// RGB of the input size, [`Preprocessor::tensor_len`] long).
    pub fn run(&mut self, rgb: &[u8], tensor: &mut [f32]) -> Result<(), DetectError> {
        let [image_width, image_height] = self.placement.image_size.map(|side| side as usize);
        if rgb.len() != image_width * image_height * 3 || tensor.len() != self.tensor_len() {
            return Err(DetectError::Frame(format!(
                "a {image_width}x{image_height} RGB frame needs {} bytes, got {}; the input \
                 tensor needs {} values, got {}",
                image_width * image_height * 3,
                rgb.len(),
                self.tensor_len(),
                tensor.len()
            )));
        }
        self.pad(tensor);
        let [input_width, input_height] = self.placement.input_size.map(|side| side as usize);
        let [left, top] = self.placement.offset.map(|side| side as usize);
        let width = self.placement.resized[0] as usize;
        let plane = input_width * input_height;
        let row_bytes = image_width * 3;
        // Forget last frame's rows: the pixels changed.
        self.upper.source = None;
        self.lower.source = None;
        for (row, tap) in self.rows.iter().enumerate() {
            if self.lower.source == Some(tap.first) {
                std::mem::swap(&mut self.upper, &mut self.lower);
            }
            if self.upper.source != Some(tap.first) {
                let source = &rgb[tap.first * row_bytes..][..row_bytes];
                interpolate_row(&self.columns, &self.normalisation, source, &mut self.upper);
                self.upper.source = Some(tap.first);
            }
            let blend = tap.weight != 0.0;
            if blend && self.lower.source != Some(tap.second) {
                let source = &rgb[tap.second * row_bytes..][..row_bytes];
                interpolate_row(&self.columns, &self.normalisation, source, &mut self.lower);
                self.lower.source = Some(tap.second);
            }
            let start = (top + row) * input_width + left;
            for channel in 0..3 {
                let out = &mut tensor[channel * plane + start..][..width];
                let upper = &self.upper.values[channel * width..][..width];
                if blend {
                    let lower = &self.lower.values[channel * width..][..width];
                    for ((out, &upper), &lower) in out.iter_mut().zip(upper).zip(lower) {
                        *out = upper + (lower - upper) * tap.weight;
                    }
                } else {
                    out.copy_from_slice(upper);
                }
            }
        }
        Ok(())
    }

    /// Fills what the image does not cover with normalised grey.
    fn pad(&self, tensor: &mut [f32]) {
        let [input_width, input_height] = self.placement.input_size.map(|side| side as usize);
        let [left, top] = self.placement.offset.map(|side| side as usize);
        let [width, height] = self.placement.resized.map(|side| side as usize);
        let plane = input_width * input_height;
        for (channel, plane) in tensor.chunks_exact_mut(plane).enumerate() {
            let grey = self.normalisation.apply(channel, f32::from(PAD_GREY));
            plane[..top * input_width].fill(grey);
            plane[(top + height) * input_width..].fill(grey);
            for row in
                plane[top * input_width..(top + height) * input_width].chunks_exact_mut(input_width)
            {
                row[..left].fill(grey);
                row[left + width..].fill(grey);
            }
        }
    }
}

/// Bilinear taps from `source` pixels to `target` pixels, centres aligned, edges clamped.
fn taps(source: u32, target: u32) -> Vec<Tap> {
    let last = source.max(1) as usize - 1;
    let ratio = f64::from(source) / f64::from(target.max(1));
    (0..target)
        .map(|index| {
            let position = ((f64::from(index) + 0.5) * ratio - 0.5).max(0.0);
            let first = (position.floor() as usize).min(last);
            let second = (first + 1).min(last);
            let weight = if second == first {
                0.0
            } else {
                (position - first as f64) as f32
            };
            Tap {
                first,
                second,
                weight,
            }
        })
        .collect()
}

/// Interpolates one source row (RGB8) at the column taps and normalises it.
fn interpolate_row(columns: &[Tap], normalisation: &Normalisation, source: &[u8], row: &mut Row) {
    let Normalisation { gain, bias } = *normalisation;
    let width = columns.len();
    let (red, rest) = row.values.split_at_mut(width);
    let (green, blue) = rest.split_at_mut(width);
    if source.len() == width * 3 {
        // Same width: no horizontal interpolation, only normalisation and de-interleaving.
        let pixels = source.chunks_exact(3);
        for (((red, green), blue), pixel) in red.iter_mut().zip(green).zip(blue).zip(pixels) {
            *red = f32::from(pixel[0]) * gain[0] + bias[0];
            *green = f32::from(pixel[1]) * gain[1] + bias[1];
            *blue = f32::from(pixel[2]) * gain[2] + bias[2];
        }
        return;
    }
    let outputs = red.iter_mut().zip(green).zip(blue);
    for (((red, green), blue), tap) in outputs.zip(columns) {
        let (Some(first), Some(second)) = (
            source.get(tap.first * 3..tap.first * 3 + 3),
            source.get(tap.second * 3..tap.second * 3 + 3),
        ) else {
            continue;
        };
        let lerp = |channel: usize| {
            let a = f32::from(first[channel]);
            let b = f32::from(second[channel]);
            (a + (b - a) * tap.weight) * gain[channel] + bias[channel]
        };
        *red = lerp(0);
        *green = lerp(1);
        *blue = lerp(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(width: usize, height: usize, pixel: impl Fn(usize, usize) -> [u8; 3]) -> Vec<u8> {
        (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .flat_map(|(x, y)| pixel(x, y))
            .collect()
    }

    #[test]
    fn an_unscaled_frame_is_copied_planar_normalised_and_padded() {
        let rgb = frame(4, 2, |x, y| [x as u8 * 10, y as u8 * 100, 255]);
        let placement = Placement::letterbox([4, 2], [4, 4]);
        assert_eq!(placement.offset, [0, 1]);
        let mut preprocessor = Preprocessor::new(placement, Normalisation::UNIT);
        let mut tensor = vec![f32::NAN; preprocessor.tensor_len()];
        preprocessor.run(&rgb, &mut tensor).unwrap();
        let at = |c: usize, y: usize, x: usize| tensor[c * 16 + y * 4 + x];
        let close = |value: f32, pixel: f32| (value - pixel / 255.0).abs() < 1e-6;
        for c in 0..3 {
            for x in 0..4 {
                assert!(close(at(c, 0, x), 114.0));
                assert!(close(at(c, 3, x), 114.0));
            }
        }
        assert!(close(at(0, 1, 3), 30.0));
        assert!(close(at(1, 2, 0), 100.0));
        assert!(close(at(2, 2, 2), 255.0));
    }

    #[test]
    fn halving_averages_pixel_pairs_and_imagenet_normalises() {
        // 4x4 -> 2x2: each output pixel centre lies between two source pixels on each axis.
        let rgb = frame(4, 4, |x, y| [(x * 40 + y * 10) as u8, 0, 0]);
        let normalisation = Normalisation::imagenet();
        let mut preprocessor = Preprocessor::new(Placement::stretch([4, 4], [2, 2]), normalisation);
        let mut tensor = vec![0.0; 12];
        preprocessor.run(&rgb, &mut tensor).unwrap();
        // Output (0, 0) averages x 0..1 and y 0..1: 20 + 5 = 25.
        assert!((tensor[0] - normalisation.apply(0, 25.0)).abs() < 1e-5);
        // Output (1, 1): x 2..3, y 2..3: 100 + 25 = 125.
        assert!((tensor[3] - normalisation.apply(0, 125.0)).abs() < 1e-5);
        assert!((tensor[4] - (-0.456 / 0.224)).abs() < 1e-5);
    }

    #[test]
    fn upscaling_interpolates_and_clamps_at_the_edges() {
        let rgb = frame(2, 1, |x, _| [if x == 0 { 0 } else { 200 }, 0, 0]);
        let mut preprocessor = Preprocessor::new(
            Placement::stretch([2, 1], [4, 2]),
            Normalisation {
                gain: [1.0; 3],
                bias: [0.0; 3],
            },
        );
        let mut tensor = vec![0.0; 24];
        preprocessor.run(&rgb, &mut tensor).unwrap();
        // Centres at source x -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to the last).
        assert_eq!(&tensor[..4], &[0.0, 50.0, 150.0, 200.0]);
        assert_eq!(&tensor[4..8], &[0.0, 50.0, 150.0, 200.0]);
    }

    #[test]
    fn wrong_sizes_are_an_error() {
        let mut preprocessor =
            Preprocessor::new(Placement::stretch([4, 4], [2, 2]), Normalisation::UNIT);
        assert!(preprocessor.run(&[0; 47], &mut [0.0; 12]).is_err());
        assert!(preprocessor.run(&[0; 48], &mut [0.0; 11]).is_err());
    }
}
