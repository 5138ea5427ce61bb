//! Where the original image lands in the model's input, and back.
//!
//! YOLO models take a letterboxed image: scaled by `min(input_w / w, input_h / h)` to a size
//! rounded to whole pixels, centred, the rest grey. The padding is split as Ultralytics'
//! `LetterBox` does: `left = round(dw - 0.1)`, `top = round(dh - 0.1)` with `dw`, `dh` half the
//! free space, so an odd remainder puts the extra pixel right and bottom. RF-DETR models take
//! the image stretched to the whole input.
//!
//! Boxes go back with the scale actually applied on each axis (`resized / image`; it differs
//! from the ideal scale by the rounding of the resized size, under a pixel) and are clipped to
//! the image. Coordinates are continuous: `0` is an image's left edge, `width` its right edge.

/// How an image of `image_size` sits in an input of `input_size`: resized to `resized`, its top
/// left corner at `offset`. Sizes are `[width, height]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub image_size: [u32; 2],
    pub input_size: [u32; 2],
    pub resized: [u32; 2],
    pub offset: [u32; 2],
}

impl Placement {
    /// Ultralytics' letterbox (aspect ratio kept, centred, padded).
    pub fn letterbox(image_size: [u32; 2], input_size: [u32; 2]) -> Placement {
        let [width, height] = image_size.map(|side| side.max(1) as f64);
        let [input_width, input_height] = input_size.map(f64::from);
        let scale = (input_width / width).min(input_height / height);
        // Python's round() (ties to even), as Ultralytics computes the new size.
        let resized = [
            ((width * scale).round_ties_even() as u32).clamp(1, input_size[0].max(1)),
            ((height * scale).round_ties_even() as u32).clamp(1, input_size[1].max(1)),
        ];
        let offset = [0, 1].map(|axis| {
            let half_free = f64::from(input_size[axis] - resized[axis]) / 2.0;
            (half_free - 0.1).round().max(0.0) as u32
        });
        Placement {
            image_size,
            input_size,
            resized,
            offset,
        }
    }

    /// The image stretched over the whole input (RF-DETR).
    pub fn stretch(image_size: [u32; 2], input_size: [u32; 2]) -> Placement {
        Placement {
            image_size,
            input_size,
            resized: input_size,
            offset: [0, 0],
        }
    }

    /// Input pixels per image pixel, per axis.
    pub fn scale(&self) -> [f32; 2] {
        [0, 1].map(|axis| self.resized[axis] as f32 / self.image_size[axis].max(1) as f32)
    }

    /// A box `[x1, y1, x2, y2]` in input pixels to image pixels, clipped to the image.
    pub fn box_to_image(&self, box_in_input: [f32; 4]) -> [f32; 4] {
        let scale = self.scale();
        let offset = self.offset.map(|side| side as f32);
        let size = self.image_size.map(|side| side as f32);
        std::array::from_fn(|i| {
            let axis = i % 2;
            ((box_in_input[i] - offset[axis]) / scale[axis]).clamp(0.0, size[axis])
        })
    }

    /// A box in image pixels to input pixels (the inverse of [`Placement::box_to_image`]
    /// inside the image).
    pub fn box_to_input(&self, box_in_image: [f32; 4]) -> [f32; 4] {
        let scale = self.scale();
        std::array::from_fn(|i| {
            let axis = i % 2;
            box_in_image[i] * scale[axis] + self.offset[axis] as f32
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vga_frame_letterboxes_into_a_square_with_80_rows_above() {
        let placement = Placement::letterbox([640, 480], [640, 640]);
        assert_eq!(placement.resized, [640, 480]);
        assert_eq!(placement.offset, [0, 80]);
        assert_eq!(
            placement.box_to_input([10.0, 20.0, 30.0, 40.0]),
            [10.0, 100.0, 30.0, 120.0]
        );
    }

    #[test]
    fn scaling_and_odd_padding_follow_ultralytics() {
        // 1280x721 into 640: scale 0.5, 360.5 rows rounded to even 360, 280 free rows: 140 above.
        let placement = Placement::letterbox([1280, 721], [640, 640]);
        assert_eq!(placement.resized, [640, 360]);
        assert_eq!(placement.offset, [0, 140]);
        // 1000x999 into 640: 639.36 rows -> 639; 1 free row goes below (round(0.5 - 0.1) = 0).
        let placement = Placement::letterbox([1000, 999], [640, 640]);
        assert_eq!(placement.resized, [640, 639]);
        assert_eq!(placement.offset, [0, 0]);
        // Tall images pad left and right.
        let placement = Placement::letterbox([480, 640], [640, 640]);
        assert_eq!(placement.offset, [80, 0]);
        // Small images are scaled up.
        let placement = Placement::letterbox([320, 240], [640, 640]);
        assert_eq!((placement.resized, placement.offset), ([640, 480], [0, 80]));
    }

    #[test]
    fn boxes_go_there_and_back_and_are_clipped() {
        for placement in [
            Placement::letterbox([1280, 720], [640, 640]),
            Placement::letterbox([333, 777], [640, 480]),
            Placement::stretch([640, 480], [560, 560]),
        ] {
            let original = [12.5, 30.0, 200.25, 222.0];
            let back = placement.box_to_image(placement.box_to_input(original));
            for (a, b) in original.iter().zip(back) {
                assert!(
                    (a - b).abs() < 1e-3,
                    "{placement:?}: {original:?} -> {back:?}"
                );
            }
        }
        let placement = Placement::letterbox([640, 480], [640, 640]);
        // Boxes reaching into the padding end at the image's edges.
        assert_eq!(
            placement.box_to_image([-5.0, 0.0, 700.0, 640.0]),
            [0.0, 0.0, 640.0, 480.0]
        );
    }
}
