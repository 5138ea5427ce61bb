//! The command line that starts the daemon: directly, or through the platform's way of asking
//! for root (`pkexec` on Linux, an administrator prompt on macOS), with the quoting the
//! administrator prompt's shell and AppleScript need.

use std::ffi::OsString;
use std::path::Path;

use camera_sources::access::{root_reason, Os, Platform};
use shmproto::SegmentOwner;

use super::DaemonSettings;

/// How the daemon is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elevation {
    /// As the app's user.
    Direct,
    /// `pkexec <daemon> ...` (Linux; polkit asks for the password).
    Pkexec,
    /// `osascript -e 'do shell script "..." with administrator privileges'` (macOS).
    AdministratorPrompt,
}

/// The command line that starts the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchPlan {
    pub elevation: Elevation,
    /// Why root is needed, when it is.
    pub root_reason: Option<String>,
    pub program: OsString,
    pub args: Vec<OsString>,
}

/// How to start the daemon at `binary` for `settings` on `platform`.
pub fn plan_launch(
    binary: &Path,
    settings: &DaemonSettings,
    platform: &Platform,
    desktop_user: SegmentOwner,
) -> LaunchPlan {
    let root_reason = root_reason(settings.source, platform);
    let elevation = match (&root_reason, platform.os) {
        (None, _) => Elevation::Direct,
        (Some(_), Os::MacOs) => Elevation::AdministratorPrompt,
        (Some(_), _) => Elevation::Pkexec,
    };
    // Flags rather than environment: pkexec and the administrator prompt clear the environment.
    // Without a chosen directory the daemon picks its own: the system directory as root, the
    // user's otherwise; the app finds it in either.
    let mut daemon_args = global_args(settings, settings.runtime_dir.as_deref());
    if elevation == Elevation::AdministratorPrompt {
        // Root's shell must not open a log in the user's directories: the daemon writes its
        // own, in root's /var/log, and hands it to the user.
        let log = shmproto::runtime_dir::system_log_file(&settings.namespace);
        daemon_args.extend(["--log-file".into(), log.into_os_string()]);
    }
    daemon_args.extend([
        "run".into(),
        "--source".into(),
        settings.source.as_str().into(),
    ]);
    if elevation != Elevation::Direct {
        // Root's segments would be unreadable to the app: hand them to the desktop user.
        daemon_args.extend([
            "--owner".into(),
            format!("{}:{}", desktop_user.uid, desktop_user.gid).into(),
        ]);
    }
    // Backgrounded, writing its log itself (--log-file above): `do shell script` returns once
    // the shell does, and the daemon lives on.
    let (program, args) = elevate(binary, daemon_args, elevation, |command| {
        format!("NO_COLOR=1 nohup {command} </dev/null >/dev/null 2>&1 &")
    });
    LaunchPlan {
        elevation,
        root_reason,
        program,
        args,
    }
}

/// How to stop the daemon of `settings` whose files are in `runtime_dir` (`aaa-camera-daemon
/// stop`, the one stop rule): as this user, or through the platform's prompt when the daemon
/// runs as another user (root), whom only root may signal.
pub fn plan_stop(
    binary: &Path,
    settings: &DaemonSettings,
    runtime_dir: &Path,
    daemon_is_another_users: bool,
    os: Os,
) -> LaunchPlan {
    let elevation = match (daemon_is_another_users, os) {
        (false, _) => Elevation::Direct,
        (true, Os::MacOs) => Elevation::AdministratorPrompt,
        (true, _) => Elevation::Pkexec,
    };
    let mut daemon_args = global_args(settings, Some(runtime_dir));
    daemon_args.push("stop".into());
    let (program, args) = elevate(binary, daemon_args, elevation, |command| command);
    LaunchPlan {
        elevation,
        root_reason: daemon_is_another_users
            .then(|| "the daemon runs as another user (root)".to_owned()),
        program,
        args,
    }
}

/// The daemon's options before its command: namespace and runtime directory.
fn global_args(settings: &DaemonSettings, runtime_dir: Option<&Path>) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if !settings.namespace.is_default() {
        args.extend(["--namespace".into(), settings.namespace.as_str().into()]);
    }
    if let Some(dir) = runtime_dir {
        args.extend(["--runtime-dir".into(), dir.as_os_str().to_owned()]);
    }
    args
}

/// The program and arguments that run `binary daemon_args` with `elevation`; `shell_command`
/// wraps the quoted command line for the administrator prompt's shell.
fn elevate(
    binary: &Path,
    daemon_args: Vec<OsString>,
    elevation: Elevation,
    shell_command: impl FnOnce(String) -> String,
) -> (OsString, Vec<OsString>) {
    match elevation {
        Elevation::Direct => (binary.as_os_str().to_owned(), daemon_args),
        Elevation::Pkexec => {
            let mut args = vec![binary.as_os_str().to_owned()];
            args.extend(daemon_args);
            ("pkexec".into(), args)
        }
        Elevation::AdministratorPrompt => {
            let mut words = vec![shell_quote(&binary.to_string_lossy())];
            words.extend(
                daemon_args
                    .iter()
                    .map(|arg| shell_quote(&arg.to_string_lossy())),
            );
            let script = format!(
                "do shell script {} with administrator privileges",
                applescript_string(&shell_command(words.join(" ")))
            );
            ("osascript".into(), vec!["-e".into(), script.into()])
        }
    }
}

/// `text` as one POSIX shell word.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` as an AppleScript string literal.
pub fn applescript_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', r"\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use shmproto::{Namespace, SourceKind};

    use super::*;

    fn platform(os: Os) -> Platform {
        Platform::bare(os)
    }

    const DESKTOP_USER: SegmentOwner = SegmentOwner {
        uid: 1000,
        gid: 1000,
    };

    fn settings(source: SourceKind) -> DaemonSettings {
        DaemonSettings {
            namespace: Namespace::new("cam2").unwrap(),
            runtime_dir: Some(PathBuf::from("/run/aaa")),
            source,
            binary: None,
        }
    }

    #[test]
    fn the_plan_runs_the_daemon_directly_or_through_the_platforms_prompt() {
        let binary = Path::new("/opt/aaa/aaa-camera-daemon");
        let direct = plan_launch(
            binary,
            &settings(SourceKind::Synthetic),
            &platform(Os::Linux),
            DESKTOP_USER,
        );
        assert_eq!(direct.elevation, Elevation::Direct);
        assert_eq!(direct.program, binary.as_os_str());
        let args: Vec<_> = direct
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--namespace",
                "cam2",
                "--runtime-dir",
                "/run/aaa",
                "run",
                "--source",
                "synthetic"
            ]
        );

        let mut linux = platform(Os::Linux);
        linux.realsense_nodes = vec![(PathBuf::from("/dev/bus/usb/001/002"), false)];
        let pkexec = plan_launch(
            binary,
            &settings(SourceKind::Realsense),
            &linux,
            DESKTOP_USER,
        );
        assert_eq!(pkexec.elevation, Elevation::Pkexec);
        assert_eq!(pkexec.program, "pkexec");
        let args: Vec<_> = pkexec
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args[0], "/opt/aaa/aaa-camera-daemon");
        assert_eq!(&args[args.len() - 2..], ["--owner", "1000:1000"]);

        let mac = plan_launch(
            binary,
            &settings(SourceKind::Realsense),
            &platform(Os::MacOs),
            DESKTOP_USER,
        );
        assert_eq!(mac.elevation, Elevation::AdministratorPrompt);
        assert_eq!(mac.program, "osascript");
        let script = mac.args[1].to_string_lossy().into_owned();
        assert!(
            script.starts_with("do shell script \"NO_COLOR=1 nohup '/opt/aaa/aaa-camera-daemon' '--namespace' 'cam2'"),
            "{script}"
        );
        assert!(
            script.ends_with("2>&1 &\" with administrator privileges"),
            "{script}"
        );
        assert!(script.contains("'--owner' '1000:1000'"), "{script}");
    }

    #[test]
    fn stopping_goes_through_the_prompt_only_for_another_users_daemon() {
        let binary = Path::new("/opt/aaa/aaa-camera-daemon");
        let settings = settings(SourceKind::Realsense);
        let runtime_dir = Path::new("/run/aaa-camera-daemon");
        let words = |plan: &LaunchPlan| -> Vec<String> {
            plan.args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let own = plan_stop(binary, &settings, runtime_dir, false, Os::Linux);
        assert_eq!(own.elevation, Elevation::Direct);
        assert_eq!(own.program, binary.as_os_str());
        assert_eq!(
            words(&own),
            [
                "--namespace",
                "cam2",
                "--runtime-dir",
                "/run/aaa-camera-daemon",
                "stop"
            ]
        );
        let root = plan_stop(binary, &settings, runtime_dir, true, Os::Linux);
        assert_eq!(root.elevation, Elevation::Pkexec);
        assert_eq!(root.program, "pkexec");
        assert_eq!(words(&root)[0], "/opt/aaa/aaa-camera-daemon");
        assert_eq!(words(&root).last().map(String::as_str), Some("stop"));
        let mac = plan_stop(binary, &settings, runtime_dir, true, Os::MacOs);
        assert_eq!(mac.elevation, Elevation::AdministratorPrompt);
        assert_eq!(
            words(&mac)[1],
            "do shell script \"'/opt/aaa/aaa-camera-daemon' '--namespace' 'cam2' '--runtime-dir' '/run/aaa-camera-daemon' 'stop'\" with administrator privileges",
            "it waits for the stop: not backgrounded"
        );
    }

    #[test]
    fn quoting_survives_awkward_paths() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(applescript_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }
}
