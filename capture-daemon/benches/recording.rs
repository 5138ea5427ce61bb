//! What recording costs per frame: 640x480 RGB-D frames of the synthetic scene written by
//! `McapRecorder` (the recorder's MCAP side: CDR messages, chunking, compression) for each
//! compression, against a baseline measured in the same run: copying the frame's planes once
//! (what any reader of the frame pays). Time is the thread's CPU time (not inflated when the
//! machine is busy); rounds alternate between the cases. Output goes to a sink that counts
//! bytes, so the disk does not weigh in.
//!
//! `cargo bench -p capture-daemon --bench recording`. The targets: with lz4, under
//! 10 % of one core at 30 fps, and keeping up at 90 fps (under 11.1 ms per frame).

use std::io::{Seek, SeekFrom, Write};
use std::time::Duration;

use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};
use camera_sources::{CapturedFrame, Source};
use capture_daemon::record::{FrameParts, McapRecorder, RecordCompression};
use shmproto::{FrameMetadata, Geometry};
use test_support::thread_cpu_time;

const FRAMES: usize = 60;
const ROUNDS: usize = 5;

/// Counts what is written and throws it away; seeks move the count (the writer seeks only to
/// where it has been).
#[derive(Default)]
struct CountingSink {
    position: u64,
    end: u64,
}

impl Write for CountingSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.position += bytes.len() as u64;
        self.end = self.end.max(self.position);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for CountingSink {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.position = match to {
            SeekFrom::Start(position) => position,
            SeekFrom::End(offset) => self.end.saturating_add_signed(offset),
            SeekFrom::Current(offset) => self.position.saturating_add_signed(offset),
        };
        Ok(self.position)
    }
}

struct Frame {
    captured: CapturedFrame,
    metadata: FrameMetadata,
    json: Vec<u8>,
}

fn frames() -> (Geometry, Vec<Frame>) {
    let Ok(mut source) = SyntheticSource::new(SyntheticConfig {
        width: 640,
        height: 480,
        fps: 0.0,
        ..SyntheticConfig::default()
    }) else {
        panic!("synthetic source");
    };
    let geometry = source.geometry();
    let info = source.info();
    let frames = (0..FRAMES)
        .map(|_| {
            let mut captured = CapturedFrame::default();
            if let Err(error) = source.next_frame(&mut captured) {
                panic!("render: {error}");
            }
            let metadata = info.frame_metadata(captured.stamp(), 30.0);
            let Ok(json) = serde_json::to_vec(&metadata) else {
                panic!("metadata JSON");
            };
            Frame {
                captured,
                metadata,
                json,
            }
        })
        .collect();
    (geometry, frames)
}

/// CPU time per frame and bytes per frame of recording `frames` with `compression`.
fn record(geometry: Geometry, frames: &[Frame], compression: RecordCompression) -> (Duration, u64) {
    let started = thread_cpu_time();
    let Ok(mut recorder) = McapRecorder::new(CountingSink::default(), compression) else {
        panic!("recorder");
    };
    for frame in frames {
        let parts = FrameParts {
            geometry,
            rgb: &frame.captured.rgb,
            depth: Some(&frame.captured.depth),
            metadata_json: &frame.json,
        };
        if let Err(error) = recorder.write_frame(parts, &frame.metadata) {
            panic!("write: {error}");
        }
    }
    let Ok(sink) = recorder.finish() else {
        panic!("finish");
    };
    let spent = thread_cpu_time() - started;
    (spent / frames.len() as u32, sink.end / frames.len() as u64)
}

/// The baseline: one copy of each frame's planes.
fn copy(frames: &[Frame], into: &mut Vec<u8>) -> Duration {
    let started = thread_cpu_time();
    for frame in frames {
        into.clear();
        into.extend_from_slice(&frame.captured.rgb);
        into.extend_from_slice(&frame.captured.depth);
        std::hint::black_box(&into);
    }
    (thread_cpu_time() - started) / frames.len() as u32
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

fn main() {
    let (geometry, frames) = frames();
    let cases = [
        RecordCompression::None,
        RecordCompression::Lz4,
        RecordCompression::Zstd,
    ];
    let mut copies = Vec::new();
    let mut times = vec![Vec::new(); cases.len()];
    let mut bytes = vec![0u64; cases.len()];
    let mut buffer = Vec::new();
    for _ in 0..ROUNDS {
        copies.push(copy(&frames, &mut buffer));
        for (index, compression) in cases.iter().enumerate() {
            let (time, frame_bytes) = record(geometry, &frames, *compression);
            times[index].push(time);
            bytes[index] = frame_bytes;
        }
    }
    let baseline = median(copies);
    let raw_bytes = geometry.frame_len() as f64;
    println!(
        "recording 640x480 RGB-D, {FRAMES} synthetic frames x {ROUNDS} rounds, CPU time per frame (median of rounds)"
    );
    println!(
        "baseline: copying the planes once: {:.3} ms per frame ({:.0} bytes)",
        baseline.as_secs_f64() * 1e3,
        raw_bytes
    );
    for (index, compression) in cases.iter().enumerate() {
        let time = median(times[index].clone());
        let ms = time.as_secs_f64() * 1e3;
        println!(
            "{compression:?}: {ms:.3} ms per frame = {:.1}x the copy; {} bytes per frame ({:.2} of raw); at 30 fps {:.1} % of a core; 90 fps {}",
            time.as_secs_f64() / baseline.as_secs_f64().max(1e-9),
            bytes[index],
            bytes[index] as f64 / raw_bytes,
            ms * 30.0 / 10.0,
            if ms < 1000.0 / 90.0 { "keeps up" } else { "does not keep up" }
        );
    }
}
