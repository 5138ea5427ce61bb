//! Where the tray item is drawn: a [`TrayBackend`] shows a [`TrayView`] and sends the menu's
//! choices back as [`MenuEntry`] values. Linux: a StatusNotifierItem over D-Bus
//! ([`sni`], the `ksni` crate; KDE, GNOME with the AppIndicator extension, XFCE, waybar...).
//! Other systems have no backend in this build and say so.

use crossbeam_channel::Sender;

use crate::icons::IconSet;
use crate::presentation::{MenuEntry, TrayView};

#[cfg(target_os = "linux")]
pub mod sni;

/// Why the tray item cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// No session bus to talk to.
    #[error("cannot reach the D-Bus session bus ({0}); aaa-tray runs inside a desktop session")]
    NoSessionBus(String),
    /// The session has no tray host (no `org.kde.StatusNotifierWatcher`).
    #[error("no system tray on this desktop session: {0}. KDE Plasma, XFCE, LXQt and waybar have one; on GNOME install and enable the AppIndicator extension (Debian: gnome-shell-extension-appindicator)")]
    NoTrayHost(String),
    /// The item went away under us.
    #[error("the tray item stopped: {0}")]
    Gone(String),
    /// This system has no tray backend in this build.
    #[error("aaa-tray shows its item through StatusNotifierItem (Linux desktops); this build has no tray backend for {0}")]
    Unsupported(&'static str),
}

/// A tray item on screen.
pub trait TrayBackend {
    /// Shows `view` (icon, title, tooltip, menu).
    fn show(&mut self, view: &TrayView) -> Result<(), BackendError>;
    /// Removes the item.
    fn shutdown(&mut self);
}

/// Puts the item on screen showing `view`; the menu's choices go to `choices`.
pub fn open(
    view: TrayView,
    icons: IconSet,
    choices: Sender<MenuEntry>,
) -> Result<Box<dyn TrayBackend>, BackendError> {
    #[cfg(target_os = "linux")]
    {
        Ok(Box::new(sni::SniBackend::open(view, icons, choices)?))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (view, icons, choices);
        Err(BackendError::Unsupported(std::env::consts::OS))
    }
}
