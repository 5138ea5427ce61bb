//! Blocking until a shared word changes: a futex on Linux, short sleeps elsewhere.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Blocks while `word` still holds `expected`, for at most `timeout`. May return early
/// (spuriously, or because the word changed); callers re-check their condition.
#[cfg(target_os = "linux")]
pub(crate) fn wait_while_equal(word: &AtomicU32, expected: u32, timeout: Duration) {
    let timeout = libc::timespec {
        tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a valid, aligned 32-bit word in a MAP_SHARED mapping that outlives the
    // call. FUTEX_WAIT (without FUTEX_PRIVATE_FLAG, so the kernel keys it on the shared page and
    // other processes' wakes reach us) only reads the word and sleeps; a relative timeout is
    // passed by pointer to a live timespec. Errors (EAGAIN when the word already changed,
    // EINTR, ETIMEDOUT) all mean "return and let the caller re-check", so the result is ignored.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &timeout as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes every process blocked in [`wait_while_equal`] on `word`.
#[cfg(target_os = "linux")]
pub(crate) fn wake_all(word: &AtomicU32) {
    // SAFETY: `word` is a valid, aligned word of a shared mapping; FUTEX_WAKE neither reads nor
    // writes memory, it only wakes waiters keyed on that address. Failure cannot hurt anyone:
    // waiters time out and re-check by themselves.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX);
    }
}

/// Without futexes (macOS), readers poll the word every 500 us: coarser, still bounded.
#[cfg(not(target_os = "linux"))]
pub(crate) fn wait_while_equal(word: &AtomicU32, expected: u32, timeout: Duration) {
    use std::sync::atomic::Ordering;
    let deadline = std::time::Instant::now() + timeout;
    // Relaxed: this is only a hint to stop sleeping; the caller re-reads with Acquire.
    while word.load(Ordering::Relaxed) == expected {
        let now = std::time::Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep((deadline - now).min(Duration::from_micros(500)));
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn wake_all(_word: &AtomicU32) {}
