//! YOLOv8/YOLO11 output into detections: best class per anchor, threshold, class-wise NMS, as
//! `OnnxDetector` does after every inference of a 640x640 COCO model (`[1, 84, 8400]`).
//!
//! Target: under 1 ms. The output is realistic: most anchors score near zero, 25 objects are
//! each covered by a few dozen overlapping anchors scoring 0.3..0.9 (what NMS is for). The same
//! run measures a plain copy of the output's bytes, and the summary prints the ratio, so
//! results from different machines compare.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use detect::onnx::decode::{Candidate, YoloDecoder};
use detect::onnx::nms::suppress;
use detect::DetectSettings;

const CLASSES: usize = 80;
const ANCHORS: usize = 8400;
const OBJECTS: usize = 25;
const TARGET_MS: f64 = 1.0;

/// A small deterministic generator (xorshift), so every run decodes the same output.
struct Random(u64);

impl Random {
    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// `[84, 8400]` channel-major, as the model writes it.
fn output() -> Vec<f32> {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut output = vec![0.0f32; (4 + CLASSES) * ANCHORS];
    for anchor in 0..ANCHORS {
        output[anchor] = random.unit() * 640.0;
        output[ANCHORS + anchor] = random.unit() * 640.0;
        output[2 * ANCHORS + anchor] = 8.0 + random.unit() * 200.0;
        output[3 * ANCHORS + anchor] = 8.0 + random.unit() * 200.0;
        for class in 0..CLASSES {
            output[(4 + class) * ANCHORS + anchor] = random.unit() * 0.02;
        }
    }
    // Each object: 40 anchors around one box, jittered, scoring 0.3..0.9 for its class.
    for object in 0..OBJECTS {
        let class = (object * 7) % CLASSES;
        let (cx, cy) = (40.0 + random.unit() * 560.0, 40.0 + random.unit() * 560.0);
        let (w, h) = (30.0 + random.unit() * 150.0, 30.0 + random.unit() * 150.0);
        for _ in 0..40 {
            let anchor = (random.unit() * ANCHORS as f32) as usize % ANCHORS;
            output[anchor] = cx + (random.unit() - 0.5) * 8.0;
            output[ANCHORS + anchor] = cy + (random.unit() - 0.5) * 8.0;
            output[2 * ANCHORS + anchor] = w * (0.9 + random.unit() * 0.2);
            output[3 * ANCHORS + anchor] = h * (0.9 + random.unit() * 0.2);
            output[(4 + class) * ANCHORS + anchor] = 0.3 + random.unit() * 0.6;
        }
    }
    output
}

/// Decode and suppress, reusing the decoder's and the candidates' buffers.
fn decode(decoder: &mut YoloDecoder, candidates: &mut Vec<Candidate>, output: &[f32]) -> usize {
    let settings = DetectSettings::default();
    candidates.clear();
    decoder
        .decode(
            output,
            CLASSES,
            ANCHORS,
            settings.score_threshold,
            candidates,
        )
        .ok();
    suppress(candidates, settings.iou_threshold, settings.max_detections);
    candidates.len()
}

fn bench_decode(c: &mut Criterion) {
    let output = output();
    let mut copy = output.clone();
    let mut decoder = YoloDecoder::new();
    let mut candidates = Vec::new();
    let mut group = c.benchmark_group("decode/yolo_84x8400");
    group.throughput(Throughput::Bytes((output.len() * 4) as u64));
    group.bench_function("decode_nms", |b| {
        b.iter(|| decode(&mut decoder, &mut candidates, black_box(&output)))
    });
    group.bench_function("output_copy_baseline", |b| {
        b.iter(|| copy.copy_from_slice(black_box(&output)))
    });
    group.finish();
}

/// Median time of `f` over a few hundred runs.
fn median_of(mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..301)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn print_summary() {
    let output = output();
    let mut copy = output.clone();
    let mut decoder = YoloDecoder::new();
    let mut candidates = Vec::new();
    let kept = decode(&mut decoder, &mut candidates, &output);
    let work = median_of(|| {
        black_box(decode(&mut decoder, &mut candidates, black_box(&output)));
    });
    let baseline = median_of(|| copy.copy_from_slice(black_box(&output)));
    let ms = work.as_secs_f64() * 1e3;
    let verdict = if ms <= TARGET_MS { "within" } else { "OVER" };
    println!("\ndecode summary (median of 301 runs, this machine, this run):");
    println!(
        "  [1, 84, 8400], {OBJECTS} objects: {ms:.3} ms ({verdict} the {TARGET_MS} ms target), \
         {kept} detections kept; {:.1}x a copy of the output's {:.1} MB ({:.3} ms)",
        work.as_secs_f64() / baseline.as_secs_f64().max(1e-9),
        (output.len() * 4) as f64 / 1e6,
        baseline.as_secs_f64() * 1e3,
    );
}

criterion_group!(benches, bench_decode);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_summary();
}
