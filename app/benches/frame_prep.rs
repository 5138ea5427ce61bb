//! Per-frame work of the GUI thread: colour upload preparation (RGB8 to egui pixels) and depth
//! colouring (Z16 through the turbo lookup table), at 640x480 and 1280x720.
//!
//! Targets: under 2 ms per frame at 640x480 and under 6 ms at 1280x720, all of it. Each size
//! also measures a plain copy of the same bytes in the same run, and the summary prints how
//! many times that copy the frame preparation costs (so results from different machines
//! compare).

use std::hint::black_box;
use std::time::{Duration, Instant};

use app::colormap::{DepthLut, DepthRange};
use app::texture::{color_image_from_rgb, depth_image};
use criterion::{criterion_group, Criterion, Throughput};

const SIZES: [(u32, u32, f64); 2] = [(640, 480, 2.0), (1280, 720, 6.0)];

struct Planes {
    size_px: [usize; 2],
    rgb: Vec<u8>,
    depth_units: Vec<u16>,
}

fn planes(width: u32, height: u32) -> Planes {
    let pixels = width as usize * height as usize;
    Planes {
        size_px: [width as usize, height as usize],
        rgb: (0..pixels * 3).map(|i| (i * 31 % 251) as u8).collect(),
        // A ramp over 0..8 m with holes, like a real depth frame.
        depth_units: (0..pixels)
            .map(|i| if i % 17 == 0 { 0 } else { (i % 8000) as u16 })
            .collect(),
    }
}

/// Everything the GUI thread does with a new frame before handing the images to egui.
fn prepare(planes: &Planes, lut: &DepthLut) -> (egui::ColorImage, egui::ColorImage) {
    let color = color_image_from_rgb(planes.size_px, &planes.rgb);
    let depth = depth_image(planes.size_px, &planes.depth_units, lut);
    match (color, depth) {
        (Some(color), Some(depth)) => (color, depth),
        _ => panic!("benchmark planes do not match their size"),
    }
}

/// Copies the input bytes (colour and depth) once: what moving the frame at all costs.
fn copy_baseline(planes: &Planes) -> (Vec<u8>, Vec<u16>) {
    (planes.rgb.clone(), planes.depth_units.clone())
}

fn bench_frame_prep(c: &mut Criterion) {
    let lut = DepthLut::new(0.001, DepthRange::default());
    for (width, height, _) in SIZES {
        let planes = planes(width, height);
        let mut group = c.benchmark_group(format!("frame_prep/{width}x{height}"));
        group.throughput(Throughput::Bytes(
            (planes.rgb.len() + planes.depth_units.len() * 2) as u64,
        ));
        group.bench_function("color_and_depth", |b| {
            b.iter(|| prepare(black_box(&planes), &lut))
        });
        group.bench_function("color_only", |b| {
            b.iter(|| color_image_from_rgb(planes.size_px, black_box(&planes.rgb)))
        });
        group.bench_function("depth_only", |b| {
            b.iter(|| depth_image(planes.size_px, black_box(&planes.depth_units), &lut))
        });
        group.bench_function("memcpy_baseline", |b| {
            b.iter(|| copy_baseline(black_box(&planes)))
        });
        group.finish();
    }
    c.bench_function("depth_lut_build", |b| {
        b.iter(|| DepthLut::new(black_box(0.001), DepthRange::default()))
    });
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

/// The summary the issue asks for: per-frame time against the target, and the ratio to a copy
/// of the same bytes measured right here.
fn print_summary() {
    let lut = DepthLut::new(0.001, DepthRange::default());
    println!("\nframe_prep summary (median of 301 runs, this machine, this run):");
    for (width, height, target_ms) in SIZES {
        let planes = planes(width, height);
        let prep = median_of(|| {
            black_box(prepare(black_box(&planes), &lut));
        });
        let copy = median_of(|| {
            black_box(copy_baseline(black_box(&planes)));
        });
        let prep_ms = prep.as_secs_f64() * 1e3;
        let verdict = if prep_ms < target_ms {
            "within"
        } else {
            "OVER"
        };
        println!(
            "  {width}x{height}: prepare {prep_ms:.3} ms ({verdict} the {target_ms} ms target), memcpy of the same bytes {:.3} ms, ratio {:.1}x",
            copy.as_secs_f64() * 1e3,
            prep.as_secs_f64() / copy.as_secs_f64().max(1e-9),
        );
    }
}

criterion_group!(benches, bench_frame_prep);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_summary();
}
