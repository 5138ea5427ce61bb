//! The health side panel: whether it is open, and the last minute of the daemon's metrics and
//! display latency it plots.

use std::time::Instant;

use crate::feed::Origin;
use crate::health::HealthHistory;
use crate::supervisor::Supervisor;
use crate::view::health::{health_ui, HealthAvailability};

#[derive(Default)]
pub(super) struct HealthPanel {
    open: bool,
    history: HealthHistory,
}

impl HealthPanel {
    pub(super) fn is_open(&self) -> bool {
        self.open
    }

    pub(super) fn open_mut(&mut self) -> &mut bool {
        &mut self.open
    }

    /// Records the shown daemon's metrics, and tells its feed whether new metrics alone should
    /// wake the GUI (only while the panel is open).
    pub(super) fn follow(&mut self, supervisor: &Supervisor) {
        let Some((feed, _)) = supervisor.shown_feed() else {
            return;
        };
        if feed.origin() != Origin::Daemon {
            return;
        }
        let link = feed.link();
        link.set_wants_metrics(self.open);
        if let Some(metrics) = link.writer_report().and_then(|report| report.metrics) {
            self.history.observe_metrics(&metrics, Instant::now());
        }
    }

    /// Records the publish-to-display latency of a daemon frame just shown.
    pub(super) fn observe_latency(&mut self, latency_ms: f64) {
        self.history.observe_latency(latency_ms, Instant::now());
    }

    /// Draws the panel while it is open; `unavailable` says why there are no metrics.
    pub(super) fn panel_ui(
        &self,
        ui: &mut egui::Ui,
        supervisor: &Supervisor,
        unavailable: &dyn Fn(&str) -> String,
    ) {
        if !self.open {
            return;
        }
        let report = supervisor
            .shown_feed()
            .filter(|(feed, _)| feed.origin() == Origin::Daemon)
            .map(|(feed, _)| feed.link().writer_report());
        let availability = match &report {
            Some(report) => HealthAvailability::Daemon(report.as_ref()),
            None => HealthAvailability::Unavailable(unavailable("Health metrics")),
        };
        health_ui(ui, &availability, &self.history, Instant::now());
    }
}
