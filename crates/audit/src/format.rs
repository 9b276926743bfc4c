//! The on-disk format: segment names, record lines, the hash chain and the signed digest.
//! [`crate`]'s module docs describe it for operators; this module is the one implementation
//! the writer, the verifier and the reader share.

use crate::event::{AuditEvent, EventTime};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use strongroom_crypto::digest::sha256;

/// The file-name prefix of a segment.
pub(crate) const SEGMENT_PREFIX: &str = "segment-";
/// The file-name suffix of a segment.
pub(crate) const SEGMENT_SUFFIX: &str = ".jsonl";
/// Digits of the segment number in its name.
const SEGMENT_DIGITS: usize = 8;
/// The largest segment number (eight digits keep names sorting in order).
pub(crate) const MAX_SEGMENT: u32 = 99_999_999;

/// The longest line the verifier and the reader accept (16 MiB); the writer refuses events
/// whose line would be longer.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// The `prev` of the very first record: 64 zeros.
pub(crate) const GENESIS_PREV: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// The domain-separation line that starts the signed form of a digest.
const DIGEST_SIGNING_LABEL: &str = "strongroom-audit-digest-v1";

/// The file name of segment `n`: `segment-00000001.jsonl`.
pub(crate) fn segment_name(n: u32) -> String {
    format!("{SEGMENT_PREFIX}{n:0SEGMENT_DIGITS$}{SEGMENT_SUFFIX}")
}

/// The number of a segment file name, if `name` is one.
pub(crate) fn parse_segment_name(name: &str) -> Option<u32> {
    let digits = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != SEGMENT_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A segment file found in the log directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentFile {
    /// Its number.
    pub(crate) number: u32,
    /// Its path.
    pub(crate) path: PathBuf,
    /// Its file name.
    pub(crate) name: String,
}

/// Why the directory listing failed.
#[derive(Debug)]
pub(crate) enum ListError {
    /// Reading the directory failed.
    Io(std::io::Error),
    /// A file looks like a segment but its name is not one the writer produces.
    BadName(String),
}

/// The segment files of `dir`, ordered by number. Other files (the keys, the lock) are ignored;
/// a file named `segment-*` that is not exactly a segment name is an error, so a renamed
/// segment cannot slip out of the verifier's sight.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<SegmentFile>, ListError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(ListError::Io)? {
        let entry = entry.map_err(ListError::Io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(SEGMENT_PREFIX) {
            continue;
        }
        match parse_segment_name(&name) {
            Some(number) => out.push(SegmentFile {
                number,
                path: entry.path(),
                name,
            }),
            None => return Err(ListError::BadName(name)),
        }
    }
    out.sort_by_key(|s| s.number);
    Ok(out)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    strongroom_crypto::hex::encode(bytes)
}

/// The chain hash of a line: hex SHA-256 of its bytes without the terminating newline.
pub(crate) fn line_hash(line: &[u8]) -> String {
    hex(&sha256(line))
}

/// Builds an event line (without the newline) from the already serialized event.
#[cfg(test)]
pub(crate) fn event_line(seq: u64, prev: &str, event_json: &[u8]) -> Vec<u8> {
    let mut line = Vec::new();
    write_event_line(&mut line, seq, prev, event_json);
    line
}

/// Appends an event line (without the newline) to `out`.
pub(crate) fn write_event_line(out: &mut Vec<u8>, seq: u64, prev: &str, event_json: &[u8]) {
    use std::io::Write as _;
    out.reserve(event_json.len() + 110);
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{{\"seq\":{seq},\"prev\":\"{prev}\",\"event\":");
    out.extend_from_slice(event_json);
    out.push(b'}');
}

/// The `digest` member of a digest record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DigestBody {
    pub(crate) first_seq: u64,
    pub(crate) last_seq: u64,
    pub(crate) count: u64,
    pub(crate) from_time: String,
    pub(crate) to_time: String,
    pub(crate) head: String,
    pub(crate) previous_digest: Option<String>,
    pub(crate) public_key_fingerprint: String,
    pub(crate) signature: String,
}

/// The fields a digest signs, before the signature exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestFields {
    /// The digest record's own `seq`.
    pub(crate) seq: u64,
    pub(crate) first_seq: u64,
    pub(crate) last_seq: u64,
    pub(crate) count: u64,
    pub(crate) from_time: EventTime,
    pub(crate) to_time: EventTime,
    pub(crate) head: String,
    pub(crate) previous_digest: Option<String>,
    pub(crate) public_key_fingerprint: String,
}

impl DigestFields {
    /// The exact bytes the Ed25519 signature covers: the label and then one `name=value` line
    /// per field, each ending in `\n`, in this order (`previousDigest=null` for the first).
    pub(crate) fn signing_bytes(&self) -> Vec<u8> {
        format!(
            "{DIGEST_SIGNING_LABEL}\nseq={}\nfirstSeq={}\nlastSeq={}\ncount={}\nfromTime={}\n\
             toTime={}\nhead={}\npreviousDigest={}\npublicKeyFingerprint={}\n",
            self.seq,
            self.first_seq,
            self.last_seq,
            self.count,
            self.from_time,
            self.to_time,
            self.head,
            self.previous_digest.as_deref().unwrap_or("null"),
            self.public_key_fingerprint,
        )
        .into_bytes()
    }

    /// The digest record's line (without the newline), given the signature (base64).
    pub(crate) fn line(&self, prev: &str, signature_b64: String) -> Vec<u8> {
        let record = DigestRecordOut {
            seq: self.seq,
            prev,
            digest: DigestBody {
                first_seq: self.first_seq,
                last_seq: self.last_seq,
                count: self.count,
                from_time: self.from_time.to_string(),
                to_time: self.to_time.to_string(),
                head: self.head.clone(),
                previous_digest: self.previous_digest.clone(),
                public_key_fingerprint: self.public_key_fingerprint.clone(),
                signature: signature_b64,
            },
        };
        // Serializing plain strings and integers cannot fail; an empty line would be refused by
        // every reader, so the fallback is never silently accepted.
        serde_json::to_vec(&record).unwrap_or_default()
    }
}

#[derive(Serialize)]
struct DigestRecordOut<'a> {
    seq: u64,
    prev: &'a str,
    digest: DigestBody,
}

/// A parsed line: the envelope with either an event or a digest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    seq: u64,
    prev: String,
    #[serde(default)]
    event: Option<Box<AuditEvent>>,
    #[serde(default)]
    digest: Option<DigestBody>,
}

/// What a parsed line holds.
#[derive(Debug)]
pub(crate) enum Body {
    Event(Box<AuditEvent>),
    Digest(DigestBody),
}

/// A line split into its envelope and body.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) seq: u64,
    pub(crate) prev: String,
    pub(crate) body: Body,
}

/// Parses a line (without its newline). Exactly one of `event` and `digest` must be present.
pub(crate) fn parse_record(line: &[u8]) -> Result<Record, String> {
    let raw: RawRecord = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let body = match (raw.event, raw.digest) {
        (Some(e), None) => Body::Event(e),
        (None, Some(d)) => Body::Digest(d),
        (None, None) => return Err("neither \"event\" nor \"digest\"".to_owned()),
        (Some(_), Some(_)) => return Err("both \"event\" and \"digest\"".to_owned()),
    };
    Ok(Record {
        seq: raw.seq,
        prev: raw.prev,
        body,
    })
}

/// One line read from a segment.
#[derive(Debug)]
pub(crate) enum Line {
    /// A line with its newline (removed).
    Complete(Vec<u8>),
    /// The content ends without a newline after these bytes (at the end of the file or where
    /// the zero padding starts): a torn (or truncated) last line.
    Torn(usize),
    /// More than [`MAX_LINE_BYTES`] without a newline.
    TooLong,
}

/// Where a segment's content stopped before the end of its file: the writer preallocates the
/// open segment with zero bytes, so its content is followed by zeros until it is sealed (or,
/// after a crash, until the log is reopened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Padding {
    /// The offset of the first zero byte (the content's length).
    pub(crate) offset: u64,
    /// Whether every byte from there to the end of the file is zero. A non-zero byte after
    /// the padding started is either a write a crash left unfinished (never acknowledged) or
    /// tampering.
    pub(crate) clean: bool,
}

/// Reads a segment line by line, never holding more than one line of at most
/// [`MAX_LINE_BYTES`]. The content ends at the end of the file or at the first zero byte
/// (see [`Padding`]), whichever comes first.
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Bytes consumed so far.
    offset: u64,
    padding: Option<Padding>,
}

impl<R: std::io::BufRead> LineReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            offset: 0,
            padding: None,
        }
    }

    /// The next line, or `None` at the end of the content.
    pub(crate) fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        use std::io::{BufRead as _, Read as _};
        if self.padding.is_some() {
            return Ok(None);
        }
        self.buf.clear();
        let n = (&mut self.inner)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(zero) = self.buf.iter().position(|&b| b == 0) {
            let clean = self.buf[zero..].iter().all(|&b| b == 0) && self.rest_is_zero()?;
            self.padding = Some(Padding {
                offset: self.offset + zero as u64,
                clean,
            });
            self.offset += zero as u64;
            return Ok((zero > 0).then_some(Line::Torn(zero)));
        }
        self.offset += n as u64;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            return Ok(Some(Line::Complete(std::mem::take(&mut self.buf))));
        }
        if n > MAX_LINE_BYTES {
            return Ok(Some(Line::TooLong));
        }
        Ok(Some(Line::Torn(n)))
    }

    /// The zero padding the content ended at, if it did (after `next_line` returned `None`
    /// or a torn line).
    pub(crate) fn padding(&self) -> Option<Padding> {
        self.padding
    }

    /// Reads the rest of the file, checking it is all zeros.
    fn rest_is_zero(&mut self) -> std::io::Result<bool> {
        loop {
            let chunk = self.inner.fill_buf()?;
            if chunk.is_empty() {
                return Ok(true);
            }
            if chunk.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            let n = chunk.len();
            self.inner.consume(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_and_parse() {
        assert_eq!(segment_name(1), "segment-00000001.jsonl");
        assert_eq!(parse_segment_name("segment-00000001.jsonl"), Some(1));
        assert_eq!(
            parse_segment_name(&segment_name(MAX_SEGMENT)),
            Some(MAX_SEGMENT)
        );
        assert!(segment_name(9) < segment_name(10));
        for bad in [
            "segment-1.jsonl",
            "segment-0000000a.jsonl",
            "segment-00000001.json",
            "segment-000000001.jsonl",
            "segment-+0000001.jsonl",
        ] {
            assert_eq!(parse_segment_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_and_line_hash() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(
            line_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(GENESIS_PREV.len(), 64);
    }

    #[test]
    fn event_lines_parse_back() {
        let event = crate::event::tests::sample();
        let json = serde_json::to_vec(&event).unwrap();
        let line = event_line(7, GENESIS_PREV, &json);
        let r = parse_record(&line).unwrap();
        assert_eq!(r.seq, 7);
        assert_eq!(r.prev, GENESIS_PREV);
        assert!(matches!(r.body, Body::Event(e) if *e == event));
        assert!(parse_record(br#"{"seq":1,"prev":"x"}"#).is_err());
        assert!(parse_record(br#"{"seq":1,"prev":"x","event":{}}"#).is_err());
        let extra = [&line[..line.len() - 1], b",\"extra\":1}"].concat();
        assert!(parse_record(&extra).is_err());
        let both = [&line[..line.len() - 1], b",\"digest\":null}"].concat();
        assert!(
            parse_record(&both).is_ok(),
            "a null digest is an absent one"
        );
    }

    #[test]
    fn digest_lines_round_trip_and_sign_a_fixed_text() {
        let t = EventTime::parse("2026-11-29T08:00:00Z").unwrap();
        let f = DigestFields {
            seq: 4,
            first_seq: 1,
            last_seq: 3,
            count: 3,
            from_time: t,
            to_time: t,
            head: "ab".into(),
            previous_digest: None,
            public_key_fingerprint: "cd".into(),
        };
        assert_eq!(
            String::from_utf8(f.signing_bytes()).unwrap(),
            "strongroom-audit-digest-v1\nseq=4\nfirstSeq=1\nlastSeq=3\ncount=3\n\
             fromTime=2026-11-29T08:00:00Z\ntoTime=2026-11-29T08:00:00Z\nhead=ab\n\
             previousDigest=null\npublicKeyFingerprint=cd\n"
        );
        let line = f.line("ab", "c2ln".into());
        assert_eq!(
            String::from_utf8(line.clone()).unwrap(),
            "{\"seq\":4,\"prev\":\"ab\",\"digest\":{\"firstSeq\":1,\"lastSeq\":3,\"count\":3,\
             \"fromTime\":\"2026-11-29T08:00:00Z\",\"toTime\":\"2026-11-29T08:00:00Z\",\
             \"head\":\"ab\",\"previousDigest\":null,\"publicKeyFingerprint\":\"cd\",\
             \"signature\":\"c2ln\"}}"
        );
        let r = parse_record(&line).unwrap();
        assert!(matches!(r.body, Body::Digest(d) if d.count == 3 && d.signature == "c2ln"));
    }

    fn lines_of(bytes: &[u8]) -> (Vec<String>, LineReader<&[u8]>) {
        let mut r = LineReader::new(bytes);
        let mut out = Vec::new();
        while let Some(line) = r.next_line().unwrap() {
            out.push(match line {
                Line::Complete(b) => String::from_utf8(b).unwrap(),
                Line::Torn(n) => format!("torn {n}"),
                Line::TooLong => "too long".to_owned(),
            });
        }
        (out, r)
    }

    #[test]
    fn content_ends_at_the_end_of_the_file_or_at_zero_padding() {
        let (lines, r) = lines_of(b"a\nbc\n");
        assert_eq!(lines, ["a", "bc"]);
        assert_eq!(r.padding(), None);

        let (lines, r) = lines_of(b"a\nbc");
        assert_eq!(lines, ["a", "torn 2"]);
        assert_eq!(r.padding(), None);

        let (lines, r) = lines_of(b"a\nbc\n\0\0\0\0");
        assert_eq!(lines, ["a", "bc"]);
        let clean = Some(Padding {
            offset: 5,
            clean: true,
        });
        assert_eq!(r.padding(), clean);

        // A line cut short by the padding is torn; a newline after the zeros is not padding.
        let (lines, r) = lines_of(b"a\nbc\0\0\n\0");
        assert_eq!(lines, ["a", "torn 2"]);
        assert_eq!(
            r.padding(),
            Some(Padding {
                offset: 4,
                clean: false
            })
        );
        let (lines, r) = lines_of(b"a\nbc\0\0\0");
        assert_eq!(lines, ["a", "torn 2"]);
        assert_eq!(
            r.padding(),
            Some(Padding {
                offset: 4,
                clean: true
            })
        );

        // Anything but zeros after the padding started makes it unclean.
        let (lines, r) = lines_of(b"a\n\0\0{\"seq\":2}\n");
        assert_eq!(lines, ["a"]);
        assert_eq!(
            r.padding(),
            Some(Padding {
                offset: 2,
                clean: false
            })
        );
    }
}
