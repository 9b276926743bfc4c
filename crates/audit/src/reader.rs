//! Reading the log back: events across segments, filtered, and CloudTrail's export format.
//!
//! The reader does not verify (run [`crate::verify`] for that); it skips digest records, and a
//! torn last line of the last segment (a write in progress, or a crash) is ignored.

use crate::event::{AuditEvent, EventTime};
use crate::format::{self, Body, Line, LineReader, SegmentFile};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

/// Which `errorCode` an event must have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ErrorCodeFilter {
    /// Any, or none.
    #[default]
    Any,
    /// Some error code (failed requests).
    Present,
    /// No error code (successful requests).
    Absent,
    /// Exactly this one.
    Equals(String),
}

/// Which events a query returns; every condition set must hold. The default matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// A key ARN, or a key id matching the `key/<id>` ARNs, among the event's `resources`.
    pub key: Option<String>,
    /// The caller: `userIdentity.arn`, or for a role session also the role's ARN
    /// (`sessionContext.sessionIssuer.arn`).
    pub principal_arn: Option<String>,
    /// `eventName`.
    pub event_name: Option<String>,
    /// `errorCode`.
    pub error_code: ErrorCodeFilter,
    /// Events at or after this time.
    pub since: Option<EventTime>,
    /// Events before this time.
    pub until: Option<EventTime>,
}

impl EventFilter {
    /// Whether `event` passes the filter.
    pub fn matches(&self, event: &AuditEvent) -> bool {
        if let Some(key) = &self.key {
            let suffix = format!(":key/{key}");
            let hit = event
                .resources
                .iter()
                .any(|r| r.arn == *key || r.arn.ends_with(&suffix));
            if !hit {
                return false;
            }
        }
        if let Some(p) = &self.principal_arn {
            let id = &event.user_identity;
            let issuer = id
                .session_context
                .as_ref()
                .and_then(|s| s.session_issuer.as_ref())
                .map(|i| i.arn.as_str());
            if id.arn.as_deref() != Some(p.as_str()) && issuer != Some(p.as_str()) {
                return false;
            }
        }
        if self
            .event_name
            .as_ref()
            .is_some_and(|n| *n != event.event_name)
        {
            return false;
        }
        let code_ok = match &self.error_code {
            ErrorCodeFilter::Any => true,
            ErrorCodeFilter::Present => event.error_code.is_some(),
            ErrorCodeFilter::Absent => event.error_code.is_none(),
            ErrorCodeFilter::Equals(c) => event.error_code.as_deref() == Some(c.as_str()),
        };
        if !code_ok {
            return false;
        }
        if self.since.is_some_and(|t| event.event_time < t) {
            return false;
        }
        if self.until.is_some_and(|t| event.event_time >= t) {
            return false;
        }
        true
    }
}

/// An event read from the log, with where it was.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// Its record's `seq`.
    pub seq: u64,
    /// The segment file.
    pub segment: String,
    /// The line in the segment, from 1.
    pub line: u64,
    /// The event.
    pub event: AuditEvent,
}

/// Why reading failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line is not a record (reading goes on with the next line).
    #[error("{segment} line {line}: {reason}")]
    Malformed {
        /// The segment file.
        segment: String,
        /// The line, from 1.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

/// The events of the log in `dir` that pass `filter`, in log order.
pub fn events(dir: impl AsRef<Path>, filter: EventFilter) -> Result<Events, ReadError> {
    let dir = dir.as_ref();
    let segments = format::list_segments(dir).map_err(|e| match e {
        format::ListError::Io(source) => ReadError::Io {
            path: dir.to_owned(),
            source,
        },
        format::ListError::BadName(name) => ReadError::Malformed {
            segment: name,
            line: 0,
            reason: "a file named like a segment that is not one".to_owned(),
        },
    })?;
    Ok(Events {
        segments: segments.into(),
        current: None,
        filter,
        done: false,
    })
}

struct Current {
    segment: SegmentFile,
    reader: LineReader<BufReader<File>>,
    line: u64,
}

/// The iterator [`events`] returns. A malformed line yields an error and reading goes on; an
/// I/O error ends the iteration.
pub struct Events {
    segments: VecDeque<SegmentFile>,
    current: Option<Current>,
    filter: EventFilter,
    done: bool,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("segments_left", &self.segments.len())
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Iterator for Events {
    type Item = Result<LoggedEvent, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let cur = match &mut self.current {
                Some(c) => c,
                None => {
                    let seg = self.segments.pop_front()?;
                    match File::open(&seg.path) {
                        Ok(f) => self.current.insert(Current {
                            segment: seg,
                            reader: LineReader::new(BufReader::new(f)),
                            line: 0,
                        }),
                        Err(source) => {
                            self.done = true;
                            return Some(Err(ReadError::Io {
                                path: seg.path,
                                source,
                            }));
                        }
                    }
                }
            };
            let line = match cur.reader.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.current = None;
                    continue;
                }
                Err(source) => {
                    self.done = true;
                    return Some(Err(ReadError::Io {
                        path: cur.segment.path.clone(),
                        source,
                    }));
                }
            };
            cur.line += 1;
            let malformed = |reason: &str| ReadError::Malformed {
                segment: cur.segment.name.clone(),
                line: cur.line,
                reason: reason.to_owned(),
            };
            let bytes = match line {
                Line::Complete(b) => b,
                Line::Torn(_) if self.segments.is_empty() => continue,
                Line::Torn(_) => return Some(Err(malformed("the line has no newline"))),
                Line::TooLong => {
                    // The rest of that line cannot be skipped reliably; go to the next segment.
                    let err = malformed("the line is longer than 16 MiB");
                    self.current = None;
                    return Some(Err(err));
                }
            };
            match format::parse_record(&bytes) {
                Ok(record) => {
                    if let Body::Event(event) = record.body
                        && self.filter.matches(&event)
                    {
                        return Some(Ok(LoggedEvent {
                            seq: record.seq,
                            segment: cur.segment.name.clone(),
                            line: cur.line,
                            event: *event,
                        }));
                    }
                }
                Err(e) => return Some(Err(malformed(&e))),
            }
        }
        None
    }
}

/// Writes `events` as a CloudTrail log file body, `{"Records":[…]}`, and returns how many.
pub fn write_cloudtrail<W: Write>(
    events: impl IntoIterator<Item = AuditEvent>,
    mut out: W,
) -> std::io::Result<usize> {
    out.write_all(b"{\"Records\":[")?;
    let mut n = 0usize;
    for e in events {
        if n > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut out, &e)?;
        n += 1;
    }
    out.write_all(b"]}")?;
    out.flush()?;
    Ok(n)
}

/// Exports the events of `dir` that pass `filter` as CloudTrail's `{"Records":[…]}` to `out`,
/// streaming; stops at the first error. Returns how many events were written.
pub fn export_cloudtrail<W: Write>(
    dir: impl AsRef<Path>,
    filter: EventFilter,
    out: W,
) -> Result<usize, ReadError> {
    let mut first_error = None;
    let iter = events(dir, filter)?.map_while(|r| match r {
        Ok(e) => Some(e.event),
        Err(e) => {
            first_error = Some(e);
            None
        }
    });
    let written = write_cloudtrail(iter, out).map_err(|source| ReadError::Io {
        path: PathBuf::from("<output>"),
        source,
    })?;
    match first_error {
        Some(e) => Err(e),
        None => Ok(written),
    }
}
