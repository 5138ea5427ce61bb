//! The daemon's end of the command channel (`shmproto::control`): a Unix socket beside the
//! pid file, one thread per client, requests handed to the main loop.
//!
//! A client can only hurt itself: over-long lines close its connection, bad JSON gets an error
//! reply, a half message followed by silence parks only its own thread, and the number of
//! clients is bounded.

use std::io::{BufReader, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

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
/// half-finished connections cannot hold client places for ever.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

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
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ))
        }
        Err(_) => {}
    }
    let listener = UnixListener::bind(path)?;
    crate::runtime::hand_over(path, owner)?;
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
        let clients = Arc::clone(clients);
        let spawned = std::thread::Builder::new()
            .name("control-client".into())
            .spawn(move || {
                serve_client(stream, &sender);
                clients.fetch_sub(1, Ordering::Relaxed);
            });
        if let Err(error) = spawned {
            warn!("command socket: cannot start a client thread: {error}");
        }
    }
}

fn write_response(stream: &mut UnixStream, response: &Response) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(response).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

fn serve_client(mut stream: UnixStream, sender: &Sender<(Command, Reply)>) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut line = Vec::new();
    loop {
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
