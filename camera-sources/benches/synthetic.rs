//! Cost of the synthetic source: one whole frame (`next_frame` unpaced: render, stamp,
//! timestamps) at 640x480 and 1280x720, against a plain memcpy of the same number of bytes
//! measured in the same run.
//!
//! `cargo bench -p camera-sources --bench synthetic` runs the criterion benchmarks, then prints
//! a summary: time per frame, ratio to the memcpy, and what that costs at 30 fps in percent of
//! one core. The first frame of a source also ray casts the floor and sky for every pixel; its
//! time is printed too, as the price of brute-force ray casting every frame. Last, the source
//! runs paced at 30 fps for 5 s, as in the daemon, and its measured share of one core is
//! printed.

use std::hint::black_box;
use std::time::Duration;

use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};
use camera_sources::{CapturedFrame, Source};
use criterion::{Criterion, Throughput};
use test_support::thread_cpu_time;

const SIZES: [(u32, u32); 2] = [(640, 480), (1280, 720)];

fn unpaced_source(width: u32, height: u32) -> SyntheticSource {
    let config = SyntheticConfig {
        width,
        height,
        fps: 0.0,
        ..SyntheticConfig::default()
    };
    match SyntheticSource::new(config) {
        Ok(source) => source,
        Err(error) => panic!("cannot set the synthetic source up: {error}"),
    }
}

fn next_frame(source: &mut SyntheticSource, frame: &mut CapturedFrame) {
    if let Err(error) = source.next_frame(frame) {
        panic!("rendering failed: {error}");
    }
}

/// Plain copies of one frame's bytes (colour and depth), the baseline.
struct Copy {
    rgb: (Vec<u8>, Vec<u8>),
    depth: (Vec<u8>, Vec<u8>),
}

impl Copy {
    fn new(width: u32, height: u32) -> Self {
        let pixels = width as usize * height as usize;
        Copy {
            rgb: (vec![1; pixels * 3], vec![0; pixels * 3]),
            depth: (vec![1; pixels * 2], vec![0; pixels * 2]),
        }
    }

    fn run(&mut self) {
        self.rgb.1.copy_from_slice(black_box(&self.rgb.0));
        self.depth.1.copy_from_slice(black_box(&self.depth.0));
        black_box((&mut self.rgb.1, &mut self.depth.1));
    }
}

/// Median over batches of the thread CPU time per call of `run`.
fn median_per_call(mut run: impl FnMut()) -> Duration {
    const BATCHES: usize = 21;
    const CALLS_PER_BATCH: u32 = 40;
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
    for (width, height) in SIZES {
        let mut group = criterion.benchmark_group(format!("synthetic {width}x{height}"));
        group.throughput(Throughput::Bytes(width as u64 * height as u64 * 5));
        let mut source = unpaced_source(width, height);
        let mut frame = CapturedFrame::default();
        group.bench_function("next_frame", |bencher| {
            bencher.iter(|| next_frame(&mut source, &mut frame))
        });
        let mut copy = Copy::new(width, height);
        group.bench_function("memcpy of the same bytes", |bencher| {
            bencher.iter(|| copy.run())
        });
        group.finish();
    }
}

fn summary() {
    println!("\nsynthetic source, thread CPU time per frame (median of 21 batches of 40 frames):");
    for (width, height) in SIZES {
        let mut source = unpaced_source(width, height);
        let mut frame = CapturedFrame::default();
        let started = thread_cpu_time();
        next_frame(&mut source, &mut frame);
        let first = thread_cpu_time() - started;

        let render = median_per_call(|| next_frame(&mut source, &mut frame));
        let mut copy = Copy::new(width, height);
        let memcpy = median_per_call(|| copy.run());

        let frame_period = Duration::from_secs(1) / 30;
        let core_percent = 100.0 * render.as_secs_f64() / frame_period.as_secs_f64();
        println!(
            "  {width}x{height}: {:.3} ms per frame = {:.1} x memcpy of the same {:.2} MB \
             ({:.3} ms); {core_percent:.2} % of one core at 30 fps. First frame (full ray \
             cast of the static layer): {:.1} ms",
            render.as_secs_f64() * 1e3,
            render.as_secs_f64() / memcpy.as_secs_f64(),
            (width as f64 * height as f64 * 5.0) / 1e6,
            memcpy.as_secs_f64() * 1e3,
            first.as_secs_f64() * 1e3,
        );
    }
}

/// Runs the source as the daemon does (paced at 30 fps, 640x480) for a few seconds and returns
/// the share of one core it used: thread CPU time over wall time, sleeping included.
fn paced_core_share() -> f64 {
    const SECONDS: u32 = 5;
    let mut source = match SyntheticSource::new(SyntheticConfig::default()) {
        Ok(source) => source,
        Err(error) => panic!("cannot set the synthetic source up: {error}"),
    };
    let mut frame = CapturedFrame::default();
    // The first frame ray casts the static layer once; leave it out of the steady state.
    next_frame(&mut source, &mut frame);
    let wall_started = std::time::Instant::now();
    let cpu_started = thread_cpu_time();
    for _ in 0..30 * SECONDS {
        next_frame(&mut source, &mut frame);
    }
    (thread_cpu_time() - cpu_started).as_secs_f64() / wall_started.elapsed().as_secs_f64()
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
    summary();
    println!(
        "  paced at 30 fps, 640x480, 5 s of frames: {:.2} % of one core (render, stamp, sleep)",
        100.0 * paced_core_share()
    );
}
