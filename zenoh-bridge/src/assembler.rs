//! Putting a frame back together from its messages, which travel on separate keys: the
//! colour, depth and metadata of one capture share its stamp. A frame is complete when all
//! its parts with the same stamp are in (depth only when the metadata says the frame has
//! depth); parts of different captures are never mixed. Newest wins: completing a frame drops
//! every older incomplete one, and a complete frame the consumer has not taken yet is
//! replaced by a newer one.

use std::collections::VecDeque;

/// Incomplete captures kept while their other parts travel. Parts arrive in publish order
/// on one link, so a capture older than this many newer ones is not coming together.
const MAX_PENDING: usize = 4;

/// One kind of message of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    Color,
    Depth,
    /// The metadata JSON; `has_depth` says whether the capture has a depth part.
    Metadata {
        has_depth: bool,
    },
}

/// The parts of one capture, as they arrived (payloads still encoded).
#[derive(Debug, Clone, PartialEq)]
pub struct Parts<P> {
    pub stamp_ns: u64,
    pub color: Option<P>,
    pub depth: Option<P>,
    pub metadata: Option<P>,
    has_depth: Option<bool>,
}

impl<P> Parts<P> {
    fn new(stamp_ns: u64) -> Self {
        Parts {
            stamp_ns,
            color: None,
            depth: None,
            metadata: None,
            has_depth: None,
        }
    }

    /// How many parts are in.
    fn count(&self) -> u64 {
        [
            self.color.is_some(),
            self.depth.is_some(),
            self.metadata.is_some(),
        ]
        .into_iter()
        .filter(|&present| present)
        .count() as u64
    }

    fn complete(&self) -> bool {
        let depth_done = match self.has_depth {
            Some(true) => self.depth.is_some(),
            Some(false) => true,
            None => false,
        };
        self.color.is_some() && self.metadata.is_some() && depth_done
    }
}

/// Collects parts until a capture is complete.
#[derive(Debug)]
pub struct Assembler<P> {
    pending: VecDeque<Parts<P>>,
    /// The stamp of the last frame completed: parts at or before it are late.
    last_completed_ns: Option<u64>,
    /// Parts thrown away: late, or of captures that never completed.
    pub discarded_parts: u64,
}

impl<P> Default for Assembler<P> {
    fn default() -> Self {
        Assembler {
            pending: VecDeque::new(),
            last_completed_ns: None,
            discarded_parts: 0,
        }
    }
}

impl<P> Assembler<P> {
    /// Adds a part; returns the capture it completes, if it completes one.
    pub fn offer(&mut self, kind: PartKind, stamp_ns: u64, payload: P) -> Option<Parts<P>> {
        if self.last_completed_ns.is_some_and(|last| stamp_ns <= last) {
            // A publisher restarted with an older clock looks late forever; a jump back by
            // more than a second starts afresh.
            let last = self.last_completed_ns?;
            if last - stamp_ns < 1_000_000_000 {
                self.discarded_parts += 1;
                return None;
            }
            self.last_completed_ns = None;
            self.discard_pending();
        }
        let index = match self
            .pending
            .iter()
            .position(|parts| parts.stamp_ns == stamp_ns)
        {
            Some(index) => index,
            None => {
                if self.pending.len() == MAX_PENDING {
                    if let Some(oldest) = self.pending.pop_front() {
                        self.discarded_parts += oldest.count();
                    }
                }
                self.pending.push_back(Parts::new(stamp_ns));
                self.pending.len() - 1
            }
        };
        let parts = &mut self.pending[index];
        let slot = match kind {
            PartKind::Color => &mut parts.color,
            PartKind::Depth => &mut parts.depth,
            PartKind::Metadata { has_depth } => {
                parts.has_depth = Some(has_depth);
                &mut parts.metadata
            }
        };
        if slot.replace(payload).is_some() {
            self.discarded_parts += 1;
        }
        if !parts.complete() {
            return None;
        }
        let completed = self.pending.remove(index)?;
        // Everything older than the completed capture is stale now.
        let mut stale = 0;
        self.pending.retain(|parts| {
            let keep = parts.stamp_ns > stamp_ns;
            if !keep {
                stale += parts.count();
            }
            keep
        });
        self.discarded_parts += stale;
        self.last_completed_ns = Some(stamp_ns);
        Some(completed)
    }

    fn discard_pending(&mut self) {
        self.discarded_parts += self.pending.iter().map(Parts::count).sum::<u64>();
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH_DEPTH: PartKind = PartKind::Metadata { has_depth: true };

    #[test]
    fn a_frame_completes_with_all_its_parts_in_any_order() {
        let mut assembler = Assembler::default();
        assert!(assembler.offer(PartKind::Depth, 10, "d10").is_none());
        assert!(assembler.offer(WITH_DEPTH, 10, "m10").is_none());
        let parts = assembler.offer(PartKind::Color, 10, "c10").unwrap();
        assert_eq!(
            (parts.stamp_ns, parts.color, parts.depth, parts.metadata),
            (10, Some("c10"), Some("d10"), Some("m10"))
        );
    }

    #[test]
    fn colour_only_frames_need_no_depth() {
        let mut assembler = Assembler::default();
        assert!(assembler
            .offer(PartKind::Metadata { has_depth: false }, 5, "m")
            .is_none());
        assert!(assembler.offer(PartKind::Color, 5, "c").is_some());
    }

    #[test]
    fn parts_of_different_captures_never_mix() {
        let mut assembler = Assembler::default();
        assert!(assembler.offer(WITH_DEPTH, 1, "m1").is_none());
        assert!(assembler.offer(PartKind::Depth, 1, "d1").is_none());
        // Colour of capture 1 lost; capture 2 arrives whole.
        assert!(assembler.offer(WITH_DEPTH, 2, "m2").is_none());
        assert!(assembler.offer(PartKind::Depth, 2, "d2").is_none());
        let parts = assembler.offer(PartKind::Color, 2, "c2").unwrap();
        assert_eq!(
            (parts.color, parts.depth, parts.metadata),
            (Some("c2"), Some("d2"), Some("m2"))
        );
        // Capture 1 was dropped with 2's completion; its late colour is discarded.
        assert!(assembler.offer(PartKind::Color, 1, "c1").is_none());
        assert_eq!(assembler.discarded_parts, 3);
    }

    #[test]
    fn pending_captures_are_bounded() {
        let mut assembler = Assembler::default();
        for stamp in 0..100u64 {
            assert!(assembler.offer(PartKind::Depth, stamp, stamp).is_none());
        }
        assert_eq!(assembler.pending.len(), MAX_PENDING);
    }

    #[test]
    fn a_restarted_publisher_with_an_earlier_clock_is_followed() {
        let mut assembler = Assembler::default();
        assembler.offer(PartKind::Metadata { has_depth: false }, 5_000_000_000, "m");
        assert!(assembler
            .offer(PartKind::Color, 5_000_000_000, "c")
            .is_some());
        assembler.offer(PartKind::Metadata { has_depth: false }, 1_000, "m");
        assert!(assembler.offer(PartKind::Color, 1_000, "c").is_some());
    }
}
