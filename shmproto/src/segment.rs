//! One POSIX shared-memory segment: opened through one descriptor, checked, and mapped.
//!
//! This module owns every raw pointer into a mapping. Everything above it reads and writes
//! through bounds-checked offsets: plain bytes by copy, shared words through atomics.
//!
//! Every check and change goes through the descriptor the segment was opened with, never
//! through its name a second time: opens never follow symlinks and never block (a FIFO planted
//! under a segment's name is refused, not waited on), only regular files are mapped, a new
//! segment's memory is reserved before anything is written to it (a full `/dev/shm` is an
//! error at creation, not a SIGBUS later), and ownership is handed over with `fchown`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::truncation_guard::GuardedRange;

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
    /// Something other than a regular file has the segment's name (a FIFO, a directory...):
    /// never a segment of this protocol, possibly planted to make openers hang.
    #[error(
        "shared-memory segment {segment} is not a regular file but a {file_type} owned by {}; refusing it (its owner or root can remove it: `aaa-camera-daemon cleanup`)",
        uid.map_or_else(|| "an unknown user".to_owned(), |uid| format!("uid {uid}"))
    )]
    NotRegular {
        segment: String,
        file_type: &'static str,
        uid: Option<u32>,
    },
    /// Shared memory (`/dev/shm`) has no room for the segment.
    #[error(
        "no room in shared memory for segment {segment}: it needs {needed} bytes{}; free space in /dev/shm or use a smaller resolution",
        available.map(|bytes| format!(", {bytes} are free")).unwrap_or_default()
    )]
    NoSpace {
        segment: String,
        needed: u64,
        available: Option<u64>,
    },
}

impl SegmentError {
    fn from_errno(segment: &str, errno: i32) -> Self {
        let segment = segment.to_owned();
        match errno {
            libc::ENOENT => SegmentError::NotFound { segment },
            libc::EEXIST => SegmentError::Exists { segment },
            libc::EACCES | libc::EPERM => SegmentError::PermissionDenied { segment },
            // O_NOFOLLOW on a symlink: something planted it; it is not a segment.
            libc::ELOOP => SegmentError::NotRegular {
                uid: owner_uid(&segment),
                segment,
                file_type: "symbolic link",
            },
            // A socket refuses to be opened; a FIFO without a peer refuses a non-blocking
            // writer; a directory refuses to be opened for writing.
            libc::ENXIO => SegmentError::NotRegular {
                uid: owner_uid(&segment),
                segment,
                file_type: "socket or FIFO",
            },
            libc::EISDIR => SegmentError::NotRegular {
                uid: owner_uid(&segment),
                segment,
                file_type: "directory",
            },
            errno => SegmentError::Os {
                segment,
                source: io::Error::from_raw_os_error(errno),
            },
        }
    }
}

/// A mapped segment with the descriptor it was opened through. Unmapped on drop; never
/// unlinked by drop (see [`unlink`]).
pub(crate) struct Segment {
    ptr: NonNull<u8>,
    len: usize,
    fd: OwnedFd,
    name: String,
    /// Turns a SIGBUS on this mapping (its file truncated by its owner) into a detached mapping.
    guard: GuardedRange,
}

// SAFETY: `Segment` is !Send only because it holds a raw pointer to the mapping. The mapping is
// process-wide (valid from any thread until the `Segment` drops, which only its owner can
// cause), and every access through `Segment` is either an atomic operation or a raw copy whose
// races are resolved by the protocol's sequence words, never by Rust references.
unsafe impl Send for Segment {}
// SAFETY: as above; `&Segment` only hands out atomics and performs raw copies, both of which
// are as valid from several threads as from one.
unsafe impl Sync for Segment {}

/// Flags of every open: never follow a symlink, never block (a FIFO would wait for a peer
/// for ever), never leak the descriptor into children.
#[cfg(target_os = "linux")]
const OPEN_FLAGS: libc::c_int = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
/// macOS keeps POSIX shared memory outside the file system: no FIFO or symlink can take a
/// segment's name there, and `shm_open` accepts only the access and creation flags.
#[cfg(not(target_os = "linux"))]
const OPEN_FLAGS: libc::c_int = 0;

impl Segment {
    /// Creates a new segment of `len` zero bytes, mode 0600, with its memory reserved. Fails
    /// with [`SegmentError::Exists`] if a segment of this user, root or `trusted_owner` has the
    /// name; on Linux anything else there (a FIFO, another user's file: a squatter) is
    /// replaced. Nothing is left behind when it fails.
    pub(crate) fn create(
        name: &str,
        len: usize,
        trusted_owner: Option<u32>,
    ) -> Result<Self, SegmentError> {
        let file_len = libc::off_t::try_from(len).map_err(|_| SegmentError::NoSpace {
            segment: name.to_owned(),
            needed: len as u64,
            available: free_space(),
        })?;
        // Linux: made complete under a name of its own, then renamed into place in one step,
        // so that nothing planted under the name meanwhile can make creation fail.
        #[cfg(target_os = "linux")]
        let made_as = format!("{name}.new{:016x}", unique_suffix());
        #[cfg(not(target_os = "linux"))]
        let made_as = name.to_owned();
        let fd = shm_open(&made_as, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o600)?;
        let created = (|| {
            let os = |errno| SegmentError::from_errno(name, errno);
            // The umask may have narrowed the mode further; make it exactly 0600.
            // SAFETY: `fd` is an open descriptor; fchmod only changes its metadata.
            if unsafe { libc::fchmod(fd.as_raw_fd(), 0o600) } != 0 {
                return Err(os(last_errno()));
            }
            // SAFETY: `fd` is an open, writable descriptor of the new segment.
            if unsafe { libc::ftruncate(fd.as_raw_fd(), file_len) } != 0 {
                return Err(os(last_errno()));
            }
            reserve(name, &fd, file_len)?;
            #[cfg(target_os = "linux")]
            move_into_place(&made_as, name, trusted_owner)?;
            #[cfg(not(target_os = "linux"))]
            let _ = trusted_owner;
            Ok(())
        })();
        match created {
            Ok(()) => map(name, fd, len),
            Err(error) => {
                // The name we made is ours (O_EXCL): take it back so nothing half-made stays.
                let _ = unlink(&made_as);
                Err(error)
            }
        }
    }

    /// Maps an existing segment whole, after checking through its descriptor that it is a
    /// regular file private to us or root.
    pub(crate) fn open(name: &str) -> Result<Self, SegmentError> {
        let fd = shm_open(name, libc::O_RDWR, 0)?;
        let stat = fstat(name, &fd)?;
        check_trusted(name, &stat)?;
        // Mapping an empty segment fails with an obscure EINVAL; say what it is.
        if stat.len == 0 {
            return Err(SegmentError::Os {
                segment: name.to_owned(),
                source: io::Error::other("segment is empty (0 bytes)"),
            });
        }
        let len = usize::try_from(stat.len).map_err(|_| SegmentError::Os {
            segment: name.to_owned(),
            source: io::Error::other("segment is larger than this machine's address space"),
        })?;
        map(name, fd, len)
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the segment's file was truncated under the mapping (by its owner, or by a
    /// broken writer): the mapping then holds private zeros, nothing written reaches others
    /// and nothing read comes from them.
    pub(crate) fn is_detached(&self) -> bool {
        self.guard.is_detached()
    }

    /// Gives the segment to `uid:gid`, mode 0600, through its descriptor.
    pub(crate) fn hand_over(&self, uid: u32, gid: u32) -> Result<(), SegmentError> {
        // SAFETY: `self.fd` is an open descriptor of the segment; fchown and fchmod only change
        // its metadata.
        if unsafe { libc::fchown(self.fd.as_raw_fd(), uid, gid) } != 0
            // SAFETY: as above.
            || unsafe { libc::fchmod(self.fd.as_raw_fd(), 0o600) } != 0
        {
            return Err(SegmentError::from_errno(&self.name, last_errno()));
        }
        Ok(())
    }

    fn check_range(&self, offset: usize, len: usize) -> bool {
        offset.checked_add(len).is_some_and(|end| end <= self.len())
    }

    /// The address of `len` bytes at `offset` in the mapping, `None` if that range is outside
    /// it. Valid as long as `self` lives; the bytes may change at any time (another process
    /// writes them), so no Rust reference may ever be formed over them (see
    /// [`crate::HeldFrame`]).
    pub(crate) fn address_of(&self, offset: usize, len: usize) -> Option<NonNull<u8>> {
        if !self.check_range(offset, len) {
            return None;
        }
        // SAFETY: `offset` is at most the mapping's length (checked just above), so the result
        // points inside the mapping or one past its end, and is not null.
        Some(unsafe { self.ptr.add(offset) })
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
                self.ptr.as_ptr().add(offset),
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
            std::ptr::copy_nonoverlapping(src.as_ptr(), self.ptr.as_ptr().add(offset), src.len())
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
        Some(unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(offset), len) })
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
        unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(offset).cast()) }
    }

    /// The shared 32-bit word at `offset`; panics like [`Segment::atomic_u64`].
    pub(crate) fn atomic_u32(&self, offset: usize) -> &AtomicU32 {
        assert!(
            offset.is_multiple_of(4) && self.check_range(offset, 4),
            "bad atomic offset {offset}"
        );
        // SAFETY: as in `atomic_u64`, with 4-byte alignment.
        unsafe { AtomicU32::from_ptr(self.ptr.as_ptr().add(offset).cast()) }
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // Unregistered first: once unmapped, the range may be reused by other mappings.
        self.guard.release();
        // SAFETY: `ptr`/`len` describe the mapping made in `map`, unmapped exactly once, here;
        // every borrow handed out by `&self` methods has ended since we hold `&mut self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        // `fd` closes when it drops.
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

/// `shm_open` with [`OPEN_FLAGS`] added to `flags`.
fn shm_open(name: &str, flags: libc::c_int, mode: libc::mode_t) -> Result<OwnedFd, SegmentError> {
    let c_name = c_name(name)?;
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the call. O_CREAT (only
    // ever with O_EXCL) creates a new, private segment of our own.
    let fd = unsafe { libc::shm_open(c_name.as_ptr(), flags | OPEN_FLAGS, mode as libc::c_uint) };
    if fd < 0 {
        return Err(SegmentError::from_errno(name, last_errno()));
    }
    // SAFETY: `fd` was just returned by shm_open and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Size, owner and mode through the descriptor; anything but a regular file is refused.
fn fstat(name: &str, fd: &OwnedFd) -> Result<SegmentStat, SegmentError> {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `stat` is a valid, writable struct.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut stat) } != 0 {
        return Err(SegmentError::from_errno(name, last_errno()));
    }
    let file_type = stat.st_mode & libc::S_IFMT;
    if file_type != libc::S_IFREG {
        return Err(SegmentError::NotRegular {
            segment: name.to_owned(),
            file_type: match file_type {
                libc::S_IFIFO => "FIFO",
                libc::S_IFDIR => "directory",
                libc::S_IFSOCK => "socket",
                libc::S_IFCHR => "character device",
                libc::S_IFBLK => "block device",
                libc::S_IFLNK => "symbolic link",
                _ => "special file",
            },
            uid: Some(stat.st_uid),
        });
    }
    // st_mode is u16 on macOS and u32 on Linux.
    #[allow(clippy::useless_conversion)]
    let mode = u32::from(stat.st_mode) & 0o7777;
    Ok(SegmentStat {
        len: u64::try_from(stat.st_size).unwrap_or(0),
        uid: stat.st_uid,
        gid: stat.st_gid,
        mode,
    })
}

/// Makes the file system commit `len` bytes to the segment now, so that a full `/dev/shm`
/// fails here instead of killing the writer with SIGBUS at its first write.
#[cfg(target_os = "linux")]
fn reserve(name: &str, fd: &OwnedFd, len: libc::off_t) -> Result<(), SegmentError> {
    loop {
        // SAFETY: `fd` is an open, writable descriptor of a regular file we created.
        let errno = unsafe { libc::posix_fallocate(fd.as_raw_fd(), 0, len) };
        return match errno {
            0 => Ok(()),
            libc::EINTR => continue,
            libc::ENOSPC | libc::EFBIG => Err(SegmentError::NoSpace {
                segment: name.to_owned(),
                needed: len as u64,
                available: free_space(),
            }),
            errno => Err(SegmentError::from_errno(name, errno)),
        };
    }
}

/// macOS backs POSIX shared memory with anonymous memory at `ftruncate`: nothing to reserve.
#[cfg(not(target_os = "linux"))]
fn reserve(_name: &str, _fd: &OwnedFd, _len: libc::off_t) -> Result<(), SegmentError> {
    Ok(())
}

/// Bytes free for new segments (`/dev/shm` on Linux); `None` where that cannot be told.
pub fn free_space() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: an all-zero `statvfs` is a valid value of this plain C struct.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: the path is a valid NUL-terminated string and `stat` is writable.
        if unsafe { libc::statvfs(c"/dev/shm".as_ptr(), &mut stat) } != 0 {
            return None;
        }
        #[allow(clippy::useless_conversion)]
        Some(u64::from(stat.f_bavail).saturating_mul(u64::from(stat.f_frsize)))
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Maps `len` bytes of `fd` shared, read-write, and guards the range against truncation.
fn map(name: &str, fd: OwnedFd, len: usize) -> Result<Segment, SegmentError> {
    // SAFETY: a fresh mapping chosen by the kernel (no MAP_FIXED), of a descriptor we own; the
    // result is checked before use.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(SegmentError::from_errno(name, last_errno()));
    }
    let Some(ptr) = NonNull::new(ptr.cast::<u8>()) else {
        return Err(SegmentError::Os {
            segment: name.to_owned(),
            source: io::Error::other("mmap returned a null mapping"),
        });
    };
    Ok(Segment {
        guard: GuardedRange::register(ptr.as_ptr() as usize, len),
        ptr,
        len,
        fd,
        name: name.to_owned(),
    })
}

/// A value no other segment being made has: random per process, and counted within it.
#[cfg(target_os = "linux")]
fn unique_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    // Relaxed: only uniqueness matters, not ordering.
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// Renames the segment made as `made_as` to `name`: never over a segment of this user, root or
/// `trusted_owner` (that is [`SegmentError::Exists`]: a writer may be live), but over anything
/// else someone put there, which no writer of ours made.
#[cfg(target_os = "linux")]
fn move_into_place(
    made_as: &str,
    name: &str,
    trusted_owner: Option<u32>,
) -> Result<(), SegmentError> {
    let path = |name: &str| {
        CString::new(format!("/dev/shm/{name}")).map_err(|_| SegmentError::Os {
            segment: name.to_owned(),
            source: io::Error::other("segment name contains a NUL byte"),
        })
    };
    let (from, to) = (path(made_as)?, path(name)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let renamed = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if renamed == 0 {
        return Ok(());
    }
    let errno = last_errno();
    if errno != libc::EEXIST {
        return Err(SegmentError::from_errno(name, errno));
    }
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut found: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid path and a writable struct; the link itself is examined, not followed.
    if unsafe {
        libc::fstatat(
            libc::AT_FDCWD,
            to.as_ptr(),
            &mut found,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    } != 0
    {
        return Err(SegmentError::from_errno(name, last_errno()));
    }
    let ours = found.st_mode & libc::S_IFMT == libc::S_IFREG
        && crate::runtime_dir::is_trusted_owner(found.st_uid, trusted_owner);
    if ours {
        return Err(SegmentError::Exists {
            segment: name.to_owned(),
        });
    }
    // A squatter: replaced in one step (it keeps existing for whoever has it open).
    // SAFETY: as for renameat2 above.
    if unsafe { libc::rename(from.as_ptr(), to.as_ptr()) } != 0 {
        return Err(SegmentError::from_errno(name, last_errno()));
    }
    Ok(())
}

/// Size, owner and mode of a segment; an error for anything but a regular file.
pub fn stat(name: &str) -> Result<SegmentStat, SegmentError> {
    let fd = shm_open(name, libc::O_RDONLY, 0)?;
    fstat(name, &fd)
}

/// Who owns whatever has the segment's name, without opening it: what `status` can still
/// tell about another user's segments. `None` where shared memory has no paths (macOS).
pub fn owner_uid(name: &str) -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(format!("/dev/shm/{name}"))
            .ok()
            .map(|metadata| metadata.uid())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = name;
        None
    }
}

/// A segment is trusted when only its owner may access it and that owner is us or root. Root
/// trusts any owner: a daemon run through sudo hands its segments to the desktop user and
/// must still recognise them, and root can read everything anyway.
fn check_trusted(name: &str, stat: &SegmentStat) -> Result<(), SegmentError> {
    let euid = crate::runtime_dir::euid();
    let owner_ok = euid == 0 || crate::runtime_dir::is_trusted_owner(stat.uid, None);
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

/// Whether something has the segment's name (whoever owns it, whatever it is).
pub fn exists(name: &str) -> bool {
    match stat(name) {
        Ok(_) | Err(SegmentError::PermissionDenied { .. } | SegmentError::NotRegular { .. }) => {
            true
        }
        Err(_) => false,
    }
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
        let segment = Segment::create(&name, 4096, None).unwrap();
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
        let _segment = Segment::create(&name, 4096, None).unwrap();
        hand_over_mode(&name, 0o644);
        match Segment::open(&name) {
            Err(SegmentError::Untrusted { mode, .. }) => assert_eq!(mode, 0o644),
            Err(other) => panic!("unexpected error: {other}"),
            Ok(_) => panic!("a world-readable segment was trusted"),
        }
        unlink(&name).unwrap();
    }

    fn hand_over_mode(name: &str, mode: libc::mode_t) {
        let fd = shm_open(name, libc::O_RDWR, 0).unwrap();
        // SAFETY: `fd` is an open descriptor of the test's own segment.
        assert_eq!(unsafe { libc::fchmod(fd.as_raw_fd(), mode) }, 0);
    }

    #[test]
    fn create_refuses_an_existing_name() {
        let name = unique("dup");
        let _first = Segment::create(&name, 64, None).unwrap();
        assert!(matches!(
            Segment::create(&name, 64, None),
            Err(SegmentError::Exists { .. })
        ));
        unlink(&name).unwrap();
    }
}
