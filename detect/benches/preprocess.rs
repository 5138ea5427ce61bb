//! Frame into a model input: letterbox (bilinear resample) and normalise RGB8 into planar f32,
//! as `OnnxDetector` does before every inference.
//!
//! Target: under 2 ms for a 640x480 frame into a 640x640 YOLO input. Each case also measures,
//! in the same run, a plain copy of the input tensor's bytes (what writing the tensor costs at
//! least), and the summary prints how many times that copy the preprocessing costs, so results
//! from different machines compare.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use detect::onnx::geometry::Placement;
use detect::onnx::preprocess::{Normalisation, Preprocessor};

/// One measured conversion.
struct Case {
    name: &'static str,
    image: [u32; 2],
    input: [u32; 2],
    /// Stretched (RF-DETR, ImageNet-normalised) rather than letterboxed (YOLO, /255).
    stretch: bool,
    target_ms: Option<f64>,
}

const CASES: [Case; 3] = [
    Case {
        name: "yolo_640x480_to_640",
        image: [640, 480],
        input: [640, 640],
        stretch: false,
        target_ms: Some(2.0),
    },
    Case {
        name: "yolo_1280x720_to_640",
        image: [1280, 720],
        input: [640, 640],
        stretch: false,
        target_ms: None,
    },
    Case {
        name: "rf_detr_640x480_to_560",
        image: [640, 480],
        input: [560, 560],
        stretch: true,
        target_ms: None,
    },
];

/// A frame with texture everywhere (no flat areas a branch could skip).
fn frame(size: [u32; 2]) -> Vec<u8> {
    let bytes = size[0] as usize * size[1] as usize * 3;
    (0..bytes).map(|i| (i * 31 % 251) as u8).collect()
}

fn preprocessor(image: [u32; 2], input: [u32; 2], stretch: bool) -> Preprocessor {
    if stretch {
        Preprocessor::new(Placement::stretch(image, input), Normalisation::imagenet())
    } else {
        Preprocessor::new(Placement::letterbox(image, input), Normalisation::UNIT)
    }
}

fn bench_preprocess(c: &mut Criterion) {
    for Case {
        name,
        image,
        input,
        stretch,
        ..
    } in CASES
    {
        let rgb = frame(image);
        let mut preprocessor = preprocessor(image, input, stretch);
        let mut tensor = vec![0.0f32; preprocessor.tensor_len()];
        let source = tensor.clone();
        let mut group = c.benchmark_group(format!("preprocess/{name}"));
        group.throughput(Throughput::Bytes(rgb.len() as u64));
        group.bench_function("letterbox_normalise", |b| {
            b.iter(|| preprocessor.run(black_box(&rgb), &mut tensor))
        });
        group.bench_function("tensor_copy_baseline", |b| {
            b.iter(|| tensor.copy_from_slice(black_box(&source)))
        });
        group.finish();
    }
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
    println!("\npreprocess summary (median of 301 runs, this machine, this run):");
    for Case {
        name,
        image,
        input,
        stretch,
        target_ms,
    } in CASES
    {
        let rgb = frame(image);
        let mut preprocessor = preprocessor(image, input, stretch);
        let mut tensor = vec![0.0f32; preprocessor.tensor_len()];
        let source = tensor.clone();
        let work = median_of(|| {
            black_box(preprocessor.run(black_box(&rgb), &mut tensor)).ok();
        });
        let copy = median_of(|| tensor.copy_from_slice(black_box(&source)));
        let ms = |time: Duration| time.as_secs_f64() * 1e3;
        let target = match target_ms {
            Some(target) if ms(work) <= target => format!(" (within the {target} ms target)"),
            Some(target) => format!(" (OVER the {target} ms target)"),
            None => String::new(),
        };
        println!(
            "  {name}: {:.3} ms{target}, {:.1}x a copy of the {:.1} MB tensor ({:.3} ms)",
            ms(work),
            work.as_secs_f64() / copy.as_secs_f64().max(1e-9),
            (tensor.len() * 4) as f64 / 1e6,
            ms(copy),
        );
    }
}

criterion_group!(benches, bench_preprocess);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_summary();
}
