//! `ctl`: drive a running daemon from a shell through its command socket.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use shmproto::control::{ClientError, Command, ControlClient, ControlInfo, ControlKind};
use shmproto::Namespace;

/// Sends `command` to the daemon of `namespace` and returns what to print.
pub fn run(
    namespace: &Namespace,
    runtime_dir: &Path,
    command: Command,
    json: bool,
) -> anyhow::Result<String> {
    let socket = namespace.control_socket(runtime_dir);
    let mut client =
        ControlClient::connect(&socket, Duration::from_secs(10)).map_err(|error| match error {
            ClientError::Connect { .. } => anyhow::anyhow!(
                "{error} (is a daemon running in namespace {namespace}? `aaa-camera-daemon status`)"
            ),
            other => other.into(),
        })?;
    let listing = matches!(command, Command::ListControls);
    let single = matches!(
        command,
        Command::GetControl { .. } | Command::SetControl { .. }
    );
    let result = client.request(command)?;
    if json {
        return Ok(serde_json::to_string_pretty(&result)?);
    }
    if listing {
        let controls: Vec<ControlInfo> = serde_json::from_value(result["controls"].clone())
            .context("the daemon sent an invalid control list")?;
        if controls.is_empty() {
            return Ok("this source has no controls".to_owned());
        }
        return Ok(controls.iter().map(describe).collect::<Vec<_>>().join("\n"));
    }
    if single {
        let control: ControlInfo =
            serde_json::from_value(result).context("the daemon sent an invalid control")?;
        return Ok(describe(&control));
    }
    let Some(object) = result.as_object() else {
        return Ok(result.to_string());
    };
    Ok(object
        .iter()
        .map(|(key, value)| format!("{key}: {value}"))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// One line per control: `exposure = 8500 us (1..=165000 step 1, default 8500) Exposure`.
pub fn describe(control: &ControlInfo) -> String {
    let unit = control
        .unit
        .as_deref()
        .map_or(String::new(), |unit| format!(" {unit}"));
    let kind = match control.kind {
        ControlKind::Range { min, max, step } => format!("{min}..={max} step {step}"),
        ControlKind::Toggle => "toggle 0/1".to_owned(),
    };
    format!(
        "{} = {}{unit} ({kind}, default {}) {}",
        control.name, control.value, control.default, control.label
    )
}
