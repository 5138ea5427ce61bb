//! Live detection: a thread of its own runs a detector over the newest published frame and
//! publishes each result into the namespace's `aaa_detections` segment.
//!
//! The thread reads the frames the way any client does (a [`Reader`] of the daemon's own
//! segments), so detection never delays publishing: the capture thread never waits for it,
//! and a detector slower than the camera simply gets the newest frame each time it is ready
//! (the frames in between are dropped). A detector that cannot be loaded, or that fails on a
//! frame, turns detection off with the error in the status; frames keep flowing.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use detect::{DetectSettings, Detector, DetectorChoice, FrameView, OpenOptions};
use parking_lot::{Condvar, Mutex};
use shmproto::control::{CommandError, ErrorCode};
use shmproto::{
    DetectionResult, DetectionState, DetectionStatus, DetectionsWriter, DetectionsWriterConfig,
    FrameBuf, Namespace, Reader, SegmentOwner, SourceFrame,
};
use tracing::{info, warn};

/// How long the thread waits for a frame before it looks at its settings again.
const FRAME_WAIT: Duration = Duration::from_millis(100);
/// How long it waits before opening the frame segments again when they are not there.
const REOPEN_PAUSE: Duration = Duration::from_millis(50);
/// Length of the window over which rates and mean times are measured.
const WINDOW: Duration = Duration::from_secs(1);

/// What the daemon's command line asks of detection.
#[derive(Debug, Clone)]
pub struct DetectionConfig {
    /// Detect from the start (`--detect`); otherwise only after `ctl detect on`.
    pub enabled: bool,
    pub choice: DetectorChoice,
    /// Where the ONNX Runtime library and class names are: fixed at start, never taken from
    /// a client (a client must not make a root daemon load a library of its choosing).
    pub options: OpenOptions,
    pub score_threshold: f32,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            enabled: false,
            choice: DetectorChoice::Depth,
            options: OpenOptions::default(),
            score_threshold: DetectSettings::default().score_threshold,
        }
    }
}

/// What the thread is asked to do; changed by commands, read by the thread.
#[derive(Debug, Clone)]
struct Wanted {
    enabled: bool,
    choice: DetectorChoice,
    score_threshold: f32,
    /// Bumped whenever the detector must be (re)loaded: a new choice, or `on` after a failure.
    generation: u64,
    /// The model path came from a client (`ctl detect model`), not the command line: it is
    /// checked before it is read (see [`read_model`]).
    from_client: bool,
}

#[derive(Debug)]
struct Shared {
    wanted: Wanted,
    status: DetectionStatus,
    /// The settings generation whose detector failed: not loaded again until the generation
    /// moves on (a new detector, or `on`).
    failed_generation: Option<u64>,
    stop: bool,
    /// The thread has returned (set by it on the way out, whatever way that is).
    finished: bool,
}

/// The detection thread and the settings it follows.
pub struct Detection {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

/// Where the thread publishes, and what it reads.
struct Target {
    namespace: Namespace,
    owner: Option<SegmentOwner>,
    options: OpenOptions,
}

/// How long the daemon's stop waits for the detection thread (which may be in the middle of
/// loading a model or of an inference) before it goes on without it.
const STOP_PATIENCE: Duration = Duration::from_secs(1);
/// Largest model file read (the largest detection models are a few hundred MB).
const MAX_MODEL_BYTES: u64 = 2 << 30;

impl Detection {
    /// Starts the thread; it detects at once when `config.enabled`, else waits for `detect on`.
    pub fn start(
        config: DetectionConfig,
        namespace: Namespace,
        owner: Option<SegmentOwner>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new((
            Mutex::new(Shared {
                status: DetectionStatus {
                    state: if config.enabled {
                        DetectionState::Starting
                    } else {
                        DetectionState::Off
                    },
                    detector: config.choice.to_string(),
                    detector_info: None,
                    score_threshold: config.score_threshold,
                    results_published: 0,
                    results_unpublished: 0,
                    results_per_s: 0.0,
                    inference_ms: 0.0,
                    error: None,
                },
                wanted: Wanted {
                    enabled: config.enabled,
                    choice: config.choice,
                    score_threshold: config.score_threshold,
                    generation: 1,
                    from_client: false,
                },
                failed_generation: None,
                stop: false,
                finished: false,
            }),
            Condvar::new(),
        ));
        let target = Target {
            namespace,
            owner,
            options: config.options,
        };
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("detection".into())
            .spawn(move || detection_loop(&thread_shared, &target))?;
        Ok(Detection {
            shared,
            thread: Some(thread),
        })
    }

    /// The status for the daemon's metrics and the `detect` command.
    pub fn status(&self) -> DetectionStatus {
        self.shared.0.lock().status.clone()
    }

    /// Applies a `detect` command and answers with the status. A model path from a client
    /// must be absolute; the file itself is checked by the detection thread when it reads it
    /// (see [`read_model`]), never here: the main loop must not wait on a file system.
    pub fn command(
        &self,
        enabled: Option<bool>,
        detector: Option<String>,
        score_threshold: Option<f32>,
    ) -> Result<DetectionStatus, CommandError> {
        let bad = |message: String| CommandError::new(ErrorCode::BadRequest, message);
        let choice = match detector.as_deref() {
            Some(text) => {
                let choice: DetectorChoice = text.parse().map_err(bad)?;
                if let DetectorChoice::Model(path) = &choice {
                    if !path.is_absolute() {
                        return Err(bad(format!(
                            "model path {} is relative: give the absolute path (the daemon does not share your working directory)",
                            path.display()
                        )));
                    }
                }
                Some(choice)
            }
            None => None,
        };
        if let Some(threshold) = score_threshold {
            DetectSettings::check_score_threshold(threshold)
                .map_err(|message| CommandError::new(ErrorCode::OutOfRange, message))?;
        }
        let (lock, wake) = &*self.shared;
        let mut shared = lock.lock();
        let was_failed = shared.status.state == DetectionState::Failed;
        let generation_before = shared.wanted.generation;
        if let Some(choice) = choice {
            info!("detector chosen by a client: {choice}");
            shared.status.detector = choice.to_string();
            shared.status.detector_info = None;
            shared.wanted.from_client = matches!(choice, DetectorChoice::Model(_));
            shared.wanted.choice = choice;
            shared.wanted.generation += 1;
            // Choosing a detector means using it.
            shared.wanted.enabled = enabled.unwrap_or(true);
        } else if let Some(enabled) = enabled {
            if enabled && (was_failed || !shared.wanted.enabled) {
                // `on` after a failure tries the detector again.
                shared.wanted.generation += 1;
            }
            shared.wanted.enabled = enabled;
        }
        if let Some(threshold) = score_threshold {
            shared.wanted.score_threshold = threshold;
            shared.status.score_threshold = threshold;
        }
        // A status query (nothing given) changes nothing.
        let reloading = shared.wanted.generation != generation_before;
        if !shared.wanted.enabled {
            shared.status.state = DetectionState::Off;
            shared.status.error = None;
            shared.status.results_per_s = 0.0;
            shared.status.inference_ms = 0.0;
        } else if reloading {
            shared.status.state = DetectionState::Starting;
            shared.status.error = None;
        }
        wake.notify_all();
        Ok(shared.status.clone())
    }
}

impl Drop for Detection {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shared;
        let deadline = std::time::Instant::now() + STOP_PATIENCE;
        let mut shared = lock.lock();
        shared.stop = true;
        wake.notify_all();
        // The thread may be loading a model or in an inference: wait a while, not for ever,
        // so that the daemon still stops (and closes the frame segments) in time.
        while !shared.finished {
            if wake.wait_until(&mut shared, deadline).timed_out() {
                break;
            }
        }
        let finished = shared.finished;
        drop(shared);
        match self.thread.take() {
            Some(thread) if finished => {
                let _ = thread.join();
            }
            Some(_) => warn!(
                "detection did not stop within {} ms; the daemon stops without waiting for it",
                STOP_PATIENCE.as_millis()
            ),
            None => {}
        }
    }
}

/// Reads a model file for the detector, through one descriptor that is checked first: opened
/// without blocking (a FIFO or device cannot hang the thread), a regular file of at most
/// [`MAX_MODEL_BYTES`] and not on procfs or sysfs (whose files are "regular" but endless or
/// consuming). A path a client sent is not followed if it is a symbolic link, and a daemon
/// running as root reads it only when it belongs to the user the daemon serves (`served`),
/// or to root and everyone may read it: a client cannot make root read a file its user could
/// not. The bytes then go to ONNX Runtime, so the file cannot be swapped after the check.
fn read_model(path: &Path, from_client: bool, served: Option<u32>) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let shown = path.display();
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if from_client {
        flags |= libc::O_NOFOLLOW;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|error| match error.raw_os_error() {
            Some(libc::ELOOP) => format!("model {shown} is a symbolic link: give the file itself"),
            _ => format!("cannot read model {shown}: {error}"),
        })?;
    let metadata = file
        .metadata()
        .map_err(|error| format!("cannot read model {shown}: {error}"))?;
    if !metadata.is_file() {
        return Err(format!(
            "model {shown} is a {}, not a regular file",
            shmproto::runtime_dir::file_type_name(&metadata)
        ));
    }
    if on_kernel_file_system(&file) {
        return Err(format!(
            "model {shown} is a file of the kernel (/proc, /sys), not a model"
        ));
    }
    if metadata.len() == 0 || metadata.len() > MAX_MODEL_BYTES {
        return Err(format!(
            "model {shown} has {} bytes: a model has 1 to {MAX_MODEL_BYTES}",
            metadata.len()
        ));
    }
    if from_client && shmproto::runtime_dir::euid() == 0 {
        let owner = metadata.uid();
        let readable_by_all = metadata.mode() & 0o004 != 0;
        if !(Some(owner) == served || (owner == 0 && readable_by_all)) {
            return Err(format!(
                "model {shown} belongs to uid {owner}: a daemon running as root loads a client's model only when it belongs to the user it serves, or to root and everyone may read it"
            ));
        }
    }
    let mut bytes = Vec::new();
    file.take(MAX_MODEL_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read model {shown}: {error}"))?;
    Ok(bytes)
}

/// Whether the open file lies on procfs or sysfs (Linux; elsewhere never).
fn on_kernel_file_system(file: &std::fs::File) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: an all-zero `statfs` is a valid value of this plain C struct.
        let mut info: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: the descriptor is open for the duration of the call and `info` is a valid,
        // writable struct.
        if unsafe { libc::fstatfs(file.as_raw_fd(), &mut info) } != 0 {
            return false;
        }
        matches!(info.f_type, libc::PROC_SUPER_MAGIC | libc::SYSFS_MAGIC)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        false
    }
}

/// Opens the wanted detector: a model through [`read_model`], the depth-only one directly.
fn open_wanted(wanted: &Wanted, target: &Target) -> Result<Box<dyn Detector>, String> {
    match &wanted.choice {
        DetectorChoice::Model(path) => {
            let served = target.owner.map(|owner| owner.uid);
            let bytes = read_model(path, wanted.from_client, served)?;
            detect::open_model_bytes(&bytes, path, &target.options).map_err(|e| e.to_string())
        }
        depth => detect::open_detector(depth, &target.options).map_err(|e| e.to_string()),
    }
}

/// Measurements over the current window.
#[derive(Debug)]
struct Window {
    started: Instant,
    results: u64,
    inference: Duration,
}

impl Window {
    fn new() -> Self {
        Window {
            started: Instant::now(),
            results: 0,
            inference: Duration::ZERO,
        }
    }

    /// Closes the window when it is over, writing its rates into `status`.
    fn roll(&mut self, status: &mut DetectionStatus) {
        let elapsed = self.started.elapsed();
        if elapsed < WINDOW {
            return;
        }
        status.results_per_s = self.results as f64 / elapsed.as_secs_f64();
        status.inference_ms = if self.results == 0 {
            0.0
        } else {
            self.inference.as_secs_f64() * 1e3 / self.results as f64
        };
        *self = Window::new();
    }
}

/// The loaded detector and the settings generation it was loaded for.
struct Loaded {
    detector: Box<dyn Detector>,
    generation: u64,
}

/// How much lower than the daemon's other threads detection runs (a `nice` increment).
const DETECTION_NICENESS: libc::c_int = 10;

/// Lowers this thread's scheduling priority, so that on a busy machine capturing and
/// publishing (and the readers) run before detection does. On Linux a thread's nice value is
/// its own and is inherited by the threads it starts (ONNX Runtime's, made when the model is
/// loaded here); elsewhere this is a no-op.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions and cannot fail.
        let thread_id = unsafe { libc::gettid() };
        // SAFETY: getpriority only reads this thread's nice value (-1 is both a valid value
        // and the error return: either way the sum below stays a valid nice value).
        let current = unsafe { libc::getpriority(libc::PRIO_PROCESS, thread_id as libc::id_t) };
        let lowered = (current + DETECTION_NICENESS).clamp(DETECTION_NICENESS, 19);
        // SAFETY: setpriority only changes this thread's nice value; a failure is reported
        // through its return value and leaves the priority as it was.
        let result =
            unsafe { libc::setpriority(libc::PRIO_PROCESS, thread_id as libc::id_t, lowered) };
        if result != 0 {
            warn!(
                "cannot lower the detection thread's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Marks the thread finished when it returns (or unwinds), for [`Detection`]'s drop.
struct FinishedOnExit<'a>(&'a (Mutex<Shared>, Condvar));

impl Drop for FinishedOnExit<'_> {
    fn drop(&mut self) {
        let (lock, wake) = self.0;
        lock.lock().finished = true;
        wake.notify_all();
    }
}

/// Whether `wanted` is still what is wanted: a command may have turned detection off or
/// chosen another detector while the thread loaded or detected without the lock.
fn still_wanted(shared: &Shared, wanted: &Wanted) -> bool {
    shared.wanted.enabled && shared.wanted.generation == wanted.generation
}

fn detection_loop(shared: &(Mutex<Shared>, Condvar), target: &Target) {
    let _finished = FinishedOnExit(shared);
    lower_priority();
    let (lock, wake) = shared;
    let mut loaded: Option<Loaded> = None;
    let mut writer: Option<DetectionsWriter> = None;
    let mut reader: Option<Reader> = None;
    let mut frame = FrameBuf::new();
    let mut window = Window::new();
    loop {
        let wanted = {
            let mut guard = lock.lock();
            loop {
                if guard.stop {
                    return;
                }
                let failed = guard.failed_generation == Some(guard.wanted.generation);
                if guard.wanted.enabled && !failed {
                    break guard.wanted.clone();
                }
                // Off (or failed until told otherwise): nothing to do until a command.
                reader = None;
                wake.wait_for(&mut guard, Duration::from_secs(1));
            }
        };

        // (Re)load the detector when the choice changed.
        if loaded
            .as_ref()
            .is_none_or(|l| l.generation != wanted.generation)
        {
            loaded = None;
            info!("loading detector {}", wanted.choice);
            let opened = open_wanted(&wanted, target);
            let mut guard = lock.lock();
            if !still_wanted(&guard, &wanted) {
                continue; // changed meanwhile: do what is wanted now
            }
            match opened {
                Ok(detector) => {
                    let info = detector.info();
                    info!("detector ready: {info}");
                    guard.status.detector_info = Some(info);
                    guard.status.state = DetectionState::Running;
                    guard.status.error = None;
                    loaded = Some(Loaded {
                        detector,
                        generation: wanted.generation,
                    });
                }
                Err(error) => {
                    fail(&mut guard, wanted.generation, error);
                    continue;
                }
            }
        }

        if writer.is_none() {
            let mut config = DetectionsWriterConfig::new(target.namespace.clone());
            config.owner = target.owner;
            match DetectionsWriter::create(config) {
                Ok(created) => writer = Some(created),
                Err(error) => {
                    let message = format!("cannot create the detections segment: {error}");
                    fail(&mut lock.lock(), wanted.generation, message);
                    loaded = None;
                    continue;
                }
            }
        }

        let Some(frame_reader) = reader.as_mut() else {
            match Reader::open(&target.namespace) {
                Ok(opened) => reader = Some(opened),
                // The daemon is between segments (starting, mode change): wait a moment.
                Err(_) => std::thread::sleep(REOPEN_PAUSE),
            }
            continue;
        };
        let source = match frame_reader.wait_next(&mut frame, FRAME_WAIT) {
            Ok(true) => SourceFrame::new(frame_reader.session_id(), frame.header()),
            Ok(false) => {
                window.roll(&mut lock.lock().status);
                continue;
            }
            // New segments (mode change, a truncated segment replaced) or the writer closing:
            // open again on the next turn.
            Err(_) => {
                reader = None;
                continue;
            }
        };
        let (Some(detector), Some(detections_writer)) = (loaded.as_mut(), writer.as_mut()) else {
            continue;
        };
        let settings = DetectSettings {
            score_threshold: wanted.score_threshold,
            ..DetectSettings::default()
        };
        let started = Instant::now();
        let outcome = detect_frame(&frame, detector.detector.as_mut(), &settings);
        let inference = started.elapsed();
        // A result of a detector that is no longer wanted (turned off, replaced meanwhile) is
        // dropped. Published without the lock: the main loop reads the status under it.
        let published = match outcome {
            Ok(Some(detections)) if still_wanted(&lock.lock(), &wanted) => {
                let result = DetectionResult {
                    frame_number: frame.frame_number(),
                    frame_publish_mono_ns: frame.publish_mono_ns(),
                    detector: detector.detector.info(),
                    score_threshold: settings.score_threshold,
                    inference_ms: inference.as_secs_f32() * 1e3,
                    detections,
                };
                Some(detections_writer.publish_for_frame(&result, source))
            }
            // Not wanted any more, or a frame that cannot be detected (no readable metadata).
            Ok(_) => None,
            Err(message) => {
                let generation = detector.generation;
                loaded = None;
                fail(&mut lock.lock(), generation, message);
                continue;
            }
        };
        let mut guard = lock.lock();
        match published {
            Some(Ok(_)) => {
                guard.status.results_published += 1;
                window.results += 1;
                window.inference += inference;
            }
            Some(Err(error)) => {
                guard.status.results_unpublished += 1;
                // Once, not per frame.
                if guard.status.results_unpublished == 1 {
                    warn!("detection result not published: {error}");
                }
            }
            None => {}
        }
        window.roll(&mut guard.status);
    }
}

fn fail(shared: &mut Shared, generation: u64, message: String) {
    if !(shared.wanted.enabled && shared.wanted.generation == generation) {
        // Turned off or replaced meanwhile: the failure no longer describes detection.
        info!("a detector no longer wanted failed: {message}");
        return;
    }
    warn!("detection stopped: {message}");
    shared.status.state = DetectionState::Failed;
    shared.status.error = Some(message);
    shared.failed_generation = Some(generation);
}

/// Runs the detector over one frame; `Ok(None)` for a frame without readable metadata, `Err`
/// with the reason when the detector failed (or panicked).
fn detect_frame(
    frame: &FrameBuf,
    detector: &mut dyn Detector,
    settings: &DetectSettings,
) -> Result<Option<Vec<shmproto::Detection>>, String> {
    let (Some(geometry), Ok(metadata)) = (frame.geometry(), frame.metadata()) else {
        return Ok(None);
    };
    let depth = match (frame.depth(), metadata.depth_scale_m) {
        (Some(z16_le), Some(depth_scale_m)) => Some(detect::DepthView {
            z16_le,
            depth_scale_m,
        }),
        _ => None,
    };
    let view = FrameView::new(
        geometry.width,
        geometry.height,
        frame.rgb(),
        depth,
        metadata.intrinsics,
    )
    .map_err(|error| format!("frame {}: {error}", frame.frame_number()))?;
    match std::panic::catch_unwind(AssertUnwindSafe(|| detector.detect(&view, settings))) {
        Ok(Ok(detections)) => Ok(Some(detections)),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("the detector panicked".into()),
    }
}
