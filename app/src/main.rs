//! `aaa`: the desktop viewer. Parses arguments, sets up logging, starts the app.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use app::app::{start_feeds, AaaApp, FallbackChoice, SmokeReport, SmokeTest};
use app::launcher::DaemonSettings;
use app::view::ViewMode;
use app::view3d::camera::{OrbitAngles, OrbitCamera};
use app::viewer::Viewer;
use clap::Parser;
use detect::{DetectorChoice, OpenOptions};
use shmproto::SourceKind;

/// Shows the colour and depth frames of the capture daemon (or of a webcam when no daemon runs).
#[derive(Parser, Debug)]
#[command(name = "aaa", version)]
struct Args {
    /// Namespace of the daemon's segments, to watch one of several cameras or test runs
    /// (default: $AAA_NAMESPACE, else the default segment names aaa_rgb_frame,
    /// aaa_depth_frame, aaa_metadata).
    #[arg(long)]
    namespace: Option<String>,
    /// Do not fall back to a webcam when no daemon runs.
    #[arg(long, conflicts_with = "synthetic")]
    no_webcam: bool,
    /// Fall back to the synthetic 3D scene rendered in the app instead of a webcam.
    #[arg(long)]
    synthetic: bool,
    /// Run for this many seconds, print what was received and displayed, and exit
    /// (0 if frames were displayed).
    #[arg(long, value_name = "SECONDS")]
    smoke_test: Option<f64>,
    /// With --smoke-test: save a PNG screenshot of the window before exiting.
    #[arg(long, value_name = "PATH", requires = "smoke_test")]
    screenshot: Option<PathBuf>,
    /// With --smoke-test: freeze the third frame shown, detect on it, and take the screenshot
    /// once its boxes are drawn (then exit; --smoke-test's seconds are the limit). Prints the
    /// boxes and the freeze-to-boxes time; fails without boxes.
    #[arg(long, requires = "smoke_test")]
    freeze_and_detect: bool,
    /// The detector: `depth` (the depth-only detector, no model; the default) or the path of
    /// an ONNX model (YOLOv8/YOLO11, end-to-end YOLO, RF-DETR).
    #[arg(long, value_name = "PATH|depth", default_value = "depth")]
    model: DetectorChoice,
    /// The ONNX Runtime library for model detectors (default: $AAA_ONNXRUNTIME, then the
    /// cache scripts/setup-onnxruntime.sh fills).
    #[arg(long, value_name = "PATH")]
    onnxruntime: Option<PathBuf>,
    /// Class names for the model, one per line, instead of the model's own.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// Folder the Save button writes frozen frames to.
    #[arg(long, value_name = "DIR", default_value = "aaa-captures")]
    save_folder: PathBuf,
    /// Start the capture daemon when none runs (as the "Start daemon" button does).
    #[arg(long)]
    start_daemon: bool,
    /// The source a daemon started by the app opens: realsense, webcam or synthetic.
    #[arg(long, default_value = "realsense", value_parser = str::parse::<SourceKind>)]
    daemon_source: SourceKind,
    /// The daemon's runtime directory: command socket, pid file, log (default:
    /// $AAA_RUNTIME_DIR, else where the daemon is found: your runtime directory or
    /// /run/aaa-camera-daemon).
    #[arg(long, value_name = "DIR")]
    runtime_dir: Option<PathBuf>,
    /// The view at launch: `2d` (colour and depth images) or `3d` (the depth as a point cloud).
    #[arg(long, value_name = "2d|3d", default_value = "2d")]
    view: ViewMode,
    /// The 3D view's camera at launch (and after Reset): yaw and pitch in degrees around a
    /// point 2 m in front of the camera; 0,0 looks out of the camera itself.
    #[arg(long, value_name = "YAW,PITCH", allow_hyphen_values = true)]
    orbit: Option<OrbitAngles>,
    /// Show a camera on another machine: connect to the Zenoh bridge at this endpoint
    /// (`tcp/HOST:PORT`, as `aaa-camera-daemon bridge --listen` gives it) instead of
    /// watching a local daemon. Needs the cargo feature `zenoh`.
    #[arg(long, value_name = "ENDPOINT", conflicts_with_all = ["synthetic", "start_daemon"])]
    remote: Option<String>,
    /// With --remote: the bridge's key prefix (default aaa/<this host>/<namespace>; a
    /// bridge on another host publishes under aaa/<its host>/<namespace>).
    #[arg(long, value_name = "PREFIX")]
    key: Option<String>,
    /// With --remote: a Zenoh configuration file (TLS, mTLS, access control); with it
    /// --remote may be left out (the file's connect endpoints are used).
    #[arg(long, value_name = "FILE")]
    zenoh_config: Option<PathBuf>,
    /// The daemon executable to start (default: aaa-camera-daemon next to this program, else on
    /// PATH).
    #[arg(long, value_name = "PATH")]
    daemon_binary: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(Args::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("aaa: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The remote camera's feed (`--remote`), in the daemon's place.
#[cfg(feature = "zenoh")]
fn start_remote(
    namespace: &shmproto::Namespace,
    endpoint: Option<String>,
    key: Option<String>,
    zenoh_config: Option<PathBuf>,
) -> anyhow::Result<app::supervisor::Supervisor> {
    use zenoh_bridge::{Endpoint, KeyPrefix, SessionSettings};
    let prefix = match key {
        Some(key) => key.parse()?,
        None => KeyPrefix::default_for(namespace)?,
    };
    let settings = SessionSettings {
        endpoint: endpoint.map(Endpoint::Connect),
        config_file: zenoh_config,
    };
    tracing::info!(
        "starting; remote camera {} key {prefix}",
        settings.describe()
    );
    Ok(app::app::start_remote_feed(&settings, &prefix)?)
}

#[cfg(not(feature = "zenoh"))]
fn start_remote(
    _namespace: &shmproto::Namespace,
    _endpoint: Option<String>,
    _key: Option<String>,
    _zenoh_config: Option<PathBuf>,
) -> anyhow::Result<app::supervisor::Supervisor> {
    anyhow::bail!(
        "this aaa was built without remote cameras (rebuild with `cargo build --release -p app --features zenoh`)"
    )
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let namespace = shmproto::Namespace::from_flag_or_env(args.namespace.as_deref())?;
    let fallback = if args.no_webcam {
        FallbackChoice::Nothing
    } else if args.synthetic {
        FallbackChoice::Synthetic
    } else {
        FallbackChoice::Webcam
    };
    let smoke_test = match args.smoke_test {
        Some(seconds) if seconds.is_finite() && seconds > 0.0 => Some(SmokeTest {
            duration: Duration::from_secs_f64(seconds),
            screenshot: args.screenshot,
            freeze_and_detect: args.freeze_and_detect,
        }),
        Some(seconds) => {
            anyhow::bail!("--smoke-test needs a positive number of seconds, got {seconds}")
        }
        None => None,
    };
    let remote = args.remote.is_some() || args.zenoh_config.is_some();
    if !remote && args.key.is_some() {
        anyhow::bail!("--key names a remote camera's key prefix: it needs --remote");
    }
    let daemon = DaemonSettings {
        namespace: namespace.clone(),
        runtime_dir: shmproto::runtime_dir::explicit_runtime_dir(args.runtime_dir.as_deref()),
        source: args.daemon_source,
        binary: args.daemon_binary,
    };
    let supervisor = if remote {
        start_remote(&namespace, args.remote, args.key, args.zenoh_config)?
    } else {
        tracing::info!("starting; daemon namespace {namespace}");
        start_feeds(namespace, fallback).context("cannot start the source threads")?
    };
    let detector_options = OpenOptions {
        onnxruntime: args.onnxruntime,
        labels: args.labels,
        // The viewer may use every core for a frozen frame's detection: it waits for nothing.
        threads: None,
    };
    let mut viewer = Viewer::new(supervisor, args.save_folder);
    if !remote {
        // A remote camera's daemon is started and driven on its own machine.
        viewer = viewer.with_daemon(daemon, args.start_daemon);
    }
    let viewer = viewer
        .with_detector(args.model, detector_options)
        .with_view(
            args.view,
            args.orbit
                .map_or_else(OrbitCamera::default, OrbitCamera::with_angles),
        );
    let report = Arc::new(Mutex::new(SmokeReport::default()));
    let app = AaaApp::new(viewer, smoke_test.clone(), Arc::clone(&report));

    let mut viewport = egui::ViewportBuilder::default()
        .with_title("aaa")
        .with_inner_size([1320.0, 640.0]);
    match app::icon::window_icon() {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(err) => tracing::warn!("the embedded icon does not decode ({err}); no window icon"),
    }
    let options = eframe::NativeOptions {
        viewport,
        // The 3D view's points and lines hide one another by depth.
        depth_buffer: 24,
        ..Default::default()
    };
    // The app name is also the window's app id (Wayland) and class (X11), which the desktop
    // entry assets/aaa.desktop matches: desktops show its icon for the window.
    eframe::run_native("aaa", options, Box::new(|_creation| Ok(Box::new(app))))
        .map_err(|err| anyhow::anyhow!("the window failed: {err}"))?;

    let Some(smoke_test) = smoke_test else {
        return Ok(ExitCode::SUCCESS);
    };
    let report = report
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    let screenshot = match &report.screenshot {
        None => "none".to_owned(),
        Some(Ok(path)) => path.display().to_string(),
        Some(Err(error)) => format!("failed: {error}"),
    };
    let summary = format!(
        "smoke test: source={} frames_received={} frames_displayed={} screenshot={screenshot}",
        report.source, report.counts.received, report.counts.displayed
    );
    tracing::info!("{summary}");
    println!("{summary}");
    if let Some(view3d) = &report.view3d {
        // One line of JSON, for scripts and the 3D screenshot tests.
        let line = serde_json::to_string(view3d).context("cannot encode the 3D view report")?;
        println!("smoke test 3d: {line}");
    }
    let mut detection_ok = true;
    if smoke_test.freeze_and_detect {
        match &report.detection {
            Some(detection) => {
                // One line of JSON, for scripts and the screenshot test.
                let line = serde_json::to_string(detection)
                    .context("cannot encode the detection report")?;
                println!("smoke test detection: {line}");
                detection_ok = !detection.boxes_px.is_empty();
            }
            None => {
                println!("smoke test detection: none (no boxes were drawn in time)");
                detection_ok = false;
            }
        }
    }
    let screenshot_ok = !matches!(report.screenshot, Some(Err(_)));
    Ok(
        if report.counts.displayed > 0 && screenshot_ok && detection_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
