//! The capture thread: opens the source, reads frames, and reopens it with backoff when it
//! fails. Between frames it serves the source's controls and mode changes. The publisher
//! (the daemon's main loop) only sees [`CaptureEvent`]s.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use shmproto::control::{Command, CommandError, ErrorCode};
use shmproto::Geometry;

use crate::source::{CapturedFrame, Source, SourceError, SourceInfo};

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

/// Where a command's answer goes.
pub type Reply = Sender<Result<serde_json::Value, CommandError>>;

/// What the capture thread reports.
#[derive(Debug)]
pub enum CaptureEvent {
    /// The source is open and will deliver frames of this geometry at `fps` (0 = unpaced).
    Opened {
        geometry: Geometry,
        info: SourceInfo,
        fps: f32,
    },
    Frame(CapturedFrame),
    /// Opening or reading failed; the thread tries again after `retry_in`.
    Failed {
        error: String,
        retry_in: Duration,
    },
    /// The source can never work here (`fatal`: not built into this binary) or a recording
    /// ended; the thread has stopped.
    Finished {
        reason: String,
        fatal: bool,
    },
}

/// The publisher's end of the capture thread.
pub struct Capture {
    pub events: Receiver<CaptureEvent>,
    recycle: Sender<CapturedFrame>,
    commands: Sender<(Command, Reply)>,
    thread: std::thread::JoinHandle<()>,
}

impl Capture {
    /// Hands a frame's buffers back for reuse.
    pub fn recycle(&self, frame: CapturedFrame) {
        // A send error means the capture thread has ended; the buffers are simply dropped.
        let _ = self.recycle.send(frame);
    }

    /// Stops the thread: it notices at its next event (after at most one frame or one
    /// backoff step) and closes the source on its way out, so a camera is released cleanly.
    /// Waits at most `patience`; a thread still blocked in the device after that is left to
    /// the process exit.
    pub fn shutdown(self, patience: Duration) -> bool {
        let Capture {
            events,
            recycle,
            commands,
            thread,
        } = self;
        drop((events, recycle, commands));
        let deadline = Instant::now() + patience;
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        thread.is_finished() && thread.join().is_ok()
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
pub fn spawn(factory: Box<dyn SourceFactory>) -> std::io::Result<Capture> {
    let (events_tx, events) = mpsc::sync_channel(2);
    let (recycle, recycle_rx) = mpsc::channel();
    let (commands, commands_rx) = mpsc::channel();
    let mut thread = CaptureThread {
        factory,
        events: events_tx,
        recycle: recycle_rx,
        commands: commands_rx,
        backoff: INITIAL_BACKOFF,
        pending_mode: None,
        last_error: String::new(),
        controls_set: Vec::new(),
    };
    let thread = std::thread::Builder::new()
        .name("capture".into())
        .spawn(move || thread.run())?;
    Ok(Capture {
        events,
        recycle,
        commands,
        thread,
    })
}

/// A mode change waiting for the source to reopen.
struct PendingMode {
    previous: (u32, u32, f32),
    reply: Reply,
}

struct CaptureThread {
    factory: Box<dyn SourceFactory>,
    events: SyncSender<CaptureEvent>,
    recycle: Receiver<CapturedFrame>,
    commands: Receiver<(Command, Reply)>,
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
                Err(error @ SourceError::NotBuilt { .. }) => {
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
            let opened = CaptureEvent::Opened {
                geometry,
                info: source.info(),
                fps: self.factory.mode().2,
            };
            if self.events.send(opened).is_err() {
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
            while let Ok((command, reply)) = self.commands.try_recv() {
                if let Next::Reopen = self.serve(Some(&mut *source), command, reply) {
                    return Next::Reopen;
                }
            }
            let mut frame = self.recycle.try_recv().unwrap_or_default();
            match source.next_frame(&mut frame) {
                Ok(()) => {
                    self.backoff = INITIAL_BACKOFF;
                    if self.events.send(CaptureEvent::Frame(frame)).is_err() {
                        return Next::Exit;
                    }
                }
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
        let _ = self.events.send(CaptureEvent::Finished { reason, fatal });
    }

    /// Reports a failure and waits out the backoff (serving commands meanwhile).
    fn fail(&mut self, error: SourceError) -> Next {
        let retry_in = self.backoff;
        self.last_error = error.to_string();
        let event = CaptureEvent::Failed {
            error: self.last_error.clone(),
            retry_in,
        };
        if self.events.send(event).is_err() {
            return Next::Exit;
        }
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
                match self.factory.set_mode(width, height, fps) {
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
                .ok_or_else(|| crate::source::unknown_control(&name))
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

    #[test]
    fn failures_are_reported_and_the_source_reopened() {
        let capture = spawn(Box::new(FlakyFactory { attempts: 0 })).unwrap();
        let mut kinds = Vec::new();
        while let Ok(event) = capture.events.recv_timeout(Duration::from_secs(5)) {
            let finished = matches!(event, CaptureEvent::Finished { .. });
            kinds.push(match event {
                CaptureEvent::Opened { .. } => "opened",
                CaptureEvent::Frame(_) => "frame",
                CaptureEvent::Failed { .. } => "failed",
                CaptureEvent::Finished { .. } => "finished",
            });
            if finished {
                break;
            }
        }
        assert_eq!(
            kinds,
            ["failed", "opened", "frame", "frame", "failed", "opened", "frame", "finished"]
        );
    }

    #[test]
    fn shutdown_closes_the_source_even_during_a_backoff() {
        let capture = spawn(Box::new(FlakyFactory { attempts: 0 })).unwrap();
        assert!(matches!(
            capture.events.recv_timeout(Duration::from_secs(5)),
            Ok(CaptureEvent::Failed { .. })
        ));
        assert!(
            capture.shutdown(Duration::from_secs(2)),
            "thread still running"
        );
    }

    #[test]
    fn commands_while_the_source_is_down_say_so() {
        let capture = spawn(Box::new(FlakyFactory { attempts: 0 })).unwrap();
        // The first open fails: the thread is in its backoff.
        assert!(matches!(
            capture.events.recv_timeout(Duration::from_secs(5)),
            Ok(CaptureEvent::Failed { .. })
        ));
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
