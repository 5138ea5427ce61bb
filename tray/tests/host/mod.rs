//! The tray host's side of the end-to-end tests and the idle benchmark: a private session bus,
//! a `org.kde.StatusNotifierWatcher` that tells who registers, a host's view of an item
//! (properties, the dbusmenu layout, clicks), and the real `aaa-tray` for a daemon fixture.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use test_support::daemon::{DaemonFixture, WITHIN};
use zbus::zvariant::{OwnedValue, Structure, Value};

/// A session bus of the test's own (`dbus-daemon --session`), killed on drop.
pub struct PrivateBus {
    daemon: Child,
    pub address: String,
}

impl PrivateBus {
    pub fn start() -> Self {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect(
                "dbus-daemon (Debian package dbus-daemon: scripts/setup-runtime-deps.sh --test)",
            );
        let stdout = daemon
            .stdout
            .take()
            .expect("the test host's D-Bus or process call");
        let mut address = String::new();
        BufReader::new(stdout)
            .read_line(&mut address)
            .expect("the test host's D-Bus or process call");
        let address = address.trim().to_owned();
        assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");
        PrivateBus { daemon, address }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// The tray host's side: `org.kde.StatusNotifierWatcher`, telling the test who registers.
struct Watcher {
    registered: Sender<String>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        // The spec lets an item name its bus name or its object path; ksni names its bus name.
        let name = if service.starts_with('/') {
            header.sender().map(|s| s.to_string()).unwrap_or_default()
        } else {
            service.to_owned()
        };
        let _ = self.registered.send(name);
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        Vec::new()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// The host: the watcher on the bus, and a connection to look at items with.
pub struct TrayHost {
    connection: zbus::blocking::Connection,
    registered: Receiver<String>,
}

impl TrayHost {
    pub fn serve(bus: &PrivateBus) -> Self {
        let (registered_tx, registered) = crossbeam_channel::unbounded();
        let connection = zbus::blocking::connection::Builder::address(bus.address.as_str())
            .expect("the test host's D-Bus or process call")
            .serve_at(
                "/StatusNotifierWatcher",
                Watcher {
                    registered: registered_tx,
                },
            )
            .expect("the test host's D-Bus or process call")
            .name("org.kde.StatusNotifierWatcher")
            .expect("the test host's D-Bus or process call")
            .build()
            .expect("the test host's D-Bus or process call");
        TrayHost {
            connection,
            registered,
        }
    }

    pub fn wait_item(&self) -> Item<'_> {
        let service = self
            .registered
            .recv_timeout(WITHIN)
            .expect("aaa-tray registered no item");
        let proxy = |path: &'static str, interface: &'static str| {
            zbus::blocking::proxy::Builder::<zbus::blocking::Proxy>::new(&self.connection)
                .destination(service.clone())
                .expect("the test host's D-Bus or process call")
                .path(path)
                .expect("the test host's D-Bus or process call")
                .interface(interface)
                .expect("the test host's D-Bus or process call")
                .cache_properties(zbus::proxy::CacheProperties::No)
                .build()
                .expect("the test host's D-Bus or process call")
        };
        Item {
            item: proxy("/StatusNotifierItem", "org.kde.StatusNotifierItem"),
            menu: proxy("/MenuBar", "com.canonical.dbusmenu"),
        }
    }
}

pub type Pixmaps = Vec<(i32, i32, Vec<u8>)>;

/// One registered item, as a host sees it.
pub struct Item<'a> {
    item: zbus::blocking::Proxy<'a>,
    menu: zbus::blocking::Proxy<'a>,
}

/// A menu entry: its id, label and whether it can be clicked.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i32,
    pub label: String,
    pub enabled: bool,
}

impl Item<'_> {
    pub fn title(&self) -> String {
        self.item
            .get_property("Title")
            .expect("the test host's D-Bus or process call")
    }

    pub fn icon_name(&self) -> String {
        self.item
            .get_property("IconName")
            .expect("the test host's D-Bus or process call")
    }

    pub fn pixmaps(&self) -> Pixmaps {
        self.item
            .get_property("IconPixmap")
            .expect("the test host's D-Bus or process call")
    }

    /// (title, description) of the tooltip.
    pub fn tooltip(&self) -> (String, String) {
        let (_icon, _pixmaps, title, description): (String, Pixmaps, String, String) = self
            .item
            .get_property("ToolTip")
            .expect("the test host's D-Bus or process call");
        (title, description)
    }

    pub fn status(&self) -> String {
        self.item
            .get_property("Status")
            .expect("the test host's D-Bus or process call")
    }

    /// The menu's entries (separators left out), from `GetLayout`.
    pub fn entries(&self) -> Vec<Entry> {
        type Node = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);
        let (_revision, (_root, _props, children)): (u32, Node) = self
            .menu
            .call("GetLayout", &(0i32, -1i32, Vec::<String>::new()))
            .expect("the test host's D-Bus or process call");
        children
            .into_iter()
            .filter_map(|child| {
                let structure = Structure::try_from(Value::from(child))
                    .expect("the test host's D-Bus or process call");
                let fields = structure.into_fields();
                let id = i32::try_from(&fields[0]).expect("the test host's D-Bus or process call");
                let Value::Dict(props) = &fields[1] else {
                    panic!("menu properties are not a dict: {:?}", fields[1]);
                };
                let label: Option<String> = props
                    .get(&"label")
                    .expect("the test host's D-Bus or process call");
                let enabled: Option<bool> = props
                    .get(&"enabled")
                    .expect("the test host's D-Bus or process call");
                Some(Entry {
                    id,
                    label: label?,
                    enabled: enabled.unwrap_or(true),
                })
            })
            .collect()
    }

    pub fn entry(&self, label: &str) -> Entry {
        let entries = self.entries();
        entries
            .iter()
            .find(|entry| entry.label == label)
            .cloned()
            .unwrap_or_else(|| panic!("no menu entry {label:?} in {entries:?}"))
    }

    /// Clicks `label` as a host does: `Event(id, "clicked", 0, timestamp)`.
    pub fn click(&self, label: &str) {
        let entry = self.entry(label);
        assert!(entry.enabled, "{label:?} is disabled: {:?}", self.entries());
        let _: () = self
            .menu
            .call("Event", &(entry.id, "clicked", Value::from(0i32), 0u32))
            .expect("the test host's D-Bus or process call");
    }

    /// Waits until the title starts with `prefix`; returns the title.
    pub fn wait_title(&self, prefix: &str) -> String {
        let deadline = Instant::now() + WITHIN;
        loop {
            let title = self.title();
            if title.starts_with(prefix) {
                return title;
            }
            assert!(
                Instant::now() < deadline,
                "title still {title:?}, waiting for {prefix:?}; tooltip {:?}",
                self.tooltip()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `aaa-tray` on the private bus for the fixture's daemon; killed on drop.
pub struct Tray {
    pub child: Child,
}

impl Tray {
    pub fn spawn(bus_address: &str, fixture: &DaemonFixture) -> Self {
        let log = fixture.runtime_dir.path().join("aaa-tray.out");
        let child = Command::new(env!("CARGO_BIN_EXE_aaa-tray"))
            .arg("--namespace")
            .arg(fixture.namespace.as_str())
            .arg("--runtime-dir")
            .arg(fixture.runtime_dir.path())
            .args(["--daemon-source", "synthetic", "--daemon-binary"])
            .arg(fixture.binary())
            .args(["--viewer-binary", "/bin/true"])
            .env("DBUS_SESSION_BUS_ADDRESS", bus_address)
            .env_remove("AAA_NAMESPACE")
            .env_remove("AAA_RUNTIME_DIR")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("the test host's D-Bus or process call"))
            .stderr(Stdio::piped())
            .spawn()
            .expect("the test host's D-Bus or process call");
        Tray { child }
    }

    /// Waits for the tray to exit; its status and stderr.
    pub fn wait_exit(mut self) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + WITHIN;
        let status = loop {
            if let Some(status) = self
                .child
                .try_wait()
                .expect("the test host's D-Bus or process call")
            {
                break status;
            }
            assert!(Instant::now() < deadline, "aaa-tray did not exit");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            use std::io::Read;
            let _ = pipe.read_to_string(&mut stderr);
        }
        (status, stderr)
    }
}

impl Drop for Tray {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pid of the namespace's running daemon, from `status --json`.
pub fn daemon_pid(fixture: &DaemonFixture) -> Option<u32> {
    let output = fixture.output(&["status", "--json"]);
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the test host's D-Bus or process call");
    if report["running"] != serde_json::Value::Bool(true) {
        return None;
    }
    report["pid_file_pid"].as_u64().map(|pid| pid as u32)
}

pub fn enabled_labels(item: &Item<'_>) -> Vec<String> {
    item.entries()
        .into_iter()
        .filter(|entry| entry.enabled)
        .map(|entry| entry.label)
        .collect()
}
