//! Per-frame work of the GUI thread: colour upload preparation (RGB8 to egui pixels) and depth
//! colouring (Z16 through the turbo lookup table), at 640x480 and 1280x720.
//!
//! Targets: under 2 ms per frame at 640x480 and under 6 ms at 1280x720, all of it. Each size
//! also measures a plain copy of the same input bytes in the same run, and the summary prints
//! how many times that copy the frame preparation costs (so results from different machines
//! compare).
//!
//! `recycled` is what the viewer does once running (the renderer released last frame's
//! buffers); `allocating` is the first frame, or a renderer that still holds the buffers.
//!
//! `daemon_frame/*` is the daemon feed's worker turning a freshly published slot into the
//! [`app::frame::Frame`] it hands to the GUI: `copying` (before issue 12: copy the slot out with
//! `wait_next`, then copy the colour plane again and convert the depth plane) against
//! `in_place` (now: fill the frame's buffers straight from the slot in one pass), in the same
//! run; the summary prints their ratio.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::colormap::{DepthLut, DepthRange};
use app::feed::daemon::{frame_from_buf, frame_from_view};
use app::texture::{fill_color_image, fill_depth_image};
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use egui::ColorImage;
use shmproto::{test_pattern, FrameBuf, Geometry, Namespace, Reader, Writer, WriterConfig};

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

/// The viewer's two image buffers.
#[derive(Default)]
struct Buffers {
    color: Arc<ColorImage>,
    depth: Arc<ColorImage>,
}

/// Everything the GUI thread does with a new frame before handing the images to egui.
fn prepare(buffers: &mut Buffers, planes: &Planes, lut: &DepthLut) {
    let color = fill_color_image(&mut buffers.color, planes.size_px, &planes.rgb);
    let depth = fill_depth_image(&mut buffers.depth, planes.size_px, &planes.depth_units, lut);
    assert!(color && depth, "benchmark planes do not match their size");
}

/// The same into fresh buffers.
fn prepare_allocating(planes: &Planes, lut: &DepthLut) -> Buffers {
    let mut buffers = Buffers::default();
    prepare(&mut buffers, planes, lut);
    buffers
}

/// Copies the input bytes (colour and depth) once into kept buffers: moving the frame at all.
fn copy_baseline(into: &mut (Vec<u8>, Vec<u16>), planes: &Planes) {
    into.0.copy_from_slice(&planes.rgb);
    into.1.copy_from_slice(&planes.depth_units);
}

fn bench_frame_prep(c: &mut Criterion) {
    let lut = DepthLut::new(0.001, DepthRange::default());
    for (width, height, _) in SIZES {
        let planes = planes(width, height);
        let mut buffers = Buffers::default();
        let mut copy = (planes.rgb.clone(), planes.depth_units.clone());
        let mut group = c.benchmark_group(format!("frame_prep/{width}x{height}"));
        group.throughput(Throughput::Bytes(
            (planes.rgb.len() + planes.depth_units.len() * 2) as u64,
        ));
        group.bench_function("color_and_depth_recycled", |b| {
            b.iter(|| prepare(&mut buffers, black_box(&planes), &lut))
        });
        group.bench_function("color_and_depth_allocating", |b| {
            b.iter(|| prepare_allocating(black_box(&planes), &lut))
        });
        group.bench_function("color_only", |b| {
            b.iter(|| fill_color_image(&mut buffers.color, planes.size_px, black_box(&planes.rgb)))
        });
        group.bench_function("depth_only", |b| {
            b.iter(|| {
                fill_depth_image(
                    &mut buffers.depth,
                    planes.size_px,
                    black_box(&planes.depth_units),
                    &lut,
                )
            })
        });
        group.bench_function("memcpy_baseline", |b| {
            b.iter(|| copy_baseline(&mut copy, black_box(&planes)))
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

/// The summary printed after criterion's: per-frame time against the targets in the header,
/// and the ratio to a copy of the same bytes measured right here.
fn print_summary() {
    let lut = DepthLut::new(0.001, DepthRange::default());
    println!("\nframe_prep summary (median of 301 runs, this machine, this run):");
    for (width, height, target_ms) in SIZES {
        let planes = planes(width, height);
        let mut buffers = Buffers::default();
        let mut copy = (planes.rgb.clone(), planes.depth_units.clone());
        let recycled = median_of(|| prepare(&mut buffers, black_box(&planes), &lut));
        let allocating = median_of(|| {
            black_box(prepare_allocating(black_box(&planes), &lut));
        });
        let memcpy = median_of(|| copy_baseline(&mut copy, black_box(&planes)));
        let ms = |time: Duration| time.as_secs_f64() * 1e3;
        let ratio = |time: Duration| time.as_secs_f64() / memcpy.as_secs_f64().max(1e-9);
        let verdict = if ms(recycled) < target_ms {
            "within"
        } else {
            "OVER"
        };
        println!(
            "  {width}x{height}: {:.3} ms per frame ({verdict} the {target_ms} ms target), {:.1}x a memcpy of the same bytes ({:.3} ms); first frame (allocating) {:.3} ms, {:.1}x",
            ms(recycled),
            ratio(recycled),
            ms(memcpy),
            ms(allocating),
            ratio(allocating),
        );
    }
}

/// A writer publishing the test pattern, and a reader of it.
fn daemon_fixture(tag: &str, geometry: Geometry) -> (Writer, Reader, Vec<u8>, Vec<u8>) {
    let namespace =
        Namespace::new(&format!("bf{tag}{}", std::process::id())).expect("bench namespace");
    let writer = Writer::create(WriterConfig::new(namespace.clone(), geometry)).expect("writer");
    let reader = Reader::open(&namespace).expect("reader");
    let (mut rgb, mut depth) = (Vec::new(), Vec::new());
    test_pattern::fill_frame(&geometry, 1, &mut rgb, &mut depth);
    (writer, reader, rgb, depth)
}

fn bench_daemon_frame(c: &mut Criterion) {
    for (width, height, _) in SIZES {
        let geometry = Geometry::rgbd(width, height);
        let (mut writer, mut reader, rgb, depth) = daemon_fixture(&format!("{width}"), geometry);
        let metadata = test_pattern::metadata(1);
        let mut publish = || {
            writer
                .publish(&rgb, Some(&depth), &metadata)
                .expect("publish");
        };
        let mut group = c.benchmark_group(format!("daemon_frame/{width}x{height}"));
        group.throughput(Throughput::Bytes(
            (geometry.color_len() + geometry.depth_len()) as u64,
        ));
        let mut frame_buf = FrameBuf::new();
        group.bench_function("copying", |b| {
            b.iter_batched(
                &mut publish,
                |()| {
                    assert!(reader.read_latest(&mut frame_buf).expect("read"));
                    black_box(frame_from_buf(&frame_buf).expect("frame"))
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_function("in_place", |b| {
            b.iter_batched(
                &mut publish,
                |()| {
                    let built = reader.read_in_place(frame_from_view).expect("read");
                    black_box(built.expect("a new frame").expect("frame"))
                },
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

/// Median of criterion's estimate for one benchmark, in nanoseconds.
fn criterion_median_ns(group: &str, bench: &str) -> Option<f64> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "../target".into());
    // Criterion writes a group "a/b" into the directory "a_b".
    let group = group.replace('/', "_");
    let path = format!("{target}/criterion/{group}/{bench}/new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["median"]["point_estimate"].as_f64()
}

/// Slot to `Frame` in the feed worker, copying against in place, from this run's estimates.
fn print_daemon_frame_summary() {
    println!(
        "\ndaemon_frame summary (criterion medians, this run): slot to Frame in the feed worker"
    );
    for (width, height, _) in SIZES {
        let group = format!("daemon_frame/{width}x{height}");
        match (
            criterion_median_ns(&group, "copying"),
            criterion_median_ns(&group, "in_place"),
        ) {
            (Some(copying), Some(in_place)) => println!(
                "  {width}x{height}: copying (before) {:.1} us, in place (now) {:.1} us = {:.2}x",
                copying / 1e3,
                in_place / 1e3,
                in_place / copying
            ),
            _ => println!("  {width}x{height}: no criterion estimate found"),
        }
    }
}

criterion_group!(benches, bench_frame_prep, bench_daemon_frame);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_summary();
    print_daemon_frame_summary();
}
