//! The app's end of the daemon's command channel (`shmproto::control`): a worker thread owns
//! the socket connection, so the GUI never waits on it, and [`DaemonControls`] keeps what the
//! GUI shows of the daemon's controls.
//!
//! The GUI sends [`ControlRequest`]s and takes [`ControlReply`]s; the worker wakes it once per
//! reply, never otherwise. A burst of slider moves is coalesced: only the newest value of each
//! control still waiting is sent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use shmproto::control::{ClientError, ControlClient, ControlInfo};

/// How long one request may take before the worker gives up on it (a frozen daemon).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// What the GUI asks of the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlRequest {
    /// `list_controls`.
    List,
    /// `set_control`; `seq` comes back in the reply.
    Set { name: String, value: f64, seq: u64 },
}

/// What the worker reports back; errors are the user-facing text.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlReply {
    Controls(Result<Vec<ControlInfo>, String>),
    Set {
        name: String,
        seq: u64,
        result: Result<ControlInfo, String>,
    },
}

/// The GUI's end of the worker. Dropping it ends the worker (after the request in flight).
pub struct ControlLink {
    requests: Sender<ControlRequest>,
    replies: Receiver<ControlReply>,
}

impl ControlLink {
    /// Starts a worker for the command socket at `socket`; it connects at the first request and
    /// asks `ctx` for a repaint after each reply.
    pub fn spawn(socket: PathBuf, ctx: egui::Context) -> std::io::Result<Self> {
        let (requests, requests_rx) = crossbeam_channel::unbounded();
        let (replies_tx, replies) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("daemon control".to_owned())
            .spawn(move || run_worker(&socket, &requests_rx, &replies_tx, &ctx))?;
        Ok(ControlLink { requests, replies })
    }

    /// Queues a request; false if the worker is gone.
    pub fn send(&self, request: ControlRequest) -> bool {
        self.requests.send(request).is_ok()
    }

    /// The next reply, if one arrived. `Err` when the worker ended without one.
    pub fn try_reply(&self) -> Result<Option<ControlReply>, String> {
        match self.replies.try_recv() {
            Ok(reply) => Ok(Some(reply)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => {
                Err("the daemon control thread ended unexpectedly".to_owned())
            }
        }
    }
}

fn run_worker(
    socket: &Path,
    requests: &Receiver<ControlRequest>,
    replies: &Sender<ControlReply>,
    ctx: &egui::Context,
) {
    let mut client: Option<ControlClient> = None;
    // Ends when the GUI drops its `ControlLink`.
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        batch.extend(requests.try_iter());
        for request in coalesce(batch) {
            let reply = match request {
                ControlRequest::List => ControlReply::Controls(
                    with_client(socket, &mut client, |client| client.list_controls())
                        .map_err(describe),
                ),
                ControlRequest::Set { name, value, seq } => {
                    let result = with_client(socket, &mut client, |client| {
                        client.set_control(&name, value)
                    })
                    .map_err(describe);
                    ControlReply::Set { name, seq, result }
                }
            };
            if replies.send(reply).is_err() {
                return;
            }
            ctx.request_repaint();
        }
    }
    tracing::debug!("daemon control worker stopped");
}

/// Keeps one `List` and, per control, only the newest `Set`, in the order of their last
/// occurrence.
pub fn coalesce(batch: Vec<ControlRequest>) -> Vec<ControlRequest> {
    let mut kept: Vec<ControlRequest> = Vec::with_capacity(batch.len());
    for request in batch {
        kept.retain(|earlier| match (earlier, &request) {
            (ControlRequest::List, ControlRequest::List) => false,
            (ControlRequest::Set { name: a, .. }, ControlRequest::Set { name: b, .. }) => a != b,
            _ => true,
        });
        kept.push(request);
    }
    kept
}

/// Runs `call` on the connection, connecting first if needed. A connection the daemon closed
/// (it restarted) is replaced and the call tried once more; a refusal is the daemon's answer and
/// a timeout a hung daemon's, and neither is retried.
fn with_client<T>(
    socket: &Path,
    client: &mut Option<ControlClient>,
    call: impl Fn(&mut ControlClient) -> Result<T, ClientError>,
) -> Result<T, ClientError> {
    let mut retried = false;
    loop {
        let connection = match client {
            Some(connection) => connection,
            None => client.insert(ControlClient::connect(socket, REQUEST_TIMEOUT)?),
        };
        match call(connection) {
            Ok(value) => return Ok(value),
            Err(error @ ClientError::Refused(_)) => return Err(error),
            Err(error) => {
                // The connection's state is unknown after any other failure.
                *client = None;
                if retried || !is_broken_connection(&error) {
                    return Err(error);
                }
                tracing::debug!("command channel broken ({error}); reconnecting once");
                retried = true;
            }
        }
    }
}

/// A connection the daemon closed (it restarted): worth one retry on a fresh one. A timeout is
/// not: a daemon that did not answer in time would not answer the retry either.
fn is_broken_connection(error: &ClientError) -> bool {
    use std::io::ErrorKind;
    match error {
        ClientError::Closed => true,
        ClientError::Io(io) => matches!(
            io.kind(),
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

fn describe(error: ClientError) -> String {
    match error {
        ClientError::Refused(refusal) => refusal.to_string(),
        ClientError::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock
                || io.kind() == std::io::ErrorKind::TimedOut =>
        {
            format!(
                "the daemon did not answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            )
        }
        other => other.to_string(),
    }
}

/// The daemon's controls as the GUI shows them.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlList {
    /// Asked, no answer yet.
    Loading,
    Loaded(Vec<ControlInfo>),
    /// The list could not be fetched (socket unreachable, daemon refused).
    Failed(String),
}

/// The last answer about one control, shown next to it.
#[derive(Debug, Clone, PartialEq)]
pub enum ControlFeedback {
    /// The daemon took the value and reports it back as this text.
    Applied(String),
    /// The daemon (or the channel) refused; the text says why.
    Refused(String),
}

/// The GUI-thread state of the controls of one daemon connection.
pub struct DaemonControls {
    /// `None` when the worker could not be started (then `list` says why).
    link: Option<ControlLink>,
    /// The connection it belongs to (the supervisor's "writer pid N").
    connection: String,
    list: ControlList,
    feedback: Vec<(String, ControlFeedback)>,
    /// Sequence number of the newest `Set` sent per control: older answers do not move a
    /// slider the user is still dragging.
    newest_seq: Vec<(String, u64)>,
    next_seq: u64,
}

impl DaemonControls {
    /// Starts the worker and asks for the control list.
    pub fn start(socket: PathBuf, connection: String, ctx: &egui::Context) -> Self {
        let mut controls = DaemonControls {
            link: None,
            connection,
            list: ControlList::Loading,
            feedback: Vec::new(),
            newest_seq: Vec::new(),
            next_seq: 1,
        };
        match ControlLink::spawn(socket, ctx.clone()) {
            Ok(link) => {
                controls.link = Some(link);
                controls.refresh();
            }
            Err(err) => {
                let error = format!("cannot start the daemon control thread: {err}");
                tracing::error!("{error}");
                controls.list = ControlList::Failed(error);
            }
        }
        controls
    }

    fn send(&self, request: ControlRequest) -> bool {
        self.link.as_ref().is_some_and(|link| link.send(request))
    }

    pub fn connection(&self) -> &str {
        &self.connection
    }

    pub fn list(&self) -> &ControlList {
        &self.list
    }

    /// The last answer about control `name`.
    pub fn feedback(&self, name: &str) -> Option<&ControlFeedback> {
        self.feedback
            .iter()
            .find(|(control, _)| control == name)
            .map(|(_, feedback)| feedback)
    }

    /// Fetches the list again.
    pub fn refresh(&mut self) {
        self.list = if self.send(ControlRequest::List) {
            ControlList::Loading
        } else {
            ControlList::Failed("the daemon control thread is gone".to_owned())
        };
    }

    /// Shows `value` at once and sends it to the daemon.
    pub fn set(&mut self, name: &str, value: f64) {
        let seq = self.next_seq;
        self.next_seq += 1;
        set_entry(&mut self.newest_seq, name, seq);
        if let ControlList::Loaded(controls) = &mut self.list {
            if let Some(control) = controls.iter_mut().find(|control| control.name == name) {
                control.value = value;
            }
        }
        let sent = self.send(ControlRequest::Set {
            name: name.to_owned(),
            value,
            seq,
        });
        if !sent {
            let refusal = ControlFeedback::Refused("the daemon control thread is gone".to_owned());
            set_entry(&mut self.feedback, name, refusal);
        }
    }

    /// Takes in the worker's replies; true if anything changed.
    pub fn poll(&mut self) -> bool {
        let mut changed = false;
        while let Some(link) = &self.link {
            let reply = match link.try_reply() {
                Ok(Some(reply)) => reply,
                Ok(None) => break,
                Err(error) => {
                    if !matches!(&self.list, ControlList::Failed(shown) if *shown == error) {
                        tracing::error!("{error}");
                        self.list = ControlList::Failed(error);
                        changed = true;
                    }
                    break;
                }
            };
            changed = true;
            self.apply(reply);
        }
        changed
    }

    fn apply(&mut self, reply: ControlReply) {
        match reply {
            ControlReply::Controls(Ok(controls)) => {
                tracing::debug!("the daemon has {} controls", controls.len());
                self.list = ControlList::Loaded(controls);
            }
            ControlReply::Controls(Err(error)) => {
                tracing::warn!("cannot list the daemon's controls: {error}");
                self.list = ControlList::Failed(error);
            }
            ControlReply::Set { name, seq, result } => {
                let newest = self
                    .newest_seq
                    .iter()
                    .find(|(control, _)| *control == name)
                    .is_some_and(|&(_, newest)| newest == seq);
                match result {
                    Ok(control) => {
                        let text = format!("{} = {}", control.name, format_value(&control));
                        set_entry(&mut self.feedback, &name, ControlFeedback::Applied(text));
                        if newest {
                            self.replace_control(control);
                        }
                    }
                    Err(error) => {
                        tracing::warn!("setting {name} failed: {error}");
                        set_entry(&mut self.feedback, &name, ControlFeedback::Refused(error));
                        if newest {
                            // The slider shows a value the daemon did not take: ask for the
                            // real ones. The refusal stays on screen.
                            if !self.send(ControlRequest::List) {
                                tracing::error!(
                                    "cannot refresh the controls: the control thread is gone"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    fn replace_control(&mut self, control: ControlInfo) {
        if let ControlList::Loaded(controls) = &mut self.list {
            if let Some(shown) = controls.iter_mut().find(|shown| shown.name == control.name) {
                *shown = control;
            }
        }
    }
}

/// The value with its unit: `8500 us`, `on`.
pub fn format_value(control: &ControlInfo) -> String {
    match control.kind {
        shmproto::control::ControlKind::Toggle => {
            if control.value != 0.0 { "on" } else { "off" }.to_owned()
        }
        shmproto::control::ControlKind::Range { .. } => match &control.unit {
            Some(unit) => format!("{} {unit}", control.value),
            None => control.value.to_string(),
        },
    }
}

fn set_entry<T>(entries: &mut Vec<(String, T)>, name: &str, value: T) {
    match entries.iter_mut().find(|(key, _)| key == name) {
        Some(entry) => entry.1 = value,
        None => entries.push((name.to_owned(), value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, value: f64, seq: u64) -> ControlRequest {
        ControlRequest::Set {
            name: name.to_owned(),
            value,
            seq,
        }
    }

    #[test]
    fn a_burst_of_moves_sends_only_the_newest_value_per_control() {
        let batch = vec![
            ControlRequest::List,
            set("brightness", 1.0, 1),
            set("speed", 2.0, 2),
            set("brightness", 1.5, 3),
            ControlRequest::List,
        ];
        assert_eq!(
            coalesce(batch),
            vec![
                set("speed", 2.0, 2),
                set("brightness", 1.5, 3),
                ControlRequest::List
            ]
        );
    }

    #[test]
    fn an_unreachable_socket_is_reported_in_the_list() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = egui::Context::default();
        let mut controls =
            DaemonControls::start(dir.path().join("missing.sock"), "pid 1".to_owned(), &ctx);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while matches!(controls.list(), ControlList::Loading) {
            controls.poll();
            assert!(std::time::Instant::now() < deadline, "no reply");
            std::thread::sleep(Duration::from_millis(5));
        }
        let ControlList::Failed(error) = controls.list() else {
            panic!("{:?}", controls.list());
        };
        assert!(
            error.contains("cannot reach the daemon's command socket"),
            "{error}"
        );
    }
}
