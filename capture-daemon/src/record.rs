//! `record`: an unprivileged reader of a daemon's segments that writes every frame it gets
//! into an MCAP file with the ROS 2 message layout (`ros-messages`), readable by Foxglove,
//! Lichtblick, rerun and `ros2 bag`.
//!
//! Channels (profile `ros2`, CDR messages with `ros2msg` schemas): colour (`rgb8`), depth
//! (`16UC1` mm or `32FC1` m), camera info, the metadata JSON (`std_msgs/msg/String`) and, when
//! the daemon detects, its detection results as `DetectionResult` JSON on a channel of their
//! own (`std_msgs/msg/String`, [`DETECTIONS_TOPIC`]). Log and publish times are the frames'
//! capture times (the header stamps).
//!
//! The recorder follows the daemon through mode changes and restarts: each writer session it
//! records starts with an MCAP metadata record `aaa.session` (why: start, mode change,
//! daemon restart; size; writer pid), and the file ends with `aaa.recording` (frames, gaps in
//! frame numbers and the frames they miss, sessions). Compression runs on the recording thread
//! only (`compression_threads(0)`), so recording takes at most one core of the capture host.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use mcap::records::{MessageHeader, Metadata};
use mcap::{Compression, WriteOptions};
use serde::Serialize;
use shmproto::{
    DetectionResult, DetectionsFollower, FrameBuf, FrameMetadata, Geometry, Liveness, Namespace,
    ReadError, Reader,
};

use ros_messages::frame_messages::{
    self, CAMERA_INFO_TOPIC, COLOR_TOPIC, DEPTH_TOPIC, DETECTIONS_TOPIC, METADATA_TOPIC,
};
use ros_messages::{camera_info, image, string_message, StringMessage};

use crate::signals;
use crate::watch::open_settled;

/// How chunks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RecordCompression {
    /// Fast, about half the size of raw frames; the default.
    #[default]
    Lz4,
    /// Smaller files for more CPU.
    Zstd,
    /// Raw chunks.
    None,
}

impl RecordCompression {
    fn mcap(self) -> Option<Compression> {
        match self {
            RecordCompression::Lz4 => Some(Compression::Lz4),
            RecordCompression::Zstd => Some(Compression::Zstd),
            RecordCompression::None => None,
        }
    }
}

/// When to stop recording (besides SIGINT/SIGTERM).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordLimit {
    pub frames: Option<u64>,
    pub duration: Option<Duration>,
}

/// What `record` did: printed at the end (`--json`: this document) and written into the file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecordSummary {
    pub output: PathBuf,
    pub namespace: String,
    pub compression: RecordCompression,
    pub frames_written: u64,
    pub detections_written: u64,
    pub seconds: f64,
    /// Size of the finished file.
    pub bytes: u64,
    /// Places where frame numbers jumped within one writer session (frames the recorder or
    /// the daemon missed).
    pub gaps: u64,
    pub frames_missed: u64,
    /// Writer sessions recorded: 1 + mode changes + daemon restarts.
    pub sessions: u64,
    pub mode_changes: u64,
    pub daemon_restarts: u64,
    /// Why recording ended early, if it did (the file is still finished and valid).
    pub error: Option<String>,
}

/// Most gaps listed one by one in the file's `aaa.recording` record.
const MAX_GAPS_LISTED: usize = 1000;

/// One frame as the recorder writes it: what a [`FrameBuf`] holds, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct FrameParts<'a> {
    pub geometry: Geometry,
    pub rgb: &'a [u8],
    /// Tightly packed Z16, `None` for a colour-only writer.
    pub depth: Option<&'a [u8]>,
    /// The metadata JSON exactly as published.
    pub metadata_json: &'a [u8],
}

impl<'a> FrameParts<'a> {
    pub fn of(frame: &'a FrameBuf) -> Option<Self> {
        Some(FrameParts {
            geometry: frame.geometry()?,
            rgb: frame.rgb(),
            depth: frame.depth(),
            metadata_json: frame.metadata_json(),
        })
    }
}

/// A channel and its message counter.
#[derive(Debug, Clone, Copy)]
struct Channel {
    id: u16,
    sequence: u32,
}

impl Channel {
    fn header(&mut self, time_ns: u64) -> MessageHeader {
        self.sequence = self.sequence.wrapping_add(1);
        MessageHeader {
            channel_id: self.id,
            sequence: self.sequence,
            log_time: time_ns,
            publish_time: time_ns,
        }
    }
}

/// The MCAP side of recording: frames and detections in, a valid file out. Reuses one
/// message buffer, so writing a frame allocates only what `mcap` does.
pub struct McapRecorder<W: Write + Seek> {
    writer: mcap::Writer<W>,
    color: Channel,
    depth: Channel,
    camera_info: Channel,
    metadata: Channel,
    detections: Option<Channel>,
    string_schema: u16,
    message: Vec<u8>,
}

/// `ros2msg` schemas and CDR channels, as the `ros2` profile wants them.
fn add_channel(
    writer: &mut mcap::Writer<impl Write + Seek>,
    schema_id: u16,
    topic: &str,
) -> mcap::McapResult<Channel> {
    let id = writer.add_channel(schema_id, topic, "cdr", &BTreeMap::new())?;
    Ok(Channel { id, sequence: 0 })
}

impl<W: Write + Seek> McapRecorder<W> {
    pub fn new(out: W, compression: RecordCompression) -> mcap::McapResult<Self> {
        let mut writer = WriteOptions::new()
            .profile("ros2")
            .library(concat!("aaa-camera-daemon ", env!("CARGO_PKG_VERSION")))
            .compression(compression.mcap())
            // Compress on this thread only: recording must not take the capture host's cores.
            .compression_threads(0)
            .create(out)?;
        let image_schema =
            writer.add_schema(image::SCHEMA_NAME, "ros2msg", image::SCHEMA_TEXT.as_bytes())?;
        let info_schema = writer.add_schema(
            camera_info::SCHEMA_NAME,
            "ros2msg",
            camera_info::SCHEMA_TEXT.as_bytes(),
        )?;
        let string_schema = writer.add_schema(
            string_message::SCHEMA_NAME,
            "ros2msg",
            string_message::SCHEMA_TEXT.as_bytes(),
        )?;
        Ok(McapRecorder {
            color: add_channel(&mut writer, image_schema, COLOR_TOPIC)?,
            depth: add_channel(&mut writer, image_schema, DEPTH_TOPIC)?,
            camera_info: add_channel(&mut writer, info_schema, CAMERA_INFO_TOPIC)?,
            metadata: add_channel(&mut writer, string_schema, METADATA_TOPIC)?,
            detections: None,
            string_schema,
            writer,
            message: Vec::new(),
        })
    }

    /// Writes one frame: metadata, camera info, depth, then colour (a replay takes colour as
    /// the end of a frame), all stamped with the capture time.
    pub fn write_frame(
        &mut self,
        frame: FrameParts<'_>,
        metadata: &FrameMetadata,
    ) -> mcap::McapResult<()> {
        let stamp_ns = metadata.capture_wall_ns;
        let Geometry { width, height, .. } = frame.geometry;
        let header = self.metadata.header(stamp_ns);
        let json = frame_messages::metadata_message(frame.metadata_json).encode();
        self.writer.write_to_known_channel(&header, &json)?;
        if let Some(info) = frame_messages::camera_info(metadata) {
            let header = self.camera_info.header(stamp_ns);
            self.writer
                .write_to_known_channel(&header, &info.encode())?;
        }
        if let (Some(depth), Some(depth_scale_m)) = (frame.depth, metadata.depth_scale_m) {
            let image = frame_messages::depth_image(stamp_ns, width, height, depth, depth_scale_m);
            image.encode_into(&mut self.message);
            let header = self.depth.header(stamp_ns);
            self.writer.write_to_known_channel(&header, &self.message)?;
        }
        let image = frame_messages::color_image(stamp_ns, width, height, frame.rgb);
        image.encode_into(&mut self.message);
        let header = self.color.header(stamp_ns);
        self.writer.write_to_known_channel(&header, &self.message)
    }

    /// Writes a detection result (its JSON) on [`DETECTIONS_TOPIC`], stamped `time_ns`.
    pub fn write_detections(
        &mut self,
        result: &DetectionResult,
        time_ns: u64,
    ) -> anyhow::Result<()> {
        let channel = match &mut self.detections {
            Some(channel) => channel,
            None => self.detections.insert(add_channel(
                &mut self.writer,
                self.string_schema,
                DETECTIONS_TOPIC,
            )?),
        };
        let message = StringMessage {
            data: serde_json::to_string(result)?,
        };
        let header = channel.header(time_ns);
        self.writer
            .write_to_known_channel(&header, &message.encode())?;
        Ok(())
    }

    /// An MCAP metadata record (`name`, string pairs).
    pub fn write_note(
        &mut self,
        name: &str,
        pairs: impl IntoIterator<Item = (&'static str, String)>,
    ) -> mcap::McapResult<()> {
        let metadata = pairs
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
        self.writer.write_metadata(&Metadata {
            name: name.to_owned(),
            metadata,
        })
    }

    /// Writes the summary and footer; the file is complete afterwards.
    pub fn finish(mut self) -> mcap::McapResult<W> {
        self.writer.finish()?;
        Ok(self.writer.into_inner())
    }
}

/// Why the recorder moved to another writer session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionStart {
    Start,
    ModeChange,
    DaemonRestart,
}

impl SessionStart {
    fn as_str(self) -> &'static str {
        match self {
            SessionStart::Start => "start",
            SessionStart::ModeChange => "mode change",
            SessionStart::DaemonRestart => "daemon restart",
        }
    }
}

/// What `record` needs.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    pub output: PathBuf,
    pub namespace: Namespace,
    pub runtime_dir: PathBuf,
    pub compression: RecordCompression,
    pub limit: RecordLimit,
}

/// The recording loop's state besides the file.
struct Session {
    summary: RecordSummary,
    gap_list: Vec<(u64, u64)>,
    last_frame_number: Option<u64>,
    detections: DetectionsFollower,
}

impl Session {
    /// Counts a jump in frame numbers within the session.
    fn check_gap(&mut self, frame_number: u64) {
        if let Some(last) = self.last_frame_number {
            let missed = frame_number.saturating_sub(last).saturating_sub(1);
            if missed > 0 {
                self.summary.gaps += 1;
                self.summary.frames_missed += missed;
                tracing::warn!("missed {missed} frames after frame {last}");
                if self.gap_list.len() < MAX_GAPS_LISTED {
                    self.gap_list.push((last, missed));
                }
            }
        }
        self.last_frame_number = Some(frame_number);
    }
}

/// Records until the limit, SIGINT/SIGTERM, or an error that ends the recording; the file is
/// finished in every case once it was created. `progress` gets a line per second.
pub fn record(
    config: &RecordConfig,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<RecordSummary> {
    signals::install().context("cannot install signal handlers")?;
    let namespace = &config.namespace;
    let mut reader = open_settled(namespace, &config.runtime_dir)
        .with_context(|| format!("cannot read namespace {namespace}"))?;
    let file = File::create(&config.output)
        .with_context(|| format!("cannot create {}", config.output.display()))?;
    let mut recorder = McapRecorder::new(BufWriter::new(file), config.compression)
        .with_context(|| format!("cannot write {}", config.output.display()))?;
    let mut session = Session {
        summary: RecordSummary {
            output: config.output.clone(),
            namespace: namespace.to_string(),
            compression: config.compression,
            ..RecordSummary::default()
        },
        gap_list: Vec::new(),
        last_frame_number: None,
        detections: DetectionsFollower::new(namespace.clone()),
    };
    let started = Instant::now();
    let outcome = record_into(
        config,
        &mut reader,
        &mut recorder,
        &mut session,
        &mut progress,
    );
    if let Err(error) = &outcome {
        session.summary.error = Some(format!("{error:#}"));
    }
    let summary = &mut session.summary;
    summary.seconds = started.elapsed().as_secs_f64();
    let gaps_json = serde_json::to_string(&session.gap_list)?;
    recorder.write_note(
        "aaa.recording",
        [
            ("frames", summary.frames_written.to_string()),
            ("detections", summary.detections_written.to_string()),
            ("gaps", summary.gaps.to_string()),
            ("frames_missed", summary.frames_missed.to_string()),
            ("gap_list", gaps_json),
            ("sessions", summary.sessions.to_string()),
            ("mode_changes", summary.mode_changes.to_string()),
            ("daemon_restarts", summary.daemon_restarts.to_string()),
            ("error", summary.error.clone().unwrap_or_default()),
        ],
    )?;
    let mut out = recorder
        .finish()
        .with_context(|| format!("cannot finish {}", config.output.display()))?;
    out.flush()
        .with_context(|| format!("cannot write {}", config.output.display()))?;
    summary.bytes = std::fs::metadata(&config.output).map_or(0, |meta| meta.len());
    Ok(session.summary)
}

/// Notes a new writer session in the file.
fn start_session(
    recorder: &mut McapRecorder<impl Write + Seek>,
    session: &mut Session,
    reader: &Reader,
    why: SessionStart,
) -> anyhow::Result<()> {
    session.summary.sessions += 1;
    session.last_frame_number = None;
    session.detections.reset();
    let geometry = reader.geometry();
    if why != SessionStart::Start {
        tracing::info!(
            "recording goes on after a {}: {}x{}",
            why.as_str(),
            geometry.width,
            geometry.height
        );
    }
    recorder.write_note(
        "aaa.session",
        [
            ("index", session.summary.sessions.to_string()),
            ("reason", why.as_str().to_owned()),
            ("width", geometry.width.to_string()),
            ("height", geometry.height.to_string()),
            ("writer_pid", reader.writer_pid().to_string()),
            ("started_wall_ns", shmproto::wall_now_ns().to_string()),
        ],
    )?;
    Ok(())
}

/// Records the daemon's newest detection result if it is new.
fn record_detections(
    recorder: &mut McapRecorder<impl Write + Seek>,
    session: &mut Session,
) -> anyhow::Result<()> {
    if let Some(published) = session.detections.poll() {
        recorder.write_detections(&published.result, shmproto::wall_now_ns())?;
        session.summary.detections_written += 1;
    }
    Ok(())
}

/// How long the recorder waits for a stopped daemon to come back before it gives up.
const RESTART_PATIENCE: Duration = Duration::from_secs(30);

/// Waits for a daemon in the namespace again (after a restart), until `RESTART_PATIENCE`,
/// the limit or a signal; `None` when recording should end.
fn wait_for_daemon(config: &RecordConfig, done: &dyn Fn() -> bool) -> Option<Reader> {
    let deadline = Instant::now() + RESTART_PATIENCE;
    while Instant::now() < deadline && !done() {
        if let Ok(reader) = Reader::open(&config.namespace) {
            return Some(reader);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn record_into(
    config: &RecordConfig,
    reader: &mut Reader,
    recorder: &mut McapRecorder<BufWriter<File>>,
    session: &mut Session,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    let started = Instant::now();
    let limit = config.limit;
    let done = |frames: u64| {
        signals::stop_requested()
            || limit.frames.is_some_and(|most| frames >= most)
            || limit.duration.is_some_and(|most| started.elapsed() >= most)
    };
    start_session(recorder, session, reader, SessionStart::Start)?;
    let mut frame = FrameBuf::new();
    let mut last_progress = Instant::now();
    while !done(session.summary.frames_written) {
        match reader.wait_next(&mut frame, Duration::from_millis(100)) {
            Ok(true) => {
                let (Some(parts), Ok(metadata)) = (FrameParts::of(&frame), frame.metadata()) else {
                    tracing::warn!(
                        "frame {} has no valid metadata; skipped",
                        frame.frame_number()
                    );
                    continue;
                };
                session.check_gap(frame.frame_number());
                recorder
                    .write_frame(parts, &metadata)
                    .with_context(|| format!("cannot write {}", config.output.display()))?;
                session.summary.frames_written += 1;
                record_detections(recorder, session)?;
            }
            Ok(false) => {}
            Err(
                ReadError::WriterGone(Liveness::Replaced { .. }) | ReadError::SegmentLost { .. },
            ) => {
                *reader = Reader::open_waiting(&config.namespace, Duration::from_secs(2))
                    .context("the daemon moved to new segments that cannot be read")?;
                session.summary.mode_changes += 1;
                start_session(recorder, session, reader, SessionStart::ModeChange)?;
            }
            Err(ReadError::WriterGone(liveness)) => {
                tracing::warn!("daemon gone ({liveness}); waiting for it to come back");
                progress(&format!(
                    "daemon gone ({liveness}); waiting for it to come back"
                ));
                let frames = session.summary.frames_written;
                let Some(new_reader) = wait_for_daemon(config, &|| done(frames)) else {
                    if done(frames) {
                        break;
                    }
                    anyhow::bail!(
                        "the daemon did not come back within {} s",
                        RESTART_PATIENCE.as_secs()
                    );
                };
                *reader = new_reader;
                session.summary.daemon_restarts += 1;
                start_session(recorder, session, reader, SessionStart::DaemonRestart)?;
            }
            Err(error) => return Err(error).context("cannot read frames"),
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            let bytes = std::fs::metadata(&config.output).map_or(0, |meta| meta.len());
            progress(&format!(
                "{} frames, {:.1} MB, {} gaps",
                session.summary.frames_written,
                bytes as f64 / 1e6,
                session.summary.gaps
            ));
        }
    }
    Ok(())
}

/// The summary for people.
pub fn render(summary: &RecordSummary) -> String {
    let mut out = format!(
        "recorded {} frames ({} detection results) in {:.1} s to {} ({:.1} MB, {:?}); {} gaps ({} frames missed); {} sessions ({} mode changes, {} daemon restarts)",
        summary.frames_written,
        summary.detections_written,
        summary.seconds,
        summary.output.display(),
        summary.bytes as f64 / 1e6,
        summary.compression,
        summary.gaps,
        summary.frames_missed,
        summary.sessions,
        summary.mode_changes,
        summary.daemon_restarts,
    );
    if let Some(error) = &summary.error {
        out.push_str(&format!(
            "\nstopped early: {error}; the file is complete up to there"
        ));
    }
    out
}
