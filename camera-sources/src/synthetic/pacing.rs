//! Pacing frames to a configured rate against a fixed schedule on the monotonic clock.
//!
//! Frame k is due at `start + k * period`: deadlines are computed from the schedule, never
//! from the time the previous frame happened to be delivered, so sleep overshoot and render
//! time do not accumulate into drift. A frame that is late by up to half a period is
//! delivered at once and the schedule is kept. When the source falls further behind (the
//! machine stalled, the reader blocked), the missed slots are dropped and the schedule
//! restarts from now: the source never bursts frames to catch up, and two frames are never
//! delivered less than half a period apart by the schedule.

use std::time::Duration;

/// The schedule of one source.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    /// Nanoseconds between frames; 0 means "unpaced" (as fast as possible).
    period_ns: u64,
    /// When the next frame is due, `None` before the first frame.
    next_deadline_ns: Option<u64>,
}

impl Pacer {
    /// A schedule for `fps` frames per second; `fps` must be finite and not negative, 0 means
    /// unpaced.
    pub(crate) fn new(fps: f32) -> Self {
        let period_ns = if fps > 0.0 {
            (1e9 / f64::from(fps)).round().max(1.0) as u64
        } else {
            0
        };
        Pacer {
            period_ns,
            next_deadline_ns: None,
        }
    }

    /// When the frame requested at `now_ns` is due (never before `now_ns` for the first frame,
    /// never in the past by more than half a period); advances the schedule by one frame.
    pub(crate) fn next_deadline(&mut self, now_ns: u64) -> u64 {
        if self.period_ns == 0 {
            return now_ns;
        }
        let late_limit_ns = self.period_ns / 2;
        let due_ns = match self.next_deadline_ns {
            Some(deadline_ns) if now_ns <= deadline_ns.saturating_add(late_limit_ns) => deadline_ns,
            // The first frame, or far behind: (re)start the schedule now, dropping missed slots.
            _ => now_ns,
        };
        self.next_deadline_ns = Some(due_ns.saturating_add(self.period_ns));
        due_ns
    }

    /// Sleeps until the next frame is due on the monotonic clock.
    pub(crate) fn wait(&mut self) {
        let deadline_ns = self.next_deadline(shmproto::monotonic_now_ns());
        // `sleep` may return early on some platforms (signals); loop until the clock agrees.
        loop {
            let now_ns = shmproto::monotonic_now_ns();
            if now_ns >= deadline_ns {
                break;
            }
            std::thread::sleep(Duration::from_nanos(deadline_ns - now_ns));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD_NS: u64 = 10_000_000; // 100 fps

    #[test]
    fn unpaced_never_waits() {
        let mut pacer = Pacer::new(0.0);
        assert_eq!(pacer.next_deadline(5), 5);
        assert_eq!(pacer.next_deadline(6), 6);
    }

    #[test]
    fn first_frame_is_immediate_then_frames_follow_the_grid() {
        let mut pacer = Pacer::new(100.0);
        let start = 1_000_000_000;
        assert_eq!(pacer.next_deadline(start), start);
        // Asking early (the render was fast): wait for the slot.
        assert_eq!(pacer.next_deadline(start + 1), start + PERIOD_NS);
        assert_eq!(
            pacer.next_deadline(start + PERIOD_NS + 5),
            start + 2 * PERIOD_NS
        );
    }

    #[test]
    fn small_lateness_does_not_drift() {
        let mut pacer = Pacer::new(100.0);
        let start = 1_000_000_000;
        pacer.next_deadline(start);
        // Every request comes 40% of a period after its slot (slow render, sleep overshoot).
        for k in 1..100 {
            let slot = start + k * PERIOD_NS;
            assert_eq!(pacer.next_deadline(slot + PERIOD_NS * 2 / 5), slot);
        }
    }

    #[test]
    fn a_stall_restarts_the_schedule_without_a_burst() {
        let mut pacer = Pacer::new(100.0);
        let start = 1_000_000_000;
        pacer.next_deadline(start);
        // Stalled for ten periods: deliver now...
        let resumed = start + 10 * PERIOD_NS + 123;
        assert_eq!(pacer.next_deadline(resumed), resumed);
        // ...and the next frame a full period later, not immediately.
        assert_eq!(pacer.next_deadline(resumed + 1), resumed + PERIOD_NS);
        assert_eq!(pacer.next_deadline(resumed + 2), resumed + 2 * PERIOD_NS);
    }

    #[test]
    fn consecutive_deadlines_are_at_least_half_a_period_apart() {
        let mut pacer = Pacer::new(100.0);
        let mut now = 1_000_000_000;
        let mut previous = pacer.next_deadline(now);
        // A pseudo-random mix of early, slightly late and very late requests.
        let mut seed = 12345u64;
        for _ in 0..1000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            now = previous.max(now) + (seed >> 33) % (3 * PERIOD_NS);
            let deadline = pacer.next_deadline(now);
            assert!(deadline >= previous + PERIOD_NS / 2);
            assert!(deadline + PERIOD_NS / 2 >= now);
            previous = deadline;
        }
    }

    #[test]
    fn wait_sleeps_until_the_deadline() {
        let mut pacer = Pacer::new(200.0);
        let start = shmproto::monotonic_now_ns();
        pacer.wait();
        pacer.wait();
        pacer.wait();
        // Two full periods of 5 ms must have passed; never fewer.
        assert!(shmproto::monotonic_now_ns() - start >= 10_000_000);
    }
}
