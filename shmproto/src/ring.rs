//! The slot ring that both kinds of control segment carry: the metadata segment of the frame
//! writer (kind 1) and the detections segment (kind 4). Both have the writer's shared words at
//! the same offsets of the control block (state, pid, heartbeat, `latest`, wake word), the same
//! slot table, and the same seqlock per slot; only what a slot's data holds differs.
//!
//! Writers publish a slot with [`publish_slot`] and close with [`close`]; readers copy one
//! with [`read_slot`] (their place in the ring is a [`crate::cursor::Cursor`]).

use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

use crate::layout::{
    OFF_HEARTBEAT, OFF_LATEST, OFF_STATE, OFF_WAKE, SLOT_CAPTURE_MONO, SLOT_CAPTURE_WALL,
    SLOT_FRAME_NUMBER, SLOT_METADATA_LEN, SLOT_PUBLISH_MONO, SLOT_PUBLISH_SEQ, SLOT_RECORD_LEN,
    SLOT_SEQ, SLOT_TABLE_OFFSET,
};
use crate::liveness::Liveness;
use crate::segment::Segment;

/// A mapped control segment with a validated slot ring. Every offset computed here lies inside
/// the control segment: its header was validated against the mapped length (reader) or
/// produced it (writer), and `slot_count` comes from that header.
pub(crate) trait Ring {
    /// The segment holding the control block and the slot table.
    fn control(&self) -> &Segment;
    fn writer_pid(&self) -> u32;
    fn slot_count(&self) -> u32;
    /// The name of a mapped segment whose file was truncated under its mapping, if any (see
    /// [`crate::truncation_guard`]).
    fn lost_segment(&self) -> Option<&str>;

    /// The slot that holds publish number `publish_seq` (which starts at 1).
    fn slot_of(&self, publish_seq: u64) -> u32 {
        (publish_seq.wrapping_sub(1) % u64::from(self.slot_count())) as u32
    }

    fn slot_word(&self, slot: u32, field: usize) -> &AtomicU64 {
        self.control()
            .atomic_u64(SLOT_TABLE_OFFSET + slot as usize * SLOT_RECORD_LEN + field)
    }

    fn slot_u32(&self, slot: u32, field: usize) -> &AtomicU32 {
        self.control()
            .atomic_u32(SLOT_TABLE_OFFSET + slot as usize * SLOT_RECORD_LEN + field)
    }

    fn state(&self) -> &AtomicU32 {
        self.control().atomic_u32(OFF_STATE)
    }

    fn heartbeat(&self) -> &AtomicU64 {
        self.control().atomic_u64(OFF_HEARTBEAT)
    }

    fn latest(&self) -> &AtomicU64 {
        self.control().atomic_u64(OFF_LATEST)
    }

    fn wake_word(&self) -> &AtomicU32 {
        self.control().atomic_u32(OFF_WAKE)
    }

    fn liveness(&self) -> Liveness {
        // Acquire on the state pairs with the writer's Release stores of LIVE and CLOSED, so a
        // reader that sees LIVE also sees the heartbeat and header written before it.
        let state = self.state().load(Ordering::Acquire);
        // Relaxed: the heartbeat is a timestamp compared with a clock; no data depends on it.
        let heartbeat = self.heartbeat().load(Ordering::Relaxed);
        Liveness::judge(
            state,
            self.writer_pid(),
            heartbeat,
            crate::monotonic_now_ns(),
        )
    }

    /// Publish number of the newest complete slot (0 before the first).
    fn published(&self) -> u64 {
        // Relaxed: an informational counter; no data is read through it.
        self.latest().load(Ordering::Relaxed)
    }

    /// How long ago the newest slot was published, `None` before the first.
    fn last_publish_age(&self) -> Option<std::time::Duration> {
        let latest = self.published();
        if latest == 0 {
            return None;
        }
        // Relaxed: an approximate age is all that is asked; a racing overwrite only makes the
        // timestamp newer.
        let published = self
            .slot_word(self.slot_of(latest), SLOT_PUBLISH_MONO)
            .load(Ordering::Relaxed);
        Some(std::time::Duration::from_nanos(
            crate::monotonic_now_ns().saturating_sub(published),
        ))
    }
}

/// The binary fields of a slot record, besides its sequence word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SlotFields {
    pub(crate) frame_number: u64,
    pub(crate) capture_wall_ns: u64,
    pub(crate) capture_mono_ns: u64,
    /// Length of the slot's JSON (`metadata_len`).
    pub(crate) json_len: u32,
}

/// What a reader found in a slot record, valid only if the seqlock read succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SlotRead {
    pub(crate) publish_seq: u64,
    pub(crate) fields: SlotFields,
    pub(crate) publish_mono_ns: u64,
}

/// Ends a slot write that did not finish (its payload writer failed or panicked): the slot
/// names no publish any more and its sequence goes even again.
struct SlotUnfinished<'a> {
    seq: &'a AtomicU64,
    publish_seq: &'a AtomicU64,
    before: u64,
}

impl Drop for SlotUnfinished<'_> {
    fn drop(&mut self) {
        // Publish numbers start at 1: no reader looks for 0, so none accepts this slot, not
        // even one that chose it before the write began. Relaxed: inside the seqlock, published
        // by the Release store below, as for a finished write.
        self.publish_seq.store(0, Ordering::Relaxed);
        self.seq
            .store(self.before.wrapping_add(2), Ordering::Release);
    }
}

/// Publishes `publish_seq` into its slot (docs/protocol.md, section 7.2): makes the slot's
/// sequence odd, lets `write` fill the slot's data (it gets the slot index; everything it
/// stores is inside the seqlock), stores the slot record, makes the sequence even, stores
/// `latest` and wakes blocked readers. Never waits for readers.
///
/// If `write` fails (or panics), the slot is left naming no publish (publish number 0) with an
/// even sequence, `latest` is unchanged, and the error is returned: readers that were copying
/// the slot see the sequence change and retry, and no reader accepts the slot later.
pub(crate) fn publish_slot<R: Ring + ?Sized, E>(
    ring: &R,
    publish_seq: u64,
    fields: &SlotFields,
    write: impl FnOnce(u32) -> Result<(), E>,
) -> Result<(), E> {
    let slot = ring.slot_of(publish_seq);
    let seq = ring.slot_word(slot, SLOT_SEQ);
    // Relaxed: this process is the only one that writes the sequence word.
    let before = seq.load(Ordering::Relaxed);
    // Odd = being written. Relaxed store followed by a Release fence: the fence orders this
    // store before every store below, so a reader whose copy saw any new byte also sees the
    // odd (or a later) sequence when it re-reads after its Acquire fence, and retries.
    seq.store(before.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    let unfinished = SlotUnfinished {
        seq,
        publish_seq: ring.slot_word(slot, SLOT_PUBLISH_SEQ),
        before,
    };
    write(slot)?;
    // From here on nothing can fail: the slot is completed below.
    std::mem::forget(unfinished);

    // Relaxed: these fields are inside the slot's seqlock; the Release store of the even
    // sequence below publishes them together with the slot's data.
    ring.slot_word(slot, SLOT_PUBLISH_SEQ)
        .store(publish_seq, Ordering::Relaxed);
    ring.slot_word(slot, SLOT_FRAME_NUMBER)
        .store(fields.frame_number, Ordering::Relaxed);
    ring.slot_word(slot, SLOT_CAPTURE_WALL)
        .store(fields.capture_wall_ns, Ordering::Relaxed);
    ring.slot_word(slot, SLOT_CAPTURE_MONO)
        .store(fields.capture_mono_ns, Ordering::Relaxed);
    ring.slot_u32(slot, SLOT_METADATA_LEN)
        .store(fields.json_len, Ordering::Relaxed);
    ring.slot_word(slot, SLOT_PUBLISH_MONO)
        .store(crate::monotonic_now_ns(), Ordering::Relaxed);
    // Release: everything written into the slot above happens-before a reader's Acquire load
    // that sees this even value.
    seq.store(before.wrapping_add(2), Ordering::Release);
    // Release: a reader that sees `publish_seq` as latest (Acquire) finds the slot complete.
    // Stored after the slot so `latest` never names a slot still being written.
    ring.latest().store(publish_seq, Ordering::Release);
    wake(ring);
    Ok(())
}

/// Increments the wake word and wakes every blocked reader.
fn wake<R: Ring + ?Sized>(ring: &R) {
    // Release: pairs with the reader's Acquire load of the wake word taken before it checks
    // `latest` (or the state); if the reader saw this increment it also sees what was stored
    // before it, so a reader that missed a publish is guaranteed to see the word change and
    // not sleep through it.
    ring.wake_word().fetch_add(1, Ordering::Release);
    crate::wait::wake_all(ring.wake_word());
}

/// Leaves the ring in `final_state` (CLOSED or REPLACED) and wakes blocked readers, so they
/// notice at once (docs/protocol.md, section 7.5).
pub(crate) fn close<R: Ring + ?Sized>(ring: &R, final_state: u32) {
    // Release: a reader that sees CLOSED (or REPLACED) also sees every slot published before.
    ring.state().store(final_state, Ordering::Release);
    wake(ring);
}

/// One seqlock read of the slot holding `publish_seq` (docs/protocol.md, section 8): `copy`
/// gets the slot index and copies the slot's data out; `None` when the read raced the writer
/// (the slot was being written, was overwritten during the copy, or holds another publish by
/// now). Whatever `copy` copied is only consistent when this returns `Some`, and even then
/// lengths and offsets read from the record are the writer's claims: check them.
pub(crate) fn read_slot<R: Ring + ?Sized, T>(
    ring: &R,
    publish_seq: u64,
    copy: impl FnOnce(u32, &SlotRead) -> T,
) -> Option<(SlotRead, T)> {
    let begun = begin_read(ring, publish_seq)?;
    let copied = copy(begun.slot, &begun.record);
    finish_read(ring, &begun).then_some((begun.record, copied))
}

/// A seqlock read in progress: the slot, the even sequence seen before looking at it, and its
/// record as read then (valid only if [`finish_read`] says so).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BegunRead {
    pub(crate) slot: u32,
    pub(crate) record: SlotRead,
    seq_before: u64,
}

/// The first half of a seqlock read of the slot holding `publish_seq`: `None` when the slot is
/// being written or holds another publish. Whatever is read from the slot after this is only
/// consistent if [`finish_read`] returns true afterwards.
pub(crate) fn begin_read<R: Ring + ?Sized>(ring: &R, publish_seq: u64) -> Option<BegunRead> {
    let slot = ring.slot_of(publish_seq);
    let seq = ring.slot_word(slot, SLOT_SEQ);
    // Acquire: pairs with the writer's Release store of the even sequence that completed this
    // slot; all slot bytes written before it are visible to the reads that follow.
    let before = seq.load(Ordering::Acquire);
    if before % 2 == 1 {
        return None;
    }
    // Relaxed: these fields are validated by the sequence re-check in `finish_read`.
    let found = ring
        .slot_word(slot, SLOT_PUBLISH_SEQ)
        .load(Ordering::Relaxed);
    if found != publish_seq {
        // The writer has already lapped the ring past this publish.
        return None;
    }
    let record = SlotRead {
        publish_seq,
        fields: SlotFields {
            frame_number: ring
                .slot_word(slot, SLOT_FRAME_NUMBER)
                .load(Ordering::Relaxed),
            capture_wall_ns: ring
                .slot_word(slot, SLOT_CAPTURE_WALL)
                .load(Ordering::Relaxed),
            capture_mono_ns: ring
                .slot_word(slot, SLOT_CAPTURE_MONO)
                .load(Ordering::Relaxed),
            json_len: ring
                .slot_u32(slot, SLOT_METADATA_LEN)
                .load(Ordering::Relaxed),
        },
        publish_mono_ns: ring
            .slot_word(slot, SLOT_PUBLISH_MONO)
            .load(Ordering::Relaxed),
    };
    Some(BegunRead {
        slot,
        record,
        seq_before: before,
    })
}

/// The second half of a seqlock read: true when the writer did not touch the slot since
/// [`begin_read`], so everything read from it in between (record included) is one publish.
pub(crate) fn finish_read<R: Ring + ?Sized>(ring: &R, begun: &BegunRead) -> bool {
    // Acquire fence, then a Relaxed re-read: if any byte read since `begin_read` came from a
    // newer write, the writer's Release fence (after its odd store) synchronises with this
    // fence, so we see the odd or a later sequence here and discard what was read.
    fence(Ordering::Acquire);
    ring.slot_word(begun.slot, SLOT_SEQ).load(Ordering::Relaxed) == begun.seq_before
}
