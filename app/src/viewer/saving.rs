//! Saving the frozen frame: the folder the toolbar edits, the save running on a thread of its
//! own (the GUI never waits for the disk), and the files of the last save.

use std::path::{Path, PathBuf};

use crossbeam_channel::{Receiver, TryRecvError};

use crate::detection::record::DetectionsRecord;
use crate::frame::FrozenFrame;
use crate::save::{save_frozen_frame, SavedFiles};

pub(super) struct Saving {
    /// The folder as the user typed it.
    folder: String,
    /// The result of the save under way.
    in_flight: Option<Receiver<Result<SavedFiles, String>>>,
    last_saved: Option<SavedFiles>,
}

impl Saving {
    pub(super) fn new(folder: &Path) -> Self {
        Saving {
            folder: folder.display().to_string(),
            in_flight: None,
            last_saved: None,
        }
    }

    pub(super) fn folder_mut(&mut self) -> &mut String {
        &mut self.folder
    }

    pub(super) fn is_saving(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The files of the last successful save.
    pub(super) fn last_saved(&self) -> Option<&SavedFiles> {
        self.last_saved.as_ref()
    }

    /// Starts writing `frozen` (with its `detections`, if any) into the folder; the thread
    /// wakes `ctx` when done. `Err` says why it could not start.
    pub(super) fn start(
        &mut self,
        frozen: FrozenFrame,
        detections: Option<DetectionsRecord>,
        ctx: &egui::Context,
    ) -> Result<(), String> {
        let folder = PathBuf::from(self.folder.trim());
        let (result_tx, result_rx) = crossbeam_channel::bounded(1);
        let repaint = ctx.clone();
        std::thread::Builder::new()
            .name("save frame".to_owned())
            .spawn(move || {
                let result = save_frozen_frame(&frozen, detections.as_ref(), &folder)
                    .map_err(|err| err.to_string());
                // The viewer may be gone (window closed); then nobody needs the result.
                let _ = result_tx.send(result);
                repaint.request_repaint();
            })
            .map_err(|err| format!("cannot start saving: {err}"))?;
        self.in_flight = Some(result_rx);
        Ok(())
    }

    /// How the save under way ended, once it did: `Ok` with the folder written to, or `Err`
    /// with why it failed.
    pub(super) fn poll(&mut self) -> Option<Result<String, String>> {
        let result_rx = self.in_flight.as_ref()?;
        let result = match result_rx.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => {
                Err("the save thread ended without a result".to_owned())
            }
        };
        self.in_flight = None;
        Some(result.map(|files| {
            let folder = files
                .color_png
                .parent()
                .map_or_else(String::new, |folder| folder.display().to_string());
            self.last_saved = Some(files);
            folder
        }))
    }
}
