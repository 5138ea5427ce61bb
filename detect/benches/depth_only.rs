//! Cost of the depth-only detector on a 640x480 frame of the synthetic scene (floor, three
//! balls, a cube), against a baseline measured in the same run: one plain pass over the depth
//! plane deprojecting every pixel with `Intrinsics::deproject` (summing the points, so that
//! nothing is optimised away). The detector reads the plane about four times (fit points,
//! off-plane test, labelling, region statistics), so a ratio of a few is as good as it gets.
//!
//! `cargo bench -p detect --bench depth_only` runs the criterion benchmarks, then prints a
//! summary: thread CPU time per frame (one core), the ratio to the baseline, and the target
//! (15 ms).

use std::hint::black_box;
use std::time::Duration;

use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};
use camera_sources::{CapturedFrame, Source};
use criterion::Criterion;
use detect::depth_only::DepthOnlyDetector;
use detect::{DepthView, DetectSettings, Detector, FrameView, Intrinsics};
use test_support::thread_cpu_time;

/// The time a 640x480 frame may take on one core.
const TARGET: Duration = Duration::from_millis(15);

/// A synthetic 640x480 frame with objects in view, and the source's intrinsics and scale.
fn synthetic_frame() -> (CapturedFrame, Intrinsics, f32) {
    let config = SyntheticConfig {
        fps: 0.0,
        ..SyntheticConfig::default()
    };
    let mut source = match SyntheticSource::new(config) {
        Ok(source) => source,
        Err(error) => panic!("cannot set the synthetic source up: {error}"),
    };
    let mut frame = CapturedFrame::default();
    if let Err(error) = source.next_frame(&mut frame) {
        panic!("rendering failed: {error}");
    }
    let info = source.info();
    match (info.intrinsics, info.depth_scale_m) {
        (Some(intrinsics), Some(scale)) => (frame, intrinsics, scale),
        _ => panic!("the synthetic source has depth and intrinsics"),
    }
}

fn frame_view<'a>(frame: &'a CapturedFrame, intrinsics: Intrinsics, scale: f32) -> FrameView<'a> {
    let depth = DepthView {
        z16_le: &frame.depth,
        depth_scale_m: scale,
    };
    match FrameView::new(
        intrinsics.width,
        intrinsics.height,
        &frame.rgb,
        Some(depth),
        Some(intrinsics),
    ) {
        Ok(view) => view,
        Err(error) => panic!("bad frame: {error}"),
    }
}

fn detect(detector: &mut DepthOnlyDetector, view: &FrameView<'_>) -> usize {
    match detector.detect(black_box(view), &DetectSettings::default()) {
        Ok(detections) => black_box(detections).len(),
        Err(error) => panic!("detection failed: {error}"),
    }
}

/// The baseline: every pixel's depth deprojected, the points summed.
fn deproject_all(view: &FrameView<'_>, intrinsics: &Intrinsics) -> [f32; 3] {
    let mut sum = [0f32; 3];
    let Some(depth) = view.depth() else {
        return sum;
    };
    let width = view.width() as usize;
    for (index, bytes) in black_box(depth.z16_le).chunks_exact(2).enumerate() {
        let units = u16::from_le_bytes([bytes[0], bytes[1]]);
        if units == 0 {
            continue;
        }
        let pixel = [(index % width) as f32, (index / width) as f32];
        let point = intrinsics.deproject(pixel, f32::from(units) * depth.depth_scale_m);
        for axis in 0..3 {
            sum[axis] += point[axis];
        }
    }
    black_box(sum)
}

/// Median over batches of the thread CPU time per call of `run`.
fn median_per_call(mut run: impl FnMut()) -> Duration {
    const BATCHES: usize = 21;
    const CALLS_PER_BATCH: u32 = 10;
    for _ in 0..CALLS_PER_BATCH {
        run();
    }
    let mut per_call: Vec<Duration> = (0..BATCHES)
        .map(|_| {
            let started = thread_cpu_time();
            for _ in 0..CALLS_PER_BATCH {
                run();
            }
            (thread_cpu_time() - started) / CALLS_PER_BATCH
        })
        .collect();
    per_call.sort();
    per_call[BATCHES / 2]
}

fn criterion_benches(criterion: &mut Criterion) {
    let (frame, intrinsics, scale) = synthetic_frame();
    let view = frame_view(&frame, intrinsics, scale);
    let mut group = criterion.benchmark_group("depth_only 640x480");
    let mut detector = DepthOnlyDetector::default();
    group.bench_function("detect", |bencher| {
        bencher.iter(|| detect(&mut detector, &view))
    });
    group.bench_function("deproject every pixel (baseline)", |bencher| {
        bencher.iter(|| deproject_all(&view, &intrinsics))
    });
    group.finish();
}

fn summary() {
    let (frame, intrinsics, scale) = synthetic_frame();
    let view = frame_view(&frame, intrinsics, scale);
    let mut detector = DepthOnlyDetector::default();
    let found = detect(&mut detector, &view);
    let detection = median_per_call(|| {
        detect(&mut detector, &view);
    });
    let baseline = median_per_call(|| {
        deproject_all(&view, &intrinsics);
    });
    println!(
        "\ndepth-only detector, 640x480 synthetic frame ({found} objects), thread CPU time per \
         frame (median of 21 batches of 10):\n  detect: {:.3} ms = {:.2} x the baseline (one \
         pass deprojecting every pixel: {:.3} ms); target {} ms: {}",
        detection.as_secs_f64() * 1e3,
        detection.as_secs_f64() / baseline.as_secs_f64(),
        baseline.as_secs_f64() * 1e3,
        TARGET.as_millis(),
        if detection <= TARGET { "met" } else { "MISSED" },
    );
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
    summary();
}
