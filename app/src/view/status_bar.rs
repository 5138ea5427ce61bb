//! The status bar, always visible: source, connection, resolution, fps, latency, drops.

use egui::{Color32, RichText};

/// How the shown source is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkState {
    /// Frames arrive.
    Live,
    /// Connected, but no frame for `for_s` seconds.
    Stale { for_s: f32 },
    /// Connected, no frame yet.
    Waiting,
    /// The daemon is alive and a client paused its publishing.
    Paused { message: Option<String> },
    /// The daemon is alive (fresh heartbeat) but publishes nothing: its source failed or
    /// stalled, or its main loop hangs. `message` says what is known.
    NotPublishing { message: String },
    /// The daemon is gone (exited, killed, or no heartbeat); the app reconnects by itself.
    Lost { reason: String },
    /// Nothing to show.
    NoSource,
}

/// Which clock interval the latency covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyKind {
    /// From the daemon's publish to the GUI (the IPC cost).
    PublishToDisplay,
    /// From capture to the GUI (in-app sources have no publish step).
    CaptureToDisplay,
}

/// Everything the status bar shows, prepared by the viewer.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusLine {
    /// "daemon", "webcam" or "none".
    pub source: String,
    /// What the frames say about the device ("synthetic: rotating scene").
    pub device: Option<String>,
    pub state: LinkState,
    /// Shown while another source stands in for a lost daemon.
    pub daemon_loss: Option<String>,
    pub size_px: Option<[u32; 2]>,
    pub received_fps: Option<f32>,
    pub latency: Option<(f32, LatencyKind)>,
    pub dropped: u64,
    pub frame_number: Option<u64>,
    pub frozen: bool,
    /// The last problem the viewer hit (a save that failed, a bad frame).
    pub problem: Option<String>,
    /// The last thing the viewer did that the user asked for ("saved 3 files to ...").
    pub notice: Option<String>,
}

pub fn status_bar_ui(ui: &mut egui::Ui, status: &StatusLine) {
    ui.horizontal_wrapped(|ui| {
        ui.label(format!("Source: {}", status.source));
        if let Some(device) = &status.device {
            ui.weak(device);
        }
        ui.separator();
        let (text, color) = match &status.state {
            LinkState::Live => ("live".to_owned(), Color32::from_rgb(60, 170, 60)),
            LinkState::Stale { for_s } => (
                format!("stale: no frame for {for_s:.1} s"),
                Color32::from_rgb(220, 160, 0),
            ),
            LinkState::Waiting => (
                "connected, waiting for frames".to_owned(),
                Color32::from_rgb(220, 160, 0),
            ),
            LinkState::Paused { message } => (
                match message {
                    Some(message) => format!("daemon paused (alive, not publishing): {message}"),
                    None => "daemon paused (alive, not publishing)".to_owned(),
                },
                Color32::from_rgb(80, 150, 255),
            ),
            LinkState::NotPublishing { message } => (
                format!("daemon alive but not publishing: {message}"),
                Color32::from_rgb(230, 120, 0),
            ),
            LinkState::Lost { reason } => (
                format!("daemon gone: {reason}; reconnecting"),
                Color32::from_rgb(220, 60, 60),
            ),
            LinkState::NoSource => ("no source".to_owned(), Color32::GRAY),
        };
        ui.label(RichText::new(text).color(color));
        if let Some(reason) = &status.daemon_loss {
            ui.label(
                RichText::new(format!("daemon gone: {reason}; reconnecting"))
                    .color(Color32::from_rgb(220, 60, 60)),
            );
        }
        if let Some([width, height]) = status.size_px {
            ui.separator();
            ui.label(format!("{width}x{height}"));
        }
        if let Some(fps) = status.received_fps {
            ui.separator();
            ui.label(format!("{fps:.1} fps"));
        }
        if let Some((latency_ms, kind)) = status.latency {
            ui.separator();
            let what = match kind {
                LatencyKind::PublishToDisplay => "publish to display",
                LatencyKind::CaptureToDisplay => "capture to display",
            };
            ui.label(format!("latency {latency_ms:.1} ms ({what})"));
        }
        ui.separator();
        ui.label(format!("dropped {}", status.dropped));
        if let Some(frame_number) = status.frame_number {
            ui.separator();
            ui.label(format!("frame {frame_number}"));
        }
        if status.frozen {
            ui.label(
                RichText::new("FROZEN")
                    .strong()
                    .color(Color32::from_rgb(80, 150, 255)),
            );
        }
        if let Some(notice) = &status.notice {
            ui.separator();
            ui.label(notice);
        }
        if let Some(problem) = &status.problem {
            ui.separator();
            ui.label(RichText::new(problem).color(Color32::from_rgb(220, 60, 60)));
        }
    });
}
