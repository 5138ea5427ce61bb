//! The rate live detection achieves and its inference time, over the last couple of seconds.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Results per second and mean inference time over a sliding window.
#[derive(Debug, Clone, Default)]
pub struct RateMeter {
    /// When each result arrived, and its inference time (ms); oldest first.
    samples: VecDeque<(Instant, f32)>,
}

impl RateMeter {
    /// The window the numbers cover.
    pub const WINDOW: Duration = Duration::from_secs(2);

    /// Counts a result that arrived at `now` after `inference_ms` in the detector.
    pub fn record(&mut self, now: Instant, inference_ms: f32) {
        self.samples.push_back((now, inference_ms));
        self.forget_before(now);
    }

    pub fn clear(&mut self) {
        self.samples.clear();
    }

    /// Results per second over the window ending `now`; `None` before two results.
    pub fn rate_hz(&self, now: Instant) -> Option<f32> {
        let recent: Vec<Instant> = self
            .samples
            .iter()
            .map(|(at, _)| *at)
            .filter(|at| now.duration_since(*at) <= Self::WINDOW)
            .collect();
        let (first, last) = (recent.first()?, recent.last()?);
        let span_s = last.duration_since(*first).as_secs_f32();
        if recent.len() < 2 || span_s <= 0.0 {
            return None;
        }
        // n results span n - 1 intervals.
        Some((recent.len() - 1) as f32 / span_s)
    }

    /// Mean inference time of the results in the window, milliseconds.
    pub fn mean_inference_ms(&self, now: Instant) -> Option<f32> {
        let recent: Vec<f32> = self
            .samples
            .iter()
            .filter(|(at, _)| now.duration_since(*at) <= Self::WINDOW)
            .map(|(_, inference_ms)| *inference_ms)
            .collect();
        (!recent.is_empty()).then(|| recent.iter().sum::<f32>() / recent.len() as f32)
    }

    fn forget_before(&mut self, now: Instant) {
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > Self::WINDOW)
        {
            self.samples.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_results_a_second_read_as_ten_hertz() {
        let start = Instant::now();
        let mut meter = RateMeter::default();
        assert_eq!(meter.rate_hz(start), None);
        for i in 0..=10u32 {
            meter.record(start + Duration::from_millis(100) * i, 20.0 + i as f32);
        }
        let now = start + Duration::from_secs(1);
        let rate = meter.rate_hz(now).unwrap();
        assert!((rate - 10.0).abs() < 0.01, "{rate}");
        assert_eq!(meter.mean_inference_ms(now), Some(25.0));
        // Results older than the window no longer count.
        let later = now + Duration::from_secs(5);
        assert_eq!(meter.rate_hz(later), None);
        assert_eq!(meter.mean_inference_ms(later), None);
    }
}
