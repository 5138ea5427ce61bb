//! The StatusNotifierItem backend (Linux): the item and its `com.canonical.dbusmenu` menu on
//! the session bus, registered with the desktop's `org.kde.StatusNotifierWatcher`, through
//! `ksni` (pure Rust over zbus: no GTK, no system library). The state picture goes as an
//! ARGB32 pixmap, so no icon theme needs installing.
//!
//! ksni runs the D-Bus service on a thread of its own; [`SniBackend::show`] hands it the new
//! view (it emits the property-change signals a host listens for). Menu clicks arrive on that
//! thread and only send a [`MenuEntry`] down a channel, so D-Bus is never blocked by a stop
//! that takes seconds.

use crossbeam_channel::Sender;
use ksni::blocking::TrayMethods as _;

use super::BackendError;
use crate::icons::IconSet;
use crate::presentation::{IconKind, MenuEntry, TrayView};

/// The item as ksni serves it.
struct SniItem {
    view: TrayView,
    pixmaps: Vec<(IconKind, ksni::Icon)>,
    choices: Sender<MenuEntry>,
}

impl SniItem {
    fn pixmap(&self) -> Vec<ksni::Icon> {
        self.pixmaps
            .iter()
            .filter(|(kind, _)| *kind == self.view.icon)
            .map(|(_, icon)| icon.clone())
            .collect()
    }

    fn choose(&self, entry: MenuEntry) {
        // The controller is gone only while the program exits.
        if self.choices.send(entry).is_err() {
            tracing::debug!("menu choice {:?} after the tray stopped", entry.label());
        }
    }
}

impl ksni::Tray for SniItem {
    fn id(&self) -> String {
        "aaa-tray".to_owned()
    }

    fn title(&self) -> String {
        self.view.title.clone()
    }

    fn category(&self) -> ksni::Category {
        ksni::Category::Hardware
    }

    fn status(&self) -> ksni::Status {
        if self.view.needs_attention {
            ksni::Status::NeedsAttention
        } else {
            ksni::Status::Active
        }
    }

    fn icon_name(&self) -> String {
        // The pixmap is the picture; the name says the state to hosts and scripts.
        format!("aaa-camera-{}", self.view.icon.name().replace('_', "-"))
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        self.pixmap()
    }

    fn attention_icon_pixmap(&self) -> Vec<ksni::Icon> {
        self.pixmap()
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        ksni::ToolTip {
            icon_name: String::new(),
            icon_pixmap: self.pixmap(),
            title: self.view.title.clone(),
            // The description is a subset of HTML: the daemon's words are escaped.
            description: escape_markup(&self.view.tooltip),
        }
    }

    /// A left click opens the viewer.
    fn activate(&mut self, _x: i32, _y: i32) {
        self.choose(MenuEntry::OpenViewer);
    }

    fn menu(&self) -> Vec<ksni::MenuItem<Self>> {
        let mut items = Vec::new();
        for entry in MenuEntry::ALL {
            if entry.starts_group() {
                items.push(ksni::MenuItem::Separator);
            }
            items.push(
                ksni::menu::StandardItem {
                    label: entry.label().to_owned(),
                    enabled: self.view.is_enabled(entry),
                    activate: Box::new(move |item: &mut SniItem| item.choose(entry)),
                    ..Default::default()
                }
                .into(),
            );
        }
        items
    }

    fn watcher_online(&self) {
        tracing::info!("the system tray is back; the item registered again");
    }

    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        // Keep serving: ksni registers again when a tray host comes back (a restarted shell).
        tracing::warn!("the system tray went away ({reason:?}); waiting for it to come back");
        true
    }
}

fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The item on the session bus.
pub struct SniBackend {
    handle: ksni::blocking::Handle<SniItem>,
}

impl SniBackend {
    /// Registers the item with the session's tray host.
    pub fn open(
        view: TrayView,
        icons: IconSet,
        choices: Sender<MenuEntry>,
    ) -> Result<Self, BackendError> {
        let pixmaps = IconKind::ALL
            .into_iter()
            .filter_map(|kind| {
                let image = icons.get(kind)?;
                Some((
                    kind,
                    ksni::Icon {
                        width: i32::try_from(image.width).ok()?,
                        height: i32::try_from(image.height).ok()?,
                        data: image.argb32(),
                    },
                ))
            })
            .collect();
        let item = SniItem {
            view,
            pixmaps,
            choices,
        };
        let handle = item.spawn().map_err(|error| match error {
            ksni::Error::Dbus(error) => BackendError::NoSessionBus(error.to_string()),
            ksni::Error::Watcher(error) => BackendError::NoTrayHost(format!(
                "nothing answers as org.kde.StatusNotifierWatcher ({error})"
            )),
            ksni::Error::WontShow => BackendError::NoTrayHost(
                "a StatusNotifierWatcher runs but no tray host is registered with it".to_owned(),
            ),
            other => BackendError::NoTrayHost(other.to_string()),
        })?;
        Ok(SniBackend { handle })
    }
}

impl super::TrayBackend for SniBackend {
    fn show(&mut self, view: &TrayView) -> Result<(), BackendError> {
        let view = view.clone();
        self.handle
            .update(move |item: &mut SniItem| item.view = view)
            .ok_or_else(|| BackendError::Gone("the D-Bus service ended".to_owned()))
    }

    fn shutdown(&mut self) {
        self.handle.shutdown().wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemons_words_cannot_inject_markup() {
        assert_eq!(escape_markup("a <b> & c"), "a &lt;b&gt; &amp; c".to_owned());
    }
}
