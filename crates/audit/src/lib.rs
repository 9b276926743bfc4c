//! The audit trail: every request becomes a CloudTrail-shaped [`AuditEvent`], written durably
//! (fsync) before the response leaves, in a log that is tamper-evident and verifiable offline.
//!
//! This crate knows nothing of KMS operations or HTTP: its callers build the events. It has
//! three parts:
//! - [`AuditLog`], the writer: [`AuditLog::record`] returns once the event is on disk, with
//!   group commit (one writer thread, one sync per batch of concurrent events);
//! - [`verify`], the offline verifier: checks the hash chain and the signed digests against a
//!   pinned public key and names the first bad record;
//! - [`events`] and [`export_cloudtrail`], the reader: filtered queries and CloudTrail's
//!   `{"Records": […]}` export.
//!
//! # Files
//!
//! The caller passes a directory (normally `DATA_DIR/audit`) holding:
//!
//! | file | content |
//! |---|---|
//! | `segment-00000001.jsonl`, `segment-00000002.jsonl`, … | the log, one JSON record per line; names sort in order |
//! | `signing-key` | `SRAUDSK1` ‖ the Ed25519 digest signing key (PKCS#8 v2) wrapped under the root key (AES-256-GCM, associated data `strongroom/audit/signing-key/v1`); mode 0600 |
//! | `public-key` | the signing key's public half, PEM `PUBLIC KEY` (SubjectPublicKeyInfo; `openssl pkey -pubin -in public-key -text` reads it) |
//! | `lock` | held (`flock`) by the one writer |
//!
//! The key pair is created when the directory is first opened and reused afterwards; opening
//! fails if `signing-key` does not unwrap under the root key, if `public-key` does not match it,
//! or if `signing-key` is missing while segments exist (a new key could not continue the log).
//!
//! # Records
//!
//! Every line is one record and ends with `\n`. An event record:
//!
//! ```text
//! {"seq":1,"prev":"0000…0000","event":{"eventVersion":"1.08","userIdentity":{…},…}}
//! ```
//!
//! - `seq` numbers records (events and digests) from 1, without gaps, across all segments.
//! - `prev` is the lower-case hex SHA-256 of the previous line's bytes (without its newline);
//!   for `seq` 1 it is 64 zeros. The first line of a segment chains to the last line of the
//!   segment before, so the chain runs through the whole log.
//! - `event` is the [`AuditEvent`] exactly as CloudTrail would show it.
//!
//! A digest record signs everything since the previous digest:
//!
//! ```text
//! {"seq":9,"prev":"<hex>","digest":{"firstSeq":5,"lastSeq":8,"count":4,
//!   "fromTime":"2026-11-29T08:00:00Z","toTime":"2026-11-29T08:00:03Z","head":"<hex>",
//!   "previousDigest":"<hex>"|null,"publicKeyFingerprint":"<hex>","signature":"<base64>"}}
//! ```
//!
//! - `firstSeq`..`lastSeq` are the event records it covers (all records since the previous
//!   digest; `lastSeq` is the digest's own `seq` − 1) and `count` their number;
//! - `fromTime`/`toTime` are the earliest and latest `eventTime` among them;
//! - `head` is the chain hash of the last covered line (equal to the digest's `prev`);
//! - `previousDigest` is the chain hash of the previous digest line (`null` for the first);
//! - `publicKeyFingerprint` is the hex SHA-256 of the 32-byte Ed25519 public key;
//! - `signature` is the base64 Ed25519 signature of this exact text (each line ends in `\n`):
//!
//! ```text
//! strongroom-audit-digest-v1
//! seq=<digest seq>
//! firstSeq=<n>
//! lastSeq=<n>
//! count=<n>
//! fromTime=<time>
//! toTime=<time>
//! head=<hex>
//! previousDigest=<hex or null>
//! publicKeyFingerprint=<hex>
//! ```
//!
//! A digest line must be byte-for-byte the form the writer produces (member order as above,
//! no spaces), so that a signed digest leaves nothing to vary.
//!
//! The segment being written is **preallocated**: its lines are followed by zero bytes, a few
//! MiB at a time, so that a sync overwrites blocks that already exist instead of growing the
//! file (which would also commit the file system's journal). A segment's content ends at its
//! first zero byte; the zeros are cut off when the segment is sealed, so only the last
//! segment of a running (or crashed) log has them. Readers and the verifier stop there; the
//! verifier reports zeros in any other segment, and anything but zeros after them.
//!
//! The writer appends a digest when `digest_interval` (default 60 s) has passed since the first
//! event it would cover, after `digest_every_records` events (default 10,000), when it closes a
//! segment, at clean shutdown ([`AuditLog::close`], or dropping the log) and when it reopens a
//! log whose last records have none (after a crash). A segment is closed, with a digest as its
//! last line, when it reaches `max_segment_bytes` (default 64 MiB) or `max_segment_age`
//! (default 1 hour); so every segment but the last ends with a digest. Each open of the log
//! starts a new segment.
//!
//! # Durability
//!
//! [`AuditLog::record`] returns after the event's line is on stable storage: written with one
//! direct `O_DIRECT | O_DSYNC` write of whole blocks where the file system allows it, otherwise
//! written and `fdatasync`ed (and, for a new segment, the directory fsynced). One writer thread
//! takes every queued event, writes them, syncs once and then wakes all their callers (group
//! commit), so the cost of a sync is shared by all the requests that arrived while the
//! previous one ran. Under load (a commit that answered four requests or more) it waits as long
//! as that sync took, at most 1 ms, before taking the next batch, so that batches grow and
//! syncs become fewer; a lone client is never delayed.
//! The default is fail-closed: an error from `record` means the request gets no answer, and
//! after a failed write or sync the writer refuses everything ([`AuditError::Failed`]) until the
//! log is reopened, because the state of a file after a failed `fsync` is unknown.
//! [`AuditOptions::best_effort`] trades that for latency (documented there).
//!
//! After a crash, [`AuditLog::open`] truncates the last segment after its last complete line:
//! a torn final line, the zero padding, and whatever a crash left after the padding (pages of a
//! write that reached the disk out of order; no response was sent for any of it, since the
//! sync had not returned). What it drops, other than zeros, is kept in
//! `dropped-segment-NNNNNNNN-<offset>` beside the log (complete lines among it are logged as an
//! error: after a crash they are the pages of one unacknowledged write, anything more means the
//! disk lost data). It recovers `seq` and the chain hash from the last valid line and
//! continues the chain. A complete line that does not parse or chain is not a
//! crash artefact: opening fails with [`AuditError::Corrupt`] and nothing is repaired.
//!
//! # Trust model
//!
//! The hash chain makes every record depend on all before it; the digests sign the chain with a
//! key that exists only wrapped under the root key. Verified against the right public key,
//! [`verify`] detects, and names the first bad record of:
//! - an edited record (any byte of any line), a deleted, inserted or reordered record;
//! - a line cut short, a segment cut short or emptied (every segment but the last must end with
//!   a digest), a missing, renamed or reordered segment, a deleted leading segment;
//! - an edited, removed or forged digest, and a log re-signed with another key.
//!
//! What it cannot detect on its own:
//! - **Records after the last digest** are protected only by the chain: someone able to write
//!   the files can change or drop them together with everything after them. They are reported
//!   as [`VerifyReport::uncovered`] (an error with [`VerifyOptions::require_sealed`], for a log
//!   known to be closed); digests come at least every `digest_interval` while events arrive.
//! - **Truncation at a digest boundary** (dropping whole trailing segments or the last digests
//!   and what follows) leaves a shorter log that verifies. Keep the latest digest (its
//!   [`VerifyReport::last_digest`] `seq` and hash) outside the machine and check that later
//!   verifications reach at least that far.
//! - **The public key**: the `public-key` file lives next to the log, so whoever can rewrite the
//!   log can replace it and re-sign everything with a key of their own. The operator must keep a
//!   copy of the public key elsewhere (pin it) and verify with that copy;
//!   [`read_public_key`] is a convenience for a key that is already trusted.
//! - **Someone holding the root key** can unwrap the signing key and forge digests; the audit
//!   log protects against tampering with the files, not against a compromised server.
//!
//! Event contents are the caller's responsibility: never put secrets, plaintexts or key
//! material in `requestParameters` or `responseElements` (CloudTrail does not either).
#![forbid(unsafe_code)]

mod direct;
mod error;
mod event;
mod format;
mod keys;
mod reader;
mod verify;
mod writer;

pub use error::AuditError;
pub use event::{
    AuditEvent, EVENT_VERSION, EventTime, EventType, KMS_EVENT_SOURCE, KMS_KEY_RESOURCE_TYPE,
    MANAGEMENT_CATEGORY, Resource, SessionAttributes, SessionContext, SessionIssuer, UserIdentity,
};
pub use keys::{
    PUBLIC_KEY_FILE, SIGNING_KEY_FILE, parse_public_key, public_key_pem, read_public_key,
};
pub use reader::{
    ErrorCodeFilter, EventFilter, Events, LogPosition, LoggedEvent, LookupFilter, NewestPage,
    PAGE_READ_BUDGET, ReadError, events, export_cloudtrail, lookup_username, newest_events,
    write_cloudtrail,
};
pub use strongroom_crypto::signing::Ed25519PublicKey;
pub use verify::{
    DigestSummary, Finding, Location, Problem, Uncovered, VerifyError, VerifyOptions, VerifyReport,
    verify, verify_with,
};
pub use writer::{AuditLog, AuditObserver, AuditOptions, AuditStats, FsyncHook};
