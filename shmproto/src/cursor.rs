//! A reader's place in a slot ring: which publish it returned last, which one it gave up on,
//! and when it last checked the writer. Shared by the frame [`crate::Reader`] and the
//! [`crate::DetectionsReader`], so both read, wait and judge their writer the same way
//! (docs/protocol.md, sections 8 and 9).

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::ReadError;
use crate::layout::STATE_LIVE;
use crate::liveness::{Liveness, LIVENESS_CHECK_INTERVAL};
use crate::ring::Ring;

/// How often a read retries when the writer overwrote the slot during the copy, before it
/// gives up until the next publish. Each retry targets the newest publish, so it only fails
/// when the writer laps the whole ring during every copy.
pub(crate) const MAX_READ_ATTEMPTS: u32 = 64;

#[derive(Debug, Default)]
pub(crate) struct Cursor {
    /// Publish number of the last slot returned (0: none yet).
    pub(crate) last_returned: u64,
    /// A publish number whose slot could not be read in [`MAX_READ_ATTEMPTS`] tries (a writer
    /// lapping the ring, or a `latest` naming no slot): not waited for again, so a broken
    /// writer cannot make its readers spin.
    unreadable: u64,
    /// When the pid and heartbeat were last checked (the state word is checked every time).
    last_full_check: Cell<Option<Instant>>,
}

impl Cursor {
    /// Reads the newest publish if it is newer than the last one returned: `try_read` makes
    /// one seqlock attempt on the publish number it gets (`Ok(None)`: raced, try again).
    /// `Ok(None)` when nothing is newer, or when every attempt raced (then that publish is
    /// not waited for again).
    pub(crate) fn read_newer<R: Ring + ?Sized, T>(
        &mut self,
        ring: &R,
        mut try_read: impl FnMut(u64) -> Result<Option<T>, ReadError>,
    ) -> Result<Option<T>, ReadError> {
        let mut latest = 0;
        for _ in 0..MAX_READ_ATTEMPTS {
            // Acquire: pairs with the writer's Release store of `latest`, which it makes after
            // the slot's even sequence; the slot is complete when we look at it.
            latest = ring.latest().load(Ordering::Acquire);
            if latest <= self.last_returned {
                return Ok(None);
            }
            if let Some(read) = try_read(latest)? {
                self.last_returned = latest;
                return Ok(Some(read));
            }
            std::hint::spin_loop();
        }
        // Wait for the next publish rather than trying this one again at once.
        self.unreadable = latest;
        Ok(None)
    }

    /// Blocks until a publish newer than the last one returned is there (`Ok(true)`), the
    /// timeout passes (`Ok(false)`), or the writer is gone (`Err`).
    pub(crate) fn wait_for_publish<R: Ring + ?Sized>(
        &self,
        ring: &R,
        timeout: Duration,
    ) -> Result<bool, ReadError> {
        let deadline = Instant::now() + timeout;
        loop {
            // Acquire, and loaded before `latest` is checked: if this value already includes
            // the increment of some publish, that publish's `latest` store is visible to the
            // check below; otherwise the futex sees the word differ and returns at once. So no
            // publish between the check and the sleep can be slept through.
            let observed = ring.wake_word().load(Ordering::Acquire);
            // Acquire: pairs with the writer's Release store of `latest`.
            let latest = ring.latest().load(Ordering::Acquire);
            if latest > self.last_returned && latest != self.unreadable {
                return Ok(true);
            }
            self.check_writer(ring)?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            let slice = (deadline - now).min(LIVENESS_CHECK_INTERVAL);
            crate::wait::wait_while_equal(ring.wake_word(), observed, slice);
        }
    }

    /// Fails when the writer is gone or a mapping was lost. The state word is read every time
    /// (a clean close or a replacement is seen at once); the pid and heartbeat, which cost a
    /// system call and a /proc read, at most every [`LIVENESS_CHECK_INTERVAL`].
    pub(crate) fn check_writer<R: Ring + ?Sized>(&self, ring: &R) -> Result<(), ReadError> {
        // Acquire: as in `Ring::liveness`.
        let state = ring.state().load(Ordering::Acquire);
        let due = self
            .last_full_check
            .get()
            .is_none_or(|at| at.elapsed() >= LIVENESS_CHECK_INTERVAL);
        if let Some(segment) = ring.lost_segment() {
            return Err(ReadError::SegmentLost {
                segment: segment.to_owned(),
            });
        }
        if state == STATE_LIVE && !due {
            return Ok(());
        }
        self.last_full_check.set(Some(Instant::now()));
        match ring.liveness() {
            Liveness::Live { .. } => Ok(()),
            gone => Err(ReadError::WriterGone(gone)),
        }
    }
}
