//! Who may take a namespace's segment names. Before a writer creates its segments it reclaims
//! what a writer that is gone left under its names, or refuses while one still holds them;
//! when it closes it removes only names that are still its own. One judgement for the frame
//! writer, the detections writer, `remove_stale` and `inspect` (docs/protocol.md, section 13).

use crate::error::{CreateError, OpenError};
use crate::layout::{MAGIC, OFF_SESSION, SEGMENT_HEADER_LEN};
use crate::liveness::Liveness;
use crate::segment::{self, Segment, SegmentError};
use crate::Namespace;

/// The one judgement of whether a writer's segments (`names`) may be removed: `Ok(None)` when
/// none of them exists, `Ok(Some(what))` when they are leftovers (dead, closed or replaced
/// writer, or not valid protocol segments), `Err(WriterAlive)` while their writer holds them
/// ([`Liveness::holds_segments`]). `open` opens the names as a reader would and judges their
/// writer.
///
/// `writer_owner`: for a writer about to create the segments, the user it hands them to
/// (`Some(None)`: none). Segments of any other user than this one, root and that owner (or
/// anything but a regular file) were not made by a writer of ours, whatever liveness they
/// claim, and are leftovers. `None` (cleanup, which cannot know whom a writer handed its
/// segments to): every owner's liveness is believed.
pub(crate) fn leftovers(
    namespace: &Namespace,
    names: &[String],
    writer_owner: Option<Option<u32>>,
    open: impl FnOnce() -> Result<Liveness, OpenError>,
) -> Result<Option<String>, CreateError> {
    if !names.iter().any(|name| segment::exists(name)) {
        return Ok(None);
    }
    if let Some(trusted_owner) = writer_owner {
        for name in names {
            match segment::stat(name) {
                Ok(stat) if !crate::runtime_dir::is_trusted_owner(stat.uid, trusted_owner) => {
                    return Ok(Some(format!(
                        "shared-memory segment {name} belongs to uid {}, not to a writer of ours",
                        stat.uid
                    )))
                }
                Err(error @ SegmentError::NotRegular { .. }) => return Ok(Some(error.to_string())),
                _ => {}
            }
        }
    }
    let alive = |pid| CreateError::WriterAlive {
        pid,
        namespace: namespace.to_string(),
    };
    match open() {
        Ok(holding) if holding.holds_segments() => Err(alive(holding.pid())),
        Ok(gone) => Ok(Some(gone.to_string())),
        Err(OpenError::NotLive {
            liveness: Liveness::Starting { pid },
            ..
        }) => Err(alive(pid)),
        Err(OpenError::Segment(error @ SegmentError::PermissionDenied { .. })) => Err(error.into()),
        Err(other) => Ok(Some(other.to_string())),
    }
}

/// Refuses if a writer holds `names`; otherwise removes whatever is left there and says what
/// that was. `trusted_owner`: the user the new writer hands its segments to.
pub(crate) fn reclaim(
    namespace: &Namespace,
    names: &[String],
    trusted_owner: Option<u32>,
    open: impl FnOnce() -> Result<Liveness, OpenError>,
) -> Result<Option<String>, CreateError> {
    let Some(found) = leftovers(namespace, names, Some(trusted_owner), open)? else {
        return Ok(None);
    };
    for name in names {
        segment::unlink_if_present(name)?;
    }
    Ok(Some(found))
}

/// Reclaims, then creates; when a name exists again with a segment of ours (another writer
/// created it between the check and the create), looks again, at most 3 times in all: the
/// second look finds that writer and refuses with its pid. Returns what was created and what
/// was reclaimed.
pub(crate) fn create_reclaiming<T>(
    mut reclaim: impl FnMut() -> Result<Option<String>, CreateError>,
    mut create: impl FnMut() -> Result<T, CreateError>,
) -> Result<(T, Option<String>), CreateError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let reclaimed = reclaim()?;
        match create() {
            Ok(created) => return Ok((created, reclaimed)),
            Err(CreateError::Segment(SegmentError::Exists { .. })) if attempts < 3 => continue,
            Err(error) => return Err(error),
        }
    }
}

/// Removes each of `names` whose segment still belongs to writer session `session_id`: a
/// writer that was frozen and replaced must not delete its successor's segments.
pub(crate) fn unlink_if_ours(names: &[String], session_id: u64) {
    for name in names {
        if read_session_id(name) == Some(session_id) {
            let _ = segment::unlink(name);
        }
    }
}

/// The session id in a segment's header, if it exists and has our magic.
fn read_session_id(name: &str) -> Option<u64> {
    let segment = Segment::open(name).ok()?;
    let mut bytes = [0u8; SEGMENT_HEADER_LEN];
    if !segment.read_bytes(0, &mut bytes) || bytes[..8] != MAGIC {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[OFF_SESSION..OFF_SESSION + 8]);
    Some(u64::from_le_bytes(id))
}

/// Names created so far, removed when dropped unless creation completed (then call
/// [`CreatedNames::keep`]): nothing half-made stays behind.
#[derive(Default)]
pub(crate) struct CreatedNames(Vec<String>);

impl CreatedNames {
    pub(crate) fn push(&mut self, name: String) {
        self.0.push(name);
    }

    /// Creation completed: the names stay.
    pub(crate) fn keep(mut self) {
        self.0.clear();
    }
}

impl Drop for CreatedNames {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = segment::unlink_if_present(name);
        }
    }
}

/// A random, non-zero writer session id.
pub(crate) fn random_session_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS's random source; mixing in time and pid keeps ids of
    // successive writers distinct even if that seed were reused.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(crate::monotonic_now_ns());
    hasher.write_u32(std::process::id());
    hasher.finish().max(1)
}
