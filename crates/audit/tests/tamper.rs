//! Every kind of tampering is detected, and the verifier names the first bad record.
#![cfg(test)]

mod common;

use common::*;
use strongroom_audit::*;

fn built() -> (Fixture, Ed25519PublicKey) {
    let fx = Fixture::new();
    let rt = rt();
    let log = fx.open(AuditOptions {
        max_segment_bytes: 8_000,
        digest_every_records: 5,
        ..AuditOptions::default()
    });
    let pk = log.public_key();
    record_all(&rt, &log, 0, 24);
    rt.block_on(log.close()).unwrap();
    verify(fx.path(), &pk).unwrap();
    (fx, pk)
}

// The log `built` makes (E = event, D = digest, by seq):
//   segment-00000001.jsonl: E1 E2 E3 E4 E5 D6 E7 E8 D9
//   segment-00000002.jsonl: E10 E11 E12 E13 E14 D15 E16 E17 D18
//   segment-00000003.jsonl: E19 E20 E21 E22 E23 D24 E25 E26 D27
//   segment-00000004.jsonl: E28 E29 E30 D31

fn seg(fx: &Fixture, n: u32) -> std::path::PathBuf {
    fx.path().join(format!("segment-{n:08}.jsonl"))
}

fn finding(fx: &Fixture, pk: &Ed25519PublicKey) -> Finding {
    let err = verify(fx.path(), pk).unwrap_err();
    let f = err.finding().cloned().unwrap_or_else(|| panic!("{err}"));
    // The message names the place.
    assert!(err.to_string().contains(&f.location.segment), "{err}");
    f
}

fn at(segment: u32, line: u64, seq: Option<u64>) -> Location {
    Location {
        segment: format!("segment-{segment:08}.jsonl"),
        line,
        seq,
    }
}

/// Applies `f` to line `line` (1-based) of segment `n`.
fn edit_line(fx: &Fixture, n: u32, line: usize, f: impl FnOnce(&mut Vec<u8>)) {
    let path = seg(fx, n);
    let mut lines = read_lines(&path);
    f(&mut lines[line - 1]);
    write_lines(&path, &lines);
}

fn replace(line: &mut Vec<u8>, from: &str, to: &str) {
    let text = String::from_utf8(line.clone()).unwrap();
    assert!(text.contains(from), "{from} not in {text}");
    *line = text.replacen(from, to, 1).into_bytes();
}

#[test]
fn the_layout_is_as_the_tests_assume() {
    let (fx, _) = built();
    let kinds: Vec<String> = fx
        .segments()
        .iter()
        .map(|s| {
            read_lines(s)
                .iter()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_slice(l).unwrap();
                    let k = if v.get("digest").is_some() { "D" } else { "E" };
                    format!("{k}{}", v["seq"])
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "E1 E2 E3 E4 E5 D6 E7 E8 D9",
            "E10 E11 E12 E13 E14 D15 E16 E17 D18",
            "E19 E20 E21 E22 E23 D24 E25 E26 D27",
            "E28 E29 E30 D31"
        ]
    );
}

#[test]
fn an_edited_event_is_named() {
    let (fx, pk) = built();
    edit_line(&fx, 2, 3, |l| {
        replace(
            l,
            "\"userAgent\":\"aws-cli/2.17\"",
            "\"userAgent\":\"aws-cli/2.18\"",
        )
    });
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(2, 3, Some(12)),
            problem: Problem::Changed
        }
    );
}

#[test]
fn an_edited_event_just_before_a_digest_is_named() {
    let (fx, pk) = built();
    edit_line(&fx, 2, 5, |l| {
        replace(l, "\"readOnly\":true", "\"readOnly\":false")
    });
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(2, 5, Some(14)),
            problem: Problem::Changed
        }
    );
}

#[test]
fn an_edited_first_event_of_a_segment_is_named() {
    let (fx, pk) = built();
    edit_line(&fx, 3, 1, |l| {
        replace(
            l,
            "\"awsRegion\":\"us-east-1\"",
            "\"awsRegion\":\"us-west-2\"",
        )
    });
    assert_eq!(finding(&fx, &pk).location, at(3, 1, Some(19)));
}

#[test]
fn an_edited_prev_field_is_named() {
    let (fx, pk) = built();
    edit_line(&fx, 2, 3, |l| {
        let v: serde_json::Value = serde_json::from_slice(l).unwrap();
        let prev = v["prev"].as_str().unwrap().to_owned();
        let forged: String = prev.chars().rev().collect();
        replace(l, &prev, &forged);
    });
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(2, 3, Some(12)),
            problem: Problem::PrevMismatch
        }
    );
}

#[test]
fn a_deleted_line_is_found_where_it_was() {
    let (fx, pk) = built();
    let path = seg(&fx, 2);
    let mut lines = read_lines(&path);
    lines.remove(2);
    write_lines(&path, &lines);
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(2, 3, Some(13)),
            problem: Problem::SeqMismatch {
                expected: 12,
                found: 13
            }
        }
    );
}

#[test]
fn an_inserted_line_is_named() {
    let (fx, pk) = built();
    let first = read_lines(&seg(&fx, 1)).remove(0);
    let path = seg(&fx, 2);
    let mut lines = read_lines(&path);
    lines.insert(2, first);
    write_lines(&path, &lines);
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(2, 3, Some(1)),
            problem: Problem::SeqMismatch {
                expected: 12,
                found: 1
            }
        }
    );
}

#[test]
fn an_inserted_record_with_a_recomputed_chain_is_caught_by_the_signatures() {
    let (fx, pk) = built();
    let path = seg(&fx, 2);
    let mut lines = read_lines(&path);
    let mut forged = lines[1].clone();
    replace(&mut forged, "\"req-", "\"forged-req-");
    lines.insert(2, forged);
    write_lines(&path, &lines);
    // The attacker renumbers and re-hashes everything and re-signs the digests with a key of
    // their own: the pinned key rejects the first digest.
    let attacker = strongroom_crypto::signing::Ed25519SigningKey::generate(
        &strongroom_crypto::random::SystemRandom,
    )
    .unwrap();
    rechain_and_resign(&fx.path(), &attacker);
    // (The forged log is self-consistent: it verifies with the attacker's key.)
    assert_eq!(
        verify(fx.path(), &attacker.public_key()).unwrap().events,
        25
    );
    let f = finding(&fx, &pk);
    assert_eq!(f.location, at(1, 6, Some(6)));
    assert!(matches!(f.problem, Problem::WrongKey { .. }), "{f}");

    // Claiming the pinned key's fingerprint does not help: the signature does not verify.
    let fp = sha256_hex(pk.as_bytes());
    let afp = sha256_hex(attacker.public_key().as_bytes());
    for path in fx.segments() {
        let text = std::fs::read_to_string(&path).unwrap().replace(&afp, &fp);
        std::fs::write(&path, text).unwrap();
    }
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(1, 6, Some(6)),
            problem: Problem::BadSignature
        }
    );
}

#[test]
fn swapped_lines_are_named() {
    let (fx, pk) = built();
    let path = seg(&fx, 2);
    let mut lines = read_lines(&path);
    lines.swap(1, 2);
    write_lines(&path, &lines);
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(2, 2, Some(12)),
            problem: Problem::SeqMismatch {
                expected: 11,
                found: 12
            }
        }
    );
}

#[test]
fn a_file_truncated_mid_line_is_named() {
    for (n, line) in [(4u32, 2usize), (2, 4)] {
        let (fx, pk) = built();
        let path = seg(&fx, n);
        let lines = read_lines(&path);
        let keep: usize = lines[..line - 1].iter().map(|l| l.len() + 1).sum::<usize>()
            + lines[line - 1].len() / 2;
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..keep]).unwrap();
        assert_eq!(
            finding(&fx, &pk),
            Finding {
                location: at(n, line as u64, None),
                problem: Problem::TornLine
            },
            "segment {n}"
        );
    }
}

#[test]
fn a_segment_cut_at_a_line_boundary_is_named() {
    let (fx, pk) = built();
    let path = seg(&fx, 2);
    let mut lines = read_lines(&path);
    lines.truncate(7);
    write_lines(&path, &lines);
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(2, 7, Some(16)),
            problem: Problem::SegmentNotSealed
        }
    );
}

#[test]
fn a_deleted_middle_segment_is_named() {
    let (fx, pk) = built();
    std::fs::remove_file(seg(&fx, 2)).unwrap();
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(3, 0, None),
            problem: Problem::MissingSegment { expected: 2 }
        }
    );
}

#[test]
fn a_deleted_first_segment_is_named() {
    let (fx, pk) = built();
    std::fs::remove_file(seg(&fx, 1)).unwrap();
    assert_eq!(
        finding(&fx, &pk).problem,
        Problem::MissingSegment { expected: 1 }
    );
}

#[test]
fn reordered_segments_are_named() {
    let (fx, pk) = built();
    let tmp = fx.path().join("swap");
    std::fs::rename(seg(&fx, 2), &tmp).unwrap();
    std::fs::rename(seg(&fx, 3), seg(&fx, 2)).unwrap();
    std::fs::rename(&tmp, seg(&fx, 3)).unwrap();
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(2, 1, Some(19)),
            problem: Problem::SeqMismatch {
                expected: 10,
                found: 19
            }
        }
    );
}

#[test]
fn a_duplicated_or_renamed_segment_is_named() {
    let (fx, pk) = built();
    std::fs::copy(seg(&fx, 4), seg(&fx, 5)).unwrap();
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(5, 1, Some(28)),
            problem: Problem::SeqMismatch {
                expected: 32,
                found: 28
            }
        }
    );
    std::fs::rename(seg(&fx, 5), fx.path().join("segment-5.jsonl")).unwrap();
    assert_eq!(finding(&fx, &pk).problem, Problem::UnexpectedFile);
}

#[test]
fn an_edited_digest_is_named() {
    let (fx, pk) = built();
    edit_line(&fx, 2, 6, |l| replace(l, "\"count\":5", "\"count\":4"));
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(2, 6, Some(15)),
            problem: Problem::BadSignature
        }
    );
}

#[test]
fn a_digest_with_a_changed_signature_prev_or_spacing_is_named() {
    let (fx, pk) = built();
    edit_line(&fx, 3, 6, |l| {
        replace(l, "\"signature\":\"", "\"signature\":\"A")
    });
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(3, 6, Some(24)),
            problem: Problem::BadSignature
        }
    );

    let (fx, pk) = built();
    edit_line(&fx, 3, 6, |l| {
        let v: serde_json::Value = serde_json::from_slice(l).unwrap();
        let prev = v["prev"].as_str().unwrap().to_owned();
        replace(
            l,
            &format!("\"prev\":\"{prev}\""),
            &format!("\"prev\":\"{}\"", "f".repeat(64)),
        );
    });
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(3, 6, Some(24)),
            problem: Problem::PrevMismatch
        }
    );

    let (fx, pk) = built();
    edit_line(&fx, 3, 6, |l| replace(l, "\"count\":", "\"count\": "));
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(3, 6, Some(24)),
            problem: Problem::NonCanonicalDigest
        }
    );
}

#[test]
fn a_deleted_digest_is_named() {
    let (fx, pk) = built();
    let path = seg(&fx, 2);
    let mut lines = read_lines(&path);
    lines.remove(5);
    write_lines(&path, &lines);
    assert_eq!(
        finding(&fx, &pk),
        Finding {
            location: at(2, 6, Some(16)),
            problem: Problem::SeqMismatch {
                expected: 15,
                found: 16
            }
        }
    );
}

#[test]
fn another_public_key_rejects_the_first_digest() {
    let (fx, _) = built();
    let other = strongroom_crypto::signing::Ed25519SigningKey::generate(
        &strongroom_crypto::random::SystemRandom,
    )
    .unwrap()
    .public_key();
    let f = finding(&fx, &other);
    assert_eq!(f.location, at(1, 6, Some(6)));
    assert!(matches!(f.problem, Problem::WrongKey { .. }));

    // Replacing the directory's public-key file changes nothing for a pinned verifier.
    let (fx, pk) = built();
    std::fs::write(fx.path().join(PUBLIC_KEY_FILE), public_key_pem(&other)).unwrap();
    verify(fx.path(), &pk).unwrap();
}

#[test]
fn tail_truncation_needs_the_pinned_head_and_an_unsealed_tail_is_reported() {
    // Dropping whole trailing segments leaves a log that verifies (documented); the pinned last
    // digest shows it.
    let (fx, pk) = built();
    let pinned = verify(fx.path(), &pk).unwrap().last_digest.unwrap();
    std::fs::remove_file(seg(&fx, 4)).unwrap();
    let report = verify(fx.path(), &pk).unwrap();
    assert!(report.last_digest.unwrap().seq < pinned.seq);

    // Dropping the last digest leaves records no signature covers.
    let (fx, pk) = built();
    let path = seg(&fx, 4);
    let mut lines = read_lines(&path);
    lines.pop();
    write_lines(&path, &lines);
    let report = verify(fx.path(), &pk).unwrap();
    assert_eq!(
        report.uncovered,
        Some(Uncovered {
            first_seq: 28,
            last_seq: 30,
            count: 3
        })
    );
    assert_eq!(
        verify_with(
            fx.path(),
            &pk,
            VerifyOptions {
                require_sealed: true
            }
        )
        .unwrap_err()
        .finding()
        .cloned()
        .unwrap(),
        Finding {
            location: at(4, 3, Some(30)),
            problem: Problem::NotSealed {
                first_seq: 28,
                count: 3
            }
        }
    );
}
