//! The publishing side: an unprivileged reader of the local segments that publishes each new
//! frame on Zenoh, while someone subscribes.
//!
//! Newest wins, at both ends of the link:
//! - the bridge reads the newest frame from shared memory each time it is ready for one, so a
//!   frame that could not be sent in time is skipped, never queued;
//! - the images are published with `CongestionControl::Block`: when the link is slower than
//!   the frames, `put` waits for room in Zenoh's small transmission queue (2 batches of 64 KB
//!   for the data priority) instead of dropping. A dropped fragment loses the whole 1.5 MB
//!   message (Zenoh's default, `Drop`, drops fragments of large messages under congestion, so
//!   on a slow link no frame might ever arrive whole); blocking here costs nothing because the
//!   next frame is read fresh when `put` returns. The latency a slow link adds is bounded by
//!   that queue, not by a backlog;
//! - subscribers ([`crate::RemoteFeed`]) take samples in a callback that never blocks and keep
//!   only the newest complete frame, so a slow consumer never slows the link.
//!
//! Nothing is encoded or sent while no subscriber matches a key (Zenoh's matching status).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use shmproto::{
    DetectionsFollower, FrameBuf, Namespace, OpenError, ReadError, Reader, SegmentError,
};
use zenoh::pubsub::Publisher;
use zenoh::qos::{CongestionControl, Priority};
use zenoh::query::Queryable;
use zenoh::{Session, Wait};

use crate::error::BridgeError;
use crate::keys::{self, KeyPrefix};
use crate::messages::{cdr_encoding, DepthEncoding, FrameEncoder};
use crate::session::SessionSettings;

/// How often the bridge looks for the daemon's segments while there are none.
const PROBE_PERIOD: Duration = Duration::from_millis(250);
/// Longest a read blocks before the bridge checks whether it should stop.
const WAIT_SLICE: Duration = Duration::from_millis(200);

/// What the bridge is asked to do.
#[derive(Debug, Clone)]
pub struct BridgeSettings {
    pub namespace: Namespace,
    pub prefix: KeyPrefix,
    pub depth_encoding: DepthEncoding,
    pub session: SessionSettings,
}

/// What the bridge did, for its log and its tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeStats {
    /// Frames read from shared memory.
    pub frames_read: u64,
    /// Frames published (at least one key had a subscriber).
    pub frames_published: u64,
    /// Frames read while nobody subscribed: not encoded, not sent.
    pub frames_unwatched: u64,
    /// Bytes handed to Zenoh, all keys.
    pub bytes_published: u64,
}

/// One event worth a line in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeEvent {
    /// The daemon's segments were opened.
    DaemonFound { detail: String },
    /// The daemon is not there (yet); the bridge keeps looking.
    DaemonMissing { reason: String },
    /// The daemon stopped or died; the bridge waits for the next one.
    DaemonLost { reason: String },
    /// The first subscriber appeared (true) or the last one left (false).
    Watched(bool),
}

/// The bridge: its Zenoh session, publishers and camera-info queryable.
pub struct Bridge {
    settings: BridgeSettings,
    // Declared before the session so that they are undeclared first.
    color: Publisher<'static>,
    depth: Publisher<'static>,
    camera_info: Publisher<'static>,
    metadata: Publisher<'static>,
    detections: Publisher<'static>,
    /// The daemon's detection results, when it detects.
    detection_results: DetectionsFollower,
    _camera_info_queryable: Queryable<()>,
    latest_camera_info: Arc<Mutex<Option<Vec<u8>>>>,
    encoder: FrameEncoder,
    stats: BridgeStats,
    watched: bool,
    _session: Session,
}

impl Bridge {
    /// Opens the session (listening fails at once when the port is taken) and declares the
    /// publishers and the camera-info queryable. The daemon need not run yet.
    pub fn open(settings: BridgeSettings) -> Result<Self, BridgeError> {
        let session = settings.session.open()?;
        let image = |suffix: &str, schema_name: &str| {
            session
                .declare_publisher(settings.prefix.key(suffix))
                .encoding(cdr_encoding(schema_name))
                .congestion_control(CongestionControl::Block)
                .priority(Priority::Data)
                .wait()
                .map_err(BridgeError::zenoh)
        };
        let color = image(keys::COLOR, ros_messages::image::SCHEMA_NAME)?;
        let depth = image(keys::DEPTH, settings.depth_encoding.schema_name())?;
        let small = |suffix: &str, schema_name: &str| {
            session
                .declare_publisher(settings.prefix.key(suffix))
                .encoding(cdr_encoding(schema_name))
                .congestion_control(CongestionControl::Block)
                // Small and needed with every frame: sent at once, not batched.
                .express(true)
                .wait()
                .map_err(BridgeError::zenoh)
        };
        let camera_info = small(keys::CAMERA_INFO, ros_messages::camera_info::SCHEMA_NAME)?;
        let metadata = small(keys::METADATA, ros_messages::string_message::SCHEMA_NAME)?;
        let detections = small(keys::DETECTIONS, ros_messages::string_message::SCHEMA_NAME)?;

        let latest_camera_info: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
        let answer = Arc::clone(&latest_camera_info);
        let camera_info_key = settings.prefix.key(keys::CAMERA_INFO);
        let reply_key = camera_info_key.clone();
        let queryable = session
            .declare_queryable(camera_info_key)
            .callback(move |query| {
                let latest = answer
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                if let Some(bytes) = latest {
                    let reply = query
                        .reply(reply_key.as_str(), bytes)
                        .encoding(cdr_encoding(ros_messages::camera_info::SCHEMA_NAME));
                    if let Err(error) = reply.wait() {
                        tracing::debug!("camera info query not answered: {error}");
                    }
                }
            })
            .wait()
            .map_err(BridgeError::zenoh)?;
        Ok(Bridge {
            encoder: FrameEncoder::new(settings.depth_encoding),
            detection_results: DetectionsFollower::new(settings.namespace.clone()),
            settings,
            color,
            depth,
            camera_info,
            metadata,
            detections,
            _camera_info_queryable: queryable,
            latest_camera_info,
            stats: BridgeStats::default(),
            watched: false,
            _session: session,
        })
    }

    pub fn stats(&self) -> &BridgeStats {
        &self.stats
    }

    /// Bridges frames until `stop` returns true: finds the daemon, publishes its frames,
    /// follows it across restarts. `event` hears of what changed.
    pub fn run(
        &mut self,
        stop: &dyn Fn() -> bool,
        event: &mut dyn FnMut(BridgeEvent),
    ) -> Result<(), BridgeError> {
        let mut frame = FrameBuf::new();
        let mut missing_said = false;
        while !stop() {
            let mut reader = match Reader::open(&self.settings.namespace) {
                Ok(reader) => reader,
                Err(error) => {
                    if !missing_said {
                        event(BridgeEvent::DaemonMissing {
                            reason: describe_open_error(&self.settings.namespace, &error),
                        });
                        missing_said = true;
                    }
                    sleep_unless(stop, PROBE_PERIOD);
                    continue;
                }
            };
            missing_said = false;
            self.detection_results.reset();
            event(BridgeEvent::DaemonFound {
                detail: format!(
                    "namespace {}, writer pid {}, {}x{}",
                    self.settings.namespace,
                    reader.writer_pid(),
                    reader.geometry().width,
                    reader.geometry().height
                ),
            });
            while !stop() {
                match reader.wait_next(&mut frame, WAIT_SLICE) {
                    Ok(true) => self.publish(&frame, event)?,
                    Ok(false) => {}
                    Err(error) => {
                        event(BridgeEvent::DaemonLost {
                            reason: error.to_string(),
                        });
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Publishes one frame's messages on the keys someone subscribes to.
    fn publish(
        &mut self,
        frame: &FrameBuf,
        event: &mut dyn FnMut(BridgeEvent),
    ) -> Result<(), BridgeError> {
        self.stats.frames_read += 1;
        let wanted = Wanted {
            color: matching(&self.color)?,
            depth: matching(&self.depth)?,
            camera_info: matching(&self.camera_info)?,
            metadata: matching(&self.metadata)?,
            detections: matching(&self.detections)?,
        };
        // Every new result is taken, so that a subscriber arriving later gets new ones only.
        if let Some(published) = self.detection_results.poll() {
            if wanted.detections {
                let bytes = self.encoder.detections(&published.result)?;
                self.stats.bytes_published += bytes.len() as u64;
                self.detections
                    .put(bytes)
                    .wait()
                    .map_err(BridgeError::zenoh)?;
            }
        }
        let watched = wanted.any();
        if watched != self.watched {
            self.watched = watched;
            event(BridgeEvent::Watched(watched));
        }
        let metadata = match frame.metadata() {
            Ok(metadata) => metadata,
            Err(error @ ReadError::Metadata(_)) => {
                tracing::warn!("frame {} skipped: {error}", frame.frame_number());
                return Ok(());
            }
            Err(error) => return Err(BridgeError::Local(error.to_string())),
        };
        // The camera info is kept current for the queryable even while nobody subscribes.
        if let Some(camera_info) = self.encoder.camera_info(frame, &metadata) {
            *self
                .latest_camera_info
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(camera_info.clone());
            if wanted.camera_info {
                self.stats.bytes_published += camera_info.len() as u64;
                self.camera_info
                    .put(camera_info)
                    .wait()
                    .map_err(BridgeError::zenoh)?;
            }
        }
        if !watched {
            self.stats.frames_unwatched += 1;
            return Ok(());
        }
        let started = Instant::now();
        // Metadata first and colour last: a subscriber completes the frame on its colour.
        if wanted.metadata || wanted.color || wanted.depth {
            let bytes = self.encoder.metadata(frame);
            self.stats.bytes_published += bytes.len() as u64;
            self.metadata
                .put(bytes)
                .wait()
                .map_err(BridgeError::zenoh)?;
        }
        if wanted.depth {
            if let Some(bytes) = self.encoder.depth(frame, &metadata)? {
                self.stats.bytes_published += bytes.len() as u64;
                self.depth.put(bytes).wait().map_err(BridgeError::zenoh)?;
            }
        }
        if wanted.color {
            let bytes = self.encoder.color(frame, &metadata)?;
            self.stats.bytes_published += bytes.len() as u64;
            self.color.put(bytes).wait().map_err(BridgeError::zenoh)?;
        }
        self.stats.frames_published += 1;
        tracing::trace!(
            "frame {} published in {:?}",
            frame.frame_number(),
            started.elapsed()
        );
        Ok(())
    }
}

/// Which keys have subscribers now.
struct Wanted {
    color: bool,
    depth: bool,
    camera_info: bool,
    metadata: bool,
    detections: bool,
}

impl Wanted {
    /// Whether anyone wants the frames (detections alone do not need them).
    fn any(&self) -> bool {
        self.color || self.depth || self.camera_info || self.metadata
    }
}

fn matching(publisher: &Publisher<'_>) -> Result<bool, BridgeError> {
    let status = publisher
        .matching_status()
        .wait()
        .map_err(BridgeError::zenoh)?;
    Ok(status.matching())
}

fn sleep_unless(stop: &dyn Fn() -> bool, duration: Duration) {
    let deadline = Instant::now() + duration;
    while !stop() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn describe_open_error(namespace: &Namespace, error: &OpenError) -> String {
    match error {
        OpenError::Segment(SegmentError::NotFound { segment }) => format!(
            "no daemon in namespace {namespace} (segment {segment} does not exist); waiting for one"
        ),
        other => format!("cannot read namespace {namespace}: {other}; retrying"),
    }
}
