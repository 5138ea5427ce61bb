//! `aaa-tray`: parses arguments, sets up logging, runs the tray.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use daemon_launcher::DaemonSettings;
use shmproto::SourceKind;

/// Shows the camera daemon's state in the system tray, with start, stop, restart,
/// pause/resume, open viewer and open log.
#[derive(Parser, Debug)]
#[command(name = "aaa-tray", version)]
struct Args {
    /// Namespace of the daemon to watch (default: $AAA_NAMESPACE, else the default one).
    #[arg(long)]
    namespace: Option<String>,
    /// The daemon's runtime directory: command socket, pid file, log (default:
    /// $AAA_RUNTIME_DIR, else where the daemon is found: your runtime directory or
    /// /run/aaa-camera-daemon).
    #[arg(long, value_name = "DIR")]
    runtime_dir: Option<PathBuf>,
    /// The source a daemon started from the tray opens: realsense, webcam or synthetic.
    #[arg(long, default_value = "realsense", value_parser = str::parse::<SourceKind>)]
    daemon_source: SourceKind,
    /// The daemon executable (default: aaa-camera-daemon next to this program, else on PATH).
    #[arg(long, value_name = "PATH")]
    daemon_binary: Option<PathBuf>,
    /// The viewer executable (default: aaa next to this program, else on PATH).
    #[arg(long, value_name = "PATH")]
    viewer_binary: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let namespace = match shmproto::Namespace::from_flag_or_env(args.namespace.as_deref()) {
        Ok(namespace) => namespace,
        Err(error) => {
            eprintln!("aaa-tray: {error}");
            return ExitCode::from(2);
        }
    };
    let config = tray::TrayConfig {
        daemon: DaemonSettings {
            namespace,
            runtime_dir: shmproto::runtime_dir::explicit_runtime_dir(args.runtime_dir.as_deref()),
            source: args.daemon_source,
            binary: args.daemon_binary,
        },
        viewer_binary: args.viewer_binary,
    };
    match tray::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("aaa-tray: {error}");
            ExitCode::FAILURE
        }
    }
}
