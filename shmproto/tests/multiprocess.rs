//! Real processes on real shared memory: a writer and readers of self-verifying frames.

mod common;

use std::process::Child;
use std::time::Duration;

use common::{json_summary, spawn_stress, unique_namespace, wait_ready};
use shmproto::{monotonic_now_ns, CreateError, Geometry, Writer, WriterConfig};

fn summary(child: Child) -> (serde_json::Value, i32) {
    let output = child.wait_with_output().expect("child runs to the end");
    (json_summary(&output), output.status.code().unwrap_or(-1))
}

fn stress(width: u32, height: u32, tag: &str) {
    let namespace = unique_namespace(tag);
    let ns = namespace.as_str();
    let (w, h) = (width.to_string(), height.to_string());
    let mut writer = spawn_stress(&[
        "write",
        "--namespace",
        ns,
        "--width",
        &w,
        "--height",
        &h,
        "--seconds",
        "3",
    ]);
    wait_ready(&mut writer);
    let readers: Vec<Child> = (0..3)
        .map(|_| spawn_stress(&["read", "--namespace", ns, "--seconds", "10", "--until-gone"]))
        .collect();
    let (writer_summary, writer_code) = summary(writer);
    assert_eq!(writer_code, 0, "writer failed: {writer_summary}");
    let published = writer_summary["frames"].as_u64().unwrap_or(0);
    for reader in readers {
        let (result, code) = summary(reader);
        assert_eq!(result["torn"], 0, "torn frames: {result}");
        assert_eq!(
            result["non_increasing"], 0,
            "frame numbers went back: {result}"
        );
        assert_eq!(code, 0, "reader failed: {result}");
        let frames = result["frames"].as_u64().unwrap_or(0);
        assert!(
            frames >= 30,
            "reader received only {frames} of {published} frames: {result}"
        );
        // No starvation: every quarter second while the writer ran (skipping the first,
        // where the reader was still attaching, and the last) delivered frames.
        let quarters: Vec<u64> = result["per_quarter_second"]
            .as_array()
            .expect("per_quarter_second array")
            .iter()
            .filter_map(serde_json::Value::as_u64)
            .collect();
        assert!(
            quarters[1..10].iter().all(|&count| count > 0),
            "reader starved in some quarter second: {quarters:?}"
        );
        assert!(
            result["gone"].as_str().unwrap_or("").contains("stopped"),
            "{result}"
        );
    }
    assert!(
        !shmproto::probe(&namespace),
        "writer left its segments behind"
    );
}

#[test]
fn three_readers_never_see_a_torn_frame_at_640x480() {
    stress(640, 480, "st6");
}

#[test]
fn three_readers_never_see_a_torn_frame_at_1280x720() {
    stress(1280, 720, "st12");
}

#[test]
fn sigkilled_writer_is_reported_gone_within_250ms_and_can_be_replaced() {
    let namespace = unique_namespace("kill");
    let ns = namespace.as_str();
    let mut writer = spawn_stress(&["write", "--namespace", ns, "--seconds", "60", "--fps", "30"]);
    wait_ready(&mut writer);
    let mut readers: Vec<Child> = (0..3)
        .map(|_| spawn_stress(&["read", "--namespace", ns, "--seconds", "30", "--until-gone"]))
        .collect();
    for reader in &mut readers {
        wait_ready(reader);
    }
    std::thread::sleep(Duration::from_millis(200));
    // The writer stays an unreaped zombie until after the readers report: its pid still
    // exists, and the readers must see through that.
    let killed_at = monotonic_now_ns();
    writer.kill().expect("SIGKILL the writer");
    for reader in readers {
        let (result, code) = summary(reader);
        assert_eq!(code, 0, "reader failed: {result}");
        let gone_at = result["gone_at_mono_ns"]
            .as_u64()
            .expect("reader saw the writer go");
        let after = Duration::from_nanos(gone_at.saturating_sub(killed_at));
        assert!(
            after < Duration::from_millis(250),
            "noticed after {after:?}: {result}"
        );
        assert_eq!(result["torn"], 0, "{result}");
    }
    let _ = writer.wait();

    let replacement = Writer::create(WriterConfig::new(namespace.clone(), Geometry::default()))
        .expect("a new writer reclaims the dead writer's segments");
    let reclaimed = replacement.reclaimed().unwrap_or_default().to_owned();
    assert!(reclaimed.contains("gone"), "reclaim reason: {reclaimed:?}");
}

#[test]
fn a_frozen_writer_is_reported_by_its_heartbeat() {
    let namespace = unique_namespace("stop");
    let ns = namespace.as_str();
    let mut writer = spawn_stress(&["write", "--namespace", ns, "--seconds", "60", "--fps", "30"]);
    wait_ready(&mut writer);
    let mut reader = spawn_stress(&["read", "--namespace", ns, "--seconds", "30", "--until-gone"]);
    wait_ready(&mut reader);
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: stopping our own child process.
    let stopped = unsafe { libc::kill(writer.id() as libc::pid_t, libc::SIGSTOP) };
    assert_eq!(stopped, 0);
    let (result, code) = summary(reader);
    assert_eq!(code, 0, "reader failed: {result}");
    let gone = result["gone"].as_str().unwrap_or_default();
    assert!(gone.contains("no heartbeat"), "{result}");
    writer.kill().expect("kill the stopped writer");
    let _ = writer.wait();
    shmproto::remove_stale(&namespace).expect("remove the frozen writer's segments");
}

#[test]
fn second_writer_is_refused_while_the_first_lives() {
    let namespace = unique_namespace("dup");
    let ns = namespace.as_str();
    let mut first = spawn_stress(&["write", "--namespace", ns, "--seconds", "30", "--fps", "30"]);
    wait_ready(&mut first);
    let error = Writer::create(WriterConfig::new(namespace.clone(), Geometry::default()))
        .err()
        .expect("second writer must be refused");
    match &error {
        CreateError::WriterAlive { pid, .. } => assert_eq!(*pid, first.id()),
        other => panic!("unexpected error: {other}"),
    }
    assert!(error.to_string().contains(&first.id().to_string()));

    let second = spawn_stress(&["write", "--namespace", ns, "--seconds", "1"]);
    let output = second.wait_with_output().expect("second writer exits");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("pid {}", first.id())), "{stderr}");

    first.kill().expect("kill first writer");
    let _ = first.wait();
    let removed = shmproto::remove_stale(&namespace).expect("dead writer's segments removable");
    assert_eq!(removed.len(), 3, "{removed:?}");
}
