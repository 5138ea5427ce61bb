//! Recording from the app: the same recorder as `aaa-camera-daemon record`, run as a child
//! process (the app never links the daemon's code), writing an MCAP file of the daemon's
//! frames. Stopping sends SIGTERM, which makes the recorder finish the file.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::launcher::binary::find_daemon_binary;
use crate::launcher::DaemonSettings;

/// A recorder running, or finished and not yet asked about.
pub struct RecorderProcess {
    child: Child,
    path: PathBuf,
    started: Instant,
    stopping: bool,
}

/// How a recording ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingEnd {
    /// The file is complete; the recorder's summary line.
    Finished { path: PathBuf, summary: String },
    /// The recorder failed; what it said.
    Failed { path: PathBuf, error: String },
}

/// The file name of a recording started at `unix_s` (seconds since the epoch), UTC:
/// `aaa-YYYYMMDD-HHMMSS.mcap`.
pub fn recording_file_name(unix_s: u64) -> String {
    let days = (unix_s / 86_400) as i64;
    let seconds_of_day = unix_s % 86_400;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "aaa-{year:04}{month:02}{day:02}-{:02}{:02}{:02}.mcap",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
}

impl RecorderProcess {
    /// Starts recording the daemon of `settings` into a new file in `folder`.
    pub fn start(settings: &DaemonSettings, folder: &Path) -> Result<Self, String> {
        if !folder.is_dir() {
            return Err(format!("folder {} does not exist", folder.display()));
        }
        let binary = find_daemon_binary(settings.binary.as_deref()).map_err(|e| e.to_string())?;
        let unix_s = shmproto::wall_now_ns() / 1_000_000_000;
        let path = folder.join(recording_file_name(unix_s));
        let mut command = Command::new(&binary);
        command
            .arg("--namespace")
            .arg(settings.namespace.as_str())
            .arg("--runtime-dir")
            .arg(settings.runtime_dir())
            .arg("record")
            .arg("--output")
            .arg(&path)
            .arg("--json")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = command
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        tracing::info!("recording to {}", path.display());
        Ok(RecorderProcess {
            child,
            path,
            started: Instant::now(),
            stopping: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Bytes written so far.
    pub fn size_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |meta| meta.len())
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping
    }

    /// Asks the recorder to finish the file (SIGTERM); [`Self::poll`] tells when it has.
    pub fn stop(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: kill has no memory preconditions; `pid` is our own child, not reaped yet
        // (poll reaps it), so the number cannot belong to another process.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            tracing::warn!(
                "cannot stop the recorder: {}",
                std::io::Error::last_os_error()
            );
        }
    }

    /// How the recording ended, once it has (the child is reaped then).
    pub fn poll(&mut self) -> Option<RecordingEnd> {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => return None,
            Err(error) => {
                return Some(RecordingEnd::Failed {
                    path: self.path.clone(),
                    error: error.to_string(),
                })
            }
        };
        let read_all = |pipe: Option<&mut dyn Read>| {
            let mut text = String::new();
            if let Some(pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        };
        let stdout = read_all(self.child.stdout.as_mut().map(|pipe| pipe as &mut dyn Read));
        let stderr = read_all(self.child.stderr.as_mut().map(|pipe| pipe as &mut dyn Read));
        let summary: Option<serde_json::Value> = stdout
            .lines()
            .last()
            .and_then(|line| serde_json::from_str(line).ok());
        let error = summary
            .as_ref()
            .and_then(|summary| summary["error"].as_str().map(str::to_owned))
            .or_else(|| (!status.success()).then(|| stderr.trim().to_owned()));
        Some(match (error, summary) {
            (None, Some(summary)) => RecordingEnd::Finished {
                path: self.path.clone(),
                summary: format!(
                    "{} frames, {:.1} MB, {} gaps",
                    summary["frames_written"],
                    summary["bytes"].as_f64().unwrap_or(0.0) / 1e6,
                    summary["gaps"]
                ),
            },
            (error, _) => RecordingEnd::Failed {
                path: self.path.clone(),
                error: error.unwrap_or_else(|| format!("the recorder ended ({status})")),
            },
        })
    }
}

impl Drop for RecorderProcess {
    fn drop(&mut self) {
        // The app is closing: the recorder finishes its file on its own.
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_carry_the_utc_date_and_time() {
        assert_eq!(recording_file_name(0), "aaa-19700101-000000.mcap");
        // 2026-12-06 15:41:46 UTC.
        assert_eq!(
            recording_file_name(1_796_571_706),
            "aaa-20261206-154146.mcap"
        );
        // A leap day.
        assert_eq!(recording_file_name(951_782_400), "aaa-20000229-000000.mcap");
    }
}
