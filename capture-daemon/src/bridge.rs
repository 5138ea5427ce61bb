//! `bridge`: publishes the namespace's frames on Zenoh for remote viewers, Python and ROS 2
//! tools (the `zenoh-bridge` crate does the work). Built with the cargo feature `zenoh`; without
//! it the command is there and says how to get it.

use std::path::PathBuf;

/// The Zenoh options of `bridge` and `watch --remote`, as typed on the command line.
#[derive(Debug, Clone, Default)]
pub struct ZenohOptions {
    /// Accept connections on this endpoint.
    pub listen: Option<String>,
    /// Connect to this endpoint (and again whenever the link drops).
    pub connect: Option<String>,
    /// Key prefix (default `aaa/<host>/<namespace>`).
    pub key: Option<String>,
    /// A Zenoh configuration file (TLS, mTLS, access control, ...).
    pub zenoh_config: Option<PathBuf>,
}

/// Why this binary cannot bridge.
#[cfg(not(feature = "zenoh"))]
pub const NOT_BUILT: &str = "this aaa-camera-daemon was built without the Zenoh bridge \
     (rebuild with `cargo build --release -p capture-daemon --features zenoh`)";

/// Bridges until SIGINT/SIGTERM. `depth_codec` is `rvl`, `zstd` or `none`.
#[cfg(not(feature = "zenoh"))]
pub fn run(
    _namespace: &shmproto::Namespace,
    _options: &ZenohOptions,
    _depth_codec: &str,
) -> anyhow::Result<()> {
    anyhow::bail!(NOT_BUILT)
}

#[cfg(feature = "zenoh")]
pub use built::*;

#[cfg(feature = "zenoh")]
mod built {
    use anyhow::Context;
    use zenoh_bridge::{
        Bridge, BridgeEvent, BridgeSettings, DepthEncoding, KeyPrefix, SessionSettings,
        DEFAULT_LISTEN,
    };

    use super::ZenohOptions;
    use crate::signals;
    use shmproto::Namespace;

    impl ZenohOptions {
        /// The session settings: `default_listen` when neither endpoint nor a configuration
        /// file is given.
        pub fn session(&self, default_listen: Option<&str>) -> SessionSettings {
            use zenoh_bridge::Endpoint;
            let endpoint = match (&self.listen, &self.connect) {
                (Some(listen), _) => Some(Endpoint::Listen(listen.clone())),
                (None, Some(connect)) => Some(Endpoint::Connect(connect.clone())),
                (None, None) if self.zenoh_config.is_none() => {
                    default_listen.map(|listen| Endpoint::Listen(listen.to_owned()))
                }
                (None, None) => None,
            };
            SessionSettings {
                endpoint,
                config_file: self.zenoh_config.clone(),
            }
        }

        /// The key prefix: `--key`, else `aaa/<host>/<namespace>`.
        pub fn prefix(&self, namespace: &Namespace) -> anyhow::Result<KeyPrefix> {
            Ok(match &self.key {
                Some(key) => key.parse()?,
                None => KeyPrefix::default_for(namespace)?,
            })
        }
    }

    /// Bridges until SIGINT/SIGTERM. `depth_codec` is `rvl`, `zstd` or `none`.
    pub fn run(
        namespace: &Namespace,
        options: &ZenohOptions,
        depth_codec: &str,
    ) -> anyhow::Result<()> {
        signals::install().context("cannot install signal handlers")?;
        let depth_encoding: DepthEncoding = depth_codec.parse()?;
        let settings = BridgeSettings {
            namespace: namespace.clone(),
            prefix: options.prefix(namespace)?,
            depth_encoding,
            session: options.session(Some(DEFAULT_LISTEN)),
        };
        let described = settings.session.describe();
        let prefix = settings.prefix.clone();
        let mut bridge = Bridge::open(settings)?;
        tracing::info!(
            "bridging namespace {namespace} to Zenoh key {prefix}/* ({described}), depth as {depth_encoding}"
        );
        let mut on_event = |event: BridgeEvent| match event {
            BridgeEvent::DaemonFound { detail } => tracing::info!("reading the daemon: {detail}"),
            BridgeEvent::DaemonMissing { reason } => tracing::info!("{reason}"),
            BridgeEvent::DaemonLost { reason } => {
                tracing::warn!("daemon lost ({reason}); waiting for it")
            }
            BridgeEvent::Watched(true) => tracing::info!("a subscriber is there: publishing"),
            BridgeEvent::Watched(false) => {
                tracing::info!("no subscriber left: frames are not sent")
            }
        };
        bridge.run(&signals::stop_requested, &mut on_event)?;
        let stats = bridge.stats();
        tracing::info!(
            "bridge stopped: {} frames read, {} published, {} unwatched, {:.1} MB sent",
            stats.frames_read,
            stats.frames_published,
            stats.frames_unwatched,
            stats.bytes_published as f64 / 1e6
        );
        Ok(())
    }
}
