//! The health panel: the daemon's metrics, and its frame rate and the publish-to-display
//! latency over the last minute.

use std::time::Instant;

use egui::{Color32, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::feed::WriterReport;
use crate::health::{HealthHistory, HISTORY};

/// What the panel shows this pass.
pub enum HealthAvailability<'a> {
    /// The daemon is shown; its last writer report (`None` before the first).
    Daemon(Option<&'a WriterReport>),
    /// No daemon to watch; the text says why.
    Unavailable(String),
}

const PLOT_HEIGHT: f32 = 110.0;

pub fn health_ui(
    ui: &mut egui::Ui,
    availability: &HealthAvailability<'_>,
    history: &HealthHistory,
    now: Instant,
) {
    ui.heading("Health");
    let report = match availability {
        HealthAvailability::Unavailable(reason) => {
            ui.add_enabled_ui(false, |ui| {
                ui.label(reason);
            });
            return;
        }
        HealthAvailability::Daemon(None) => {
            ui.label("Waiting for the daemon's status...");
            return;
        }
        HealthAvailability::Daemon(Some(report)) => report,
    };
    let state = match &report.message {
        Some(message) => format!("state: {} ({message})", report.state.as_str()),
        None => format!("state: {}", report.state.as_str()),
    };
    ui.label(state);
    if let Some(error) = &report.read_error {
        ui.label(RichText::new(error).color(Color32::from_rgb(220, 60, 60)));
    }
    let Some(metrics) = &report.metrics else {
        ui.label("This writer publishes no daemon metrics.");
        return;
    };
    egui::Grid::new("health_metrics")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let mut row = |name: &str, value: String| {
                ui.label(name);
                ui.label(value);
                ui.end_row();
            };
            let target = if metrics.target_fps > 0.0 {
                format!(" (target {:.0})", metrics.target_fps)
            } else {
                String::new()
            };
            row("fps", format!("{:.1}{target}", metrics.fps));
            row("frames", metrics.frames_published.to_string());
            row("dropped", metrics.frames_dropped.to_string());
            row("publish", format!("{:.0} us", metrics.publish_us));
            row(
                "capture to publish",
                format!("{:.0} us", metrics.capture_to_publish_us),
            );
            row("CPU", format!("{:.1} %", metrics.cpu_percent));
            row(
                "memory",
                format!("{:.1} MiB", metrics.rss_bytes as f64 / (1024.0 * 1024.0)),
            );
            row("uptime", format_uptime(metrics.uptime_s));
            row("size", format!("{}x{}", metrics.width, metrics.height));
            row("pid", metrics.pid.to_string());
            row("source failures", metrics.source_failures.to_string());
            row(
                "last error",
                metrics
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "none".to_owned()),
            );
        });

    ui.add_space(6.0);
    let history_s = HISTORY.as_secs_f64();
    ui.label(format!("Last {} s", HISTORY.as_secs()));
    series_plot_ui(
        ui,
        "health_fps_plot",
        "published fps",
        history.fps_points(now),
        history_s,
    );
    series_plot_ui(
        ui,
        "health_latency_plot",
        "publish to display, ms",
        history.latency_points(now),
        history_s,
    );
}

fn series_plot_ui(ui: &mut egui::Ui, id: &str, name: &str, points: Vec<[f64; 2]>, history_s: f64) {
    Plot::new(id)
        .height(PLOT_HEIGHT)
        .legend(Legend::default())
        .include_x(-history_s)
        .include_x(0.0)
        .include_y(0.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .x_axis_label("s")
        .show(ui, |plot_ui| {
            plot_ui.line(Line::new(name, PlotPoints::from(points)));
        });
}

/// `1 h 02 min`, `3 min 07 s`, `12 s`.
fn format_uptime(uptime_s: f64) -> String {
    let total = uptime_s.max(0.0) as u64;
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours} h {minutes:02} min")
    } else if minutes > 0 {
        format!("{minutes} min {seconds:02} s")
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uptime_reads_naturally() {
        assert_eq!(super::format_uptime(12.7), "12 s");
        assert_eq!(super::format_uptime(187.0), "3 min 07 s");
        assert_eq!(super::format_uptime(3720.0), "1 h 02 min");
    }
}
