//! `status`: what runs in a namespace, from the outside, without root.

use std::path::Path;

use serde::Serialize;
use shmproto::{DaemonMetrics, Namespace, NamespaceReport};

use crate::pidfile::{self, PidFileState};
use crate::runtime::RuntimePaths;

/// Exit status of `status` when no daemon runs and nothing is left behind.
pub const EXIT_NOT_RUNNING: u8 = 3;
/// Exit status of `status` when segments or a pid file of a dead daemon are left behind.
pub const EXIT_STALE: u8 = 1;
/// Exit status of `status` when the segments belong to another user, whose daemon this user
/// cannot judge.
pub const EXIT_FOREIGN: u8 = 4;

#[derive(Debug, Clone, Serialize)]
pub struct SegmentEntry {
    pub name: String,
    pub size: u64,
    pub uid: u32,
    pub gid: u32,
    pub mode: String,
}

/// The `status --json` document.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub namespace: String,
    pub running: bool,
    /// Segments or a pid file exist but their daemon is dead.
    pub stale: bool,
    pub pid: Option<u32>,
    /// The pid in the pid file (whose directory is private), as opposed to the one the
    /// segments claim; what `stop` signals.
    pub pid_file_pid: Option<u32>,
    /// The protocol's verdict on the writer ("writer alive (pid 12)", "writer gone ...").
    pub liveness: Option<String>,
    pub pid_file: String,
    pub pid_file_state: String,
    pub source_kind: Option<String>,
    pub source_description: Option<String>,
    pub state: Option<String>,
    pub message: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub depth: Option<bool>,
    pub fps: Option<f64>,
    pub frames_published: Option<u64>,
    pub uptime_s: Option<f64>,
    pub last_publish_ms_ago: Option<f64>,
    pub last_error: Option<String>,
    pub metrics: Option<DaemonMetrics>,
    pub segments: Vec<SegmentEntry>,
    /// Why the segments could not be read, when they exist but are not valid.
    pub problem: Option<String>,
    /// The segments exist but belong to this user id, who keeps them private: their daemon
    /// cannot be judged from here.
    pub foreign_owner: Option<u32>,
    /// Names taken by something that is not a segment (a FIFO...), with what it is.
    pub unusable_segments: Vec<String>,
}

impl StatusReport {
    pub fn exit_code(&self) -> u8 {
        if self.running {
            0
        } else if self.stale {
            EXIT_STALE
        } else if self.foreign_owner.is_some() {
            EXIT_FOREIGN
        } else {
            EXIT_NOT_RUNNING
        }
    }
}

/// Gathers the report for `namespace`.
pub fn gather(namespace: &Namespace, runtime_dir: &Path) -> StatusReport {
    let paths = RuntimePaths::new(runtime_dir, namespace);
    let shm: NamespaceReport = shmproto::inspect(namespace);
    let pid_file_state = pidfile::inspect(&paths.pid_file);
    let writer = shm.writer.as_ref();
    let status = writer.and_then(|writer| writer.status.as_ref());
    let metrics: Option<DaemonMetrics> =
        status.and_then(|status| serde_json::from_value(status.extra.clone()).ok());
    // Live, starting, or alive in a state this version does not know: `cleanup` refuses such
    // segments, so they are not stale either.
    let writer_live = writer.is_some_and(|writer| writer.liveness.holds_segments());
    let pid_running = matches!(pid_file_state, Ok(PidFileState::Running(_)));
    let pid_from_file = match pid_file_state {
        Ok(PidFileState::Running(pid) | PidFileState::Stale(pid)) => pid,
        _ => None,
    };
    let stale = shm.is_stale() || matches!(pid_file_state, Ok(PidFileState::Stale(_)));
    StatusReport {
        namespace: namespace.to_string(),
        running: writer_live || pid_running,
        stale: stale && !writer_live && !pid_running,
        pid: writer.map(|writer| writer.liveness.pid()).or(pid_from_file),
        pid_file_pid: pid_from_file,
        liveness: writer.map(|writer| writer.liveness.to_string()),
        pid_file: paths.pid_file.display().to_string(),
        pid_file_state: match pid_file_state {
            Ok(PidFileState::Absent) => "absent".into(),
            Ok(PidFileState::Running(_)) => "locked by a running daemon".into(),
            Ok(PidFileState::Stale(_)) => "stale (its daemon is dead)".into(),
            Err(error) => format!("unreadable: {error}"),
        },
        source_kind: status.map(|status| status.source_kind.to_string()),
        source_description: status.map(|status| status.source_description.clone()),
        state: status.map(|status| status.state.as_str().to_owned()),
        message: status.and_then(|status| status.message.clone()),
        width: writer.map(|writer| writer.geometry.width),
        height: writer.map(|writer| writer.geometry.height),
        depth: writer.map(|writer| writer.geometry.depth.is_some()),
        fps: metrics.as_ref().map(|metrics| metrics.fps),
        frames_published: writer.map(|writer| writer.frames_published),
        uptime_s: metrics.as_ref().map(|metrics| metrics.uptime_s),
        last_publish_ms_ago: writer
            .and_then(|writer| writer.last_publish_age)
            .map(|age| age.as_secs_f64() * 1e3),
        last_error: metrics
            .as_ref()
            .and_then(|metrics| metrics.last_error.clone()),
        metrics,
        segments: shm
            .segments
            .iter()
            .filter_map(|segment| {
                let stat = segment.stat?;
                Some(SegmentEntry {
                    name: segment.name.clone(),
                    size: stat.len,
                    uid: stat.uid,
                    gid: stat.gid,
                    mode: format!("{:o}", stat.mode),
                })
            })
            .collect(),
        problem: shm.problem.clone(),
        foreign_owner: shm.foreign_owner(),
        unusable_segments: shm
            .segments
            .iter()
            .filter_map(|segment| match &segment.state {
                shmproto::SegmentState::Unusable(problem) => Some(problem.clone()),
                _ => None,
            })
            .collect(),
    }
}

fn or_dash<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |value| value.to_string())
}

/// `text` (which the segments' writer chose) without control characters, so that printing
/// it cannot drive the terminal.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The report for people.
pub fn render(report: &StatusReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let headline = if report.running {
        format!("RUNNING (pid {})", or_dash(report.pid))
    } else if report.stale {
        format!(
            "STALE: left behind by a dead daemon (pid {}); run `aaa-camera-daemon cleanup`",
            or_dash(report.pid)
        )
    } else if let Some(uid) = report.foreign_owner {
        format!(
            "UNKNOWN: the segments exist but belong to {} and are private to them; run status as that user or as root",
            if uid == u32::MAX {
                "another user".to_owned()
            } else {
                format!(
                    "uid {uid} ({})",
                    shmproto::runtime_dir::user_name(uid).unwrap_or_else(|| "unknown user".into())
                )
            }
        )
    } else {
        "NOT RUNNING".to_owned()
    };
    let _ = writeln!(
        out,
        "camera daemon, namespace {}: {headline}",
        report.namespace
    );
    if let Some(liveness) = &report.liveness {
        let _ = writeln!(out, "  writer:      {liveness}");
    }
    if let Some(kind) = &report.source_kind {
        let _ = writeln!(
            out,
            "  source:      {kind}: {} [{}]",
            or_dash(report.source_description.as_ref()),
            or_dash(report.state.as_ref())
        );
    }
    if let (Some(width), Some(height)) = (report.width, report.height) {
        let planes = if report.depth == Some(true) {
            "colour + depth"
        } else {
            "colour only"
        };
        let _ = writeln!(out, "  resolution:  {width}x{height} {planes}");
    }
    if let Some(metrics) = &report.metrics {
        let _ = writeln!(
            out,
            "  fps:         {:.1} (target {})",
            metrics.fps,
            if metrics.target_fps > 0.0 {
                format!("{:.0}", metrics.target_fps)
            } else {
                "unpaced".into()
            }
        );
        let _ = writeln!(
            out,
            "  frames:      {} published, {} dropped by the source",
            metrics.frames_published, metrics.frames_dropped
        );
        let _ = writeln!(out, "  uptime:      {:.1} s", metrics.uptime_s);
        let _ = writeln!(
            out,
            "  cpu/memory:  {:.1}% of a core, {:.1} MiB resident",
            metrics.cpu_percent,
            metrics.rss_bytes as f64 / (1024.0 * 1024.0)
        );
        if let Some(detection) = &metrics.detection {
            let _ = writeln!(out, "  detection:   {}", describe_detection(detection));
        }
    }
    if let Some(age) = report.last_publish_ms_ago {
        let _ = writeln!(out, "  last frame:  {age:.0} ms ago");
    }
    let _ = writeln!(
        out,
        "  last error:  {}",
        report.last_error.as_deref().unwrap_or("none")
    );
    if let Some(message) = &report.message {
        let _ = writeln!(out, "  message:     {message}");
    }
    if let Some(problem) = &report.problem {
        let _ = writeln!(out, "  problem:     {problem}");
    }
    for segment in &report.unusable_segments {
        let _ = writeln!(out, "  refused:     {segment}");
    }
    let _ = writeln!(
        out,
        "  pid file:    {} ({})",
        report.pid_file, report.pid_file_state
    );
    if report.segments.is_empty() {
        let _ = writeln!(out, "  segments:    none");
    } else {
        let _ = writeln!(out, "  segments:");
        let total: u64 = report.segments.iter().map(|segment| segment.size).sum();
        for segment in &report.segments {
            let _ = writeln!(
                out,
                "    {:<28} {:>10.1} KiB  uid {} gid {} mode {}",
                segment.name,
                segment.size as f64 / 1024.0,
                segment.uid,
                segment.gid,
                segment.mode
            );
        }
        let _ = writeln!(
            out,
            "    {:<28} {:>10.1} KiB",
            "total",
            total as f64 / 1024.0
        );
    }
    // The writer chose much of this text: no escape sequences reach the terminal.
    out.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line about live detection: `running depth: 9.8 results/s, 42.1 ms each, 120 published`.
fn describe_detection(detection: &shmproto::DetectionStatus) -> String {
    let detector = detection
        .detector_info
        .as_ref()
        .map_or_else(|| detection.detector.clone(), ToString::to_string);
    match detection.state {
        shmproto::DetectionState::Running => format!(
            "running {detector}: {:.1} results/s, {:.1} ms each, {} published, threshold {}",
            detection.results_per_s,
            detection.inference_ms,
            detection.results_published,
            detection.score_threshold
        ),
        shmproto::DetectionState::Failed => format!(
            "failed ({detector}): {}",
            detection.error.as_deref().unwrap_or("no reason given")
        ),
        state => format!("{} ({detector})", state.as_str()),
    }
}
