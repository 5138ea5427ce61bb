//! End to end on a private D-Bus session bus: the test plays the desktop's tray host. It owns
//! `org.kde.StatusNotifierWatcher`, sees the real `aaa-tray` register its item, reads the
//! item's properties (title, tooltip, icon name and pixmap) and clicks its menu entries
//! through `com.canonical.dbusmenu` `Event`, as a host does when the user clicks. The clicks
//! start, pause, resume and stop a real daemon (synthetic source, private namespace and
//! runtime directory); killing the daemon changes the icon, and starting it again brings it
//! back.

mod host;

use std::path::Path;

use host::{daemon_pid, enabled_labels, PrivateBus, Tray, TrayHost};
use test_support::daemon::{workspace_daemon_binary, DaemonFixture, DaemonGuard};

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
