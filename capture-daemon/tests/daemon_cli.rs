//! End-to-end: the real `aaa-camera-daemon` binary, real shared memory, real signals.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{fixture, json, sigterm, stderr, stdout, DAEMON};

#[test]
fn synthetic_frames_are_published_and_verify() {
    let fixture = fixture("syn");
    let mut daemon = fixture.spawn_synthetic(&[]);
    let output = fixture.output(&["watch", "--frames", "30", "--json"]);
    let summary = json(&output);
    assert!(output.status.success(), "watch failed: {summary}");
    assert_eq!(summary["frames_received"], 30);
    assert_eq!(summary["verify_failures"], 0);
    assert_eq!(summary["frames_verified"], 30);
    assert_eq!(summary["source_kind"], "synthetic");
    for key in ["fps", "latency_us_p50", "latency_us_p99", "gaps"] {
        assert!(summary[key].is_number(), "{key} missing: {summary}");
    }
    let fps = summary["fps"].as_f64().unwrap_or(0.0);
    assert!(
        (15.0..=45.0).contains(&fps),
        "paced at 30 fps, watched {fps}"
    );

    let status = fixture.output(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let report = json(&status);
    assert_eq!(report["running"], true);
    assert_eq!(report["source_kind"], "synthetic");
    assert_eq!(report["width"], 640);
    assert_eq!(report["pid"], daemon.id());
    assert_eq!(report["segments"].as_array().map(Vec::len), Some(3));
    assert!(report["segments"][0]["mode"] == "600", "{report}");

    let text = fixture.output(&["status"]);
    assert!(stdout(&text).contains("RUNNING"), "{}", stdout(&text));

    sigterm(&daemon);
    let _ = daemon.wait();
}

#[test]
fn sigterm_stops_within_500ms_and_leaves_nothing_behind() {
    let fixture = fixture("term");
    let mut daemon = fixture.spawn_synthetic(&[]);
    assert_eq!(fixture.segments_in_dev_shm().len(), 3);
    assert!(fixture.pid_file().exists());
    let started = Instant::now();
    sigterm(&daemon);
    let status = daemon.wait().expect("daemon exits");
    let took = started.elapsed();
    assert!(status.success(), "exit status {status:?}");
    assert!(took < Duration::from_millis(500), "stopping took {took:?}");
    assert!(
        fixture.segments_in_dev_shm().is_empty(),
        "segments left behind"
    );
    assert!(!fixture.pid_file().exists(), "pid file left behind");
    let status = fixture.output(&["status"]);
    assert_eq!(status.status.code(), Some(3), "{}", stdout(&status));
    assert!(stdout(&status).contains("NOT RUNNING"));
}

#[test]
fn second_instance_is_refused_naming_the_live_pid() {
    let fixture = fixture("dup");
    let mut daemon = fixture.spawn_synthetic(&[]);
    let second = fixture.output(&["run", "--source", "synthetic"]);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains(&format!("pid {}", daemon.id())),
        "{}",
        stderr(&second)
    );
    let cleanup = fixture.output(&["cleanup"]);
    assert_eq!(cleanup.status.code(), Some(1));
    assert!(stderr(&cleanup).contains("alive"), "{}", stderr(&cleanup));
    assert_eq!(
        fixture.segments_in_dev_shm().len(),
        3,
        "cleanup must not touch a live daemon"
    );
    sigterm(&daemon);
    let _ = daemon.wait();
}

#[test]
fn after_sigkill_status_says_stale_and_a_new_run_reclaims() {
    let fixture = fixture("kill");
    let mut daemon = fixture.spawn_synthetic(&[]);
    daemon.kill().expect("SIGKILL");
    let _ = daemon.wait();

    let status = fixture.output(&["status", "--json"]);
    assert_eq!(status.status.code(), Some(1), "{}", stdout(&status));
    let report = json(&status);
    assert_eq!(report["stale"], true, "{report}");
    assert_eq!(report["running"], false);

    let mut restarted = fixture.spawn_synthetic(&[]);
    let watch = fixture.output(&["watch", "--frames", "5", "--json"]);
    assert!(watch.status.success(), "{}", stdout(&watch));
    sigterm(&restarted);
    let _ = restarted.wait();

    // Cleanup after a second crash removes segments and pid file.
    let mut crashed = fixture.spawn_synthetic(&[]);
    crashed.kill().expect("SIGKILL");
    let _ = crashed.wait();
    let cleanup = fixture.output(&["cleanup"]);
    assert!(cleanup.status.success(), "{}", stderr(&cleanup));
    assert!(stdout(&cleanup).contains("removed"), "{}", stdout(&cleanup));
    assert!(fixture.segments_in_dev_shm().is_empty());
    assert!(!fixture.pid_file().exists());
    let again = fixture.output(&["cleanup"]);
    assert!(stdout(&again).contains("nothing to clean up"));
}

#[test]
fn watch_without_a_daemon_says_what_is_missing() {
    let fixture = fixture("none");
    let output = fixture.output(&["watch", "--frames", "1", "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let summary = json(&output);
    let error = summary["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&fixture.namespace.metadata_segment()) && error.contains("no daemon"),
        "{error}"
    );
}

#[test]
fn watch_notices_the_daemon_going_away() {
    let fixture = fixture("gone");
    let mut daemon = fixture.spawn_synthetic(&[]);
    let watcher = fixture
        .command(&["watch", "--seconds", "30", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn watch");
    std::thread::sleep(Duration::from_millis(500));
    sigterm(&daemon);
    let output = watcher.wait_with_output().expect("watch exits");
    let _ = daemon.wait();
    assert_eq!(output.status.code(), Some(1));
    let summary = json(&output);
    assert!(
        summary["error"]
            .as_str()
            .unwrap_or_default()
            .contains("daemon gone"),
        "{summary}"
    );
    assert!(summary["frames_received"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    let fixture = fixture("flag");
    for args in [
        vec!["run", "--source", "nonsense"],
        vec!["run", "--width", "0"],
        vec!["run", "--fps", "-3"],
        vec!["--bogus"],
        vec!["watch", "--frames", "x"],
    ] {
        let output = fixture.output(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        let text = stderr(&output);
        assert_eq!(text.trim().lines().count(), 1, "{args:?}: {text}");
        assert!(text.starts_with("aaa-camera-daemon: "), "{text}");
    }
    let output = Command::new(DAEMON)
        .args(["--namespace", "has space", "status"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("invalid namespace"));
}

#[test]
fn missing_recording_is_fatal_at_start() {
    // In every build (with librealsense or not), for either spelling of the source: a
    // recording that does not exist is not an unplugged camera to wait for.
    let fixture = fixture("rs");
    for source in ["realsense", "recording"] {
        let output = fixture.output(&[
            "run",
            "--source",
            source,
            "--recording",
            "/nonexistent/rec.bag",
        ]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("cannot read recording /nonexistent/rec.bag"),
            "{}",
            stderr(&output)
        );
        assert!(fixture.segments_in_dev_shm().is_empty());
    }
}

#[test]
fn under_sudo_everything_belongs_to_the_sudo_user_and_stays_private() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: handing files to another user needs root");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let fixture = fixture("sudo");
    let log = fixture.runtime_dir.path().join("daemon.log");
    let mut daemon = fixture
        .command(&[
            "--log-file",
            log.to_str().unwrap_or_default(),
            "run",
            "--source",
            "synthetic",
        ])
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534")
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    fixture.wait_live();
    let report = json(&fixture.output(&["status", "--json"]));
    for segment in report["segments"].as_array().expect("segments") {
        assert_eq!(
            (segment["uid"].as_u64(), segment["gid"].as_u64()),
            (Some(65534), Some(65534)),
            "{segment}"
        );
        assert_eq!(segment["mode"], "600");
    }
    // The pid file is readable by all (anyone may see which daemon runs); the socket and the
    // log the daemon created are the desktop user's alone.
    for (path, mode) in [
        (fixture.pid_file(), 0o644),
        (fixture.socket(), 0o600),
        (log.clone(), 0o600),
    ] {
        let metadata = std::fs::metadata(&path).expect("file exists");
        assert_eq!(
            (metadata.uid(), metadata.gid()),
            (65534, 65534),
            "{}",
            path.display()
        );
        assert_eq!(metadata.mode() & 0o777, mode, "{}", path.display());
    }
    sigterm(&daemon);
    let _ = daemon.wait();
    let logged = std::fs::read_to_string(&log).expect("log file written");
    assert!(
        logged.contains("daemon started") && logged.contains("SIGTERM received"),
        "{logged}"
    );
}

#[test]
fn an_impossible_synthetic_configuration_fails_at_once() {
    let fixture = fixture("cfg");
    let output = fixture.output(&["run", "--source", "synthetic", "--width", "100"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("too small"), "{}", stderr(&output));
    assert!(fixture.segments_in_dev_shm().is_empty());
    assert!(!fixture.pid_file().exists());
}

#[test]
fn needs_root_answers_for_the_synthetic_source_and_refuses_unknown_ones() {
    let fixture = fixture("root");
    let synthetic = fixture.output(&["needs-root", "--source", "synthetic"]);
    assert_eq!(synthetic.status.code(), Some(1), "{}", stderr(&synthetic));
    assert!(stdout(&synthetic).is_empty());
    let bad = fixture.output(&["needs-root", "--source", "kinect"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("realsense, webcam, synthetic"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn stop_ends_the_daemon_and_says_so_and_is_a_no_op_after() {
    let fixture = fixture("stop");
    let mut daemon = fixture.spawn_synthetic(&[]);
    let pid = stdout(&fixture.output(&["status", "--pid"]))
        .trim()
        .to_owned();
    assert_eq!(pid, daemon.id().to_string());
    let stopped = fixture.output(&["stop", "--timeout", "10"]);
    assert!(stopped.status.success(), "{}", stderr(&stopped));
    assert!(
        stdout(&stopped).contains("daemon stopped"),
        "{}",
        stdout(&stopped)
    );
    assert!(daemon.wait().expect("wait").success());
    assert!(fixture.segments_in_dev_shm().is_empty());
    assert!(!fixture.pid_file().exists());
    let again = fixture.output(&["stop"]);
    assert!(again.status.success());
    assert!(stdout(&again).contains("not running"), "{}", stdout(&again));
    assert!(stdout(&fixture.output(&["status", "--pid"])).is_empty());
}
