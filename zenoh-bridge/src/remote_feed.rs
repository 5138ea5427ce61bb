//! The subscribing side: frames from a bridge, put back together, newest first.
//!
//! Zenoh delivers samples to a callback on its own threads; the callback only sorts them
//! (reading the stamp, and the metadata JSON, which is small) into an [`Assembler`] and never
//! blocks, so a slow consumer never slows the link. The newest complete frame waits in one
//! slot; a newer one replaces it. Decoding (CDR, RVL, zstd) happens in [`RemoteFeed::next_frame`],
//! on the consumer's thread, for the frames it takes.
//!
//! Zenoh reconnects by itself (peer mode, with the endpoint to connect to): a bridge that
//! restarts is found again within a second, and frames flow again without anything done here.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use shmproto::{DetectionResult, FrameMetadata, Geometry};
use zenoh::bytes::ZBytes;
use zenoh::pubsub::Subscriber;
use zenoh::sample::Sample;
use zenoh::{Session, Wait};

use crate::assembler::{Assembler, PartKind, Parts};
use crate::error::BridgeError;
use crate::keys::{self, KeyPrefix};
use crate::messages::{self, CameraInfo};
use crate::session::SessionSettings;

/// Detection results kept until the consumer takes them; older ones are dropped.
const DETECTIONS_KEPT: usize = 8;

/// How long a camera-info query waits for the bridge's answer.
const CAMERA_INFO_QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// One frame received from a bridge, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteFrame {
    /// The frame's metadata as the daemon wrote it (frame number, capture times,
    /// intrinsics, depth scale).
    pub metadata: FrameMetadata,
    /// Colour and (when there is depth) depth geometry.
    pub geometry: Geometry,
    /// Tightly packed RGB8.
    pub rgb: Vec<u8>,
    /// Depth in the source's units, row by row; `None` for colour-only sources.
    pub depth_units: Option<Vec<u16>>,
    /// How the depth travelled: `16UC1`, `16UC1; compressedDepth rvl` or `zstd`.
    pub depth_format: Option<String>,
    /// Bytes of the frame's messages on the wire (colour, depth, metadata).
    pub wire_bytes: usize,
    /// When its last part arrived, nanoseconds since the Unix epoch.
    pub received_wall_ns: u64,
}

/// Counters of a feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoteStats {
    /// Frames whose parts all arrived.
    pub frames_completed: u64,
    /// Complete frames replaced by a newer one before the consumer took them.
    pub frames_replaced: u64,
    /// Parts thrown away: late, or of frames that never completed.
    pub parts_discarded: u64,
    /// Samples that could not be read (not our messages, or damaged).
    pub samples_rejected: u64,
    /// Camera-info messages received (published, or answers to the query).
    pub camera_infos: u64,
    /// Detection results received (the daemon detects).
    pub detection_results: u64,
}

/// A message's payload with what the callback learnt from it.
#[derive(Debug)]
enum Part {
    Image {
        payload: ZBytes,
        compressed: bool,
    },
    Metadata {
        metadata: FrameMetadata,
        wire_bytes: usize,
    },
}

#[derive(Default)]
struct Inbox {
    assembler: Assembler<Part>,
    complete: Option<(Parts<Part>, u64)>,
    camera_info: Option<ZBytes>,
    detections: VecDeque<DetectionResult>,
    stats: RemoteStats,
    last_rejection: Option<String>,
}

#[derive(Default)]
struct Shared {
    inbox: Mutex<Inbox>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Frames of one camera (one key prefix) from a bridge.
pub struct RemoteFeed {
    shared: Arc<Shared>,
    prefix: KeyPrefix,
    endpoint: String,
    // Undeclared before the session closes.
    _subscriber: Subscriber<()>,
    session: Session,
}

impl RemoteFeed {
    /// Opens a session with `settings` (usually connecting to the bridge's endpoint) and
    /// subscribes to `prefix`'s keys. Succeeds without the bridge: frames come when it does.
    pub fn open(settings: &SessionSettings, prefix: &KeyPrefix) -> Result<Self, BridgeError> {
        let session = settings.open()?;
        let shared = Arc::new(Shared::default());
        let sink = Arc::clone(&shared);
        let sorting_prefix = prefix.clone();
        let subscriber = session
            .declare_subscriber(prefix.all())
            .callback(move |sample| sort_sample(&sink, &sorting_prefix, &sample))
            .wait()
            .map_err(BridgeError::zenoh)?;
        let feed = RemoteFeed {
            shared,
            prefix: prefix.clone(),
            endpoint: settings.describe(),
            _subscriber: subscriber,
            session,
        };
        feed.query_camera_info();
        Ok(feed)
    }

    pub fn prefix(&self) -> &KeyPrefix {
        &self.prefix
    }

    /// "connecting to tcp/...", for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether a bridge (or another peer) is connected now.
    pub fn connected(&self) -> bool {
        self.session.info().peers_zid().wait().next().is_some()
    }

    /// Asks the bridge's queryable for the latest camera info (late joiners; after a
    /// reconnection). The answer arrives in the background.
    pub fn query_camera_info(&self) {
        let sink = Arc::clone(&self.shared);
        let result = self
            .session
            .get(self.prefix.key(keys::CAMERA_INFO))
            .timeout(CAMERA_INFO_QUERY_TIMEOUT)
            .callback(move |reply| {
                if let Ok(sample) = reply.result() {
                    let mut inbox = sink.lock();
                    inbox.camera_info = Some(sample.payload().clone());
                    inbox.stats.camera_infos += 1;
                }
            })
            .wait();
        if let Err(error) = result {
            tracing::debug!("camera info query not sent: {error}");
        }
    }

    /// The latest camera info received, decoded.
    pub fn camera_info(&self) -> Option<Result<CameraInfo, BridgeError>> {
        let payload = self.shared.lock().camera_info.clone()?;
        Some(messages::decode_camera_info(&payload.to_bytes()))
    }

    pub fn stats(&self) -> RemoteStats {
        let inbox = self.shared.lock();
        RemoteStats {
            parts_discarded: inbox.assembler.discarded_parts,
            ..inbox.stats
        }
    }

    /// The detection results received since the last call, oldest first (at most the last
    /// few: a consumer that does not ask loses the older ones).
    pub fn take_detections(&self) -> Vec<DetectionResult> {
        self.shared.lock().detections.drain(..).collect()
    }

    /// Why the last rejected sample was rejected.
    pub fn last_rejection(&self) -> Option<String> {
        self.shared.lock().last_rejection.clone()
    }

    /// Waits up to `timeout` for a complete frame newer than the last one taken and decodes
    /// it. `Ok(None)` when none came; an error when the frame's messages do not decode.
    pub fn next_frame(&self, timeout: Duration) -> Result<Option<RemoteFrame>, BridgeError> {
        let deadline = Instant::now() + timeout;
        let mut inbox = self.shared.lock();
        let (parts, received_wall_ns) = loop {
            if let Some(complete) = inbox.complete.take() {
                break complete;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            inbox = self
                .shared
                .ready
                .wait_timeout(inbox, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        drop(inbox);
        decode_parts(parts, received_wall_ns).map(Some)
    }
}

/// The Zenoh callback: files one sample into the inbox.
fn sort_sample(shared: &Shared, prefix: &KeyPrefix, sample: &Sample) {
    let payload = sample.payload();
    let suffix = prefix.suffix_of(sample.key_expr().as_str());
    let part = match suffix {
        Some(keys::COLOR) | Some(keys::DEPTH) => {
            let kind = if suffix == Some(keys::COLOR) {
                PartKind::Color
            } else {
                PartKind::Depth
            };
            messages::stamp_of(&payload.to_bytes()).map(|stamp_ns| {
                (
                    kind,
                    stamp_ns,
                    Part::Image {
                        payload: payload.clone(),
                        compressed: messages::is_compressed_image(sample.encoding()),
                    },
                )
            })
        }
        Some(keys::METADATA) => messages::decode_metadata(&payload.to_bytes()).map(|metadata| {
            (
                PartKind::Metadata {
                    has_depth: metadata.depth_scale_m.is_some(),
                },
                metadata.capture_wall_ns,
                Part::Metadata {
                    metadata,
                    wire_bytes: payload.len(),
                },
            )
        }),
        Some(keys::CAMERA_INFO) => {
            let mut inbox = shared.lock();
            inbox.camera_info = Some(payload.clone());
            inbox.stats.camera_infos += 1;
            return;
        }
        Some(keys::DETECTIONS) => {
            let decoded = messages::decode_detections(&payload.to_bytes());
            let mut inbox = shared.lock();
            match decoded {
                Ok(result) => {
                    if inbox.detections.len() == DETECTIONS_KEPT {
                        inbox.detections.pop_front();
                    }
                    inbox.detections.push_back(result);
                    inbox.stats.detection_results += 1;
                }
                Err(error) => {
                    inbox.stats.samples_rejected += 1;
                    inbox.last_rejection = Some(format!("{}: {error}", sample.key_expr()));
                }
            }
            return;
        }
        // Whatever else shares the prefix is not part of a frame.
        _ => return,
    };
    let mut inbox = shared.lock();
    let (kind, stamp_ns, part) = match part {
        Ok(part) => part,
        Err(error) => {
            inbox.stats.samples_rejected += 1;
            inbox.last_rejection = Some(format!("{}: {error}", sample.key_expr()));
            return;
        }
    };
    if let Some(complete) = inbox.assembler.offer(kind, stamp_ns, part) {
        inbox.stats.frames_completed += 1;
        if inbox
            .complete
            .replace((complete, shmproto::wall_now_ns()))
            .is_some()
        {
            inbox.stats.frames_replaced += 1;
        }
        shared.ready.notify_all();
    }
}

fn decode_parts(parts: Parts<Part>, received_wall_ns: u64) -> Result<RemoteFrame, BridgeError> {
    let Some(Part::Metadata {
        metadata,
        wire_bytes: metadata_bytes,
    }) = parts.metadata
    else {
        return Err(BridgeError::Decode(
            "a frame without its metadata".to_owned(),
        ));
    };
    let Some(Part::Image { payload: color, .. }) = parts.color else {
        return Err(BridgeError::Decode("a frame without its colour".to_owned()));
    };
    let color_bytes = color.to_bytes();
    let (width, height, rgb) = messages::decode_color(&color_bytes)?;
    let mut wire_bytes = metadata_bytes + color_bytes.len();
    let (depth_units, depth_format) = match parts.depth {
        Some(Part::Image {
            payload,
            compressed,
        }) => {
            let bytes = payload.to_bytes();
            wire_bytes += bytes.len();
            let depth = messages::decode_depth(&bytes, compressed, &metadata, width, height)?;
            (Some(depth.units), Some(depth.format))
        }
        _ => (None, None),
    };
    let geometry = if depth_units.is_some() {
        Geometry::rgbd(width, height)
    } else {
        Geometry::rgb_only(width, height)
    };
    Ok(RemoteFrame {
        metadata,
        geometry,
        rgb,
        depth_units,
        depth_format,
        wire_bytes,
        received_wall_ns,
    })
}
