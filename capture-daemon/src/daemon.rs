//! `run`: the daemon's main loop. Owns the pid file and the shared-memory writer, publishes
//! what the capture thread delivers, keeps the writer status current, and stops cleanly on
//! SIGINT/SIGTERM.

use std::path::PathBuf;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use shmproto::control::Command;
use shmproto::{
    Geometry, Namespace, SegmentOwner, SourceState, Writer, WriterConfig, WriterStatus,
};
use tracing::{debug, error, info, trace, warn};

use crate::capture::{self, Capture, CaptureEvent, Reply};
use crate::control_server::{self, ControlServer};
use crate::metrics::MetricsMeter;
use crate::pidfile::PidFile;
use crate::runtime::{self, RuntimePaths};
use crate::signals;
use crate::source::choice::SourceChoice;
use crate::source::{CapturedFrame, SourceInfo};

/// How often the loop wakes without frames, to notice signals and refresh the status.
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
}

/// The publishing side: the writer, what the source said about itself, and the metrics.
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
}

impl Publisher {
    fn new(config: &DaemonConfig) -> anyhow::Result<Self> {
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
        };
        publisher.recreate_writer(config.source.requested_geometry())?;
        Ok(publisher)
    }

    /// Creates the segments, or moves to new ones for a new geometry (readers of the old ones
    /// are told to open again).
    fn recreate_writer(&mut self, geometry: Geometry) -> anyhow::Result<()> {
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
        if let Err(error) = writer.set_status(&status) {
            warn!("cannot publish the daemon status: {error}");
        }
    }

    fn set_state(&mut self, state: SourceState, message: Option<String>) {
        self.state = state;
        self.message = message;
        self.update_status();
    }

    fn source_opened(&mut self, geometry: Geometry, info: SourceInfo) -> anyhow::Result<()> {
        info!("source open: {} ({})", info.description, info.kind);
        self.info = info;
        // A reopened source numbers its frames from the start again; frame numbers must only
        // grow within one writer session, so anything but the first open gets new segments.
        let published = self.writer.as_ref().map_or(0, Writer::frames_published);
        if self.geometry() != Some(geometry) || published > 0 {
            info!(
                "source delivers {}x{}; moving to new segments",
                geometry.width, geometry.height
            );
            self.recreate_writer(geometry)?;
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
    fn serve(&mut self, command: Command, reply: Reply, capture: &Capture) {
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
            source_command => return capture.command(source_command, reply),
        };
        let _ = reply.send(answer);
    }

    fn publish(&mut self, frame: &CapturedFrame) {
        if self.paused {
            return;
        }
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        let metadata = self
            .info
            .frame_metadata(frame, self.meter.metrics.fps as f32);
        let depth = writer.geometry().depth.map(|_| frame.depth.as_slice());
        let started = Instant::now();
        match writer.publish(&frame.rgb, depth, &metadata) {
            Ok(_) => {
                let publish_time = started.elapsed();
                let latency = shmproto::monotonic_now_ns().saturating_sub(frame.capture_mono_ns);
                self.meter
                    .frame_published(frame.frame_number, publish_time, latency);
                trace!("published frame {}", frame.frame_number);
            }
            Err(error) => {
                warn!("frame {} not published: {error}", frame.frame_number);
                self.meter.source_failed(&error.to_string());
            }
        }
    }
}

/// Runs the daemon until SIGINT/SIGTERM.
pub fn run(config: DaemonConfig) -> anyhow::Result<()> {
    let startup = Instant::now();
    signals::install().context("cannot install signal handlers")?;
    let paths = RuntimePaths::new(&config.runtime_dir, &config.namespace);
    let pid_file = PidFile::acquire(&paths.pid_file)?;
    if let Some(pid) = pid_file.reclaimed_from {
        warn!("previous daemon (pid {pid}) did not shut down cleanly; taking over its pid file");
    }
    runtime::hand_over(pid_file.path(), config.owner).with_context(|| {
        format!(
            "cannot hand {} to the desktop user",
            pid_file.path().display()
        )
    })?;

    let mut publisher = Publisher::new(&config)?;
    let capture = capture::spawn(Box::new(config.source.clone()))
        .context("cannot start the capture thread")?;
    let control: ControlServer = control_server::start(&paths.socket, config.owner)
        .with_context(|| format!("cannot open the command socket {}", paths.socket.display()))?;
    info!(
        "daemon started (pid {}, namespace {}, source {})",
        std::process::id(),
        config.namespace,
        config.source.kind()
    );

    let mut first_frame_logged = false;
    let mut finished = false;
    while !signals::stop_requested() {
        match capture.events.recv_timeout(IDLE_TICK) {
            Ok(CaptureEvent::Frame(frame)) => {
                publisher.publish(&frame);
                if !first_frame_logged {
                    first_frame_logged = true;
                    info!(
                        "first frame published {:.1} ms after start",
                        startup.elapsed().as_secs_f64() * 1e3
                    );
                }
                capture.recycle(frame);
            }
            Ok(CaptureEvent::Opened {
                geometry,
                info,
                fps,
            }) => {
                publisher.meter.metrics.target_fps = f64::from(fps);
                publisher.source_opened(geometry, info)?;
            }
            Ok(CaptureEvent::Failed { error, retry_in }) => {
                publisher.source_open = false;
                warn!("{error}; retrying in {} ms", retry_in.as_millis());
                publisher.meter.source_failed(&error);
                publisher.set_state(
                    SourceState::Error,
                    Some(format!("{error} (retrying in {} ms)", retry_in.as_millis())),
                );
            }
            Ok(CaptureEvent::Finished {
                reason,
                fatal: true,
            }) => {
                bail!("{reason}");
            }
            Ok(CaptureEvent::Finished { reason, .. }) => {
                error!("source stopped for good: {reason}");
                publisher.meter.source_failed(&reason);
                publisher.set_state(SourceState::Error, Some(reason));
                finished = true;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if !finished {
                    bail!("the capture thread ended unexpectedly");
                }
                // The source is finished: keep serving the status until told to stop.
                std::thread::sleep(IDLE_TICK);
            }
        }
        while let Ok((command, reply)) = control.requests.try_recv() {
            publisher.serve(command, reply, &capture);
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
    info!(
        "{} received: stopping after {} frames",
        signals::stop_signal_name(),
        publisher.meter.metrics.frames_published
    );
    // Dropping the writer marks the segments closed (readers notice at once) and unlinks
    // them; dropping the pid file removes it.
    drop(control);
    // Release the camera (its drop stops the device) before the segments go.
    if !capture.shutdown(CAPTURE_STOP_PATIENCE) {
        warn!(
            "the source did not close within {} ms",
            CAPTURE_STOP_PATIENCE.as_millis()
        );
    }
    drop(publisher);
    drop(pid_file);
    Ok(())
}
