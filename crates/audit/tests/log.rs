//! The writer, recovery and the reader, on real files.
#![cfg(test)]

mod common;

use common::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use strongroom_audit::*;

/// The events of the log that pass `filter`, in log order.
fn logged(fx: &Fixture, filter: EventFilter) -> Vec<AuditEvent> {
    events(fx.path(), filter)
        .unwrap()
        .map(|e| e.unwrap().event)
        .collect()
}

fn small_segments() -> AuditOptions {
    AuditOptions {
        max_segment_bytes: 4_000,
        digest_every_records: 5,
        ..AuditOptions::default()
    }
}

#[test]
fn round_trip_every_event_comes_back_and_the_log_verifies() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions::default());
    let pk = log.public_key();
    record_all(&rt, &log, 0, 20);
    rt.block_on(log.close()).unwrap();

    let read: Vec<LoggedEvent> = events(fx.path(), EventFilter::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(read.len(), 20);
    for (i, e) in read.iter().enumerate() {
        assert_eq!(e.event, event(i as u32));
        assert_eq!(e.seq, i as u64 + 1);
        assert_eq!(e.segment, "segment-00000001.jsonl");
    }
    let report = verify(fx.path(), &pk).unwrap();
    assert_eq!(report.events, 20);
    assert_eq!(report.digests, 1, "one digest at close");
    assert_eq!(report.records, 21);
    assert_eq!(report.last_seq, 21);
    assert!(report.is_sealed());
    let d = report.last_digest.unwrap();
    assert_eq!((d.seq, d.last_seq), (21, 20));
    assert_eq!(d.to_time, event(19).event_time);
    assert_eq!(read_public_key(&fx.path()).unwrap(), pk);
    verify_with(
        fx.path(),
        &pk,
        VerifyOptions {
            require_sealed: true,
        },
    )
    .unwrap();
}

#[test]
fn lines_have_the_documented_shape_and_digests_verify_independently() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(small_segments());
    let pk = log.public_key();
    record_all(&rt, &log, 0, 12);
    rt.block_on(log.close()).unwrap();

    let mut prev = "0".repeat(64);
    let mut seq = 0u64;
    let mut digests = 0;
    for path in fx.segments() {
        for line in read_lines(&path) {
            seq += 1;
            let text = String::from_utf8(line.clone()).unwrap();
            let expected_start = format!("{{\"seq\":{seq},\"prev\":\"{prev}\",");
            assert!(text.starts_with(&expected_start), "{text}");
            let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
            if let Some(d) = v.get("digest") {
                digests += 1;
                assert_eq!(d["head"], prev.as_str());
                assert_eq!(
                    d["publicKeyFingerprint"],
                    sha256_hex(pk.as_bytes()).as_str()
                );
                let sig = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    d["signature"].as_str().unwrap(),
                )
                .unwrap();
                pk.verify(signing_text(seq, d).as_bytes(), &sig).unwrap();
                let sig_text = d["signature"].as_str().unwrap();
                assert_eq!(digest_line(seq, &prev, d, sig_text), line, "canonical form");
            } else {
                assert_eq!(v["event"]["eventVersion"], "1.08");
                assert_eq!(v["event"]["eventSource"], "kms.amazonaws.com");
            }
            prev = sha256_hex(&line);
        }
    }
    assert!(digests >= 3, "{digests}");
}

#[test]
fn the_chain_runs_across_rotated_segments() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(small_segments());
    let pk = log.public_key();
    record_all(&rt, &log, 0, 40);
    let stats = log.stats();
    rt.block_on(log.close()).unwrap();

    let segs = fx.segments();
    assert!(segs.len() >= 5, "{} segments", segs.len());
    assert_eq!(stats.segments_created as usize, segs.len());
    for (i, path) in segs.iter().enumerate() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(name, format!("segment-{:08}.jsonl", i + 1));
        let lines = read_lines(path);
        assert!(
            is_digest(lines.last().unwrap()),
            "{name} ends with a digest"
        );
        if i > 0 {
            // The first line chains to the last line of the previous segment.
            let prev_last = read_lines(&segs[i - 1]).pop().unwrap();
            let v: serde_json::Value = serde_json::from_slice(&lines[0]).unwrap();
            assert_eq!(v["prev"], sha256_hex(&prev_last).as_str());
        }
    }
    let report = verify(fx.path(), &pk).unwrap();
    assert_eq!(report.events, 40);
    assert_eq!(report.segments as usize, segs.len());
    let n = events(fx.path(), EventFilter::default()).unwrap().count();
    assert_eq!(n, 40);
}

#[test]
fn digests_come_by_count_by_time_and_segments_rotate_by_age() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions {
        digest_every_records: 4,
        digest_interval: Duration::from_secs(60),
        max_segment_age: Duration::from_secs(3600),
        ..AuditOptions::default()
    });
    let pk = log.public_key();
    record_all(&rt, &log, 0, 9);
    assert_eq!(log.stats().digests, 2, "after 4 and 8 events");

    // The ninth event waits for the interval.
    fx.clock.advance(59_000);
    rt.block_on(log.flush()).unwrap();
    assert_eq!(log.stats().digests, 2);
    fx.clock.advance(1_000);
    rt.block_on(log.flush()).unwrap();
    assert_eq!(
        log.stats().digests,
        3,
        "60 s after the first uncovered event"
    );
    assert!(verify(fx.path(), &pk).unwrap().is_sealed());

    // An hour later the next event goes to a new segment, and the old one was sealed.
    fx.clock.advance(3_600_000);
    record_all(&rt, &log, 9, 1);
    assert_eq!(log.stats().segments_created, 2);
    let report = verify(fx.path(), &pk).unwrap();
    assert_eq!(report.segments, 2);
    assert_eq!(
        report.uncovered,
        Some(Uncovered {
            first_seq: 13,
            last_seq: 13,
            count: 1
        })
    );
    assert!(matches!(
        verify_with(
            fx.path(),
            &pk,
            VerifyOptions {
                require_sealed: true
            }
        )
        .unwrap_err()
        .finding()
        .unwrap()
        .problem,
        Problem::NotSealed {
            first_seq: 13,
            count: 1
        }
    ));
    rt.block_on(log.close()).unwrap();
    assert!(verify(fx.path(), &pk).unwrap().is_sealed());
}

#[test]
fn reopening_continues_the_chain_in_a_new_segment() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions::default());
    let pk = log.public_key();
    record_all(&rt, &log, 0, 5);
    rt.block_on(log.close()).unwrap();
    let log = fx.open(AuditOptions::default());
    assert_eq!(log.public_key(), pk, "the signing key is reused");
    record_all(&rt, &log, 5, 5);
    rt.block_on(log.close()).unwrap();

    assert_eq!(fx.segments().len(), 2);
    let report = verify(fx.path(), &pk).unwrap();
    assert_eq!(
        (report.events, report.digests, report.last_seq),
        (10, 2, 12)
    );
    let seqs: Vec<u64> = events(fx.path(), EventFilter::default())
        .unwrap()
        .map(|e| e.unwrap().seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 7, 8, 9, 10, 11]);
}

#[test]
fn a_torn_last_line_is_truncated_on_reopen_and_the_chain_continues() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions::default());
    let pk = log.public_key();
    record_all(&rt, &log, 0, 6);
    rt.block_on(log.close()).unwrap();

    // Simulate a crash: the closing digest never happened, and a write was torn mid-line.
    let seg = fx.segments().pop().unwrap();
    let mut lines = read_lines(&seg);
    assert!(is_digest(&lines.pop().unwrap()));
    write_lines(&seg, &lines);
    let mut bytes = std::fs::read(&seg).unwrap();
    let torn = serde_json::to_vec(&event(99)).unwrap();
    bytes.extend_from_slice(b"{\"seq\":7,\"prev\":\"");
    bytes.extend_from_slice(&torn[..torn.len() / 2]);
    std::fs::write(&seg, &bytes).unwrap();
    assert!(matches!(
        verify(fx.path(), &pk)
            .unwrap_err()
            .finding()
            .unwrap()
            .problem,
        Problem::TornLine
    ));

    let log = fx.open(AuditOptions::default());
    // Reopening truncated the torn line and sealed the six events with a digest.
    let lines = read_lines(&seg);
    assert_eq!(lines.len(), 7);
    assert!(is_digest(&lines[6]));
    let report = verify(fx.path(), &pk).unwrap();
    assert!(report.is_sealed());
    assert_eq!(report.events, 6);

    record_all(&rt, &log, 6, 3);
    rt.block_on(log.close()).unwrap();
    let report = verify(fx.path(), &pk).unwrap();
    assert_eq!((report.events, report.last_seq), (9, 11));
    let names: Vec<u32> = events(fx.path(), EventFilter::default())
        .unwrap()
        .map(|e| e.unwrap().event.event_id.as_u128() as u32 - 1)
        .collect();
    assert_eq!(names, (0..9).collect::<Vec<_>>(), "the torn event is gone");
}

/// Copies the log directory as a crash would leave it: the files as they are now, the lock
/// file released.
fn crash_copy(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn open_at(fx: &Fixture, dir: &std::path::Path) -> AuditLog {
    open_with(fx, dir, AuditOptions::default())
}

fn open_with(fx: &Fixture, dir: &std::path::Path, options: AuditOptions) -> AuditLog {
    let clock: Arc<dyn strongroom_core::time::Clock> = fx.clock.clone();
    AuditLog::open(
        dir,
        &fx.root,
        &strongroom_crypto::random::SystemRandom,
        options,
        clock,
    )
    .unwrap()
}

/// Verifies a log that must end with a digest (closed cleanly).
fn verify_sealed(dir: &std::path::Path, pk: &Ed25519PublicKey) -> VerifyReport {
    verify_with(
        dir,
        pk,
        VerifyOptions {
            require_sealed: true,
        },
    )
    .unwrap()
}

#[test]
fn the_open_segment_is_zero_padded_readable_and_trimmed_when_sealed() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions::default());
    let pk = log.public_key();
    record_all(&rt, &log, 0, 5);

    // While open, the segment is preallocated: its content, then zeros.
    let seg = fx.segments().pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    let content = bytes.iter().position(|&b| b == 0).unwrap();
    assert!(bytes.len() >= 4 * 1024 * 1024, "{} bytes", bytes.len());
    assert!(bytes[content..].iter().all(|&b| b == 0));
    assert_eq!(bytes[content - 1], b'\n');
    // The live log reads and verifies (the padding of the last segment is not content).
    assert_eq!(
        events(fx.path(), EventFilter::default()).unwrap().count(),
        5
    );
    let report = verify(fx.path(), &pk).unwrap();
    assert_eq!((report.events, report.records), (5, 5));

    rt.block_on(log.close()).unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    assert!(!bytes.contains(&0), "sealing cut the padding off");
    assert_eq!(bytes.last(), Some(&b'\n'));
    assert_eq!(read_lines(&seg).len(), 6);
    assert!(verify(fx.path(), &pk).unwrap().is_sealed());
}

#[test]
fn after_a_crash_the_padding_and_unacknowledged_writes_after_it_are_cut_off() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions::default());
    let pk = log.public_key();
    record_all(&rt, &log, 0, 4);
    let crashed = fx.dir.path().join("crashed");
    crash_copy(&fx.path(), &crashed);
    rt.block_on(log.close()).unwrap();

    // A crash can persist a later page of an unacknowledged write without an earlier one:
    // zeros, then data. The verifier names it; reopening drops it (it was never answered).
    let seg = segments(&crashed).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let content = bytes.iter().position(|&b| b == 0).unwrap();
    let stray = b"\"prev\":\"00\",\"event\":{}}\n";
    bytes[content + 100..content + 100 + stray.len()].copy_from_slice(stray);
    std::fs::write(&seg, &bytes).unwrap();
    let f = verify(&crashed, &pk)
        .unwrap_err()
        .finding()
        .unwrap()
        .clone();
    assert_eq!(f.problem, Problem::DataAfterPadding);
    assert_eq!((f.location.line, f.location.seq), (5, None));

    let log = open_at(&fx, &crashed);
    // What recovery dropped is kept next to the log, without the zeros.
    let kept = crashed.join(format!("dropped-segment-00000001-{content}"));
    assert_eq!(
        std::fs::read(&kept).unwrap(),
        [&[0u8; 100][..], stray].concat()
    );
    let trimmed = std::fs::read(&seg).unwrap();
    assert_eq!(
        trimmed.len(),
        read_lines(&seg).iter().map(|l| l.len() + 1).sum::<usize>()
    );
    assert_eq!(
        read_lines(&seg).len(),
        5,
        "four events and the recovery's digest"
    );
    record_all(&rt, &log, 4, 2);
    rt.block_on(log.close()).unwrap();
    let report = verify_sealed(&crashed, &pk);
    assert_eq!((report.events, report.digests), (6, 2));
}

/// Direct I/O and buffered writes give the same log: rotation, digests, a crash copy that
/// recovers, reopening, verification.
#[test]
fn direct_and_buffered_writes_give_the_same_verifiable_log() {
    for direct_io in [true, false] {
        let fx = Fixture::new();
        let rt = rt();
        let options = AuditOptions {
            direct_io,
            ..small_segments()
        };
        let log = Arc::new(fx.open(options.clone()));
        let pk = log.public_key();
        // One at a time (a commit each, rewriting the tail block), then a burst.
        record_all(&rt, &log, 0, 12);
        record_concurrently(&rt, &log, 12..40);
        let stats = log.stats();
        assert_eq!(
            stats.direct_io, direct_io,
            "the test directory allows direct I/O"
        );
        assert!(stats.segments_created > 1, "rotated: {stats:?}");
        let crashed = fx.dir.path().join("crashed");
        crash_copy(&fx.path(), &crashed);
        rt.block_on(log.close()).unwrap();
        assert_eq!(verify(fx.path(), &pk).unwrap().events, 40);

        // The copy taken while open recovers, continues, and holds every event.
        let log = open_with(&fx, &crashed, options);
        record_all(&rt, &log, 40, 5);
        rt.block_on(log.close()).unwrap();
        let report = verify_sealed(&crashed, &pk);
        assert_eq!(report.events, 45, "direct_io {direct_io}");
        let names: Vec<u32> = events(&crashed, EventFilter::default())
            .unwrap()
            .map(|e| e.unwrap().event.event_id.as_u128() as u32)
            .collect();
        assert_eq!(names.len(), 45);
    }
}

#[test]
fn padding_is_refused_in_a_sealed_segment() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions::default());
    let pk = log.public_key();
    record_all(&rt, &log, 0, 2);
    rt.block_on(log.close()).unwrap();
    let log = fx.open(AuditOptions::default());
    record_all(&rt, &log, 2, 2);
    rt.block_on(log.close()).unwrap();
    let first = fx.segments()[0].clone();
    let mut bytes = std::fs::read(&first).unwrap();
    bytes.extend_from_slice(&[0; 4096]);
    std::fs::write(&first, &bytes).unwrap();
    let f = verify(fx.path(), &pk)
        .unwrap_err()
        .finding()
        .unwrap()
        .clone();
    assert_eq!(f.problem, Problem::UnexpectedPadding);
    assert_eq!(f.location.segment, "segment-00000001.jsonl");
}

#[test]
fn recovery_removes_empty_segments_and_refuses_real_damage() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions::default());
    let pk = log.public_key();
    record_all(&rt, &log, 0, 3);
    rt.block_on(log.close()).unwrap();

    // A crash right after creating a segment leaves it empty (or holding only a torn line).
    std::fs::write(fx.path().join("segment-00000002.jsonl"), b"").unwrap();
    std::fs::write(fx.path().join("segment-00000003.jsonl"), b"{\"seq\":5,").unwrap();
    let log = fx.open(AuditOptions::default());
    record_all(&rt, &log, 3, 2);
    rt.block_on(log.close()).unwrap();
    assert_eq!(fx.segments().len(), 2);
    assert_eq!(verify(fx.path(), &pk).unwrap().events, 5);

    // A complete line that does not parse is damage, not a crash: opening refuses it.
    let seg = fx.segments().pop().unwrap();
    let mut lines = read_lines(&seg);
    lines.insert(1, b"garbage".to_vec());
    write_lines(&seg, &lines);
    let err = fx.try_open(AuditOptions::default()).unwrap_err();
    assert!(matches!(err, AuditError::Corrupt(_)), "{err}");
    assert!(
        err.to_string().contains("segment-00000002.jsonl line 2"),
        "{err}"
    );
}

#[test]
fn concurrent_recorders_all_complete_and_are_all_on_disk() {
    let fx = Fixture::new();
    let rt = rt();
    let log = Arc::new(fx.open(AuditOptions {
        max_segment_bytes: 200_000,
        digest_every_records: 500,
        ..AuditOptions::default()
    }));
    let pk = log.public_key();
    const TASKS: u32 = 64;
    const EACH: u32 = 25;
    rt.block_on(async {
        let mut handles = Vec::new();
        for t in 0..TASKS {
            let log = Arc::clone(&log);
            handles.push(tokio::spawn(async move {
                for j in 0..EACH {
                    log.record(event(t * EACH + j)).await.unwrap();
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
    let stats = log.stats();
    assert_eq!(stats.events, u64::from(TASKS * EACH));
    assert_eq!(stats.queue_depth, 0);
    // Group commit: far fewer syncs than events.
    assert!(
        stats.fsyncs * 2 < stats.events,
        "fsyncs {} for {} events",
        stats.fsyncs,
        stats.events
    );
    assert!(stats.batches < stats.events);
    rt.block_on(log.close()).unwrap();

    let report = verify(fx.path(), &pk).unwrap();
    assert_eq!(report.events, u64::from(TASKS * EACH));
    let ids: HashSet<u128> = events(fx.path(), EventFilter::default())
        .unwrap()
        .map(|e| e.unwrap().event.event_id.as_u128())
        .collect();
    assert_eq!(ids.len(), (TASKS * EACH) as usize);
    assert!(
        ids.iter()
            .all(|id| (1..=u128::from(TASKS * EACH)).contains(id))
    );
}

#[test]
fn best_effort_returns_at_once_and_flush_makes_durable() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions {
        best_effort: true,
        ..AuditOptions::default()
    });
    let pk = log.public_key();
    rt.block_on(async {
        for i in 0..50 {
            log.record(event(i)).await.unwrap();
        }
        log.flush().await.unwrap();
    });
    assert_eq!(log.stats().events, 50);
    assert_eq!(verify(fx.path(), &pk).unwrap().events, 50);
    rt.block_on(log.close()).unwrap();
}

#[test]
fn best_effort_syncs_at_most_every_few_milliseconds() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions {
        best_effort: true,
        ..AuditOptions::default()
    });
    let started = std::time::Instant::now();
    rt.block_on(async {
        for i in 0..200 {
            log.record(event(i)).await.unwrap();
            tokio::time::sleep(Duration::from_micros(300)).await;
        }
        log.flush().await.unwrap();
    });
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let stats = log.stats();
    assert_eq!(stats.events, 200);
    // Fail-closed would sync for (nearly) every one of these spaced-out events.
    assert!(
        stats.fsyncs <= elapsed_ms / 5 + 3,
        "{} syncs in {elapsed_ms} ms",
        stats.fsyncs
    );
    rt.block_on(log.close()).unwrap();
}

/// Collects the event ids it is shown.
#[derive(Debug, Default)]
struct Seen(std::sync::Mutex<Vec<uuid::Uuid>>);

impl AuditObserver for Seen {
    fn observe(&self, event: AuditEvent, bytes: usize) {
        assert_eq!(bytes, serde_json::to_vec(&event).unwrap().len());
        self.0.lock().unwrap().push(event.event_id);
    }
}

#[test]
fn the_observer_sees_each_recorded_event_once_and_no_refused_one() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions::default());
    let seen = Arc::new(Seen::default());
    assert!(log.set_observer(seen.clone()));
    assert!(
        !log.set_observer(Arc::new(Seen::default())),
        "only the first observer"
    );
    record_all(&rt, &log, 0, 3);
    rt.block_on(log.close()).unwrap();
    assert!(rt.block_on(log.record(event(9))).is_err(), "closed");
    let ids: Vec<uuid::Uuid> = (0..3).map(|i| event(i).event_id).collect();
    assert_eq!(*seen.0.lock().unwrap(), ids);
}

#[test]
fn queue_limit_lock_close_and_size_limit() {
    let fx = Fixture::new();
    let rt = rt();
    let full = fx.open(AuditOptions {
        max_pending: 0,
        ..AuditOptions::default()
    });
    assert!(matches!(
        rt.block_on(full.record(event(0))),
        Err(AuditError::QueueFull(0))
    ));
    // One writer per directory.
    assert!(matches!(
        fx.try_open(AuditOptions::default()),
        Err(AuditError::Locked { .. })
    ));
    rt.block_on(full.close()).unwrap();
    rt.block_on(full.close()).unwrap();
    assert!(matches!(
        rt.block_on(full.record(event(0))),
        Err(AuditError::Closed)
    ));

    let log = fx.open(AuditOptions::default());
    let mut big = event(1);
    big.request_parameters = serde_json::json!({"blob": "x".repeat(17 * 1024 * 1024)});
    assert!(matches!(
        rt.block_on(log.record(big)),
        Err(AuditError::EventTooLarge(_))
    ));
    record_all(&rt, &log, 1, 1);
    assert!(log.stats().last_fsync_micros > 0);
    rt.block_on(log.close()).unwrap();
    // An empty log (the first open wrote nothing) verifies too.
    assert_eq!(verify(fx.path(), &log.public_key()).unwrap().events, 1);
}

#[test]
fn a_replaced_public_key_file_stops_the_writer() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions::default());
    record_all(&rt, &log, 0, 1);
    rt.block_on(log.close()).unwrap();
    let other = strongroom_crypto::signing::Ed25519SigningKey::generate(
        &strongroom_crypto::random::SystemRandom,
    )
    .unwrap();
    std::fs::write(
        fx.path().join(PUBLIC_KEY_FILE),
        public_key_pem(&other.public_key()),
    )
    .unwrap();
    assert!(matches!(
        fx.try_open(AuditOptions::default()),
        Err(AuditError::Key(_))
    ));
}

#[test]
fn filters_select_events_and_export_is_cloudtrail_shaped() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(small_segments());
    record_all(&rt, &log, 0, 30);
    rt.block_on(log.close()).unwrap();
    let all: Vec<AuditEvent> = (0..30).map(event).collect();
    let query = |f: EventFilter| logged(&fx, f);
    let expect = |pred: &dyn Fn(&AuditEvent) -> bool| -> Vec<AuditEvent> {
        all.iter().filter(|e| pred(e)).cloned().collect()
    };

    let by_arn = query(EventFilter {
        key: Some(key_arn(1)),
        ..EventFilter::default()
    });
    assert_eq!(by_arn, expect(&|e| e.resources[0].arn == key_arn(1)));
    assert_eq!(by_arn.len(), 8);
    let by_id = query(EventFilter {
        key: Some("00000000-0000-4000-8000-000000000001".into()),
        ..EventFilter::default()
    });
    assert_eq!(by_id, by_arn);

    let alice = query(EventFilter {
        principal_arn: Some("arn:aws:iam::111122223333:user/Alice".into()),
        ..EventFilter::default()
    });
    assert_eq!(alice.len(), 10);
    let role = query(EventFilter {
        principal_arn: Some("arn:aws:iam::111122223333:role/App".into()),
        ..EventFilter::default()
    });
    assert_eq!(role, expect(&|e| e.user_identity.session_context.is_some()));

    let names = query(EventFilter {
        event_name: Some("Decrypt".into()),
        ..EventFilter::default()
    });
    assert_eq!(names.len(), 15);
    let failed = query(EventFilter {
        error_code: ErrorCodeFilter::Present,
        ..EventFilter::default()
    });
    assert_eq!(failed, expect(&|e| e.error_code.is_some()));
    assert_eq!(failed.len(), 6);
    let denied = query(EventFilter {
        error_code: ErrorCodeFilter::Equals("AccessDeniedException".into()),
        ..EventFilter::default()
    });
    assert_eq!(denied.len(), 3);
    let ok = query(EventFilter {
        error_code: ErrorCodeFilter::Absent,
        ..EventFilter::default()
    });
    assert_eq!(ok.len(), 24);
    let window = query(EventFilter {
        since: Some(event(10).event_time),
        until: Some(event(20).event_time),
        ..EventFilter::default()
    });
    assert_eq!(window, all[10..20].to_vec());
    let combined = query(EventFilter {
        key: Some(key_arn(0)),
        event_name: Some("Encrypt".into()),
        since: Some(event(8).event_time),
        ..EventFilter::default()
    });
    assert_eq!(
        combined,
        vec![
            event(8),
            event(12),
            event(16),
            event(20),
            event(24),
            event(28)
        ]
    );

    let mut out = Vec::new();
    let n = export_cloudtrail(
        fx.path(),
        EventFilter {
            error_code: ErrorCodeFilter::Present,
            ..EventFilter::default()
        },
        &mut out,
    )
    .unwrap();
    assert_eq!(n, 6);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let records = v["Records"].as_array().unwrap();
    assert_eq!(records.len(), 6);
    assert_eq!(records[0]["eventName"], "Encrypt");
    assert_eq!(records[0]["errorCode"], "AccessDeniedException");
    assert_eq!(records[1]["errorCode"], "DisabledException");
    assert_eq!(records[0]["resources"][0]["type"], "AWS::KMS::Key");
    assert_eq!(
        serde_json::from_value::<AuditEvent>(records[0].clone()).unwrap(),
        failed[0]
    );
    let mut empty = Vec::new();
    assert_eq!(write_cloudtrail(Vec::new(), &mut empty).unwrap(), 0);
    assert_eq!(empty, b"{\"Records\":[]}");
}

#[test]
fn the_reader_skips_a_torn_tail_and_reports_bad_lines() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions::default());
    record_all(&rt, &log, 0, 3);
    rt.block_on(log.close()).unwrap();
    let seg = fx.segments().pop().unwrap();
    let mut lines = read_lines(&seg);
    lines.insert(1, b"not json".to_vec());
    write_lines(&seg, &lines);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_slice(b"{\"seq\":6,\"pr");
    std::fs::write(&seg, bytes).unwrap();
    let items: Vec<_> = events(fx.path(), EventFilter::default()).unwrap().collect();
    assert_eq!(items.len(), 4);
    assert!(matches!(
        &items[1],
        Err(ReadError::Malformed { line: 2, .. })
    ));
    assert_eq!(items.iter().filter(|r| r.is_ok()).count(), 3);
}

// -- newest first, in pages (CloudTrail's LookupEvents) ------------------------------------

/// Walks every page of `filter` with pages of `limit`; returns the events in the order read and
/// the number of pages.
fn all_pages(
    dir: &std::path::Path,
    filter: &LookupFilter,
    limit: usize,
) -> (Vec<LoggedEvent>, usize) {
    all_pages_within(dir, filter, limit, NO_BUDGET)
}

/// No read budget: a page reads back as far as it needs.
const NO_BUDGET: u64 = u64::MAX;

/// [`all_pages`] with a read budget per page: a page may then be short, or empty, and still
/// have a next one, which starts at a whole segment.
fn all_pages_within(
    dir: &std::path::Path,
    filter: &LookupFilter,
    limit: usize,
    budget: u64,
) -> (Vec<LoggedEvent>, usize) {
    let mut got = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let page = newest_events(dir, filter, before, limit, budget).unwrap();
        pages += 1;
        assert_eq!(page.skipped, 0);
        assert!(page.events.len() <= limit);
        match page.next {
            Some(next) if next.seq == u64::MAX => {
                assert!(budget < NO_BUDGET, "only a read budget cuts a page short");
                assert!(page.events.len() <= limit);
                let resume = format!("segment-{:08}.jsonl", next.segment);
                assert!(page.events.iter().all(|e| e.segment > resume));
                got.extend(page.events);
                before = Some(next);
            }
            Some(next) => {
                assert_eq!(page.events.len(), limit, "only a full page has a next one");
                assert_eq!(next.seq, page.events.last().unwrap().seq);
                got.extend(page.events);
                before = Some(next);
            }
            None => {
                got.extend(page.events);
                return (got, pages);
            }
        }
        assert!(pages < 1000, "the pages do not end");
    }
}

#[test]
fn newest_events_pages_back_through_every_segment_without_gaps_or_repeats() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(small_segments());
    record_all(&rt, &log, 0, 60);
    rt.block_on(log.close()).unwrap();
    assert!(fx.segments().len() >= 5, "{:?}", fx.segments());
    let newest_first: Vec<AuditEvent> = (0..60).rev().map(event).collect();
    for limit in [1, 2, 7, 13, 50, 59, 60, 61, 100] {
        let (got, pages) = all_pages(&fx.path(), &LookupFilter::default(), limit);
        let events: Vec<AuditEvent> = got.iter().map(|e| e.event.clone()).collect();
        assert_eq!(events, newest_first, "limit {limit}");
        assert_eq!(pages, 60usize.div_ceil(limit), "limit {limit}");
        // Positions are real: the segment and line each event was read from.
        for e in &got {
            let seg = fx.path().join(&e.segment);
            let line = &read_lines(&seg)[usize::try_from(e.line).unwrap() - 1];
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            assert_eq!(v["seq"], e.seq);
        }
    }
    // An empty log (no segment yet) is one empty page.
    let empty = Fixture::new();
    std::fs::create_dir_all(empty.path()).unwrap();
    let page = newest_events(empty.path(), &LookupFilter::default(), None, 5, NO_BUDGET).unwrap();
    assert_eq!((page.events.len(), page.next), (0, None));
}

#[test]
fn newest_events_filters_by_every_lookup_attribute() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(small_segments());
    record_all(&rt, &log, 0, 40);
    rt.block_on(log.close()).unwrap();
    let all: Vec<AuditEvent> = (0..40).rev().map(event).collect();
    let check = |filter: LookupFilter, pred: &dyn Fn(&AuditEvent) -> bool, at_least: usize| {
        let want: Vec<AuditEvent> = all.iter().filter(|e| pred(e)).cloned().collect();
        assert!(
            want.len() >= at_least,
            "{filter:?} selects too little to test"
        );
        for limit in [1, 3, 50] {
            let (got, _) = all_pages(&fx.path(), &filter, limit);
            let got: Vec<AuditEvent> = got.into_iter().map(|e| e.event).collect();
            assert_eq!(got, want, "{filter:?} limit {limit}");
        }
    };
    let f = LookupFilter::default;
    check(
        LookupFilter {
            recipient_account_id: Some("111122223333".into()),
            ..f()
        },
        &|_| true,
        40,
    );
    check(
        LookupFilter {
            recipient_account_id: Some("444455556666".into()),
            ..f()
        },
        &|_| false,
        0,
    );
    let id = event(17).event_id.to_string().to_uppercase();
    check(
        LookupFilter {
            event_id: Some(id),
            ..f()
        },
        &|e| *e == event(17),
        1,
    );
    check(
        LookupFilter {
            username: Some("Alice".into()),
            ..f()
        },
        &|e| e.user_identity.user_name.as_deref() == Some("Alice"),
        5,
    );
    // A role session's Username is its session name.
    check(
        LookupFilter {
            username: Some("s".into()),
            ..f()
        },
        &|e| e.user_identity.session_context.is_some(),
        5,
    );
    check(
        LookupFilter {
            access_key_id: Some("AKIABob".into()),
            ..f()
        },
        &|e| e.user_identity.access_key_id.as_deref() == Some("AKIABob"),
        5,
    );
    check(
        LookupFilter {
            resource_name: Some(key_arn(2)),
            ..f()
        },
        &|e| e.resources[0].arn == key_arn(2),
        5,
    );
    check(
        LookupFilter {
            resource_name: Some("00000000-0000-4000-8000-000000000002".into()),
            ..f()
        },
        &|e| e.resources[0].arn == key_arn(2),
        5,
    );
    check(
        LookupFilter {
            resource_type: Some("AWS::KMS::Key".into()),
            ..f()
        },
        &|_| true,
        40,
    );
    check(
        LookupFilter {
            resource_type: Some("AWS::IAM::Role".into()),
            ..f()
        },
        &|_| false,
        0,
    );
    check(
        LookupFilter {
            event_source: Some("kms.amazonaws.com".into()),
            read_only: Some(true),
            ..f()
        },
        &|_| true,
        40,
    );
    check(
        LookupFilter {
            read_only: Some(false),
            ..f()
        },
        &|_| false,
        0,
    );
    // Combined with the base filter (AND).
    check(
        LookupFilter {
            base: EventFilter {
                event_name: Some("Encrypt".into()),
                error_code: ErrorCodeFilter::Equals("AccessDeniedException".into()),
                ..EventFilter::default()
            },
            resource_name: Some(key_arn(0)),
            ..f()
        },
        &|e| {
            e.event_name == "Encrypt"
                && e.error_code.as_deref() == Some("AccessDeniedException")
                && e.resources[0].arn == key_arn(0)
        },
        1,
    );
    check(
        LookupFilter {
            base: EventFilter {
                principal_arn: Some("arn:aws:iam::111122223333:role/App".into()),
                since: Some(event(10).event_time),
                until: Some(event(30).event_time),
                ..EventFilter::default()
            },
            ..f()
        },
        &|e| {
            e.user_identity.session_context.is_some()
                && e.event_time >= event(10).event_time
                && e.event_time < event(30).event_time
        },
        5,
    );
}

#[test]
fn a_page_reads_only_the_segments_it_needs() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(small_segments());
    record_all(&rt, &log, 0, 60);
    rt.block_on(log.close()).unwrap();
    // Spoil the oldest segment: a page that reaches it reports lines it could not read.
    let first = fx.segments()[0].clone();
    let spoiled = read_lines(&first).len();
    write_lines(&first, &vec![b"not a record".to_vec(); spoiled]);
    let all = LookupFilter::default();
    let page = newest_events(fx.path(), &all, None, 5, NO_BUDGET).unwrap();
    assert_eq!(
        page.skipped, 0,
        "the first page needs only the newest segments"
    );
    assert_eq!(page.events[0].event, event(59));
    assert!(page.next.is_some());
    // The segment in the position is where reading resumes: newer segments are not opened.
    let newest = fx.segments().pop().unwrap();
    std::fs::write(&newest, b"garbage\n").unwrap();
    let again = newest_events(fx.path(), &all, page.next, 5, NO_BUDGET).unwrap();
    assert_eq!(again.skipped, 0);
    assert_eq!(again.events[0].event, event(54));
    // A filter that matches nothing reads back to the start.
    let none = LookupFilter {
        event_source: Some("iam.amazonaws.com".into()),
        ..LookupFilter::default()
    };
    let page = newest_events(fx.path(), &none, None, 5, NO_BUDGET).unwrap();
    assert!(page.events.is_empty() && page.next.is_none());
    assert_eq!(page.skipped, u64::try_from(spoiled).unwrap() + 1);
}

/// A page stops before a segment that would take it past its read budget (having read at
/// least one): a filter that matches little pages back a segment or two at a time, and the
/// pages together hold exactly what unbudgeted pages hold.
#[test]
fn a_read_budget_cuts_pages_short_and_loses_nothing() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(small_segments());
    record_all(&rt, &log, 0, 60);
    rt.block_on(log.close()).unwrap();
    let segments = fx.segments();
    let biggest = segments
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .max()
        .unwrap();
    // One old event only (in the oldest segment).
    let rare = LookupFilter {
        event_id: Some(event(3).event_id.to_string()),
        ..LookupFilter::default()
    };
    for budget in [1, biggest, 2 * biggest + 1] {
        for filter in [LookupFilter::default(), rare.clone()] {
            for limit in [1, 5, 100] {
                let (within, pages) = all_pages_within(&fx.path(), &filter, limit, budget);
                let (unbounded, _) = all_pages(&fx.path(), &filter, limit);
                assert_eq!(within, unbounded, "budget {budget}, limit {limit}");
                assert!(!within.is_empty());
                if budget == 1 && filter == rare {
                    // One segment per page.
                    assert!(pages >= segments.len(), "{pages} pages");
                }
            }
        }
    }
    // The first budgeted page of a rare filter reads the newest segment only.
    let page = newest_events(fx.path(), &rare, None, 5, 1).unwrap();
    assert_eq!(
        page.next.map(|n| n.segment),
        Some(u32::try_from(segments.len() - 1).unwrap())
    );
}

#[test]
fn pages_stay_put_while_the_log_grows_and_a_torn_tail_is_not_an_event() {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(small_segments());
    record_all(&rt, &log, 0, 20);
    let all = LookupFilter::default();
    let first = newest_events(fx.path(), &all, None, 8, NO_BUDGET).unwrap();
    let seqs: Vec<u64> = first.events.iter().map(|e| e.seq).collect();
    // Newer events arrive between the pages: the next page continues where the first ended.
    record_all(&rt, &log, 20, 15);
    let second = newest_events(fx.path(), &all, first.next, 8, NO_BUDGET).unwrap();
    assert_eq!(second.events[0].event, event(11));
    assert!(second.events.iter().all(|e| e.seq < *seqs.last().unwrap()));
    rt.block_on(log.close()).unwrap();
    // A write in progress (a torn last line of the newest segment) is passed over silently.
    let newest = fx.segments().pop().unwrap();
    let mut bytes = std::fs::read(&newest).unwrap();
    bytes.extend_from_slice(b"{\"seq\":99,\"prev\":\"");
    std::fs::write(&newest, bytes).unwrap();
    let page = newest_events(fx.path(), &all, None, 3, NO_BUDGET).unwrap();
    assert_eq!(page.skipped, 0);
    assert_eq!(page.events[0].event, event(34));
}

/// Writes the events numbered `range` from as many concurrent tasks; each must be acknowledged.
fn record_concurrently(
    rt: &tokio::runtime::Runtime,
    log: &Arc<AuditLog>,
    range: std::ops::Range<u32>,
) {
    rt.block_on(async {
        let tasks: Vec<_> = range
            .map(|i| {
                let log = Arc::clone(log);
                tokio::spawn(async move { log.record(event(i)).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
    });
}

/// Concurrent requests share group commits: the writer takes whatever gathered while the last
/// batch was being written.
#[test]
fn concurrent_requests_share_group_commits() {
    let fx = Fixture::new();
    let rt = rt();
    let log = Arc::new(fx.open(AuditOptions::default()));
    let n = 400u32;
    record_concurrently(&rt, &log, 0..n);
    let stats = log.stats();
    assert_eq!(stats.events, u64::from(n));
    assert_eq!(stats.queue_depth, 0);
    assert!(
        stats.batches * 2 <= stats.events,
        "{} batches for {} events",
        stats.batches,
        stats.events
    );
    rt.block_on(log.close()).unwrap();
    let mut got: Vec<_> = logged(&fx, EventFilter::default());
    got.sort_by_key(|e| e.event_id);
    assert_eq!(got, (0..n).map(event).collect::<Vec<_>>());
    verify(fx.path(), &log.public_key()).unwrap();
}

/// The log outlives the runtimes that use it: after one shuts down, requests from another (a
/// multi-thread or a current-thread one) are written, in order, and the log verifies.
#[test]
fn the_log_serves_one_runtime_after_another() {
    let fx = Fixture::new();
    let log = fx.open(AuditOptions::default());
    let first = rt();
    record_all(&first, &log, 0, 3);
    drop(first);
    let second = rt();
    record_all(&second, &log, 3, 3);
    second.block_on(log.flush()).unwrap();
    let current = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    record_all(&current, &log, 6, 2);
    current.block_on(log.close()).unwrap();
    assert_eq!(
        logged(&fx, EventFilter::default()),
        (0..8).map(event).collect::<Vec<_>>()
    );
    let report = verify(fx.path(), &log.public_key()).unwrap();
    assert!(report.is_sealed());
}

/// Closing while requests are in flight: every request that was answered `Ok` is in the log,
/// every refused one is not, and the log is sealed and verifies.
#[test]
fn closing_under_load_keeps_exactly_the_acknowledged_events() {
    let fx = Fixture::new();
    let rt = rt();
    let log = Arc::new(fx.open(AuditOptions::default()));
    let n = 300u32;
    let acknowledged = rt.block_on(async {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let log = Arc::clone(&log);
                tokio::spawn(async move { (i, log.record(event(i)).await) })
            })
            .collect();
        tokio::task::yield_now().await;
        log.close().await.unwrap();
        let mut acknowledged = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                (i, Ok(())) => acknowledged.push(event(i)),
                (_, Err(AuditError::Closed)) => {}
                (i, Err(e)) => panic!("event {i}: {e}"),
            }
        }
        acknowledged
    });
    let mut got = logged(&fx, EventFilter::default());
    got.sort_by_key(|e| e.event_id);
    let mut acknowledged = acknowledged;
    acknowledged.sort_by_key(|e| e.event_id);
    assert_eq!(got, acknowledged);
    assert!(verify(fx.path(), &log.public_key()).unwrap().is_sealed());
}
