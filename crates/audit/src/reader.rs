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

/// The segment files of `dir`, in order.
fn segments_of(dir: &Path) -> Result<Vec<SegmentFile>, ReadError> {
    format::list_segments(dir).map_err(|e| match e {
        format::ListError::Io(source) => ReadError::Io {
            path: dir.to_owned(),
            source,
        },
        format::ListError::BadName(name) => ReadError::Malformed {
            segment: name,
            line: 0,
            reason: "a file named like a segment that is not one".to_owned(),
        },
    })
}

/// The events of the log in `dir` that pass `filter`, in log order.
pub fn events(dir: impl AsRef<Path>, filter: EventFilter) -> Result<Events, ReadError> {
    let segments = segments_of(dir.as_ref())?;
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

// -- CloudTrail's LookupEvents: more attributes, newest first, in pages ---------------------

/// The filter of CloudTrail's `LookupEvents`: an [`EventFilter`] plus the lookup attributes
/// CloudTrail has that it lacks, and the account whose events these are. Every condition that
/// is set must hold; the default matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupFilter {
    /// Key, principal, event name, error code and time range.
    pub base: EventFilter,
    /// `recipientAccountId`: a caller of `LookupEvents` sees only its own account's events.
    pub recipient_account_id: Option<String>,
    /// `eventID` (compared case-insensitively, as UUIDs are).
    pub event_id: Option<String>,
    /// `readOnly`.
    pub read_only: Option<bool>,
    /// The caller's name, as [`lookup_username`] gives it.
    pub username: Option<String>,
    /// The `type` of one of the event's `resources`.
    pub resource_type: Option<String>,
    /// One of the event's `resources`, by its ARN or by the name its ARN ends with (a key id).
    pub resource_name: Option<String>,
    /// `eventSource`.
    pub event_source: Option<String>,
    /// `userIdentity.accessKeyId`.
    pub access_key_id: Option<String>,
}

impl LookupFilter {
    /// Whether `event` passes the filter.
    pub fn matches(&self, event: &AuditEvent) -> bool {
        fn same(want: Option<&String>, got: Option<&str>) -> bool {
            want.is_none_or(|w| got == Some(w.as_str()))
        }
        let id = &event.user_identity;
        same(
            self.recipient_account_id.as_ref(),
            Some(&event.recipient_account_id),
        ) && same(self.event_source.as_ref(), Some(&event.event_source))
            && self.read_only.is_none_or(|r| r == event.read_only)
            && same(self.access_key_id.as_ref(), id.access_key_id.as_deref())
            && same(self.username.as_ref(), lookup_username(event))
            && self
                .resource_type
                .as_deref()
                .is_none_or(|t| event.resources.iter().any(|r| r.resource_type == t))
            && self.resource_name.as_deref().is_none_or(|n| {
                event
                    .resources
                    .iter()
                    .any(|r| r.arn == n || resource_name_of(&r.arn) == n)
            })
            && self
                .event_id
                .as_deref()
                .is_none_or(|w| event.event_id.to_string().eq_ignore_ascii_case(w))
            && self.base.matches(event)
    }
}

/// The `Username` CloudTrail's `LookupEvents` shows for an event: an IAM user's name, `root`
/// for an account's root user, the session name for a role session, and none for callers
/// without a name (service events, unauthenticated requests).
pub fn lookup_username(event: &AuditEvent) -> Option<&str> {
    let id = &event.user_identity;
    if let Some(name) = id.user_name.as_deref() {
        return Some(name);
    }
    match id.identity_type.as_deref() {
        Some("Root") => Some("root"),
        Some("AssumedRole") => id.arn.as_deref().and_then(|a| a.rsplit('/').next()),
        _ => None,
    }
}

/// The name an ARN ends with: what follows its last `/` (`key/<id>` gives the key id), or its
/// last `:` when it has no `/`.
fn resource_name_of(arn: &str) -> &str {
    match arn.rsplit_once('/') {
        Some((_, name)) => name,
        None => arn.rsplit(':').next().unwrap_or(arn),
    }
}

/// Where a record is in the log: its segment's number and its `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition {
    /// The number of the segment (`segment-00000007.jsonl` is 7).
    pub segment: u32,
    /// The record's `seq`.
    pub seq: u64,
}

/// One page of [`newest_events`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewestPage {
    /// The events, newest (highest `seq`) first.
    pub events: Vec<LoggedEvent>,
    /// When older events pass the filter too: the position of the last event of this page,
    /// from which the next page continues.
    pub next: Option<LogPosition>,
    /// Lines passed over because they are not records (a damaged log; `verify` names them).
    pub skipped: u64,
}

/// How many bytes of segment files one [`newest_events`] page reads at most (beyond the first
/// segment it reads, which it always reads whole): two segments of the default size.
pub const PAGE_READ_BUDGET: u64 = 128 * 1024 * 1024;

/// Up to `limit` (at least 1) events of the log in `dir` that pass `filter`, newest first
/// (reverse log order, which is time order while the clock does not go back), taken from the
/// records before `before` (the whole log when `None`).
///
/// Segments are read from the newest back, and reading stops as soon as one event more than
/// the page holds has been found (that one only tells that another page exists), so a page
/// costs the segments its events are in, not the whole log. Within a segment, only the
/// newest matches are kept (at most `limit + 1`), so memory stays bounded by the page.
///
/// A page also stops before a segment that would take its reading past `read_budget` bytes
/// (it always reads at least one segment): a filter that matches little then gets a short (or
/// empty) page whose [`NewestPage::next`] continues with that segment, instead of one request
/// reading back to the start of the log. A torn last line of the newest segment (a write in
/// progress) is not an event yet; other lines that are not records are counted in
/// [`NewestPage::skipped`] and passed over.
pub fn newest_events(
    dir: impl AsRef<Path>,
    filter: &LookupFilter,
    before: Option<LogPosition>,
    limit: usize,
    read_budget: u64,
) -> Result<NewestPage, ReadError> {
    let limit = limit.max(1);
    let wanted = limit.saturating_add(1);
    let segments = segments_of(dir.as_ref())?;
    let newest_segment = segments.last().map(|s| s.number);
    let mut found: Vec<(LogPosition, LoggedEvent)> = Vec::new();
    let mut skipped = 0u64;
    let mut read = 0u64;
    for seg in segments.iter().rev() {
        if before.is_some_and(|b| seg.number > b.segment) {
            continue;
        }
        let size = std::fs::metadata(&seg.path)
            .map_err(|source| ReadError::Io {
                path: seg.path.clone(),
                source,
            })?
            .len();
        if read > 0 && read.saturating_add(size) > read_budget {
            // Out of budget: what was found (fewer than the page holds), and the next page
            // starts with this whole segment (every record of it is before `seq` MAX).
            return Ok(NewestPage {
                events: found.into_iter().map(|(_, e)| e).collect(),
                next: Some(LogPosition {
                    segment: seg.number,
                    seq: u64::MAX,
                }),
                skipped,
            });
        }
        read = read.saturating_add(size);
        let scan = SegmentScan {
            segment: seg,
            filter,
            before_seq: before.map(|b| b.seq),
            room: wanted - found.len(),
            is_newest: Some(seg.number) == newest_segment,
        };
        found.extend(scan.newest_matches(&mut skipped)?);
        if found.len() >= wanted {
            break;
        }
    }
    let next = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|(at, _)| *at)
    } else {
        None
    };
    Ok(NewestPage {
        events: found.into_iter().map(|(_, e)| e).collect(),
        next,
        skipped,
    })
}

/// One segment's part of a [`newest_events`] page.
struct SegmentScan<'a> {
    segment: &'a SegmentFile,
    filter: &'a LookupFilter,
    /// Only records with a lower `seq` count.
    before_seq: Option<u64>,
    /// How many matches the page still needs (at least 1).
    room: usize,
    /// Whether this is the segment being written (its torn last line is a write in progress).
    is_newest: bool,
}

impl SegmentScan<'_> {
    /// The newest `room` matches of the segment, newest first.
    fn newest_matches(
        &self,
        skipped: &mut u64,
    ) -> Result<Vec<(LogPosition, LoggedEvent)>, ReadError> {
        let seg = self.segment;
        let io = |source| ReadError::Io {
            path: seg.path.clone(),
            source,
        };
        let file = File::open(&seg.path).map_err(io)?;
        let mut reader = LineReader::new(BufReader::new(file));
        let mut newest: VecDeque<(LogPosition, LoggedEvent)> = VecDeque::new();
        let mut line = 0u64;
        while let Some(read) = reader.next_line().map_err(io)? {
            line += 1;
            let bytes = match read {
                Line::Complete(b) => b,
                // Both end the file (or what can be read of it).
                Line::Torn(_) => {
                    if !self.is_newest {
                        *skipped += 1;
                    }
                    break;
                }
                Line::TooLong => {
                    *skipped += 1;
                    break;
                }
            };
            let Ok(record) = format::parse_record(&bytes) else {
                *skipped += 1;
                continue;
            };
            // `seq` grows along a segment: the rest is at or after `before`.
            if self.before_seq.is_some_and(|b| record.seq >= b) {
                break;
            }
            if let Body::Event(event) = record.body
                && self.filter.matches(&event)
            {
                if newest.len() >= self.room {
                    newest.pop_front();
                }
                let at = LogPosition {
                    segment: seg.number,
                    seq: record.seq,
                };
                newest.push_back((
                    at,
                    LoggedEvent {
                        seq: record.seq,
                        segment: seg.name.clone(),
                        line,
                        event: *event,
                    },
                ));
            }
        }
        Ok(newest.into_iter().rev().collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::UserIdentity;

    fn with_identity(
        identity_type: &str,
        arn: Option<&str>,
        user_name: Option<&str>,
    ) -> AuditEvent {
        let mut e = crate::event::tests::sample();
        e.user_identity = UserIdentity {
            identity_type: Some(identity_type.to_owned()),
            arn: arn.map(str::to_owned),
            user_name: user_name.map(str::to_owned),
            ..UserIdentity::default()
        };
        e
    }

    #[test]
    fn usernames_are_cloudtrails() {
        let user = with_identity(
            "IAMUser",
            Some("arn:aws:iam::1:user/a/alice"),
            Some("alice"),
        );
        assert_eq!(lookup_username(&user), Some("alice"));
        let root = with_identity("Root", Some("arn:aws:iam::111122223333:root"), None);
        assert_eq!(lookup_username(&root), Some("root"));
        let session = with_identity(
            "AssumedRole",
            Some("arn:aws:sts::111122223333:assumed-role/App/night-batch"),
            None,
        );
        assert_eq!(lookup_username(&session), Some("night-batch"));
        let unknown = with_identity("Unknown", None, None);
        assert_eq!(lookup_username(&unknown), None);
        let f = LookupFilter {
            username: Some("root".into()),
            ..LookupFilter::default()
        };
        assert!(f.matches(&root) && !f.matches(&user) && !f.matches(&unknown));
    }

    #[test]
    fn resources_match_by_arn_or_the_name_it_ends_with() {
        assert_eq!(
            resource_name_of("arn:aws:kms:us-east-1:1:key/1234abcd"),
            "1234abcd"
        );
        assert_eq!(resource_name_of("arn:aws:iam::1:role/team/app"), "app");
        assert_eq!(resource_name_of("arn:aws:s3:::bucket"), "bucket");
        let e = crate::event::tests::sample();
        let arn = e.resources[0].arn.clone();
        let by = |name: &str| LookupFilter {
            resource_name: Some(name.to_owned()),
            ..LookupFilter::default()
        };
        assert!(by(&arn).matches(&e));
        assert!(by("1234abcd-12ab-34cd-56ef-1234567890ab").matches(&e));
        assert!(!by("1234abcd").matches(&e));
        assert!(!by("key").matches(&e));
        // Every condition must hold.
        let both = LookupFilter {
            resource_type: Some("AWS::KMS::Key".into()),
            event_source: Some("iam.amazonaws.com".into()),
            ..by(&arn)
        };
        assert!(!both.matches(&e));
        let account = LookupFilter {
            recipient_account_id: Some("111122223333".into()),
            read_only: Some(true),
            access_key_id: Some("AKIAEXAMPLE".into()),
            event_id: Some("00000000-0000-0000-0000-000000000000".into()),
            ..by(&arn)
        };
        assert!(account.matches(&e));
        let other = LookupFilter {
            recipient_account_id: Some("444455556666".into()),
            ..LookupFilter::default()
        };
        assert!(!other.matches(&e));
    }
}
