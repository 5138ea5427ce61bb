//! Opening a Zenoh session the way every part of the bridge does: peer mode, explicit
//! endpoints, no multicast scouting, reconnection by Zenoh itself; a configuration file
//! (`--zenoh-config`) for everything else (TLS, mTLS, access control, other transports).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use zenoh::config::EndPoint;
use zenoh::{Config, Session, Wait};

use crate::error::BridgeError;

/// Where the bridge listens by default: this host only. Exposing a camera to the network is
/// the user's choice (`--listen tcp/0.0.0.0:7447`, preferably with TLS: docs/operations.md).
pub const DEFAULT_LISTEN: &str = "tcp/127.0.0.1:7447";

/// Longest pause between two attempts to reach a peer that went away: a restarted bridge is
/// found again within this.
const RECONNECT_PERIOD_MAX: Duration = Duration::from_millis(1000);

/// How a session reaches the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// Accept connections here (the bridge's default).
    Listen(String),
    /// Connect there, and again whenever the link drops.
    Connect(String),
}

impl Endpoint {
    /// The endpoint's text, checked: `tcp/HOST:PORT` and the other Zenoh locators.
    pub fn locator(&self) -> &str {
        match self {
            Endpoint::Listen(locator) | Endpoint::Connect(locator) => locator,
        }
    }

    fn check(&self) -> Result<(), BridgeError> {
        let locator = self.locator();
        let invalid = |reason: String| BridgeError::Endpoint {
            endpoint: locator.to_owned(),
            reason,
        };
        let endpoint = EndPoint::from_str(locator).map_err(|error| invalid(error.to_string()))?;
        let address = endpoint.address();
        let address = address.as_str();
        if matches!(endpoint.protocol().as_str(), "tcp" | "tls") {
            // Zenoh resolves names later; catch the plain typos (no port, bad port) now.
            let Some((_, port)) = address.rsplit_once(':') else {
                return Err(invalid("no port".to_owned()));
            };
            port.parse::<u16>()
                .map_err(|_| invalid(format!("{port:?} is not a port number")))?;
        }
        Ok(())
    }
}

/// What a session is opened from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// Where to listen or what to connect to; `None` leaves it to the configuration file.
    pub endpoint: Option<Endpoint>,
    /// A Zenoh configuration file (JSON5): its settings apply first, the endpoint on top.
    pub config_file: Option<PathBuf>,
}

impl SessionSettings {
    /// Listening on `endpoint`.
    pub fn listen(endpoint: &str) -> Self {
        SessionSettings {
            endpoint: Some(Endpoint::Listen(endpoint.to_owned())),
            config_file: None,
        }
    }

    /// Connecting to `endpoint`.
    pub fn connect(endpoint: &str) -> Self {
        SessionSettings {
            endpoint: Some(Endpoint::Connect(endpoint.to_owned())),
            config_file: None,
        }
    }

    /// The Zenoh configuration these settings make, checked.
    pub fn config(&self) -> Result<Config, BridgeError> {
        let mut config = match &self.config_file {
            Some(path) => read_config_file(path)?,
            None => Config::default(),
        };
        let set = |config: &mut Config, key: &str, value: &str| {
            config
                .insert_json5(key, value)
                .map_err(|error| BridgeError::Config(format!("{key} = {value}: {error}")))
        };
        set(&mut config, "mode", r#""peer""#)?;
        // Explicit endpoints only: no multicast discovery of (or by) other hosts.
        set(&mut config, "scouting/multicast/enabled", "false")?;
        // Find a peer that went away again soon (unless the file says otherwise).
        if config
            .get_json("connect/retry")
            .is_ok_and(|retry| retry == "null")
        {
            set(
                &mut config,
                "connect/retry",
                &format!(
                    "{{ period_init_ms: 100, period_max_ms: {}, period_increase_factor: 2 }}",
                    RECONNECT_PERIOD_MAX.as_millis()
                ),
            )?;
        }
        if let Some(endpoint) = &self.endpoint {
            endpoint.check()?;
            let endpoints = serde_json::to_string(&[endpoint.locator()])
                .map_err(|error| BridgeError::Config(error.to_string()))?;
            match endpoint {
                Endpoint::Listen(_) => {
                    set(&mut config, "listen/endpoints", &endpoints)?;
                    set(&mut config, "connect/endpoints", "[]")?;
                }
                Endpoint::Connect(_) => {
                    set(&mut config, "connect/endpoints", &endpoints)?;
                    set(&mut config, "listen/endpoints", "[]")?;
                }
            }
        }
        Ok(config)
    }

    /// Opens the session. Listening fails at once when the port is taken; connecting
    /// succeeds without the other side and keeps trying in the background.
    pub fn open(&self) -> Result<Session, BridgeError> {
        let config = self.config()?;
        zenoh::open(config)
            .wait()
            .map_err(|error| BridgeError::Open {
                what: self.describe(),
                reason: error.to_string(),
            })
    }

    /// "listening on tcp/..." / "connecting to tcp/...", for messages.
    pub fn describe(&self) -> String {
        let endpoint = match &self.endpoint {
            Some(Endpoint::Listen(locator)) => format!("listening on {locator}"),
            Some(Endpoint::Connect(locator)) => format!("connecting to {locator}"),
            None => "endpoints from the configuration file".to_owned(),
        };
        match &self.config_file {
            Some(path) => format!("{endpoint}, configuration {}", path.display()),
            None => endpoint,
        }
    }
}

fn read_config_file(path: &Path) -> Result<Config, BridgeError> {
    let error = |reason: String| BridgeError::ConfigFile {
        path: path.to_owned(),
        reason,
    };
    // Read it first for a plain I/O error; Zenoh's own message for a missing file is vague.
    std::fs::metadata(path).map_err(|io| error(io.to_string()))?;
    Config::from_file(path).map_err(|zenoh| error(zenoh.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_checked() {
        assert!(SessionSettings::listen("tcp/127.0.0.1:7447")
            .config()
            .is_ok());
        assert!(SessionSettings::connect("tcp/localhost:7447")
            .config()
            .is_ok());
        for bad in [
            "tcp/127.0.0.1",
            "tcp/127.0.0.1:http",
            "127.0.0.1:7447",
            "",
            "tcp/1.2.3.4:99999",
        ] {
            let error = SessionSettings::listen(bad).config().unwrap_err();
            assert!(
                matches!(error, BridgeError::Endpoint { .. }),
                "{bad:?}: {error}"
            );
            assert!(error.to_string().contains("invalid Zenoh endpoint"));
        }
    }

    #[test]
    fn a_missing_configuration_file_is_named() {
        let settings = SessionSettings {
            endpoint: None,
            config_file: Some(PathBuf::from("/nonexistent/zenoh.json5")),
        };
        let error = settings.config().unwrap_err().to_string();
        assert!(error.contains("/nonexistent/zenoh.json5"), "{error}");
    }

    #[test]
    fn a_configuration_file_is_read_and_the_endpoint_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zenoh.json5");
        std::fs::write(&path, r#"{ listen: { endpoints: ["tcp/127.0.0.1:1"] } }"#).unwrap();
        let settings = SessionSettings {
            endpoint: Some(Endpoint::Listen("tcp/127.0.0.1:2".to_owned())),
            config_file: Some(path.clone()),
        };
        let config = settings.config().unwrap();
        let listen = config.get_json("listen/endpoints").unwrap();
        assert!(
            listen.contains("127.0.0.1:2") && !listen.contains("127.0.0.1:1"),
            "{listen}"
        );

        std::fs::write(&path, "{ this is not json5").unwrap();
        let error = SessionSettings {
            endpoint: None,
            config_file: Some(path),
        }
        .config()
        .unwrap_err();
        assert!(matches!(error, BridgeError::ConfigFile { .. }), "{error}");
    }
}
