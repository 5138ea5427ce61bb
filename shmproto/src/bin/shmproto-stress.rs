//! `shmproto-stress`: a writer and a reader of self-verifying frames, for multi-process stress
//! tests and for anyone who wants to check the protocol on their machine.
//!
//! ```text
//! shmproto-stress write --namespace NS [--width 640] [--height 480] [--seconds 3] [--fps 0]
//! shmproto-stress read  --namespace NS [--seconds 3] [--until-gone]
//! shmproto-stress fault-elsewhere --namespace NS
//! shmproto-stress write-detections --namespace NS [--seconds 3] [--fps 0]
//! shmproto-stress read-detections  --namespace NS [--seconds 3]
//! ```
//! `write-detections` publishes the self-verifying detection results of
//! `test_pattern::detection_result` (frame numbers 1, 2, ...) into the detections segment;
//! `read-detections` opens it (without waiting) and checks every result it gets.
//! `fault-elsewhere` creates a writer (so the truncation guard's SIGBUS handler is installed),
//! then touches a truncated mapping of a file of its own: the guard must not swallow that
//! fault, so the process dies of SIGBUS; an exit status means it did not.
//! Each prints one JSON summary line on stdout; `read` prints `ready` on stderr once attached.
//! Exit status: 0 on success, 1 when verification failed, 2 on bad arguments or setup errors.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use shmproto::{
    monotonic_now_ns, test_pattern, DetectionsReader, DetectionsWriter, DetectionsWriterConfig,
    FrameBuf, Geometry, Namespace, ReadError, Reader, Writer, WriterConfig,
};

const USAGE: &str = "usage: shmproto-stress write|read|fault-elsewhere|write-detections|read-detections --namespace NS [--width W] [--height H] [--seconds S] [--fps F] [--until-gone]";

struct Args {
    values: HashMap<String, String>,
    flags: Vec<String>,
}

impl Args {
    fn parse(raw: &[String]) -> Result<Self, String> {
        let mut values = HashMap::new();
        let mut flags = Vec::new();
        let mut iter = raw.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--until-gone" => flags.push(arg.clone()),
                "--namespace" | "--width" | "--height" | "--seconds" | "--fps" => {
                    let value = iter.next().ok_or(format!("{arg} needs a value"))?;
                    values.insert(arg.clone(), value.clone());
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(Args { values, flags })
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.values.get(name) {
            None => Ok(default),
            Some(value) => value
                .parse()
                .map_err(|_| format!("{name} {value:?} is not a valid number")),
        }
    }

    fn namespace(&self) -> Result<Namespace, String> {
        let name = self
            .values
            .get("--namespace")
            .ok_or("--namespace is required")?;
        Namespace::new(name).map_err(|error| error.to_string())
    }
}

fn write(args: &Args) -> Result<ExitCode, String> {
    let geometry = Geometry::rgbd(args.number("--width", 640)?, args.number("--height", 480)?);
    let seconds: f64 = args.number("--seconds", 3.0)?;
    let fps: f64 = args.number("--fps", 0.0)?;
    let mut writer = Writer::create(WriterConfig::new(args.namespace()?, geometry))
        .map_err(|error| error.to_string())?;
    eprintln!("ready pid {}", std::process::id());
    let started = Instant::now();
    let (mut rgb, mut depth) = (Vec::new(), Vec::new());
    let mut frame_number = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        frame_number += 1;
        test_pattern::fill_frame(&geometry, frame_number, &mut rgb, &mut depth);
        writer
            .publish(&rgb, Some(&depth), &test_pattern::metadata(frame_number))
            .map_err(|error| error.to_string())?;
        if fps > 0.0 {
            let due = started + Duration::from_secs_f64(frame_number as f64 / fps);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({ "role": "writer", "frames": frame_number, "seconds": elapsed })
    );
    Ok(ExitCode::SUCCESS)
}

fn read(args: &Args) -> Result<ExitCode, String> {
    let namespace = args.namespace()?;
    let seconds: f64 = args.number("--seconds", 3.0)?;
    let until_gone = args.flags.iter().any(|flag| flag == "--until-gone");
    let mut reader = Reader::open_waiting(&namespace, Duration::from_secs(10))
        .map_err(|error| error.to_string())?;
    eprintln!("ready");
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut frame = FrameBuf::new();
    let (mut frames, mut torn, mut non_increasing) = (0u64, 0u64, 0u64);
    let mut last_frame_number = 0u64;
    let mut first_error = None;
    // Frames received in each quarter second, to show that the reader never starved.
    let mut per_quarter_second = vec![0u64; (seconds * 4.0).ceil() as usize + 1];
    let mut gone = None;
    while Instant::now() < deadline {
        match reader.wait_next(
            &mut frame,
            deadline.saturating_duration_since(Instant::now()),
        ) {
            Ok(true) => {
                frames += 1;
                let quarter = (started.elapsed().as_secs_f64() * 4.0) as usize;
                if let Some(count) = per_quarter_second.get_mut(quarter) {
                    *count += 1;
                }
                if let Err(error) = test_pattern::verify(&frame) {
                    torn += 1;
                    first_error.get_or_insert(error.to_string());
                }
                if frame.frame_number() <= last_frame_number {
                    non_increasing += 1;
                }
                last_frame_number = frame.frame_number();
            }
            Ok(false) => {}
            Err(ReadError::WriterGone(liveness)) => {
                gone = Some((monotonic_now_ns(), liveness.to_string()));
                break;
            }
            Err(error) => return Err(error.to_string()),
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "role": "reader",
            "frames": frames,
            "torn": torn,
            "non_increasing": non_increasing,
            "first_error": first_error,
            "last_frame_number": last_frame_number,
            "per_quarter_second": per_quarter_second,
            "gone_at_mono_ns": gone.as_ref().map(|(at, _)| at),
            "gone": gone.as_ref().map(|(_, why)| why),
        })
    );
    let failed = torn > 0 || non_increasing > 0 || (until_gone && gone.is_none());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_detections(args: &Args) -> Result<ExitCode, String> {
    let seconds: f64 = args.number("--seconds", 3.0)?;
    let fps: f64 = args.number("--fps", 0.0)?;
    let mut writer = DetectionsWriter::create(DetectionsWriterConfig::new(args.namespace()?))
        .map_err(|error| error.to_string())?;
    eprintln!("ready pid {}", std::process::id());
    let started = Instant::now();
    let mut frame_number = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        frame_number += 1;
        writer
            .publish(&test_pattern::detection_result(frame_number))
            .map_err(|error| error.to_string())?;
        if fps > 0.0 {
            let due = started + Duration::from_secs_f64(frame_number as f64 / fps);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    }
    println!(
        "{}",
        serde_json::json!({ "role": "detections-writer", "results": frame_number })
    );
    Ok(ExitCode::SUCCESS)
}

fn read_detections(args: &Args) -> Result<ExitCode, String> {
    let seconds: f64 = args.number("--seconds", 3.0)?;
    let mut reader =
        DetectionsReader::open(&args.namespace()?).map_err(|error| error.to_string())?;
    eprintln!("ready");
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let (mut results, mut torn, mut non_increasing, mut last) = (0u64, 0u64, 0u64, 0u64);
    let mut gone = None;
    while Instant::now() < deadline {
        match reader.wait_next(deadline.saturating_duration_since(Instant::now())) {
            Ok(Some(published)) => {
                results += 1;
                torn += u64::from(test_pattern::verify_detections(&published.result).is_err());
                non_increasing += u64::from(published.publish_seq <= last);
                last = published.publish_seq;
            }
            Ok(None) => {}
            Err(ReadError::WriterGone(liveness)) => {
                gone = Some(liveness.to_string());
                break;
            }
            Err(error) => return Err(error.to_string()),
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "role": "detections-reader",
            "results": results,
            "torn": torn,
            "non_increasing": non_increasing,
            "last_publish_seq": last,
            "gone": gone,
        })
    );
    Ok(if torn > 0 || non_increasing > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Faults on a mapping the guard does not know (see the module doc); returns only if the
/// fault was swallowed.
fn fault_elsewhere(args: &Args) -> Result<ExitCode, String> {
    let writer = Writer::create(WriterConfig::new(args.namespace()?, Geometry::rgbd(64, 48)))
        .map_err(|error| error.to_string())?;
    let file = tempfile_in_tmp().map_err(|error| error.to_string())?;
    file.set_len(4096).map_err(|error| error.to_string())?;
    use std::os::fd::AsRawFd;
    // SAFETY: a fresh shared mapping of 4096 bytes of a file we own, checked below.
    let address = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if address == libc::MAP_FAILED {
        return Err("mmap failed".into());
    }
    file.set_len(0).map_err(|error| error.to_string())?;
    eprintln!("ready");
    // SAFETY: the page is mapped (for 4096 bytes); reading it past the file's end raises
    // SIGBUS, which is the point: the process must die here.
    let byte = unsafe { std::ptr::read_volatile(address.cast::<u8>()) };
    drop(writer);
    println!("{}", serde_json::json!({ "survived": true, "byte": byte }));
    Ok(ExitCode::from(1))
}

fn tempfile_in_tmp() -> std::io::Result<std::fs::File> {
    let path = std::env::temp_dir().join(format!("shmproto-fault-{}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some((role, rest)) = raw.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = Args::parse(rest).and_then(|args| match role.as_str() {
        "write" => write(&args),
        "read" => read(&args),
        "fault-elsewhere" => fault_elsewhere(&args),
        "write-detections" => write_detections(&args),
        "read-detections" => read_detections(&args),
        other => Err(format!("unknown role {other:?}")),
    });
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("shmproto-stress: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
