//! The offline verifier: checks a log directory against a pinned public key and names the
//! first record that is wrong.

use crate::event::EventTime;
use crate::format::{self, Body, DigestBody, DigestFields, GENESIS_PREV, Line, LineReader};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use strongroom_crypto::signing::Ed25519PublicKey;

/// What [`verify_with`] demands beyond the chain and the signatures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Fail if records follow the last digest. A cleanly closed log always ends with a digest;
    /// a live log or one whose writer crashed (and was not reopened) may not. Set this when
    /// verifying a log that is known to be closed (an archive, a stopped server).
    pub require_sealed: bool,
}

/// A summary of a log that verified.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Segment files read.
    pub segments: u32,
    /// Lines (events and digests).
    pub records: u64,
    /// Event records.
    pub events: u64,
    /// Digest records.
    pub digests: u64,
    /// The `seq` of the last record (0 for an empty log).
    pub last_seq: u64,
    /// The chain hash of the last record: pin it, with `last_seq`, to detect a later truncation.
    pub head: Option<String>,
    /// The last digest.
    pub last_digest: Option<DigestSummary>,
    /// Event records after the last digest, which no signature covers yet.
    pub uncovered: Option<Uncovered>,
}

impl VerifyReport {
    /// Whether every event is covered by a signed digest (the log ends with a digest).
    pub fn is_sealed(&self) -> bool {
        self.uncovered.is_none()
    }
}

/// The last digest of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSummary {
    /// The digest record's `seq`.
    pub seq: u64,
    /// The last event it covers.
    pub last_seq: u64,
    /// The latest `eventTime` it covers.
    pub to_time: EventTime,
    /// The chain hash of the digest line.
    pub hash: String,
    /// The segment file holding it.
    pub segment: String,
}

/// Events after the last digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uncovered {
    /// The first of them.
    pub first_seq: u64,
    /// The last of them.
    pub last_seq: u64,
    /// How many.
    pub count: u64,
}

/// Where a problem is: segment file, line (1-based; 0 for the file as a whole) and the line's
/// `seq` when it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The segment's file name.
    pub segment: String,
    /// The line number in the segment, from 1.
    pub line: u64,
    /// The record's `seq`, if the line parsed.
    pub seq: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.segment, self.line)?;
        if let Some(seq) = self.seq {
            write!(f, " (seq {seq})")?;
        }
        Ok(())
    }
}

/// What is wrong with the first bad record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A file named like a segment whose name is not one the writer produces.
    UnexpectedFile,
    /// Segment numbers have a gap: segment `expected` is missing before this one (or the
    /// first segment is not number 1).
    MissingSegment {
        /// The segment number that should come here.
        expected: u32,
    },
    /// A segment other than the last does not end with a digest: its end was cut off.
    SegmentNotSealed,
    /// The line has no terminating newline: the file was truncated (or a crash tore the last
    /// write and the log was not reopened since, or the verifier read a live log in the middle
    /// of a write: verify a closed log, or retry).
    TornLine,
    /// The line is longer than 16 MiB.
    LineTooLong,
    /// The content stops at zero bytes (the padding the writer preallocates in the segment it
    /// is writing), but this segment is not the last one: sealed segments have no padding.
    UnexpectedPadding,
    /// Bytes other than zeros follow the start of the zero padding: the remains of writes a
    /// crash interrupted (never acknowledged; reopening the log removes them), or tampering.
    DataAfterPadding,
    /// The line is not a record.
    Unparsable(String),
    /// The `seq` is not the next number: records were deleted, inserted or reordered here.
    SeqMismatch {
        /// The number that should come here.
        expected: u64,
        /// The number found.
        found: u64,
    },
    /// This record's bytes no longer hash to what the next record (or a signed digest)
    /// recorded for it: the record was changed.
    Changed,
    /// The record's `prev` does not match the record before it, and its own hash no longer
    /// matches the record after it: the record was changed (or inserted).
    PrevMismatch,
    /// A digest names a signing key other than the pinned one.
    WrongKey {
        /// The fingerprint the digest names.
        fingerprint: String,
    },
    /// A digest's signature does not verify with the pinned public key.
    BadSignature,
    /// A digest's line is not byte-for-byte the canonical form of its fields.
    NonCanonicalDigest,
    /// A correctly signed digest disagrees with the records it covers.
    DigestMismatch(String),
    /// Records follow the last digest and the log was required to be sealed.
    NotSealed {
        /// The first record no digest covers.
        first_seq: u64,
        /// How many.
        count: u64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnexpectedFile => f.write_str("a file named like a segment that is not one"),
            Self::MissingSegment { expected } => write!(
                f,
                "segment {} is missing before this one",
                format::segment_name(*expected)
            ),
            Self::SegmentNotSealed => {
                f.write_str("the segment does not end with a digest (records after this were cut off)")
            }
            Self::TornLine => f.write_str("the line has no newline (the file was truncated)"),
            Self::LineTooLong => f.write_str("the line is longer than 16 MiB"),
            Self::UnexpectedPadding => {
                f.write_str("zero padding in a segment that is not the last (it was cut off)")
            }
            Self::DataAfterPadding => f.write_str(
                "data after the zero padding (writes a crash interrupted and the log was not \
                 reopened since, or tampering)",
            ),
            Self::Unparsable(e) => write!(f, "not a record: {e}"),
            Self::SeqMismatch { expected, found } if found > expected => write!(
                f,
                "expected seq {expected}, found {found}: records are missing or out of order"
            ),
            Self::SeqMismatch { expected, found } => write!(
                f,
                "expected seq {expected}, found {found}: a record was inserted or reordered"
            ),
            Self::Changed => f.write_str(
                "the record was changed: its hash does not match what the next record or digest recorded",
            ),
            Self::PrevMismatch => f.write_str(
                "the record was changed or inserted: its prev does not match the record before it",
            ),
            Self::WrongKey { fingerprint } => write!(
                f,
                "the digest names signing key {fingerprint}, not the pinned public key"
            ),
            Self::BadSignature => f.write_str("the digest's signature does not verify"),
            Self::NonCanonicalDigest => f.write_str("the digest line is not in canonical form"),
            Self::DigestMismatch(what) => write!(f, "the digest does not match its records: {what}"),
            Self::NotSealed { first_seq, count } => write!(
                f,
                "{count} records from seq {first_seq} are not covered by a digest"
            ),
        }
    }
}

/// The first bad record and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where.
    pub location: Location,
    /// What.
    pub problem: Problem,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.problem)
    }
}

/// Why a log did not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The log is not intact; this is the first bad record.
    #[error("audit log does not verify: {0}")]
    Invalid(Box<Finding>),
}

impl VerifyError {
    /// The finding, if the log itself is bad (rather than unreadable).
    pub fn finding(&self) -> Option<&Finding> {
        match self {
            Self::Invalid(f) => Some(f),
            Self::Io { .. } => None,
        }
    }
}

/// Verifies the log in `dir` against `public_key` (see [`verify_with`]); records after the
/// last digest are reported in [`VerifyReport::uncovered`], not as an error.
pub fn verify(
    dir: impl AsRef<Path>,
    public_key: &Ed25519PublicKey,
) -> Result<VerifyReport, VerifyError> {
    verify_with(dir, public_key, VerifyOptions::default())
}

/// Verifies the log in `dir` against `public_key`, which should be a copy the operator keeps
/// apart from the log (not the directory's own `public-key` file). Checks that every line
/// parses; that `seq` runs from 1 without gaps across segments numbered from 1 without gaps;
/// that every `prev` is the hash of the line before; that every segment but the last ends with
/// a digest; and that every digest is canonical, names and is signed by `public_key`, chains to
/// the previous digest, and matches the records it covers (range, count, head hash, time span).
/// Reports the first bad record.
pub fn verify_with(
    dir: impl AsRef<Path>,
    public_key: &Ed25519PublicKey,
    options: VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
    let dir = dir.as_ref();
    let segments = format::list_segments(dir).map_err(|e| match e {
        format::ListError::Io(source) => VerifyError::Io {
            path: dir.to_owned(),
            source,
        },
        format::ListError::BadName(name) => invalid(
            Location {
                segment: name,
                line: 0,
                seq: None,
            },
            Problem::UnexpectedFile,
        ),
    })?;
    let mut v = Verifier::new(public_key);
    let count = segments.len();
    for (i, seg) in segments.iter().enumerate() {
        let expected = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if seg.number != expected {
            return Err(invalid(
                Location {
                    segment: seg.name.clone(),
                    line: 0,
                    seq: None,
                },
                Problem::MissingSegment { expected },
            ));
        }
        v.report.segments += 1;
        v.segment(seg, i + 1 == count)?;
    }
    v.finish(options)
}

fn invalid(location: Location, problem: Problem) -> VerifyError {
    VerifyError::Invalid(Box::new(Finding { location, problem }))
}

/// A chain mismatch waiting for the next line to tell which record changed.
struct PendingMismatch {
    /// The record before the one whose `prev` did not match.
    before: Location,
    /// The record whose `prev` did not match, and its hash.
    at: Location,
    at_hash: String,
}

impl PendingMismatch {
    /// Decides with the next record's `prev` (if it has one): if it matches `at`'s hash, `at`
    /// is intact and `before` changed; otherwise `at` itself changed.
    fn resolve(self, next_prev: Option<&str>) -> VerifyError {
        match next_prev {
            Some(p) if p != self.at_hash => invalid(self.at, Problem::PrevMismatch),
            _ => invalid(self.before, Problem::Changed),
        }
    }
}

/// Events since the last digest.
struct Window {
    first_seq: u64,
    count: u64,
    from: EventTime,
    to: EventTime,
}

struct Verifier<'k> {
    key: &'k Ed25519PublicKey,
    fingerprint: String,
    expected_seq: u64,
    /// The previous line's location and hash.
    prev: Option<(Location, String)>,
    pending: Option<PendingMismatch>,
    last_digest_hash: Option<String>,
    window: Option<Window>,
    report: VerifyReport,
}

impl<'k> Verifier<'k> {
    fn new(key: &'k Ed25519PublicKey) -> Self {
        Self {
            key,
            fingerprint: format::hex(&key.fingerprint()),
            expected_seq: 1,
            prev: None,
            pending: None,
            last_digest_hash: None,
            window: None,
            report: VerifyReport::default(),
        }
    }

    fn segment(&mut self, seg: &format::SegmentFile, is_last: bool) -> Result<(), VerifyError> {
        let io = |source| VerifyError::Io {
            path: seg.path.clone(),
            source,
        };
        let mut reader = LineReader::new(BufReader::new(File::open(&seg.path).map_err(io)?));
        let mut line_no = 0u64;
        let mut ended_with_digest = false;
        while let Some(line) = reader.next_line().map_err(io)? {
            line_no += 1;
            let mut loc = Location {
                segment: seg.name.clone(),
                line: line_no,
                seq: None,
            };
            let bytes = match line {
                Line::Complete(bytes) => bytes,
                Line::Torn(_) => return Err(self.fail_at(loc, Problem::TornLine)),
                Line::TooLong => return Err(self.fail_at(loc, Problem::LineTooLong)),
            };
            let record = match format::parse_record(&bytes) {
                Ok(r) => r,
                Err(e) => return Err(self.fail_at(loc, Problem::Unparsable(e))),
            };
            loc.seq = Some(record.seq);
            if let Some(p) = self.pending.take() {
                return Err(p.resolve(Some(&record.prev)));
            }
            if record.seq != self.expected_seq {
                return Err(invalid(
                    loc,
                    Problem::SeqMismatch {
                        expected: self.expected_seq,
                        found: record.seq,
                    },
                ));
            }
            let hash = format::line_hash(&bytes);
            let actual_prev = self
                .prev
                .as_ref()
                .map_or(GENESIS_PREV, |(_, h)| h.as_str())
                .to_owned();
            match record.body {
                Body::Event(event) => {
                    if record.prev != actual_prev {
                        match self.prev.take() {
                            None => return Err(invalid(loc, Problem::PrevMismatch)),
                            Some((before, _)) => {
                                self.pending = Some(PendingMismatch {
                                    before,
                                    at: loc.clone(),
                                    at_hash: hash.clone(),
                                });
                            }
                        }
                    }
                    let t = event.event_time;
                    match &mut self.window {
                        Some(w) => {
                            w.count += 1;
                            w.from = w.from.min(t);
                            w.to = w.to.max(t);
                        }
                        None => {
                            self.window = Some(Window {
                                first_seq: record.seq,
                                count: 1,
                                from: t,
                                to: t,
                            });
                        }
                    }
                    self.report.events += 1;
                    ended_with_digest = false;
                }
                Body::Digest(d) => {
                    let to_time = self.check_digest(
                        &loc,
                        &bytes,
                        record.seq,
                        &record.prev,
                        &d,
                        &actual_prev,
                    )?;
                    self.last_digest_hash = Some(hash.clone());
                    self.report.digests += 1;
                    self.report.last_digest = Some(DigestSummary {
                        seq: record.seq,
                        last_seq: d.last_seq,
                        to_time,
                        hash: hash.clone(),
                        segment: seg.name.clone(),
                    });
                    self.window = None;
                    ended_with_digest = true;
                }
            }
            self.report.records += 1;
            self.report.last_seq = record.seq;
            self.report.head = Some(hash.clone());
            self.expected_seq = record.seq.saturating_add(1);
            self.prev = Some((loc, hash));
        }
        if let Some(padding) = reader.padding() {
            let problem = if !padding.clean {
                Some(Problem::DataAfterPadding)
            } else if !is_last {
                Some(Problem::UnexpectedPadding)
            } else {
                None
            };
            if let Some(problem) = problem {
                let loc = Location {
                    segment: seg.name.clone(),
                    line: line_no + 1,
                    seq: None,
                };
                return Err(self.fail_at(loc, problem));
            }
        }
        if !is_last && !ended_with_digest {
            let loc = self.prev.as_ref().map_or_else(
                || Location {
                    segment: seg.name.clone(),
                    line: 0,
                    seq: None,
                },
                |(l, _)| l.clone(),
            );
            return Err(self.fail_at(loc, Problem::SegmentNotSealed));
        }
        Ok(())
    }

    /// Fails at `loc`, unless an earlier chain mismatch is still undecided: that one is earlier.
    fn fail_at(&mut self, loc: Location, problem: Problem) -> VerifyError {
        match self.pending.take() {
            Some(p) => p.resolve(None),
            None => invalid(loc, problem),
        }
    }

    fn check_digest(
        &self,
        loc: &Location,
        line: &[u8],
        seq: u64,
        prev: &str,
        d: &DigestBody,
        actual_prev: &str,
    ) -> Result<EventTime, VerifyError> {
        let at = |p: Problem| invalid(loc.clone(), p);
        let mismatch = |what: String| at(Problem::DigestMismatch(what));
        if d.public_key_fingerprint != self.fingerprint {
            return Err(at(Problem::WrongKey {
                fingerprint: d.public_key_fingerprint.clone(),
            }));
        }
        let (Some(from_time), Some(to_time)) =
            (EventTime::parse(&d.from_time), EventTime::parse(&d.to_time))
        else {
            return Err(at(Problem::Unparsable(
                "fromTime/toTime is not a UTC time".to_owned(),
            )));
        };
        let fields = DigestFields {
            seq,
            first_seq: d.first_seq,
            last_seq: d.last_seq,
            count: d.count,
            from_time,
            to_time,
            head: d.head.clone(),
            previous_digest: d.previous_digest.clone(),
            public_key_fingerprint: d.public_key_fingerprint.clone(),
        };
        let signature = STANDARD
            .decode(&d.signature)
            .map_err(|_| at(Problem::BadSignature))?;
        self.key
            .verify(&fields.signing_bytes(), &signature)
            .map_err(|_| at(Problem::BadSignature))?;
        if fields.line(prev, d.signature.clone()) != line {
            return Err(at(Problem::NonCanonicalDigest));
        }
        // The digest is authentic from here on: what it says about earlier records is true.
        if d.head != actual_prev {
            let before = self
                .prev
                .as_ref()
                .map_or_else(|| loc.clone(), |(l, _)| l.clone());
            return Err(invalid(before, Problem::Changed));
        }
        if prev != d.head {
            return Err(at(Problem::PrevMismatch));
        }
        if d.previous_digest != self.last_digest_hash {
            return Err(mismatch(
                "previousDigest is not the hash of the previous digest (a digest was removed or replaced)"
                    .to_owned(),
            ));
        }
        let Some(w) = &self.window else {
            return Err(mismatch("it covers no event records".to_owned()));
        };
        if d.first_seq != w.first_seq || d.last_seq != seq.saturating_sub(1) {
            return Err(mismatch(format!(
                "it covers seq {}..={} but the events since the previous digest are {}..={}",
                d.first_seq,
                d.last_seq,
                w.first_seq,
                seq.saturating_sub(1)
            )));
        }
        if d.count != w.count {
            return Err(mismatch(format!(
                "count {} but {} events",
                d.count, w.count
            )));
        }
        if from_time != w.from || to_time != w.to {
            return Err(mismatch(format!(
                "time span {}..{} but the events span {}..{}",
                d.from_time, d.to_time, w.from, w.to
            )));
        }
        Ok(to_time)
    }

    fn finish(mut self, options: VerifyOptions) -> Result<VerifyReport, VerifyError> {
        if let Some(p) = self.pending.take() {
            return Err(p.resolve(None));
        }
        if let Some(w) = &self.window {
            let uncovered = Uncovered {
                first_seq: w.first_seq,
                last_seq: self.report.last_seq,
                count: w.count,
            };
            if options.require_sealed {
                let loc = self
                    .prev
                    .as_ref()
                    .map(|(l, _)| l.clone())
                    .unwrap_or(Location {
                        segment: String::new(),
                        line: 0,
                        seq: None,
                    });
                return Err(invalid(
                    loc,
                    Problem::NotSealed {
                        first_seq: uncovered.first_seq,
                        count: uncovered.count,
                    },
                ));
            }
            self.report.uncovered = Some(uncovered);
        }
        Ok(self.report)
    }
}
