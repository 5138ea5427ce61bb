//! One POSIX shared-memory segment, mapped through the `shared_memory` crate.
//!
//! This module owns every raw pointer into a mapping. Everything above it reads and writes
//! through bounds-checked offsets: plain bytes by copy, shared words through atomics.

use std::ffi::CString;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64};

use shared_memory::{Shmem, ShmemConf, ShmemError};

/// Why a segment could not be created, opened or changed.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("shared-memory segment {segment} does not exist")]
    NotFound { segment: String },
    #[error("shared-memory segment {segment} already exists")]
    Exists { segment: String },
    #[error(
        "permission denied on shared-memory segment {segment} (owned by another user; run as that user or give the segments to yours)"
    )]
    PermissionDenied { segment: String },
    #[error("shared-memory segment {segment}: {source}")]
    Os { segment: String, source: io::Error },
    /// The segment belongs to another (non-root) user, or others may read or write it: its
    /// frames cannot be trusted to come from our daemon.
    #[error(
        "shared-memory segment {segment} is not trustworthy: owned by uid {uid} with mode {mode:o} (expected owner uid {expected_uid} or root, mode 600)"
    )]
    Untrusted {
        segment: String,
        uid: u32,
        mode: u32,
        expected_uid: u32,
    },
}

impl SegmentError {
    fn from_errno(segment: &str, errno: i32) -> Self {
        let segment = segment.to_owned();
        match errno {
            libc::ENOENT => SegmentError::NotFound { segment },
            libc::EEXIST => SegmentError::Exists { segment },
            libc::EACCES | libc::EPERM => SegmentError::PermissionDenied { segment },
            errno => SegmentError::Os {
                segment,
                source: io::Error::from_raw_os_error(errno),
            },
        }
    }

    fn from_shmem(segment: &str, error: ShmemError) -> Self {
        match error {
            ShmemError::MappingIdExists => SegmentError::Exists {
                segment: segment.to_owned(),
            },
            ShmemError::MapCreateFailed(errno)
            | ShmemError::MapOpenFailed(errno)
            | ShmemError::UnknownOsError(errno) => Self::from_errno(segment, errno as i32),
            other => SegmentError::Os {
                segment: segment.to_owned(),
                source: io::Error::other(other.to_string()),
            },
        }
    }
}

/// A mapped segment. Unmapped on drop; never unlinked by drop (see [`unlink`]).
pub(crate) struct Segment {
    shmem: Shmem,
    name: String,
}

// SAFETY: `Shmem` is !Send only because it holds a raw pointer to the mapping. The mapping is
// process-wide (valid from any thread until `Shmem` drops, which only the owner of `Segment`
// can cause), and every access through `Segment` is either an atomic operation or a raw copy
// whose races are resolved by the protocol's sequence words, never by Rust references.
unsafe impl Send for Segment {}
// SAFETY: as above; `&Segment` only hands out atomics and performs raw copies, both of which
// are as valid from several threads as from one.
unsafe impl Sync for Segment {}

impl Segment {
    /// Creates a new segment of `len` zero bytes, mode 0600; fails if the name exists.
    pub(crate) fn create(name: &str, len: usize) -> Result<Self, SegmentError> {
        let mut shmem = ShmemConf::new()
            .os_id(name)
            .size(len)
            .create()
            .map_err(|error| SegmentError::from_shmem(name, error))?;
        // Unlinking is the writer's decision (it must first check the name is still its own).
        shmem.set_owner(false);
        Ok(Segment {
            shmem,
            name: name.to_owned(),
        })
    }

    /// Maps an existing segment whole, after checking that it is private to us or root.
    pub(crate) fn open(name: &str) -> Result<Self, SegmentError> {
        // Check the size first: mapping an empty segment fails with an obscure EINVAL.
        let stat = stat(name)?;
        check_trusted(name, &stat)?;
        if stat.len == 0 {
            return Err(SegmentError::Os {
                segment: name.to_owned(),
                source: io::Error::other("segment is empty (0 bytes)"),
            });
        }
        let mut shmem = ShmemConf::new()
            .os_id(name)
            .open()
            .map_err(|error| SegmentError::from_shmem(name, error))?;
        shmem.set_owner(false);
        Ok(Segment {
            shmem,
            name: name.to_owned(),
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn len(&self) -> usize {
        self.shmem.len()
    }

    fn check_range(&self, offset: usize, len: usize) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.len())
    }

    /// Copies `dst.len()` bytes at `offset` out of the segment. Returns false (and copies
    /// nothing) if the range is outside the mapping.
    ///
    /// The bytes may be changing while they are copied; callers validate them afterwards with
    /// the protocol's sequence words and treat them as untrusted.
    pub(crate) fn read_bytes(&self, offset: usize, dst: &mut [u8]) -> bool {
        if !self.check_range(offset, dst.len()) {
            return false;
        }
        // SAFETY: the range [offset, offset + dst.len()) lies inside the mapping (checked just
        // above) and the mapping lives as long as `self`. `dst` is a distinct, exclusively
        // borrowed buffer of our process, so the two do not overlap. Another process may write
        // the source bytes concurrently: `u8` has no invalid values, we never form a Rust
        // reference to them, and the seqlock protocol discards any copy that raced a write.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.shmem.as_ptr().add(offset),
                dst.as_mut_ptr(),
                dst.len(),
            )
        };
        true
    }

    /// Copies `src` into the segment at `offset`. Returns false (and writes nothing) if the
    /// range is outside the mapping.
    pub(crate) fn write_bytes(&self, offset: usize, src: &[u8]) -> bool {
        if !self.check_range(offset, src.len()) {
            return false;
        }
        // SAFETY: the destination range is inside the mapping (checked above) and cannot
        // overlap `src`, which is memory of our own process outside any mapping we write. Only
        // the single writer of a namespace writes these bytes; concurrent readers copy them
        // raw and validate their copy with the slot's sequence word.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.shmem.as_ptr().add(offset), src.len())
        };
        true
    }

    /// The bytes `[offset, offset + len)` as a slice to fill in place; `None` if the range is
    /// outside the mapping.
    ///
    /// # Safety
    ///
    /// While the slice lives, nothing else in this process may form a reference to that range
    /// or write it: the caller must be the namespace's writer, holding it exclusively
    /// (`&mut Writer`), and the range must be a plane of a slot it is writing (odd sequence
    /// word). Readers may still copy the bytes raw, through their own mappings.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn bytes_mut(&self, offset: usize, len: usize) -> Option<&mut [u8]> {
        if !self.check_range(offset, len) {
            return None;
        }
        // SAFETY: the range lies inside the mapping (checked above), which stays mapped as long
        // as `self`, and the returned borrow cannot outlive `self`. The caller guarantees that
        // nothing else in this process references or writes the range meanwhile, so the slice
        // is the only way to it here. Readers (other processes, or a `Reader` of this one
        // through its own mapping) copy these bytes raw, outside the Rust aliasing model, and
        // discard copies that overlapped a write. Only the writer writes them: the segments
        // are mode 0600 and another process of the same user writing here breaks the
        // protocol; `u8` has no invalid values, so what it could change is pixel values, and
        // the protocol's callers only write the slice, they do not derive addresses from it.
        Some(unsafe { std::slice::from_raw_parts_mut(self.shmem.as_ptr().add(offset), len) })
    }

    /// The shared 64-bit word at `offset`.
    ///
    /// Panics if `offset` is not 8-aligned or out of range: offsets come from the protocol's
    /// constants and validated headers, so that would be a bug in this crate, not bad input.
    pub(crate) fn atomic_u64(&self, offset: usize) -> &AtomicU64 {
        assert!(
            offset.is_multiple_of(8) && self.check_range(offset, 8),
            "bad atomic offset {offset}"
        );
        // SAFETY: the word lies inside the mapping, which is page-aligned, so `offset % 8 == 0`
        // makes the pointer 8-aligned as AtomicU64 requires. The mapping outlives the returned
        // reference (tied to `&self`). Every process of the protocol accesses these words only
        // with atomic operations.
        unsafe { AtomicU64::from_ptr(self.shmem.as_ptr().add(offset).cast()) }
    }

    /// The shared 32-bit word at `offset`; panics like [`Segment::atomic_u64`].
    pub(crate) fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        assert!(
            offset.is_multiple_of(4) && self.check_range(offset, 4),
            "bad atomic offset {offset}"
        );
        // SAFETY: as in `atomic_u64`, with 4-byte alignment.
        unsafe { AtomicU32::from_ptr(self.shmem.as_ptr().add(offset).cast()) }
    }
}

/// What the operating system says about a segment, without mapping it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentStat {
    pub len: u64,
    pub uid: u32,
    pub gid: u32,
    /// Permission bits (e.g. 0o600).
    pub mode: u32,
}

fn c_name(name: &str) -> Result<CString, SegmentError> {
    CString::new(format!("/{name}")).map_err(|_| SegmentError::Os {
        segment: name.to_owned(),
        source: io::Error::other("segment name contains a NUL byte"),
    })
}

fn last_errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Runs `action` on a file descriptor of the named segment, opened with `flags`.
fn with_fd<T>(
    name: &str,
    flags: libc::c_int,
    action: impl FnOnce(libc::c_int) -> Result<T, i32>,
) -> Result<T, SegmentError> {
    let c_name = c_name(name)?;
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the call; shm_open does
    // not create anything without O_CREAT, which we never pass here.
    let fd = unsafe { libc::shm_open(c_name.as_ptr(), flags, 0) };
    if fd < 0 {
        return Err(SegmentError::from_errno(name, last_errno()));
    }
    let result = action(fd);
    // SAFETY: `fd` was returned by shm_open above and is closed exactly once, here.
    unsafe { libc::close(fd) };
    result.map_err(|errno| SegmentError::from_errno(name, errno))
}

/// Size, owner and mode of a segment.
pub fn stat(name: &str) -> Result<SegmentStat, SegmentError> {
    with_fd(name, libc::O_RDONLY, |fd| {
        // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is open and `stat` is a valid, writable struct.
        if unsafe { libc::fstat(fd, &mut stat) } != 0 {
            return Err(last_errno());
        }
        // st_mode is u16 on macOS and u32 on Linux.
        #[allow(clippy::useless_conversion)]
        let mode = u32::from(stat.st_mode) & 0o7777;
        Ok(SegmentStat {
            len: stat.st_size as u64,
            uid: stat.st_uid,
            gid: stat.st_gid,
            mode,
        })
    })
}

/// A segment is trusted when only its owner may access it and that owner is us or root. Root
/// trusts any owner: a daemon run through sudo hands its segments to the desktop user and
/// must still recognise them, and root can read everything anyway.
fn check_trusted(name: &str, stat: &SegmentStat) -> Result<(), SegmentError> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let owner_ok = euid == 0 || stat.uid == euid || stat.uid == 0;
    if owner_ok && stat.mode & 0o077 == 0 {
        return Ok(());
    }
    Err(SegmentError::Untrusted {
        segment: name.to_owned(),
        uid: stat.uid,
        mode: stat.mode,
        expected_uid: euid,
    })
}

/// Whether a segment of that name exists (whoever owns it).
pub fn exists(name: &str) -> bool {
    match stat(name) {
        Ok(_) | Err(SegmentError::PermissionDenied { .. }) => true,
        Err(_) => false,
    }
}

/// Gives a segment to `uid:gid` and sets its mode to 0600 (owner read/write only).
pub(crate) fn hand_over(name: &str, uid: u32, gid: u32) -> Result<(), SegmentError> {
    with_fd(name, libc::O_RDWR, |fd| {
        // SAFETY: `fd` is an open descriptor of the segment; fchown/fchmod only change its
        // metadata.
        if unsafe { libc::fchown(fd, uid, gid) } != 0 {
            return Err(last_errno());
        }
        // SAFETY: as above.
        if unsafe { libc::fchmod(fd, 0o600) } != 0 {
            return Err(last_errno());
        }
        Ok(())
    })
}

/// Removes a segment's name. Existing mappings stay valid until they are unmapped.
pub(crate) fn unlink(name: &str) -> Result<(), SegmentError> {
    let c_name = c_name(name)?;
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::shm_unlink(c_name.as_ptr()) } != 0 {
        return Err(SegmentError::from_errno(name, last_errno()));
    }
    Ok(())
}

/// Like [`unlink`], but a segment that is already gone is not an error.
pub(crate) fn unlink_if_present(name: &str) -> Result<(), SegmentError> {
    match unlink(name) {
        Ok(()) | Err(SegmentError::NotFound { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique(tag: &str) -> String {
        format!("aaa_test_{tag}_{}", std::process::id())
    }

    #[test]
    fn created_segment_is_private_and_readable_back() {
        let name = unique("seg");
        let segment = Segment::create(&name, 4096).unwrap();
        assert!(segment.write_bytes(100, b"hello"));
        let other = Segment::open(&name).unwrap();
        let mut back = [0u8; 5];
        assert!(other.read_bytes(100, &mut back));
        assert_eq!(&back, b"hello");
        let stat = stat(&name).unwrap();
        assert_eq!((stat.len, stat.mode), (4096, 0o600));
        assert!(
            !other.read_bytes(4092, &mut back),
            "out-of-range read must be refused"
        );
        unlink(&name).unwrap();
        assert!(!exists(&name));
        assert!(matches!(
            Segment::open(&name),
            Err(SegmentError::NotFound { .. })
        ));
    }

    #[test]
    fn segments_others_may_read_are_refused() {
        let name = unique("open");
        let _segment = Segment::create(&name, 4096).unwrap();
        hand_over_mode(&name, 0o644);
        match Segment::open(&name) {
            Err(SegmentError::Untrusted { mode, .. }) => assert_eq!(mode, 0o644),
            Err(other) => panic!("unexpected error: {other}"),
            Ok(_) => panic!("a world-readable segment was trusted"),
        }
        unlink(&name).unwrap();
    }

    fn hand_over_mode(name: &str, mode: libc::mode_t) {
        with_fd(name, libc::O_RDWR, |fd| {
            // SAFETY: `fd` is an open descriptor of the test's own segment.
            if unsafe { libc::fchmod(fd, mode) } != 0 {
                return Err(last_errno());
            }
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn create_refuses_an_existing_name() {
        let name = unique("dup");
        let _first = Segment::create(&name, 64).unwrap();
        assert!(matches!(
            Segment::create(&name, 64),
            Err(SegmentError::Exists { .. })
        ));
        unlink(&name).unwrap();
    }
}
