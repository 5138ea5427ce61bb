//! `aaa-camera-daemon`: parses the command line, sets up logging, and runs a command.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use camera_sources::choice::SourceChoice;
use camera_sources::realsense::{RealsenseConfig, RealsenseInput};
use camera_sources::recording::RecordingConfig;
use camera_sources::synthetic::SyntheticConfig;
use camera_sources::webcam::WebcamConfig;
use capture_daemon::daemon::{self, DaemonConfig};
use capture_daemon::detection::DetectionConfig;
use capture_daemon::runtime;
use capture_daemon::watch::WatchLimit;
use capture_daemon::{
    bridge, cleanup, ctl, record, status, stop, watch, watch_detections, watch_remote,
};
use clap::{Args, Parser, Subcommand};
use detect::{DetectSettings, DetectorChoice, OpenOptions};
use shmproto::{Namespace, SegmentOwner, SourceKind, MAX_DIMENSION_PX};

/// The camera owner: publishes colour and depth frames into shared memory for desktop apps.
#[derive(Debug, Parser)]
#[command(name = "aaa-camera-daemon", version)]
struct Cli {
    /// Separate segments and files for this camera or test run (default: the segment names
    /// aaa_rgb_frame, aaa_depth_frame, aaa_metadata).
    #[arg(long, global = true, env = "AAA_NAMESPACE", value_parser = parse_namespace)]
    namespace: Option<Namespace>,
    /// Directory of the pid file and command socket; only you (or root) may write it. Default:
    /// /run/aaa-camera-daemon for root, else $XDG_RUNTIME_DIR/aaa-camera-daemon (clients also
    /// look in /run/aaa-camera-daemon).
    #[arg(long, global = true, env = runtime::RUNTIME_DIR_ENV)]
    runtime_dir: Option<PathBuf>,
    /// Also append the log to this file (RUST_LOG sets the level; default info for `run`).
    #[arg(long, global = true)]
    log_file: Option<PathBuf>,
    /// What to do; `run` with its defaults when omitted.
    #[command(subcommand)]
    command: Option<Command>,
}

/// `run`'s defaults, for when no command is given.
#[derive(Debug, Parser)]
struct DefaultRun {
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Own the camera and publish its frames (the default command).
    Run(RunArgs),
    /// Whether a daemon runs in the namespace, and how it is doing. No root needed.
    /// Exit status 0 running, 1 stale (dead daemon's leftovers), 3 not running.
    Status {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// Only the running daemon's pid (nothing when none runs); the exit status as above.
        #[arg(long, conflicts_with = "json")]
        pid: bool,
    },
    /// Remove segments and pid file left by a dead daemon; refuses while one is alive.
    Cleanup,
    /// Stop the running daemon: SIGTERM, SIGKILL after --timeout seconds, then remove what a
    /// killed daemon left behind. A daemon of another user (root) needs sudo.
    Stop {
        /// Seconds between SIGTERM and SIGKILL.
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
    },
    /// Whether the source needs root to reach its device here: prints why and exits 0 when it
    /// does, exits 1 when it does not.
    NeedsRoot {
        /// realsense, webcam or synthetic.
        #[arg(long, value_parser = str::parse::<SourceKind>)]
        source: SourceKind,
    },
    /// Send a command to the running daemon: list/get/set controls, pause, resume, mode, metrics.
    Ctl {
        #[command(subcommand)]
        action: CtlAction,
        /// Print the daemon's JSON answer.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Where the namespace's files are, as KEY=VALUE lines for scripts: runtime_dir, pid_file,
    /// socket, log (where `make daemon-start` and the app write the daemon's output).
    Paths,
    /// Record the daemon's frames into an MCAP file (ROS 2 messages: colour, depth, camera
    /// info, metadata, detections) that Foxglove, Lichtblick, rerun and `ros2 bag` open.
    /// No root needed; SIGINT/SIGTERM finish the file. Follows mode changes and restarts.
    Record(RecordArgs),
    /// Read frames like a client: fps, latency, gaps, stamp verification of synthetic frames.
    /// Exit status non-zero when the daemon is missing or gone, or frames fail verification.
    Watch(WatchArgs),
    /// Publish the namespace's frames on Zenoh for remote viewers, Python and ROS 2 tools (an
    /// unprivileged reader of the segments; publishes only while someone subscribes). Listens
    /// on tcp/127.0.0.1:7447 (this host only) unless told otherwise: see docs/operations.md
    /// before exposing a camera to a network.
    Bridge(BridgeArgs),
}

#[derive(Debug, Clone, Args)]
struct BridgeArgs {
    /// Accept connections on this Zenoh endpoint (default tcp/127.0.0.1:7447).
    #[arg(long, value_name = "ENDPOINT", conflicts_with = "connect")]
    listen: Option<String>,
    /// Connect to this Zenoh endpoint (a router, or a subscriber that listens) instead.
    #[arg(long, value_name = "ENDPOINT")]
    connect: Option<String>,
    /// Key prefix of the messages (default aaa/<host>/<namespace>).
    #[arg(long, value_name = "PREFIX")]
    key: Option<String>,
    /// How depth is sent: rvl (lossless, ROS compressedDepth), zstd (lossless, ROS
    /// zstd_image_transport) or none (raw 16UC1 Image).
    #[arg(long, value_name = "CODEC", default_value = "rvl")]
    depth_codec: String,
    /// A Zenoh configuration file (JSON5): TLS, mTLS, access control, other endpoints.
    #[arg(long, value_name = "FILE")]
    zenoh_config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum CtlAction {
    /// The source's controls with ranges, defaults and values.
    List,
    /// One control.
    Get { name: String },
    /// Set a control (toggles take 0 or 1).
    Set {
        name: String,
        #[arg(allow_negative_numbers = true)]
        value: f64,
    },
    /// Stop publishing frames (the camera keeps running).
    Pause,
    /// Publish frames again.
    Resume,
    /// Reopen the source at another resolution and frame rate.
    Mode { width: u32, height: u32, fps: f32 },
    /// Frame rate, counts, timings, CPU and memory of the daemon.
    Metrics,
    /// Check the command channel.
    Ping,
    /// Live detection: on, off, which detector, its score threshold, or its status.
    Detect {
        #[command(subcommand)]
        action: DetectAction,
    },
}

#[derive(Debug, Subcommand)]
enum DetectAction {
    /// Detect the newest frames (with the detector chosen last, the depth-only one by default).
    On,
    /// Stop detecting (the detections segment stays, with no new results).
    Off,
    /// Detect with this detector: `depth`, or an ONNX model file (on the daemon's machine).
    Model { detector: String },
    /// Keep detections scoring at least this (0..=1).
    Threshold { value: f32 },
    /// What detection is doing.
    Status,
}

impl CtlAction {
    fn command(self) -> shmproto::control::Command {
        use shmproto::control::Command;
        match self {
            CtlAction::List => Command::ListControls,
            CtlAction::Get { name } => Command::GetControl { name },
            CtlAction::Set { name, value } => Command::SetControl { name, value },
            CtlAction::Pause => Command::Pause,
            CtlAction::Resume => Command::Resume,
            CtlAction::Mode { width, height, fps } => Command::SetMode { width, height, fps },
            CtlAction::Metrics => Command::Metrics,
            CtlAction::Ping => Command::Ping,
            CtlAction::Detect { action } => {
                let (enabled, detector, score_threshold) = match action {
                    DetectAction::On => (Some(true), None, None),
                    DetectAction::Off => (Some(false), None, None),
                    DetectAction::Model { detector } => (None, Some(detector), None),
                    DetectAction::Threshold { value } => (None, None, Some(value)),
                    DetectAction::Status => (None, None, None),
                };
                Command::Detect {
                    enabled,
                    detector,
                    score_threshold,
                }
            }
        }
    }

    /// Makes a model path absolute: the daemon does not share the client's directory.
    fn resolve_paths(mut self) -> anyhow::Result<Self> {
        if let CtlAction::Detect {
            action: DetectAction::Model { detector },
        } = &mut self
        {
            if let Ok(DetectorChoice::Model(path)) = detector.parse::<DetectorChoice>() {
                let absolute = std::path::absolute(&path)
                    .with_context(|| format!("cannot resolve {}", path.display()))?;
                *detector = absolute.display().to_string();
            }
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// Where frames come from: realsense (an Intel RealSense camera, or a recording with
    /// --recording), webcam (a USB webcam, colour only), synthetic (a moving 3D scene
    /// rendered with depth; no hardware) or recording (the file --recording names).
    #[arg(long, default_value = "realsense", value_parser = parse_source)]
    source: SourceArg,
    /// Play this recording instead of a camera: an MCAP file (what `record` writes, or any
    /// MCAP with sensor_msgs/msg/Image rgb8/bgr8 and 16UC1/32FC1 channels), or a RealSense
    /// .bag/.db3 (played by librealsense). Told apart by content.
    #[arg(long)]
    recording: Option<PathBuf>,
    /// Start the recording again when it ends.
    #[arg(long = "loop", requires = "recording")]
    loop_recording: bool,
    /// Play the recording this many times faster than it was recorded (MCAP recordings).
    #[arg(long, default_value_t = 1.0, requires = "recording", value_parser = parse_rate)]
    rate: f64,
    /// The MCAP recording's colour image topic, when it has several image topics.
    #[arg(long, requires = "recording")]
    color_topic: Option<String>,
    /// The MCAP recording's depth image topic, when it has several.
    #[arg(long, requires = "recording")]
    depth_topic: Option<String>,
    /// Frame width in pixels.
    #[arg(long, default_value_t = 640, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DIMENSION_PX)))]
    width: u32,
    /// Frame height in pixels.
    #[arg(long, default_value_t = 480, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DIMENSION_PX)))]
    height: u32,
    /// Frames per second; 0 = as fast as possible (synthetic only).
    #[arg(long, default_value_t = 30.0, value_parser = parse_fps)]
    fps: f32,
    /// RealSense serial number or device index; webcam index.
    #[arg(long)]
    device: Option<String>,
    /// Give segments and files to UID:GID (default: the sudo user when run through sudo).
    #[arg(long, value_parser = runtime::parse_owner)]
    owner: Option<SegmentOwner>,
    /// Detect objects in the newest frames and publish them (segment aaa_detections):
    /// `depth` (no model: what stands out of the floor or table) or an ONNX model (YOLOv8,
    /// YOLO11, end-to-end YOLO, RF-DETR). Also `ctl detect on|off|model|threshold`.
    #[arg(long, value_name = "MODEL.onnx|depth", value_parser = str::parse::<DetectorChoice>)]
    detect: Option<DetectorChoice>,
    /// Keep detections scoring at least this (0..=1).
    #[arg(long, default_value_t = DetectSettings::default().score_threshold, value_parser = parse_score_threshold)]
    detect_threshold: f32,
    /// The ONNX Runtime library (libonnxruntime.so.1.x / .dylib); default: $AAA_ONNXRUNTIME,
    /// then what scripts/setup-onnxruntime.sh installed.
    #[arg(long, value_name = "PATH")]
    onnxruntime: Option<PathBuf>,
    /// Class names for the model, one per line, instead of its own.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct RecordArgs {
    /// The MCAP file to write (replaced if it exists).
    #[arg(long, value_name = "FILE.mcap")]
    output: PathBuf,
    /// Stop after this many seconds.
    #[arg(long)]
    seconds: Option<f64>,
    /// Stop after this many frames.
    #[arg(long)]
    frames: Option<u64>,
    /// How chunks are compressed.
    #[arg(long, value_enum, default_value_t = record::RecordCompression::Lz4)]
    compression: record::RecordCompression,
    /// One JSON object at the end instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Args)]
struct WatchArgs {
    /// Stop after this many frames (with --detections: results).
    #[arg(long, conflicts_with = "seconds")]
    frames: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    seconds: Option<f64>,
    /// One JSON object at the end instead of text.
    #[arg(long)]
    json: bool,
    /// Read the daemon's detection results instead of its frames (counts, inference times,
    /// how many frames behind the results are).
    #[arg(long)]
    detections: bool,
    /// With --detections: one JSON line per result (with the frame's ground truth when the
    /// frame carried one) as they arrive, then the summary line.
    #[arg(long, requires = "detections", conflicts_with = "json")]
    jsonl: bool,
    /// Read each frame where it lies in shared memory instead of copying it out whole: the
    /// latency is then publish to frame usable, and verification copies only the stamp rows.
    #[arg(long, conflicts_with = "detections")]
    in_place: bool,
    /// Watch frames from a bridge over Zenoh instead of shared memory: connect to this
    /// endpoint (tcp/HOST:PORT). The latency is then capture to receipt.
    #[arg(long, value_name = "ENDPOINT", conflicts_with_all = ["detections", "in_place"])]
    remote: Option<String>,
    /// With --remote: the key prefix (default aaa/<this host>/<namespace>).
    #[arg(long, value_name = "PREFIX")]
    key: Option<String>,
    /// With --remote: a Zenoh configuration file (TLS, mTLS, ...); with it --remote may be
    /// left out.
    #[arg(long, value_name = "FILE")]
    zenoh_config: Option<PathBuf>,
    /// With --remote: pause this long after each frame, as a slow consumer would.
    #[arg(long, value_name = "MS")]
    slow_ms: Option<u64>,
}

/// What `--source` names: a kind of camera, or a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceArg {
    Kind(SourceKind),
    Recording,
}

fn parse_source(text: &str) -> Result<SourceArg, String> {
    if text == "recording" {
        return Ok(SourceArg::Recording);
    }
    text.parse::<SourceKind>()
        .map(SourceArg::Kind)
        .map_err(|error| format!("{error}, recording"))
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 && rate <= 1000.0 => Ok(rate),
        _ => Err(format!("{text:?} is not a rate between 0 and 1000")),
    }
}

fn parse_namespace(text: &str) -> Result<Namespace, String> {
    Namespace::new(text).map_err(|error| error.to_string())
}

fn parse_score_threshold(text: &str) -> Result<f32, String> {
    let value: f32 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    DetectSettings::check_score_threshold(value)
}

fn parse_fps(text: &str) -> Result<f32, String> {
    let fps: f32 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1000.0).contains(&fps) {
        Ok(fps)
    } else {
        Err(format!("{fps} is outside 0..=1000"))
    }
}

impl RunArgs {
    fn detection(&self) -> DetectionConfig {
        DetectionConfig {
            enabled: self.detect.is_some(),
            choice: self.detect.clone().unwrap_or(DetectorChoice::Depth),
            options: OpenOptions {
                onnxruntime: self.onnxruntime.clone(),
                labels: self.labels.clone(),
                // One core stays free for capturing and publishing (and the readers).
                threads: Some(
                    std::thread::available_parallelism()
                        .map_or(1, |cores| cores.get().saturating_sub(1).max(1)),
                ),
            },
            score_threshold: self.detect_threshold,
        }
    }

    fn source_choice(&self) -> anyhow::Result<SourceChoice> {
        let whole_fps = || -> anyhow::Result<u32> {
            if self.fps < 1.0 || self.fps.fract() != 0.0 {
                anyhow::bail!(
                    "--fps must be a whole number of at least 1 for cameras, got {}",
                    self.fps
                );
            }
            Ok(self.fps as u32)
        };
        let mcap_recording = match &self.recording {
            Some(path) => camera_sources::recording::is_mcap_file(path)
                .with_context(|| format!("cannot read recording {}", path.display()))?,
            None => false,
        };
        let recording_choice = |path: &PathBuf| {
            SourceChoice::Recording(RecordingConfig {
                path: path.clone(),
                loop_playback: self.loop_recording,
                rate: self.rate,
                color_topic: self.color_topic.clone(),
                depth_topic: self.depth_topic.clone(),
            })
        };
        let kind = match self.source {
            SourceArg::Kind(kind) => kind,
            SourceArg::Recording => match &self.recording {
                None => anyhow::bail!("--source recording needs --recording FILE"),
                Some(path) if mcap_recording => return Ok(recording_choice(path)),
                // .bag and .db3: RealSense recordings, played by librealsense.
                Some(path)
                    if path
                        .extension()
                        .is_some_and(|extension| extension == "bag" || extension == "db3") =>
                {
                    SourceKind::Realsense
                }
                Some(path) => anyhow::bail!(
                    "recording {} is neither an MCAP file nor a RealSense recording (.bag, .db3)",
                    path.display()
                ),
            },
        };
        if self.rate != 1.0 && !mcap_recording {
            anyhow::bail!("--rate applies to MCAP recordings only");
        }
        Ok(match kind {
            SourceKind::Realsense if mcap_recording => match &self.recording {
                Some(path) => recording_choice(path),
                None => anyhow::bail!("--recording is missing"),
            },
            SourceKind::Synthetic => {
                if self.recording.is_some() || self.device.is_some() {
                    anyhow::bail!("--recording and --device do not apply to the synthetic source");
                }
                SourceChoice::Synthetic(SyntheticConfig {
                    width: self.width,
                    height: self.height,
                    fps: self.fps,
                    ..SyntheticConfig::default()
                })
            }
            SourceKind::Realsense => {
                let input = match (&self.recording, &self.device) {
                    (Some(_), Some(_)) => {
                        anyhow::bail!("give either --recording or --device, not both")
                    }
                    (Some(path), None) => RealsenseInput::Recording(path.clone()),
                    // Serial numbers are long; a short number is an index.
                    (None, Some(device))
                        if device.len() <= 3 && device.parse::<usize>().is_ok() =>
                    {
                        RealsenseInput::Index(device.parse().unwrap_or_default())
                    }
                    (None, Some(serial)) => RealsenseInput::Serial(serial.clone()),
                    (None, None) => RealsenseInput::FirstDevice,
                };
                SourceChoice::Realsense(RealsenseConfig {
                    input,
                    width: self.width,
                    height: self.height,
                    fps: whole_fps()?,
                    loop_playback: self.loop_recording,
                    ..RealsenseConfig::default()
                })
            }
            // The parser accepts only the selectable kinds.
            SourceKind::Other => anyhow::bail!("--source: choose realsense, webcam or synthetic"),
            SourceKind::Webcam => {
                if self.recording.is_some() {
                    anyhow::bail!("--recording applies to the realsense source only");
                }
                let index = match &self.device {
                    None => 0,
                    Some(device) => device
                        .parse()
                        .with_context(|| format!("--device {device:?} is not a webcam index"))?,
                };
                SourceChoice::Webcam(WebcamConfig {
                    index,
                    width: self.width,
                    height: self.height,
                    fps: whole_fps()?,
                })
            }
        })
    }
}

fn init_logging(
    log_file: Option<&PathBuf>,
    owner: Option<SegmentOwner>,
    default_level: &str,
) -> anyhow::Result<()> {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match log_file {
        Some(path) => {
            let file = runtime::open_log(path, owner)?;
            builder
                .with_ansi(false)
                .with_writer(std::io::stderr.and(std::sync::Mutex::new(file)))
                .init();
        }
        None => {
            use std::io::IsTerminal;
            builder
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr)
                .init()
        }
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let namespace = cli.namespace.clone().unwrap_or_default();
    // Where clients look for the daemon (`run` decides its own directory below).
    let runtime_dir = runtime::find_runtime_dir(cli.runtime_dir.as_deref(), &namespace);
    match cli.command {
        None | Some(Command::Run(_)) => {
            let args = match cli.command {
                Some(Command::Run(args)) => args,
                _ => DefaultRun::parse_from(["aaa-camera-daemon"]).run,
            };
            let owner = runtime::file_owner(args.owner);
            init_logging(cli.log_file.as_ref(), owner, "info")?;
            let source = args.source_choice()?;
            source.validate()?;
            daemon::run(DaemonConfig {
                namespace,
                source,
                runtime_dir: runtime::daemon_runtime_dir(cli.runtime_dir.as_deref()),
                owner,
                detection: args.detection(),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Status { json, pid }) => {
            init_logging(cli.log_file.as_ref(), None, "warn")?;
            let report = status::gather(&namespace, &runtime_dir);
            if pid {
                if let (true, Some(pid)) = (report.running, report.pid_file_pid.or(report.pid)) {
                    println!("{pid}");
                }
            } else if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", status::render(&report));
            }
            Ok(ExitCode::from(report.exit_code()))
        }
        Some(Command::Paths) => {
            let paths = runtime::RuntimePaths::new(&runtime_dir, &namespace);
            let explicit = runtime::explicit_runtime_dir(cli.runtime_dir.as_deref());
            println!("runtime_dir={}", paths.dir.display());
            println!("pid_file={}", paths.pid_file.display());
            println!("socket={}", paths.socket.display());
            println!(
                "log={}",
                runtime::log_file(explicit.as_deref(), &namespace).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Stop { timeout }) => {
            init_logging(cli.log_file.as_ref(), None, "warn")?;
            if !(timeout.is_finite() && timeout >= 0.0) {
                anyhow::bail!("--timeout must be a number of seconds, got {timeout}");
            }
            let stopped = stop::stop(
                &namespace,
                &runtime_dir,
                Duration::from_secs_f64(timeout),
                |line| println!("{line}"),
            )?;
            let removed = match stopped {
                stop::Stopped::NotRunning { removed } => {
                    println!("camera daemon not running (namespace {namespace})");
                    removed
                }
                stop::Stopped::Terminated { removed, .. } => {
                    println!("daemon stopped");
                    removed
                }
                stop::Stopped::Killed { removed, .. } => {
                    println!("daemon killed");
                    removed
                }
            };
            for name in removed {
                println!("removed {name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::NeedsRoot { source }) => {
            let platform = camera_sources::access::Platform::current();
            Ok(
                match camera_sources::access::root_reason(source, &platform) {
                    Some(reason) => {
                        println!("{reason}");
                        ExitCode::SUCCESS
                    }
                    None => ExitCode::FAILURE,
                },
            )
        }
        Some(Command::Cleanup) => {
            init_logging(cli.log_file.as_ref(), None, "warn")?;
            let removed = cleanup::cleanup(&namespace, &runtime_dir)?;
            if removed.is_empty() {
                println!("nothing to clean up in namespace {namespace}");
            }
            for name in removed {
                println!("removed {name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Ctl { action, json }) => {
            init_logging(cli.log_file.as_ref(), None, "warn")?;
            println!(
                "{}",
                ctl::run(
                    &namespace,
                    &runtime_dir,
                    action.resolve_paths()?.command(),
                    json
                )?
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Record(args)) => {
            init_logging(cli.log_file.as_ref(), None, "warn")?;
            let duration = match args.seconds {
                None => None,
                Some(seconds) if seconds.is_finite() && seconds > 0.0 => {
                    Some(Duration::from_secs_f64(seconds))
                }
                Some(seconds) => anyhow::bail!("--seconds must be positive, got {seconds}"),
            };
            let config = record::RecordConfig {
                output: args.output,
                namespace,
                runtime_dir,
                compression: args.compression,
                limit: record::RecordLimit {
                    frames: args.frames,
                    duration,
                },
            };
            let json = args.json;
            let summary = record::record(&config, |line| {
                if !json {
                    println!("{line}");
                }
            })?;
            if json {
                println!("{}", serde_json::to_string(&summary)?);
            } else {
                println!("{}", record::render(&summary));
            }
            Ok(if summary.error.is_none() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(Command::Watch(args)) => {
            init_logging(cli.log_file.as_ref(), None, "warn")?;
            let limit = match (args.frames, args.seconds) {
                (Some(frames), _) => WatchLimit::Frames(frames),
                (None, Some(seconds)) if seconds.is_finite() && seconds > 0.0 => {
                    WatchLimit::Duration(Duration::from_secs_f64(seconds))
                }
                (None, Some(seconds)) => anyhow::bail!("--seconds must be positive, got {seconds}"),
                (None, None) => WatchLimit::Interrupted,
            };
            if args.detections {
                let json = args.json;
                let jsonl = args.jsonl;
                let summary = watch_detections::watch_detections(
                    &namespace,
                    &runtime_dir,
                    limit,
                    jsonl,
                    |line| {
                        if !json {
                            println!("{line}");
                        }
                    },
                )?;
                if json || jsonl {
                    println!("{}", serde_json::to_string(&summary)?);
                } else {
                    println!("{}", watch_detections::render(&summary));
                }
                if let Some(error) = &summary.error {
                    eprintln!("aaa-camera-daemon: {error}");
                }
                return Ok(if summary.succeeded() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                });
            }
            let json = args.json;
            if args.remote.is_some() || args.zenoh_config.is_some() {
                let options = bridge::ZenohOptions {
                    listen: None,
                    connect: args.remote.clone(),
                    key: args.key.clone(),
                    zenoh_config: args.zenoh_config.clone(),
                };
                let slow = args.slow_ms.map(Duration::from_millis);
                let summary =
                    watch_remote::watch_remote(&namespace, &options, limit, slow, |line| {
                        if !json {
                            println!("{line}");
                        }
                    })?;
                return finish_watch(&summary, json);
            }
            let mode = if args.in_place {
                watch::ReadMode::InPlace
            } else {
                watch::ReadMode::Copy
            };
            let summary = watch::watch_with(&namespace, &runtime_dir, limit, mode, |line| {
                if !json {
                    println!("{line}");
                }
            })?;
            finish_watch(&summary, json)
        }
        Some(Command::Bridge(args)) => {
            // The bridge's own news at info; Zenoh's only when something is wrong.
            init_logging(
                cli.log_file.as_ref(),
                None,
                "warn,aaa_camera_daemon=info,capture_daemon=info,zenoh_bridge=info",
            )?;
            let options = bridge::ZenohOptions {
                listen: args.listen,
                connect: args.connect,
                key: args.key,
                zenoh_config: args.zenoh_config,
            };
            bridge::run(&namespace, &options, &args.depth_codec)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints a watch summary (JSON or text) and turns it into the exit status.
fn finish_watch(summary: &watch::WatchSummary, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(summary)?);
    } else {
        println!("{}", watch::render(summary));
    }
    if let Some(error) = &summary.error {
        eprintln!("aaa-camera-daemon: {error}");
    }
    Ok(if summary.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) {
                let _ = error.print();
                return ExitCode::SUCCESS;
            }
            // One line: the reason, without clap's usage block.
            let rendered = error.to_string();
            let reason = rendered.lines().next().unwrap_or("invalid arguments");
            let reason = reason.strip_prefix("error: ").unwrap_or(reason);
            eprintln!("aaa-camera-daemon: {reason} (see --help)");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("aaa-camera-daemon: {error:#}");
            ExitCode::FAILURE
        }
    }
}
