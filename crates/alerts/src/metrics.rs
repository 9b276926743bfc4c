//! The engine's metrics and counts. Like the service's metrics, they register with a recorder
//! the binary hands over (per server, not the process-wide one); without one they only count
//! in memory, for [`AlertStats`] (the shutdown summary and tests).
//!
//! Label values are rule and webhook names from the configuration and fixed outcome words,
//! so the number of series is bounded by the file.

use metrics::{Counter, Key, KeyName, Label, Level, Metadata, Recorder};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counter of alerts raised: label `rule`.
pub const ALERTS_FIRED_TOTAL: &str = "strongroom_alerts_fired_total";
/// Counter of alerts' final delivery outcomes per webhook: labels `webhook`, `outcome`
/// (`delivered`, `dead_letter`, `lost` when even the dead-letter file could not be written).
pub const ALERT_DELIVERIES_TOTAL: &str = "strongroom_alert_deliveries_total";
/// Counter of HTTP attempts per webhook: labels `webhook`, `result` (`success`, `error`).
pub const ALERT_DELIVERY_ATTEMPTS_TOTAL: &str = "strongroom_alert_delivery_attempts_total";
/// Counter of audit events dropped unevaluated because the engine's queue was full.
pub const ALERT_EVENTS_DROPPED_TOTAL: &str = "strongroom_alert_events_dropped_total";

/// A recorder shared by the handles registered with it.
pub type SharedRecorder = Arc<dyn Recorder + Send + Sync>;

/// Where the engine's metrics go.
#[derive(Clone, Default)]
pub struct AlertMetrics {
    recorder: Option<SharedRecorder>,
}

impl std::fmt::Debug for AlertMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertMetrics")
            .field("enabled", &self.recorder.is_some())
            .finish()
    }
}

impl AlertMetrics {
    /// Metrics registered with `recorder` (the server's Prometheus recorder).
    pub fn new(recorder: SharedRecorder) -> Self {
        describe(recorder.as_ref());
        Self {
            recorder: Some(recorder),
        }
    }

    /// Counts in memory only.
    pub fn disabled() -> Self {
        Self { recorder: None }
    }

    fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        let Some(r) = self.recorder.as_deref() else {
            return Counter::noop();
        };
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label::new(*k, (*v).to_owned()))
            .collect();
        let metadata = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));
        r.register_counter(&Key::from_parts(name, labels), &metadata)
    }
}

fn describe(r: &dyn Recorder) {
    let name = KeyName::from_const_str;
    r.describe_counter(
        name(ALERTS_FIRED_TOTAL),
        None,
        "Alerts raised, by rule.".into(),
    );
    r.describe_counter(
        name(ALERT_DELIVERIES_TOTAL),
        None,
        "Alerts handed to a webhook, by webhook and final outcome.".into(),
    );
    r.describe_counter(
        name(ALERT_DELIVERY_ATTEMPTS_TOTAL),
        None,
        "HTTP attempts to deliver alerts, by webhook and result.".into(),
    );
    r.describe_counter(
        name(ALERT_EVENTS_DROPPED_TOTAL),
        None,
        "Audit events not evaluated by the alert rules because their queue was full.".into(),
    );
}

/// A counter that also counts in memory.
#[derive(Debug)]
pub(crate) struct Tallied {
    handle: Counter,
    total: AtomicU64,
}

impl Tallied {
    fn new(handle: Counter) -> Self {
        Self {
            handle,
            total: AtomicU64::new(0),
        }
    }

    pub(crate) fn add(&self, n: u64) {
        self.handle.increment(n);
        self.total.fetch_add(n, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// The outcomes of one webhook's deliveries.
#[derive(Debug)]
pub(crate) struct WebhookCounters {
    pub(crate) delivered: Tallied,
    pub(crate) dead_letter: Tallied,
    pub(crate) lost: Tallied,
    pub(crate) attempt_ok: Tallied,
    pub(crate) attempt_error: Tallied,
}

/// Every counter of one engine, registered once at start.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) fired: Vec<Tallied>,
    pub(crate) webhooks: Vec<WebhookCounters>,
    pub(crate) dropped: Tallied,
}

impl Counters {
    pub(crate) fn new<'a>(
        m: &AlertMetrics,
        rules: impl Iterator<Item = &'a str>,
        webhooks: impl Iterator<Item = &'a str>,
    ) -> Self {
        let fired = rules
            .map(|r| Tallied::new(m.counter(ALERTS_FIRED_TOTAL, &[("rule", r)])))
            .collect();
        let webhooks = webhooks
            .map(|w| {
                let outcome = |o| {
                    Tallied::new(
                        m.counter(ALERT_DELIVERIES_TOTAL, &[("webhook", w), ("outcome", o)]),
                    )
                };
                let attempt = |r| {
                    Tallied::new(m.counter(
                        ALERT_DELIVERY_ATTEMPTS_TOTAL,
                        &[("webhook", w), ("result", r)],
                    ))
                };
                WebhookCounters {
                    delivered: outcome("delivered"),
                    dead_letter: outcome("dead_letter"),
                    lost: outcome("lost"),
                    attempt_ok: attempt("success"),
                    attempt_error: attempt("error"),
                }
            })
            .collect();
        Self {
            fired,
            webhooks,
            dropped: Tallied::new(m.counter(ALERT_EVENTS_DROPPED_TOTAL, &[])),
        }
    }

    pub(crate) fn stats(&self) -> AlertStats {
        let sum =
            |f: fn(&WebhookCounters) -> &Tallied| self.webhooks.iter().map(|w| f(w).get()).sum();
        AlertStats {
            fired: self.fired.iter().map(Tallied::get).sum(),
            delivered: sum(|w| &w.delivered),
            dead_lettered: sum(|w| &w.dead_letter),
            lost: sum(|w| &w.lost),
            attempts: sum(|w| &w.attempt_ok) + sum(|w| &w.attempt_error),
            dropped_events: self.dropped.get(),
        }
    }
}

/// What an engine has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertStats {
    /// Alerts raised (each is logged; each goes to its rule's webhooks).
    pub fired: u64,
    /// Deliveries a webhook acknowledged (one per alert and webhook).
    pub delivered: u64,
    /// Deliveries written to the dead-letter file instead.
    pub dead_lettered: u64,
    /// Deliveries neither acknowledged nor written to the dead-letter file.
    pub lost: u64,
    /// HTTP attempts, successful or not.
    pub attempts: u64,
    /// Audit events dropped unevaluated because the engine's queue was full.
    pub dropped_events: u64,
}
