//! The capture daemon as a feed: a worker thread that waits for the daemon's segments,
//! reads frames through `shmproto` (blocking on the writer's futex, no polling loop) and
//! reconnects by itself when the daemon comes back.
//!
//! Frames are read in place (`Reader::wait_next_in_place`): the worker fills the [`Frame`]'s
//! own buffers straight from the slot in one pass (colour copied, depth converted to `u16`
//! through a small buffer), instead of copying the whole slot out and then copying and
//! converting that copy. The frame is sent only after the read proved it whole.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use shmproto::DaemonMetrics;
use shmproto::{FrameBuf, FrameView, Namespace, ReadError, Reader};

use super::link::WriterReport;
use super::local::sleep_unless_stopped;
use super::{frame_link, FeedEvent, FrameFeed, FrameLink, FrameSender, Origin};
use crate::frame::Frame;

/// How often the worker looks for the daemon's colour segment while there is none.
const PROBE_PERIOD: Duration = Duration::from_millis(250);
/// Longest a read blocks before the worker checks whether it should stop. The reader notices a
/// dead writer on its own within 250 ms, whatever this is.
const WAIT_SLICE: Duration = Duration::from_millis(200);
/// Pause after a transient open failure (the writer is starting or being replaced).
const TRANSIENT_RETRY: Duration = Duration::from_millis(50);
/// How often the worker reads the writer's status record (state, message, metrics). The
/// daemon rewrites it on every change and once a second; reading is a small copy, and the GUI
/// is woken only when something it shows changed.
const STATUS_PERIOD: Duration = Duration::from_millis(250);

/// Reads the daemon of one namespace on a worker thread.
pub struct DaemonFeed {
    link: FrameLink,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl DaemonFeed {
    /// Starts watching `namespace`; the worker reports what it finds as [`FeedEvent`]s.
    pub fn spawn(namespace: Namespace) -> std::io::Result<Self> {
        let (sender, link) = frame_link();
        let stop = Arc::new(AtomicBool::new(false));
        let worker_stop = Arc::clone(&stop);
        let worker = std::thread::Builder::new()
            .name("daemon source".to_owned())
            .spawn(move || run_worker(&namespace, sender, &worker_stop))?;
        Ok(DaemonFeed {
            link,
            stop,
            worker: Some(worker),
        })
    }
}

impl FrameFeed for DaemonFeed {
    fn origin(&self) -> Origin {
        Origin::Daemon
    }

    fn link(&self) -> &FrameLink {
        &self.link
    }
}

impl Drop for DaemonFeed {
    /// Tells the worker to stop without waiting for it (it ends within `WAIT_SLICE`).
    fn drop(&mut self) {
        // Relaxed: the flag guards no data; the worker only needs to see it eventually.
        self.stop.store(true, Ordering::Relaxed);
        drop(self.worker.take());
    }
}

/// What the worker last told the GUI while not connected, so that it says each thing once.
#[derive(PartialEq)]
enum Announced {
    Nothing,
    Searching,
    OpenFailed(String),
}

fn run_worker(namespace: &Namespace, mut sender: FrameSender, stop: &AtomicBool) {
    let should_stop =
        |sender: &FrameSender| stop.load(Ordering::Relaxed) || sender.is_viewer_gone();
    let mut announced = Announced::Nothing;
    while !should_stop(&sender) {
        if !shmproto::probe(namespace) {
            if announced != Announced::Searching {
                tracing::debug!("no daemon: {} does not exist", namespace.rgb_segment());
                sender.send_event(FeedEvent::Searching {
                    detail: format!("{} (namespace {namespace})", namespace.rgb_segment()),
                });
                announced = Announced::Searching;
            }
            sleep_unless_stopped(PROBE_PERIOD, || should_stop(&sender));
            continue;
        }
        let mut reader = match Reader::open(namespace) {
            Ok(reader) => reader,
            Err(err) => {
                let error = err.to_string();
                if announced != Announced::OpenFailed(error.clone()) {
                    tracing::warn!("cannot read the daemon: {error}");
                    sender.send_event(FeedEvent::OpenFailed {
                        error: error.clone(),
                    });
                    announced = Announced::OpenFailed(error);
                }
                let pause = if err.is_transient() {
                    TRANSIENT_RETRY
                } else {
                    PROBE_PERIOD
                };
                sleep_unless_stopped(pause, || should_stop(&sender));
                continue;
            }
        };
        announced = Announced::Nothing;
        let geometry = reader.geometry();
        tracing::info!(
            "connected to the daemon: writer pid {}, {}x{}, namespace {namespace}",
            reader.writer_pid(),
            geometry.width,
            geometry.height
        );
        sender.send_event(FeedEvent::Connected {
            detail: format!("writer pid {}", reader.writer_pid()),
        });
        let reason = read_until_lost(&mut reader, &mut sender, &should_stop);
        if let Some(reason) = reason {
            tracing::warn!("daemon lost: {reason}");
            sender.send_event(FeedEvent::Lost { reason });
            // Never reconnect in a tight loop (a writer whose segments are corrupt would be
            // reopened and lost again at once); a replaced writer is back within this pause.
            sleep_unless_stopped(TRANSIENT_RETRY, || should_stop(&sender));
        }
    }
    tracing::debug!("daemon source worker stopped");
}

/// Forwards frames until the writer goes away (returns why) or the worker must stop (`None`).
fn read_until_lost(
    reader: &mut Reader,
    sender: &mut FrameSender,
    should_stop: &impl Fn(&FrameSender) -> bool,
) -> Option<String> {
    let mut status_read_at: Option<Instant> = None;
    let mut malformed_frames = 0u64;
    while !should_stop(sender) {
        if status_read_at.is_none_or(|at| at.elapsed() >= STATUS_PERIOD) {
            status_read_at = Some(Instant::now());
            sender.report_writer(writer_report(reader));
        }
        // Only builds the frame inside the look: sending it waits until the read succeeded.
        match reader.wait_next_in_place(WAIT_SLICE, frame_from_view) {
            Ok(Some(built)) => match built {
                Ok(frame) => sender.send_frame(frame),
                // One bad frame is dropped, not a reason to disconnect (and reconnect to the
                // same frame); say so once per connection.
                Err(err) => {
                    malformed_frames += 1;
                    if malformed_frames == 1 {
                        tracing::warn!("dropping a malformed frame from the daemon: {err}");
                    }
                }
            },
            Ok(None) => {}
            // The daemon went round the ring while we built the frame (a stalled worker): the
            // frame was dropped unsent; the next read gets the newest one.
            Err(ReadError::Overwritten { publish_seq }) => {
                tracing::trace!("frame {publish_seq} overwritten while read in place");
            }
            Err(ReadError::WriterGone(liveness)) => return Some(liveness.to_string()),
            Err(err) => return Some(err.to_string()),
        }
    }
    None
}

/// The writer's status record, with the daemon's metrics parsed out of it.
fn writer_report(reader: &Reader) -> WriterReport {
    match reader.writer_status() {
        Ok(Some(status)) => WriterReport {
            state: status.state,
            message: status.message,
            // Other writers may put anything in `extra` (protocol section 11).
            metrics: serde_json::from_value::<DaemonMetrics>(status.extra).ok(),
            updated_wall_ns: status.updated_wall_ns,
            read_error: None,
        },
        Ok(None) => WriterReport {
            state: shmproto::SourceState::Starting,
            message: Some("the writer has not written a status yet".to_owned()),
            metrics: None,
            updated_wall_ns: 0,
            read_error: None,
        },
        Err(err) => WriterReport {
            state: shmproto::SourceState::Starting,
            message: None,
            metrics: None,
            updated_wall_ns: 0,
            read_error: Some(format!("cannot read the writer's status: {err}")),
        },
    }
}

/// Why a frame read from the daemon was dropped.
#[derive(Debug, thiserror::Error)]
pub enum FrameFromBufError {
    #[error("no geometry")]
    NoGeometry,
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Frame(#[from] crate::frame::FrameError),
}

/// A [`Frame`] from a frame copied out of shared memory: the copying path (a second copy of
/// the colour plane and a conversion of the depth plane). Kept for comparison in
/// `benches/frame_prep.rs`; the worker reads in place ([`frame_from_view`]).
pub fn frame_from_buf(frame_buf: &FrameBuf) -> Result<Frame, FrameFromBufError> {
    let geometry = frame_buf.geometry().ok_or(FrameFromBufError::NoGeometry)?;
    let metadata = frame_buf.metadata()?;
    Ok(Frame::from_planes(
        geometry,
        frame_buf.rgb().to_vec(),
        frame_buf.depth().unwrap_or(&[]),
        metadata,
        Some(frame_buf.publish_mono_ns()),
    )?)
}

/// A [`Frame`] built straight from a slot read in place: the colour plane copied into the
/// frame's own buffer, the depth plane converted into `u16` a chunk at a time (through a small
/// buffer that stays in cache), the metadata copied and parsed. Call it inside
/// `Reader::read_in_place` / `wait_next_in_place` and use the frame only if the read returns
/// it (a frame built from a slot the daemon overwrote meanwhile is dropped by the read).
pub fn frame_from_view(view: &FrameView<'_>) -> Result<Frame, FrameFromBufError> {
    /// Depth bytes converted per chunk: small enough to stay in L1, even (whole pixels).
    const DEPTH_CHUNK: usize = 8 * 1024;
    let geometry = view.geometry();
    let metadata = view.metadata()?;
    let mut rgb = vec![0u8; geometry.color_len()];
    view.rgb().copy_to(&mut rgb);
    let depth_units = view.depth().map(|plane| {
        let mut units = Vec::with_capacity(plane.len() / 2);
        plane.for_each_chunk(DEPTH_CHUNK, |_, bytes| {
            units.extend(
                bytes
                    .chunks_exact(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]])),
            );
        });
        units
    });
    Ok(Frame::from_depth_units(
        geometry,
        rgb,
        depth_units,
        metadata,
        Some(view.publish_mono_ns()),
    )?)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use shmproto::{FrameMetadata, Geometry, Intrinsics, SourceKind, Writer, WriterConfig};

    use super::*;

    fn next_event(link: &FrameLink, within: Duration) -> FeedEvent {
        let deadline = Instant::now() + within;
        loop {
            if let Some(event) = link.next_event() {
                return event;
            }
            assert!(Instant::now() < deadline, "no event from the daemon worker");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn publish(writer: &mut Writer, frame_number: u64, depth_mm: u16) {
        let geometry = writer.geometry();
        let metadata = FrameMetadata {
            frame_number,
            capture_wall_ns: shmproto::wall_now_ns(),
            capture_mono_ns: shmproto::monotonic_now_ns(),
            fps: 30.0,
            source_kind: SourceKind::Other,
            source_description: "app test writer".to_owned(),
            intrinsics: Some(Intrinsics::pinhole_from_fov(
                geometry.width,
                geometry.height,
                69.0,
            )),
            depth_scale_m: Some(0.001),
            depth_aligned_to_color: true,
            ground_truth: Vec::new(),
        };
        let rgb = vec![frame_number as u8; geometry.color_len()];
        let depth = depth_mm.to_le_bytes().repeat(geometry.pixel_count());
        writer.publish(&rgb, Some(&depth), &metadata).unwrap();
    }

    #[test]
    fn a_frame_read_in_place_equals_the_copied_one() {
        let namespace = Namespace::new(&format!("appip{}", std::process::id())).unwrap();
        let config = WriterConfig::new(namespace.clone(), Geometry::rgbd(32, 24));
        let mut writer = Writer::create(config).unwrap();
        let mut reader = Reader::open(&namespace).unwrap();
        let mut copier = Reader::open(&namespace).unwrap();
        publish(&mut writer, 3, 987);
        let in_place = reader
            .read_in_place(frame_from_view)
            .unwrap()
            .unwrap()
            .unwrap();
        let mut frame_buf = FrameBuf::new();
        assert!(copier.read_latest(&mut frame_buf).unwrap());
        assert_eq!(in_place, frame_from_buf(&frame_buf).unwrap());
        assert_eq!(
            in_place.depth_units.as_ref().and_then(|d| d.last()),
            Some(&987)
        );
    }

    #[test]
    fn reads_frames_reports_the_loss_and_reconnects() {
        let namespace = Namespace::new(&format!("appd{}", std::process::id())).unwrap();
        let feed = DaemonFeed::spawn(namespace.clone()).unwrap();
        let link = feed.link();
        assert!(matches!(
            next_event(link, Duration::from_secs(2)),
            FeedEvent::Searching { .. }
        ));

        let config = WriterConfig::new(namespace.clone(), Geometry::rgbd(32, 24));
        let mut writer = Writer::create(config.clone()).unwrap();
        assert!(matches!(
            next_event(link, Duration::from_secs(2)),
            FeedEvent::Connected { .. }
        ));
        publish(&mut writer, 7, 1250);
        let deadline = Instant::now() + Duration::from_secs(2);
        let frame = loop {
            if let Some(frame) = link.take_newest_frame() {
                break frame;
            }
            assert!(Instant::now() < deadline, "no frame from the daemon worker");
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(frame.frame_number, 7);
        assert_eq!(frame.rgb[0], 7);
        assert_eq!(frame.depth_m_at([3, 4]), Some(1.25));
        assert!(frame.publish_mono_ns.is_some());

        drop(writer);
        let lost = next_event(link, Duration::from_secs(1));
        assert!(matches!(lost, FeedEvent::Lost { .. }), "{lost:?}");

        let back = Instant::now();
        let _writer = Writer::create(config).unwrap();
        loop {
            if let FeedEvent::Connected { .. } = next_event(link, Duration::from_secs(2)) {
                break;
            }
        }
        assert!(
            back.elapsed() < Duration::from_secs(1),
            "reconnected after {:?}",
            back.elapsed()
        );
    }
}
