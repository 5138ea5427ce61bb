//! The capture thread: opens the source, delivers its frames into the publisher's
//! [`FrameTarget`] (shared memory), and reopens it with backoff when it fails. Between frames
//! it serves the source's controls and mode changes. Everything it has to say goes to a
//! [`CaptureSink`].

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

use shmproto::control::{Command, CommandError, ErrorCode};
use shmproto::Geometry;

use camera_sources::choice::SourceChoice;
use camera_sources::{CapturedFrame, FrameTarget, Source, SourceError, SourceInfo};

/// First wait before reopening a failed source; doubled after each failure up to
/// [`MAX_BACKOFF`].
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Makes sources: the configured one, reopened after failures and mode changes.
pub trait SourceFactory: Send {
    fn open(&mut self) -> Result<Box<dyn Source>, SourceError>;
    /// Changes the mode of the sources opened from now on; returns the previous mode's
    /// factory state so a failed change can be undone.
    fn set_mode(&mut self, width: u32, height: u32, fps: f32) -> Result<(), CommandError>;
    /// The mode sources are opened with: width, height, fps.
    fn mode(&self) -> (u32, u32, f32);
}

/// The daemon's factory: the source chosen on the command line.
impl SourceFactory for SourceChoice {
    fn open(&mut self) -> Result<Box<dyn Source>, SourceError> {
        SourceChoice::open(self)
    }

    fn set_mode(&mut self, width: u32, height: u32, fps: f32) -> Result<(), CommandError> {
        SourceChoice::set_mode(self, width, height, fps)
    }

    fn mode(&self) -> (u32, u32, f32) {
        SourceChoice::mode(self)
    }
}

/// Where a command's answer goes.
pub type Reply = Sender<Result<serde_json::Value, CommandError>>;

/// What the capture thread reports to and delivers frames into: the daemon's publisher.
pub trait CaptureSink: Send {
    /// The source is open and will deliver frames of this geometry at `fps` (0 = unpaced).
    /// An error means such frames cannot be published: the thread stops.
    fn opened(&mut self, geometry: Geometry, info: SourceInfo, fps: f32) -> Result<(), String>;
    /// Where the frames go.
    fn target(&mut self) -> &mut dyn FrameTarget;
    /// Opening or reading failed; the thread tries again after `retry_in`.
    fn failed(&mut self, error: &str, retry_in: Duration);
    /// The thread has stopped: the source can never work here (`fatal`: not built into this
    /// binary, or `opened` failed) or a recording ended.
    fn finished(&mut self, reason: String, fatal: bool);
    /// Whether frames of `width` x `height` could be published, asked before a mode change so
    /// that a refused change keeps the current mode (shared memory may be too small).
    fn check_room(&mut self, _width: u32, _height: u32) -> Result<(), CommandError> {
        Ok(())
    }
}

/// The daemon's end of the capture thread.
pub struct Capture {
    commands: Sender<(Command, Reply)>,
    thread: std::thread::JoinHandle<()>,
}

impl Capture {
    /// Stops the thread: it notices at its next frame or backoff step, and closes the source
    /// on its way out, so a camera is released cleanly. Waits at most `patience`; a thread
    /// still blocked in the device after that is left to the process exit.
    pub fn shutdown(self, patience: Duration) -> bool {
        let Capture { commands, thread } = self;
        drop(commands);
        let deadline = Instant::now() + patience;
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        thread.is_finished() && thread.join().is_ok()
    }

    /// Whether the thread has ended (after [`CaptureSink::finished`], or by a panic).
    pub fn has_ended(&self) -> bool {
        self.thread.is_finished()
    }

    /// Passes a source command (controls, mode) to the capture thread, which answers `reply`.
    pub fn command(&self, command: Command, reply: Reply) {
        if let Err(mpsc::SendError((_, reply))) = self.commands.send((command, reply)) {
            let _ = reply.send(Err(CommandError::new(
                ErrorCode::Unavailable,
                "the source has stopped",
            )));
        }
    }
}

/// Starts the capture thread.
pub fn spawn(
    factory: Box<dyn SourceFactory>,
    sink: Box<dyn CaptureSink>,
) -> std::io::Result<Capture> {
    let (commands, commands_rx) = mpsc::channel();
    let mut thread = CaptureThread {
        factory,
        sink,
        commands: commands_rx,
        scratch: CapturedFrame::default(),
        backoff: INITIAL_BACKOFF,
        pending_mode: None,
        last_error: String::new(),
        controls_set: Vec::new(),
    };
    let thread = std::thread::Builder::new()
        .name("capture".into())
        .spawn(move || thread.run())?;
    Ok(Capture { commands, thread })
}

/// A mode change waiting for the source to reopen.
struct PendingMode {
    previous: (u32, u32, f32),
    reply: Reply,
}

struct CaptureThread {
    factory: Box<dyn SourceFactory>,
    sink: Box<dyn CaptureSink>,
    commands: Receiver<(Command, Reply)>,
    /// For sources that read a frame before copying it into the target.
    scratch: CapturedFrame,
    backoff: Duration,
    pending_mode: Option<PendingMode>,
    last_error: String,
    /// Controls clients set, in order, to set again when the source is reopened.
    controls_set: Vec<(String, f64)>,
}

/// What the loop does after serving commands.
enum Next {
    Continue,
    Reopen,
    Exit,
}

impl CaptureThread {
    fn run(&mut self) {
        loop {
            let mut source = match self.factory.open() {
                Ok(source) => source,
                Err(error) if error.is_fatal() => {
                    self.finish(error.to_string(), true);
                    return;
                }
                Err(error) => {
                    self.answer_pending_mode(Err(error.to_string()));
                    match self.fail(error) {
                        Next::Exit => return,
                        Next::Continue | Next::Reopen => continue,
                    }
                }
            };
            self.restore_controls(source.as_mut());
            let geometry = source.geometry();
            self.answer_pending_mode(Ok(geometry));
            let fps = self.factory.mode().2;
            if let Err(reason) = self.sink.opened(geometry, source.info(), fps) {
                self.finish(reason, true);
                return;
            }
            match self.stream(source.as_mut()) {
                Next::Exit => return,
                Next::Continue | Next::Reopen => {}
            }
        }
    }

    /// Delivers frames until the source fails or must be reopened.
    fn stream(&mut self, source: &mut dyn Source) -> Next {
        loop {
            loop {
                match self.commands.try_recv() {
                    Ok((command, reply)) => {
                        if let Next::Reopen = self.serve(Some(&mut *source), command, reply) {
                            return Next::Reopen;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    // The daemon is shutting down.
                    Err(TryRecvError::Disconnected) => return Next::Exit,
                }
            }
            match source.deliver_next_frame(&mut self.scratch, self.sink.target()) {
                Ok(()) => self.backoff = INITIAL_BACKOFF,
                Err(SourceError::EndOfStream) => {
                    self.finish(SourceError::EndOfStream.to_string(), false);
                    return Next::Exit;
                }
                Err(error) => return self.fail(error),
            }
        }
    }

    fn finish(&mut self, reason: String, fatal: bool) {
        self.answer_pending_mode(Err(reason.clone()));
        self.sink.finished(reason, fatal);
    }

    /// Reports a failure and waits out the backoff (serving commands meanwhile).
    fn fail(&mut self, error: SourceError) -> Next {
        let retry_in = self.backoff;
        self.last_error = error.to_string();
        self.sink.failed(&self.last_error, retry_in);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        let deadline = Instant::now() + retry_in;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.commands.recv_timeout(remaining) {
                Ok((command, reply)) => {
                    if let Next::Reopen = self.serve(None, command, reply) {
                        return Next::Reopen;
                    }
                }
                Err(RecvTimeoutError::Timeout) => return Next::Continue,
                // The daemon is shutting down: stop now.
                Err(RecvTimeoutError::Disconnected) => return Next::Exit,
            }
        }
    }

    /// Answers one command; `Reopen` when the source must be reopened (mode change).
    fn serve(&mut self, source: Option<&mut dyn Source>, command: Command, reply: Reply) -> Next {
        let unavailable = || {
            CommandError::new(
                ErrorCode::Unavailable,
                format!("the source is not open right now: {}", self.last_error),
            )
        };
        let answer = match (command, source) {
            (Command::SetMode { width, height, fps }, _) => {
                let previous = self.factory.mode();
                match self
                    .sink
                    .check_room(width, height)
                    .and_then(|()| self.factory.set_mode(width, height, fps))
                {
                    Ok(()) => {
                        self.pending_mode = Some(PendingMode { previous, reply });
                        return Next::Reopen;
                    }
                    Err(error) => Err(error),
                }
            }
            (_, None) => Err(unavailable()),
            (Command::ListControls, Some(source)) => {
                Ok(serde_json::json!({ "controls": source.controls() }))
            }
            (Command::GetControl { name }, Some(source)) => source
                .controls()
                .into_iter()
                .find(|control| control.name == name)
                .ok_or_else(|| camera_sources::unknown_control(&name))
                .and_then(|control| to_json(&control)),
            (Command::SetControl { name, value }, Some(source)) => {
                let set = source.set_control(&name, value);
                if set.is_ok() {
                    self.controls_set.retain(|(earlier, _)| *earlier != name);
                    self.controls_set.push((name, value));
                }
                set.and_then(|control| to_json(&control))
            }
            (other, Some(_)) => Err(CommandError::new(
                ErrorCode::UnknownCommand,
                format!("{other:?} is not a source command"),
            )),
        };
        let _ = reply.send(answer);
        Next::Continue
    }

    /// Sets again on a reopened source what clients set on the previous one.
    fn restore_controls(&mut self, source: &mut dyn Source) {
        for (name, value) in &self.controls_set {
            if let Err(error) = source.set_control(name, *value) {
                tracing::warn!(
                    "could not restore control {name} = {value} after reopening: {error}"
                );
            }
        }
    }

    /// Answers a pending mode change once the source reopened (or failed to).
    fn answer_pending_mode(&mut self, outcome: Result<Geometry, String>) {
        let Some(pending) = self.pending_mode.take() else {
            return;
        };
        let answer = match outcome {
            Ok(geometry) => Ok(serde_json::json!({
                "width": geometry.width,
                "height": geometry.height,
                "fps": self.factory.mode().2,
            })),
            Err(reason) => {
                // Go back to the mode that worked; the next open uses it.
                let (width, height, fps) = pending.previous;
                let _ = self.factory.set_mode(width, height, fps);
                Err(CommandError::new(
                    ErrorCode::DeviceError,
                    format!("the source cannot run in that mode: {reason}; back to {width}x{height} at {fps} fps"),
                ))
            }
        };
        let _ = pending.reply.send(answer);
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, CommandError> {
    serde_json::to_value(value)
        .map_err(|error| CommandError::new(ErrorCode::DeviceError, error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use camera_sources::{FramePlanes, FrameStamp};
    use shmproto::SourceKind;

    /// Delivers `frames_left` frames, then fails (or ends).
    struct Flaky {
        frames_left: u32,
        ends: bool,
    }

    impl Source for Flaky {
        fn geometry(&self) -> Geometry {
            Geometry::rgb_only(4, 2)
        }
        fn info(&self) -> SourceInfo {
            SourceInfo {
                kind: SourceKind::Other,
                description: "flaky".into(),
                intrinsics: None,
                depth_scale_m: None,
                depth_aligned_to_color: false,
            }
        }
        fn next_frame(&mut self, frame: &mut CapturedFrame) -> Result<(), SourceError> {
            if self.frames_left == 0 {
                return Err(if self.ends {
                    SourceError::EndOfStream
                } else {
                    SourceError::Capture {
                        kind: SourceKind::Other,
                        reason: "unplugged".into(),
                    }
                });
            }
            self.frames_left -= 1;
            frame.frame_number += 1;
            frame.rgb.resize(24, 0);
            Ok(())
        }
    }

    /// Absent at first, then a flaky source twice.
    struct FlakyFactory {
        attempts: u32,
    }

    impl SourceFactory for FlakyFactory {
        fn open(&mut self) -> Result<Box<dyn Source>, SourceError> {
            self.attempts += 1;
            match self.attempts {
                1 => Err(SourceError::Open {
                    kind: SourceKind::Other,
                    reason: "absent".into(),
                }),
                2 => Ok(Box::new(Flaky {
                    frames_left: 2,
                    ends: false,
                })),
                _ => Ok(Box::new(Flaky {
                    frames_left: 1,
                    ends: true,
                })),
            }
        }
        fn set_mode(&mut self, _: u32, _: u32, _: f32) -> Result<(), CommandError> {
            Err(CommandError::new(ErrorCode::Unsupported, "fixed"))
        }
        fn mode(&self) -> (u32, u32, f32) {
            (4, 2, 30.0)
        }
    }

    /// Records what the capture thread says, as words.
    struct RecordingSink {
        events: Sender<&'static str>,
        planes: CapturedFrame,
    }

    impl FrameTarget for RecordingSink {
        fn write(
            &mut self,
            _stamp: FrameStamp,
            geometry: Geometry,
            fill: &mut dyn FnMut(FramePlanes<'_>),
        ) {
            self.planes.rgb.resize(geometry.color_len(), 0);
            self.planes.depth.resize(geometry.depth_len(), 0);
            fill(self.planes.planes());
            let _ = self.events.send("frame");
        }
    }

    impl CaptureSink for RecordingSink {
        fn opened(&mut self, _: Geometry, _: SourceInfo, _: f32) -> Result<(), String> {
            let _ = self.events.send("opened");
            Ok(())
        }
        fn target(&mut self) -> &mut dyn FrameTarget {
            self
        }
        fn failed(&mut self, _: &str, _: Duration) {
            let _ = self.events.send("failed");
        }
        fn finished(&mut self, _: String, _: bool) {
            let _ = self.events.send("finished");
        }
    }

    fn spawn_flaky() -> (Capture, Receiver<&'static str>) {
        let (events, received) = mpsc::channel();
        let sink = RecordingSink {
            events,
            planes: CapturedFrame::default(),
        };
        let capture = spawn(Box::new(FlakyFactory { attempts: 0 }), Box::new(sink)).unwrap();
        (capture, received)
    }

    #[test]
    fn failures_are_reported_and_the_source_reopened() {
        let (capture, events) = spawn_flaky();
        let mut kinds = Vec::new();
        while let Ok(event) = events.recv_timeout(Duration::from_secs(5)) {
            kinds.push(event);
            if event == "finished" {
                break;
            }
        }
        assert_eq!(
            kinds,
            ["failed", "opened", "frame", "frame", "failed", "opened", "frame", "finished"]
        );
        // The thread ends after a recording's end.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !capture.has_ended() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(capture.has_ended());
    }

    #[test]
    fn shutdown_closes_the_source_even_during_a_backoff() {
        let (capture, events) = spawn_flaky();
        assert_eq!(events.recv_timeout(Duration::from_secs(5)), Ok("failed"));
        assert!(
            capture.shutdown(Duration::from_secs(2)),
            "thread still running"
        );
    }

    #[test]
    fn commands_while_the_source_is_down_say_so() {
        let (capture, events) = spawn_flaky();
        // The first open fails: the thread is in its backoff.
        assert_eq!(events.recv_timeout(Duration::from_secs(5)), Ok("failed"));
        let (reply, answer) = mpsc::channel();
        capture.command(Command::ListControls, reply);
        let error = answer
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::Unavailable);
        assert!(error.message.contains("absent"), "{}", error.message);
    }
}
