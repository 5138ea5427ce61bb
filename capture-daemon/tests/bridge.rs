//! End-to-end over Zenoh, loopback only, explicit endpoints, no multicast scouting: the real
//! daemon (synthetic) → the real `bridge` → `watch --remote` (or a `RemoteFeed` in the test).
//! Built with the feature `zenoh` (scripts/test.sh enables it).

#![cfg(feature = "zenoh")]
// A test binary: its helpers may panic like its tests.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use camera_sources::synthetic::{SyntheticConfig, SyntheticSource};
use camera_sources::{CapturedFrame, Source};
use common::{fixture, json, sigterm, stderr, Fixture};
use test_support::daemon::DaemonGuard;
use zenoh_bridge::{KeyPrefix, RemoteFeed, SessionSettings};

/// A TCP port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn endpoint(port: u16) -> String {
    format!("tcp/127.0.0.1:{port}")
}

/// `bridge --listen ENDPOINT --key KEY EXTRA...`, stderr piped (its log).
fn spawn_bridge(fixture: &Fixture, port: u16, key: &str, extra: &[&str]) -> Child {
    let endpoint = endpoint(port);
    let mut args = vec!["bridge", "--listen", &endpoint, "--key", key];
    args.extend_from_slice(extra);
    fixture
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the bridge")
}

/// `watch --remote` on the bridge at `port`, as JSON.
fn watch_remote(fixture: &Fixture, port: u16, key: &str, extra: &[&str]) -> serde_json::Value {
    let endpoint = endpoint(port);
    let mut args = vec!["watch", "--remote", &endpoint, "--key", key, "--json"];
    args.extend_from_slice(extra);
    let output = fixture.output(&args);
    let summary = json(&output);
    assert!(
        output.status.success(),
        "watch --remote failed: {summary}\n{}",
        stderr(&output)
    );
    summary
}

/// Stops a child with SIGTERM and returns its stderr.
fn stop_and_log(mut child: Child) -> String {
    sigterm(&child);
    let _ = child.wait();
    let mut log = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut log);
    }
    log
}

#[test]
fn watch_remote_verifies_every_codec_with_camera_info() {
    let fixture = fixture("zcodec");
    let daemon = DaemonGuard::spawned(fixture.spawn_synthetic(&[]));
    for (codec, depth_format) in [
        ("rvl", "16UC1; compressedDepth rvl"),
        ("zstd", "zstd"),
        ("none", "16UC1"),
    ] {
        let port = free_port();
        let key = format!("test/{codec}");
        let bridge = spawn_bridge(&fixture, port, &key, &["--depth-codec", codec]);
        let summary = watch_remote(&fixture, port, &key, &["--frames", "30"]);
        let log = stop_and_log(bridge);
        assert_eq!(summary["frames_received"], 30, "{codec}: {summary}");
        // Every frame's colour and depth stamps name its own frame number: nothing torn,
        // no colour of one capture with the depth of another.
        assert_eq!(summary["frames_verified"], 30, "{codec}: {summary}");
        assert_eq!(summary["verify_failures"], 0, "{codec}: {summary}");
        let remote = &summary["remote"];
        assert_eq!(remote["depth_format"], depth_format, "{summary}");
        assert_eq!(remote["camera_info"], true, "{summary}");
        assert_eq!(remote["camera_info_size"], serde_json::json!([640, 480]));
        assert_eq!(remote["rejected"], 0, "{summary}");
        assert!(remote["megabytes_per_second"].as_f64().unwrap() > 0.0);
        assert!(log.contains("a subscriber is there: publishing"), "{log}");
    }
    drop(daemon);
}

/// The frame `frame_number` of the synthetic scene as the daemon renders it (the scene is a
/// function of the frame number).
fn render_synthetic(frame_number: u64) -> CapturedFrame {
    let config = SyntheticConfig {
        fps: 0.0,
        ..SyntheticConfig::default()
    };
    let mut source = SyntheticSource::new(config).unwrap();
    let mut frame = CapturedFrame::default();
    while frame.frame_number < frame_number {
        source.next_frame(&mut frame).unwrap();
    }
    frame
}

#[test]
fn rvl_depth_is_the_source_depth_bit_for_bit() {
    let fixture = fixture("zrvl");
    let daemon = DaemonGuard::spawned(fixture.spawn_synthetic(&[]));
    let port = free_port();
    let key = "test/lossless";
    let bridge = spawn_bridge(&fixture, port, key, &["--depth-codec", "rvl"]);
    let feed = RemoteFeed::open(
        &SessionSettings::connect(&endpoint(port)),
        &key.parse::<KeyPrefix>().unwrap(),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let frame = loop {
        assert!(Instant::now() < deadline, "no frame from the bridge");
        if let Some(frame) = feed.next_frame(Duration::from_millis(200)).unwrap() {
            break frame;
        }
    };
    stop_and_log(bridge);
    drop(daemon);
    assert_eq!(
        frame.depth_format.as_deref(),
        Some("16UC1; compressedDepth rvl")
    );
    let source = render_synthetic(frame.metadata.frame_number);
    let source_units: Vec<u16> = source
        .depth
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    let received = frame.depth_units.expect("depth");
    assert_eq!(received.len(), source_units.len());
    let differing = received
        .iter()
        .zip(&source_units)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing, 0,
        "RVL depth differs from the source's in {differing} pixels"
    );
    assert_eq!(frame.rgb, source.rgb, "colour differs from the source's");
}

#[test]
fn watch_remote_reconnects_when_the_bridge_restarts() {
    let fixture = fixture("zrecon");
    let daemon = DaemonGuard::spawned(fixture.spawn_synthetic(&[]));
    let port = free_port();
    let key = "test/restart";
    let mut bridge = spawn_bridge(&fixture, port, key, &[]);
    let remote = endpoint(port);
    let watch = fixture
        .command(&[
            "watch",
            "--remote",
            &remote,
            "--key",
            key,
            "--seconds",
            "9",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // Killed, not stopped: the link breaks without goodbye.
    bridge.kill().unwrap();
    let _ = bridge.wait();
    std::thread::sleep(Duration::from_secs(1));
    let bridge = spawn_bridge(&fixture, port, key, &[]);
    let output = watch.wait_with_output().unwrap();
    stop_and_log(bridge);
    drop(daemon);
    let summary = json(&output);
    assert!(output.status.success(), "{summary}");
    let remote_summary = &summary["remote"];
    assert!(
        remote_summary["reconnections"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    // Frames before the kill (3 s) and after the restart (about 5 s): more than 3 s worth.
    assert!(
        summary["frames_received"].as_u64().unwrap() > 120,
        "{summary}"
    );
    assert_eq!(summary["verify_failures"], 0, "{summary}");
}

#[test]
fn a_slow_subscriber_gets_the_newest_frames_not_a_backlog() {
    let fixture = fixture("zslow");
    let daemon = DaemonGuard::spawned(fixture.spawn_synthetic(&[]));
    let port = free_port();
    let key = "test/slow";
    let bridge = spawn_bridge(&fixture, port, key, &[]);
    // 4 frames per second taken out of 30 published, for 5 s: a queue would hold over 100
    // frames by the end, each seconds old.
    let summary = watch_remote(&fixture, port, key, &["--seconds", "5", "--slow-ms", "250"]);
    stop_and_log(bridge);
    drop(daemon);
    let frames = summary["frames_received"].as_u64().unwrap();
    assert!((10..=25).contains(&frames), "{summary}");
    // Each frame taken is at most one consumer pause (250 ms) old, plus decoding.
    let p99_us = summary["latency_us_p99"].as_f64().unwrap();
    assert!(p99_us < 600_000.0, "frames grow old: {summary}");
    // The newest frame replaced the ones the consumer had no time for, and frames skipped.
    assert!(
        summary["remote"]["frames_replaced"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert!(summary["frames_missed"].as_u64().unwrap() > 50, "{summary}");
    assert_eq!(summary["verify_failures"], 0, "{summary}");
}

#[test]
fn the_bridge_publishes_only_while_someone_subscribes() {
    let fixture = fixture("zidle");
    let daemon = DaemonGuard::spawned(fixture.spawn_synthetic(&[]));
    let port = free_port();
    let key = "test/idle";
    let bridge = spawn_bridge(&fixture, port, key, &[]);
    std::thread::sleep(Duration::from_secs(2));
    watch_remote(&fixture, port, key, &["--frames", "10"]);
    std::thread::sleep(Duration::from_secs(2));
    let log = stop_and_log(bridge);
    drop(daemon);
    let published_at = log.find("a subscriber is there: publishing").expect(&log);
    let idle_at = log.find("no subscriber left").expect(&log);
    assert!(published_at < idle_at, "{log}");
    // "bridge stopped: R frames read, P published, U unwatched, ..."
    let stopped = log
        .lines()
        .find(|line| line.contains("bridge stopped:"))
        .expect(&log);
    let number_before = |word: &str| -> u64 {
        let at = stopped.find(word).expect(stopped);
        let digits: String = stopped[..at]
            .trim_end()
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.chars().rev().collect::<String>().parse().unwrap()
    };
    let published = number_before(" published");
    let unwatched = number_before(" unwatched");
    assert!(published >= 10, "{stopped}");
    // About 4 s without a subscriber at 30 fps.
    assert!(unwatched > 60, "{stopped}");
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let fixture = fixture("zbad");
    let bad_endpoint = fixture.output(&["bridge", "--listen", "tcp/127.0.0.1"]);
    assert!(!bad_endpoint.status.success());
    let message = stderr(&bad_endpoint);
    assert!(
        message.contains("invalid Zenoh endpoint \"tcp/127.0.0.1\": no port"),
        "{message}"
    );

    let missing = fixture.output(&["bridge", "--zenoh-config", "/nonexistent/zenoh.json5"]);
    assert!(!missing.status.success());
    let message = stderr(&missing);
    assert!(
        message.contains("cannot read the Zenoh configuration file /nonexistent/zenoh.json5"),
        "{message}"
    );

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json5");
    std::fs::write(&broken, "{ listen: ").unwrap();
    let output = fixture.output(&["bridge", "--zenoh-config", broken.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("cannot read the Zenoh configuration file"),
        "{}",
        stderr(&output)
    );

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let started = Instant::now();
    let in_use = fixture.output(&["bridge", "--listen", &endpoint(port)]);
    assert!(!in_use.status.success());
    let message = stderr(&in_use);
    assert!(
        message.contains(&format!(
            "cannot open the Zenoh session (listening on tcp/127.0.0.1:{port})"
        )),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    let bad_codec = fixture.output(&["bridge", "--depth-codec", "png"]);
    assert!(!bad_codec.status.success());
    assert!(
        stderr(&bad_codec).contains("unknown depth codec \"png\""),
        "{}",
        stderr(&bad_codec)
    );

    let bad_remote = fixture.output(&["watch", "--remote", "localhost:7447", "--frames", "1"]);
    assert!(!bad_remote.status.success());
    assert!(
        stderr(&bad_remote).contains("invalid Zenoh endpoint"),
        "{}",
        stderr(&bad_remote)
    );
}

/// A certificate authority, and certificates it signs, as PEM files in `dir`.
struct TestCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let key = rcgen::KeyPair::generate().unwrap();
        TestCa {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    /// Writes `<stem>-cert.pem` and `<stem>-key.pem` for `names`; returns their paths.
    fn issue(&self, dir: &std::path::Path, stem: &str, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let params = rcgen::CertificateParams::new(names).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_path = dir.join(format!("{stem}-cert.pem"));
        let key_path = dir.join(format!("{stem}-key.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (
            cert_path.to_str().unwrap().to_owned(),
            key_path.to_str().unwrap().to_owned(),
        )
    }

    fn write(&self, dir: &std::path::Path, stem: &str) -> String {
        let path = dir.join(format!("{stem}.pem"));
        std::fs::write(&path, self.issuer.pem()).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

#[test]
fn tls_with_client_certificates_serves_trusted_viewers_only() {
    let fixture = fixture("ztls");
    let daemon = DaemonGuard::spawned(fixture.spawn_synthetic(&[]));
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("aaa test CA");
    let ca_pem = ca.write(dir.path(), "ca");
    let (bridge_cert, bridge_key) = ca.issue(dir.path(), "bridge", &["localhost"]);
    let (viewer_cert, viewer_key) = ca.issue(dir.path(), "viewer", &["viewer"]);
    let stranger_ca = TestCa::new("someone else");
    let (stranger_cert, stranger_key) = stranger_ca.issue(dir.path(), "stranger", &["stranger"]);

    let port = free_port();
    let bridge_config = dir.path().join("bridge.json5");
    std::fs::write(
        &bridge_config,
        format!(
            r#"{{
  listen: {{ endpoints: ["tls/127.0.0.1:{port}"] }},
  transport: {{ link: {{ tls: {{
    listen_private_key: "{bridge_key}",
    listen_certificate: "{bridge_cert}",
    root_ca_certificate: "{ca_pem}",
    enable_mtls: true,
  }} }} }},
}}"#
        ),
    )
    .unwrap();
    let viewer_config = |stem: &str, cert: &str, key: &str| {
        let path = dir.path().join(format!("{stem}.json5"));
        std::fs::write(
            &path,
            format!(
                r#"{{
  connect: {{ endpoints: ["tls/localhost:{port}"] }},
  transport: {{ link: {{ tls: {{
    root_ca_certificate: "{ca_pem}",
    connect_private_key: "{key}",
    connect_certificate: "{cert}",
    enable_mtls: true,
  }} }} }},
}}"#
            ),
        )
        .unwrap();
        path.to_str().unwrap().to_owned()
    };
    let trusted = viewer_config("trusted", &viewer_cert, &viewer_key);
    let stranger = viewer_config("stranger", &stranger_cert, &stranger_key);

    let key = "test/tls";
    let bridge = fixture
        .command(&[
            "bridge",
            "--zenoh-config",
            bridge_config.to_str().unwrap(),
            "--key",
            key,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let watch_with = |config: &str| {
        let output = fixture.output(&[
            "watch",
            "--zenoh-config",
            config,
            "--key",
            key,
            "--seconds",
            "6",
            "--json",
        ]);
        json(&output)
    };
    let trusted_summary = watch_with(&trusted);
    let stranger_summary = watch_with(&stranger);
    let log = stop_and_log(bridge);
    drop(daemon);
    assert!(
        trusted_summary["frames_received"].as_u64().unwrap() > 0,
        "a viewer with a certificate of the bridge's CA gets frames: {trusted_summary}\n{log}"
    );
    assert_eq!(trusted_summary["verify_failures"], 0, "{trusted_summary}");
    assert_eq!(
        stranger_summary["frames_received"], 0,
        "a viewer with a certificate of another CA gets nothing: {stranger_summary}"
    );
}
