//! Surviving a segment truncated under our mapping.
//!
//! A segment's owner can `ftruncate` it at any time (a root daemon hands its segments to the
//! desktop user). Touching a mapped page past the new end of file raises SIGBUS, which kills
//! the process by default: the daemon would die because a reader's user truncated a file.
//!
//! Every mapping registers its range here. A SIGBUS inside a registered range replaces the
//! whole range with private anonymous memory (`MAP_FIXED`), marks it detached and returns, so
//! the faulting access is retried on zeros and succeeds. The owner of the mapping then sees
//! [`GuardedRange::is_detached`] and gives the segment up (a writer moves to new segments, a
//! reader reports the writer's segments as lost). A SIGBUS anywhere else is passed on to the
//! handler that was installed before ours (Rust's own, which turns a stack overflow into a
//! message), or gets the default action. Wayland compositors protect themselves from clients'
//! shared-memory buffers the same way.
//!
//! Linux only: macOS shared memory cannot be truncated once sized.

#[cfg(target_os = "linux")]
pub(crate) use linux::GuardedRange;
#[cfg(not(target_os = "linux"))]
pub(crate) use other::GuardedRange;

#[cfg(target_os = "linux")]
mod linux {
    use std::cell::UnsafeCell;
    use std::mem::MaybeUninit;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Once;

    /// Ranges guarded at once; mappings beyond that still work, unguarded (a process maps
    /// three segments per namespace it reads).
    const MAX_RANGES: usize = 256;
    /// `len` of an entry being filled in by `register`.
    const FILLING: usize = usize::MAX;

    struct Entry {
        /// A seqlock over `start` and `len`: odd while `register` or `release` changes them,
        /// so the handler never pairs one range's start with another's length.
        generation: AtomicUsize,
        start: AtomicUsize,
        /// 0: free; [`FILLING`]: being registered; else the length of a guarded range.
        len: AtomicUsize,
        detached: AtomicBool,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const FREE: Entry = Entry {
        generation: AtomicUsize::new(0),
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        detached: AtomicBool::new(false),
    };
    static ENTRIES: [Entry; MAX_RANGES] = [FREE; MAX_RANGES];

    /// The SIGBUS action that was in place before ours, for faults that are not ours.
    struct Previous(UnsafeCell<MaybeUninit<libc::sigaction>>);
    // SAFETY: written once inside `INSTALL` before our handler is installed (so before it can
    // run), and only read afterwards, by the handler.
    unsafe impl Sync for Previous {}
    static PREVIOUS: Previous = Previous(UnsafeCell::new(MaybeUninit::uninit()));
    static INSTALL: Once = Once::new();
    /// Whether `PREVIOUS` holds a valid action (installation succeeded).
    static INSTALLED: AtomicBool = AtomicBool::new(false);

    fn install() {
        INSTALL.call_once(|| {
            // SAFETY: an all-zero sigaction is a valid value of this plain C struct; every
            // field we rely on is set below.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
            // SA_ONSTACK: run on the alternate stack where one exists (Rust sets one up for
            // each thread it starts); SA_NODEFER is not set, so a fault inside the handler
            // cannot recurse.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `action.sa_mask` is a valid sigset to initialise.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: both pointers are valid; PREVIOUS is written here, before any handler of
            // ours can run, and never again (Once).
            let installed =
                unsafe { libc::sigaction(libc::SIGBUS, &action, (*PREVIOUS.0.get()).as_mut_ptr()) }
                    == 0;
            // Release: the handler's Acquire load then sees PREVIOUS written.
            INSTALLED.store(installed, Ordering::Release);
        });
    }

    /// The signal handler. Only async-signal-safe work: atomic loads and stores, `mmap`,
    /// `sigaction`, and the previous handler.
    extern "C" fn on_sigbus(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        context: *mut libc::c_void,
    ) {
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let (code, address) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
        // Only a fault the kernel raised (si_code > 0) can be a truncated mapping; a SIGBUS
        // sent with kill() or raise() is passed on.
        let fault = code > 0;
        for entry in ENTRIES.iter().filter(|_| fault) {
            // Acquire: pairs with the Release increments in `register` and `release`; an even
            // value read here and again below means `start` and `len` were not being changed
            // in between, so they describe one registered range.
            let before = entry.generation.load(Ordering::Acquire);
            if before % 2 == 1 {
                continue;
            }
            let len = entry.len.load(Ordering::Relaxed);
            let start = entry.start.load(Ordering::Relaxed);
            // Acquire fence, then a Relaxed re-read: a change racing the loads above shows up
            // as a different generation.
            std::sync::atomic::fence(Ordering::Acquire);
            if entry.generation.load(Ordering::Relaxed) != before
                || len == 0
                || len == FILLING
                || address < start
                || address - start >= len
            {
                continue;
            }
            // SAFETY: at the moment of the generation checks, [start, start + len) was a
            // registered mapping of ours containing the faulting address. Registration
            // happens after mapping and release before unmapping, and the faulting thread is
            // inside an access to this very mapping through a borrow of its `Segment`, which
            // therefore cannot be released or unmapped until the access (and this handler)
            // returns. Replacing the range with anonymous memory of the same size changes no
            // other object's memory.
            let replaced = unsafe {
                libc::mmap(
                    start as *mut libc::c_void,
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if replaced != libc::MAP_FAILED {
                // Relaxed: the flag is read by the mapping's owner, possibly on this very
                // thread after the handler returns; no other data is published through it.
                entry.detached.store(true, Ordering::Relaxed);
                return;
            }
            break;
        }
        pass_on(signal, info, context);
    }

    /// A SIGBUS that is not ours: what would have happened without us.
    fn pass_on(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        // Acquire: pairs with the Release store after PREVIOUS was written.
        if INSTALLED.load(Ordering::Acquire) {
            // SAFETY: INSTALLED means PREVIOUS holds the action sigaction returned.
            let previous = unsafe { (*PREVIOUS.0.get()).assume_init_ref() };
            let handler = previous.sa_sigaction;
            if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
                if previous.sa_flags & libc::SA_SIGINFO != 0 {
                    // SAFETY: with SA_SIGINFO the previous handler has this signature.
                    let handler: extern "C" fn(
                        libc::c_int,
                        *mut libc::siginfo_t,
                        *mut libc::c_void,
                    ) = unsafe { std::mem::transmute(handler) };
                    handler(signal, info, context);
                } else {
                    // SAFETY: without SA_SIGINFO the previous handler takes the signal only.
                    let handler: extern "C" fn(libc::c_int) =
                        unsafe { std::mem::transmute(handler) };
                    handler(signal);
                }
                return;
            }
        }
        // The default action: restore it; a fault then happens again when the handler returns
        // and the kernel ends the process with SIGBUS, as it would have without us; a sent
        // signal is raised again for the same end.
        // SAFETY: an all-zero sigaction with SIG_DFL (0) is the default action.
        let mut default: libc::sigaction = unsafe { std::mem::zeroed() };
        default.sa_sigaction = libc::SIG_DFL;
        // SAFETY: a valid action pointer; the old action is not asked for.
        unsafe { libc::sigaction(signal, &default, std::ptr::null_mut()) };
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        if unsafe { (*info).si_code } <= 0 {
            // SAFETY: raise is async-signal-safe; the signal is blocked until we return.
            unsafe { libc::raise(signal) };
        }
    }

    /// A registered mapping; release it before unmapping.
    pub(crate) struct GuardedRange {
        entry: Option<&'static Entry>,
    }

    impl GuardedRange {
        pub(crate) fn register(start: usize, len: usize) -> Self {
            install();
            if len == 0 || len == FILLING {
                return GuardedRange { entry: None };
            }
            for entry in &ENTRIES {
                // Relaxed: claiming a free entry orders nothing; the Release store below
                // publishes the filled entry to the handler.
                if entry
                    .len
                    .compare_exchange(0, FILLING, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
                {
                    // Odd while changing: Relaxed increment then a Release fence, so the
                    // handler that sees any of the new values also sees the odd generation.
                    entry.generation.fetch_add(1, Ordering::Relaxed);
                    std::sync::atomic::fence(Ordering::Release);
                    entry.detached.store(false, Ordering::Relaxed);
                    entry.start.store(start, Ordering::Relaxed);
                    entry.len.store(len, Ordering::Relaxed);
                    // Release: even again; a handler that reads this generation sees the
                    // values stored above.
                    entry.generation.fetch_add(1, Ordering::Release);
                    return GuardedRange { entry: Some(entry) };
                }
            }
            // Unguarded: still works, but a truncation of this mapping would be fatal.
            GuardedRange { entry: None }
        }

        pub(crate) fn is_detached(&self) -> bool {
            // Relaxed: see the store in the handler.
            self.entry
                .is_some_and(|entry| entry.detached.load(Ordering::Relaxed))
        }

        /// Stops guarding the range (it is about to be unmapped).
        pub(crate) fn release(&mut self) {
            if let Some(entry) = self.entry.take() {
                // As in `register`: odd, cleared, even again.
                entry.generation.fetch_add(1, Ordering::Relaxed);
                std::sync::atomic::fence(Ordering::Release);
                entry.start.store(0, Ordering::Relaxed);
                // Release: a later `register` that claims the entry (its compare-exchange
                // reads this 0) does so after the clearing above.
                entry.len.store(0, Ordering::Release);
                entry.generation.fetch_add(1, Ordering::Release);
            }
        }
    }

    impl Drop for GuardedRange {
        fn drop(&mut self) {
            self.release();
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod other {
    /// Nothing to guard where segments cannot be truncated.
    pub(crate) struct GuardedRange;

    impl GuardedRange {
        pub(crate) fn register(_start: usize, _len: usize) -> Self {
            GuardedRange
        }

        pub(crate) fn is_detached(&self) -> bool {
            false
        }

        pub(crate) fn release(&mut self) {}
    }
}
