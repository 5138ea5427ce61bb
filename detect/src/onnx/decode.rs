//! Model outputs into candidate boxes in input pixels, above the score threshold.
//!
//! - YOLOv8/YOLO11 (`output0` `[1, 4 + classes, anchors]`, channel-major): each anchor's box is
//!   `cx, cy, w, h`; its class is the best-scoring one (scores are already probabilities; no
//!   objectness). Non-maximum suppression follows ([`super::nms`]).
//! - End-to-end YOLO (`output0` `[1, rows, 6]`): `x1, y1, x2, y2, score, class` per row, already
//!   suppressed.
//! - RF-DETR (`dets` `[1, queries, 4]` normalised `cx, cy, w, h`; `labels` `[1, queries,
//!   classes]` logits): the score of each query and class is the logit's sigmoid; the best
//!   `max_detections` pairs over all queries and classes are kept (a query may be kept for two
//!   classes, as RF-DETR's own post-processing does).

/// A box found by a model, before it is mapped back to the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub class_id: u32,
    pub score: f32,
    /// `[x1, y1, x2, y2]` in input pixels.
    pub box_input: [f32; 4],
}

/// `cx, cy, w, h` to `[x1, y1, x2, y2]`.
fn corners(cx: f32, cy: f32, width: f32, height: f32) -> [f32; 4] {
    let (half_width, half_height) = (width / 2.0, height / 2.0);
    [
        cx - half_width,
        cy - half_height,
        cx + half_width,
        cy + half_height,
    ]
}

/// Decodes YOLOv8/YOLO11 outputs; keeps its per-anchor buffer between frames.
#[derive(Debug, Clone, Default)]
pub struct YoloDecoder {
    best_score: Vec<f32>,
}

impl YoloDecoder {
    pub fn new() -> YoloDecoder {
        YoloDecoder::default()
    }

    /// Appends to `candidates` the anchors of `output` (`[4 + classes, anchors]`, channel-major)
    /// whose best class scores at least `score_threshold`.
    pub fn decode(
        &mut self,
        output: &[f32],
        classes: usize,
        anchors: usize,
        score_threshold: f32,
        candidates: &mut Vec<Candidate>,
    ) -> Result<(), String> {
        if classes == 0 || output.len() != (4 + classes) * anchors {
            return Err(format!(
                "a YOLO output of {} values is not [4 + {classes} classes, {anchors} anchors]",
                output.len()
            ));
        }
        let row = |channel: usize| &output[channel * anchors..][..anchors];
        // Pass 1, class by class over all anchors: each anchor's best score. Contiguous rows
        // and a plain maximum, which the compiler vectorises.
        self.best_score.clear();
        self.best_score.extend_from_slice(row(4));
        for class in 1..classes {
            for (best, &score) in self.best_score.iter_mut().zip(row(4 + class)) {
                *best = if score > *best { score } else { *best };
            }
        }
        // Pass 2, only for the few anchors above the threshold: which class that was (the first
        // one reaching it, as argmax picks).
        let (cx, cy, width, height) = (row(0), row(1), row(2), row(3));
        for (anchor, &score) in self.best_score.iter().enumerate() {
            if score < score_threshold || score.is_nan() {
                continue;
            }
            let class_id = (0..classes)
                .find(|&class| output[(4 + class) * anchors + anchor] >= score)
                .unwrap_or(0) as u32;
            candidates.push(Candidate {
                class_id,
                score,
                box_input: corners(cx[anchor], cy[anchor], width[anchor], height[anchor]),
            });
        }
        Ok(())
    }
}

/// Appends the rows of an end-to-end output (`[rows, 6]`) scoring at least `score_threshold`.
pub fn decode_end_to_end(
    output: &[f32],
    score_threshold: f32,
    candidates: &mut Vec<Candidate>,
) -> Result<(), String> {
    if !output.len().is_multiple_of(6) {
        return Err(format!(
            "an end-to-end output of {} values is not rows of 6",
            output.len()
        ));
    }
    for row in output.chunks_exact(6) {
        let &[x1, y1, x2, y2, score, class] = row else {
            continue;
        };
        if score >= score_threshold && class.is_finite() && class >= 0.0 {
            candidates.push(Candidate {
                class_id: class.round() as u32,
                score,
                box_input: [x1, y1, x2, y2],
            });
        }
    }
    Ok(())
}

/// Appends the query and class pairs of an RF-DETR output scoring at least `score_threshold`,
/// boxes scaled to an input of `input_size` (`[width, height]`). The caller keeps the best
/// `max_detections` ([`super::nms::keep_best`]).
pub fn decode_rf_detr(
    boxes: &[f32],
    logits: &[f32],
    queries: usize,
    classes: usize,
    input_size: [u32; 2],
    score_threshold: f32,
    candidates: &mut Vec<Candidate>,
) -> Result<(), String> {
    if classes == 0 || boxes.len() != queries * 4 || logits.len() != queries * classes {
        return Err(format!(
            "RF-DETR outputs of {} and {} values are not [{queries} queries, 4] and \
             [{queries} queries, {classes} classes]",
            boxes.len(),
            logits.len()
        ));
    }
    // The sigmoid is monotonic: compare logits with the threshold's logit, and take the
    // sigmoid of the few that pass.
    let logit_threshold = if score_threshold <= 0.0 {
        f32::NEG_INFINITY
    } else {
        (score_threshold / (1.0 - score_threshold)).ln()
    };
    let [width, height] = input_size.map(|side| side as f32);
    for (logits, cxcywh) in logits.chunks_exact(classes).zip(boxes.chunks_exact(4)) {
        for (class_id, &logit) in logits.iter().enumerate() {
            if logit < logit_threshold {
                continue;
            }
            let score = 1.0 / (1.0 + (-logit).exp());
            if score >= score_threshold {
                candidates.push(Candidate {
                    class_id: class_id as u32,
                    score,
                    box_input: corners(
                        cxcywh[0] * width,
                        cxcywh[1] * height,
                        cxcywh[2] * width,
                        cxcywh[3] * height,
                    ),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yolo_takes_each_anchors_best_class_above_the_threshold() {
        // 3 anchors, 2 classes, channel-major.
        #[rustfmt::skip]
        let output = [
            10.0, 20.0, 30.0, // cx
            11.0, 21.0, 31.0, // cy
            4.0, 4.0, 4.0,    // w
            2.0, 2.0, 2.0,    // h
            0.1, 0.9, 0.3,    // class 0
            0.2, 0.5, 0.3,    // class 1
        ];
        let mut candidates = Vec::new();
        YoloDecoder::new()
            .decode(&output, 2, 3, 0.25, &mut candidates)
            .unwrap();
        assert_eq!(
            candidates,
            vec![
                Candidate {
                    class_id: 0,
                    score: 0.9,
                    box_input: [18.0, 20.0, 22.0, 22.0]
                },
                // A tie keeps the first class, as argmax does.
                Candidate {
                    class_id: 0,
                    score: 0.3,
                    box_input: [28.0, 30.0, 32.0, 32.0]
                },
            ]
        );
        assert!(YoloDecoder::new()
            .decode(&output, 3, 3, 0.25, &mut candidates)
            .is_err());
    }

    #[test]
    fn end_to_end_rows_are_thresholded_only() {
        let output = [1.0, 2.0, 3.0, 4.0, 0.8, 2.0, 5.0, 6.0, 7.0, 8.0, 0.1, 0.0];
        let mut candidates = Vec::new();
        decode_end_to_end(&output, 0.25, &mut candidates).unwrap();
        assert_eq!(
            candidates,
            vec![Candidate {
                class_id: 2,
                score: 0.8,
                box_input: [1.0, 2.0, 3.0, 4.0]
            }]
        );
        assert!(decode_end_to_end(&output[..7], 0.25, &mut candidates).is_err());
    }

    #[test]
    fn rf_detr_scores_are_sigmoids_of_every_query_and_class() {
        let boxes = [0.5, 0.5, 0.5, 0.25, 0.1, 0.1, 0.2, 0.2];
        // Query 0: class 1 (logit 2) and class 2 (logit 0: exactly 0.5); query 1: nothing.
        let logits = [-5.0, 2.0, 0.0, -3.0, -1.5, -4.0];
        let mut candidates = Vec::new();
        decode_rf_detr(&boxes, &logits, 2, 3, [200, 100], 0.5, &mut candidates).unwrap();
        assert_eq!(candidates.len(), 2);
        assert_eq!(candidates[0].class_id, 1);
        assert!((candidates[0].score - 0.880_797).abs() < 1e-5);
        assert_eq!(candidates[0].box_input, [50.0, 37.5, 150.0, 62.5]);
        assert_eq!((candidates[1].class_id, candidates[1].score), (2, 0.5));
        assert!(decode_rf_detr(&boxes, &logits, 2, 4, [1, 1], 0.5, &mut candidates).is_err());
    }
}
