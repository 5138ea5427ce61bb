//! Which detection result goes over which live frame.
//!
//! Results arrive after their frame: the detector needs its inference time, during which the
//! display moves on. A result is drawn only over the frame it was computed for or, when that
//! frame is gone from the screen, over a newer frame at most [`MAX_FRAMES_BEHIND`] frame
//! numbers later (boxes a couple of frames old are still where the objects are, older ones are
//! not). The result drawn is the newest whose frame is not newer than the shown one: a result
//! for a frame the display has not reached yet (the daemon detects before the app displays)
//! waits until it does.

use std::collections::VecDeque;

/// How many frame numbers a result may lag the shown frame and still be drawn over it.
pub const MAX_FRAMES_BEHIND: u64 = 2;

/// Results kept for matching: enough for a display a few frames behind the detector.
const KEPT: usize = 8;

/// The recent results of one feed, by frame number.
#[derive(Debug, Clone)]
pub struct RecentResults<T> {
    /// Oldest first, frame numbers increasing.
    results: VecDeque<(u64, T)>,
}

impl<T> Default for RecentResults<T> {
    fn default() -> Self {
        RecentResults {
            results: VecDeque::with_capacity(KEPT),
        }
    }
}

/// A result chosen for a shown frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'a, T> {
    pub result: &'a T,
    /// The result's frame number.
    pub frame_number: u64,
    /// How many frame numbers older than the shown frame it is (0: computed for it).
    pub frames_behind: u64,
}

impl<T> RecentResults<T> {
    /// Keeps `result`, computed for frame `frame_number`. A number not above the newest kept
    /// one means a new session of the source (or a result that arrived out of order): the
    /// older results go.
    pub fn push(&mut self, frame_number: u64, result: T) {
        if self
            .results
            .back()
            .is_some_and(|&(newest, _)| frame_number <= newest)
        {
            self.results.clear();
        }
        if self.results.len() == KEPT {
            self.results.pop_front();
        }
        self.results.push_back((frame_number, result));
    }

    pub fn clear(&mut self) {
        self.results.clear();
    }

    /// The newest result kept, whatever frame it is for.
    pub fn newest(&self) -> Option<(u64, &T)> {
        self.results
            .back()
            .map(|(frame_number, result)| (*frame_number, result))
    }

    /// The result to draw over frame `shown_frame_number`: the newest for that frame or an
    /// older one at most [`MAX_FRAMES_BEHIND`] behind; `None` if there is none.
    pub fn for_frame(&self, shown_frame_number: u64) -> Option<Match<'_, T>> {
        self.results
            .iter()
            .rev()
            .find(|(frame_number, _)| *frame_number <= shown_frame_number)
            .filter(|(frame_number, _)| shown_frame_number - frame_number <= MAX_FRAMES_BEHIND)
            .map(|(frame_number, result)| Match {
                result,
                frame_number: *frame_number,
                frames_behind: shown_frame_number - frame_number,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_is_drawn_over_its_frame_or_one_at_most_two_frames_newer() {
        let mut recent = RecentResults::default();
        recent.push(10, "ten");
        recent.push(13, "thirteen");
        let found = |shown| {
            recent
                .for_frame(shown)
                .map(|m| (*m.result, m.frames_behind))
        };
        assert_eq!(found(9), None, "no result for older frames");
        assert_eq!(found(10), Some(("ten", 0)));
        assert_eq!(found(12), Some(("ten", 2)));
        assert_eq!(found(13), Some(("thirteen", 0)), "the newest that fits");
        assert_eq!(found(15), Some(("thirteen", 2)));
        assert_eq!(found(16), None, "three frames behind is too old");
    }

    #[test]
    fn a_new_session_drops_the_old_results_and_few_are_kept() {
        let mut recent = RecentResults::default();
        for number in 100..120 {
            recent.push(number, number);
        }
        assert_eq!(recent.results.len(), KEPT);
        assert_eq!(recent.for_frame(119).map(|m| *m.result), Some(119));
        recent.push(3, 3);
        assert_eq!(recent.results.len(), 1);
        assert_eq!(recent.for_frame(119), None);
        assert_eq!(recent.newest(), Some((3, &3)));
    }
}
