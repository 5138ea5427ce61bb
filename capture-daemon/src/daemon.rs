//! `run`: the daemon's main loop. Owns the pid file and the [`Publisher`] (the shared-memory
//! writer), which the capture thread delivers frames into; serves the command socket, keeps
//! the writer status current, and stops cleanly on SIGINT/SIGTERM.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use parking_lot::{Mutex, MutexGuard};
use shmproto::control::{Command, CommandError, ErrorCode};
use shmproto::{
    Geometry, Namespace, PublishError, SegmentOwner, SourceState, Writer, WriterConfig,
    WriterStatus,
};
use tracing::{debug, error, info, trace, warn};

use crate::capture::{self, Capture, CaptureSink, Reply};
use crate::control_server::{self, ControlServer};
use crate::detection::{Detection, DetectionConfig};
use crate::metrics::MetricsMeter;
use crate::pidfile::PidFile;
use crate::runtime::{self, RuntimePaths};
use crate::signals;
use camera_sources::choice::SourceChoice;
use camera_sources::{FramePlanes, FrameStamp, FrameTarget, SourceInfo};

/// How often the main loop wakes without commands, to notice signals and refresh the status.
const IDLE_TICK: Duration = Duration::from_millis(50);
/// How long shutdown waits for the source to close (the whole stop must stay under 500 ms).
const CAPTURE_STOP_PATIENCE: Duration = Duration::from_millis(300);

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub namespace: Namespace,
    pub source: SourceChoice,
    pub runtime_dir: PathBuf,
    pub owner: Option<SegmentOwner>,
    /// Live detection over the published frames (off unless asked for).
    pub detection: DetectionConfig,
}

/// The publishing side: the writer, what the source said about itself, and the metrics.
/// Shared by the capture thread (frames, source state) and the main loop (commands, status),
/// behind `parking_lot`'s lock, which does not poison: a thread that panicked while holding it
/// left it usable, as every update is a plain field store and the writer's slots stay
/// consistent on their own.
struct Publisher {
    namespace: Namespace,
    owner: Option<SegmentOwner>,
    /// Always `Some` between calls; `None` only while segments are being recreated.
    writer: Option<Writer>,
    info: SourceInfo,
    state: SourceState,
    message: Option<String>,
    meter: MetricsMeter,
    /// Publishing paused by a client (`pause`); frames are still read and dropped.
    paused: bool,
    /// The source is open and delivering (as opposed to failed or starting).
    source_open: bool,
    /// When the daemon started, until the first frame is published.
    startup: Option<Instant>,
    /// The daemon is stopping: no segments are created any more.
    closed: bool,
    /// A segment found truncated while the status was written; replaced at the next tick.
    lost_segment: Option<String>,
    /// Segments wanted (this geometry) whose creation failed (shared memory full, names
    /// taken): tried again every [`RECREATE_RETRY`], so the daemon recovers by itself.
    pending_geometry: Option<(Geometry, Instant)>,
}

/// How long after a failed creation of the segments the daemon tries again.
const RECREATE_RETRY: Duration = Duration::from_secs(1);

impl Publisher {
    fn new(config: &DaemonConfig, startup: Instant) -> anyhow::Result<Self> {
        let kind = config.source.kind();
        let mut publisher = Publisher {
            namespace: config.namespace.clone(),
            owner: config.owner,
            writer: None,
            info: SourceInfo {
                kind,
                description: format!("{kind} (opening)"),
                intrinsics: None,
                depth_scale_m: None,
                depth_aligned_to_color: false,
            },
            state: SourceState::Starting,
            message: None,
            meter: MetricsMeter::new(config.source.requested_fps()),
            paused: false,
            source_open: false,
            startup: Some(startup),
            closed: false,
            lost_segment: None,
            pending_geometry: None,
        };
        publisher.recreate_writer(config.source.requested_geometry())?;
        Ok(publisher)
    }

    /// Creates the segments, or moves to new ones for a new geometry (readers of the old ones
    /// are told to open again).
    fn recreate_writer(&mut self, geometry: Geometry) -> anyhow::Result<()> {
        if self.closed {
            bail!("the daemon is stopping");
        }
        let writer = match self.writer.take() {
            Some(old) => old.replace(geometry),
            None => {
                let mut config = WriterConfig::new(self.namespace.clone(), geometry);
                config.owner = self.owner;
                Writer::create(config)
            }
        }
        .context("cannot create the shared-memory segments")?;
        if let Some(found) = writer.reclaimed() {
            warn!("reclaimed shared memory left behind: {found}");
        }
        info!(
            "publishing {}x{} {} into namespace {}",
            geometry.width,
            geometry.height,
            if geometry.depth.is_some() {
                "colour + depth"
            } else {
                "colour only"
            },
            self.namespace
        );
        self.writer = Some(writer);
        self.update_status();
        Ok(())
    }

    /// Whether new segments for `width` x `height` fit in shared memory beside the current
    /// ones (a mode change creates them before readers let go of the old).
    fn check_room(&self, width: u32, height: u32) -> Result<(), CommandError> {
        let Some(writer) = self.writer.as_ref() else {
            return Ok(());
        };
        let geometry = Geometry {
            width,
            height,
            ..writer.geometry()
        };
        writer
            .check_room(geometry)
            .map_err(|error| CommandError::new(ErrorCode::OutOfRange, error.to_string()))
    }

    /// Moves to segments of `geometry`; a failure is reported (log, status) and retried
    /// later, never fatal: the old segments are gone by then, and the daemon recovers as soon
    /// as shared memory lets it.
    fn move_to(&mut self, geometry: Geometry) {
        match self.recreate_writer(geometry) {
            Ok(()) => self.pending_geometry = None,
            Err(error) => {
                let message = format!("{error:#}");
                error!(
                    "{message}; trying again every {} s",
                    RECREATE_RETRY.as_secs()
                );
                self.meter.source_failed(&message);
                self.pending_geometry = Some((geometry, Instant::now()));
            }
        }
    }

    /// Tries again to create segments whose creation failed, when it is time.
    fn retry_pending(&mut self) {
        if let Some((geometry, failed_at)) = self.pending_geometry {
            if self.writer.is_none() && failed_at.elapsed() >= RECREATE_RETRY {
                self.move_to(geometry);
            }
        }
    }

    fn geometry(&self) -> Option<Geometry> {
        self.writer.as_ref().map(Writer::geometry)
    }

    fn update_status(&mut self) {
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        let geometry = writer.geometry();
        self.meter.metrics.width = geometry.width;
        self.meter.metrics.height = geometry.height;
        let status = WriterStatus {
            state: self.state,
            message: self.message.clone(),
            source_kind: self.info.kind,
            source_description: self.info.description.clone(),
            updated_wall_ns: shmproto::wall_now_ns(),
            extra: serde_json::to_value(&self.meter.metrics).unwrap_or_default(),
        };
        match writer.set_status(&status) {
            Ok(()) => {}
            // Replaced from the main loop's next tick (not from here: replacing writes the
            // status again).
            Err(PublishError::SegmentLost { segment }) => self.lost_segment = Some(segment),
            Err(error) => warn!("cannot publish the daemon status: {error}"),
        }
    }

    fn set_state(&mut self, state: SourceState, message: Option<String>) {
        self.state = state;
        self.message = message;
        self.update_status();
    }

    fn source_opened(
        &mut self,
        geometry: Geometry,
        info: SourceInfo,
        fps: f32,
    ) -> anyhow::Result<()> {
        info!("source open: {} ({})", info.description, info.kind);
        self.meter.metrics.target_fps = f64::from(fps);
        self.info = info;
        // A reopened source numbers its frames from the start again; frame numbers must only
        // grow within one writer session, so anything but the first open gets new segments.
        let published = self.writer.as_ref().map_or(0, Writer::frames_published);
        if self.geometry() != Some(geometry) || published > 0 {
            info!(
                "source delivers {}x{}; moving to new segments",
                geometry.width, geometry.height
            );
            self.move_to(geometry);
        }
        self.meter.source_reopened();
        self.source_open = true;
        self.set_state(self.running_state(), None);
        Ok(())
    }

    fn running_state(&self) -> SourceState {
        if self.paused {
            SourceState::Paused
        } else {
            SourceState::Streaming
        }
    }

    /// Answers the commands the main loop owns; source commands go to the capture thread.
    fn serve(&mut self, command: Command, reply: Reply, capture: &Capture, detection: &Detection) {
        let answer = match command {
            Command::Ping => Ok(serde_json::json!({
                "pid": std::process::id(),
                "version": env!("CARGO_PKG_VERSION"),
                "namespace": self.namespace.as_str(),
            })),
            Command::Pause | Command::Resume => {
                self.paused = matches!(command, Command::Pause);
                info!(
                    "publishing {} by a client",
                    if self.paused { "paused" } else { "resumed" }
                );
                if self.source_open {
                    let state = self.running_state();
                    self.set_state(state, None);
                }
                Ok(serde_json::json!({ "paused": self.paused }))
            }
            Command::Metrics => serde_json::to_value(&self.meter.metrics).map_err(|error| {
                shmproto::control::CommandError::new(
                    shmproto::control::ErrorCode::DeviceError,
                    error.to_string(),
                )
            }),
            Command::Detect {
                enabled,
                detector,
                score_threshold,
            } => detection
                .command(enabled, detector, score_threshold)
                .and_then(|status| {
                    // Readers (`watch --detections`, the app) learn of the change at once.
                    self.meter.metrics.detection = Some(status.clone());
                    self.update_status();
                    serde_json::to_value(status).map_err(|error| {
                        CommandError::new(ErrorCode::DeviceError, error.to_string())
                    })
                }),
            source_command => return capture.command(source_command, reply),
        };
        let _ = reply.send(answer);
    }

    fn source_failed(&mut self, error: &str, retry_in: Duration) {
        self.source_open = false;
        warn!("{error}; retrying in {} ms", retry_in.as_millis());
        self.meter.source_failed(error);
        self.set_state(
            SourceState::Error,
            Some(format!("{error} (retrying in {} ms)", retry_in.as_millis())),
        );
    }

    /// Publishes the frame `stamp`, drawn by `fill` straight into the next slot.
    fn write_frame(
        &mut self,
        stamp: FrameStamp,
        geometry: Geometry,
        fill: &mut dyn FnMut(FramePlanes<'_>),
    ) {
        if self.paused {
            return;
        }
        self.retry_pending();
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        if writer.geometry() != geometry {
            let error = format!(
                "frame {} is {}x{}, the segments hold {}x{}",
                stamp.frame_number,
                geometry.width,
                geometry.height,
                writer.geometry().width,
                writer.geometry().height
            );
            warn!("{error}; not published");
            self.meter.source_failed(&error);
            return;
        }
        let metadata = self
            .info
            .frame_metadata(stamp, self.meter.metrics.fps as f32);
        let started = Instant::now();
        let published = writer.publish_with(&metadata, |slot| {
            fill(FramePlanes {
                rgb: slot.rgb,
                depth: slot.depth.unwrap_or_default(),
                contents_id: slot.contents_id,
            })
        });
        match published {
            Ok(_) => {
                let publish_time = started.elapsed();
                let latency = shmproto::monotonic_now_ns().saturating_sub(stamp.capture_mono_ns);
                self.meter
                    .frame_published(stamp.frame_number, publish_time, latency);
                trace!("published frame {}", stamp.frame_number);
                if let Some(startup) = self.startup.take() {
                    info!(
                        "first frame published {:.1} ms after start",
                        startup.elapsed().as_secs_f64() * 1e3
                    );
                }
            }
            Err(PublishError::SegmentLost { segment }) => self.replace_lost(&segment),
            Err(error) => {
                warn!("frame {} not published: {error}", stamp.frame_number);
                self.meter.source_failed(&error.to_string());
            }
        }
    }

    /// A segment was truncated under the writer (by its owner): readers no longer get frames
    /// from it, so move to new segments.
    fn replace_lost(&mut self, segment: &str) {
        let error = format!("shared-memory segment {segment} was truncated by another process");
        warn!("{error}; moving to new segments");
        self.meter.source_failed(&error);
        let Some(geometry) = self.geometry() else {
            return;
        };
        self.move_to(geometry);
    }

    /// Closes the segments (readers are told at once) and removes them, for good.
    fn close(&mut self) {
        self.closed = true;
        self.writer = None;
    }
}

/// The capture thread's view of the publisher.
struct PublisherSink {
    publisher: Arc<Mutex<Publisher>>,
    /// Tells the main loop that the capture thread stopped, and whether that is fatal.
    finished: Sender<(String, bool)>,
}

impl FrameTarget for PublisherSink {
    fn write(
        &mut self,
        stamp: FrameStamp,
        geometry: Geometry,
        fill: &mut dyn FnMut(FramePlanes<'_>),
    ) {
        let mut publisher = self.publisher.lock();
        publisher.write_frame(stamp, geometry, fill);
        // Hands the lock to the main loop if it is waiting: an unpaced source takes it again
        // at once and would otherwise starve the command socket and the stop signal.
        MutexGuard::unlock_fair(publisher);
    }
}

impl CaptureSink for PublisherSink {
    fn opened(&mut self, geometry: Geometry, info: SourceInfo, fps: f32) -> Result<(), String> {
        self.publisher
            .lock()
            .source_opened(geometry, info, fps)
            .map_err(|error| format!("{error:#}"))
    }

    fn target(&mut self) -> &mut dyn FrameTarget {
        self
    }

    fn failed(&mut self, error: &str, retry_in: Duration) {
        self.publisher.lock().source_failed(error, retry_in);
    }

    fn check_room(&mut self, width: u32, height: u32) -> Result<(), CommandError> {
        self.publisher.lock().check_room(width, height)
    }

    fn finished(&mut self, reason: String, fatal: bool) {
        if !fatal {
            error!("source stopped for good: {reason}");
            let mut publisher = self.publisher.lock();
            publisher.meter.source_failed(&reason);
            publisher.set_state(SourceState::Error, Some(reason.clone()));
        }
        let _ = self.finished.send((reason, fatal));
    }
}

/// Runs the daemon until SIGINT/SIGTERM.
pub fn run(config: DaemonConfig) -> anyhow::Result<()> {
    let startup = Instant::now();
    signals::install().context("cannot install signal handlers")?;
    let paths = RuntimePaths::new(&config.runtime_dir, &config.namespace);
    // Before the umask below: the system directory is made 0755 for users to reach the socket.
    runtime::prepare_dir(&paths.dir)?;
    // Files are created private; what others may use is opened up explicitly (fchmod).
    // SAFETY: umask only sets this process's file-creation mask; it cannot fail.
    unsafe { libc::umask(0o077) };
    let pid_file = PidFile::acquire(&paths.pid_file, config.owner)?;
    if let Some(pid) = pid_file.reclaimed_from {
        warn!("previous daemon (pid {pid}) did not shut down cleanly; taking over its pid file");
    }

    // The socket before the segments: a client that sees frames can command at once.
    let control: ControlServer = control_server::start(&paths.socket, config.owner)
        .with_context(|| format!("cannot open the command socket {}", paths.socket.display()))?;
    let publisher = Arc::new(Mutex::new(Publisher::new(&config, startup)?));
    let _close_segments = CloseOnExit(Arc::clone(&publisher));
    // Declared after `_close_segments`, so dropped (stopped) before the frame segments close.
    let detection = Detection::start(
        config.detection.clone(),
        config.namespace.clone(),
        config.owner,
    )
    .context("cannot start the detection thread")?;
    let (finished, capture_finished) = mpsc::channel();
    let sink = PublisherSink {
        publisher: Arc::clone(&publisher),
        finished,
    };
    let capture = capture::spawn(Box::new(config.source.clone()), Box::new(sink))
        .context("cannot start the capture thread")?;
    info!(
        "daemon started (pid {}, namespace {}, source {})",
        std::process::id(),
        config.namespace,
        config.source.kind()
    );

    let mut capture_over = false;
    while !signals::stop_requested() {
        match control.requests.recv_timeout(IDLE_TICK) {
            Ok((command, reply)) => publisher.lock().serve(command, reply, &capture, &detection),
            Err(RecvTimeoutError::Timeout) => {}
            // The socket's thread is gone; the frames go on.
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(IDLE_TICK),
        }
        if !capture_over {
            capture_over = check_capture(&capture, &capture_finished)?;
        }
        let mut publisher = publisher.lock();
        if let Some(segment) = publisher.lost_segment.take() {
            publisher.replace_lost(&segment);
        }
        publisher.retry_pending();
        let detection_status = detection.status();
        let detection_changed = publisher
            .meter
            .metrics
            .detection
            .as_ref()
            .is_none_or(|shown| {
                (shown.state, &shown.error, &shown.detector)
                    != (
                        detection_status.state,
                        &detection_status.error,
                        &detection_status.detector,
                    )
            });
        publisher.meter.metrics.detection = Some(detection_status);
        if detection_changed {
            // Readers learn at once that detection started, failed or stopped.
            publisher.update_status();
        }
        if publisher.meter.tick() {
            debug!(
                "{:.1} fps, {:.1}% cpu, {} frames",
                publisher.meter.metrics.fps,
                publisher.meter.metrics.cpu_percent,
                publisher.meter.metrics.frames_published
            );
            publisher.update_status();
        }
    }
    let frames_published = publisher.lock().meter.metrics.frames_published;
    info!(
        "{} received: stopping after {frames_published} frames",
        signals::stop_signal_name(),
    );
    drop(control);
    // Release the camera (its drop stops the device) before the segments go.
    if !capture.shutdown(CAPTURE_STOP_PATIENCE) {
        warn!(
            "the source did not close within {} ms",
            CAPTURE_STOP_PATIENCE.as_millis()
        );
    }
    // `_close_segments` then closes the segments and `pid_file` removes the pid file.
    Ok(())
}

/// Closes the segments (readers notice at once) and removes them when `run` returns, however
/// it returns: the capture thread, which shares the publisher, may still be blocked in a device.
struct CloseOnExit(Arc<Mutex<Publisher>>);

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        self.0.lock().close();
    }
}

/// Whether the capture thread is over for good (a recording ended: the daemon keeps serving
/// its status); an error when the daemon must stop (the source cannot work here, or the
/// thread died).
fn check_capture(capture: &Capture, finished: &Receiver<(String, bool)>) -> anyhow::Result<bool> {
    let message = if capture.has_ended() {
        // Its message, if it sent one, was sent before it ended; give it a moment to show.
        finished
            .recv_timeout(Duration::from_millis(100))
            .map_err(|_| ())
    } else {
        match finished.try_recv() {
            Err(TryRecvError::Empty) => return Ok(false),
            other => other.map_err(|_| ()),
        }
    };
    match message {
        Ok((reason, true)) => bail!("{reason}"),
        Ok((_, false)) => Ok(true),
        Err(()) => bail!("the capture thread ended unexpectedly"),
    }
}
