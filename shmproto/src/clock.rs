//! Clocks shared by every process on the machine.

/// Nanoseconds on `CLOCK_MONOTONIC`: one clock for the whole system, so a timestamp written by
/// one process can be compared with this value read in another (latency, heartbeat age).
pub fn monotonic_now_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_MONOTONIC exists on every platform we
    // build for (Linux, macOS), so the call cannot fail and only writes `now`.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    (now.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.tv_nsec as u64)
}

/// Nanoseconds since the Unix epoch (0 if the clock is set before 1970).
pub fn wall_now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since_epoch| since_epoch.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn monotonic_clock_never_goes_back() {
        let first = super::monotonic_now_ns();
        let second = super::monotonic_now_ns();
        assert!(first > 0 && second >= first);
    }
}
