//! End-to-end: the viewer's **Record** button runs `aaa-camera-daemon record` against the real
//! daemon (synthetic source), shows the file, elapsed time and size, and Stop finishes a valid
//! MCAP file. Driven with `egui_kittest`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use app::app::{start_feeds, FallbackChoice};
use app::launcher::DaemonSettings;
use app::viewer::Viewer;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use shmproto::SourceKind;
use test_support::daemon::{workspace_daemon_binary, DaemonFixture, DaemonGuard, WITHIN};

fn step_until(
    harness: &mut Harness<'static, Viewer>,
    what: &str,
    done: impl Fn(&Harness<'static, Viewer>) -> bool,
) {
    let deadline = Instant::now() + WITHIN;
    loop {
        harness.step();
        if done(harness) {
            harness.step();
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not reached within {WITHIN:?}: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn shows(harness: &Harness<'static, Viewer>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

#[test]
fn the_record_button_records_the_daemon_into_an_mcap_file() {
    let fixture = DaemonFixture::new("arec", workspace_daemon_binary());
    let child = fixture
        .command(&[
            "run",
            "--source",
            "synthetic",
            "--width",
            "160",
            "--height",
            "120",
            "--fps",
            "15",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the daemon");
    let _daemon = DaemonGuard::spawned(child);
    fixture.wait_live();

    let folder = tempfile::tempdir().expect("folder");
    let settings = DaemonSettings {
        namespace: fixture.namespace.clone(),
        runtime_dir: Some(fixture.runtime_dir.path().to_path_buf()),
        source: SourceKind::Synthetic,
        binary: Some(fixture.binary().to_path_buf()),
    };
    let supervisor =
        start_feeds(fixture.namespace.clone(), FallbackChoice::Nothing).expect("feeds");
    let viewer = Viewer::new(supervisor, PathBuf::from(folder.path())).with_daemon(settings, false);
    let mut harness = Harness::builder()
        .with_size(egui::Vec2::new(1400.0, 800.0))
        .build_ui_state(|ui, viewer: &mut Viewer| viewer.ui(ui), viewer);
    step_until(&mut harness, "connected", |h| shows(h, "Source: daemon"));

    harness.get_by_label("Record").click();
    step_until(&mut harness, "recording", |h| h.state().is_recording());
    let path = harness
        .state()
        .recording_file()
        .expect("the recording's file")
        .to_path_buf();
    assert_eq!(path.parent(), Some(folder.path()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("aaa-") && name.ends_with(".mcap"),
        "{name}"
    );
    // File name, elapsed time and a growing size while it records.
    step_until(&mut harness, "a second and some bytes", |h| {
        shows(h, &format!("Recording {name} 0:01")) && !shows(h, " 0.0 MB")
    });

    harness.get_by_label("Stop recording").click();
    step_until(&mut harness, "finished", |h| shows(h, "recorded "));
    assert!(!harness.state().is_recording());
    assert!(shows(&harness, "0 gaps"));
    // A complete MCAP file: it ends with the magic, after the summary.
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\x89MCAP0\r\n") && bytes.ends_with(b"\x89MCAP0\r\n"));
    let colour = mcap::MessageStream::new(&bytes)
        .unwrap()
        .filter(|message| message.as_ref().unwrap().channel.topic == "/camera/color/image_raw")
        .count();
    assert!(colour >= 10, "{colour} colour images");
}
