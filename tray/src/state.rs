//! The daemon's state as the tray shows it, judged from the daemon's own `status` report
//! (`capture_daemon::status::gather`: the writer's liveness and status in shared memory, and the
//! pid file), so the tray, `aaa-camera-daemon status` and `make daemon-status` always agree on
//! running, stale and another user's.

use std::time::Duration;

use capture_daemon::status::StatusReport;
use shmproto::{SourceState, NOT_PUBLISHING_AFTER};

/// What the daemon of the namespace is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum DaemonState {
    /// Running and publishing frames.
    Live,
    /// Running, publishing deliberately paused (`ctl pause`, the tray's **Pause**).
    Paused,
    /// Running, but no frame for over [`NOT_PUBLISHING_AFTER`], or its source failed; the
    /// reason in words.
    NotPublishing { reason: String },
    /// No daemon, nothing left behind.
    NotRunning,
    /// A dead daemon's segments or pid file are left behind (a new daemon reclaims them).
    Stale,
    /// The segments belong to another user who keeps them private: their daemon cannot be
    /// judged from here.
    Foreign { owner: String },
}

impl DaemonState {
    /// Whether a daemon process runs (it can be stopped, restarted, paused).
    pub fn is_running(&self) -> bool {
        matches!(
            self,
            DaemonState::Live | DaemonState::Paused | DaemonState::NotPublishing { .. }
        )
    }

    /// The state in a few words.
    pub fn headline(&self) -> &'static str {
        match self {
            DaemonState::Live => "live",
            DaemonState::Paused => "paused",
            DaemonState::NotPublishing { .. } => "alive but not publishing",
            DaemonState::NotRunning => "not running",
            DaemonState::Stale => "stale leftovers of a dead daemon",
            DaemonState::Foreign { .. } => "another user's",
        }
    }
}

/// One look at the daemon: its state and what the tooltip tells about it.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonSnapshot {
    pub state: DaemonState,
    pub pid: Option<u32>,
    /// `synthetic: Synthetic scene (RGB-D)`, from the writer status.
    pub source: Option<String>,
    pub size_px: Option<[u32; 2]>,
    /// Frames per second published over the daemon's last metrics window.
    pub fps: Option<f64>,
    pub uptime_s: Option<f64>,
    /// The writer's own word about its state (an error, why it is paused).
    pub message: Option<String>,
    /// The pid file (the daemon runs as another user when someone else owns it).
    pub pid_file: String,
}

/// Judges `report` (one `status` gather).
pub fn judge(report: &StatusReport) -> DaemonSnapshot {
    let state = if !report.running {
        if report.stale {
            DaemonState::Stale
        } else if let Some(uid) = report.foreign_owner {
            let owner = if uid == u32::MAX {
                "another user".to_owned()
            } else {
                shmproto::runtime_dir::user_name(uid).unwrap_or_else(|| format!("uid {uid}"))
            };
            DaemonState::Foreign { owner }
        } else {
            DaemonState::NotRunning
        }
    } else {
        judge_running(report)
    };
    let source = match (&report.source_kind, &report.source_description) {
        (Some(kind), Some(description)) => Some(format!("{kind}: {description}")),
        (Some(kind), None) => Some(kind.clone()),
        _ => None,
    };
    DaemonSnapshot {
        state,
        pid: report.pid,
        source,
        size_px: report.width.zip(report.height).map(|(w, h)| [w, h]),
        fps: report.fps,
        uptime_s: report.uptime_s,
        message: report.message.clone(),
        pid_file: report.pid_file.clone(),
    }
}

/// A running daemon: paused, live, or not publishing.
fn judge_running(report: &StatusReport) -> DaemonState {
    let last_publish_age = report
        .last_publish_ms_ago
        .map(|ms| Duration::from_secs_f64(ms.max(0.0) / 1e3));
    let fresh = last_publish_age.is_some_and(|age| age <= NOT_PUBLISHING_AFTER);
    // The report carries the state by its wire name (`SourceState::as_str`).
    let state = [
        SourceState::Starting,
        SourceState::Streaming,
        SourceState::Paused,
        SourceState::Error,
    ]
    .into_iter()
    .find(|state| report.state.as_deref() == Some(state.as_str()));
    match state {
        Some(SourceState::Paused) => DaemonState::Paused,
        _ if fresh => DaemonState::Live,
        Some(SourceState::Error) => DaemonState::NotPublishing {
            reason: report
                .message
                .clone()
                .unwrap_or_else(|| "its source failed".to_owned()),
        },
        Some(SourceState::Starting) => DaemonState::NotPublishing {
            reason: match &report.message {
                Some(message) => format!("its source is starting ({message})"),
                None => "its source is starting".to_owned(),
            },
        },
        _ if last_publish_age.is_none() => DaemonState::NotPublishing {
            reason: "no frame published yet".to_owned(),
        },
        _ => DaemonState::NotPublishing {
            reason: format!("no new frame for over {} s", NOT_PUBLISHING_AFTER.as_secs()),
        },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `status` report of a namespace where nothing runs.
    pub(crate) fn report() -> StatusReport {
        StatusReport {
            namespace: "default".to_owned(),
            running: false,
            stale: false,
            pid: None,
            pid_file_pid: None,
            liveness: None,
            pid_file: "/run/user/1000/aaa-camera-daemon/aaa_camera_daemon.pid".to_owned(),
            pid_file_state: "absent".to_owned(),
            source_kind: None,
            source_description: None,
            state: None,
            message: None,
            width: None,
            height: None,
            depth: None,
            fps: None,
            frames_published: None,
            uptime_s: None,
            last_publish_ms_ago: None,
            last_error: None,
            metrics: None,
            segments: Vec::new(),
            problem: None,
            foreign_owner: None,
            unusable_segments: Vec::new(),
        }
    }

    /// A running synthetic daemon whose status says `state`, last frame `age_ms` ago.
    pub(crate) fn running(state: &str, age_ms: Option<f64>) -> StatusReport {
        StatusReport {
            running: true,
            pid: Some(4242),
            pid_file_pid: Some(4242),
            source_kind: Some("synthetic".to_owned()),
            source_description: Some("Synthetic scene".to_owned()),
            state: Some(state.to_owned()),
            width: Some(640),
            height: Some(480),
            fps: Some(29.97),
            uptime_s: Some(3725.0),
            last_publish_ms_ago: age_ms,
            ..report()
        }
    }

    #[test]
    fn every_state_is_judged_from_the_status_report() {
        assert_eq!(judge(&report()).state, DaemonState::NotRunning);
        let stale = StatusReport {
            stale: true,
            pid: Some(77),
            ..report()
        };
        assert_eq!(judge(&stale).state, DaemonState::Stale);
        let foreign = StatusReport {
            foreign_owner: Some(u32::MAX),
            ..report()
        };
        assert_eq!(
            judge(&foreign).state,
            DaemonState::Foreign {
                owner: "another user".to_owned()
            }
        );
        let root = StatusReport {
            foreign_owner: Some(0),
            ..report()
        };
        assert!(
            matches!(judge(&root).state, DaemonState::Foreign { owner } if owner == "root"),
            "uid 0 is named"
        );

        let live = judge(&running("streaming", Some(30.0)));
        assert_eq!(live.state, DaemonState::Live);
        assert_eq!(
            live.source.as_deref(),
            Some("synthetic: Synthetic scene"),
            "{live:?}"
        );
        assert_eq!(live.size_px, Some([640, 480]));
        assert_eq!(
            judge(&running("paused", Some(60_000.0))).state,
            DaemonState::Paused,
            "paused wins over silence"
        );
        assert_eq!(
            judge(&running("streaming", Some(2500.0))).state,
            DaemonState::NotPublishing {
                reason: "no new frame for over 2 s".to_owned()
            }
        );
        assert_eq!(
            judge(&running("streaming", Some(1900.0))).state,
            DaemonState::Live,
            "within NOT_PUBLISHING_AFTER"
        );
        let failed = StatusReport {
            message: Some("camera unplugged".to_owned()),
            ..running("error", Some(5000.0))
        };
        assert_eq!(
            judge(&failed).state,
            DaemonState::NotPublishing {
                reason: "camera unplugged".to_owned()
            }
        );
        assert_eq!(
            judge(&running("error", Some(10.0))).state,
            DaemonState::Live,
            "frames still arrive"
        );
        assert_eq!(
            judge(&running("starting", None)).state,
            DaemonState::NotPublishing {
                reason: "its source is starting".to_owned()
            }
        );
        // Running by its pid file, segments not made yet.
        let early = StatusReport {
            state: None,
            ..running("streaming", None)
        };
        assert_eq!(
            judge(&early).state,
            DaemonState::NotPublishing {
                reason: "no frame published yet".to_owned()
            }
        );
    }

    #[test]
    fn only_a_running_daemon_counts_as_running() {
        assert!(DaemonState::Live.is_running());
        assert!(DaemonState::Paused.is_running());
        assert!(DaemonState::NotPublishing {
            reason: String::new()
        }
        .is_running());
        assert!(!DaemonState::NotRunning.is_running());
        assert!(!DaemonState::Stale.is_running());
        assert!(!DaemonState::Foreign {
            owner: String::new()
        }
        .is_running());
    }
}
