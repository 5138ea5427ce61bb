//! The capture thread. librealsense's pipeline and align block live on a thread of their own (the
//! align block is not `Send`); frames reach the source through a channel of one, and their
//! buffers travel back to the worker to be reused.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use realsense_rust::context::Context;
use realsense_rust::frame::{ColorFrame, CompositeFrame, DepthFrame, FrameEx};
use realsense_rust::kind::{Rs2StreamKind, Rs2TimestampDomain};
use realsense_rust::pipeline::{ActivePipeline, FrameWaitError};
use realsense_rust::processing_blocks::align::Align;
use shmproto::Geometry;

use super::planes::{copy_color, copy_depth};
use super::{capture_error, open_error, RealsenseConfig, RealsenseInput};
use crate::replay_pacing::ReplayPacer;
use crate::{CapturedFrame, SourceError};

/// The source's end of the capture thread: receives frames, hands buffers back, and stops and
/// joins the thread when dropped.
pub(super) struct CaptureThread {
    frames: Option<Receiver<Result<CapturedFrame, SourceError>>>,
    spare_buffers: SyncSender<CapturedFrame>,
    stop: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
    ended: bool,
}

impl CaptureThread {
    /// Starts the thread that waits for `pipeline`'s frames, aligns them and copies them as
    /// frames of `geometry`. `context` is kept alive on the thread as long as the pipeline.
    pub(super) fn start(
        context: Context,
        pipeline: ActivePipeline,
        geometry: Geometry,
        config: &RealsenseConfig,
    ) -> Result<Self, SourceError> {
        let playback = matches!(config.input, RealsenseInput::Recording(_));
        let (frame_sender, frames) = mpsc::sync_channel(1);
        // Room for every buffer in flight (the caller's, one in the channel, the worker's).
        let (spare_buffers, spare_receiver) = mpsc::sync_channel(3);
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            _context: context,
            pipeline,
            geometry,
            playback: playback && !config.loop_playback,
            live_clock: !playback,
            frame_timeout: config.frame_timeout,
            frames: frame_sender,
            spare_buffers: spare_receiver,
            stop: Arc::clone(&stop),
            frame_number_offset: 0,
            last_raw_frame_number: None,
            // librealsense plays a recording in real time (dropping framesets when behind),
            // but hands a looping one's frames over as fast as it reads them: keep the
            // recording's timing ourselves then, loop after loop.
            pacer: (playback && config.loop_playback).then(|| ReplayPacer::new(1.0)),
        };
        let worker = std::thread::Builder::new()
            .name("realsense".to_owned())
            .spawn(move || worker.run())
            .map_err(|error| open_error(format!("cannot start the capture thread: {error}")))?;
        Ok(CaptureThread {
            frames: Some(frames),
            spare_buffers,
            stop,
            worker: Some(worker),
            ended: false,
        })
    }

    /// True once the recording has ended ([`SourceError::EndOfStream`]).
    pub(super) fn ended(&self) -> bool {
        self.ended
    }

    /// Waits for the worker's next frame and swaps it into `frame`; the buffers `frame` held
    /// go back to the worker.
    pub(super) fn next_frame(&mut self, frame: &mut CapturedFrame) -> Result<(), SourceError> {
        if self.ended {
            return Err(SourceError::EndOfStream);
        }
        let Some(frames) = &self.frames else {
            return Err(capture_error("the source is closed"));
        };
        match frames.recv() {
            Ok(Ok(mut captured)) => {
                std::mem::swap(frame, &mut captured);
                // The caller's previous buffers go back to the worker. If its queue is full
                // or it has stopped, they are simply dropped.
                let _ = self.spare_buffers.try_send(captured);
                Ok(())
            }
            Ok(Err(SourceError::EndOfStream)) => {
                self.ended = true;
                Err(SourceError::EndOfStream)
            }
            Ok(Err(error)) => Err(error),
            Err(RecvError) => Err(capture_error(
                "the RealSense capture thread stopped after an earlier error",
            )),
        }
    }
}

impl Drop for CaptureThread {
    fn drop(&mut self) {
        // Relaxed is enough: the flag carries no data, and the worker also notices the
        // closed channel; it only shortens the wait.
        self.stop.store(true, Ordering::Relaxed);
        // Closing the frame channel wakes a worker blocked on sending.
        self.frames = None;
        if let Some(worker) = self.worker.take() {
            // The worker returns within one frame timeout; joining releases the device
            // before anyone opens it again.
            if worker.join().is_err() {
                tracing::error!("the RealSense capture thread panicked");
            }
        }
    }
}

/// Everything that lives on the capture thread.
struct Worker {
    /// Kept alive as long as the pipeline that was made from it.
    _context: Context,
    pipeline: ActivePipeline,
    geometry: Geometry,
    /// A recording that does not loop: a frame timeout means the end.
    playback: bool,
    /// Frame timestamps are on the host's clock only for live cameras.
    live_clock: bool,
    frame_timeout: Duration,
    frames: SyncSender<Result<CapturedFrame, SourceError>>,
    spare_buffers: Receiver<CapturedFrame>,
    stop: Arc<AtomicBool>,
    /// Added to librealsense's frame numbers so that ours never go back (a looping
    /// recording restarts its numbers).
    frame_number_offset: u64,
    last_raw_frame_number: Option<u64>,
    /// A recording's timing, by its frames' timestamps; `None` for cameras.
    pacer: Option<ReplayPacer>,
}

impl Worker {
    fn run(mut self) {
        let mut align = match Align::new(Rs2StreamKind::Color, 1) {
            Ok(align) => align,
            Err(error) => {
                let _ = self.frames.send(Err(capture_error(format!(
                    "cannot create the align block: {error}"
                ))));
                return;
            }
        };
        while !self.stop.load(Ordering::Relaxed) {
            let message = match self.pipeline.wait(Some(self.frame_timeout)) {
                Ok(frames) => self.aligned_frame(&mut align, frames),
                Err(FrameWaitError::DidTimeoutBeforeFrameArrival) if self.playback => {
                    tracing::debug!("the recording ended");
                    let _ = self.frames.send(Err(SourceError::EndOfStream));
                    return;
                }
                Err(FrameWaitError::DidTimeoutBeforeFrameArrival) => Err(capture_error(format!(
                    "no frames from the RealSense for {:.1} s",
                    self.frame_timeout.as_secs_f32()
                ))),
                Err(error) => Err(capture_error(format!("waiting for frames failed: {error}"))),
            };
            if self.frames.send(message).is_err() {
                return; // The source was dropped.
            }
        }
    }

    fn aligned_frame(
        &mut self,
        align: &mut Align,
        frames: CompositeFrame,
    ) -> Result<CapturedFrame, SourceError> {
        let mut arrival_wall_ns = shmproto::wall_now_ns();
        let mut arrival_mono_ns = shmproto::monotonic_now_ns();
        align
            .queue(frames)
            .map_err(|error| capture_error(format!("align failed: {error}")))?;
        let aligned = align
            .wait(self.frame_timeout)
            .map_err(|error| capture_error(format!("align failed: {error}")))?;
        let Some(color) = aligned.frames_of_type::<ColorFrame>().into_iter().next() else {
            return Err(capture_error("a frameset without a colour frame"));
        };
        let Some(depth) = aligned.frames_of_type::<DepthFrame>().into_iter().next() else {
            return Err(capture_error("a frameset without a depth frame"));
        };

        // Reuse buffers the caller handed back; new ones only at the start.
        let mut captured = self.spare_buffers.try_recv().unwrap_or_default();
        copy_color(&color, self.geometry, &mut captured.rgb)?;
        copy_depth(&depth, self.geometry, &mut captured.depth)?;
        captured.frame_number = self.frame_number(color.frame_number());
        if let Some(pacer) = &mut self.pacer {
            // The recording's own clock, milliseconds.
            pacer.wait_for((color.timestamp().max(0.0) * 1e6) as u64);
            // A replayed frame is captured when it is due.
            arrival_wall_ns = shmproto::wall_now_ns();
            arrival_mono_ns = shmproto::monotonic_now_ns();
        }
        (captured.capture_wall_ns, captured.capture_mono_ns) =
            self.capture_time(&color, arrival_wall_ns, arrival_mono_ns);
        tracing::trace!(frame_number = captured.frame_number, "RealSense frame");
        Ok(captured)
    }

    /// Our number for librealsense's frame number `raw_frame_number`: the same plus an offset
    /// that grows whenever librealsense's numbers go back.
    fn frame_number(&mut self, raw_frame_number: u64) -> u64 {
        if let Some(last) = self.last_raw_frame_number {
            if raw_frame_number <= last {
                self.frame_number_offset += last - raw_frame_number + 1;
            }
        }
        self.last_raw_frame_number = Some(raw_frame_number);
        raw_frame_number + self.frame_number_offset
    }

    /// When `color` was captured, wall and monotonic nanoseconds. A live camera's
    /// system/global-time stamps say when the frame was exposed; use them when they are
    /// plausible (in the last second), else the arrival time.
    fn capture_time(
        &self,
        color: &ColorFrame,
        arrival_wall_ns: u64,
        arrival_mono_ns: u64,
    ) -> (u64, u64) {
        if self.live_clock
            && matches!(
                color.timestamp_domain(),
                Rs2TimestampDomain::SystemTime | Rs2TimestampDomain::GlobalTime
            )
        {
            let stamp_wall_ns = (color.timestamp() * 1e6) as u64;
            let age_ns = arrival_wall_ns.saturating_sub(stamp_wall_ns);
            if stamp_wall_ns <= arrival_wall_ns && age_ns < 1_000_000_000 {
                return (stamp_wall_ns, arrival_mono_ns.saturating_sub(age_ns));
            }
        }
        (arrival_wall_ns, arrival_mono_ns)
    }
}
