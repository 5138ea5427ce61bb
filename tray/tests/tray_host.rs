//! End to end on a private D-Bus session bus: the test plays the desktop's tray host. It owns
//! `org.kde.StatusNotifierWatcher`, sees the real `aaa-tray` register its item, reads the
//! item's properties (title, tooltip, icon name and pixmap) and clicks its menu entries
//! through `com.canonical.dbusmenu` `Event`, as a host does when the user clicks. The clicks
//! start, pause, resume and stop a real daemon (synthetic source, private namespace and
//! runtime directory); killing the daemon changes the icon, and starting it again brings it
//! back.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use test_support::daemon::{workspace_daemon_binary, DaemonFixture, DaemonGuard, WITHIN};
use zbus::zvariant::{OwnedValue, Structure, Value};

/// A session bus of the test's own (`dbus-daemon --session`), killed on drop.
struct PrivateBus {
    daemon: Child,
    address: String,
}

impl PrivateBus {
    fn start() -> Self {
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
struct TrayHost {
    connection: zbus::blocking::Connection,
    registered: Receiver<String>,
}

impl TrayHost {
    fn serve(bus: &PrivateBus) -> Self {
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

    fn wait_item(&self) -> Item<'_> {
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

type Pixmaps = Vec<(i32, i32, Vec<u8>)>;

/// One registered item, as a host sees it.
struct Item<'a> {
    item: zbus::blocking::Proxy<'a>,
    menu: zbus::blocking::Proxy<'a>,
}

/// A menu entry: its id, label and whether it can be clicked.
#[derive(Debug, Clone)]
struct Entry {
    id: i32,
    label: String,
    enabled: bool,
}

impl Item<'_> {
    fn title(&self) -> String {
        self.item
            .get_property("Title")
            .expect("the test host's D-Bus or process call")
    }

    fn icon_name(&self) -> String {
        self.item
            .get_property("IconName")
            .expect("the test host's D-Bus or process call")
    }

    fn pixmaps(&self) -> Pixmaps {
        self.item
            .get_property("IconPixmap")
            .expect("the test host's D-Bus or process call")
    }

    /// (title, description) of the tooltip.
    fn tooltip(&self) -> (String, String) {
        let (_icon, _pixmaps, title, description): (String, Pixmaps, String, String) = self
            .item
            .get_property("ToolTip")
            .expect("the test host's D-Bus or process call");
        (title, description)
    }

    fn status(&self) -> String {
        self.item
            .get_property("Status")
            .expect("the test host's D-Bus or process call")
    }

    /// The menu's entries (separators left out), from `GetLayout`.
    fn entries(&self) -> Vec<Entry> {
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

    fn entry(&self, label: &str) -> Entry {
        let entries = self.entries();
        entries
            .iter()
            .find(|entry| entry.label == label)
            .cloned()
            .unwrap_or_else(|| panic!("no menu entry {label:?} in {entries:?}"))
    }

    /// Clicks `label` as a host does: `Event(id, "clicked", 0, timestamp)`.
    fn click(&self, label: &str) {
        let entry = self.entry(label);
        assert!(entry.enabled, "{label:?} is disabled: {:?}", self.entries());
        let _: () = self
            .menu
            .call("Event", &(entry.id, "clicked", Value::from(0i32), 0u32))
            .expect("the test host's D-Bus or process call");
    }

    /// Waits until the title starts with `prefix`; returns the title.
    fn wait_title(&self, prefix: &str) -> String {
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
struct Tray {
    child: Child,
}

impl Tray {
    fn spawn(bus_address: &str, fixture: &DaemonFixture) -> Self {
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
    fn wait_exit(mut self) -> (std::process::ExitStatus, String) {
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
fn daemon_pid(fixture: &DaemonFixture) -> Option<u32> {
    let output = fixture.output(&["status", "--json"]);
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the test host's D-Bus or process call");
    if report["running"] != serde_json::Value::Bool(true) {
        return None;
    }
    report["pid_file_pid"].as_u64().map(|pid| pid as u32)
}

fn enabled_labels(item: &Item<'_>) -> Vec<String> {
    item.entries()
        .into_iter()
        .filter(|entry| entry.enabled)
        .map(|entry| entry.label)
        .collect()
}

#[test]
fn the_item_registers_and_its_menu_drives_a_real_daemon() {
    let fixture = DaemonFixture::new("tray", workspace_daemon_binary());
    let bus = PrivateBus::start();
    let host = TrayHost::serve(&bus);
    let tray = Tray::spawn(&bus.address, &fixture);
    let item = host.wait_item();

    // Nothing runs yet.
    let ns = fixture.namespace.as_str();
    assert_eq!(
        item.wait_title("Camera daemon: not running"),
        format!("Camera daemon: not running (namespace {ns})")
    );
    assert_eq!(item.icon_name(), "aaa-camera-not-running");
    let not_running_icon = item.pixmaps();
    assert_eq!(not_running_icon.len(), 1);
    assert_eq!((not_running_icon[0].0, not_running_icon[0].1), (64, 64));
    assert_eq!(not_running_icon[0].2.len(), 64 * 64 * 4);
    assert_eq!(
        item.tooltip().1,
        "No daemon runs: Start daemon starts one",
        "{:?}",
        item.tooltip()
    );
    assert_eq!(
        enabled_labels(&item),
        ["Open viewer", "Start daemon", "Quit"],
        "no log yet, nothing to stop"
    );

    // Start: the launcher starts a real daemon, and the icon turns live.
    item.click("Start daemon");
    item.wait_title("Camera daemon: live");
    let Some(pid) = daemon_pid(&fixture) else {
        panic!("the tray says live but status does not");
    };
    let first = DaemonGuard::of_pid(pid);
    assert_eq!(item.icon_name(), "aaa-camera-live");
    let live_icon = item.pixmaps();
    assert_ne!(live_icon, not_running_icon);
    let (tip_title, tip) = item.tooltip();
    assert!(tip_title.starts_with("Camera daemon: live"), "{tip_title}");
    assert!(tip.starts_with("synthetic: "), "{tip}");
    assert!(tip.contains(" fps\nup "), "{tip}");
    assert!(tip.contains(&format!("pid {pid}")), "{tip}");
    assert_eq!(item.status(), "Active");
    assert_eq!(
        enabled_labels(&item),
        [
            "Open viewer",
            "Stop daemon",
            "Restart daemon",
            "Pause",
            "Open log",
            "Quit"
        ]
    );

    // Pause and resume over the command socket.
    item.click("Pause");
    item.wait_title("Camera daemon: paused");
    assert_eq!(item.icon_name(), "aaa-camera-paused");
    assert!(item.entry("Resume").enabled);
    item.click("Resume");
    item.wait_title("Camera daemon: live");

    // Killed: the dead daemon's leftovers show, and the icon changes.
    first.signal(libc::SIGKILL);
    drop(first);
    item.wait_title("Camera daemon: stale leftovers");
    assert_eq!(item.icon_name(), "aaa-camera-stale");
    assert_ne!(item.pixmaps(), live_icon);
    assert_eq!(item.status(), "NeedsAttention");

    // Started again from the menu: the live icon comes back.
    item.click("Start daemon");
    item.wait_title("Camera daemon: live");
    assert_eq!(item.pixmaps(), live_icon);
    let Some(second_pid) = daemon_pid(&fixture) else {
        panic!("no daemon after the second start");
    };
    assert_ne!(second_pid, pid);
    let second = DaemonGuard::of_pid(second_pid);

    // Stop: `aaa-camera-daemon stop` ends it and leaves nothing behind.
    item.click("Stop daemon");
    item.wait_title("Camera daemon: not running");
    assert!(
        !shmproto::process_exists(second_pid),
        "the daemon survived Stop"
    );
    assert_eq!(fixture.segments_in_dev_shm(), Vec::<String>::new());
    assert_eq!(item.pixmaps(), not_running_icon);
    drop(second);

    // Quit: the tray exits cleanly and its item leaves the bus.
    item.click("Quit");
    let (status, stderr) = tray.wait_exit();
    assert!(status.success(), "{status}: {stderr}");
    let log = std::fs::read_to_string(fixture.runtime_dir.path().join("aaa-tray.out")).unwrap();
    assert!(log.contains("quit from the menu"), "{log}");
}

#[test]
fn without_a_tray_host_it_says_so_exits_non_zero_and_starts_nothing() {
    let fixture = DaemonFixture::new("trayno", workspace_daemon_binary());
    let bus = PrivateBus::start();
    let (status, stderr) = Tray::spawn(&bus.address, &fixture).wait_exit();
    assert!(!status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("aaa-tray: no system tray on this desktop session"),
        "{stderr}"
    );
    assert!(stderr.contains("org.kde.StatusNotifierWatcher"), "{stderr}");
    assert_eq!(daemon_pid(&fixture), None, "a daemon was started");
    assert!(!fixture.pid_file().exists());

    // No session bus at all: the same, with its own reason.
    let missing = fixture.runtime_dir.path().join("no-bus");
    let (status, stderr) = Tray::spawn(
        &format!("unix:path={}", Path::new(&missing).display()),
        &fixture,
    )
    .wait_exit();
    assert!(!status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("aaa-tray: cannot reach the D-Bus session bus"),
        "{stderr}"
    );
}
