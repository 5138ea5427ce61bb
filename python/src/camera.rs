//! `Camera`: one namespace of the daemon: its frames, liveness, controls and detections.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use shmproto::control::ControlClient;
use shmproto::{DetectionsReader, FrameBuf, Liveness, Namespace, ReadError, Reader};

use crate::errors::{client_error, daemon_not_running, open_error, read_error, AaaCameraError};
use crate::frame::{BufPool, Frame};
use crate::in_place::InPlaceFrame;

/// How long a control command may take before it is an error.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a wait tries to attach again while no daemon is live.
const REOPEN_INTERVAL: Duration = Duration::from_millis(10);
/// Iteration waits this long at a time, checking for Ctrl-C in between.
const ITERATION_WAIT: Duration = Duration::from_millis(250);

/// A reader of the daemon's frames in one namespace.
///
/// `Camera(namespace=None, runtime_dir=None)`: `namespace` as the daemon's `--namespace`
/// (default: `$AAA_NAMESPACE`, else the default names); `runtime_dir` as its `--runtime-dir`
/// (where its command socket is; default: found the way the daemon's `ctl` finds it).
/// Raises `DaemonNotRunning` when no live daemon publishes there.
#[pyclass(module = "aaa_camera")]
pub struct Camera {
    namespace: Namespace,
    runtime_dir: Option<PathBuf>,
    readers: Mutex<Readers>,
    bufs: Arc<BufPool>,
}

struct Readers {
    /// `None` after the daemon went away: the next wait opens the namespace again.
    frames: Option<Reader>,
    detections: Option<DetectionsReader>,
}

impl Camera {
    fn lock(&self) -> MutexGuard<'_, Readers> {
        // A panic while locked leaves only readers behind, which stay valid: go on with them.
        self.readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for the next frame with `read` (a reader's wait of some kind: `Ok(None)` when its
    /// time passes first); runs without the GIL. Opens the namespace again when the daemon went
    /// away before (waiting up to `timeout` for one to come up), and follows a daemon that
    /// moved to new segments (a new geometry).
    fn wait_with<T>(
        &self,
        timeout: Duration,
        mut read: impl FnMut(&mut Reader, Duration) -> Result<Option<T>, ReadError>,
    ) -> PyResult<Option<T>> {
        let deadline = Instant::now() + timeout;
        let mut readers = self.lock();
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let reader = match &mut readers.frames {
                Some(reader) => reader,
                empty => empty.insert(open_until(deadline, || Reader::open(&self.namespace))?),
            };
            match read(reader, remaining) {
                Ok(read) => return Ok(read),
                Err(ReadError::WriterGone(liveness)) if liveness.is_replaced() => {
                    readers.frames = None;
                }
                Err(error @ (ReadError::WriterGone(_) | ReadError::SegmentLost { .. })) => {
                    readers.frames = None;
                    return Err(read_error(&error));
                }
                Err(error) => return Err(read_error(&error)),
            }
        }
    }

    /// Waits for the next frame and copies it into a buffer of its own; runs without the GIL.
    fn wait(&self, timeout: Duration) -> PyResult<Option<FrameBuf>> {
        // A buffer per frame: the frame owns it, and its arrays view it; a reused one when an
        // earlier frame is gone.
        let mut buf = self.bufs.take();
        let copied = self.wait_with(timeout, |reader, remaining| {
            Ok(reader.wait_next(&mut buf, remaining)?.then_some(()))
        })?;
        if copied.is_none() {
            self.bufs.give_back(buf);
            return Ok(None);
        }
        Ok(Some(buf))
    }

    fn control_client(&self) -> PyResult<ControlClient> {
        let runtime_dir =
            shmproto::runtime_dir::find_runtime_dir(self.runtime_dir.as_deref(), &self.namespace);
        ControlClient::connect(
            &self.namespace.control_socket(&runtime_dir),
            CONTROL_TIMEOUT,
        )
        .map_err(|error| client_error(&error))
    }
}

/// Opens a reader with `open`, trying again until `deadline` while no live daemon publishes
/// (not yet started, still starting, or stopped by SIGSTOP and not yet stamping its heartbeat
/// again).
fn open_until<T>(
    deadline: Instant,
    open: impl Fn() -> Result<T, shmproto::OpenError>,
) -> PyResult<T> {
    loop {
        match open() {
            Ok(reader) => return Ok(reader),
            Err(error) if !daemon_not_running(&error) || Instant::now() >= deadline => {
                return Err(open_error(&error));
            }
            Err(_) => std::thread::sleep(REOPEN_INTERVAL),
        }
    }
}

fn seconds(timeout: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(timeout)
        .map_err(|_| PyValueError::new_err(format!("timeout must be >= 0 seconds, not {timeout}")))
}

fn json_to_python<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?
        .call_method1("loads", (value.to_string(),))
}

fn liveness_dict<'py>(py: Python<'py>, liveness: Option<Liveness>) -> PyResult<Bound<'py, PyAny>> {
    let (state, pid, age_s) = match liveness {
        None => ("not_running", None, None),
        Some(Liveness::Live { pid }) => ("live", Some(pid), None),
        Some(Liveness::Starting { pid }) => ("starting", Some(pid), None),
        Some(Liveness::Closed { pid }) => ("closed", Some(pid), None),
        Some(Liveness::Replaced { pid }) => ("replaced", Some(pid), None),
        Some(Liveness::ProcessGone { pid }) => ("process_gone", Some(pid), None),
        Some(Liveness::HeartbeatStale { pid, age }) => {
            ("heartbeat_stale", Some(pid), Some(age.as_secs_f64()))
        }
        Some(Liveness::UnknownState { pid, .. }) => ("unknown_state", Some(pid), None),
    };
    let message = liveness.map_or_else(
        || "no daemon attached (it went away; the next wait reconnects)".to_owned(),
        |liveness| liveness.to_string(),
    );
    let dict = pyo3::types::PyDict::new(py);
    dict.set_item("state", state)?;
    dict.set_item("live", liveness.is_some_and(|liveness| liveness.is_live()))?;
    dict.set_item("pid", pid)?;
    dict.set_item("heartbeat_age_s", age_s)?;
    dict.set_item("message", message)?;
    Ok(dict.into_any())
}

#[pymethods]
impl Camera {
    #[new]
    #[pyo3(signature = (namespace=None, runtime_dir=None))]
    fn new(
        py: Python<'_>,
        namespace: Option<&str>,
        runtime_dir: Option<PathBuf>,
    ) -> PyResult<Self> {
        let namespace = Namespace::from_flag_or_env(namespace)
            .map_err(|error| PyValueError::new_err(error.to_string()))?;
        let reader = py
            .detach(|| Reader::open(&namespace))
            .map_err(|error| open_error(&error))?;
        Ok(Camera {
            namespace,
            runtime_dir,
            readers: Mutex::new(Readers {
                frames: Some(reader),
                detections: None,
            }),
            bufs: Arc::default(),
        })
    }

    /// The namespace's name ("" for the default names).
    #[getter]
    fn namespace(&self) -> String {
        self.namespace.as_str().to_owned()
    }

    /// Waits up to `timeout` seconds for a frame newer than the last one returned and
    /// returns it, or `None` when the time passes first. Raises `DaemonGone` as soon as the
    /// daemon stops or dies (within 250 ms); the next call reconnects, raising
    /// `DaemonNotRunning` if no live daemon comes up within its timeout.
    #[pyo3(signature = (timeout=1.0))]
    fn wait_next(&self, py: Python<'_>, timeout: f64) -> PyResult<Option<Frame>> {
        let timeout = seconds(timeout)?;
        py.detach(|| -> PyResult<Option<Frame>> {
            self.wait(timeout)?
                .map(|buf| Frame::new(buf, &self.bufs))
                .transpose()
        })
    }

    /// Waits up to `timeout` seconds for a frame newer than the last one returned and holds
    /// it where it lies in shared memory, without copying it: for a `with` block,
    ///
    /// ```python
    /// with cam.wait_next_in_place(timeout=1.0) as frame:
    ///     mean = frame.rgb.mean()      # read-only arrays over the daemon's memory
    /// ```
    ///
    /// On leaving the block the frame is checked: `FrameOverwritten` when the daemon reused
    /// its memory meanwhile (what the block computed mixes two frames: throw it away; it
    /// happens when a block takes longer than about three frame intervals). Use the arrays
    /// inside the block only. Raises `TimeoutError` when no frame comes in time, and the
    /// exceptions of `wait_next` otherwise.
    #[pyo3(signature = (timeout=1.0))]
    fn wait_next_in_place(&self, py: Python<'_>, timeout: f64) -> PyResult<InPlaceFrame> {
        let timeout = seconds(timeout)?;
        let held = py.detach(|| self.wait_with(timeout, Reader::wait_next_held))?;
        let Some(held) = held else {
            return Err(PyTimeoutError::new_err(format!(
                "no frame within {} s",
                timeout.as_secs_f64()
            )));
        };
        Ok(InPlaceFrame::new(held, Arc::clone(&self.bufs)))
    }

    fn __iter__(this: PyRef<'_, Self>) -> PyRef<'_, Self> {
        this
    }

    /// The next frame, waiting as long as it takes (Ctrl-C interrupts); exceptions as
    /// `wait_next`.
    fn __next__(&self, py: Python<'_>) -> PyResult<Frame> {
        loop {
            if let Some(frame) = self.wait_next(py, ITERATION_WAIT.as_secs_f64())? {
                return Ok(frame);
            }
            py.check_signals()?;
        }
    }

    /// How the daemon is doing, as a dict: `state` (`live`, `starting`, `closed`,
    /// `replaced`, `process_gone`, `heartbeat_stale`, `unknown_state`, or `not_running` after
    /// it went away), `live` (bool), `pid`, `heartbeat_age_s` (when stale) and `message`.
    fn liveness<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let liveness = py.detach(|| self.lock().frames.as_ref().map(Reader::liveness));
        liveness_dict(py, liveness)
    }

    /// The camera's controls, as the daemon lists them: dicts with `name`, `label`, `type`
    /// (`range` with `min`, `max`, `step`, or `toggle`), `default`, `value`, `unit`.
    fn controls<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let listed = py.detach(|| {
            let mut client = self.control_client()?;
            client.list_controls().map_err(|error| client_error(&error))
        })?;
        let value = serde_json::to_value(listed)
            .map_err(|error| AaaCameraError::new_err(error.to_string()))?;
        json_to_python(py, &value)
    }

    /// Sets a control (`ControlError` if the daemon refuses: unknown name, value out of
    /// range) and returns it as the daemon now reports it.
    fn set_control<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        value: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let control = py.detach(|| {
            let mut client = self.control_client()?;
            client
                .set_control(name, value)
                .map_err(|error| client_error(&error))
        })?;
        let value = serde_json::to_value(control)
            .map_err(|error| AaaCameraError::new_err(error.to_string()))?;
        json_to_python(py, &value)
    }

    /// Waits up to `timeout` seconds for the daemon's next detection result (the daemon runs
    /// with `--detect ...` or `ctl detect on`) and returns it as a dict (the result's JSON, as
    /// protocol.md section 19 specifies it, plus `publish_seq` and `publish_mono_ns`), or
    /// `None` when the time passes first. Raises `DaemonNotRunning` when no daemon publishes
    /// detections within the timeout, `DaemonGone` when it stops; the next call reconnects.
    #[pyo3(signature = (timeout=1.0))]
    fn wait_detections<'py>(
        &self,
        py: Python<'py>,
        timeout: f64,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let timeout = seconds(timeout)?;
        let published = py.detach(|| {
            let deadline = Instant::now() + timeout;
            let mut readers = self.lock();
            let reader = match &mut readers.detections {
                Some(reader) => reader,
                empty => empty.insert(open_until(deadline, || {
                    DetectionsReader::open(&self.namespace)
                })?),
            };
            let waited = reader.wait_next(deadline.saturating_duration_since(Instant::now()));
            if matches!(
                waited,
                Err(ReadError::WriterGone(_) | ReadError::SegmentLost { .. })
            ) {
                readers.detections = None;
            }
            waited.map_err(|error| read_error(&error))
        })?;
        let Some(published) = published else {
            return Ok(None);
        };
        let value = serde_json::to_value(&published.result)
            .map_err(|error| AaaCameraError::new_err(error.to_string()))?;
        let dict = json_to_python(py, &value)?;
        dict.set_item("publish_seq", published.publish_seq)?;
        dict.set_item("publish_mono_ns", published.publish_mono_ns)?;
        Ok(Some(dict))
    }

    fn __repr__(&self) -> String {
        format!(
            "<aaa_camera.Camera namespace={:?}>",
            self.namespace.as_str()
        )
    }
}
