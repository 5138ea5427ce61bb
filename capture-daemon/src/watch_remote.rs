//! `watch --remote`: `watch` for frames that come over Zenoh from a bridge: fps, capture to
//! receipt latency (wall clocks: meaningful on one host, or with synchronised clocks), gaps,
//! stamp verification of synthetic frames (so torn frames and mixed colour/depth pairs
//! fail), the camera info, bandwidth and reconnections. Built with the cargo feature `zenoh`.

use std::time::Duration;

use serde::Serialize;

use crate::bridge::ZenohOptions;
use crate::watch::{WatchLimit, WatchSummary};
use shmproto::Namespace;

/// What `watch --remote` adds to the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RemoteSummary {
    /// What was connected to ("connecting to tcp/...").
    pub endpoint: String,
    pub key: String,
    /// How depth travelled: `16UC1`, `16UC1; compressedDepth rvl` or `zstd`.
    pub depth_format: Option<String>,
    /// The camera info was received (published or answered by the bridge's queryable).
    pub camera_info: bool,
    /// Its image size.
    pub camera_info_size: Option<[u32; 2]>,
    /// Frame messages received, megabytes per second.
    pub megabytes_per_second: f64,
    /// Times the bridge came back after the link dropped.
    pub reconnections: u64,
    /// Complete frames replaced by newer ones before watch took them (it was too slow).
    pub frames_replaced: u64,
    /// Messages that could not be read, or frames that did not decode.
    pub rejected: u64,
    /// Why the last one was rejected.
    pub last_rejection: Option<String>,
    /// With `--slow-ms`: the pause after each frame taken.
    pub slow_ms: Option<u64>,
}

/// How long watch waits between looks at the connection, at most.
#[cfg_attr(not(feature = "zenoh"), allow(dead_code))]
const POLL: Duration = Duration::from_millis(100);

/// Watches a bridge's frames until `limit`; `slow` pauses after each frame (a slow consumer);
/// `progress` receives a line per second for people.
#[cfg(not(feature = "zenoh"))]
pub fn watch_remote(
    _namespace: &Namespace,
    _options: &ZenohOptions,
    _limit: WatchLimit,
    _slow: Option<Duration>,
    _progress: impl FnMut(&str),
) -> anyhow::Result<WatchSummary> {
    anyhow::bail!(crate::bridge::NOT_BUILT)
}

/// Watches a bridge's frames until `limit`; `slow` pauses after each frame (a slow consumer);
/// `progress` receives a line per second for people.
#[cfg(feature = "zenoh")]
pub fn watch_remote(
    namespace: &Namespace,
    options: &ZenohOptions,
    limit: WatchLimit,
    slow: Option<Duration>,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<WatchSummary> {
    use std::time::Instant;

    use anyhow::Context;
    use zenoh_bridge::RemoteFeed;

    use crate::signals;
    use crate::watch::{check_parts, finish_timing, ProgressLine};

    signals::install().context("cannot install signal handlers")?;
    let prefix = options.prefix(namespace)?;
    let settings = options.session(None);
    let feed = RemoteFeed::open(&settings, &prefix)?;
    let mut summary = WatchSummary {
        namespace: prefix.to_string(),
        ..WatchSummary::default()
    };
    let mut remote = RemoteSummary {
        endpoint: feed.endpoint().to_owned(),
        key: prefix.to_string(),
        slow_ms: slow.map(|slow| slow.as_millis() as u64),
        ..RemoteSummary::default()
    };

    let started = Instant::now();
    let mut latencies_ns = Vec::new();
    let mut last_frame_number: Option<u64> = None;
    let mut first_frame_at: Option<Instant> = None;
    let mut progress_line = ProgressLine::new();
    let mut wire_bytes = 0u64;
    let mut connected = false;
    let mut depth_le = Vec::new();
    loop {
        let done = match limit {
            WatchLimit::Frames(count) => summary.frames_received >= count,
            WatchLimit::Duration(duration) => started.elapsed() >= duration,
            WatchLimit::Interrupted => false,
        };
        if done || signals::stop_requested() {
            break;
        }
        let now_connected = feed.connected();
        if now_connected != connected {
            if now_connected {
                if first_frame_at.is_some() {
                    remote.reconnections += 1;
                }
                progress(&format!("connected ({})", remote.endpoint));
                // A late joiner's camera info: ask the bridge's queryable.
                feed.query_camera_info();
                // The bridge's new session may number frames afresh.
                last_frame_number = None;
            } else {
                progress("bridge unreachable; reconnecting");
            }
            connected = now_connected;
        }
        let wait = match limit {
            WatchLimit::Duration(duration) => duration.saturating_sub(started.elapsed()).min(POLL),
            _ => POLL,
        };
        let frame = match feed.next_frame(wait) {
            Ok(Some(frame)) => frame,
            Ok(None) => continue,
            Err(error) => {
                remote.rejected += 1;
                remote.last_rejection = Some(error.to_string());
                continue;
            }
        };
        // Receipt is when watch has the decoded frame in hand (a slow consumer's frames are
        // as old as what it is given, not as what arrived).
        latencies_ns.push(shmproto::wall_now_ns().saturating_sub(frame.metadata.capture_wall_ns));
        first_frame_at.get_or_insert_with(Instant::now);
        summary.frames_received += 1;
        wire_bytes += frame.wire_bytes as u64;
        summary.width = frame.geometry.width;
        summary.height = frame.geometry.height;
        remote.depth_format.clone_from(&frame.depth_format);
        let number = frame.metadata.frame_number;
        if let Some(last) = last_frame_number {
            let missed = number.saturating_sub(last).saturating_sub(1);
            if missed > 0 {
                summary.gaps += 1;
                summary.frames_missed += missed;
            }
        }
        last_frame_number = Some(number);
        depth_le.clear();
        if let Some(units) = &frame.depth_units {
            depth_le.extend(units.iter().flat_map(|unit| unit.to_le_bytes()));
        }
        check_parts(
            Ok(frame.metadata.clone()),
            number,
            frame.geometry,
            &frame.rgb,
            &depth_le,
            &mut summary,
        );
        if let Some(slow) = slow {
            std::thread::sleep(slow);
        }
        progress_line.tick(&summary, &mut progress);
    }
    finish_timing(&mut summary, started, first_frame_at, &mut latencies_ns);
    if let Some(first) = first_frame_at {
        let span = first.elapsed().as_secs_f64();
        if span > 0.0 {
            remote.megabytes_per_second = wire_bytes as f64 / 1e6 / span;
        }
    }
    match feed.camera_info() {
        Some(Ok(info)) => {
            remote.camera_info = true;
            remote.camera_info_size = Some([info.width, info.height]);
        }
        Some(Err(error)) => {
            remote.rejected += 1;
            remote.last_rejection = Some(format!("camera info: {error}"));
        }
        None => {}
    }
    let stats = feed.stats();
    remote.frames_replaced = stats.frames_replaced;
    remote.rejected += stats.samples_rejected;
    if remote.last_rejection.is_none() {
        remote.last_rejection = feed.last_rejection();
    }
    if summary.frames_received == 0 && summary.error.is_none() {
        summary.error = Some(if connected {
            format!("connected, but no frames came on {}/*", remote.key)
        } else {
            format!("no bridge reached ({})", remote.endpoint)
        });
    }
    summary.remote = Some(remote);
    Ok(summary)
}
