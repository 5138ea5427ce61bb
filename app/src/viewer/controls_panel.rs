//! The controls side panel: whether it is open, and the connection to the daemon's command
//! socket, kept while the daemon is shown.

use crate::control_link::DaemonControls;
use crate::launcher::DaemonLauncher;
use crate::supervisor::{Connection, Shown, Supervisor};
use crate::view::controls::{controls_ui, ControlAction, ControlsAvailability};

#[derive(Default)]
pub(super) struct ControlsPanel {
    open: bool,
    /// The controls of the connected daemon.
    controls: Option<DaemonControls>,
}

impl ControlsPanel {
    pub(super) fn is_open(&self) -> bool {
        self.open
    }

    pub(super) fn open_mut(&mut self) -> &mut bool {
        &mut self.open
    }

    /// The controls of the connected daemon, while one is connected.
    pub(super) fn daemon_controls(&self) -> Option<&DaemonControls> {
        self.controls.as_ref()
    }

    /// Keeps a command link to the daemon while it is shown (a new one for each connection;
    /// none without a `launcher`, which knows where the socket is), and takes in its replies.
    pub(super) fn follow(
        &mut self,
        supervisor: &Supervisor,
        launcher: Option<&DaemonLauncher>,
        ctx: &egui::Context,
    ) {
        let connected = match (supervisor.shown(), supervisor.daemon_connection()) {
            (Shown::Daemon, Some(Connection::Connected { detail })) => Some(detail.clone()),
            _ => None,
        };
        match (connected, launcher) {
            (Some(detail), Some(launcher)) => {
                let current = self
                    .controls
                    .as_ref()
                    .is_some_and(|controls| controls.connection() == detail);
                if !current {
                    tracing::debug!("daemon connected ({detail}): asking for its controls");
                    let socket = launcher.settings().control_socket();
                    self.controls = Some(DaemonControls::start(socket, detail, ctx));
                }
            }
            _ => self.controls = None,
        }
        if let Some(controls) = &mut self.controls {
            controls.poll();
        }
    }

    /// Draws the panel while it is open; `unavailable` says why there are no controls.
    pub(super) fn panel_ui(&mut self, ui: &mut egui::Ui, unavailable: &dyn Fn(&str) -> String) {
        if !self.open {
            return;
        }
        let availability = match &self.controls {
            Some(controls) => ControlsAvailability::Daemon(controls),
            None => ControlsAvailability::Unavailable(unavailable("Controls")),
        };
        let action = controls_ui(ui, &availability);
        if let (Some(action), Some(controls)) = (action, &mut self.controls) {
            match action {
                ControlAction::Set { name, value } => controls.set(&name, value),
                ControlAction::Refresh => controls.refresh(),
            }
        }
        ui.add_space(12.0);
    }
}
