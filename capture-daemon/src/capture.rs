//! The capture thread: opens the source, reads frames, and reopens it with backoff when it
//! fails. The publisher (the daemon's main loop) only sees [`CaptureEvent`]s.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::time::Duration;

use shmproto::Geometry;

use crate::source::{CapturedFrame, Source, SourceError, SourceInfo};

/// First wait before reopening a failed source; doubled after each failure up to
/// [`MAX_BACKOFF`].
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Opens the configured source; called again after every failure.
pub type SourceOpener = Box<dyn FnMut() -> Result<Box<dyn Source>, SourceError> + Send>;

/// What the capture thread reports.
#[derive(Debug)]
pub enum CaptureEvent {
    /// The source is open and will deliver frames of this geometry.
    Opened {
        geometry: Geometry,
        info: SourceInfo,
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
}

impl Capture {
    /// Hands a frame's buffers back for reuse.
    pub fn recycle(&self, frame: CapturedFrame) {
        // A send error means the capture thread has ended; the buffers are simply dropped.
        let _ = self.recycle.send(frame);
    }
}

/// Starts the capture thread.
pub fn spawn(opener: SourceOpener) -> std::io::Result<Capture> {
    let (events_tx, events) = mpsc::sync_channel(2);
    let (recycle, recycle_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("capture".into())
        .spawn(move || capture_loop(opener, &events_tx, &recycle_rx))?;
    Ok(Capture { events, recycle })
}

fn capture_loop(
    mut opener: SourceOpener,
    events: &SyncSender<CaptureEvent>,
    recycle: &Receiver<CapturedFrame>,
) {
    let mut backoff = INITIAL_BACKOFF;
    loop {
        let mut source = match opener() {
            Ok(source) => source,
            Err(error @ SourceError::NotBuilt { .. }) => {
                let _ = events.send(CaptureEvent::Finished {
                    reason: error.to_string(),
                    fatal: true,
                });
                return;
            }
            Err(error) => {
                if !report_failure(events, error, &mut backoff) {
                    return;
                }
                continue;
            }
        };
        let opened = CaptureEvent::Opened {
            geometry: source.geometry(),
            info: source.info(),
        };
        if events.send(opened).is_err() {
            return;
        }
        loop {
            let mut frame = recycle.try_recv().unwrap_or_default();
            match source.next_frame(&mut frame) {
                Ok(()) => {
                    backoff = INITIAL_BACKOFF;
                    if events.send(CaptureEvent::Frame(frame)).is_err() {
                        return;
                    }
                }
                Err(SourceError::EndOfStream) => {
                    let _ = events.send(CaptureEvent::Finished {
                        reason: SourceError::EndOfStream.to_string(),
                        fatal: false,
                    });
                    return;
                }
                Err(error) => {
                    // Close the device before waiting, so a replug can be opened again.
                    drop(source);
                    if !report_failure(events, error, &mut backoff) {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// Reports a failure, waits out the backoff and doubles it. False when the daemon is gone.
fn report_failure(
    events: &SyncSender<CaptureEvent>,
    error: SourceError,
    backoff: &mut Duration,
) -> bool {
    let retry_in = *backoff;
    let event = CaptureEvent::Failed {
        error: error.to_string(),
        retry_in,
    };
    if events.send(event).is_err() {
        return false;
    }
    std::thread::sleep(retry_in);
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use shmproto::SourceKind;

    /// Fails to open twice, then delivers two frames and fails, then ends.
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

    #[test]
    fn failures_are_reported_and_the_source_reopened() {
        let mut attempts = 0;
        let capture = spawn(Box::new(move || {
            attempts += 1;
            match attempts {
                1 => Err(SourceError::Open {
                    kind: SourceKind::Other,
                    reason: "absent".into(),
                }),
                2 => Ok(Box::new(Flaky {
                    frames_left: 2,
                    ends: false,
                }) as Box<dyn Source>),
                _ => Ok(Box::new(Flaky {
                    frames_left: 1,
                    ends: true,
                }) as Box<dyn Source>),
            }
        }))
        .unwrap();
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
}
