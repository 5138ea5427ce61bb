//! The **Record** button's state: the recorder child process while it runs, and what the
//! toolbar shows of it (file name, elapsed time, size).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::launcher::DaemonSettings;
use crate::recorder::{RecorderProcess, RecordingEnd};
use crate::view::toolbar::RecordingStatus;

/// How often the toolbar's elapsed time and size are refreshed while recording.
const REFRESH: Duration = Duration::from_millis(500);

#[derive(Default)]
pub(super) struct Recording {
    process: Option<RecorderProcess>,
    last_file: Option<PathBuf>,
}

impl Recording {
    pub(super) fn start(&mut self, settings: &DaemonSettings, folder: &Path) -> Result<(), String> {
        if self.process.is_some() {
            return Ok(());
        }
        let process = RecorderProcess::start(settings, folder)?;
        self.last_file = Some(process.path().to_path_buf());
        self.process = Some(process);
        Ok(())
    }

    pub(super) fn stop(&mut self) {
        if let Some(process) = &mut self.process {
            process.stop();
        }
    }

    /// How the recording ended, once it has; asks for the next refresh while it runs.
    pub(super) fn poll(&mut self, ctx: &egui::Context) -> Option<RecordingEnd> {
        let process = self.process.as_mut()?;
        let end = process.poll();
        if end.is_some() {
            self.process = None;
        } else {
            ctx.request_repaint_after(REFRESH);
        }
        end
    }

    pub(super) fn status(&self) -> Option<RecordingStatus> {
        let process = self.process.as_ref()?;
        Some(RecordingStatus {
            file_name: process
                .path()
                .file_name()
                .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
            elapsed: process.elapsed(),
            bytes: process.size_bytes(),
            stopping: process.is_stopping(),
        })
    }

    /// The file of the recording running or last started.
    pub(super) fn last_file(&self) -> Option<&Path> {
        self.last_file.as_deref()
    }
}
