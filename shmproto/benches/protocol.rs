//! `cargo bench -p shmproto`: reading and publishing a frame against a plain copy of the same
//! bytes measured in the same run, reading in place against the copying read, publish-to-wake
//! latency of a blocked reader, and publish to frame in hand at 30 fps by both reads.
//!
//! Ratios and percentiles are printed, not asserted: this machine is shared and noisy.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion};
use shmproto::{test_pattern, FrameBuf, Geometry, Namespace, Reader, Writer, WriterConfig};

fn namespace(tag: &str) -> Namespace {
    Namespace::new(&format!("b{tag}{}", std::process::id())).expect("bench namespace")
}

struct Fixture {
    writer: Writer,
    rgb: Vec<u8>,
    depth: Vec<u8>,
    next_frame: u64,
}

impl Fixture {
    fn new(tag: &str, geometry: Geometry) -> (Self, Reader) {
        let namespace = namespace(tag);
        let writer =
            Writer::create(WriterConfig::new(namespace.clone(), geometry)).expect("writer");
        let reader = Reader::open(&namespace).expect("reader");
        let (mut rgb, mut depth) = (Vec::new(), Vec::new());
        test_pattern::fill_frame(&geometry, 1, &mut rgb, &mut depth);
        let fixture = Fixture {
            writer,
            rgb,
            depth,
            next_frame: 1,
        };
        (fixture, reader)
    }

    fn publish(&mut self) {
        let metadata = test_pattern::metadata(self.next_frame);
        self.next_frame += 1;
        self.writer
            .publish(&self.rgb, Some(&self.depth), &metadata)
            .expect("publish");
    }
}

fn copy_benches(c: &mut Criterion, label: &str, tag: &str, geometry: Geometry) {
    let (mut fixture, mut reader) = Fixture::new(tag, geometry);
    let bytes = geometry.color_len() + geometry.depth_len();
    let source = vec![3u8; bytes];
    let mut destination = vec![0u8; bytes];
    let mut group = c.benchmark_group(label);
    group.throughput(criterion::Throughput::Bytes(bytes as u64));
    group.bench_function("memcpy_baseline", |b| {
        b.iter(|| {
            destination.copy_from_slice(black_box(&source));
            black_box(&destination);
        })
    });
    // The same memory traffic as a publish followed by a read, without the protocol: copy the
    // frame into one of four rotating "slots" (untimed), then time copying that slot out.
    let slots = std::cell::RefCell::new(vec![vec![0u8; bytes]; 4]);
    let mut next_slot = 0;
    group.bench_function("memcpy_fresh_baseline", |b| {
        b.iter_batched(
            || {
                next_slot = (next_slot + 1) % 4;
                slots.borrow_mut()[next_slot].copy_from_slice(&source);
                next_slot
            },
            |slot| {
                destination.copy_from_slice(black_box(&slots.borrow()[slot]));
                black_box(&destination);
            },
            BatchSize::PerIteration,
        )
    });
    let mut frame = FrameBuf::new();
    group.bench_function("read_frame", |b| {
        b.iter_batched(
            || fixture.publish(),
            |()| {
                let fresh = reader.read_latest(&mut frame).expect("read");
                assert!(fresh);
                black_box(&frame);
            },
            BatchSize::PerIteration,
        )
    });
    // In place: what `aaa-camera-daemon watch --in-place` looks at (the header, and the first
    // and last rows of both planes, where the synthetic source's stamps are), and the whole
    // frame copied out through the view (the copying read's work, done by the caller).
    let mut rows = vec![0u8; geometry.width as usize * 3];
    group.bench_function("read_in_place_stamp_rows", |b| {
        b.iter_batched(
            || fixture.publish(),
            |()| {
                let read = reader.read_in_place(|view| {
                    let rgb = view.rgb();
                    let mut sum = 0u64;
                    for plane in [Some(rgb), view.depth()].into_iter().flatten() {
                        let row = &mut rows[..plane.row_len()];
                        for start in [0, plane.len() - plane.row_len()] {
                            plane.copy_range_to(start, row);
                            sum += u64::from(row[0]);
                        }
                    }
                    (view.frame_number(), sum)
                });
                assert!(matches!(read, Ok(Some(_))));
                black_box(read.ok());
            },
            BatchSize::PerIteration,
        )
    });
    let mut planes = (
        vec![0u8; geometry.color_len()],
        vec![0u8; geometry.depth_len()],
    );
    group.bench_function("read_in_place_whole_frame", |b| {
        b.iter_batched(
            || fixture.publish(),
            |()| {
                let read = reader.read_in_place(|view| {
                    view.rgb().copy_to(&mut planes.0);
                    if let Some(depth) = view.depth() {
                        depth.copy_to(&mut planes.1);
                    }
                });
                assert!(matches!(read, Ok(Some(()))));
                black_box(&planes);
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("publish_frame", |b| b.iter(|| fixture.publish()));
    group.finish();
}

/// Latencies in nanoseconds, sorted: "p50 .. us, p99 .. us, max .. us".
fn summary(sorted: &[u64]) -> String {
    match sorted.last() {
        None => "no samples".to_owned(),
        Some(max) => format!(
            "p50 {:.1} us, p99 {:.1} us, max {:.1} us ({} frames)",
            percentile(sorted, 0.5) as f64 / 1e3,
            percentile(sorted, 0.99) as f64 / 1e3,
            *max as f64 / 1e3,
            sorted.len()
        ),
    }
}

/// Frames per round of [`in_place_latency`] (2.5 s at 30 fps), and rounds per path.
const LATENCY_ROUND_FRAMES: usize = 75;
const LATENCY_ROUNDS: usize = 4;

/// Publish to frame in hand at 30 fps: a writer thread publishes the test pattern every 33 ms;
/// a reader thread blocked on the writer's futex takes each frame, in alternating rounds, by
/// the copying `wait_next` (in hand when it returns) or by `wait_next_in_place` (usable when
/// the closure starts; validated when the read returns, with a look that reads the header and
/// one row). Both paths see the same writer, machine and load.
fn in_place_latency(label: &str, tag: &str, geometry: Geometry) {
    let namespace = namespace(&format!("l{tag}"));
    let mut writer =
        Writer::create(WriterConfig::new(namespace.clone(), geometry)).expect("writer");
    let mut reader = Reader::open(&namespace).expect("reader");
    let done = Arc::new(AtomicBool::new(false));
    let reader_done = Arc::clone(&done);
    let waiter = std::thread::spawn(move || {
        let mut frame = FrameBuf::new();
        let mut row = vec![0u8; geometry.width as usize * 3];
        let (mut copied, mut usable, mut validated) = (Vec::new(), Vec::new(), Vec::new());
        let mut overwritten = 0u64;
        for round in 0..2 * LATENCY_ROUNDS {
            let mut frames = 0;
            while frames < LATENCY_ROUND_FRAMES {
                if round % 2 == 0 {
                    match reader.wait_next(&mut frame, Duration::from_secs(1)) {
                        Ok(true) => {
                            let now = shmproto::monotonic_now_ns();
                            copied.push(now.saturating_sub(frame.publish_mono_ns()));
                            frames += 1;
                        }
                        Ok(false) => {}
                        Err(_) => return (copied, usable, validated, overwritten),
                    }
                } else {
                    let read = reader.wait_next_in_place(Duration::from_secs(1), |view| {
                        let now = shmproto::monotonic_now_ns();
                        view.rgb().copy_to(&mut row);
                        (
                            now.saturating_sub(view.publish_mono_ns()),
                            view.publish_mono_ns(),
                        )
                    });
                    match read {
                        Ok(Some((usable_ns, published))) => {
                            let now = shmproto::monotonic_now_ns();
                            usable.push(usable_ns);
                            validated.push(now.saturating_sub(published));
                            frames += 1;
                        }
                        Ok(None) => {}
                        Err(shmproto::ReadError::Overwritten { .. }) => overwritten += 1,
                        Err(_) => return (copied, usable, validated, overwritten),
                    }
                }
            }
        }
        reader_done.store(true, Ordering::Relaxed);
        (copied, usable, validated, overwritten)
    });
    let (mut rgb, mut depth) = (Vec::new(), Vec::new());
    let started = std::time::Instant::now();
    let mut frame_number = 0u64;
    // Relaxed: a stop flag; the join below orders what the thread produced.
    while !done.load(Ordering::Relaxed) && frame_number < 10_000 {
        frame_number += 1;
        test_pattern::fill_frame(&geometry, frame_number, &mut rgb, &mut depth);
        writer
            .publish(&rgb, Some(&depth), &test_pattern::metadata(frame_number))
            .expect("publish");
        let due = started + Duration::from_secs_f64(frame_number as f64 / 30.0);
        std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
    }
    drop(writer);
    let Ok((mut copied, mut usable, mut validated, overwritten)) = waiter.join() else {
        println!("publish to frame {label}: the reader thread panicked");
        return;
    };
    for samples in [&mut copied, &mut usable, &mut validated] {
        samples.sort_unstable();
    }
    println!("publish to frame in hand at 30 fps, {label}, alternating rounds in one run:");
    println!("  copying wait_next:              {}", summary(&copied));
    println!(
        "  wait_next_in_place, usable:     {} (target p99 < 100 us)",
        summary(&usable)
    );
    println!(
        "  wait_next_in_place, validated:  {} ({overwritten} reads overwritten)",
        summary(&validated)
    );
    if !copied.is_empty() && !usable.is_empty() {
        println!(
            "  in place usable / copying: p50 {:.2}x, p99 {:.2}x",
            percentile(&usable, 0.5) as f64 / percentile(&copied, 0.5) as f64,
            percentile(&usable, 0.99) as f64 / percentile(&copied, 0.99) as f64,
        );
    }
}

/// Median of criterion's estimate for one benchmark, in nanoseconds.
fn criterion_median_ns(group: &str, bench: &str) -> Option<f64> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "../target".into());
    let path = format!("{target}/criterion/{group}/{bench}/new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["median"]["point_estimate"].as_f64()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A reader thread blocked in `wait_for_publish`; the writer publishes every 2 ms. Reports how
/// long after the writer's publish timestamp the reader was running again.
fn wake_latency(label: &str, tag: &str, geometry: Geometry) {
    let namespace = namespace(&format!("w{tag}"));
    let mut writer =
        Writer::create(WriterConfig::new(namespace.clone(), geometry)).expect("writer");
    let mut reader = Reader::open(&namespace).expect("reader");
    let done = Arc::new(AtomicBool::new(false));
    let reader_done = Arc::clone(&done);
    let waiter = std::thread::spawn(move || {
        let mut frame = FrameBuf::new();
        let mut latencies_ns = Vec::new();
        while !reader_done.load(Ordering::Relaxed) {
            match reader.wait_for_publish(Duration::from_millis(100)) {
                Ok(true) => {
                    let woke = shmproto::monotonic_now_ns();
                    if reader.read_latest(&mut frame).unwrap_or(false) {
                        latencies_ns.push(woke.saturating_sub(frame.publish_mono_ns()));
                    }
                }
                Ok(false) => {}
                Err(_) => break,
            }
        }
        latencies_ns
    });
    let (mut rgb, mut depth) = (Vec::new(), Vec::new());
    test_pattern::fill_frame(&geometry, 1, &mut rgb, &mut depth);
    for frame_number in 1..=1500 {
        writer
            .publish(&rgb, Some(&depth), &test_pattern::metadata(frame_number))
            .expect("publish");
        std::thread::sleep(Duration::from_millis(2));
    }
    done.store(true, Ordering::Relaxed);
    drop(writer);
    let mut latencies = waiter.join().expect("waiter");
    latencies.sort_unstable();
    if latencies.is_empty() {
        println!("wake latency {label}: no samples");
        return;
    }
    println!(
        "wake latency {label}: p50 {:.1} us, p99 {:.1} us, max {:.1} us over {} frames (target p99 < 200 us)",
        percentile(&latencies, 0.5) as f64 / 1e3,
        percentile(&latencies, 0.99) as f64 / 1e3,
        *latencies.last().unwrap_or(&0) as f64 / 1e3,
        latencies.len()
    );
}

fn main() {
    let mut criterion = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    let sizes = [
        ("640x480", Geometry::rgbd(640, 480)),
        ("1280x720", Geometry::rgbd(1280, 720)),
    ];
    let tags = ["6", "12"];
    for ((label, geometry), tag) in sizes.into_iter().zip(tags) {
        copy_benches(&mut criterion, label, tag, geometry);
    }
    criterion.final_summary();

    println!();
    for (label, _) in sizes {
        let baseline = criterion_median_ns(label, "memcpy_baseline");
        for bench in ["read_frame", "publish_frame"] {
            match (criterion_median_ns(label, bench), baseline) {
                (Some(measured), Some(baseline)) => println!(
                    "{label} {bench}: {:.1} us = {:.2}x memcpy of the same bytes ({:.1} us){}",
                    measured / 1e3,
                    measured / baseline,
                    baseline / 1e3,
                    if bench == "read_frame" {
                        " (target <= 1.2x)"
                    } else {
                        ""
                    }
                ),
                _ => println!("{label} {bench}: no criterion estimate found"),
            }
        }
        let read = criterion_median_ns(label, "read_frame");
        for bench in ["read_in_place_stamp_rows", "read_in_place_whole_frame"] {
            if let (Some(read), Some(in_place)) = (read, criterion_median_ns(label, bench)) {
                println!(
                    "{label} {bench}: {:.1} us = {:.3}x the copying read_frame ({:.1} us)",
                    in_place / 1e3,
                    in_place / read,
                    read / 1e3
                );
            }
        }
        if let (Some(read), Some(fresh)) =
            (read, criterion_median_ns(label, "memcpy_fresh_baseline"))
        {
            println!(
                "{label} read_frame: {:.2}x a memcpy out of a freshly written rotating slot ({:.1} us): the same cache state without the protocol",
                read / fresh,
                fresh / 1e3
            );
        }
    }
    for ((label, geometry), tag) in sizes.into_iter().zip(tags) {
        wake_latency(label, tag, geometry);
    }
    in_place_latency("640x480", "6", Geometry::rgbd(640, 480));
}
