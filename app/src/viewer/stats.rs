//! Counting what the feeds deliver: frames received over every feed shown, and the receive
//! rate of the one shown now.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::feed::FrameLink;

/// Frames counted since the viewer started, for the smoke test and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameCounts {
    /// Frames the feed workers received, over every feed shown.
    pub received: u64,
    /// Frames the viewer put on screen.
    pub displayed: u64,
}

/// What the shown feeds received.
#[derive(Default)]
pub(super) struct FeedStats {
    fps: FpsEstimator,
    received: ReceivedCounter,
}

impl FeedStats {
    /// Takes in the counters of the link shown now.
    pub(super) fn observe(&mut self, link: &FrameLink, now: Instant) {
        let received = link.stats().received;
        self.received.observe(link.id(), received);
        self.fps.sample(link.id(), received, now);
    }

    /// Frames per second the shown feed received, over about the last second.
    pub(super) fn fps(&self) -> Option<f32> {
        self.fps.fps()
    }

    /// Frames received over all the feeds shown.
    pub(super) fn received(&self) -> u64 {
        self.received.total
    }
}

/// Frames per second the shown feed received, over about the last second.
#[derive(Default)]
struct FpsEstimator {
    link_id: Option<u64>,
    samples: VecDeque<(Instant, u64)>,
}

impl FpsEstimator {
    const WINDOW: Duration = Duration::from_millis(1500);

    fn sample(&mut self, link_id: u64, received: u64, now: Instant) {
        if self.link_id != Some(link_id) {
            self.link_id = Some(link_id);
            self.samples.clear();
        }
        if self
            .samples
            .back()
            .is_some_and(|&(_, last)| last == received)
        {
            return;
        }
        self.samples.push_back((now, received));
        while self
            .samples
            .front()
            .is_some_and(|&(at, _)| now.duration_since(at) > Self::WINDOW)
        {
            self.samples.pop_front();
        }
    }

    fn fps(&self) -> Option<f32> {
        let (first_at, first) = *self.samples.front()?;
        let (last_at, last) = *self.samples.back()?;
        let seconds = last_at.duration_since(first_at).as_secs_f32();
        (seconds >= 0.2).then(|| (last - first) as f32 / seconds)
    }
}

/// Adds up the frames received over all the links shown, one after another or in turns.
#[derive(Default)]
struct ReceivedCounter {
    last_seen_by_link: HashMap<u64, u64>,
    total: u64,
}

impl ReceivedCounter {
    fn observe(&mut self, link_id: u64, received: u64) {
        let last_seen = self.last_seen_by_link.entry(link_id).or_default();
        self.total += received.saturating_sub(*last_seen);
        *last_seen = received;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fps_is_measured_over_the_last_window_of_one_link() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut fps = FpsEstimator::default();
        fps.sample(1, 0, at(0));
        assert_eq!(fps.fps(), None, "one sample is no rate");
        fps.sample(1, 3, at(100));
        assert_eq!(fps.fps(), None, "too short to tell");
        for (i, ms) in (200..=1000).step_by(100).enumerate() {
            fps.sample(1, 6 + 3 * i as u64, at(ms));
        }
        assert_eq!(fps.fps(), Some(30.0));
        // Samples older than the window are forgotten: 60 fps from here on.
        fps.sample(1, 30 + 90, at(2500));
        assert_eq!(fps.fps(), Some(60.0));
        fps.sample(2, 5, at(2600));
        assert_eq!(fps.fps(), None, "another link starts afresh");
    }

    #[test]
    fn received_frames_add_up_over_links_shown_in_turns() {
        let mut counter = ReceivedCounter::default();
        counter.observe(1, 10);
        counter.observe(2, 4);
        counter.observe(1, 15);
        counter.observe(2, 4);
        assert_eq!(counter.total, 19);
    }
}
