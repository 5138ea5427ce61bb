//! The newest detection results of a namespace, for a reader whose main work is something else
//! (the MCAP recorder, the Zenoh bridge): asked once per frame, it never blocks.

use std::time::{Duration, Instant};

use crate::{DetectionsReader, Namespace, PublishedDetections, ReadError};

/// How often a follower looks for a detections segment that is not there (detection off, or
/// not started yet).
pub const DETECTIONS_RETRY: Duration = Duration::from_secs(1);

/// Opens the detections segment when it appears (looking at most once per
/// [`DETECTIONS_RETRY`]), hands each new result once, and lets go of a writer that stopped
/// (the next daemon's segment is found again).
pub struct DetectionsFollower {
    namespace: Namespace,
    reader: Option<DetectionsReader>,
    tried_at: Option<Instant>,
    last_seq: Option<(u64, u64)>,
}

impl DetectionsFollower {
    pub fn new(namespace: Namespace) -> Self {
        DetectionsFollower {
            namespace,
            reader: None,
            tried_at: None,
            last_seq: None,
        }
    }

    /// The result published since the last call, if there is one.
    pub fn poll(&mut self) -> Option<PublishedDetections> {
        if self.reader.is_none() {
            if self
                .tried_at
                .is_some_and(|tried| tried.elapsed() < DETECTIONS_RETRY)
            {
                return None;
            }
            self.tried_at = Some(Instant::now());
            self.reader = DetectionsReader::open(&self.namespace).ok();
        }
        let reader = self.reader.as_mut()?;
        match reader.read_latest() {
            Ok(Some(published)) => {
                // A writer's sequence starts again at 1: compare within one writer session.
                let seq = (reader.session_id(), published.publish_seq);
                if self.last_seq == Some(seq) {
                    return None;
                }
                self.last_seq = Some(seq);
                Some(published)
            }
            Ok(None) => None,
            // One result that is not valid: skipped; the next call reads on.
            Err(ReadError::Detections { .. }) => None,
            // The writer stopped or its segment is gone: look for the next one.
            Err(_) => {
                self.reader = None;
                None
            }
        }
    }

    /// Forgets the segment (the daemon was replaced): the next poll looks again at once.
    pub fn reset(&mut self) {
        self.reader = None;
        self.tried_at = None;
    }
}
