//! End-to-end: the viewer's controls panel, health panel, status bar and "Start daemon" button
//! against the real `aaa-camera-daemon` binary (synthetic source), each test in a namespace and
//! runtime directory of its own, driven with `egui_kittest`.
//!
//! The daemon binary, the fixture and the guard that stops a daemon whatever state a failed
//! assertion left it in come from `test_support::daemon` (which builds the binary with cargo,
//! or takes `AAA_DAEMON_BIN`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use app::app::{start_feeds, FallbackChoice};
use app::launcher::DaemonSettings;
use app::viewer::Viewer;
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use shmproto::SourceKind;
use test_support::daemon::{stdout, workspace_daemon_binary, DaemonFixture, DaemonGuard, WITHIN};

/// A namespace and runtime directory of one test, with the daemon binary of this workspace.
struct Fixture(DaemonFixture);

impl std::ops::Deref for Fixture {
    type Target = DaemonFixture;

    fn deref(&self) -> &DaemonFixture {
        &self.0
    }
}

impl Fixture {
    /// `tag`: at most 7 characters, so that tag and pid fit a namespace (14 characters).
    fn new(tag: &str) -> Self {
        Fixture(DaemonFixture::new(tag, workspace_daemon_binary()))
    }

    /// A synthetic daemon, small and slow enough for a loaded machine, publishing.
    fn spawn_daemon(&self) -> DaemonGuard {
        self.spawn_daemon_with(&[])
    }

    /// [`Self::spawn_daemon`] with `extra` arguments to `run`.
    fn spawn_daemon_with(&self, extra: &[&str]) -> DaemonGuard {
        let mut args = vec![
            "run",
            "--source",
            "synthetic",
            "--width",
            "160",
            "--height",
            "120",
            "--fps",
            "15",
        ];
        args.extend_from_slice(extra);
        let child = self
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the daemon");
        let guard = DaemonGuard::spawned(child);
        self.wait_live();
        guard
    }

    fn settings(&self, source: SourceKind) -> DaemonSettings {
        DaemonSettings {
            namespace: self.namespace.clone(),
            runtime_dir: Some(self.runtime_dir.path().to_path_buf()),
            source,
            binary: Some(self.binary().to_path_buf()),
        }
    }

    /// The viewer as `aaa --no-webcam` builds it, for this namespace and runtime directory.
    fn harness(&self, settings: DaemonSettings) -> Harness<'static, Viewer> {
        self.harness_starting(settings, false)
    }

    /// With `start_when_missing`: as `aaa --no-webcam --start-daemon`.
    fn harness_starting(
        &self,
        settings: DaemonSettings,
        start_when_missing: bool,
    ) -> Harness<'static, Viewer> {
        let supervisor = start_feeds(self.namespace.clone(), FallbackChoice::Nothing)
            .expect("start the source threads");
        let viewer = Viewer::new(supervisor, PathBuf::from("unused"))
            .with_daemon(settings, start_when_missing);
        Harness::builder()
            .with_size(egui::Vec2::new(1400.0, 800.0))
            .build_ui_state(|ui, viewer: &mut Viewer| viewer.ui(ui), viewer)
    }
}

/// Steps the UI (frames and workers wake it on their own threads) until `done` holds.
fn step_until(
    harness: &mut Harness<'static, Viewer>,
    what: &str,
    done: impl Fn(&Harness<'static, Viewer>) -> bool,
) {
    let deadline = Instant::now() + WITHIN;
    loop {
        harness.step();
        if done(harness) {
            // One more pass so that the tree reflects what the condition saw.
            harness.step();
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not reached within {WITHIN:?}: {what}; the window shows: {}",
            visible_text(harness)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every label on screen, for failure messages.
fn visible_text(harness: &Harness<'static, Viewer>) -> String {
    harness
        .query_all_by(|node| node.label().is_some() || node.value().is_some())
        .filter_map(|node| {
            let node = node.accesskit_node();
            node.label().or_else(|| node.value())
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn shows(harness: &Harness<'static, Viewer>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

#[test]
fn the_controls_panel_lists_the_synthetic_controls_and_a_slider_reaches_the_daemon() {
    let fixture = Fixture::new("actl");
    let _daemon = fixture.spawn_daemon();
    let mut harness = fixture.harness(fixture.settings(SourceKind::Synthetic));
    step_until(&mut harness, "connected", |h| shows(h, "Source: daemon"));

    harness.get_by_label("Controls").click();
    step_until(&mut harness, "the controls listed", |h| {
        h.query_by_role_and_label(Role::Slider, "Brightness")
            .is_some()
    });
    let brightness = harness.get_by_role_and_label(Role::Slider, "Brightness");
    let node = brightness.accesskit_node();
    assert_eq!(
        (node.min_numeric_value(), node.max_numeric_value()),
        (Some(0.0), Some(4.0)),
        "the daemon's range"
    );
    assert_eq!(
        node.numeric_value(),
        Some(1.0),
        "the daemon's current value"
    );
    let speed = harness.get_by_role_and_label(Role::Slider, "Scene speed");
    assert_eq!(speed.accesskit_node().max_numeric_value(), Some(10.0));

    harness
        .get_by_role_and_label(Role::Slider, "Brightness")
        .set_value_accesskit(2.5);
    step_until(&mut harness, "the daemon's answer", |h| {
        shows(h, "daemon: brightness = 2.5")
    });
    let got = fixture.ctl(&["get", "brightness"]);
    assert!(
        stdout(&got).starts_with("brightness = 2.5"),
        "{}",
        stdout(&got)
    );
    let node = harness.get_by_role_and_label(Role::Slider, "Brightness");
    assert_eq!(node.accesskit_node().numeric_value(), Some(2.5));

    // A change made elsewhere shows after a reload.
    fixture.ctl(&["set", "speed", "3"]);
    harness.get_by_label("Reload").click();
    step_until(&mut harness, "the reloaded speed", |h| {
        // While the list reloads there is no slider.
        h.query_by_role_and_label(Role::Slider, "Scene speed")
            .and_then(|node| node.accesskit_node().numeric_value())
            == Some(3.0)
    });
}

#[test]
fn the_health_panel_shows_the_metrics_of_a_real_daemon() {
    let fixture = Fixture::new("ahlth");
    let daemon = fixture.spawn_daemon();
    let mut harness = fixture.harness(fixture.settings(SourceKind::Synthetic));
    step_until(&mut harness, "connected", |h| shows(h, "Source: daemon"));
    harness.get_by_label("Health").click();
    step_until(&mut harness, "the daemon's metrics", |h| {
        h.query_all_by_label(&daemon.pid().to_string())
            .next()
            .is_some()
    });
    harness.get_by_label("state: streaming");
    for row in [
        "fps",
        "frames",
        "dropped",
        "publish",
        "capture to publish",
        "CPU",
        "memory",
        "uptime",
        "last error",
    ] {
        assert!(harness.query_by_label(row).is_some(), "no {row} row");
    }
    harness.get_by_label("size");
    harness.get_by_label_contains("(target 15)");
    harness.get_by_label("Last 60 s");
}

#[test]
fn paused_reads_as_paused_and_a_stopped_daemon_as_gone() {
    let fixture = Fixture::new("ahung");
    let daemon = fixture.spawn_daemon();
    let mut harness = fixture.harness(fixture.settings(SourceKind::Synthetic));
    step_until(&mut harness, "live", |h| {
        shows(h, "Source: daemon") && h.query_by_label("live").is_some()
    });

    fixture.ctl(&["pause"]);
    step_until(&mut harness, "paused", |h| {
        shows(h, "daemon paused (alive, not publishing)")
    });
    // Still paused, not hung, well after the not-publishing limit.
    std::thread::sleep(app::health::NOT_PUBLISHING_AFTER + Duration::from_millis(500));
    harness.step();
    assert!(shows(&harness, "daemon paused"));
    assert!(!shows(&harness, "not publishing:"));

    fixture.ctl(&["resume"]);
    step_until(&mut harness, "live again", |h| {
        h.query_by_label("live").is_some()
    });

    // Frozen: the heartbeat stops, the reader gives the writer up.
    daemon.signal(libc::SIGSTOP);
    step_until(&mut harness, "gone", |h| {
        shows(h, "daemon gone: writer unresponsive")
    });
    daemon.signal(libc::SIGCONT);
    step_until(&mut harness, "reconnected", |h| {
        shows(h, "Source: daemon") && h.query_by_label("live").is_some()
    });
}

#[test]
fn the_start_button_launches_a_detached_daemon_and_the_app_connects() {
    let fixture = Fixture::new("astart");
    let mut harness = fixture.harness(fixture.settings(SourceKind::Synthetic));
    step_until(&mut harness, "the no-source screen", |h| {
        shows(h, "Daemon: not running")
    });
    harness.get_by_label("Start daemon").click();
    step_until(&mut harness, "spawned", |h| {
        h.state().launcher().and_then(|l| l.pid()).is_some()
    });
    let pid = harness
        .state()
        .launcher()
        .and_then(|launcher| launcher.pid())
        .expect("the launcher knows the pid");
    let _daemon = DaemonGuard::of_pid(pid);
    step_until(&mut harness, "connected to the started daemon", |h| {
        shows(h, "Source: daemon")
    });
    // SAFETY: getsid has no preconditions.
    let session = unsafe { libc::getsid(pid as libc::pid_t) };
    assert_eq!(
        session, pid as libc::pid_t,
        "the daemon leads its own session"
    );
    let log = fixture
        .runtime_dir
        .path()
        .join(format!("{}.log", fixture.namespace.file_stem()));
    let log_text = std::fs::read_to_string(&log).expect("the daemon's log");
    assert!(log_text.contains("---- aaa: starting"), "{log_text}");
    let status = fixture
        .command(&["status", "--json"])
        .output()
        .expect("status");
    assert!(status.status.success(), "{}", stdout(&status));
}

#[test]
fn start_daemon_at_startup_starts_one_when_none_runs() {
    let fixture = Fixture::new("aauto");
    let mut harness = fixture.harness_starting(fixture.settings(SourceKind::Synthetic), true);
    step_until(&mut harness, "spawned", |h| {
        h.state().launcher().and_then(|l| l.pid()).is_some()
    });
    let pid = harness
        .state()
        .launcher()
        .and_then(|launcher| launcher.pid())
        .expect("the launcher knows the pid");
    let _daemon = DaemonGuard::of_pid(pid);
    step_until(&mut harness, "connected to the started daemon", |h| {
        shows(h, "Source: daemon")
    });
}

#[test]
fn start_daemon_at_startup_leaves_a_running_daemon_alone() {
    let fixture = Fixture::new("akeep");
    let _daemon = fixture.spawn_daemon();
    let mut harness = fixture.harness_starting(fixture.settings(SourceKind::Synthetic), true);
    step_until(&mut harness, "connected", |h| shows(h, "Source: daemon"));
    assert_eq!(
        harness
            .state()
            .launcher()
            .map(|launcher| launcher.state().clone()),
        Some(app::launcher::LaunchState::Idle)
    );
}

#[test]
fn a_daemon_that_cannot_be_started_says_why() {
    let fixture = Fixture::new("anost");
    let mut settings = fixture.settings(SourceKind::Synthetic);
    settings.binary = Some(fixture.runtime_dir.path().join("no-such-daemon"));
    let mut harness = fixture.harness(settings);
    step_until(&mut harness, "the no-source screen", |h| {
        shows(h, "Daemon: not running")
    });
    harness.get_by_label("Start daemon").click();
    step_until(&mut harness, "the error", |h| {
        shows(h, "Cannot start the daemon: cannot run")
    });
    harness.get_by_label_contains("no-such-daemon");
}

#[test]
fn the_daemons_own_detections_are_drawn_over_its_frames() {
    use app::viewer::BoxSource;

    let fixture = Fixture::new("adet");
    let _daemon = fixture.spawn_daemon_with(&["--detect", "depth"]);
    let mut harness = fixture.harness(fixture.settings(SourceKind::Synthetic));
    step_until(&mut harness, "connected", |h| shows(h, "Source: daemon"));
    step_until(&mut harness, "the daemon's boxes over its frames", |h| {
        h.state()
            .shown_detections()
            .is_some_and(|shown| shown.source == BoxSource::Daemon && !shown.detections.is_empty())
    });
    let shown = harness.state().shown_detections().cloned().unwrap();
    let displayed = harness.state().displayed_frame_number().unwrap();
    assert!(
        displayed >= shown.frame_number && displayed - shown.frame_number <= 2,
        "result for frame {} drawn over frame {displayed}",
        shown.frame_number
    );
    assert_eq!(shown.detector, "depth");
    assert!(shows(&harness, "Daemon detections: depth"));
    assert!(!harness.state().drawn_boxes().is_empty());
}
