//! The local attacks of the hardening review, replayed against the real daemon binary: another
//! user (uid 65534 or 12345 here) against a root daemon that hands its files to a desktop
//! user, FIFOs under segment names, a full /dev/shm, truncated segments, links at the log path.
//!
//! Most need root (to be root daemon and attacker at once) and skip with a message otherwise;
//! CI runs as root. Every step that could hang on today's bugs runs under a watchdog, so a
//! regression fails the test instead of blocking the suite.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, json, sigterm, stderr, stdout, Fixture, DAEMON};

/// The attacking user.
const ATTACKER: u32 = 65534;
/// A user who owns nothing here, for `status` run by someone else.
const BYSTANDER: u32 = 12345;
/// Longer than any step needs, even on a loaded machine; a hang is a failure, not a wait.
const WATCHDOG: Duration = Duration::from_secs(30);

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Set (CI does) to make a missing privilege or tool a failure instead of a skip.
const REQUIRE_ENV: &str = "AAA_REQUIRE_PRIVILEGED_TESTS";

/// Skips (returns true) with a message, or fails where skipping is not allowed.
fn skip(test: &str, why: &str) -> bool {
    assert!(
        std::env::var_os(REQUIRE_ENV).is_none(),
        "{test} cannot run: {why} (and {REQUIRE_ENV} is set)"
    );
    eprintln!("skipping {test}: {why}");
    true
}

fn skip_unless_root(test: &str) -> bool {
    !is_root()
        && skip(
            test,
            "playing both a root daemon and another user needs root",
        )
}

/// Runs `command` to its end, killing it after [`WATCHDOG`]; `None` if it had to be killed.
fn run_bounded(mut command: Command) -> Option<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + WATCHDOG;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(child.wait_with_output().expect("output"))
}

fn mkfifo(path: &Path, owner: u32) {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o666) }, 0, "mkfifo");
    std::os::unix::fs::lchown(path, Some(owner), Some(owner)).expect("chown fifo");
}

/// Starts `run --source synthetic` (as root; with `hand_over`, handing its files to the
/// desktop user, uid 1000, through `SUDO_UID`) and waits for `ready`. `Err` with the daemon's
/// output when it exited first or [`WATCHDOG`] passed (then it is killed).
fn start_daemon_until(
    fixture: &Fixture,
    hand_over: bool,
    ready: impl Fn() -> bool,
) -> Result<std::process::Child, Output> {
    let mut command = fixture.command(&["run", "--source", "synthetic"]);
    if hand_over {
        command.env("SUDO_UID", "1000").env("SUDO_GID", "1000");
    }
    let mut daemon = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn daemon");
    let deadline = Instant::now() + WATCHDOG;
    while !ready() {
        if Instant::now() >= deadline || daemon.try_wait().ok().flatten().is_some() {
            let _ = daemon.kill();
            return Err(daemon.wait_with_output().expect("daemon output"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(daemon)
}

/// Whether a reader can attach to the fixture's namespace (a daemon publishes there).
fn publishing(fixture: &Fixture) -> bool {
    shmproto::Reader::open(&fixture.namespace).is_ok()
}

/// 1. The pid file, segments and log change owner and mode only through descriptors: no
///    `chown`/`chmod` by path (which a renamed symlink could redirect), except on the socket,
///    which has no descriptor for its file and lives in the daemon's private directory.
#[test]
fn ownership_changes_go_through_descriptors_only() {
    if skip_unless_root("ownership_changes_go_through_descriptors_only") {
        return;
    }
    if Command::new("strace").arg("-V").output().is_err()
        && skip(
            "ownership_changes_go_through_descriptors_only",
            "strace is not installed (scripts/setup-runtime-deps.sh --test)",
        )
    {
        return;
    }
    let fixture = fixture("hown");
    let trace = fixture.runtime_dir.path().join("trace.txt");
    let log = fixture.runtime_dir.path().join("daemon.log");
    let mut command = Command::new("strace");
    command
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=chown,lchown,fchown,fchownat,chmod,fchmod,fchmodat",
        ])
        .arg(DAEMON)
        .args(["--namespace", fixture.namespace.as_str()])
        .arg("--runtime-dir")
        .arg(fixture.runtime_dir.path())
        .arg("--log-file")
        .arg(&log)
        .args(["run", "--source", "synthetic"])
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut strace = command.spawn().expect("spawn strace");
    fixture.wait_live();
    let pid: i32 = std::fs::read_to_string(fixture.pid_file())
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    // SAFETY: signalling the daemon this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let _ = strace.wait();
    let calls = std::fs::read_to_string(&trace).expect("trace");
    let socket = fixture.socket().display().to_string();
    let by_path: Vec<&str> = calls
        .lines()
        .filter(|line| {
            line.contains("chown(\"") || line.contains("chmod(\"") || line.contains("at(AT_FDCWD")
        })
        .filter(|line| !line.contains(&socket))
        .collect();
    assert!(
        by_path.is_empty(),
        "ownership or mode changed by path:\n{}",
        by_path.join("\n")
    );
    assert!(
        calls.contains("fchown("),
        "the hand-over did not happen at all:\n{calls}"
    );
}

/// 1 and 4. A runtime directory other users can write (such as /tmp) is refused: there an
///    attacker can plant the pid file, hold its lock, or swap a symlink in for it. Today's
///    daemon said "already running (pid 1)" and `status` said RUNNING (pid 1).
#[test]
fn a_runtime_directory_others_can_write_is_refused() {
    if skip_unless_root("a_runtime_directory_others_can_write_is_refused") {
        return;
    }
    let fixture = fixture("hsqt");
    let shared = fixture.runtime_dir.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    std::fs::set_permissions(
        fixture.runtime_dir.path(),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let pid_file = shared.join(format!("{}.pid", fixture.namespace.file_stem()));
    // The attacker writes "1" into the pid file and holds its lock.
    let mut squatter = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo 1 > '{0}' && exec flock '{0}' sleep 60",
            pid_file.display()
        ))
        .uid(ATTACKER)
        .gid(ATTACKER)
        .process_group(0)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the squatter");
    let deadline = Instant::now() + WATCHDOG;
    while std::fs::read_to_string(&pid_file).map_or(true, |text| text.trim() != "1") {
        assert!(Instant::now() < deadline, "the squatter did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let with_shared = |args: &[&str]| {
        let mut command = Command::new(DAEMON);
        command
            .args(["--namespace", fixture.namespace.as_str()])
            .arg("--runtime-dir")
            .arg(&shared)
            .args(args);
        run_bounded(command).expect("the daemon hung")
    };
    let started = with_shared(&["run", "--source", "synthetic"]);
    let status = with_shared(&["status", "--json"]);
    // SAFETY: signalling the process group this test started (flock and its sleep).
    unsafe { libc::kill(-(squatter.id() as libc::pid_t), libc::SIGKILL) };
    let _ = squatter.wait();
    assert_eq!(started.status.code(), Some(1), "{}", stderr(&started));
    assert!(
        stderr(&started).contains("writable by other users"),
        "{}",
        stderr(&started)
    );
    assert!(fixture.segments_in_dev_shm().is_empty());
    let metadata = std::fs::metadata(&pid_file).expect("the attacker's file stays");
    assert_eq!(
        metadata.uid(),
        ATTACKER,
        "the attacker's file changed owner"
    );

    let report = json(&status);
    assert_eq!(report["running"], false, "{report}");
    assert_ne!(status.status.code(), Some(0));
    let state = report["pid_file_state"].as_str().unwrap_or_default();
    assert!(state.contains("writable by other users"), "{state}");
}

/// 2. A FIFO under a segment's name (anyone can make one in /dev/shm) hung the root daemon in
///    `open` for good, and `status`, `watch` and `cleanup` with it.
#[test]
fn fifos_under_segment_names_hang_nothing() {
    if skip_unless_root("fifos_under_segment_names_hang_nothing") {
        return;
    }
    let fixture = fixture("hfifo");
    let fifos: Vec<PathBuf> = [
        fixture.namespace.rgb_segment(),
        fixture.namespace.metadata_segment(),
    ]
    .iter()
    .map(|name| Path::new("/dev/shm").join(name))
    .collect();
    for fifo in &fifos {
        mkfifo(fifo, ATTACKER);
    }
    let bounded = |args: &[&str]| run_bounded(fixture.command(args));

    let status = bounded(&["status"]).expect("status hung on a FIFO");
    let text = stdout(&status);
    assert!(
        text.contains("FIFO") && text.contains(&format!("uid {ATTACKER}")),
        "{text}"
    );
    let watch = bounded(&["watch", "--seconds", "1"]).expect("watch hung on a FIFO");
    assert!(!watch.status.success());
    assert!(
        stderr(&watch).contains("FIFO") || stdout(&watch).contains("FIFO"),
        "{} {}",
        stdout(&watch),
        stderr(&watch)
    );

    // The root daemon removes what squats its names (saying what and whose) and starts.
    let daemon = match start_daemon_until(&fixture, false, || publishing(&fixture)) {
        Ok(daemon) => daemon,
        Err(output) => {
            for fifo in &fifos {
                let _ = std::fs::remove_file(fifo);
            }
            panic!(
                "the daemon did not start past the FIFOs: {}",
                stderr(&output)
            );
        }
    };
    sigterm(&daemon);
    let output = daemon.wait_with_output().expect("daemon output");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("FIFO"), "{}", stderr(&output));

    // `cleanup` removes FIFOs left without a daemon.
    for fifo in &fifos {
        mkfifo(fifo, ATTACKER);
    }
    let cleanup = bounded(&["cleanup"]).expect("cleanup hung on a FIFO");
    assert!(cleanup.status.success(), "{}", stderr(&cleanup));
    for fifo in &fifos {
        assert!(!fifo.exists(), "{} left", fifo.display());
    }
}

/// Runs `script` (bash) in a mount namespace of its own with a `size` tmpfs on /dev/shm;
/// `None` when this machine cannot make one.
fn in_small_dev_shm(size: &str, script: &str) -> Option<Output> {
    let probe = Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /dev/shm"])
        .output();
    if !probe.is_ok_and(|output| output.status.success())
        && skip(
            "a small /dev/shm",
            "cannot mount a private /dev/shm (unshare -m) here",
        )
    {
        return None;
    }
    let mut command = Command::new("unshare");
    command.args([
        "-m",
        "bash",
        "-c",
        &format!("set -u; mount -t tmpfs -o size={size} tmpfs /dev/shm || exit 99\n{script}"),
    ]);
    Some(run_bounded(command).expect("the test script hung"))
}

/// 3. With a small /dev/shm a large mode killed the daemon with SIGBUS at its first frame
///    (exit 135), leaving segments, pid file and socket behind.
#[test]
fn a_full_dev_shm_is_a_clear_error_and_leaves_nothing() {
    if skip_unless_root("a_full_dev_shm_is_a_clear_error_and_leaves_nothing") {
        return;
    }
    let fixture = fixture("hfull");
    let dir = fixture.runtime_dir.path().display().to_string();
    let ns = fixture.namespace.as_str();
    // 1280x720 colour + depth needs 4 x 4.6 MB; 3 MiB hold not even one slot.
    let script = format!(
        "'{DAEMON}' --namespace {ns} --runtime-dir '{dir}' run --source synthetic \
         --width 1280 --height 720\n\
         echo \"exit=$?\"\n\
         echo \"left=$(ls /dev/shm | wc -l)\"\n\
         ls '{dir}'"
    );
    let Some(output) = in_small_dev_shm("3m", &script) else {
        return;
    };
    let out = stdout(&output);
    assert!(out.contains("exit=1\n"), "{out}\n{}", stderr(&output));
    assert!(out.contains("left=0\n"), "{out}");
    assert!(!out.contains(".pid") && !out.contains(".sock"), "{out}");
    assert!(
        stderr(&output).contains("no room in shared memory"),
        "{}",
        stderr(&output)
    );
}

/// 3. `ctl mode` to a size shared memory cannot hold is refused and the old mode kept (it used
///    to answer ok and then die), and no mode may need more memory than the protocol's bound.
#[test]
fn a_mode_that_does_not_fit_is_refused_and_the_old_one_kept() {
    if skip_unless_root("a_mode_that_does_not_fit_is_refused_and_the_old_one_kept") {
        return;
    }
    let fixture = fixture("hmode");
    let dir = fixture.runtime_dir.path().display().to_string();
    let ns = fixture.namespace.as_str();
    let daemon = format!("'{DAEMON}' --namespace {ns} --runtime-dir '{dir}'");
    // 640x480 takes 4 x 1.5 MB; 1280x720 beside it would need 18 MB more.
    let script = format!(
        "{daemon} run --source synthetic >/dev/null 2>&1 &\n\
         pid=$!\n\
         for _ in $(seq 300); do {daemon} ctl ping >/dev/null 2>&1 && break; sleep 0.1; done\n\
         {daemon} ctl mode 1280 720 30; echo \"mode=$?\"\n\
         {daemon} ctl mode 16384 16384 30; echo \"huge=$?\"\n\
         {daemon} watch --frames 5 >/dev/null; echo \"watch=$?\"\n\
         {daemon} status --json | grep -q '\"width\": 640' && echo width640=yes\n\
         kill -TERM $pid; wait $pid; echo \"daemon=$?\""
    );
    let Some(output) = in_small_dev_shm("12m", &script) else {
        return;
    };
    let out = stdout(&output);
    let err = stderr(&output);
    assert!(out.contains("mode=1\n"), "{out}\n{err}");
    assert!(err.contains("no room in shared memory"), "{err}");
    assert!(out.contains("huge=1\n"), "{out}\n{err}");
    assert!(err.contains("allowed"), "{err}");
    assert!(out.contains("watch=0\n"), "{out}\n{err}");
    assert!(out.contains("width640=yes\n"), "{out}\n{err}");
    assert!(out.contains("daemon=0\n"), "{out}\n{err}");
}

/// 7. Truncating a segment (its owner, the desktop user, can) killed the root daemon with
///    SIGBUS; now it moves to new segments and readers carry on.
#[test]
fn a_truncated_segment_does_not_kill_the_daemon() {
    let fixture = fixture("htrunc");
    let mut daemon = fixture.spawn_synthetic(&[]);
    for name in [
        fixture.namespace.rgb_segment(),
        fixture.namespace.metadata_segment(),
    ] {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(Path::new("/dev/shm").join(&name))
            .expect("open segment");
        file.set_len(0).expect("truncate");
        // Let the daemon write into it (and recover) before the next one.
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            daemon.try_wait().expect("wait").is_none(),
            "the daemon died after {name} was truncated"
        );
    }
    let watch = run_bounded(fixture.command(&["watch", "--frames", "10"])).expect("watch hung");
    assert!(watch.status.success(), "{}", stderr(&watch));
    sigterm(&daemon);
    let output = daemon.wait_with_output().expect("daemon output");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("truncated"), "{}", stderr(&output));
}

/// 5. A symlink at `--log-file` made the root daemon append to a root-only file.
#[test]
fn the_log_never_follows_a_link() {
    let fixture = fixture("hlog");
    let precious = fixture.runtime_dir.path().join("precious");
    std::fs::write(&precious, "keep\n").expect("write");
    let link = fixture.runtime_dir.path().join("daemon.log");
    std::os::unix::fs::symlink(&precious, &link).expect("symlink");
    let output = run_bounded(fixture.command(&[
        "--log-file",
        link.to_str().unwrap_or_default(),
        "run",
        "--source",
        "synthetic",
    ]))
    .expect("the daemon hung");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("symbolic link"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read_to_string(&precious).expect("read"), "keep\n");
    assert!(fixture.segments_in_dev_shm().is_empty());
}

/// 7. `status` by a user who cannot open the segments said NOT RUNNING while a daemon ran.
#[test]
fn status_names_segments_of_another_user() {
    if skip_unless_root("status_names_segments_of_another_user") {
        return;
    }
    let fixture = fixture("hfor");
    let mut daemon = start_daemon_until(&fixture, true, || publishing(&fixture))
        .unwrap_or_else(|output| panic!("the daemon did not start: {}", stderr(&output)));
    // The binary where the bystander can run it.
    let bin_dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let binary = bin_dir.path().join("aaa-camera-daemon");
    std::fs::copy(DAEMON, &binary).expect("copy binary");
    let other_dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::chown(other_dir.path(), Some(BYSTANDER), Some(BYSTANDER)).expect("chown");
    let mut command = Command::new(&binary);
    command
        .args(["--namespace", fixture.namespace.as_str()])
        .arg("--runtime-dir")
        .arg(other_dir.path())
        .arg("status")
        .uid(BYSTANDER)
        .gid(BYSTANDER);
    let output = run_bounded(command).expect("status hung");
    sigterm(&daemon);
    let _ = daemon.wait();
    assert_eq!(output.status.code(), Some(4), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("belong to uid 1000"),
        "{}",
        stdout(&output)
    );
}

/// Another user's segments that claim a live writer (here: this very process, whose
/// heartbeat is fresh) used to stop a root daemon from ever starting ("writer alive"): segments
/// no writer of ours can have made are removed, whatever they claim.
#[test]
fn another_users_segments_claiming_a_live_writer_do_not_block_the_daemon() {
    if skip_unless_root("another_users_segments_claiming_a_live_writer_do_not_block_the_daemon") {
        return;
    }
    let fixture = fixture("hfake");
    let squatter = shmproto::Writer::create(shmproto::WriterConfig::new(
        fixture.namespace.clone(),
        shmproto::Geometry::rgbd(64, 48),
    ))
    .expect("the squatter's segments");
    for name in fixture.namespace.segment_names() {
        std::os::unix::fs::chown(
            Path::new("/dev/shm").join(name),
            Some(ATTACKER),
            Some(ATTACKER),
        )
        .expect("give the segments to the attacker");
    }
    // Not `publishing`: a reader would attach to the squatter's live segments at once.
    let rgb = Path::new("/dev/shm").join(fixture.namespace.rgb_segment());
    let daemon = start_daemon_until(&fixture, true, || {
        std::fs::metadata(&rgb).is_ok_and(|metadata| metadata.uid() == 1000)
    })
    .unwrap_or_else(|output| panic!("the daemon did not take its names: {}", stderr(&output)));
    fixture.wait_live();
    sigterm(&daemon);
    let output = daemon.wait_with_output().expect("daemon output");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("belongs to uid {ATTACKER}")),
        "{}",
        stderr(&output)
    );
    drop(squatter);
}

/// A FIFO re-made under a segment name in a tight loop (between the daemon's check and its
/// creation) used to make creation fail ("already exists") after three attempts.
#[test]
fn a_fifo_loop_under_segment_names_does_not_stop_the_daemon() {
    if skip_unless_root("a_fifo_loop_under_segment_names_does_not_stop_the_daemon") {
        return;
    }
    let fixture = fixture("hloop");
    let paths: Vec<String> = [
        fixture.namespace.rgb_segment(),
        fixture.namespace.depth_segment(),
    ]
    .iter()
    .map(|name| format!("/dev/shm/{name}"))
    .collect();
    // The attacker: a child of this test, as another user, making the FIFOs again as fast as
    // it can (a shell loop forks per mkfifo and is too slow to win the race reliably).
    let c_paths: Vec<std::ffi::CString> = paths
        .iter()
        .map(|path| std::ffi::CString::new(path.as_str()).expect("path"))
        .collect();
    // SAFETY: the child runs only async-signal-safe calls (setgid, setuid, mkfifo, _exit) on
    // memory prepared before the fork, so forking a multi-threaded test process is sound.
    let attacker = unsafe { libc::fork() };
    if attacker == 0 {
        // SAFETY: as above; the child never returns into the test.
        unsafe {
            if libc::setgid(ATTACKER) != 0 || libc::setuid(ATTACKER) != 0 {
                libc::_exit(1);
            }
            loop {
                for path in &c_paths {
                    libc::mkfifo(path.as_ptr(), 0o666);
                }
            }
        }
    }
    assert!(attacker > 0, "fork failed");
    std::thread::sleep(Duration::from_millis(200));
    let started = start_daemon_until(&fixture, false, || publishing(&fixture));
    // SAFETY: killing and reaping the child forked above.
    unsafe {
        libc::kill(attacker, libc::SIGKILL);
        libc::waitpid(attacker, std::ptr::null_mut(), 0);
    }
    let outcome = started.map(|daemon| {
        sigterm(&daemon);
        daemon.wait_with_output().expect("daemon output")
    });
    for path in &paths {
        if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_file()) {
            let _ = std::fs::remove_file(path);
        }
    }
    if let Err(output) = outcome {
        panic!("the daemon did not start: {}", stderr(&output));
    }
}

/// As root, a log only in a directory no one else controls: elsewhere a user could swap a
/// directory on the way and have root create or append to a file of their choice.
#[test]
fn a_root_daemon_refuses_a_log_in_a_directory_others_control() {
    if skip_unless_root("a_root_daemon_refuses_a_log_in_a_directory_others_control") {
        return;
    }
    let fixture = fixture("hlogd");
    let shared = fixture.runtime_dir.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::os::unix::fs::chown(&shared, Some(ATTACKER), Some(ATTACKER)).expect("chown");
    let log = shared.join("daemon.log");
    let output = run_bounded(fixture.command(&[
        "--log-file",
        log.to_str().unwrap_or_default(),
        "run",
        "--source",
        "synthetic",
    ]))
    .expect("the daemon hung");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("directory of root's"),
        "{}",
        stderr(&output)
    );
    assert!(!log.exists());
}
