//! The command channel from clients to the daemon: JSON messages, one per line, over a Unix
//! domain socket beside the daemon's pid file (see `docs/protocol.md`, "Command channel").
//!
//! Every request carries an `id` that its response repeats, so a client may pipeline several
//! requests on one connection. Many clients may be connected at once.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Longest request or response line, newline included. Longer input is refused and the
/// connection closed.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// Liveness of the channel; answered with the daemon's pid and version.
    Ping,
    /// Every control of the current source with its range, default and value.
    ListControls,
    GetControl {
        name: String,
    },
    /// Sets a control; toggles take 0 or 1.
    SetControl {
        name: String,
        value: f64,
    },
    /// Stop publishing frames (the source keeps running).
    Pause,
    Resume,
    /// Reopen the source at another resolution and frame rate; readers follow the new
    /// geometry by opening the segments again.
    SetMode {
        width: u32,
        height: u32,
        fps: f32,
    },
    /// The daemon's counters, rates, timings and resource use.
    Metrics,
    /// Live detection: turn it on or off, choose the detector (`depth` or the path of an ONNX
    /// model on the daemon's machine), set its score threshold; each field is optional and the
    /// rest stays. Answered with the detection status ([`crate::DetectionStatus`]).
    Detect {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        enabled: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detector: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        score_threshold: Option<f32>,
    },
}

/// One request line: `{"id": 7, "cmd": "set_control", "name": "exposure", "value": 8500}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    #[serde(flatten)]
    pub command: Command,
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The line is not JSON, or not a JSON object.
    BadJson,
    /// The line is longer than [`MAX_MESSAGE_LEN`]; the connection is closed.
    TooLarge,
    /// `cmd` names no command.
    UnknownCommand,
    /// The command's fields are missing or of the wrong type.
    BadRequest,
    /// No control of that name on the current source.
    UnknownControl,
    /// The value is outside the control's range (or not 0/1 for a toggle).
    OutOfRange,
    /// The source cannot do this (no controls, fixed mode).
    Unsupported,
    /// The source is not open right now (starting, failed, reconnecting), or the daemon is
    /// too busy to answer in time.
    Unavailable,
    /// The device refused (USB error, driver).
    DeviceError,
}

impl ErrorCode {
    /// The name on the wire: `out_of_range`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad_json",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnknownCommand => "unknown_command",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownControl => "unknown_control",
            ErrorCode::OutOfRange => "out_of_range",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::DeviceError => "device_error",
        }
    }
}

/// The error half of a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} ({})", code.as_str())]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

/// One response line: `{"id": 7, "ok": true, "result": {...}}` or
/// `{"id": 7, "ok": false, "error": {"code": "out_of_range", "message": "..."}}`.
/// `id` is null when the request was too broken to have one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: Option<u64>,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CommandError>,
}

impl Response {
    pub fn success(id: u64, result: serde_json::Value) -> Self {
        Response {
            id: Some(id),
            ok: true,
            result: Some(result),
            error: None,
        }
    }

    pub fn failure(id: Option<u64>, error: CommandError) -> Self {
        Response {
            id,
            ok: false,
            result: None,
            error: Some(error),
        }
    }
}

/// How a control is set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlKind {
    /// A number from `min` to `max` in steps of `step`.
    Range { min: f64, max: f64, step: f64 },
    /// Off (0) or on (1).
    Toggle,
}

/// One control of a source, as `list_controls` and `get_control` report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlInfo {
    /// Stable identifier used in commands: `exposure`, `auto_exposure`, `brightness`.
    pub name: String,
    /// Human-readable label.
    pub label: String,
    #[serde(flatten)]
    pub kind: ControlKind,
    pub default: f64,
    pub value: f64,
    /// Unit of the value, e.g. "us" for exposure.
    pub unit: Option<String>,
}

impl ControlInfo {
    /// Checks `value` against the control's kind and range.
    pub fn check(&self, value: f64) -> Result<(), CommandError> {
        let fits = match self.kind {
            ControlKind::Range { min, max, .. } => {
                value.is_finite() && (min..=max).contains(&value)
            }
            ControlKind::Toggle => value == 0.0 || value == 1.0,
        };
        if fits {
            return Ok(());
        }
        let expected = match self.kind {
            ControlKind::Range { min, max, .. } => format!("{min} to {max}"),
            ControlKind::Toggle => "0 or 1".to_owned(),
        };
        Err(CommandError::new(
            ErrorCode::OutOfRange,
            format!("{} must be {expected}, got {value}", self.name),
        ))
    }
}

/// Reads one line of at most [`MAX_MESSAGE_LEN`] bytes (newline excluded from the result).
/// `Ok(None)` at a clean end of stream; an over-long line is an error of kind `InvalidData`.
pub fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Option<()>> {
    line.clear();
    let read = reader
        .by_ref()
        .take(MAX_MESSAGE_LEN as u64)
        .read_until(b'\n', line)?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        return Ok(Some(()));
    }
    if read >= MAX_MESSAGE_LEN {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("message longer than {MAX_MESSAGE_LEN} bytes"),
        ));
    }
    // The peer hung up in the middle of a line.
    Err(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "connection closed in the middle of a message",
    ))
}

/// Parses a request line, or says what to answer instead.
pub fn parse_request(line: &[u8]) -> Result<Request, Response> {
    let value: serde_json::Value = serde_json::from_slice(line).map_err(|error| {
        Response::failure(
            None,
            CommandError::new(ErrorCode::BadJson, error.to_string()),
        )
    })?;
    let Some(object) = value.as_object() else {
        return Err(Response::failure(
            None,
            CommandError::new(ErrorCode::BadJson, "a request must be a JSON object"),
        ));
    };
    let Some(id) = object.get("id").and_then(serde_json::Value::as_u64) else {
        return Err(Response::failure(
            None,
            CommandError::new(
                ErrorCode::BadRequest,
                "missing or invalid \"id\" (an unsigned integer)",
            ),
        ));
    };
    let Some(cmd) = object.get("cmd").and_then(serde_json::Value::as_str) else {
        return Err(Response::failure(
            Some(id),
            CommandError::new(ErrorCode::BadRequest, "missing \"cmd\" (a string)"),
        ));
    };
    // Echoed in error messages: keep it short whatever the client sent.
    let cmd: String = cmd.chars().take(64).collect();
    serde_json::from_value::<Request>(value).map_err(|error| {
        let known = !error.to_string().starts_with("unknown variant");
        let code = if known {
            ErrorCode::BadRequest
        } else {
            ErrorCode::UnknownCommand
        };
        let message = if known {
            format!("bad {cmd:?} request: {error}")
        } else {
            format!("unknown command {cmd:?}")
        };
        Response::failure(Some(id), CommandError::new(code, message))
    })
}

/// Why a client request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the daemon's command socket {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("command channel: {0}")]
    Io(#[from] std::io::Error),
    #[error("the daemon closed the command channel")]
    Closed,
    #[error("the daemon sent an invalid response: {0}")]
    Protocol(String),
    #[error("the daemon refused: {0}")]
    Refused(CommandError),
    /// The socket is not the daemon's: another user's, or not a socket at all.
    #[error("refusing the command socket: {0}")]
    Untrusted(crate::runtime_dir::UntrustedFile),
    /// The socket's directory is not private: anyone could have put a socket there.
    #[error("refusing the command socket: {0}")]
    UnsafeDir(crate::runtime_dir::RuntimeDirError),
}

/// Connects to the socket at `path`, giving up after `timeout`: a blocking `connect` waits for
/// ever when the listener's queue is full (a frozen daemon), so the socket is non-blocking
/// while it connects (`EAGAIN` when the queue is full: try again shortly), blocking after.
fn connect_within(path: &Path, timeout: Duration) -> std::io::Result<UnixStream> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: an all-zero sockaddr_un is a valid value of this plain C struct.
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= address.sun_path.len() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "socket path too long",
        ));
    }
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (slot, byte) in address.sun_path.iter_mut().zip(bytes) {
        *slot = *byte as libc::c_char;
    }
    let deadline = std::time::Instant::now() + timeout;
    loop {
        // SAFETY: socket has no memory-safety preconditions; the result is checked.
        let raw = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
        if raw < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor owned by nothing else.
        let socket = unsafe { OwnedFd::from_raw_fd(raw) };
        set_nonblocking(&socket, true)?;
        // SAFETY: `address` is a valid sockaddr_un and the length is its size.
        let connected = unsafe {
            libc::connect(
                raw,
                std::ptr::addr_of!(address).cast(),
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            )
        };
        if connected == 0 {
            set_nonblocking(&socket, false)?;
            return Ok(UnixStream::from(socket));
        }
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EAGAIN) || std::time::Instant::now() >= deadline {
            return Err(if error.raw_os_error() == Some(libc::EAGAIN) {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the daemon accepts no connection (is it frozen?)",
                )
            } else {
                error
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn set_nonblocking(socket: &std::os::fd::OwnedFd, nonblocking: bool) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on a descriptor we own; F_GETFL/F_SETFL only read and set its flags.
    let flags = unsafe { libc::fcntl(socket.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let flags = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(socket.as_raw_fd(), libc::F_SETFL, flags) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Refuses a socket path that holds something else, or a socket of a user who is neither us
/// nor root: commands (and the answers believed) must go to our daemon only.
fn check_socket(path: &Path) -> Result<(), ClientError> {
    use crate::runtime_dir::{check_owner, file_type_name, UntrustedFile};
    use std::os::unix::fs::FileTypeExt;
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        // Missing: connecting says so.
        return Ok(());
    };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        crate::runtime_dir::check_private_dir(dir).map_err(ClientError::UnsafeDir)?;
    }
    if !metadata.file_type().is_socket() {
        return Err(ClientError::Untrusted(UntrustedFile::WrongType {
            path: path.to_path_buf(),
            found: file_type_name(&metadata),
            expected: "socket",
        }));
    }
    if crate::runtime_dir::euid() == 0 {
        return Ok(());
    }
    check_owner(path, &metadata, None).map_err(ClientError::Untrusted)
}

/// A connection to the daemon's command socket.
pub struct ControlClient {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    next_id: u64,
    line: Vec<u8>,
}

impl ControlClient {
    /// Connects; requests then wait at most `timeout` for their response.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Self, ClientError> {
        let connect_error = |source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        };
        check_socket(path)?;
        let stream = connect_within(path, timeout).map_err(connect_error)?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(connect_error)?;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(connect_error)?;
        let reader = BufReader::new(stream.try_clone().map_err(connect_error)?);
        Ok(ControlClient {
            writer: stream,
            reader,
            next_id: 1,
            line: Vec::new(),
        })
    }

    /// Sends `command` and waits for its response; the result on success.
    pub fn request(&mut self, command: Command) -> Result<serde_json::Value, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = serde_json::to_vec(&Request { id, command })
            .map_err(|error| ClientError::Protocol(error.to_string()))?;
        message.push(b'\n');
        self.writer.write_all(&message)?;
        loop {
            if read_line(&mut self.reader, &mut self.line)?.is_none() {
                return Err(ClientError::Closed);
            }
            let response: Response = serde_json::from_slice(&self.line)
                .map_err(|error| ClientError::Protocol(error.to_string()))?;
            if response.id.is_some() && response.id != Some(id) {
                // A late answer to an earlier request that timed out on our side.
                continue;
            }
            return match (response.ok, response.result, response.error) {
                (true, Some(result), _) => Ok(result),
                (false, _, Some(error)) => Err(ClientError::Refused(error)),
                _ => Err(ClientError::Protocol(
                    "response has neither result nor error".into(),
                )),
            };
        }
    }

    /// `list_controls`, typed.
    pub fn list_controls(&mut self) -> Result<Vec<ControlInfo>, ClientError> {
        let result = self.request(Command::ListControls)?;
        serde_json::from_value(result["controls"].clone())
            .map_err(|error| ClientError::Protocol(error.to_string()))
    }

    /// `set_control`, typed: the control as it is after the change.
    pub fn set_control(&mut self, name: &str, value: f64) -> Result<ControlInfo, ClientError> {
        let result = self.request(Command::SetControl {
            name: name.to_owned(),
            value,
        })?;
        serde_json::from_value(result).map_err(|error| ClientError::Protocol(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener that accepts nothing, with its queue full (a frozen daemon): connecting
    /// gives up after the timeout instead of waiting for ever.
    #[test]
    fn connecting_to_a_daemon_that_accepts_nothing_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frozen.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: listen on our own socket; backlog 0 queues at most one connection.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let mut queued = Vec::new();
        let started = std::time::Instant::now();
        let error = loop {
            match connect_within(&path, Duration::from_millis(300)) {
                Ok(stream) => queued.push(stream),
                Err(error) => break error,
            }
            assert!(queued.len() < 1000, "the queue never filled");
        };
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut, "{error}");
        assert!(started.elapsed() < Duration::from_secs(60));
        drop(queued);
    }

    #[test]
    fn requests_parse_and_errors_say_why() {
        let request =
            parse_request(br#"{"id":3,"cmd":"set_control","name":"exposure","value":8500}"#)
                .unwrap();
        assert_eq!(
            request.command,
            Command::SetControl {
                name: "exposure".into(),
                value: 8500.0
            }
        );
        let code = |line: &[u8]| parse_request(line).unwrap_err().error.unwrap().code;
        assert_eq!(code(b"not json"), ErrorCode::BadJson);
        assert_eq!(code(b"[1,2]"), ErrorCode::BadJson);
        assert_eq!(code(br#"{"cmd":"ping"}"#), ErrorCode::BadRequest);
        assert_eq!(
            code(br#"{"id":1,"cmd":"explode"}"#),
            ErrorCode::UnknownCommand
        );
        assert_eq!(
            code(br#"{"id":1,"cmd":"set_control","name":"x"}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code(br#"{"id":1,"cmd":"get_control","name":5}"#),
            ErrorCode::BadRequest
        );
        assert_eq!(
            parse_request(br#"{"id":1,"cmd":"explode"}"#)
                .unwrap_err()
                .id,
            Some(1)
        );
    }

    #[test]
    fn control_ranges_are_checked() {
        let control = ControlInfo {
            name: "brightness".into(),
            label: "Brightness".into(),
            kind: ControlKind::Range {
                min: 0.0,
                max: 4.0,
                step: 0.1,
            },
            default: 1.0,
            value: 1.0,
            unit: None,
        };
        assert!(control.check(2.0).is_ok());
        assert_eq!(control.check(5.0).unwrap_err().code, ErrorCode::OutOfRange);
        assert!(control.check(f64::NAN).is_err());
        let json = serde_json::to_value(&control).unwrap();
        assert_eq!(json["type"], "range");
        assert_eq!(
            serde_json::from_value::<ControlInfo>(json).unwrap(),
            control
        );
    }

    #[test]
    fn over_long_and_cut_lines_are_errors() {
        let long = vec![b'x'; MAX_MESSAGE_LEN + 10];
        let mut reader = std::io::Cursor::new(long);
        let mut line = Vec::new();
        let error = read_line(&mut reader, &mut line).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        let mut cut = std::io::Cursor::new(b"{\"id\":1".to_vec());
        assert_eq!(
            read_line(&mut cut, &mut line).unwrap_err().kind(),
            std::io::ErrorKind::UnexpectedEof
        );
        let mut fine = std::io::Cursor::new(b"a\nb\n".to_vec());
        assert!(read_line(&mut fine, &mut line).unwrap().is_some());
        assert_eq!(line, b"a");
    }
}
