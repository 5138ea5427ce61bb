//! Chooses which feed the viewer shows: the daemon when it is connected, else the fallback
//! (the webcam), else none. With `aaa --remote` a remote camera takes the daemon's place (and
//! there is no fallback).
//!
//! The daemon feed watches for the daemon by itself (it probes `aaa_rgb_frame` on its worker
//! thread and reconnects), so this type only reacts to the events the feeds send; it never
//! blocks and never polls.

use crate::feed::{FeedEvent, FrameFeed, Origin};

/// A feed's connection as the supervisor last heard of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Started, no news yet.
    Starting,
    /// Not there; the worker keeps looking (`detail` says for what).
    Searching { detail: String },
    /// Open and delivering (or about to).
    Connected { detail: String },
    /// There but not openable; the worker retries.
    OpenFailed { error: String },
    /// Was delivering and stopped; the worker tries to reconnect.
    Lost { reason: String },
}

impl Connection {
    pub fn is_connected(&self) -> bool {
        matches!(self, Connection::Connected { .. })
    }

    fn apply(&mut self, event: FeedEvent) {
        *self = match event {
            FeedEvent::Searching { detail } => Connection::Searching { detail },
            FeedEvent::Connected { detail } => Connection::Connected { detail },
            FeedEvent::OpenFailed { error } => Connection::OpenFailed { error },
            FeedEvent::Lost { reason } => Connection::Lost { reason },
        };
    }
}

/// Makes the fallback feed; called each time the daemon is gone.
pub type FallbackFactory = Box<dyn FnMut() -> Result<Box<dyn FrameFeed>, String>>;

/// What to use when there is no daemon.
pub enum Fallback {
    /// Start a feed with this factory.
    Feed(FallbackFactory),
    /// No fallback; the text says why (not built, disabled by a flag).
    Unavailable(String),
}

/// A feed together with what it last reported.
struct Watched {
    feed: Box<dyn FrameFeed>,
    connection: Connection,
    /// Why the feed was lost, kept through the retries that follow until it is connected
    /// again (several events may arrive between two polls).
    loss: Option<String>,
}

impl Watched {
    fn new(feed: Box<dyn FrameFeed>) -> Self {
        Watched {
            feed,
            connection: Connection::Starting,
            loss: None,
        }
    }

    /// Applies the pending events; true if there were any.
    fn drain_events(&mut self, ctx: &egui::Context) -> bool {
        let link = self.feed.link();
        link.attach(ctx);
        let mut changed = false;
        while let Some(event) = link.next_event() {
            tracing::debug!("{} source: {event:?}", self.feed.origin());
            match &event {
                FeedEvent::Lost { reason } => self.loss = Some(reason.clone()),
                FeedEvent::Connected { .. } => self.loss = None,
                FeedEvent::Searching { .. } | FeedEvent::OpenFailed { .. } => {}
            }
            self.connection.apply(event);
            changed = true;
        }
        changed
    }
}

/// Owns the daemon feed and the fallback and says which one is shown.
pub struct Supervisor {
    daemon: Option<Watched>,
    fallback: Fallback,
    running_fallback: Option<Watched>,
    /// Why the fallback could not even be started.
    fallback_error: Option<String>,
}

/// Which feed the viewer should show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Daemon,
    Fallback,
    Nothing,
}

impl Supervisor {
    /// `daemon` is `None` when there is no daemon to watch (tests, a broken namespace).
    pub fn new(daemon: Option<Box<dyn FrameFeed>>, fallback: Fallback) -> Self {
        Supervisor {
            daemon: daemon.map(Watched::new),
            fallback,
            running_fallback: None,
            fallback_error: None,
        }
    }

    /// Replaces the daemon feed (tests feed one by hand).
    pub fn set_daemon(&mut self, daemon: Box<dyn FrameFeed>) {
        self.daemon = Some(Watched::new(daemon));
    }

    /// Applies the feeds' events and starts or stops the fallback. Cheap; call every pass.
    /// Returns true if anything changed.
    pub fn poll(&mut self, ctx: &egui::Context) -> bool {
        let mut changed = false;
        if let Some(daemon) = &mut self.daemon {
            changed |= daemon.drain_events(ctx);
        }
        let daemon_connected = self.daemon_connected();
        if daemon_connected && self.running_fallback.is_some() {
            tracing::info!("daemon connected: stopping the fallback source");
            self.running_fallback = None;
            changed = true;
        }
        let daemon_undecided = self
            .daemon
            .as_ref()
            .is_some_and(|daemon| daemon.connection == Connection::Starting);
        if !daemon_connected && !daemon_undecided && self.running_fallback.is_none() {
            changed |= self.start_fallback();
        }
        if let Some(fallback) = &mut self.running_fallback {
            changed |= fallback.drain_events(ctx);
        }
        changed
    }

    fn start_fallback(&mut self) -> bool {
        let Fallback::Feed(factory) = &mut self.fallback else {
            return false;
        };
        if self.fallback_error.is_some() {
            // Starting failed for a reason that will not go away (no thread); do not spin.
            return false;
        }
        match factory() {
            Ok(feed) => {
                tracing::info!("starting the {} fallback", feed.origin());
                self.running_fallback = Some(Watched::new(feed));
            }
            Err(error) => {
                tracing::error!("cannot start the fallback source: {error}");
                self.fallback_error = Some(error);
            }
        }
        true
    }

    fn daemon_connected(&self) -> bool {
        self.daemon
            .as_ref()
            .is_some_and(|daemon| daemon.connection.is_connected())
    }

    /// Which feed's frames to show.
    pub fn shown(&self) -> Shown {
        if self.daemon_connected() {
            Shown::Daemon
        } else if self
            .running_fallback
            .as_ref()
            .is_some_and(|fallback| fallback.connection.is_connected())
        {
            Shown::Fallback
        } else {
            Shown::Nothing
        }
    }

    /// The feed shown, with its connection.
    pub fn shown_feed(&self) -> Option<(&dyn FrameFeed, &Connection)> {
        let watched = match self.shown() {
            Shown::Daemon => self.daemon.as_ref(),
            Shown::Fallback => self.running_fallback.as_ref(),
            Shown::Nothing => None,
        }?;
        Some((watched.feed.as_ref(), &watched.connection))
    }

    /// Every feed that runs, so that the viewer can drain the ones not shown.
    pub fn feeds(&self) -> impl Iterator<Item = &dyn FrameFeed> {
        self.daemon
            .iter()
            .chain(self.running_fallback.iter())
            .map(|watched| watched.feed.as_ref())
    }

    /// Where the watched primary feed's frames come from: the daemon, or a remote camera
    /// (`aaa --remote` puts its feed where the daemon's would be).
    pub fn primary_origin(&self) -> Option<Origin> {
        self.daemon.as_ref().map(|daemon| daemon.feed.origin())
    }

    /// The daemon's connection, `None` when no daemon is watched.
    pub fn daemon_connection(&self) -> Option<&Connection> {
        self.daemon.as_ref().map(|daemon| &daemon.connection)
    }

    /// Why the daemon was lost, while it is not back.
    pub fn daemon_loss(&self) -> Option<&str> {
        self.daemon.as_ref()?.loss.as_deref()
    }

    /// The fallback's state in words, for the no-source screen: `Ok` with its connection while
    /// it runs, `Err` with the reason when there is none.
    pub fn fallback_state(&self) -> Result<(Origin, &Connection), &str> {
        if let Some(fallback) = &self.running_fallback {
            return Ok((fallback.feed.origin(), &fallback.connection));
        }
        if let Some(error) = &self.fallback_error {
            return Err(error);
        }
        match &self.fallback {
            Fallback::Unavailable(reason) => Err(reason),
            Fallback::Feed(_) => Err("the fallback is not running while the daemon is connected"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use shmproto::SourceKind;

    use super::*;
    use crate::feed::{ChannelFeed, FrameSender};

    fn fallback_counting(
        starts: Rc<Cell<u32>>,
        senders: Rc<std::cell::RefCell<Vec<FrameSender>>>,
    ) -> Fallback {
        Fallback::Feed(Box::new(move || {
            starts.set(starts.get() + 1);
            let (feed, sender) = ChannelFeed::new(Origin::InApp(SourceKind::Webcam));
            senders.borrow_mut().push(sender);
            Ok(Box::new(feed) as Box<dyn FrameFeed>)
        }))
    }

    #[test]
    fn fallback_runs_only_while_the_daemon_is_away() {
        let ctx = egui::Context::default();
        let (daemon, mut daemon_tx) = ChannelFeed::new(Origin::Daemon);
        let starts = Rc::new(Cell::new(0));
        let senders = Rc::default();
        let mut supervisor = Supervisor::new(
            Some(Box::new(daemon)),
            fallback_counting(Rc::clone(&starts), Rc::clone(&senders)),
        );

        supervisor.poll(&ctx);
        assert_eq!(
            (supervisor.shown(), starts.get()),
            (Shown::Nothing, 0),
            "waits for the daemon's first word"
        );

        daemon_tx.send_event(FeedEvent::Searching {
            detail: "aaa_rgb_frame".to_owned(),
        });
        supervisor.poll(&ctx);
        assert_eq!(starts.get(), 1);
        senders.borrow_mut()[0].send_event(FeedEvent::Connected {
            detail: "cam".to_owned(),
        });
        supervisor.poll(&ctx);
        assert_eq!(supervisor.shown(), Shown::Fallback);

        daemon_tx.send_event(FeedEvent::Connected {
            detail: "pid 1".to_owned(),
        });
        supervisor.poll(&ctx);
        assert_eq!(supervisor.shown(), Shown::Daemon);
        assert!(senders.borrow()[0].is_viewer_gone(), "fallback stopped");

        daemon_tx.send_event(FeedEvent::Lost {
            reason: "writer died".to_owned(),
        });
        // The worker retries at once; the loss must survive events that follow in the same poll.
        daemon_tx.send_event(FeedEvent::OpenFailed {
            error: "segments not usable".to_owned(),
        });
        supervisor.poll(&ctx);
        assert_eq!(supervisor.daemon_loss(), Some("writer died"));
        assert_eq!(starts.get(), 2, "fallback restarted");
        assert_eq!(
            supervisor.shown(),
            Shown::Nothing,
            "until the webcam reports in"
        );

        daemon_tx.send_event(FeedEvent::Connected {
            detail: "pid 2".to_owned(),
        });
        supervisor.poll(&ctx);
        assert_eq!(supervisor.daemon_loss(), None);
        assert_eq!(supervisor.shown(), Shown::Daemon);
    }

    #[test]
    fn unavailable_fallback_says_why() {
        let supervisor = Supervisor::new(
            None,
            Fallback::Unavailable("disabled by --no-webcam".to_owned()),
        );
        assert_eq!(
            supervisor.fallback_state().err(),
            Some("disabled by --no-webcam")
        );
        assert_eq!(supervisor.shown(), Shown::Nothing);
    }
}
