//! The writer's heartbeat: a thread that stamps the control block every
//! [`HEARTBEAT_INTERVAL`] for the writer's whole life, independent of publishes, so readers
//! tell a live writer from a frozen one (docs/protocol.md, sections 7.4 and 12).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::liveness::HEARTBEAT_INTERVAL;
use crate::ring::Ring;
use crate::segment::SegmentError;

/// Stamps the heartbeat until dropped.
pub(crate) struct Heartbeat {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    pub(crate) fn start<R: Ring + Send + Sync + 'static>(
        ring: Arc<R>,
    ) -> Result<Self, SegmentError> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("shmproto-heartbeat".into())
            .spawn(move || {
                let (stopped, wake) = &*thread_stop;
                let Ok(mut stopped) = stopped.lock() else {
                    return;
                };
                while !*stopped {
                    // Relaxed: the heartbeat is a bare timestamp; readers compare it with their
                    // clock and no other memory is published through it.
                    ring.heartbeat()
                        .store(crate::monotonic_now_ns(), Ordering::Relaxed);
                    stopped = match wake.wait_timeout(stopped, HEARTBEAT_INTERVAL) {
                        Ok((guard, _)) => guard,
                        Err(_) => return,
                    };
                }
            })
            .map_err(|source| SegmentError::Os {
                segment: "heartbeat thread".into(),
                source,
            })?;
        Ok(Heartbeat {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        if let Ok(mut stopped) = stopped.lock() {
            *stopped = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
