//! Keeping the best candidates: class-wise non-maximum suppression (YOLOv8/YOLO11) and top-k
//! (RF-DETR, end-to-end YOLO).

use super::decode::Candidate;

/// At most this many candidates enter suppression, the best (Ultralytics' `max_nms`): a model
/// gone wild costs bounded time.
pub const MAX_CANDIDATES: usize = 30_000;

/// Intersection over union of two `[x1, y1, x2, y2]` boxes; 0 when either is empty.
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let width = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let height = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let intersection = width * height;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - intersection;
    if union > 0.0 {
        intersection / union
    } else {
        0.0
    }
}

/// Sorts best first (ties keep their order).
fn sort_best_first(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
}

/// Keeps the `k` best candidates, best first.
pub fn keep_best(candidates: &mut Vec<Candidate>, k: usize) {
    if candidates.len() > k && k > 0 {
        candidates.select_nth_unstable_by(k - 1, |a, b| b.score.total_cmp(&a.score));
    }
    candidates.truncate(k);
    sort_best_first(candidates);
}

/// Class-wise greedy suppression: best first, a candidate overlapping a kept one of its class by
/// more than `iou_threshold` is dropped; stops at `max_detections` kept. Leaves the kept ones in
/// `candidates`, best first.
pub fn suppress(candidates: &mut Vec<Candidate>, iou_threshold: f32, max_detections: usize) {
    keep_best(candidates, MAX_CANDIDATES);
    let mut kept = 0;
    for index in 0..candidates.len() {
        if kept == max_detections {
            break;
        }
        let candidate = candidates[index];
        let overlaps = candidates[..kept].iter().any(|other| {
            other.class_id == candidate.class_id
                && iou(&other.box_input, &candidate.box_input) > iou_threshold
        });
        if !overlaps {
            candidates[kept] = candidate;
            kept += 1;
        }
    }
    candidates.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(class_id: u32, score: f32, box_input: [f32; 4]) -> Candidate {
        Candidate {
            class_id,
            score,
            box_input,
        }
    }

    #[test]
    fn iou_of_overlapping_disjoint_and_empty_boxes() {
        let a = [0.0, 0.0, 10.0, 10.0];
        assert_eq!(iou(&a, &a), 1.0);
        assert!((iou(&a, &[5.0, 0.0, 15.0, 10.0]) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(iou(&a, &[20.0, 20.0, 30.0, 30.0]), 0.0);
        assert_eq!(iou(&[1.0, 1.0, 1.0, 1.0], &[1.0, 1.0, 1.0, 1.0]), 0.0);
    }

    #[test]
    fn suppression_is_per_class_and_keeps_the_best() {
        let mut candidates = vec![
            candidate(0, 0.6, [1.0, 0.0, 11.0, 10.0]),
            candidate(0, 0.9, [0.0, 0.0, 10.0, 10.0]),
            // Same place, another class: kept.
            candidate(1, 0.5, [0.0, 0.0, 10.0, 10.0]),
            // Overlaps class 0's best by 1/3 only: kept at 0.7.
            candidate(0, 0.4, [5.0, 0.0, 15.0, 10.0]),
            candidate(0, 0.3, [50.0, 50.0, 60.0, 60.0]),
        ];
        suppress(&mut candidates, 0.7, 300);
        let kept: Vec<(u32, f32)> = candidates.iter().map(|c| (c.class_id, c.score)).collect();
        assert_eq!(kept, vec![(0, 0.9), (1, 0.5), (0, 0.4), (0, 0.3)]);
        // A stricter threshold drops the 1/3 overlap too; max_detections caps the rest.
        suppress(&mut candidates, 0.3, 2);
        let kept: Vec<(u32, f32)> = candidates.iter().map(|c| (c.class_id, c.score)).collect();
        assert_eq!(kept, vec![(0, 0.9), (1, 0.5)]);
    }

    #[test]
    fn top_k_keeps_the_k_best_sorted() {
        let mut candidates: Vec<Candidate> = [0.3, 0.9, 0.1, 0.7, 0.5]
            .iter()
            .map(|&score| candidate(0, score, [0.0; 4]))
            .collect();
        keep_best(&mut candidates, 3);
        let scores: Vec<f32> = candidates.iter().map(|c| c.score).collect();
        assert_eq!(scores, vec![0.9, 0.7, 0.5]);
        keep_best(&mut candidates, 0);
        assert!(candidates.is_empty());
    }
}
