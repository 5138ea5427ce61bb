//! The native "open model" dialog (`rfd`), on a thread of its own so the GUI keeps drawing
//! while it is open.
//!
//! On Linux `rfd` asks the XDG desktop portal over D-Bus (libdbus is loaded at run time) and
//! falls back to `zenity`; with neither there is no dialog, which `rfd` reports exactly like a
//! cancel: the panel then says so and offers the path field.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll, Wake};

use crossbeam_channel::{Receiver, TryRecvError};

/// A dialog that is open, or none.
#[derive(Default)]
pub struct ModelDialog {
    pending: Option<Receiver<Option<PathBuf>>>,
}

/// How the dialog ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogOutcome {
    Chosen(PathBuf),
    /// Cancelled, or no dialog could be shown.
    NothingChosen,
    /// The dialog's thread could not start or died.
    Failed(String),
}

impl ModelDialog {
    pub fn is_open(&self) -> bool {
        self.pending.is_some()
    }

    /// Opens the dialog in `start_folder`; the thread wakes `ctx` when the user has chosen.
    pub fn open(
        &mut self,
        ctx: &egui::Context,
        start_folder: Option<PathBuf>,
    ) -> Result<(), String> {
        if self.is_open() {
            return Ok(());
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        let repaint = ctx.clone();
        std::thread::Builder::new()
            .name("model dialog".to_owned())
            .spawn(move || {
                let mut dialog = rfd::AsyncFileDialog::new()
                    .set_title("Open a detection model")
                    .add_filter("ONNX model", &["onnx"])
                    .add_filter("All files", &["*"]);
                if let Some(folder) = start_folder {
                    dialog = dialog.set_directory(folder);
                }
                let chosen = block_on(dialog.pick_file()).map(|file| file.path().to_owned());
                // The panel may be gone (window closed); then nobody needs the answer.
                let _ = tx.send(chosen);
                repaint.request_repaint();
            })
            .map_err(|err| format!("cannot open the file dialog: {err}"))?;
        self.pending = Some(rx);
        Ok(())
    }

    /// How the dialog ended, once it did.
    pub fn poll(&mut self) -> Option<DialogOutcome> {
        let pending = self.pending.as_ref()?;
        let outcome = match pending.try_recv() {
            Err(TryRecvError::Empty) => return None,
            Ok(Some(path)) => DialogOutcome::Chosen(path),
            Ok(None) => DialogOutcome::NothingChosen,
            Err(TryRecvError::Disconnected) => {
                DialogOutcome::Failed("the file dialog's thread stopped".to_owned())
            }
        };
        self.pending = None;
        Some(outcome)
    }
}

/// Runs `future` to completion on this thread (the dialog's thread has nothing else to do).
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Arc::new(Unpark(std::thread::current())).into();
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            // A spurious unpark only costs another poll.
            Poll::Pending => std::thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_runs_a_future_woken_from_another_thread() {
        let (tx, rx) = crossbeam_channel::bounded::<u32>(1);
        struct Later(Receiver<u32>, bool);
        impl Future for Later {
            type Output = u32;
            fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
                if let Ok(value) = self.0.try_recv() {
                    return Poll::Ready(value);
                }
                if !self.1 {
                    self.1 = true;
                    let waker = cx.waker().clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        waker.wake();
                    });
                }
                Poll::Pending
            }
        }
        tx.send(7).unwrap();
        assert_eq!(block_on(Later(rx.clone(), false)), 7);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(10));
            tx.send(9).unwrap();
        });
        assert_eq!(block_on(Later(rx, false)), 9);
        sender.join().unwrap();
    }
}
