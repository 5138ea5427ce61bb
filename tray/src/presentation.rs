//! What the tray shows for a daemon state: the icon, the title and tooltip, and which menu
//! entries can be used. Pure: the state, what the tray is doing and whether a log exists in,
//! a [`TrayView`] out; every platform backend draws the same view.

use std::fmt::Write as _;

use crate::state::{DaemonSnapshot, DaemonState};

/// The state pictures (assets/tray/*.png).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IconKind {
    Live,
    Paused,
    NotPublishing,
    NotRunning,
    Stale,
}

impl IconKind {
    pub const ALL: [IconKind; 5] = [
        IconKind::Live,
        IconKind::Paused,
        IconKind::NotPublishing,
        IconKind::NotRunning,
        IconKind::Stale,
    ];

    /// The file name's stem in assets/tray/, and the icon's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            IconKind::Live => "live",
            IconKind::Paused => "paused",
            IconKind::NotPublishing => "not_publishing",
            IconKind::NotRunning => "not_running",
            IconKind::Stale => "stale",
        }
    }
}

/// What the tray is doing on the user's behalf, besides watching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    Idle,
    /// A daemon is being started (through the launcher; a password prompt may be open).
    Starting,
    /// `aaa-camera-daemon stop` runs.
    Stopping,
    /// Stopping, then starting again.
    Restarting,
}

/// The menu entries, in menu order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MenuEntry {
    OpenViewer,
    Start,
    Stop,
    Restart,
    Pause,
    Resume,
    OpenLog,
    Quit,
}

impl MenuEntry {
    pub const ALL: [MenuEntry; 8] = [
        MenuEntry::OpenViewer,
        MenuEntry::Start,
        MenuEntry::Stop,
        MenuEntry::Restart,
        MenuEntry::Pause,
        MenuEntry::Resume,
        MenuEntry::OpenLog,
        MenuEntry::Quit,
    ];

    /// The entry's label (also what a tray host's menu shows and a test looks for).
    pub fn label(self) -> &'static str {
        match self {
            MenuEntry::OpenViewer => "Open viewer",
            MenuEntry::Start => "Start daemon",
            MenuEntry::Stop => "Stop daemon",
            MenuEntry::Restart => "Restart daemon",
            MenuEntry::Pause => "Pause",
            MenuEntry::Resume => "Resume",
            MenuEntry::OpenLog => "Open log",
            MenuEntry::Quit => "Quit",
        }
    }

    /// A separator goes before this entry.
    pub fn starts_group(self) -> bool {
        matches!(
            self,
            MenuEntry::Start | MenuEntry::Pause | MenuEntry::OpenLog
        )
    }
}

/// Everything a backend draws.
#[derive(Debug, Clone, PartialEq)]
pub struct TrayView {
    pub icon: IconKind,
    /// The item's title: `Camera daemon: live`.
    pub title: String,
    /// The tooltip's body: source, resolution, fps, uptime, or why there is none.
    pub tooltip: String,
    /// Whether the state asks for the user's attention (not publishing, leftovers).
    pub needs_attention: bool,
    /// The usable entries, in menu order.
    pub enabled: Vec<MenuEntry>,
}

impl TrayView {
    pub fn is_enabled(&self, entry: MenuEntry) -> bool {
        self.enabled.contains(&entry)
    }
}

/// The view of `snapshot` while the tray does `activity`; `namespace` is named unless it is
/// the default one; `problem` is the last action's failure; `log_exists`: whether the daemon's
/// log file exists.
pub fn present(
    snapshot: &DaemonSnapshot,
    activity: &Activity,
    namespace: &shmproto::Namespace,
    problem: Option<&str>,
    log_exists: bool,
) -> TrayView {
    let state = &snapshot.state;
    let icon = match state {
        DaemonState::Live => IconKind::Live,
        DaemonState::Paused => IconKind::Paused,
        DaemonState::NotPublishing { .. } => IconKind::NotPublishing,
        DaemonState::NotRunning => IconKind::NotRunning,
        DaemonState::Stale | DaemonState::Foreign { .. } => IconKind::Stale,
    };
    let mut title = format!("Camera daemon: {}", state.headline());
    if !namespace.is_default() {
        let _ = write!(title, " (namespace {namespace})");
    }
    let mut lines: Vec<String> = Vec::new();
    match activity {
        Activity::Idle => {}
        Activity::Starting => lines.push("Starting the daemon...".to_owned()),
        Activity::Stopping => lines.push("Stopping the daemon...".to_owned()),
        Activity::Restarting => lines.push("Restarting the daemon...".to_owned()),
    }
    if state.is_running() {
        if let Some(source) = &snapshot.source {
            lines.push(source.clone());
        }
        let mut picture = Vec::new();
        if let Some([width, height]) = snapshot.size_px {
            picture.push(format!("{width} x {height}"));
        }
        if let Some(fps) = snapshot.fps.filter(|_| *state == DaemonState::Live) {
            // Whole frames a second: the tooltip does not change with every metrics window.
            picture.push(format!("{fps:.0} fps"));
        }
        if !picture.is_empty() {
            lines.push(picture.join(", "));
        }
        if let Some(uptime_s) = snapshot.uptime_s {
            lines.push(format!("up {}", uptime_text(uptime_s)));
        }
        if let Some(pid) = snapshot.pid {
            lines.push(format!("pid {pid}"));
        }
    }
    match state {
        DaemonState::NotPublishing { reason } => lines.push(format!("Not publishing: {reason}")),
        DaemonState::Paused => match &snapshot.message {
            Some(message) => lines.push(format!("Paused: {message}")),
            None => lines.push("Paused: Resume to publish again".to_owned()),
        },
        DaemonState::NotRunning => lines.push("No daemon runs: Start daemon starts one".to_owned()),
        DaemonState::Stale => lines.push(format!(
            "A dead daemon{} left its segments or pid file behind; Start daemon reclaims them",
            snapshot
                .pid
                .map(|pid| format!(" (pid {pid})"))
                .unwrap_or_default()
        )),
        DaemonState::Foreign { owner } => lines.push(format!(
            "The segments belong to {owner} and are private to them"
        )),
        DaemonState::Live => {}
    }
    if let Some(problem) = problem {
        lines.push(format!("Last action failed: {problem}"));
    }
    let idle = *activity == Activity::Idle;
    let enabled = MenuEntry::ALL
        .into_iter()
        .filter(|entry| match entry {
            MenuEntry::OpenViewer | MenuEntry::Quit => true,
            MenuEntry::Start => {
                idle && matches!(state, DaemonState::NotRunning | DaemonState::Stale)
            }
            // Another user's daemon is stopped through the password prompt.
            MenuEntry::Stop => {
                idle && (state.is_running() || matches!(state, DaemonState::Foreign { .. }))
            }
            MenuEntry::Restart => idle && state.is_running(),
            MenuEntry::Pause => {
                idle && matches!(state, DaemonState::Live | DaemonState::NotPublishing { .. })
            }
            MenuEntry::Resume => idle && *state == DaemonState::Paused,
            MenuEntry::OpenLog => log_exists,
        })
        .collect();
    TrayView {
        icon,
        title,
        tooltip: lines.join("\n"),
        needs_attention: matches!(
            state,
            DaemonState::NotPublishing { .. } | DaemonState::Stale
        ),
        enabled,
    }
}

/// `3725` → `1 h 02 min`, `125` → `2 min`, `42` → `less than a minute`: to the minute, so
/// that the tooltip (and what the tray sends the host) changes at most once a minute.
fn uptime_text(uptime_s: f64) -> String {
    let total_min = uptime_s.max(0.0) as u64 / 60;
    let (hours, minutes) = (total_min / 60, total_min % 60);
    if hours > 0 {
        format!("{hours} h {minutes:02} min")
    } else if minutes > 0 {
        format!("{minutes} min")
    } else {
        "less than a minute".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::judge;
    use crate::state::tests::{report, running};
    use shmproto::Namespace;

    fn view_of(report: &capture_daemon::status::StatusReport, activity: &Activity) -> TrayView {
        present(&judge(report), activity, &Namespace::default(), None, true)
    }

    fn enabled(view: &TrayView) -> Vec<&'static str> {
        view.enabled.iter().map(|entry| entry.label()).collect()
    }

    #[test]
    fn live_shows_the_source_resolution_fps_and_uptime() {
        let view = view_of(&running("streaming", Some(20.0)), &Activity::Idle);
        assert_eq!(view.icon, IconKind::Live);
        assert_eq!(view.title, "Camera daemon: live");
        assert_eq!(
            view.tooltip,
            "synthetic: Synthetic scene\n640 x 480, 30 fps\nup 1 h 02 min\npid 4242"
        );
        assert!(!view.needs_attention);
        assert_eq!(
            enabled(&view),
            [
                "Open viewer",
                "Stop daemon",
                "Restart daemon",
                "Pause",
                "Open log",
                "Quit"
            ]
        );
    }

    #[test]
    fn paused_offers_resume_and_no_fps() {
        let view = view_of(&running("paused", Some(9000.0)), &Activity::Idle);
        assert_eq!(view.icon, IconKind::Paused);
        assert_eq!(view.title, "Camera daemon: paused");
        assert!(!view.tooltip.contains("fps"), "{}", view.tooltip);
        assert!(view.tooltip.ends_with("Paused: Resume to publish again"));
        assert_eq!(
            enabled(&view),
            [
                "Open viewer",
                "Stop daemon",
                "Restart daemon",
                "Resume",
                "Open log",
                "Quit"
            ]
        );
    }

    #[test]
    fn not_publishing_says_why_and_asks_for_attention() {
        let view = view_of(&running("streaming", Some(4000.0)), &Activity::Idle);
        assert_eq!(view.icon, IconKind::NotPublishing);
        assert_eq!(view.title, "Camera daemon: alive but not publishing");
        assert!(
            view.tooltip
                .ends_with("Not publishing: no new frame for over 2 s"),
            "{}",
            view.tooltip
        );
        assert!(view.needs_attention);
        assert_eq!(
            enabled(&view),
            [
                "Open viewer",
                "Stop daemon",
                "Restart daemon",
                "Pause",
                "Open log",
                "Quit"
            ]
        );
    }

    #[test]
    fn not_running_offers_start_only() {
        let view = view_of(&report(), &Activity::Idle);
        assert_eq!(view.icon, IconKind::NotRunning);
        assert_eq!(view.title, "Camera daemon: not running");
        assert_eq!(view.tooltip, "No daemon runs: Start daemon starts one");
        assert!(!view.needs_attention);
        assert_eq!(
            enabled(&view),
            ["Open viewer", "Start daemon", "Open log", "Quit"]
        );
        let no_log = present(
            &judge(&report()),
            &Activity::Idle,
            &Namespace::default(),
            None,
            false,
        );
        assert_eq!(enabled(&no_log), ["Open viewer", "Start daemon", "Quit"]);
    }

    #[test]
    fn stale_leftovers_offer_start_which_reclaims_them() {
        let stale = capture_daemon::status::StatusReport {
            stale: true,
            pid: Some(77),
            ..report()
        };
        let view = view_of(&stale, &Activity::Idle);
        assert_eq!(view.icon, IconKind::Stale);
        assert_eq!(
            view.title,
            "Camera daemon: stale leftovers of a dead daemon"
        );
        assert!(view.tooltip.contains("(pid 77)"), "{}", view.tooltip);
        assert!(view.needs_attention);
        assert_eq!(
            enabled(&view),
            ["Open viewer", "Start daemon", "Open log", "Quit"]
        );
    }

    #[test]
    fn another_users_daemon_can_only_be_stopped() {
        let foreign = capture_daemon::status::StatusReport {
            foreign_owner: Some(u32::MAX),
            ..report()
        };
        let view = view_of(&foreign, &Activity::Idle);
        assert_eq!(view.icon, IconKind::Stale);
        assert_eq!(view.title, "Camera daemon: another user's");
        assert_eq!(
            view.tooltip,
            "The segments belong to another user and are private to them"
        );
        assert_eq!(
            enabled(&view),
            ["Open viewer", "Stop daemon", "Open log", "Quit"]
        );
    }

    #[test]
    fn while_busy_nothing_starts_or_stops_and_problems_are_shown() {
        for activity in [Activity::Starting, Activity::Stopping, Activity::Restarting] {
            for report in [report(), running("streaming", Some(10.0))] {
                let view = view_of(&report, &activity);
                assert_eq!(
                    enabled(&view),
                    ["Open viewer", "Open log", "Quit"],
                    "{activity:?}"
                );
                assert!(view.tooltip.starts_with(match activity {
                    Activity::Starting => "Starting the daemon...",
                    Activity::Stopping => "Stopping the daemon...",
                    _ => "Restarting the daemon...",
                }));
            }
        }
        let view = present(
            &judge(&report()),
            &Activity::Idle,
            &Namespace::new("cam2").unwrap(),
            Some("pkexec: the password prompt was dismissed"),
            true,
        );
        assert_eq!(view.title, "Camera daemon: not running (namespace cam2)");
        assert!(view
            .tooltip
            .ends_with("Last action failed: pkexec: the password prompt was dismissed"));
    }

    #[test]
    fn uptime_reads_in_the_largest_units() {
        assert_eq!(uptime_text(42.9), "less than a minute");
        assert_eq!(uptime_text(125.0), "2 min");
        assert_eq!(uptime_text(3725.0), "1 h 02 min");
        assert_eq!(uptime_text(-1.0), "less than a minute");
    }
}
