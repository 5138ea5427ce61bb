//! The daemon as a whole process, as people run it: startup to the first frame a reader
//! receives, and the CPU the daemon uses at 30 fps 640x480 on the synthetic source (the issue's
//! targets: under 100 ms and under 2 % of one core).
//!
//! `cargo bench -p capture-daemon --bench daemon` (Linux: CPU time comes from /proc). Both are
//! printed next to a baseline measured in the same run: for startup, the same binary starting
//! and exiting at once (`--version`); for CPU, a thread of this process copying the same frame
//! bytes (colour and depth) 30 times a second. The machine may be busy; CPU time, unlike wall
//! time, is not inflated by other processes taking the core.

use std::hint::black_box;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use shmproto::{FrameBuf, Namespace, Reader};
use test_support::thread_cpu_time;

const DAEMON: &str = env!("CARGO_BIN_EXE_aaa-camera-daemon");
const WIDTH: usize = 640;
const HEIGHT: usize = 480;
const FPS: u32 = 30;
const CPU_SECONDS: u64 = 10;

fn namespace(tag: &str) -> Namespace {
    match Namespace::new(&format!("{tag}{}", std::process::id())) {
        Ok(namespace) => namespace,
        Err(error) => panic!("bench namespace: {error}"),
    }
}

/// A running daemon, stopped with SIGTERM (and waited for) when dropped.
struct Daemon(Child);

impl Daemon {
    fn start(namespace: &Namespace, runtime_dir: &std::path::Path) -> Self {
        let child = Command::new(DAEMON)
            .args(["run", "--source", "synthetic", "--fps", &FPS.to_string()])
            .args([
                "--width",
                &WIDTH.to_string(),
                "--height",
                &HEIGHT.to_string(),
            ])
            .args(["--namespace", namespace.as_str()])
            .env("AAA_RUNTIME_DIR", runtime_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(child) => Daemon(child),
            Err(error) => panic!("cannot start {DAEMON}: {error}"),
        }
    }

    /// CPU time (user + system) of the whole process so far, all threads.
    fn cpu_time(&self) -> Duration {
        let path = format!("/proc/{}/stat", self.0.id());
        let stat = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
        // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok());
        let (Some(user), Some(system)) = (ticks(11), ticks(12)) else {
            panic!("unexpected {path}: {stat}");
        };
        // SAFETY: sysconf has no preconditions; _SC_CLK_TCK is always defined.
        let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        Duration::from_secs_f64((user + system) as f64 / ticks_per_s)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: kill has no memory preconditions; the pid is our own child, not yet reaped.
        unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.0.wait();
    }
}

/// From spawning the daemon to a reader holding its first frame.
fn startup_to_first_frame(namespace: &Namespace) -> Duration {
    let Ok(runtime_dir) = tempfile::tempdir() else {
        panic!("cannot make a runtime directory");
    };
    let started = Instant::now();
    let _daemon = Daemon::start(namespace, runtime_dir.path());
    let mut frame = FrameBuf::new();
    loop {
        if started.elapsed() > Duration::from_secs(10) {
            panic!("no frame within 10 s");
        }
        let Ok(mut reader) = Reader::open(namespace) else {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        };
        match reader.wait_next(&mut frame, Duration::from_secs(2)) {
            Ok(true) => return started.elapsed(),
            // Not yet, or the segments of a daemon still starting: open again.
            Ok(false) | Err(_) => std::thread::sleep(Duration::from_micros(200)),
        }
    }
}

/// The same binary starting and exiting at once.
fn bare_process_start() -> Duration {
    let started = Instant::now();
    match Command::new(DAEMON)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => started.elapsed(),
        other => panic!("{DAEMON} --version: {other:?}"),
    }
}

/// Share of one core the daemon uses over [`CPU_SECONDS`], after a second of warm-up.
fn daemon_core_share() -> f64 {
    let Ok(runtime_dir) = tempfile::tempdir() else {
        panic!("cannot make a runtime directory");
    };
    let daemon = Daemon::start(&namespace("bcpu"), runtime_dir.path());
    std::thread::sleep(Duration::from_secs(1));
    let (cpu_started, wall_started) = (daemon.cpu_time(), Instant::now());
    std::thread::sleep(Duration::from_secs(CPU_SECONDS));
    (daemon.cpu_time() - cpu_started).as_secs_f64() / wall_started.elapsed().as_secs_f64()
}

/// Share of one core a thread uses copying one frame's bytes 30 times a second.
fn memcpy_core_share() -> f64 {
    let pixels = WIDTH * HEIGHT;
    let source = (vec![1u8; pixels * 3], vec![1u8; pixels * 2]);
    // As many destinations as the daemon has slots, so the copies go to cold memory as its do.
    let mut slots: Vec<(Vec<u8>, Vec<u8>)> = (0..4)
        .map(|_| (vec![0u8; pixels * 3], vec![0u8; pixels * 2]))
        .collect();
    let period = Duration::from_secs(1) / FPS;
    let (cpu_started, wall_started) = (thread_cpu_time(), Instant::now());
    for frame in 0..FPS as u64 * CPU_SECONDS {
        let slot = &mut slots[frame as usize % 4];
        slot.0.copy_from_slice(black_box(&source.0));
        slot.1.copy_from_slice(black_box(&source.1));
        black_box(slot);
        let due = period * (frame as u32 + 1);
        std::thread::sleep(due.saturating_sub(wall_started.elapsed()));
    }
    (thread_cpu_time() - cpu_started).as_secs_f64() / wall_started.elapsed().as_secs_f64()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    if !cfg!(target_os = "linux") {
        println!("daemon bench: Linux only (it reads CPU time from /proc); skipped");
        return;
    }
    let mut criterion = Criterion::default().sample_size(10).configure_from_args();
    let mut group = criterion.benchmark_group("daemon startup");
    let startup_namespace = namespace("bstart");
    // Timed from the spawn to the frame only: stopping the daemon is left out.
    group.bench_function("to the first frame read", |bencher| {
        bencher.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| startup_to_first_frame(&startup_namespace))
                .sum()
        })
    });
    group.bench_function("bare process start (--version)", |bencher| {
        bencher.iter(bare_process_start)
    });
    group.finish();
    criterion.final_summary();

    let startup = median(
        (0..9)
            .map(|_| startup_to_first_frame(&startup_namespace))
            .collect(),
    );
    let bare = median((0..9).map(|_| bare_process_start()).collect());
    println!(
        "\ndaemon, startup to the first frame a reader holds (median of 9): {:.1} ms = {:.1} x \
         the bare process start ({:.1} ms); target under 100 ms",
        startup.as_secs_f64() * 1e3,
        startup.as_secs_f64() / bare.as_secs_f64(),
        bare.as_secs_f64() * 1e3,
    );
    let daemon = daemon_core_share();
    let memcpy = memcpy_core_share();
    println!(
        "daemon, CPU at {FPS} fps {WIDTH}x{HEIGHT} synthetic over {CPU_SECONDS} s, whole \
         process: {:.2} % of one core = {:.1} x a thread copying the same frames ({:.2} %); \
         target under 2 %",
        100.0 * daemon,
        daemon / memcpy,
        100.0 * memcpy,
    );
}
