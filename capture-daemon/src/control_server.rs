//! The daemon's end of the command channel (`shmproto::control`): a Unix socket beside the
//! pid file, one thread per client, requests handed to the main loop.
//!
//! A client can only hurt itself: over-long lines close its connection, bad JSON gets an error
//! reply, a half message followed by silence parks only its own thread, and the number of
//! clients is bounded.

use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shmproto::control::{self, Command, CommandError, ErrorCode, Response};
use shmproto::SegmentOwner;
use tracing::{debug, warn};

use crate::capture::Reply;

/// Most clients served at once; more are refused with an error reply.
pub const MAX_CLIENTS: usize = 32;
/// How long a client waits for the daemon's answer before it gets `unavailable`.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// A client that does not read its responses for this long is disconnected.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// A client that sends no complete request for this long is disconnected, so idle or
/// half-finished connections cannot hold client places for ever. The time runs from the end
/// of the previous answer to the end of the request, however the bytes trickle in.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The client's end of the socket, readable only until a deadline for the whole request: a
/// per-read timeout alone would let one byte every few seconds hold a place for ever.
struct RequestDeadline {
    stream: UnixStream,
    deadline: Instant,
    limit: Duration,
}

impl RequestDeadline {
    fn new(stream: UnixStream, limit: Duration) -> Self {
        RequestDeadline {
            stream,
            deadline: Instant::now() + limit,
            limit,
        }
    }

    /// The next request has `limit` from now to arrive whole.
    fn restart(&mut self) {
        self.deadline = Instant::now() + self.limit;
    }
}

impl Read for RequestDeadline {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no complete request within the idle limit",
            ));
        }
        self.stream.set_read_timeout(Some(remaining))?;
        self.stream.read(buf)
    }
}

/// The listening socket; its file is removed on drop.
pub struct ControlServer {
    path: PathBuf,
    /// Requests for the main loop, each with where to send the answer.
    pub requests: Receiver<(Command, Reply)>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the socket at `path` (owner-only, handed to `owner`) and starts accepting.
///
/// The caller holds the namespace's pid file, so a socket file already at `path` was left by
/// a dead daemon and is replaced. Anything else at that path is left alone and reported.
pub fn start(path: &Path, owner: Option<SegmentOwner>) -> std::io::Result<ControlServer> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(metadata) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is a {}, not a socket; remove it",
                    path.display(),
                    shmproto::runtime_dir::file_type_name(&metadata)
                ),
            ))
        }
        Err(_) => {}
    }
    // The socket file has no descriptor of its own to change (fchown on a socket changes the
    // socket, not its file), so it is changed by path, which is safe only because the caller
    // checked that the directory is private (`runtime::prepare_dir`): nobody else can swap a
    // link in under this name between bind and chown. The daemon's umask (077) makes the
    // socket private from the moment it exists.
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    if let Some(owner) = owner {
        std::os::unix::fs::lchown(path, Some(owner.uid), Some(owner.gid))?;
    }
    let (sender, requests) = mpsc::channel();
    let clients = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new()
        .name("control-accept".into())
        .spawn(move || accept_loop(&listener, &sender, &clients))?;
    Ok(ControlServer {
        path: path.to_path_buf(),
        requests,
    })
}

fn accept_loop(
    listener: &UnixListener,
    sender: &Sender<(Command, Reply)>,
    clients: &Arc<AtomicUsize>,
) {
    for stream in listener.incoming() {
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(error) => {
                warn!("command socket: accept failed: {error}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        // Relaxed: a plain counter; nothing else is published through it.
        if clients.fetch_add(1, Ordering::Relaxed) >= MAX_CLIENTS {
            clients.fetch_sub(1, Ordering::Relaxed);
            let refusal = CommandError::new(
                ErrorCode::Unavailable,
                format!("too many clients (at most {MAX_CLIENTS})"),
            );
            let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
            let _ = write_response(&mut stream, &Response::failure(None, refusal));
            continue;
        }
        let sender = sender.clone();
        let thread_clients = Arc::clone(clients);
        let spawned = std::thread::Builder::new()
            .name("control-client".into())
            .spawn(move || {
                serve_client(stream, &sender);
                thread_clients.fetch_sub(1, Ordering::Relaxed);
            });
        if let Err(error) = spawned {
            // The place taken above is not used after all.
            clients.fetch_sub(1, Ordering::Relaxed);
            warn!("command socket: cannot start a client thread: {error}");
        }
    }
}

fn write_response(stream: &mut UnixStream, response: &Response) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(response).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

fn serve_client(stream: UnixStream, sender: &Sender<(Command, Reply)>) {
    serve_client_with_limit(stream, sender, IDLE_TIMEOUT);
}

fn serve_client_with_limit(
    mut stream: UnixStream,
    sender: &Sender<(Command, Reply)>,
    request_limit: Duration,
) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(RequestDeadline::new(read_half, request_limit));
    let mut line = Vec::new();
    loop {
        reader.get_mut().restart();
        let response = match control::read_line(&mut reader, &mut line) {
            Ok(None) => return,
            Ok(Some(())) => match control::parse_request(&line) {
                Ok(request) => answer(request.id, request.command, sender),
                Err(response) => response,
            },
            Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
                let too_large = CommandError::new(ErrorCode::TooLarge, error.to_string());
                let _ = write_response(&mut stream, &Response::failure(None, too_large));
                debug!("command socket: closing a client that sent an over-long line");
                return;
            }
            Err(error) => {
                debug!("command socket: client gone: {error}");
                return;
            }
        };
        if write_response(&mut stream, &response).is_err() {
            return;
        }
    }
}

fn answer(id: u64, command: Command, sender: &Sender<(Command, Reply)>) -> Response {
    let (reply, answer) = mpsc::channel();
    if sender.send((command, reply)).is_err() {
        let stopping = CommandError::new(ErrorCode::Unavailable, "the daemon is stopping");
        return Response::failure(Some(id), stopping);
    }
    match answer.recv_timeout(ANSWER_TIMEOUT) {
        Ok(Ok(result)) => Response::success(id, result),
        Ok(Err(error)) => Response::failure(Some(id), error),
        Err(_) => Response::failure(
            Some(id),
            CommandError::new(ErrorCode::Unavailable, "the daemon did not answer in time"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One byte every so often used to keep a connection for ever (each read restarted the
    /// idle timeout): the limit covers the whole request.
    #[test]
    fn a_trickling_client_is_cut_off_at_the_request_limit() {
        let (daemon_end, mut client) = UnixStream::pair().unwrap();
        let (sender, _requests) = mpsc::channel();
        let limit = Duration::from_millis(600);
        let started = Instant::now();
        let server =
            std::thread::spawn(move || serve_client_with_limit(daemon_end, &sender, limit));
        // A byte every 100 ms (each well inside the limit) for up to 10 s, never a newline.
        let mut cut_off = false;
        for _ in 0..100 {
            if client.write_all(b" ").is_err() {
                cut_off = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            if server.is_finished() {
                cut_off = true;
                break;
            }
        }
        assert!(cut_off, "the trickling client kept its connection for 10 s");
        server.join().unwrap();
        assert!(started.elapsed() >= limit);
    }
}
