//! What an idle tray costs: `aaa-tray` watching a live daemon (synthetic source, 30 fps) on a
//! private session bus whose tray host (this program) registered it, nobody touching it. Over
//! `AAA_IDLE_SECONDS` (default 60) it reads the tray's CPU time and context switches (all its
//! threads, from /proc) and, as the same-run baseline, the daemon's CPU time in the same
//! window. Prints the tray's share of one core (target: under 0.1 %) and its wakeups a second.
//!
//! `cargo bench -p tray --bench idle_cpu` (Linux).

#[allow(dead_code)]
#[path = "../tests/host/mod.rs"]
mod host;

use std::time::{Duration, Instant};

use host::{PrivateBus, Tray, TrayHost};
use test_support::daemon::{workspace_daemon_binary, DaemonFixture, DaemonGuard};

/// CPU time (user + system, all threads) of `pid`, from /proc/<pid>/stat.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // The command name may hold spaces: the fields start after its closing parenthesis.
    let after_name = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the line (utime, stime), counted from 3 here.
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf has no preconditions.
    let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(ticks * 1_000_000_000 / ticks_per_s)
}

/// Context switches (voluntary and not) of all of `pid`'s threads: how often it woke.
fn context_switches(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc/<pid>/task");
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|line| line.contains("ctxt_switches:"))
                .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

fn main() {
    if !cfg!(target_os = "linux") {
        println!("idle_cpu: Linux only (reads /proc; the tray is StatusNotifierItem)");
        return;
    }
    let window = Duration::from_secs_f64(
        std::env::var("AAA_IDLE_SECONDS")
            .ok()
            .and_then(|text| text.parse::<f64>().ok())
            .filter(|seconds| *seconds > 0.0)
            .unwrap_or(60.0),
    );
    let fixture = DaemonFixture::new("trayidl", workspace_daemon_binary());
    let daemon = DaemonGuard::spawned(fixture.spawn_synthetic(&[]));
    let bus = PrivateBus::start();
    let host = TrayHost::serve(&bus);
    let tray = Tray::spawn(&bus.address, &fixture);
    let item = host.wait_item();
    item.wait_title("Camera daemon: live");
    // Let start-up settle (icon decoding, the first looks).
    std::thread::sleep(Duration::from_secs(2));

    let tray_pid = tray.child.id();
    let started = Instant::now();
    let (tray_cpu_0, daemon_cpu_0) = (cpu_time(tray_pid), cpu_time(daemon.pid()));
    let switches_0 = context_switches(tray_pid);
    std::thread::sleep(window);
    let elapsed = started.elapsed();
    let tray_cpu = cpu_time(tray_pid) - tray_cpu_0;
    let daemon_cpu = cpu_time(daemon.pid()) - daemon_cpu_0;
    let switches = context_switches(tray_pid) - switches_0;
    let title = item.title();

    let percent = |cpu: Duration| 100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64();
    println!(
        "idle_cpu: aaa-tray watching a live daemon for {:.1} s (still \"{title}\")",
        elapsed.as_secs_f64()
    );
    println!(
        "idle_cpu: tray   {:>8.3} % of a core ({} ms CPU, {:.1} wakeups/s; target < 0.1 %)",
        percent(tray_cpu),
        tray_cpu.as_millis(),
        switches as f64 / elapsed.as_secs_f64()
    );
    println!(
        "idle_cpu: daemon {:>8.3} % of a core (baseline, same window); tray / daemon = {:.4}",
        percent(daemon_cpu),
        tray_cpu.as_secs_f64() / daemon_cpu.as_secs_f64().max(1e-9)
    );
}
