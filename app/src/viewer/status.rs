//! What the viewer says about its feeds, in words: the status bar, the no-source screen and
//! why a daemon panel is empty; the messages of the last operation; and the repaints no worker
//! asks for.

use std::time::Duration;

use super::Viewer;
use crate::feed::Origin;
use crate::health::{judge_link, NOT_PUBLISHING_AFTER, STALE_AFTER};
use crate::supervisor::Connection;
use crate::view::no_source::NoSourceInfo;
use crate::view::status_bar::{LinkState, StatusLine};

/// How often the status bar refreshes while frozen (frames then do not wake the GUI).
const FROZEN_REFRESH: Duration = Duration::from_secs(1);

/// What the status bar reports besides the feed: the news of the last operation (a save) and
/// the last problem (a failed save, a frame that could not be shown).
#[derive(Default)]
pub(super) struct Messages {
    pub(super) notice: Option<String>,
    pub(super) problem: Option<String>,
}

impl Viewer {
    /// What the status bar says, without drawing it.
    pub fn status_line(&self) -> StatusLine {
        let shown_feed = self.supervisor.shown_feed();
        let now_ns = shmproto::monotonic_now_ns();
        let (source, state, fps, dropped) = match shown_feed {
            Some((feed, _connection)) => {
                let link = feed.link();
                let stats = link.stats();
                let age = stats
                    .last_received_mono_ns
                    .map(|last_ns| Duration::from_nanos(now_ns.saturating_sub(last_ns)));
                let writer = link.writer_report();
                let state = judge_link(age, writer.as_ref(), feed.origin() == Origin::Daemon);
                let fps = (state == LinkState::Live)
                    .then(|| self.stats.fps())
                    .flatten();
                (feed.describe(), state, fps, stats.dropped)
            }
            None => {
                let state = match self.supervisor.daemon_loss() {
                    Some(reason) => LinkState::Lost {
                        reason: reason.to_owned(),
                    },
                    None => LinkState::NoSource,
                };
                ("none".to_owned(), state, None, 0)
            }
        };
        let shown_origin = shown_feed.map(|(feed, _)| feed.origin());
        let daemon_loss = match shown_origin {
            Some(origin) if origin != Origin::Daemon => {
                self.supervisor.daemon_loss().map(str::to_owned)
            }
            _ => None,
        };
        let shown = self.display.shown();
        StatusLine {
            source,
            device: shown.map(|shown| {
                let metadata = &shown.frame.metadata;
                format!("{}: {}", metadata.source_kind, metadata.source_description)
            }),
            state,
            daemon_loss,
            size_px: shown.map(|shown| [shown.frame.geometry.width, shown.frame.geometry.height]),
            received_fps: fps,
            latency: shown.and_then(|shown| shown.latency),
            dropped,
            frame_number: self.display.frame_number(),
            frozen: self.display.is_frozen(),
            problem: self.messages.problem.clone(),
            notice: self.messages.notice.clone(),
        }
    }

    /// Why there is no picture: the daemon's state and the fallback's, in words.
    pub(super) fn no_source_info(&self) -> NoSourceInfo {
        let launching = self.daemon_start.starting_pid();
        let loss = self.supervisor.daemon_loss();
        let daemon = match (self.supervisor.daemon_connection(), loss) {
            (None, _) => "not watched".to_owned(),
            (Some(Connection::Starting), _) => "looking for it".to_owned(),
            (Some(Connection::Searching { detail }), None) => match launching {
                Some(pid) => format!("starting (pid {pid}); waiting for {detail}"),
                None => format!("not running ({detail} does not exist)"),
            },
            (Some(Connection::Searching { detail }), Some(reason)) => {
                format!("lost ({reason}); waiting for {detail} to come back")
            }
            (Some(Connection::OpenFailed { error }), _) => format!("cannot connect: {error}"),
            (Some(Connection::Lost { reason }), _) => format!("lost ({reason}); reconnecting"),
            (Some(Connection::Connected { detail }), _) => format!("connected ({detail})"),
        };
        let fallback = match self.supervisor.fallback_state() {
            Ok((_, Connection::Starting)) => "opening".to_owned(),
            Ok((_, Connection::Searching { detail })) => format!("looking for {detail}"),
            Ok((_, Connection::Connected { detail })) => format!("connected ({detail})"),
            Ok((_, Connection::OpenFailed { error })) => error.clone(),
            Ok((_, Connection::Lost { reason })) => format!("lost ({reason}); retrying"),
            Err(reason) => reason.to_owned(),
        };
        NoSourceInfo {
            primary: match self.supervisor.primary_origin() {
                Some(Origin::Remote) => "Remote camera",
                _ => "Daemon",
            },
            daemon,
            fallback,
            waiting_for_first_frame: self.supervisor.shown_feed().is_some(),
        }
    }
}

/// Why a daemon panel has nothing to show: `what` ("Controls", "Health metrics") needs the
/// daemon, and the shown feed is `shown_origin`; `daemon` is the daemon's state in words.
pub(super) fn unavailable_text(what: &str, shown_origin: Option<Origin>, daemon: &str) -> String {
    match shown_origin {
        Some(Origin::Daemon) => format!(
            "{what} need the daemon's command socket, which this viewer was not told about."
        ),
        Some(Origin::Remote) => format!(
            "The shown source is a remote camera: its daemon's {} are on its own machine.",
            what.to_lowercase()
        ),
        Some(origin) => format!(
            "The shown source is the {origin}, run inside the app: it has no {}. Start the capture daemon to use them.",
            what.to_lowercase()
        ),
        None => format!("No daemon is connected (daemon: {daemon}). {what} appear when it runs."),
    }
}

/// Wakes the GUI for what no worker will announce: the moment a live feed turns stale, and a
/// slow refresh of the statistics while frozen.
pub(super) fn schedule_repaint(ctx: &egui::Context, frozen: bool, status: &StatusLine) {
    let margin = Duration::from_millis(50);
    if frozen {
        ctx.request_repaint_after(FROZEN_REFRESH);
    } else if status.state == LinkState::Live {
        ctx.request_repaint_after(STALE_AFTER + margin);
    } else if let LinkState::Stale { for_s } = status.state {
        // A stale daemon turns "alive but not publishing" at the limit.
        if status.source == Origin::Daemon.to_string() {
            let left =
                Duration::from_secs_f32((NOT_PUBLISHING_AFTER.as_secs_f32() - for_s).max(0.0));
            ctx.request_repaint_after(left + margin);
        }
    }
}
