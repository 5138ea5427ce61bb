//! Telling a live writer from one that is gone.

use std::fmt;
use std::time::Duration;

/// How often the writer's heartbeat thread stamps the control block.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(20);
/// A heartbeat older than this means the writer is gone (or frozen), even if its pid exists.
///
/// A dead process is normally noticed at once through its pid (zombies included, on Linux);
/// the heartbeat catches what the pid cannot show: a frozen writer, or one in another pid
/// namespace. With readers checking at least every [`LIVENESS_CHECK_INTERVAL`] that takes
/// at most 200 + 25 ms, inside the protocol's 250 ms promise, while ten missed beats in a row
/// are needed before a busy machine makes a live writer look dead.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(200);
/// Longest time a blocked reader sleeps before it re-checks liveness.
pub const LIVENESS_CHECK_INTERVAL: Duration = Duration::from_millis(25);
/// A live writer that published nothing for this long is "alive but not publishing" (a hung
/// camera, a source that failed): the verdict of the viewer's health view and of the tray.
pub const NOT_PUBLISHING_AFTER: Duration = Duration::from_secs(2);

/// The state of the writer behind a namespace, as a reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Heartbeat fresh and process present.
    Live { pid: u32 },
    /// The writer is still setting up its segments.
    Starting { pid: u32 },
    /// The writer shut down cleanly.
    Closed { pid: u32 },
    /// The writer replaced these segments with new ones (a new geometry): open again.
    Replaced { pid: u32 },
    /// The writer's process no longer exists.
    ProcessGone { pid: u32 },
    /// The process may exist but has not stamped its heartbeat for `age`.
    HeartbeatStale { pid: u32, age: Duration },
    /// The state word holds a value this version does not know (a newer writer) and its
    /// writer is alive: not usable, and not to be reclaimed.
    UnknownState { pid: u32, state: u32 },
}

impl Liveness {
    pub fn is_live(&self) -> bool {
        matches!(self, Liveness::Live { .. })
    }

    /// Whether a writer still holds the segments: live, starting, or alive in a state this
    /// version does not know. Such segments are neither stale nor to be removed; the one rule
    /// `status`, `cleanup` and a new writer's reclaim all follow.
    pub fn holds_segments(&self) -> bool {
        matches!(
            self,
            Liveness::Live { .. } | Liveness::Starting { .. } | Liveness::UnknownState { .. }
        )
    }

    /// The writer is alive and reconfiguring: opening the namespace again shortly succeeds.
    pub fn is_replaced(&self) -> bool {
        matches!(self, Liveness::Replaced { .. })
    }

    pub fn pid(&self) -> u32 {
        match *self {
            Liveness::Live { pid }
            | Liveness::Starting { pid }
            | Liveness::Closed { pid }
            | Liveness::Replaced { pid }
            | Liveness::ProcessGone { pid }
            | Liveness::HeartbeatStale { pid, .. }
            | Liveness::UnknownState { pid, .. } => pid,
        }
    }

    /// Judges liveness from the control block's state word, heartbeat and pid.
    pub(crate) fn judge(state: u32, pid: u32, heartbeat_mono_ns: u64, now_mono_ns: u64) -> Self {
        use crate::layout::{STATE_CLOSED, STATE_INITIALIZING, STATE_LIVE, STATE_REPLACED};
        match state {
            STATE_LIVE => {}
            STATE_CLOSED => return Liveness::Closed { pid },
            STATE_REPLACED => return Liveness::Replaced { pid },
            STATE_INITIALIZING => {
                return if process_exists(pid) {
                    Liveness::Starting { pid }
                } else {
                    Liveness::ProcessGone { pid }
                }
            }
            unknown => {
                return if process_exists(pid) {
                    Liveness::UnknownState {
                        pid,
                        state: unknown,
                    }
                } else {
                    Liveness::ProcessGone { pid }
                }
            }
        }
        if !process_exists(pid) {
            return Liveness::ProcessGone { pid };
        }
        let age = Duration::from_nanos(now_mono_ns.saturating_sub(heartbeat_mono_ns));
        if age > HEARTBEAT_TIMEOUT {
            Liveness::HeartbeatStale { pid, age }
        } else {
            Liveness::Live { pid }
        }
    }
}

impl fmt::Display for Liveness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Liveness::Live { pid } => write!(f, "writer alive (pid {pid})"),
            Liveness::Starting { pid } => write!(f, "writer starting (pid {pid})"),
            Liveness::Closed { pid } => write!(f, "writer stopped (pid {pid} shut down cleanly)"),
            Liveness::Replaced { pid } => {
                write!(
                    f,
                    "writer (pid {pid}) moved to new segments with a new geometry"
                )
            }
            Liveness::ProcessGone { pid } => {
                write!(f, "writer gone (process {pid} no longer exists)")
            }
            Liveness::UnknownState { pid, state } => write!(
                f,
                "writer (pid {pid}) is in state {state}, unknown to this protocol version"
            ),
            Liveness::HeartbeatStale { pid, age } => write!(
                f,
                "writer unresponsive (pid {pid}, no heartbeat for {} ms)",
                age.as_millis()
            ),
        }
    }
}

/// Whether a process with that pid exists (possibly owned by another user, e.g. root).
pub fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 performs only the existence and permission checks, it sends nothing.
    let result = unsafe { libc::kill(pid, 0) };
    // EPERM: the process exists but belongs to someone else (a daemon run as root).
    let exists = result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && !is_zombie(pid)
}

/// A killed process that its parent has not reaped yet still has a pid; on Linux its state
/// in /proc says it is dead.
#[cfg(target_os = "linux")]
fn is_zombie(pid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may contain spaces.
    let state = stat
        .rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next());
    matches!(state, Some("Z" | "X"))
}

#[cfg(not(target_os = "linux"))]
fn is_zombie(_pid: libc::pid_t) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{STATE_CLOSED, STATE_LIVE};

    #[test]
    fn own_process_exists_and_absurd_pids_do_not() {
        assert!(process_exists(std::process::id()));
        assert!(!process_exists(0));
        assert!(!process_exists(u32::MAX));
    }

    #[test]
    fn an_unreaped_dead_child_does_not_exist() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Give it time to exit; it stays a zombie until waited for.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!process_exists(pid), "zombie {pid} counted as alive");
        child.wait().unwrap();
    }

    #[test]
    fn stale_heartbeat_and_closed_state_are_not_live() {
        let pid = std::process::id();
        let second = 1_000_000_000;
        assert!(Liveness::judge(STATE_LIVE, pid, 10 * second, 10 * second + 1000).is_live());
        assert!(matches!(
            Liveness::judge(STATE_LIVE, pid, 10 * second, 11 * second),
            Liveness::HeartbeatStale { .. }
        ));
        assert_eq!(
            Liveness::judge(STATE_CLOSED, pid, 0, 0),
            Liveness::Closed { pid }
        );
    }
}
