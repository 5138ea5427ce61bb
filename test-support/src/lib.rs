//! What the workspace's tests and benchmarks share. A dev-dependency only: nothing here ships.

pub mod daemon;
pub mod xvfb;

use std::time::Duration;

/// CPU time this thread has used: unlike wall time, not inflated when other processes take
/// the core (the machine running a benchmark or test may be busy).
pub fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID exists on Linux and
    // macOS, and the call only writes `now`.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}
