//! RVL against zstd level 1 on a 640x480 depth frame of the synthetic scene (exact metric
//! depth, floor, sky with no reading, moving objects; stamps in the first rows), in the same
//! run: encode and decode time and compression ratio.
//!
//! The synthetic depth is exact and piecewise smooth, kinder to a general-purpose compressor
//! than a real sensor's; the same frame with sensor-like noise added (a deterministic
//! Gaussian-ish error of 0.2 % of the depth, 2 % of the pixels without a reading, as active
//! stereo cameras give) is measured too.
//!
//! `cargo bench -p depth-codec` runs the criterion benchmarks (both frames), then prints a
//! summary: thread CPU time per frame (median of alternating rounds, so both codecs see the
//! same machine load), the ratio RVL / zstd, and each codec's compression ratio.

use std::hint::black_box;
use std::time::Duration;

use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};
use camera_sources::{CapturedFrame, Source};
use criterion::{Criterion, Throughput};
use depth_codec::compressed_depth::{decode_rvl_into, encode_rvl, DepthImage};
use depth_codec::zstd_image;
use test_support::thread_cpu_time;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
const ZSTD_LEVEL: i32 = 1;

/// A depth frame of the synthetic scene, a few seconds into its motion.
fn synthetic_depth_frame() -> Vec<u16> {
    let config = SyntheticConfig {
        width: WIDTH,
        height: HEIGHT,
        fps: 0.0,
        ..SyntheticConfig::default()
    };
    let mut source = match SyntheticSource::new(config) {
        Ok(source) => source,
        Err(error) => panic!("cannot set the synthetic source up: {error}"),
    };
    let mut frame = CapturedFrame::default();
    for _ in 0..90 {
        if let Err(error) = source.next_frame(&mut frame) {
            panic!("rendering failed: {error}");
        }
    }
    frame
        .depth
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect()
}

/// `depth_units` as a sensor sees it: an error of about 0.2 % of the depth on every reading,
/// and 2 % of the pixels without one. Deterministic (xorshift), so every run codes the same.
fn with_sensor_noise(depth_units: &[u16]) -> Vec<u16> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    depth_units
        .iter()
        .map(|&unit| {
            if unit == 0 || next() % 50 == 0 {
                return 0;
            }
            // The sum of four uniforms in -0.5..0.5: close to a normal with sigma 0.58.
            let normal: f64 = (0..4).map(|_| (next() % 1000) as f64 / 1000.0 - 0.5).sum();
            let error = normal / 0.58 * 0.002 * f64::from(unit);
            (f64::from(unit) + error).round().clamp(1.0, 65535.0) as u16
        })
        .collect()
}

struct Codecs {
    depth_le: Vec<u8>,
    depth_units: Vec<u16>,
    rvl: Vec<u8>,
    zstd: Vec<u8>,
    decoded: DepthImage,
}

impl Codecs {
    fn new(depth_units: Vec<u16>) -> Self {
        let depth_le = depth_units
            .iter()
            .flat_map(|unit| unit.to_le_bytes())
            .collect();
        let mut codecs = Codecs {
            depth_le,
            depth_units,
            rvl: Vec::new(),
            zstd: Vec::new(),
            decoded: DepthImage::default(),
        };
        codecs.rvl_encode();
        codecs.zstd_encode();
        codecs.rvl_decode();
        assert_eq!(
            codecs.decoded.depth_units, codecs.depth_units,
            "RVL is lossless"
        );
        assert_eq!(codecs.zstd_decode(), codecs.depth_le, "zstd is lossless");
        codecs
    }

    fn rvl_encode(&mut self) {
        self.rvl.clear();
        if let Err(error) = encode_rvl(WIDTH, HEIGHT, black_box(&self.depth_units), &mut self.rvl) {
            panic!("RVL encoding failed: {error}");
        }
    }

    fn rvl_decode(&mut self) {
        if let Err(error) = decode_rvl_into(black_box(&self.rvl), &mut self.decoded) {
            panic!("RVL decoding failed: {error}");
        }
    }

    fn zstd_encode(&mut self) {
        self.zstd.clear();
        let result = zstd_image::encode_16uc1(
            WIDTH,
            HEIGHT,
            black_box(&self.depth_le),
            ZSTD_LEVEL,
            &mut self.zstd,
        );
        if let Err(error) = result {
            panic!("zstd encoding failed: {error}");
        }
    }

    fn zstd_decode(&self) -> Vec<u8> {
        match zstd_image::decode(black_box(&self.zstd)) {
            Ok(image) => image.data,
            Err(error) => panic!("zstd decoding failed: {error}"),
        }
    }
}

fn frames() -> [(&'static str, Vec<u16>); 2] {
    let clean = synthetic_depth_frame();
    let noisy = with_sensor_noise(&clean);
    [("synthetic", clean), ("synthetic + sensor noise", noisy)]
}

fn criterion_benches(criterion: &mut Criterion) {
    for (name, depth_units) in frames() {
        codec_benches(criterion, name, depth_units);
    }
}

fn codec_benches(criterion: &mut Criterion, name: &str, depth_units: Vec<u16>) {
    let mut codecs = Codecs::new(depth_units);
    let mut group = criterion.benchmark_group(format!("depth {WIDTH}x{HEIGHT} {name}"));
    group.throughput(Throughput::Bytes(codecs.depth_le.len() as u64));
    group.bench_function("rvl encode", |bencher| bencher.iter(|| codecs.rvl_encode()));
    group.bench_function("rvl decode", |bencher| bencher.iter(|| codecs.rvl_decode()));
    group.bench_function("zstd-1 encode", |bencher| {
        bencher.iter(|| codecs.zstd_encode())
    });
    group.bench_function("zstd-1 decode", |bencher| {
        bencher.iter(|| black_box(codecs.zstd_decode()))
    });
    group.finish();
}

/// Median thread CPU time per call of each of `runs`, measured in alternating rounds.
fn alternating_medians<const N: usize>(runs: &mut [&mut dyn FnMut(); N]) -> [Duration; N] {
    const ROUNDS: usize = 31;
    const CALLS_PER_ROUND: u32 = 10;
    let mut samples = [(); N].map(|_| Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        for (run, samples) in runs.iter_mut().zip(samples.iter_mut()) {
            let started = thread_cpu_time();
            for _ in 0..CALLS_PER_ROUND {
                run();
            }
            samples.push((thread_cpu_time() - started) / CALLS_PER_ROUND);
        }
    }
    samples.map(|mut samples| {
        samples.sort();
        samples[ROUNDS / 2]
    })
}

fn summary(name: &str, depth_units: Vec<u16>) {
    let codecs = std::cell::RefCell::new(Codecs::new(depth_units));
    let raw_bytes = codecs.borrow().depth_le.len() as f64;
    let [rvl_encode, rvl_decode, zstd_encode, zstd_decode] = alternating_medians(&mut [
        &mut || codecs.borrow_mut().rvl_encode(),
        &mut || codecs.borrow_mut().rvl_decode(),
        &mut || codecs.borrow_mut().zstd_encode(),
        &mut || {
            black_box(codecs.borrow().zstd_decode());
        },
    ]);
    let codecs = codecs.borrow();
    let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
    println!(
        "\ndepth {WIDTH}x{HEIGHT}, {name} ({:.0} KB raw), thread CPU time per frame (median \
         of 31 alternating rounds):",
        raw_bytes / 1e3
    );
    println!(
        "  RVL:    encode {:.3} ms, decode {:.3} ms, {:.0} KB, ratio {:.2}:1",
        ms(rvl_encode),
        ms(rvl_decode),
        codecs.rvl.len() as f64 / 1e3,
        raw_bytes / codecs.rvl.len() as f64
    );
    println!(
        "  zstd-1: encode {:.3} ms, decode {:.3} ms, {:.0} KB, ratio {:.2}:1",
        ms(zstd_encode),
        ms(zstd_decode),
        codecs.zstd.len() as f64 / 1e3,
        raw_bytes / codecs.zstd.len() as f64
    );
    println!(
        "  RVL / zstd-1: encode time {:.2}x, decode time {:.2}x, size {:.2}x",
        rvl_encode.as_secs_f64() / zstd_encode.as_secs_f64(),
        rvl_decode.as_secs_f64() / zstd_decode.as_secs_f64(),
        codecs.rvl.len() as f64 / codecs.zstd.len() as f64
    );
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
    for (name, depth_units) in frames() {
        summary(name, depth_units);
    }
}
