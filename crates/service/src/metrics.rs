//! The server's metrics: their names and labels, and handles to record them.
//!
//! **Why here.** Every source of a metric can reach this layer: the caches live in this
//! crate, the audit trail is integrated into the request pipeline here (step 4), and the front
//! end (`strongroom-api-aws`), which knows operations and outcomes, depends on it. What the
//! metrics are exported as (Prometheus text, on `GET /metrics`) is the binary's concern: it
//! builds a recorder (`metrics-exporter-prometheus`) and hands it to [`Metrics::new`]. This
//! crate names only the `metrics` facade, which has no I/O.
//!
//! **Per server, not global.** [`Metrics`] registers with the recorder it is given instead of
//! the process-wide one of the `metrics` macros, so two servers in one process (tests) count
//! apart. [`Metrics::disabled`] records nothing (a service built without metrics).
//!
//! **Cost on the hot path.** Handles are registered once and kept: a request's counter
//! increment is an atomic add through a handle found by index (no label set is built, hashed
//! or looked up per request), its duration one push into the histogram's lock-free sample
//! buffer, and a cache lookup one atomic add. Handles of a label set are registered on its
//! first use, so `/metrics` lists only label sets that occurred.

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use strongroom_core::state::KeyState;

/// Counter of answered requests: labels `api`, `operation`, `outcome`.
pub const REQUESTS_TOTAL: &str = "strongroom_requests_total";
/// Histogram of request durations in seconds: labels `api`, `operation`.
pub const REQUEST_DURATION_SECONDS: &str = "strongroom_request_duration_seconds";
/// Gauge of keys by state (every account and region): label `state`.
pub const KEYS: &str = "strongroom_keys";
/// Counter of cache lookups: labels `cache` (`keys`, `aliases`, `credentials`,
/// `principals`) and `result` (`hit`, `miss`).
pub const CACHE_LOOKUPS_TOTAL: &str = "strongroom_cache_lookups_total";
/// Gauge of audit events accepted but not yet durable (set by the audit trail's writer).
pub const AUDIT_QUEUE_DEPTH: &str = "strongroom_audit_queue_depth";
/// Gauge: 1 while the audit log writes its open segment with direct I/O, 0 with buffered writes
/// and `fdatasync`.
pub const AUDIT_DIRECT_IO: &str = "strongroom_audit_direct_io";
/// Histogram of the audit log's fsync durations in seconds.
pub const AUDIT_FSYNC_SECONDS: &str = "strongroom_audit_fsync_seconds";

/// The histograms, each of which the exporter must give [`DURATION_BUCKETS`].
pub const HISTOGRAMS: &[&str] = &[REQUEST_DURATION_SECONDS, AUDIT_FSYNC_SECONDS];

/// Bucket bounds (seconds) of every duration histogram: 100 µs to 5 s, about three per
/// decade. A warm Encrypt takes well under 1 ms; a write waits for an fsync (milliseconds).
pub const DURATION_BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0,
];

/// The operation label of a request whose operation could not be determined.
pub const UNKNOWN_OPERATION: &str = "unknown";

/// A recorder shared by the handles registered with it.
pub type SharedRecorder = Arc<dyn Recorder + Send + Sync>;

/// The API a request was for: the `api` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// AWS KMS (JSON 1.1).
    Kms,
    /// IAM (Query protocol).
    Iam,
    /// STS (Query protocol).
    Sts,
    /// CloudTrail's LookupEvents (JSON 1.1), reading the audit trail.
    CloudTrail,
}

impl Api {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kms => "kms",
            Self::Iam => "iam",
            Self::Sts => "sts",
            Self::CloudTrail => "cloudtrail",
        }
    }
}

/// How a request ended: the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with 2xx.
    Success,
    /// Refused by access control (`AccessDeniedException`, `AccessDenied`).
    Denied,
    /// Any other 4xx: authentication, validation, state, not found.
    ClientError,
    /// 5xx.
    ServerError,
}

impl Outcome {
    /// Every outcome, in the order of [`Outcome::index`].
    pub const ALL: [Self; 4] = [
        Self::Success,
        Self::Denied,
        Self::ClientError,
        Self::ServerError,
    ];

    /// The outcome of an answer with HTTP `status` and error `code` (empty on success).
    pub fn of(status: u16, code: &str) -> Self {
        if status < 400 {
            Self::Success
        } else if code == "AccessDeniedException" || code == "AccessDenied" {
            Self::Denied
        } else if status >= 500 {
            Self::ServerError
        } else {
            Self::ClientError
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::ClientError => "client_error",
            Self::ServerError => "server_error",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Success => 0,
            Self::Denied => 1,
            Self::ClientError => 2,
            Self::ServerError => 3,
        }
    }
}

/// The caches whose lookups are counted, by their `cache` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheName {
    Keys,
    Aliases,
    Credentials,
    Principals,
}

impl CacheName {
    const ALL: [Self; 4] = [
        Self::Keys,
        Self::Aliases,
        Self::Credentials,
        Self::Principals,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Keys => "keys",
            Self::Aliases => "aliases",
            Self::Credentials => "credentials",
            Self::Principals => "principals",
        }
    }
}

/// The hit and miss counters of one cache.
#[derive(Debug, Clone)]
pub(crate) struct CacheLookups {
    hit: Counter,
    miss: Counter,
}

impl Default for CacheLookups {
    fn default() -> Self {
        Self {
            hit: Counter::noop(),
            miss: Counter::noop(),
        }
    }
}

impl CacheLookups {
    /// Counts one lookup.
    pub(crate) fn record(&self, hit: bool) {
        if hit {
            self.hit.increment(1);
        } else {
            self.miss.increment(1);
        }
    }
}

/// The metrics of one server. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Registered>,
}

struct Registered {
    recorder: Option<SharedRecorder>,
    caches: Vec<(CacheName, CacheLookups)>,
    /// The key gauges, registered by the first count (so a store that never answered shows no
    /// key counts rather than zeros).
    keys: OnceLock<Vec<(KeyState, Gauge)>>,
    audit: OnceLock<AuditMetrics>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("enabled", &self.inner.recorder.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::disabled()
    }
}

fn metadata() -> Metadata<'static> {
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()))
}

fn labels(pairs: &[(&'static str, &'static str)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|(k, v)| Label::from_static_parts(k, v))
        .collect()
}

fn counter(r: &dyn Recorder, name: &'static str, l: &[(&'static str, &'static str)]) -> Counter {
    r.register_counter(&Key::from_parts(name, labels(l)), &metadata())
}

fn gauge(r: &dyn Recorder, name: &'static str, l: &[(&'static str, &'static str)]) -> Gauge {
    r.register_gauge(&Key::from_parts(name, labels(l)), &metadata())
}

fn histogram(
    r: &dyn Recorder,
    name: &'static str,
    l: &[(&'static str, &'static str)],
) -> Histogram {
    r.register_histogram(&Key::from_parts(name, labels(l)), &metadata())
}

/// Describes every metric to `r` (the `# HELP` lines).
fn describe(r: &dyn Recorder) {
    let name = KeyName::from_const_str;
    r.describe_counter(
        name(REQUESTS_TOTAL),
        None,
        "Requests answered, by API, operation and outcome.".into(),
    );
    r.describe_histogram(
        name(REQUEST_DURATION_SECONDS),
        Some(Unit::Seconds),
        "Time from a request's arrival at the front end to its answer.".into(),
    );
    r.describe_gauge(
        name(KEYS),
        Some(Unit::Count),
        "Keys by state, in every account and region (counted when scraped).".into(),
    );
    r.describe_counter(
        name(CACHE_LOOKUPS_TOTAL),
        None,
        "Lookups in the in-memory caches, by cache and result.".into(),
    );
    r.describe_gauge(
        name(AUDIT_QUEUE_DEPTH),
        Some(Unit::Count),
        "Audit events accepted but not yet written durably.".into(),
    );
    r.describe_histogram(
        name(AUDIT_FSYNC_SECONDS),
        Some(Unit::Seconds),
        "Duration of the audit log's fsync calls.".into(),
    );
}

impl Metrics {
    /// The recorder these metrics go to (`None` when disabled), for other parts of the server
    /// (the alert engine) to record their own metrics next to the service's.
    pub fn recorder(&self) -> Option<SharedRecorder> {
        self.inner.recorder.clone()
    }

    /// Metrics recorded by `recorder`.
    pub fn new(recorder: SharedRecorder) -> Self {
        let r = recorder.as_ref();
        describe(r);
        let caches = CacheName::ALL
            .iter()
            .map(|&c| {
                let lookups = |result| {
                    counter(
                        r,
                        CACHE_LOOKUPS_TOTAL,
                        &[("cache", c.as_str()), ("result", result)],
                    )
                };
                let hit = lookups("hit");
                let miss = lookups("miss");
                (c, CacheLookups { hit, miss })
            })
            .collect();
        Self {
            inner: Arc::new(Registered {
                recorder: Some(recorder),
                caches,
                keys: OnceLock::new(),
                audit: OnceLock::new(),
            }),
        }
    }

    /// Metrics that record nothing.
    pub fn disabled() -> Self {
        Self {
            inner: Arc::new(Registered {
                recorder: None,
                caches: Vec::new(),
                keys: OnceLock::new(),
                audit: OnceLock::new(),
            }),
        }
    }

    /// The counters of cache `name`.
    pub(crate) fn cache_lookups(&self, name: CacheName) -> CacheLookups {
        self.inner
            .caches
            .iter()
            .find(|(c, _)| *c == name)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }

    /// The request metrics of `api`, whose operations are `operations` (each label value at
    /// its index; [`RequestMetrics::unknown`] is added after them).
    pub fn requests(&self, api: Api, operations: &[&'static str]) -> RequestMetrics {
        let slots = operations
            .iter()
            .chain(std::iter::once(&UNKNOWN_OPERATION))
            .map(|&name| OperationSlots {
                name,
                requests: Default::default(),
                duration: OnceLock::new(),
            })
            .collect();
        RequestMetrics {
            api,
            recorder: self.inner.recorder.clone(),
            operations: slots,
        }
    }

    /// Sets the key gauges from a count by state; a state not in `counts` has no keys.
    pub(crate) fn set_key_counts(&self, counts: &[(KeyState, u64)]) {
        let Some(r) = self.inner.recorder.as_deref() else {
            return;
        };
        let gauges = self.inner.keys.get_or_init(|| {
            KeyState::ALL
                .iter()
                .map(|&s| (s, gauge(r, KEYS, &[("state", s.as_str())])))
                .collect()
        });
        for (state, g) in gauges {
            let n = counts
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            // Exact up to 2^53 keys.
            g.set(n as f64);
        }
    }

    /// The audit trail's metrics, registered on first use.
    pub fn audit(&self) -> AuditMetrics {
        self.inner
            .audit
            .get_or_init(|| match self.inner.recorder.as_deref() {
                Some(r) => AuditMetrics {
                    queue_depth: gauge(r, AUDIT_QUEUE_DEPTH, &[]),
                    direct_io: gauge(r, AUDIT_DIRECT_IO, &[]),
                    fsync_seconds: histogram(r, AUDIT_FSYNC_SECONDS, &[]),
                },
                None => AuditMetrics {
                    queue_depth: Gauge::noop(),
                    direct_io: Gauge::noop(),
                    fsync_seconds: Histogram::noop(),
                },
            })
            .clone()
    }
}

/// The audit trail's metrics: its writer sets the queue depth whenever it changes and
/// observes every fsync. Cloned into the writer (or wrapped in closures, for a crate that does
/// not depend on this one).
#[derive(Debug, Clone)]
pub struct AuditMetrics {
    queue_depth: Gauge,
    direct_io: Gauge,
    fsync_seconds: Histogram,
}

impl AuditMetrics {
    /// `events` are accepted but not yet durable.
    pub fn set_queue_depth(&self, events: usize) {
        self.queue_depth.set(events as f64);
    }

    /// Whether the open segment is written with direct I/O.
    pub fn set_direct_io(&self, direct: bool) {
        self.direct_io.set(if direct { 1.0 } else { 0.0 });
    }

    /// An fsync of the audit log took `took`.
    pub fn observe_fsync(&self, took: Duration) {
        self.fsync_seconds.record(took.as_secs_f64());
    }
}

/// The handles of one operation, registered on first use.
struct OperationSlots {
    name: &'static str,
    requests: [OnceLock<Counter>; 4],
    duration: OnceLock<Histogram>,
}

/// The request metrics of one API: a counter per operation and outcome, a duration histogram
/// per operation.
pub struct RequestMetrics {
    api: Api,
    recorder: Option<SharedRecorder>,
    operations: Box<[OperationSlots]>,
}

impl std::fmt::Debug for RequestMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestMetrics")
            .field("api", &self.api)
            .field("operations", &self.operations.len())
            .finish_non_exhaustive()
    }
}

impl RequestMetrics {
    /// The index of the `unknown` operation.
    pub fn unknown(&self) -> usize {
        self.operations.len().saturating_sub(1)
    }

    /// Records one request of the operation at index `operation` (any index out of range is
    /// `unknown`) that ended with `outcome` after `elapsed`.
    pub fn record(&self, operation: usize, outcome: Outcome, elapsed: Duration) {
        let Some(r) = self.recorder.as_deref() else {
            return;
        };
        let Some(op) = self
            .operations
            .get(operation)
            .or_else(|| self.operations.last())
        else {
            return;
        };
        let api = self.api.as_str();
        let slot = op.requests.get(outcome.index());
        if let Some(slot) = slot {
            slot.get_or_init(|| {
                counter(
                    r,
                    REQUESTS_TOTAL,
                    &[
                        ("api", api),
                        ("operation", op.name),
                        ("outcome", outcome.as_str()),
                    ],
                )
            })
            .increment(1);
        }
        op.duration
            .get_or_init(|| {
                histogram(
                    r,
                    REQUEST_DURATION_SECONDS,
                    &[("api", api), ("operation", op.name)],
                )
            })
            .record(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_status_and_code() {
        assert_eq!(Outcome::of(200, ""), Outcome::Success);
        assert_eq!(Outcome::of(400, "AccessDeniedException"), Outcome::Denied);
        assert_eq!(Outcome::of(403, "AccessDenied"), Outcome::Denied);
        assert_eq!(
            Outcome::of(400, "ValidationException"),
            Outcome::ClientError
        );
        assert_eq!(Outcome::of(404, "NoSuchEntity"), Outcome::ClientError);
        assert_eq!(
            Outcome::of(500, "KMSInternalException"),
            Outcome::ServerError
        );
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
        }
    }

    #[test]
    fn disabled_metrics_record_nothing_and_do_not_fail() {
        let m = Metrics::disabled();
        let r = m.requests(Api::Kms, &["Encrypt"]);
        assert_eq!(r.unknown(), 1);
        r.record(0, Outcome::Success, Duration::from_micros(5));
        r.record(99, Outcome::ServerError, Duration::from_micros(5));
        m.cache_lookups(CacheName::Keys).record(true);
        m.set_key_counts(&[(KeyState::Enabled, 3)]);
        m.audit().set_queue_depth(4);
        m.audit().observe_fsync(Duration::from_millis(2));
    }
}
