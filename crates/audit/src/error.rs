//! Errors of the writer (the verifier has its own, [`crate::VerifyError`]).

use std::path::{Path, PathBuf};
use strongroom_crypto::CryptoError;

/// Why the audit log could not open or record an event. In the default fail-closed mode the
/// caller treats every error from [`crate::AuditLog::record`] as "no answer": the request's
/// response must not be sent.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file operation failed.
    #[error("audit log {}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The signing key or the public key file is missing, foreign or malformed.
    #[error("audit log signing key: {0}")]
    Key(&'static str),
    /// Generating, wrapping or using the signing key failed.
    #[error("audit log cryptography failed: {0}")]
    Crypto(CryptoError),
    /// The last segment is damaged in a way a crash cannot explain (a complete line that does
    /// not parse or does not chain). Nothing is repaired; run the verifier and investigate.
    #[error("audit log is damaged: {0}")]
    Corrupt(String),
    /// Another writer holds the directory's lock.
    #[error("audit log directory {} is in use by another writer", path.display())]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// Too many events are waiting for the writer; the event was not recorded.
    #[error("audit log queue is full ({0} events waiting)")]
    QueueFull(usize),
    /// The event's line would exceed the format's limit of 16 MiB.
    #[error("audit event too large ({0} bytes)")]
    EventTooLarge(usize),
    /// The event could not be serialized.
    #[error("audit event could not be serialized: {0}")]
    Serialize(String),
    /// The log was closed (or its writer has gone).
    #[error("audit log is closed")]
    Closed,
    /// Writing or syncing this event's batch failed; the event may or may not be on disk.
    #[error("audit log write failed: {0}")]
    Write(String),
    /// An earlier write failed, so the writer stopped accepting events: after a failed
    /// `fsync` the state of the file is unknown. Reopening the log (a restart) recovers.
    #[error("audit log writer stopped after an earlier failure")]
    Failed,
    /// The segment numbers are exhausted (99,999,999 segments).
    #[error("audit log has no segment numbers left")]
    SegmentsExhausted,
}

impl AuditError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}
