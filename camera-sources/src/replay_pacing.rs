//! Replaying a recording with its own timing: each frame is due when as much time has passed
//! since the first frame as passed in the recording (divided by the rate), loop after loop.

use std::time::{Duration, Instant};

/// How late a replay may fall behind before it stops catching up (a paused or starved
/// process resumes at the recording's pace instead of bursting through the backlog).
const MAX_LAG: Duration = Duration::from_millis(500);

/// Paces frames by the times they were recorded at.
#[derive(Debug, Clone)]
pub struct ReplayPacer {
    rate: f64,
    /// When the frame recorded at `.1` (ns) is due.
    origin: Option<(Instant, u64)>,
    /// The previous frame: its due time and recorded time.
    previous: Option<(Instant, u64)>,
    /// The recording's frame interval, from its last two frames.
    period: Duration,
}

impl ReplayPacer {
    /// Frames `rate` times as fast as recorded (1 = original timing); rates that are not
    /// finite and positive mean 1.
    pub fn new(rate: f64) -> Self {
        ReplayPacer {
            rate: if rate.is_finite() && rate > 0.0 {
                rate
            } else {
                1.0
            },
            origin: None,
            previous: None,
            period: Duration::from_millis(33),
        }
    }

    /// When the frame recorded at `recorded_ns` is due, asked at `now`. A stamp earlier than
    /// the previous one (the recording started again), or the same stamp again (a frame
    /// handed over twice at a loop's seam), continues one frame interval after the previous
    /// frame: frames never come faster than recorded.
    pub fn due(&mut self, recorded_ns: u64, now: Instant) -> Instant {
        let scaled = |ns: u64| Duration::from_secs_f64(ns as f64 / 1e9 / self.rate);
        let origin = match (self.origin, self.previous) {
            (Some((at, first_ns)), Some((_, previous_ns)))
                if recorded_ns >= first_ns && recorded_ns > previous_ns =>
            {
                if let Some(interval) = recorded_ns.checked_sub(previous_ns) {
                    if interval > 0 {
                        self.period = Duration::from_nanos(interval);
                    }
                }
                (at, first_ns)
            }
            (_, Some((previous_due, _))) => (
                previous_due + scaled(self.period.as_nanos() as u64),
                recorded_ns,
            ),
            (_, None) => (now, recorded_ns),
        };
        let mut due = origin.0 + scaled(recorded_ns - origin.1);
        let mut origin = origin;
        if now > due + MAX_LAG {
            // Too far behind: start counting from now.
            origin = (now, recorded_ns);
            due = now;
        }
        self.origin = Some(origin);
        self.previous = Some((due, recorded_ns));
        due
    }

    /// Sleeps until the frame recorded at `recorded_ns` is due.
    pub fn wait_for(&mut self, recorded_ns: u64) {
        let now = Instant::now();
        let due = self.due(recorded_ns, now);
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn frames_are_due_at_their_recorded_offsets_divided_by_the_rate() {
        let start = Instant::now();
        let mut pacer = ReplayPacer::new(2.0);
        assert_eq!(pacer.due(1_000 * MS, start), start);
        assert_eq!(
            pacer.due(1_100 * MS, start),
            start + Duration::from_millis(50)
        );
        assert_eq!(
            pacer.due(1_300 * MS, start),
            start + Duration::from_millis(150)
        );
    }

    #[test]
    fn a_loop_continues_one_interval_after_the_last_frame() {
        let start = Instant::now();
        let mut pacer = ReplayPacer::new(1.0);
        for i in 0..3 {
            pacer.due(i * 33 * MS, start);
        }
        // Back to the first stamp: due one interval (33 ms) after the frame at 66 ms.
        assert_eq!(pacer.due(0, start), start + Duration::from_millis(99));
        assert_eq!(
            pacer.due(33 * MS, start),
            start + Duration::from_millis(132)
        );
    }

    #[test]
    fn the_same_stamp_again_waits_one_interval() {
        let start = Instant::now();
        let mut pacer = ReplayPacer::new(1.0);
        pacer.due(0, start);
        pacer.due(100 * MS, start);
        assert_eq!(
            pacer.due(100 * MS, start),
            start + Duration::from_millis(200)
        );
        assert_eq!(
            pacer.due(200 * MS, start),
            start + Duration::from_millis(300)
        );
    }

    #[test]
    fn a_late_replay_does_not_burst() {
        let start = Instant::now();
        let mut pacer = ReplayPacer::new(1.0);
        pacer.due(0, start);
        let late = start + Duration::from_secs(5);
        assert_eq!(pacer.due(33 * MS, late), late);
        assert_eq!(pacer.due(66 * MS, late), late + Duration::from_millis(33));
    }
}
