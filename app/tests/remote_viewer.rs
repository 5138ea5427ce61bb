//! A remote camera, end to end over Zenoh on loopback (explicit endpoints, no scouting): the
//! real daemon (synthetic) → the real `aaa-camera-daemon bridge` → the viewer's remote feed,
//! and the real `aaa --remote` under Xvfb. Built with the feature `zenoh` (scripts/test.sh
//! enables it, and builds the daemon with it).

#![cfg(feature = "zenoh")]
// A test binary: its helpers may panic like its tests.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use app::feed::remote::{RemoteFeed, LOST_AFTER};
use app::feed::{FeedEvent, FrameFeed, FrameLink, Origin};
use test_support::daemon::{workspace_daemon_binary, DaemonFixture, DaemonGuard};
use test_support::xvfb::{succeeded, xvfb_available, xvfb_command};
use zenoh_bridge::{KeyPrefix, SessionSettings};

/// Generous: two cores shared with other builds and tests.
const WITHIN: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn spawn_bridge(fixture: &DaemonFixture, endpoint: &str, key: &str) -> Child {
    fixture
        .command(&["bridge", "--listen", endpoint, "--key", key])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the bridge")
}

/// Events until `wanted` matches one (returned), or panics after `within`.
fn wait_for_event(
    link: &FrameLink,
    within: Duration,
    wanted: impl Fn(&FeedEvent) -> bool,
) -> FeedEvent {
    let deadline = Instant::now() + within;
    loop {
        while let Some(event) = link.next_event() {
            if wanted(&event) {
                return event;
            }
        }
        assert!(Instant::now() < deadline, "the awaited event did not come");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for_frame(link: &FrameLink, within: Duration) -> app::frame::Frame {
    let deadline = Instant::now() + within;
    loop {
        if let Some(frame) = link.take_newest_frame() {
            return frame;
        }
        assert!(Instant::now() < deadline, "no frame from the remote feed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_remote_feed_shows_frames_and_comes_back_after_the_bridge_restarts() {
    let fixture = DaemonFixture::new("zapp", workspace_daemon_binary());
    let daemon = DaemonGuard::spawned(fixture.spawn_synthetic(&[]));
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let key = "test/app";
    let mut bridge = spawn_bridge(&fixture, &endpoint, key);

    let feed = RemoteFeed::spawn(
        &SessionSettings::connect(&endpoint),
        &key.parse::<KeyPrefix>().unwrap(),
    )
    .unwrap();
    assert_eq!(feed.origin(), Origin::Remote);
    assert!(
        feed.describe().contains(&endpoint) && feed.describe().contains(key),
        "the status bar names the endpoint and key: {}",
        feed.describe()
    );
    let link = feed.link();
    wait_for_event(link, WITHIN, |event| {
        matches!(event, FeedEvent::Connected { .. })
    });
    let frame = wait_for_frame(link, WITHIN);
    assert_eq!([frame.geometry.width, frame.geometry.height], [640, 480]);
    assert!(frame.depth_units.is_some(), "RVL depth decoded");
    let metadata = &frame.metadata;
    assert_eq!(metadata.source_kind, shmproto::SourceKind::Synthetic);
    let first_number = frame.frame_number;

    // Killed, not stopped: the link breaks without goodbye. The feed says it is lost...
    bridge.kill().unwrap();
    let _ = bridge.wait();
    let lost = wait_for_event(link, LOST_AFTER + WITHIN, |event| {
        matches!(event, FeedEvent::Lost { .. })
    });
    eprintln!("after the kill: {lost:?}");
    // ...and comes back by itself when the bridge does.
    let bridge = spawn_bridge(&fixture, &endpoint, key);
    let _bridge = ChildGuard(bridge);
    wait_for_event(link, WITHIN, |event| {
        matches!(event, FeedEvent::Connected { .. })
    });
    let later = wait_for_frame(link, WITHIN);
    assert!(
        later.frame_number > first_number,
        "frames after the restart: {} then {}",
        first_number,
        later.frame_number
    );
    drop(daemon);
}

/// Kills a child process on drop.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn aaa_remote_shows_the_bridged_camera_in_a_window() {
    if !xvfb_available() {
        return;
    }
    let fixture = DaemonFixture::new("zwin", workspace_daemon_binary());
    let daemon = DaemonGuard::spawned(fixture.spawn_synthetic(&[]));
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let key = "test/window";
    let _bridge = ChildGuard(spawn_bridge(&fixture, &endpoint, key));
    let output = xvfb_command(env!("CARGO_BIN_EXE_aaa"))
        .args(["--remote", &endpoint, "--key", key, "--smoke-test", "8"])
        .output()
        .expect("run xvfb-run");
    drop(daemon);
    let (stdout, stderr) = succeeded(&output, "aaa --remote");
    let summary = stdout
        .lines()
        .find(|line| line.starts_with("smoke test:"))
        .unwrap_or_else(|| panic!("no smoke test line:\n{stdout}\n{stderr}"));
    assert!(
        summary.contains(&format!("source=remote {endpoint} ({key})")),
        "{summary}"
    );
}

#[test]
fn a_bad_endpoint_is_a_clear_error_at_start() {
    let output = Command::new(env!("CARGO_BIN_EXE_aaa"))
        .args(["--remote", "tcp/localhost", "--smoke-test", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("invalid Zenoh endpoint"), "{stderr}");
}

#[test]
fn the_remote_daemons_detections_come_with_its_frames() {
    let fixture = DaemonFixture::new("zdet", workspace_daemon_binary());
    let daemon = DaemonGuard::spawned(fixture.spawn_synthetic(&["--detect", "depth"]));
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let key = "test/detections";
    let _bridge = ChildGuard(spawn_bridge(&fixture, &endpoint, key));
    let feed = RemoteFeed::spawn(
        &SessionSettings::connect(&endpoint),
        &key.parse::<KeyPrefix>().unwrap(),
    )
    .unwrap();
    let deadline = Instant::now() + WITHIN;
    let result = loop {
        // Frames keep flowing (the GUI would take them); results come beside them.
        let _ = feed.link().take_newest_frame();
        if let Some(result) = feed.take_detections().pop() {
            break result;
        }
        assert!(Instant::now() < deadline, "no detection result came");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(daemon);
    assert!(result.frame_number > 0);
    assert_eq!(result.detector.format, "depth");
    // The synthetic scene's objects, with their 3D positions (the frames have depth).
    assert!(!result.detections.is_empty(), "{result:?}");
    assert!(result.detections.iter().all(|d| d.position.is_some()));
}
