//! The daemon's own measurements ([`DaemonMetrics`], whose fields the protocol defines),
//! taken with `getrusage` and /proc and published in the writer status for `status`, `ctl`
//! and the app's health view.

use std::time::{Duration, Instant};

use shmproto::DaemonMetrics;

fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid, writable rusage cannot fail.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Resident set size, bytes (Linux: /proc/self/statm; elsewhere: peak RSS).
pub fn rss_bytes() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let pages = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|text| text.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0);
        // SAFETY: sysconf has no preconditions.
        let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as u64;
        pages * page_size
    }
    #[cfg(not(target_os = "linux"))]
    {
        // SAFETY: as in `cpu_time`.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: as in `cpu_time`.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        usage.ru_maxrss as u64 // bytes on macOS
    }
}

/// Accumulates per-frame measurements and turns them into [`DaemonMetrics`] once per window.
#[derive(Debug)]
pub struct MetricsMeter {
    started: Instant,
    window_start: Instant,
    window_cpu: Duration,
    window_frames: u64,
    window_publish: Duration,
    window_latency_ns: u64,
    last_frame_number: Option<u64>,
    pub metrics: DaemonMetrics,
}

/// Length of the measurement window.
pub const WINDOW: Duration = Duration::from_secs(1);

impl MetricsMeter {
    pub fn new(target_fps: f64) -> Self {
        let now = Instant::now();
        MetricsMeter {
            started: now,
            window_start: now,
            window_cpu: cpu_time(),
            window_frames: 0,
            window_publish: Duration::ZERO,
            window_latency_ns: 0,
            last_frame_number: None,
            metrics: DaemonMetrics {
                pid: std::process::id(),
                target_fps,
                ..DaemonMetrics::default()
            },
        }
    }

    /// Records one published frame.
    pub fn frame_published(
        &mut self,
        frame_number: u64,
        publish_time: Duration,
        capture_to_publish_ns: u64,
    ) {
        if let Some(last) = self.last_frame_number {
            if frame_number > last + 1 {
                self.metrics.frames_dropped += frame_number - last - 1;
            }
        }
        self.last_frame_number = Some(frame_number);
        self.metrics.frames_published += 1;
        self.window_frames += 1;
        self.window_publish += publish_time;
        self.window_latency_ns += capture_to_publish_ns;
    }

    /// A new source session starts numbering again.
    pub fn source_reopened(&mut self) {
        self.last_frame_number = None;
    }

    pub fn source_failed(&mut self, error: &str) {
        self.metrics.source_failures += 1;
        self.metrics.last_error = Some(error.to_owned());
    }

    /// Closes the window if it is over; true when the metrics were refreshed.
    pub fn tick(&mut self) -> bool {
        let elapsed = self.window_start.elapsed();
        if elapsed < WINDOW {
            return false;
        }
        let cpu = cpu_time();
        let seconds = elapsed.as_secs_f64();
        let metrics = &mut self.metrics;
        metrics.uptime_s = self.started.elapsed().as_secs_f64();
        metrics.fps = self.window_frames as f64 / seconds;
        metrics.cpu_percent = (cpu.saturating_sub(self.window_cpu)).as_secs_f64() / seconds * 100.0;
        if self.window_frames > 0 {
            metrics.publish_us =
                self.window_publish.as_secs_f64() * 1e6 / self.window_frames as f64;
            metrics.capture_to_publish_us =
                self.window_latency_ns as f64 / 1e3 / self.window_frames as f64;
        }
        metrics.rss_bytes = rss_bytes();
        self.window_start = Instant::now();
        self.window_cpu = cpu;
        self.window_frames = 0;
        self.window_publish = Duration::ZERO;
        self.window_latency_ns = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_in_frame_numbers_count_as_dropped() {
        let mut meter = MetricsMeter::new(30.0);
        for frame_number in [1, 2, 5, 6] {
            meter.frame_published(frame_number, Duration::from_micros(50), 1000);
        }
        assert_eq!(meter.metrics.frames_dropped, 2);
        meter.source_reopened();
        meter.frame_published(1, Duration::from_micros(50), 1000);
        assert_eq!(meter.metrics.frames_dropped, 2);
        assert_eq!(meter.metrics.frames_published, 5);
    }

    #[test]
    fn rss_is_measured() {
        assert!(rss_bytes() > 0);
    }
}
