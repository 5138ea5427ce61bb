//! The detection worker: one thread that owns the detector, opens it (a model may take a
//! while to load) and runs it on the frames the GUI hands over.
//!
//! The GUI never waits for it. Frames arrive through a single-slot [`mailbox`](super::mailbox):
//! the newest replaces one the worker has not started on, so a slow detector skips frames
//! instead of queueing them. Requests to open another detector travel on a channel of their
//! own (they must never be replaced by a frame) and are applied before the next frame. Each
//! result goes back on a channel, with a repaint request, so the GUI draws it at once.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use detect::{
    DepthView, DetectError, DetectSettings, Detector, DetectorChoice, DetectorInfo, FrameView,
    OpenOptions,
};
use shmproto::DetectionResult;

use super::mailbox::{mailbox, MailboxSender};
use crate::frame::Frame;

/// Opens a detector; [`detect::open_detector`] in the app, a stand-in in tests.
pub type DetectorOpener =
    Box<dyn FnMut(&DetectorChoice, &OpenOptions) -> Result<Box<dyn Detector>, DetectError> + Send>;

/// What a detection was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The frame the user froze (or a re-run with new thresholds).
    Frozen,
    /// A live frame (the Live toggle).
    Live,
}

/// One frame to detect.
#[derive(Debug, Clone)]
pub struct DetectRequest {
    /// Numbers the requests of one worker, so the GUI can tell the newest.
    pub id: u64,
    pub purpose: Purpose,
    pub frame: Arc<Frame>,
    pub settings: DetectSettings,
    /// When the GUI asked (for the queue and freeze-to-result times).
    pub submitted: Instant,
}

/// Open this detector instead of the current one.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    pub choice: DetectorChoice,
    pub options: OpenOptions,
}

/// How opening a detector went.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub choice: DetectorChoice,
    /// The detector now in use, or why `choice` could not be opened. A failed open keeps the
    /// detector that ran before (see `active`).
    pub result: Result<DetectorInfo, String>,
    /// What runs now: `choice` when it opened, else the previous detector, if any.
    pub active: Option<(DetectorChoice, DetectorInfo)>,
}

/// The outcome of one request.
#[derive(Debug, Clone)]
pub struct Detected {
    pub id: u64,
    pub purpose: Purpose,
    pub frame_number: u64,
    pub settings: DetectSettings,
    /// The detector that ran, `None` if none was open.
    pub detector: Option<DetectorChoice>,
    pub outcome: Result<DetectionResult, String>,
    pub submitted: Instant,
    /// When the worker took the request (after the detector it was busy with finished).
    pub started: Instant,
    pub finished: Instant,
}

impl Detected {
    /// From the request to the result, milliseconds: waiting, preparing, detecting.
    pub fn total_ms(&self) -> f32 {
        ms(self.finished.duration_since(self.submitted))
    }

    /// Waiting for the worker (busy with an earlier frame), milliseconds.
    pub fn queued_ms(&self) -> f32 {
        ms(self.started.duration_since(self.submitted))
    }

    /// The worker's time on this request, milliseconds (preparing the planes and detecting).
    pub fn worker_ms(&self) -> f32 {
        ms(self.finished.duration_since(self.started))
    }
}

/// Milliseconds of a duration.
pub fn ms(duration: std::time::Duration) -> f32 {
    duration.as_secs_f32() * 1000.0
}

/// What the worker reports.
#[derive(Debug, Clone)]
pub enum WorkerReport {
    Opened(Opened),
    Detected(Box<Detected>),
}

/// The GUI's end of the worker. Dropping it stops the worker (after the detection under way).
pub struct DetectionWorker {
    jobs: MailboxSender<DetectRequest>,
    opens: Sender<OpenRequest>,
    reports: Receiver<WorkerReport>,
    next_id: u64,
}

impl DetectionWorker {
    /// Starts the worker thread; it wakes `ctx` with each report.
    pub fn spawn(ctx: egui::Context, opener: DetectorOpener) -> std::io::Result<Self> {
        let (jobs, jobs_rx) = mailbox();
        let (opens, opens_rx) = crossbeam_channel::unbounded();
        let (reports_tx, reports) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("detection".to_owned())
            .spawn(move || run_worker(&jobs_rx, &opens_rx, &reports_tx, &ctx, opener))?;
        Ok(DetectionWorker {
            jobs,
            opens,
            reports,
            next_id: 1,
        })
    }

    /// Asks the worker to open `request` (before any frame submitted after this call).
    pub fn open(&self, request: OpenRequest) {
        // Fails only when the worker is gone, which `next_report` then says.
        let _ = self.opens.send(request);
    }

    /// Hands a frame to the worker, replacing one it has not started on; returns the request's
    /// id and the replaced request, if any.
    pub fn submit(
        &mut self,
        purpose: Purpose,
        frame: Arc<Frame>,
        settings: DetectSettings,
    ) -> (u64, Option<DetectRequest>) {
        let id = self.next_id;
        self.next_id += 1;
        let replaced = self.jobs.put(DetectRequest {
            id,
            purpose,
            frame,
            settings,
            submitted: Instant::now(),
        });
        (id, replaced)
    }

    /// Takes back the request the worker has not started on, if any.
    pub fn withdraw(&mut self) -> Option<DetectRequest> {
        self.jobs.withdraw()
    }

    /// The next report, `Err` once the worker thread is gone.
    pub fn next_report(&self) -> Result<Option<WorkerReport>, WorkerGone> {
        match self.reports.try_recv() {
            Ok(report) => Ok(Some(report)),
            Err(crossbeam_channel::TryRecvError::Empty) => Ok(None),
            Err(crossbeam_channel::TryRecvError::Disconnected) => Err(WorkerGone),
        }
    }
}

/// The worker thread ended (it panicked: it only stops by itself when the GUI end is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the detection thread stopped")]
pub struct WorkerGone;

fn run_worker(
    jobs: &Receiver<DetectRequest>,
    opens: &Receiver<OpenRequest>,
    reports: &Sender<WorkerReport>,
    ctx: &egui::Context,
    mut opener: DetectorOpener,
) {
    let mut active: Option<(DetectorChoice, Box<dyn Detector>)> = None;
    let report = |report: WorkerReport| {
        if reports.send(report).is_ok() {
            ctx.request_repaint();
        }
    };
    loop {
        // Opens first: a frame submitted after an open must run on the new detector (the GUI
        // sent the open first, so it is in its channel by the time the frame is seen).
        while let Ok(request) = opens.try_recv() {
            report(WorkerReport::Opened(open(
                &mut opener,
                &mut active,
                request,
            )));
        }
        crossbeam_channel::select! {
            recv(opens) -> request => match request {
                Ok(request) => report(WorkerReport::Opened(open(&mut opener, &mut active, request))),
                Err(_) => break,
            },
            recv(jobs) -> request => match request {
                Ok(request) => {
                    while let Ok(open_request) = opens.try_recv() {
                        report(WorkerReport::Opened(open(&mut opener, &mut active, open_request)));
                    }
                    report(WorkerReport::Detected(Box::new(detect_request(&mut active, request))));
                }
                Err(_) => break,
            },
        }
    }
    tracing::debug!("detection worker stopped");
}

fn open(
    opener: &mut DetectorOpener,
    active: &mut Option<(DetectorChoice, Box<dyn Detector>)>,
    request: OpenRequest,
) -> Opened {
    let started = Instant::now();
    let result = match opener(&request.choice, &request.options) {
        Ok(detector) => {
            let info = detector.info();
            tracing::info!(
                "detector {info} opened from {} in {:.0} ms",
                request.choice,
                ms(started.elapsed())
            );
            *active = Some((request.choice.clone(), detector));
            Ok(info)
        }
        Err(err) => {
            // Reported once, in the panel (and here for the log).
            tracing::warn!("cannot open the detector {}: {err}", request.choice);
            Err(err.to_string())
        }
    };
    Opened {
        choice: request.choice,
        result,
        active: active
            .as_ref()
            .map(|(choice, detector)| (choice.clone(), detector.info())),
    }
}

fn detect_request(
    active: &mut Option<(DetectorChoice, Box<dyn Detector>)>,
    request: DetectRequest,
) -> Detected {
    let started = Instant::now();
    let outcome = match active.as_mut() {
        None => Err("no detector is open".to_owned()),
        Some((_, detector)) => detect_frame(detector.as_mut(), &request.frame, &request.settings),
    };
    let finished = Instant::now();
    if let Ok(result) = &outcome {
        tracing::trace!(
            "frame {}: {} detections in {:.1} ms",
            result.frame_number,
            result.detections.len(),
            result.inference_ms
        );
    }
    Detected {
        id: request.id,
        purpose: request.purpose,
        frame_number: request.frame.frame_number,
        settings: request.settings,
        detector: active.as_ref().map(|(choice, _)| choice.clone()),
        outcome,
        submitted: request.submitted,
        started,
        finished,
    }
}

/// Runs `detector` over `frame`: its planes as a [`FrameView`] (depth as little-endian bytes,
/// with the frame's scale and intrinsics), the result stamped with the frame's number and time.
pub fn detect_frame(
    detector: &mut dyn Detector,
    frame: &Frame,
    settings: &DetectSettings,
) -> Result<DetectionResult, String> {
    let depth_le: Option<(Vec<u8>, f32)> = match (&frame.depth_units, frame.metadata.depth_scale_m)
    {
        (Some(units), Some(depth_scale_m)) => Some((
            units.iter().flat_map(|unit| unit.to_le_bytes()).collect(),
            depth_scale_m,
        )),
        // Depth without a scale cannot be turned into metres: detect on colour alone.
        _ => None,
    };
    let depth = depth_le.as_ref().map(|(z16_le, depth_scale_m)| DepthView {
        z16_le,
        depth_scale_m: *depth_scale_m,
    });
    let view = FrameView::new(
        frame.geometry.width,
        frame.geometry.height,
        &frame.rgb,
        depth,
        frame.metadata.intrinsics,
    )
    .map_err(|err| format!("the frame cannot be detected on: {err}"))?;
    let started = Instant::now();
    let detections = detector
        .detect(&view, settings)
        .map_err(|err| err.to_string())?;
    let inference_ms = ms(started.elapsed());
    Ok(DetectionResult {
        frame_number: frame.frame_number,
        frame_publish_mono_ns: frame
            .publish_mono_ns
            .unwrap_or(frame.metadata.capture_mono_ns),
        detector: detector.info(),
        score_threshold: settings.score_threshold,
        inference_ms,
        detections,
    })
}

#[cfg(test)]
pub(crate) mod test_detectors {
    //! Stand-in detectors for the tests of the crate.

    use std::time::Duration;

    use crossbeam_channel::{Receiver, Sender};
    use detect::{DetectError, DetectSettings, Detector, DetectorChoice, FrameView, OpenOptions};
    use shmproto::{Detection, DetectorInfo};

    use super::DetectorOpener;

    /// How long a test waits for a gated detector before it calls itself hung. Only a broken
    /// test waits that long; a working one is released or told at once.
    const HUNG: Duration = Duration::from_secs(60);

    /// The test's end of a gated [`FixedBox`]: each `detect` call says it started, then blocks
    /// until the test releases it (or drops the gate), so a test decides when a detection ends.
    pub struct DetectorGate {
        started: Receiver<()>,
        release: Sender<()>,
    }

    impl DetectorGate {
        /// Waits until the detector has started on a frame (and blocks in it).
        pub fn wait_started(&self) {
            self.started
                .recv_timeout(HUNG)
                .expect("the gated detector never started on a frame");
        }

        /// Lets one detection (under way or the next one) finish.
        pub fn release(&self) {
            self.release.send(()).expect("the gated detector is gone");
        }
    }

    /// The detector's end of a [`DetectorGate`].
    #[derive(Clone)]
    struct GateEnds {
        started: Sender<()>,
        release: Receiver<()>,
    }

    /// Finds one box, the frame's middle quarter, scoring 0.5, after sleeping `delay` (and,
    /// when gated, after the test released it).
    pub struct FixedBox {
        pub delay: Duration,
        gate: Option<GateEnds>,
    }

    impl Detector for FixedBox {
        fn info(&self) -> DetectorInfo {
            DetectorInfo {
                format: "fixed".to_owned(),
                model: None,
            }
        }

        fn detect(
            &mut self,
            frame: &FrameView<'_>,
            settings: &DetectSettings,
        ) -> Result<Vec<Detection>, DetectError> {
            if let Some(gate) = &self.gate {
                // Both fail only when the test dropped the gate: then nothing holds us back.
                let _ = gate.started.send(());
                let _ = gate.release.recv();
            }
            std::thread::sleep(self.delay);
            let (w, h) = (frame.width() as f32, frame.height() as f32);
            let mut detections = vec![Detection {
                class_id: 0,
                label: "thing".to_owned(),
                score: 0.5,
                box_px: [w / 4.0, h / 4.0, w * 3.0 / 4.0, h * 3.0 / 4.0],
                position: None,
                position_missing: None,
            }];
            detections.retain(|detection| detection.score >= settings.score_threshold);
            detect::position::locate_all(frame, &mut detections);
            Ok(detections)
        }
    }

    fn opener(delay: Duration, gate: Option<GateEnds>) -> DetectorOpener {
        Box::new(
            move |choice: &DetectorChoice, _options: &OpenOptions| match choice {
                DetectorChoice::Depth => Ok(Box::new(FixedBox {
                    delay,
                    gate: gate.clone(),
                }) as Box<dyn Detector>),
                DetectorChoice::Model(path) => Err(DetectError::Model {
                    path: path.display().to_string(),
                    problem: "not a model".to_owned(),
                }),
            },
        )
    }

    /// Opens [`FixedBox`] for `depth` and fails for any model path.
    pub fn fixed_box_opener(delay: Duration) -> DetectorOpener {
        opener(delay, None)
    }

    /// Opens a [`FixedBox`] that blocks in each `detect` until the returned gate releases it;
    /// fails for any model path.
    pub fn gated_fixed_box_opener() -> (DetectorOpener, DetectorGate) {
        let (started_tx, started_rx) = crossbeam_channel::unbounded();
        let (release_tx, release_rx) = crossbeam_channel::unbounded();
        let ends = GateEnds {
            started: started_tx,
            release: release_rx,
        };
        let gate = DetectorGate {
            started: started_rx,
            release: release_tx,
        };
        (opener(Duration::ZERO, Some(ends)), gate)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::test_detectors::{fixed_box_opener, gated_fixed_box_opener};
    use super::*;
    use crate::frame::test_frames::plane_frame;

    fn wait_report(worker: &DetectionWorker) -> WorkerReport {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(report) = worker.next_report().unwrap() {
                return report;
            }
            assert!(Instant::now() < deadline, "no report from the worker");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn the_worker_opens_then_detects_and_keeps_the_old_detector_when_an_open_fails() {
        let ctx = egui::Context::default();
        let mut worker = DetectionWorker::spawn(ctx, fixed_box_opener(Duration::ZERO)).unwrap();
        let (id, _) = worker.submit(
            Purpose::Frozen,
            Arc::new(plane_frame(1, 64, 48, 1500)),
            DetectSettings::default(),
        );
        let WorkerReport::Detected(detected) = wait_report(&worker) else {
            panic!("expected a detection");
        };
        assert_eq!(detected.id, id);
        assert_eq!(detected.outcome.unwrap_err(), "no detector is open");

        worker.open(OpenRequest {
            choice: DetectorChoice::Depth,
            options: OpenOptions::default(),
        });
        let frame = Arc::new(plane_frame(7, 64, 48, 1500));
        worker.submit(
            Purpose::Frozen,
            Arc::clone(&frame),
            DetectSettings::default(),
        );
        let WorkerReport::Opened(opened) = wait_report(&worker) else {
            panic!("the open comes first");
        };
        assert!(opened.result.is_ok());
        let WorkerReport::Detected(detected) = wait_report(&worker) else {
            panic!("expected a detection");
        };
        let result = detected.outcome.unwrap();
        assert_eq!(result.frame_number, 7);
        assert_eq!(result.frame_publish_mono_ns, frame.publish_mono_ns.unwrap());
        assert_eq!(result.detections.len(), 1);
        let position = result.detections[0].position.expect("the plane has depth");
        assert!((position.depth_m - 1.5).abs() < 1e-6);

        worker.open(OpenRequest {
            choice: DetectorChoice::Model("missing.onnx".into()),
            options: OpenOptions::default(),
        });
        let WorkerReport::Opened(opened) = wait_report(&worker) else {
            panic!("expected the open's outcome");
        };
        assert!(opened.result.unwrap_err().contains("missing.onnx"));
        assert_eq!(
            opened.active.map(|(choice, _)| choice),
            Some(DetectorChoice::Depth),
            "the depth detector stays"
        );
    }

    #[test]
    fn a_busy_worker_takes_only_the_newest_frame() {
        let ctx = egui::Context::default();
        let (opener, gate) = gated_fixed_box_opener();
        let mut worker = DetectionWorker::spawn(ctx, opener).unwrap();
        worker.open(OpenRequest {
            choice: DetectorChoice::Depth,
            options: OpenOptions::default(),
        });
        let submit = |worker: &mut DetectionWorker, number: u64| {
            worker.submit(
                Purpose::Live,
                Arc::new(plane_frame(number, 32, 24, 1000)),
                DetectSettings::default(),
            )
        };
        let (first_id, old) = submit(&mut worker, 1);
        assert!(old.is_none());
        // The worker took frame 1 and is held inside the detector: the slot is empty again.
        gate.wait_started();
        let mut replaced = Vec::new();
        let mut last_id = 0;
        for number in 2..=20 {
            let (id, old) = submit(&mut worker, number);
            replaced.extend(old.map(|request| request.frame.frame_number));
            last_id = id;
        }
        // Frames wait in one slot: each of 3..=20 replaced the one before it.
        assert_eq!(replaced, (2..=19).collect::<Vec<u64>>());
        gate.release();
        gate.wait_started();
        gate.release();

        let mut detected = Vec::new();
        while detected.len() < 2 {
            if let WorkerReport::Detected(report) = wait_report(&worker) {
                detected.push((report.id, report.frame_number));
            }
        }
        assert_eq!(detected, [(first_id, 1), (last_id, 20)]);
    }
}
