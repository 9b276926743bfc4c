//! Property tests: the verifier, the reader and recovery never panic on arbitrary files, and
#![cfg(test)]
//! any single-byte change to a sealed log is detected.

mod common;

use common::*;
use proptest::prelude::*;
use std::sync::OnceLock;
use strongroom_audit::*;

/// A small sealed log, built once: its pinned key and its segment files' bytes.
fn sealed() -> &'static (Ed25519PublicKey, Vec<Vec<u8>>) {
    static LOG: OnceLock<(Ed25519PublicKey, Vec<Vec<u8>>)> = OnceLock::new();
    LOG.get_or_init(|| {
        let fx = Fixture::new();
        let rt = rt();
        let log = fx.open(AuditOptions {
            max_segment_bytes: 3_000,
            digest_every_records: 2,
            ..AuditOptions::default()
        });
        let pk = log.public_key();
        record_all(&rt, &log, 0, 7);
        rt.block_on(log.close()).unwrap();
        let files = fx
            .segments()
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        (pk, files)
    })
}

fn write_segments(dir: &std::path::Path, files: &[Vec<u8>]) {
    for (i, bytes) in files.iter().enumerate() {
        std::fs::write(dir.join(format!("segment-{:08}.jsonl", i + 1)), bytes).unwrap();
    }
}

/// Bytes that are sometimes record-like, sometimes not.
fn contents() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        proptest::collection::vec(
            prop_oneof![
                Just(b"{\"seq\":1,\"prev\":\"".to_vec()),
                Just(b"0000000000000000000000000000000000000000000000000000000000000000".to_vec()),
                Just(b"\",\"event\":{".to_vec()),
                Just(b"\",\"digest\":{\"firstSeq\":1,\"lastSeq\":1,\"count\":1,".to_vec()),
                Just(
                    b"\"fromTime\":\"2026-11-29T08:00:00Z\",\"toTime\":\"2026-11-29T08:00:00Z\","
                        .to_vec()
                ),
                Just(
                    b"\"head\":\"00\",\"previousDigest\":null,\"publicKeyFingerprint\":\"".to_vec()
                ),
                Just(b"\"signature\":\"AAAA\"}}".to_vec()),
                Just(b"}}\n".to_vec()),
                Just(b"\n".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..8),
            ],
            0..30
        )
        .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn verify_and_read_never_panic_on_arbitrary_files(
        files in proptest::collection::vec(contents(), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        write_segments(dir.path(), &files);
        let (pk, _) = sealed();
        let _ = verify(dir.path(), pk);
        let _ = verify_with(dir.path(), pk, VerifyOptions { require_sealed: true });
        for item in events(dir.path(), EventFilter::default()).unwrap() {
            let _ = item;
        }
    }

    #[test]
    fn verify_never_panics_on_a_mangled_real_log(
        seg in 0usize..8, pos in any::<prop::sample::Index>(), junk in contents(),
    ) {
        let (pk, files) = sealed();
        let mut files = files.clone();
        let seg = seg % files.len();
        let at = pos.index(files[seg].len() + 1);
        files[seg].splice(at..at, junk);
        let dir = tempfile::tempdir().unwrap();
        write_segments(dir.path(), &files);
        let _ = verify(dir.path(), pk);
    }

    #[test]
    fn any_single_byte_change_to_a_sealed_log_is_detected(
        seg in 0usize..8, pos in any::<prop::sample::Index>(), byte in any::<u8>(), kind in 0u8..3,
    ) {
        let (pk, files) = sealed();
        let mut files = files.clone();
        let seg = seg % files.len();
        let f = &mut files[seg];
        match kind {
            0 => {
                let i = pos.index(f.len());
                prop_assume!(f[i] != byte);
                f[i] = byte;
            }
            1 => {
                let i = pos.index(f.len() + 1);
                f.insert(i, byte);
            }
            _ => {
                let i = pos.index(f.len());
                f.remove(i);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        write_segments(dir.path(), &files);
        let result = verify(dir.path(), pk);
        prop_assert!(result.is_err(), "undetected: {:?}", result);
    }
}

#[test]
fn the_sealed_fixture_verifies_and_has_several_segments() {
    let (pk, files) = sealed();
    assert!(files.len() >= 2);
    let dir = tempfile::tempdir().unwrap();
    write_segments(dir.path(), files);
    let report = verify(dir.path(), pk).unwrap();
    assert!(report.is_sealed());
    assert_eq!(report.events, 7);
}

#[test]
fn recovery_never_panics_on_arbitrary_last_segments() {
    // Opening the writer on damaged files either works or fails with an error; it never panics.
    let rt = rt();
    let (_, real) = sealed();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let opened = std::cell::Cell::new(0);
    runner
        .run(&(contents(), any::<bool>()), |(bytes, after_real)| {
            let fx = Fixture::new();
            // Create the keys first, so that opening gets as far as the segments.
            rt.block_on(fx.open(AuditOptions::default()).close())
                .unwrap();
            let mut content = if after_real {
                real[0].clone()
            } else {
                Vec::new()
            };
            content.extend_from_slice(&bytes);
            std::fs::write(fx.path().join("segment-00000001.jsonl"), &content).unwrap();
            if let Ok(log) = fx.try_open(AuditOptions::default()) {
                opened.set(opened.get() + 1);
                let _ = rt.block_on(log.close());
            }
            Ok(())
        })
        .unwrap();
    // Some inputs are a valid prefix plus a torn line: those open.
    assert!(opened.get() > 0);
}
