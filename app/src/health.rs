//! The daemon's health as the app sees it: whether a connected daemon delivers (live, paused,
//! alive but not publishing), and the last minute of its frame rate and of the
//! publish-to-display latency for the health panel's plot.
//!
//! Where the numbers come from: the daemon rewrites its writer status (state, message and its
//! `DaemonMetrics` in `extra`) on every change and once a second, and the daemon source's worker
//! reads it next to the frames (`feed::daemon`). That costs no socket round trip, works when
//! the daemon runs as root, and reads the same object the `metrics` command returns. A daemon
//! whose heartbeat stops is noticed by the reader within 250 ms and reported as gone.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use shmproto::DaemonMetrics;
use shmproto::SourceState;

use crate::feed::WriterReport;
use crate::view::status_bar::LinkState;

/// A source that delivered nothing for this long is shown as stale.
pub const STALE_AFTER: Duration = Duration::from_secs(1);
/// A live daemon that published nothing for this long is "alive but not publishing" (the
/// protocol's rule, which the tray follows too).
pub use shmproto::NOT_PUBLISHING_AFTER;
/// How much history the plot shows.
pub const HISTORY: Duration = Duration::from_secs(60);

/// How the shown source is doing, from the age of its last frame (`None` before the first) and,
/// for the daemon, what its writer status says. A daemon source is only shown while its
/// heartbeat is fresh (the reader reports a dead or frozen writer as lost), so "alive" holds.
pub fn judge_link(
    last_frame_age: Option<Duration>,
    writer: Option<&WriterReport>,
    is_daemon: bool,
) -> LinkState {
    let fresh = last_frame_age.is_some_and(|age| age <= STALE_AFTER);
    if let Some(writer) = writer.filter(|_| is_daemon) {
        match writer.state {
            SourceState::Paused => {
                return LinkState::Paused {
                    message: writer.message.clone(),
                }
            }
            SourceState::Error if !fresh => {
                let message = writer
                    .message
                    .clone()
                    .unwrap_or_else(|| "its source failed".to_owned());
                return LinkState::NotPublishing { message };
            }
            _ => {}
        }
    }
    match last_frame_age {
        None => LinkState::Waiting,
        Some(_) if fresh => LinkState::Live,
        Some(age) if is_daemon && age > NOT_PUBLISHING_AFTER => {
            let over = NOT_PUBLISHING_AFTER.as_secs();
            let message = match writer {
                Some(writer) if writer.state == SourceState::Starting => match &writer.message {
                    Some(message) => format!("its source is starting ({message})"),
                    None => "its source is starting".to_owned(),
                },
                Some(writer) => format!(
                    "no new frame for over {over} s while its status says {}",
                    writer.state.as_str()
                ),
                None => format!("no new frame for over {over} s"),
            };
            LinkState::NotPublishing { message }
        }
        Some(age) => LinkState::Stale {
            for_s: age.as_secs_f32(),
        },
    }
}

/// The last minute of the daemon's frame rate and of the display latency.
#[derive(Debug)]
pub struct HealthHistory {
    origin: Instant,
    /// (seconds since `origin`, published fps) per daemon metrics window.
    fps: VecDeque<[f64; 2]>,
    /// (seconds since `origin`, mean publish-to-display latency in ms) per second.
    latency_ms: VecDeque<[f64; 2]>,
    /// The metrics window last recorded (the daemon's uptime identifies it).
    last_uptime_s: Option<f64>,
    bucket: Option<LatencyBucket>,
}

#[derive(Debug)]
struct LatencyBucket {
    start_s: f64,
    sum_ms: f64,
    count: u32,
}

impl Default for HealthHistory {
    fn default() -> Self {
        HealthHistory::new(Instant::now())
    }
}

impl HealthHistory {
    pub fn new(origin: Instant) -> Self {
        HealthHistory {
            origin,
            fps: VecDeque::new(),
            latency_ms: VecDeque::new(),
            last_uptime_s: None,
            bucket: None,
        }
    }

    fn seconds(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.origin).as_secs_f64()
    }

    /// Records the daemon's metrics if they are from a window not seen yet.
    pub fn observe_metrics(&mut self, metrics: &DaemonMetrics, now: Instant) {
        if self.last_uptime_s == Some(metrics.uptime_s) {
            return;
        }
        self.last_uptime_s = Some(metrics.uptime_s);
        let at_s = self.seconds(now);
        self.fps.push_back([at_s, metrics.fps]);
        self.trim(at_s);
    }

    /// Records the latency of one displayed frame; the plot shows the mean of each second.
    pub fn observe_latency(&mut self, latency_ms: f64, now: Instant) {
        let at_s = self.seconds(now);
        if let Some(bucket) = &self.bucket {
            if at_s - bucket.start_s >= 1.0 {
                let mean_ms = bucket.sum_ms / f64::from(bucket.count.max(1));
                self.latency_ms.push_back([bucket.start_s, mean_ms]);
                self.bucket = None;
            }
        }
        let bucket = self.bucket.get_or_insert(LatencyBucket {
            start_s: at_s,
            sum_ms: 0.0,
            count: 0,
        });
        bucket.sum_ms += latency_ms;
        bucket.count += 1;
        self.trim(at_s);
    }

    fn trim(&mut self, now_s: f64) {
        let oldest_s = now_s - HISTORY.as_secs_f64();
        for series in [&mut self.fps, &mut self.latency_ms] {
            while series.front().is_some_and(|point| point[0] < oldest_s) {
                series.pop_front();
            }
        }
    }

    /// The fps points as (seconds before `now`, fps), oldest first.
    pub fn fps_points(&self, now: Instant) -> Vec<[f64; 2]> {
        self.relative(&self.fps, now)
    }

    /// The latency points as (seconds before `now`, ms), oldest first.
    pub fn latency_points(&self, now: Instant) -> Vec<[f64; 2]> {
        self.relative(&self.latency_ms, now)
    }

    fn relative(&self, series: &VecDeque<[f64; 2]>, now: Instant) -> Vec<[f64; 2]> {
        let now_s = self.seconds(now);
        let oldest_s = now_s - HISTORY.as_secs_f64();
        series
            .iter()
            .filter(|point| point[0] >= oldest_s)
            .map(|point| [point[0] - now_s, point[1]])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(state: SourceState, message: Option<&str>) -> WriterReport {
        WriterReport {
            state,
            message: message.map(str::to_owned),
            metrics: None,
            updated_wall_ns: 1,
            read_error: None,
        }
    }

    #[test]
    fn paused_reads_as_paused_and_a_silent_daemon_as_not_publishing() {
        let streaming = report(SourceState::Streaming, None);
        let ms = Duration::from_millis;
        assert_eq!(
            judge_link(Some(ms(100)), Some(&streaming), true),
            LinkState::Live
        );
        assert_eq!(
            judge_link(Some(ms(1500)), Some(&streaming), true),
            LinkState::Stale { for_s: 1.5 }
        );
        assert_eq!(
            judge_link(Some(ms(2500)), Some(&streaming), true),
            LinkState::NotPublishing {
                message: "no new frame for over 2 s while its status says streaming".to_owned()
            }
        );
        // The same silence from an in-app source is only stale.
        assert_eq!(
            judge_link(Some(ms(2500)), None, false),
            LinkState::Stale { for_s: 2.5 }
        );
        let paused = report(SourceState::Paused, None);
        assert_eq!(
            judge_link(Some(ms(5000)), Some(&paused), true),
            LinkState::Paused { message: None }
        );
        let failed = report(SourceState::Error, Some("camera unplugged"));
        assert_eq!(
            judge_link(Some(ms(1200)), Some(&failed), true),
            LinkState::NotPublishing {
                message: "camera unplugged".to_owned()
            },
            "the writer's own word needs no waiting"
        );
        assert_eq!(
            judge_link(Some(ms(10)), Some(&failed), true),
            LinkState::Live,
            "frames still arrive"
        );
        assert_eq!(judge_link(None, Some(&streaming), true), LinkState::Waiting);
    }

    #[test]
    fn history_keeps_one_point_per_window_and_only_the_last_minute() {
        let origin = Instant::now();
        let mut history = HealthHistory::new(origin);
        let at = |s: u64| origin + Duration::from_secs(s);
        let metrics = |uptime_s: f64, fps: f64| DaemonMetrics {
            uptime_s,
            fps,
            ..DaemonMetrics::default()
        };
        history.observe_metrics(&metrics(1.0, 30.0), at(1));
        history.observe_metrics(&metrics(1.0, 30.0), at(1));
        history.observe_metrics(&metrics(2.0, 29.0), at(2));
        assert_eq!(history.fps_points(at(2)), vec![[-1.0, 30.0], [0.0, 29.0]]);
        history.observe_latency(2.0, at(3));
        history.observe_latency(4.0, at(3));
        history.observe_latency(10.0, at(4));
        assert_eq!(history.latency_points(at(4)), vec![[-1.0, 3.0]]);
        history.observe_metrics(&metrics(100.0, 30.0), at(100));
        assert_eq!(history.fps_points(at(100)), vec![[0.0, 30.0]]);
    }
}
