//! End-to-end: live detection in the real daemon → the `aaa_detections` segment → `watch
//! --detections`, with the synthetic scene's ground truth as the reference.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{fixture, json, sigterm, stderr, stdout, Fixture};
use test_support::daemon::{DaemonGuard, WITHIN};

/// `ctl detect status --json`.
fn detection_status(fixture: &Fixture) -> serde_json::Value {
    json(&fixture.ctl(&["detect", "status", "--json"]))
}

/// Waits until the detection status satisfies `done`; panics with the last status otherwise.
fn wait_detection(
    fixture: &Fixture,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + WITHIN;
    loop {
        let status = detection_status(fixture);
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "detection never got there: {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `watch --detections --frames N --jsonl`: the result lines and the summary (last line).
fn watch_results(fixture: &Fixture, results: u32) -> (Vec<serde_json::Value>, serde_json::Value) {
    let output = fixture.output(&[
        "watch",
        "--detections",
        "--frames",
        &results.to_string(),
        "--jsonl",
    ]);
    assert!(
        output.status.success(),
        "watch --detections: {}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let mut lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let summary = lines.pop().expect("a summary line");
    (lines, summary)
}

/// The nice value of the daemon's `detection` thread (Linux: /proc).
fn detection_thread_niceness(pid: u32) -> i64 {
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc") {
        let task = task.expect("a task").path();
        let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
        if comm.trim() == "detection" {
            let stat = std::fs::read_to_string(task.join("stat")).expect("stat");
            // Fields after the parenthesised name; nice is the 19th field of the whole line.
            let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            return after_name
                .split_whitespace()
                .nth(16)
                .expect("nice")
                .parse()
                .expect("a number");
        }
    }
    panic!("no detection thread in process {pid}");
}

fn frames_flow(fixture: &Fixture) {
    let watch = fixture.output(&["watch", "--frames", "5", "--json"]);
    assert!(watch.status.success(), "frames stopped: {}", stdout(&watch));
}

fn as_vec3(value: &serde_json::Value) -> [f64; 3] {
    let mut out = [0.0; 3];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = value[i].as_f64().expect("a number");
    }
    out
}

#[test]
fn depth_detection_publishes_results_that_match_the_ground_truth() {
    let fixture = fixture("detd");
    let daemon = fixture.spawn_synthetic(&["--detect", "depth"]);
    let guard = DaemonGuard::spawned(daemon);
    let (results, summary) = watch_results(&fixture, 12);
    // Detection yields to capturing and publishing on a busy machine.
    assert!(detection_thread_niceness(guard.pid()) >= 10);
    assert_eq!(results.len(), 12, "{summary}");
    assert_eq!(summary["detection_results"], 12, "{summary}");
    assert!(
        summary["inference_ms_p50"].as_f64().unwrap() > 0.0,
        "{summary}"
    );
    assert!(
        summary["results_with_ground_truth"].as_u64().unwrap() > 0,
        "{summary}"
    );

    let mut checked = 0;
    for result in &results {
        assert_eq!(result["detector"]["format"], "depth", "{result}");
        assert!(result["frame_number"].as_u64().unwrap() > 0);
        let Some(truth) = result["ground_truth"].as_array() else {
            continue;
        };
        let detections = result["detections"].as_array().expect("detections");
        assert!(!detections.is_empty(), "the scene has objects: {result}");
        // Every detection is one of the scene's objects: a true centre lies inside its 3D
        // extent grown by 5 cm (the camera sees only the front of an object).
        for detection in detections {
            let extent = &detection["position"]["extent_m"];
            let (low, high) = (as_vec3(&extent[0]), as_vec3(&extent[1]));
            let inside = truth.iter().any(|object| {
                let centre = as_vec3(&object["center_m"]);
                (0..3).all(|axis| {
                    centre[axis] >= low[axis] - 0.05 && centre[axis] <= high[axis] + 0.05
                })
            });
            assert!(
                inside,
                "detection {detection} matches no object of {truth:?}"
            );
        }
        checked += 1;
    }
    assert!(checked > 0, "no result carried ground truth");
    frames_flow(&fixture);
}

#[test]
fn a_bad_model_fails_detection_clearly_while_frames_keep_flowing() {
    let fixture = fixture("detbad");
    let model = fixture.runtime_dir.path().join("garbage.onnx");
    std::fs::write(&model, b"this is not an ONNX model").unwrap();
    let daemon = fixture.spawn_synthetic(&["--detect", model.to_str().unwrap()]);
    let _guard = DaemonGuard::spawned(daemon);
    let status = wait_detection(&fixture, |status| status["state"] == "failed");
    let error = status["error"].as_str().unwrap_or_default();
    assert!(error.contains("garbage.onnx"), "{status}");
    frames_flow(&fixture);
    // The writer status says so too (what `status` and the app show).
    let daemon_status = json(&fixture.output(&["status", "--json"]));
    assert!(
        daemon_status.to_string().contains("garbage.onnx"),
        "{daemon_status}"
    );

    // Another detector from a client replaces it.
    let chosen = json(&fixture.ctl(&["detect", "model", "depth", "--json"]));
    assert_eq!(chosen["detector"], "depth", "{chosen}");
    wait_detection(&fixture, |status| status["state"] == "running");
    let (results, _) = watch_results(&fixture, 3);
    assert_eq!(results.len(), 3);
}

#[test]
fn a_missing_onnx_runtime_is_named_with_its_setup_command() {
    let fixture = fixture("detort");
    let model = fixture.runtime_dir.path().join("model.onnx");
    std::fs::write(&model, b"not read: the runtime is missing first").unwrap();
    let daemon = fixture.spawn_synthetic(&[
        "--detect",
        model.to_str().unwrap(),
        "--onnxruntime",
        "/nonexistent/libonnxruntime.so.1.22.0",
    ]);
    let _guard = DaemonGuard::spawned(daemon);
    let status = wait_detection(&fixture, |status| status["state"] == "failed");
    let error = status["error"].as_str().unwrap_or_default();
    assert!(error.contains("setup-onnxruntime.sh"), "{status}");
    frames_flow(&fixture);
}

#[test]
fn detection_turns_on_and_off_by_command_and_refuses_bad_settings() {
    let fixture = fixture("detctl");
    let daemon = fixture.spawn_synthetic(&[]);
    let _guard = DaemonGuard::spawned(daemon);
    assert_eq!(detection_status(&fixture)["state"], "off");
    // No detections segment until detection is turned on.
    let watch = fixture.output(&["watch", "--detections", "--seconds", "5", "--json"]);
    assert!(!watch.status.success());
    assert!(
        stdout(&watch).contains("ctl detect on"),
        "{}",
        stdout(&watch)
    );

    let on = json(&fixture.ctl(&["detect", "on", "--json"]));
    assert_ne!(on["state"], "off", "{on}");
    let (results, _) = watch_results(&fixture, 2);
    assert_eq!(results.len(), 2);

    let threshold = json(&fixture.ctl(&["detect", "threshold", "0.9", "--json"]));
    let score_threshold = threshold["score_threshold"].as_f64().unwrap();
    assert!((score_threshold - 0.9).abs() < 1e-6, "{threshold}");
    let refused = fixture.output(&["ctl", "detect", "threshold", "1.5"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("outside 0..=1"),
        "{}",
        stderr(&refused)
    );
    // Model files are checked by the detection thread (the command never waits on a file
    // system): a bad one turns detection to `failed` with the reason.
    for (model, reason) in [
        ("/nonexistent/model.onnx", "/nonexistent/model.onnx"),
        ("/dev/zero", "not a regular file"),
        ("/proc/self/status", "kernel"),
    ] {
        fixture.ctl(&["detect", "model", model]);
        let status = wait_detection(&fixture, |status| status["state"] == "failed");
        let error = status["error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{model}: {status}");
        frames_flow(&fixture);
    }
    // A daemon running as root reads a client's model only when it belongs to the user it
    // serves (none here), or to root and everyone may read it.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let foreign = fixture.runtime_dir.path().join("foreign.onnx");
        std::fs::write(&foreign, b"another user's file").unwrap();
        std::os::unix::fs::chown(&foreign, Some(12345), Some(12345)).unwrap();
        let private = fixture.runtime_dir.path().join("private.onnx");
        std::fs::write(&private, b"root's private file").unwrap();
        std::fs::set_permissions(
            &private,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        for (model, reason) in [
            (&foreign, "belongs to uid 12345"),
            (&private, "belongs to uid 0"),
        ] {
            fixture.ctl(&["detect", "model", model.to_str().unwrap()]);
            let status = wait_detection(&fixture, |status| status["state"] == "failed");
            let error = status["error"].as_str().unwrap_or_default();
            assert!(error.contains(reason), "{}: {status}", model.display());
        }
    }
    fixture.ctl(&["detect", "model", "depth"]);
    wait_detection(&fixture, |status| status["state"] == "running");

    let off = json(&fixture.ctl(&["detect", "off", "--json"]));
    assert_eq!(off["state"], "off", "{off}");
    let published = off["results_published"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let later = detection_status(&fixture)["results_published"]
        .as_u64()
        .unwrap();
    assert!(
        later <= published + 1,
        "results kept coming after off: {published} -> {later}"
    );
    frames_flow(&fixture);
}

#[test]
fn stopping_the_daemon_while_it_detects_leaves_nothing_behind() {
    let fixture = fixture("detstop");
    let mut daemon = fixture.spawn_synthetic(&["--detect", "depth"]);
    let (results, _) = watch_results(&fixture, 2);
    assert_eq!(results.len(), 2);
    let segment = Path::new("/dev/shm").join(fixture.namespace.detections_segment());
    assert!(segment.exists());
    sigterm(&daemon);
    let status = daemon.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        !segment.exists(),
        "the detections segment outlived the daemon"
    );
    assert!(fixture.segments_in_dev_shm().is_empty());

    // Killed: `cleanup` removes the detections segment with the rest.
    let daemon = fixture.spawn_synthetic(&["--detect", "depth"]);
    let guard = DaemonGuard::spawned(daemon);
    watch_results(&fixture, 1);
    guard.signal(libc::SIGKILL);
    drop(guard);
    let cleanup = fixture.output(&["cleanup"]);
    assert!(cleanup.status.success(), "{}", stderr(&cleanup));
    assert!(!segment.exists(), "cleanup left {}", segment.display());
}

/// The test models of the `detect` crate (`detect/tests/make_models.py`, written with the PyPI
/// `onnx` package that `scripts/setup-onnxruntime.sh --test` installs), in `dir`.
fn make_models(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../detect/tests/make_models.py");
    let cache = detect::onnx::library_cache_dir().expect("a cache directory");
    let output = std::process::Command::new("python3")
        .arg(&script)
        .arg(dir)
        .env("PYTHONPATH", detect::onnx::test_python_dir(&cache))
        .output()
        .expect("python3");
    assert!(
        output.status.success(),
        "{}: {}\nrun {} --test",
        script.display(),
        String::from_utf8_lossy(&output.stderr),
        detect::onnx::SETUP_SCRIPT
    );
}

#[test]
fn an_onnx_model_detects_the_live_frames_through_the_real_runtime() {
    // Fails with the setup command when ONNX Runtime is missing: CI installs it.
    let library = detect::onnx::find_library(None)
        .unwrap_or_else(|error| panic!("{error}: run {} --test", detect::onnx::SETUP_SCRIPT));
    let fixture = fixture("detonnx");
    make_models(fixture.runtime_dir.path());
    let model = fixture.runtime_dir.path().join("yolo.onnx");
    let daemon = fixture.spawn_synthetic(&[
        "--detect",
        model.to_str().unwrap(),
        "--onnxruntime",
        library.to_str().unwrap(),
    ]);
    let _guard = DaemonGuard::spawned(daemon);
    let (results, _) = watch_results(&fixture, 5);
    let status = detection_status(&fixture);
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["detector_info"]["format"], "yolo", "{status}");
    // The test model calls reddish 32x32 cells "rock 'n' roll" (its class 0): the scene's red
    // sphere must be found where the ground truth puts it, at a distance from the depth.
    let mut found = 0;
    for result in &results {
        assert_eq!(result["detector"]["model"], "yolo.onnx", "{result}");
        let Some(truth) = result["ground_truth"].as_array() else {
            continue;
        };
        let Some(red) = truth.iter().find(|object| object["name"] == "red sphere") else {
            continue;
        };
        let centre = as_vec3(&red["center_m"]);
        let detections = result["detections"].as_array().expect("detections");
        let near = detections.iter().any(|detection| {
            let point = &detection["position"]["point_m"];
            detection["label"] == "rock 'n' roll"
                && point.is_array()
                && (0..3).all(|axis| (as_vec3(point)[axis] - centre[axis]).abs() < 0.5)
        });
        assert!(
            near,
            "no red cell detected near the red sphere {red}: {detections:?}"
        );
        found += 1;
    }
    assert!(found > 0, "no result carried the red sphere's ground truth");
}
