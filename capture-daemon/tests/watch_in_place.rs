//! End-to-end: `watch --in-place` against the real daemon reads frames where they lie and
//! still verifies every synthetic frame's stamps.

mod common;

use common::{fixture, json, sigterm};

#[test]
fn watch_in_place_reads_and_verifies_synthetic_frames() {
    let fixture = fixture("wip");
    let mut daemon = fixture.spawn_synthetic(&[]);
    let output = fixture.output(&["watch", "--in-place", "--frames", "30", "--json"]);
    let summary = json(&output);
    assert!(
        output.status.success(),
        "watch --in-place failed: {summary}"
    );
    assert_eq!(summary["read_mode"], "in_place");
    assert_eq!(summary["frames_received"], 30);
    assert_eq!(summary["verify_failures"], 0);
    assert_eq!(summary["frames_verified"], 30);
    for key in [
        "latency_us_p50",
        "latency_us_p99",
        "validated_latency_us_p50",
        "validated_latency_us_p99",
        "overwritten",
    ] {
        assert!(summary[key].is_number(), "{key} missing: {summary}");
    }
    sigterm(&daemon);
    let _ = daemon.wait();
}

#[test]
fn in_place_and_detections_do_not_go_together() {
    let fixture = fixture("wipd");
    let output = fixture.output(&["watch", "--in-place", "--detections", "--frames", "1"]);
    assert_eq!(output.status.code(), Some(2));
}
