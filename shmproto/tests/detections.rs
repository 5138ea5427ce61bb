//! The detections segment end to end: a `DetectionsWriter` and its readers in threads and in
//! other processes, leftovers of a dead writer, a live writer's refusal, and what `inspect`
//! and `remove_stale` (the daemon's `status` and `cleanup`) make of it.

mod common;

use std::time::{Duration, Instant};

use common::{json_summary, spawn_stress, unique_namespace, wait_ready};
use shmproto::{
    monotonic_now_ns, test_pattern, CreateError, DetectionsReader, DetectionsWriter,
    DetectionsWriterConfig, Geometry, Liveness, Namespace, OpenError, PublishError, ReadError,
    SegmentError, SourceFrame, Writer, WriterConfig,
};

fn writer(namespace: &Namespace) -> DetectionsWriter {
    DetectionsWriter::create(DetectionsWriterConfig::new(namespace.clone()))
        .expect("create the detections writer")
}

/// A `shmproto-stress write-detections` child, ready (its segment is live).
fn spawn_detections_writer(namespace: &Namespace, seconds: &str) -> std::process::Child {
    let mut child = spawn_stress(&[
        "write-detections",
        "--namespace",
        namespace.as_str(),
        "--seconds",
        seconds,
    ]);
    wait_ready(&mut child);
    child
}

/// Kills a writer child the hard way and reaps it: its segment stays behind, its pid is gone.
fn kill(mut child: std::process::Child) {
    child.kill().expect("SIGKILL the writer");
    child.wait().expect("reap the writer");
}

#[test]
fn a_result_travels_whole_with_its_source_frame() {
    let namespace = unique_namespace("det");
    let mut writer = writer(&namespace);
    let mut reader = DetectionsReader::open(&namespace).expect("open the reader");
    assert!(reader.liveness().is_live());
    assert_eq!(reader.read_latest().expect("read"), None, "nothing yet");
    assert_eq!(
        reader.wait_next(Duration::from_millis(50)).expect("wait"),
        None
    );

    let result = test_pattern::detection_result(42);
    let source = SourceFrame {
        session_id: 0xfeed,
        capture_wall_ns: 11,
        capture_mono_ns: 22,
    };
    let before = monotonic_now_ns();
    assert_eq!(
        writer.publish_for_frame(&result, source).expect("publish"),
        1
    );
    let published = reader
        .wait_next(Duration::from_secs(5))
        .expect("read")
        .expect("a result");
    assert_eq!(published.publish_seq, 1);
    assert_eq!(published.result, result);
    assert_eq!(published.source_frame, source);
    assert!(published.publish_mono_ns >= before);
    assert_eq!(reader.results_published(), 1);
    assert_eq!(writer.results_published(), 1);

    // The newest result stays readable; nothing newer means no wait_next result.
    let again = reader.read_latest().expect("read").expect("still there");
    assert_eq!(again.publish_seq, 1);
    assert_eq!(
        reader.wait_next(Duration::from_millis(50)).expect("wait"),
        None
    );

    // `publish` alone says nothing about the source frame.
    writer
        .publish(&test_pattern::detection_result(43))
        .expect("publish");
    let published = reader.read_latest().expect("read").expect("a result");
    assert_eq!(
        (published.publish_seq, published.source_frame),
        (2, SourceFrame::default())
    );

    // Closing wakes a blocked reader at once and removes the segment.
    let waiter = std::thread::spawn(move || {
        let started = Instant::now();
        (reader.wait_next(Duration::from_secs(60)), started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(100));
    drop(writer);
    let (result, waited) = waiter.join().expect("waiter thread");
    assert!(
        matches!(result, Err(ReadError::WriterGone(Liveness::Closed { .. }))),
        "{result:?}"
    );
    // Woken by the close, not by the end of its 60 s wait (however loaded the machine).
    assert!(waited < Duration::from_secs(30), "woke after {waited:?}");
    assert!(matches!(
        DetectionsReader::open(&namespace),
        Err(OpenError::Segment(SegmentError::NotFound { .. }))
    ));
}

#[test]
fn results_that_do_not_fit_or_are_not_finite_are_refused_and_nothing_is_published() {
    let namespace = unique_namespace("detbig");
    let mut config = DetectionsWriterConfig::new(namespace.clone());
    config.result_capacity = 1024;
    let mut writer = DetectionsWriter::create(config).expect("create");
    let mut big = test_pattern::detection_result(1);
    big.detections[0].label = "x".repeat(2000);
    match writer.publish(&big) {
        Err(PublishError::JsonTooLarge { capacity, .. }) => assert_eq!(capacity, 1024),
        other => panic!("a result larger than its slot was published: {other:?}"),
    }
    let mut nan = test_pattern::detection_result(2);
    nan.detections[0].score = f32::NAN;
    let error = writer.publish(&nan).expect_err("NaN published");
    assert!(
        error.to_string().contains("detections[0].score"),
        "unclear error: {error}"
    );
    assert_eq!(writer.results_published(), 0);
    let mut reader = DetectionsReader::open(&namespace).expect("open");
    assert_eq!(reader.read_latest().expect("read"), None);

    // Configurations outside the protocol's bounds are refused before anything is created.
    for (slots, capacity) in [(1, 4096), (65, 4096), (8, 512), (8, (1 << 20) + 1)] {
        let mut config = DetectionsWriterConfig::new(unique_namespace("detcfg"));
        (config.slot_count, config.result_capacity) = (slots, capacity);
        assert!(
            matches!(
                DetectionsWriter::create(config),
                Err(CreateError::Config(_))
            ),
            "{slots} slots of {capacity} bytes accepted"
        );
    }
}

#[test]
fn a_slow_reader_gets_the_newest_result_and_never_a_torn_one() {
    let namespace = unique_namespace("detslo");
    let mut config = DetectionsWriterConfig::new(namespace.clone());
    // Two slots: the writer laps the slow reader's copies as often as it can.
    config.slot_count = 2;
    config.result_capacity = 4096;
    let mut writer = DetectionsWriter::create(config).expect("create");
    let mut reader = DetectionsReader::open(&namespace).expect("open");
    const RESULTS: u64 = 20_000;
    let publisher = std::thread::spawn(move || {
        for n in 1..=RESULTS {
            writer
                .publish(&test_pattern::detection_result(n))
                .expect("publish");
        }
        writer
    });
    let (mut seen, mut last) = (0u64, 0u64);
    loop {
        let finished = publisher.is_finished();
        match reader.wait_next(Duration::from_millis(100)) {
            Ok(Some(published)) => {
                test_pattern::verify_detections(&published.result)
                    .unwrap_or_else(|error| panic!("torn result: {error}"));
                assert_eq!(published.result.frame_number, published.publish_seq);
                assert!(published.publish_seq > last, "went back to {published:?}");
                last = published.publish_seq;
                seen += 1;
                // A slow reader: the writer publishes many results meanwhile.
                std::thread::sleep(Duration::from_micros(300));
            }
            Ok(None) if finished => break,
            Ok(None) => {}
            Err(error) => panic!("read failed: {error}"),
        }
    }
    let writer = publisher.join().expect("publisher");
    assert_eq!(writer.results_published(), RESULTS);
    // Whatever it skipped, the reader ends on the newest result.
    assert_eq!(last, RESULTS, "the newest result was never returned");
    let latest = reader.read_latest().expect("read").expect("a result");
    assert_eq!(latest.publish_seq, RESULTS);
    assert!(seen > 1 && seen < RESULTS, "read {seen} of {RESULTS}");
}

#[test]
fn readers_in_other_processes_never_see_a_torn_result() {
    let namespace = unique_namespace("detmp");
    let writer = spawn_detections_writer(&namespace, "2");
    let readers: Vec<_> = (0..2)
        .map(|_| {
            spawn_stress(&[
                "read-detections",
                "--namespace",
                namespace.as_str(),
                "--seconds",
                "10",
            ])
        })
        .collect();
    let writer_output = writer.wait_with_output().expect("writer runs to the end");
    assert_eq!(writer_output.status.code(), Some(0), "writer failed");
    let published = json_summary(&writer_output)["results"]
        .as_u64()
        .unwrap_or(0);
    for reader in readers {
        let output = reader.wait_with_output().expect("reader runs to the end");
        let summary = json_summary(&output);
        assert_eq!(output.status.code(), Some(0), "reader failed: {summary}");
        assert_eq!(summary["torn"], 0, "{summary}");
        assert_eq!(summary["non_increasing"], 0, "{summary}");
        assert!(
            summary["results"].as_u64().unwrap_or(0) > 10,
            "{summary} of {published}"
        );
        assert!(
            summary["gone"]
                .as_str()
                .is_some_and(|gone| gone.contains("shut down cleanly")),
            "{summary}"
        );
    }
}

#[test]
fn wait_next_wakes_for_every_result_published_while_it_waits() {
    // How fast the futex wakes is measured by benchmarks, not here (a loaded machine may take
    // its time): this checks that a reader asleep in `wait_next` gets each result, in order.
    let namespace = unique_namespace("detwak");
    let mut writer = writer(&namespace);
    let mut reader = DetectionsReader::open(&namespace).expect("open");
    let (sender, received) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        for _ in 0..9 {
            let published = reader
                .wait_next(Duration::from_secs(60))
                .expect("read")
                .expect("a result before the timeout");
            sender.send(published.result.frame_number).expect("send");
        }
    });
    for n in 1..=9u64 {
        // Usually the reader is asleep in the futex by now; if not, it finds the result at
        // once, which this test accepts too.
        std::thread::sleep(Duration::from_millis(20));
        writer
            .publish(&test_pattern::detection_result(n))
            .expect("publish");
        let frame_number = received
            .recv_timeout(Duration::from_secs(60))
            .expect("woke");
        assert_eq!(frame_number, test_pattern::detection_result(n).frame_number);
    }
    waiter.join().expect("waiter");
}

#[test]
fn a_live_writer_is_refused_and_a_dead_writers_segment_reclaimed() {
    let namespace = unique_namespace("detrec");
    let first = writer(&namespace);
    match DetectionsWriter::create(DetectionsWriterConfig::new(namespace.clone())) {
        Err(CreateError::WriterAlive { pid, .. }) => assert_eq!(pid, std::process::id()),
        other => panic!("a second writer was allowed: {:?}", other.err()),
    }
    // The frame writer of the same namespace is independent of it.
    let frames = Writer::create(WriterConfig::new(namespace.clone(), Geometry::rgbd(32, 24)))
        .expect("the frame writer beside a detections writer");
    drop(first);
    drop(frames);

    let child = spawn_detections_writer(&namespace, "30");
    let pid = child.id();
    kill(child);
    let report = shmproto::inspect(&namespace);
    let detections = report.detections.as_ref().expect("the segment is reported");
    assert_eq!(detections.liveness, Liveness::ProcessGone { pid });
    assert!(report.is_stale(), "a dead writer's segment is stale");
    assert!(matches!(
        DetectionsReader::open(&namespace),
        Err(OpenError::NotLive {
            liveness: Liveness::ProcessGone { .. },
            ..
        })
    ));
    let writer = writer(&namespace);
    let reclaimed = writer.reclaimed().expect("the leftover was reclaimed");
    assert!(reclaimed.contains("no longer exists"), "{reclaimed}");
    let mut reader = DetectionsReader::open(&namespace).expect("open the new writer");
    assert_eq!(reader.writer_pid(), std::process::id());
    assert_eq!(reader.read_latest().expect("read"), None, "a fresh ring");
}

#[test]
fn status_and_cleanup_know_the_detections_segment() {
    // A live frame writer without detections: normal, not stale, nothing to remove.
    let namespace = unique_namespace("detst");
    let frames = Writer::create(WriterConfig::new(namespace.clone(), Geometry::rgbd(32, 24)))
        .expect("frame writer");
    let report = shmproto::inspect(&namespace);
    assert!(report.detections.is_none() && report.detections_problem.is_none());
    assert!(!report.is_stale());
    assert!(matches!(
        shmproto::remove_stale(&namespace),
        Err(CreateError::WriterAlive { .. })
    ));
    drop(frames);

    // A live detections writer alone holds the namespace too.
    let detections = writer(&namespace);
    let report = shmproto::inspect(&namespace);
    assert!(report.writer_holds() && !report.is_stale());
    assert!(
        report.writer.is_none() && report.problem.is_none(),
        "no frame segments"
    );
    assert!(matches!(
        shmproto::remove_stale(&namespace),
        Err(CreateError::WriterAlive { .. })
    ));
    drop(detections);

    // A dead daemon's leftovers, frames and detections: stale, and cleanup removes all four.
    let frames = common::spawn_stress(&[
        "write",
        "--namespace",
        namespace.as_str(),
        "--width",
        "32",
        "--height",
        "24",
        "--seconds",
        "30",
        "--fps",
        "10",
    ]);
    let mut frames = frames;
    wait_ready(&mut frames);
    let detections = spawn_detections_writer(&namespace, "30");
    kill(frames);
    kill(detections);
    let report = shmproto::inspect(&namespace);
    assert!(report.is_stale(), "{report:?}");
    assert!(report
        .detections
        .as_ref()
        .is_some_and(|detections| !detections.liveness.holds_segments()));
    let mut removed = shmproto::remove_stale(&namespace).expect("cleanup");
    removed.sort();
    let mut expected = namespace.all_segment_names().to_vec();
    expected.sort();
    assert_eq!(removed, expected);
    assert!(!shmproto::inspect(&namespace).any_segment_exists());
}

#[test]
fn a_follower_hands_each_result_once_and_finds_the_next_writer() {
    let namespace = unique_namespace("fol");
    let mut follower = shmproto::DetectionsFollower::new(namespace.clone());
    assert!(follower.poll().is_none(), "no segment yet");

    let mut first = writer(&namespace);
    follower.reset();
    assert!(follower.poll().is_none(), "nothing published yet");
    first
        .publish(&test_pattern::detection_result(1))
        .expect("publish");
    let got = follower.poll().expect("the new result");
    assert_eq!(got.result.frame_number, 1);
    assert!(
        follower.poll().is_none(),
        "the same result is not handed twice"
    );
    first
        .publish(&test_pattern::detection_result(2))
        .expect("publish");
    assert_eq!(follower.poll().expect("next").result.frame_number, 2);

    // A new writer (a restarted daemon) starts its sequence again: its first result is new.
    drop(first);
    assert!(follower.poll().is_none(), "the writer is gone");
    let mut second = writer(&namespace);
    second
        .publish(&test_pattern::detection_result(7))
        .expect("publish");
    follower.reset();
    assert_eq!(follower.poll().expect("found again").result.frame_number, 7);
}
