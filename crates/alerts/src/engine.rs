//! The running engine: the observer the audit log calls on the request path, the task that
//! evaluates rules, and delivery.
//!
//! The observer only moves an event that some rule could care about into a queue bounded both
//! in events and in bytes (`try_send`); when the queue is full the event is dropped, counted
//! (`strongroom_alert_events_dropped_total`) and reported in a warning at most every
//! [`DROP_WARNING_INTERVAL_MS`]. Everything else happens on the engine's task.

use crate::config::{AlertConfig, RuleKind};
use crate::dead_letter::DeadLetter;
use crate::deliver::{Deliverer, Rng};
use crate::facts;
use crate::metrics::{AlertMetrics, AlertStats, Counters};
use crate::rules::Evaluator;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use strongroom_audit::{AuditEvent, AuditObserver};
use strongroom_core::time::Clock;
use strongroom_crypto::random::Random;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Events waiting for evaluation, by default.
pub const DEFAULT_QUEUE: usize = 10_000;

/// Bytes of events (as recorded, in JSON) waiting for evaluation, by default: a queue of
/// large events (a key policy is up to 32 KB) stops here rather than at [`DEFAULT_QUEUE`].
pub const DEFAULT_QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// The shortest interval between two "events dropped" warnings.
pub const DROP_WARNING_INTERVAL_MS: i64 = 10_000;

/// How often state that no longer matters is forgotten.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// What the engine needs besides its configuration.
pub struct EngineOptions {
    /// Windows, cooldowns, alert times and signature timestamps read this clock.
    pub clock: Arc<dyn Clock>,
    /// The jitter of retry backoff.
    pub random: Arc<dyn Random>,
    /// Where the metrics go.
    pub metrics: AlertMetrics,
    /// Capacity of the queue between the observer and the rules, in events.
    pub queue: usize,
    /// Capacity of the same queue in bytes of events (their recorded JSON). An event larger
    /// than this is still taken when the queue is empty.
    pub queue_bytes: usize,
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("clock", &self.clock)
            .field("metrics", &self.metrics)
            .field("queue", &self.queue)
            .field("queue_bytes", &self.queue_bytes)
            .finish_non_exhaustive()
    }
}

/// The engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The dead-letter file cannot be opened for appending.
    #[error("cannot open the alerts dead-letter file {path}: {source}")]
    DeadLetter {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not called inside a Tokio runtime.
    #[error("the alert engine must be started inside a Tokio runtime")]
    NoRuntime,
}

/// A running alert engine. Attach [`AlertEngine::observer`] to the audit log; call
/// [`AlertEngine::shutdown`] when the server stops.
#[derive(Debug)]
pub struct AlertEngine {
    observer: Arc<Observer>,
    counters: Arc<Counters>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl AlertEngine {
    /// Opens the dead-letter file and starts the engine's tasks on the current runtime.
    pub fn start(config: AlertConfig, options: EngineOptions) -> Result<Self, StartError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        let AlertConfig {
            rules,
            webhooks,
            delivery,
        } = config;
        let dead =
            DeadLetter::open(&delivery.dead_letter).map_err(|source| StartError::DeadLetter {
                path: delivery.dead_letter.display().to_string(),
                source,
            })?;
        for w in webhooks.iter().filter(|w| w.target.is_plaintext_remote()) {
            tracing::warn!(
                target: "strongroom::alert",
                webhook = %w.name,
                url = %w.target.describe(),
                "webhook uses plain http to another host: alerts travel unencrypted"
            );
        }
        let counters = Arc::new(Counters::new(
            &options.metrics,
            rules.iter().map(|r| r.name.as_str()),
            webhooks.iter().map(|w| w.name.as_str()),
        ));
        let (tx, rx) = mpsc::channel(options.queue.max(1));
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let observer = Arc::new(Observer {
            tx,
            queued_bytes: Arc::clone(&queued_bytes),
            max_bytes: options.queue_bytes,
            interest: Interest::of(&rules),
            counters: Arc::clone(&counters),
            clock: Arc::clone(&options.clock),
            warned_at: AtomicI64::new(i64::MIN),
            dropped_since_warning: AtomicU64::new(0),
        });
        let deliverer = Deliverer::start(
            webhooks,
            delivery,
            Arc::new(dead),
            Arc::clone(&counters),
            Arc::clone(&options.clock),
            Rng(options.random),
            &runtime,
        );
        let (stop, stopped) = oneshot::channel();
        let run = Run {
            evaluator: Evaluator::new(&rules),
            rules,
            deliverer,
            counters: Arc::clone(&counters),
            clock: options.clock,
            queued_bytes,
        };
        let task = runtime.spawn(run.run(rx, stopped));
        Ok(Self {
            observer,
            counters,
            stop,
            task,
        })
    }

    /// The observer to attach to the audit log (`AuditLog::set_observer`).
    pub fn observer(&self) -> Arc<dyn AuditObserver> {
        Arc::clone(&self.observer) as Arc<dyn AuditObserver>
    }

    /// What the engine has done so far.
    pub fn stats(&self) -> AlertStats {
        self.counters.stats()
    }

    /// Evaluates the events already queued, then gives pending deliveries the configured
    /// grace period (`[delivery] shutdown_grace`); what is still undelivered then goes to the
    /// dead-letter file. Events observed after this call are ignored.
    pub async fn shutdown(self) -> AlertStats {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(target: "strongroom::alert", error = %e, "the alert engine's task failed");
        }
        self.counters.stats()
    }
}

/// The engine's task.
struct Run {
    evaluator: Evaluator,
    rules: Vec<crate::config::Rule>,
    deliverer: Deliverer,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    /// Bytes of the events in the queue (the observer adds, this task takes away).
    queued_bytes: Arc<AtomicUsize>,
}

/// An event in the engine's queue, with its size as recorded.
struct Queued {
    event: AuditEvent,
    bytes: usize,
}

impl Run {
    async fn run(mut self, mut rx: mpsc::Receiver<Box<Queued>>, mut stop: oneshot::Receiver<()>) {
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = &mut stop => break,
                queued = rx.recv() => match queued {
                    Some(q) => self.take(*q).await,
                    None => break,
                },
                _ = sweep.tick() => self.evaluator.sweep(self.clock.now()),
            }
        }
        rx.close();
        while let Ok(q) = rx.try_recv() {
            self.take(*q).await;
        }
        self.deliverer.shutdown().await;
    }

    /// Takes an event off the queue (freeing its bytes) and evaluates it.
    async fn take(&mut self, queued: Queued) {
        self.queued_bytes.fetch_sub(queued.bytes, Ordering::Relaxed);
        self.handle(&queued.event).await;
    }

    async fn handle(&mut self, event: &AuditEvent) {
        let ignored_before = self.evaluator.ignored();
        let fired = self.evaluator.evaluate(self.clock.now(), event);
        if self.evaluator.ignored() > ignored_before && ignored_before.is_multiple_of(1_000) {
            tracing::warn!(
                target: "strongroom::alert",
                ignored = self.evaluator.ignored(),
                "an alert rule tracks too many principals or keys; new ones are ignored until old ones expire"
            );
        }
        for f in fired {
            let alert = Arc::new(f.alert);
            if let Some(c) = self.counters.fired.get(f.rule) {
                c.add(1);
            }
            tracing::warn!(
                target: "strongroom::alert",
                alert_id = %alert.id,
                rule = %alert.rule,
                kind = %alert.kind,
                subject = %alert.subject.arn,
                suppressed = alert.suppressed,
                "{}",
                alert.summary
            );
            let Some(rule) = self.rules.get(f.rule) else {
                continue;
            };
            if rule.webhooks.is_empty() {
                continue;
            }
            let body = match serde_json::to_vec(alert.as_ref()) {
                Ok(b) => bytes::Bytes::from(b),
                Err(e) => {
                    tracing::error!(target: "strongroom::alert", alert_id = %alert.id, error = %e, "cannot serialize the alert");
                    continue;
                }
            };
            for &w in &rule.webhooks {
                self.deliverer
                    .submit(w, Arc::clone(&alert), body.clone())
                    .await;
            }
        }
    }
}

/// The events some rule could match, decided on the request path before anything is cloned.
#[derive(Debug, Default)]
struct Interest {
    api_calls: bool,
    denials: bool,
    invalid_state: bool,
    successes_named: Vec<String>,
}

impl Interest {
    fn of(rules: &[crate::config::Rule]) -> Self {
        let mut i = Self::default();
        for r in rules {
            match &r.kind {
                RuleKind::Rate(_) => i.api_calls = true,
                RuleKind::Denials { .. } => i.denials = true,
                RuleKind::PendingDeletionUse => i.invalid_state = true,
                RuleKind::KeyChange { events } => i.successes_named.extend(events.iter().cloned()),
            }
        }
        i
    }

    fn wants(&self, e: &AuditEvent) -> bool {
        (self.api_calls && facts::is_api_call(e))
            || (self.denials && facts::is_denial(e))
            || (self.invalid_state && e.error_code.as_deref() == Some(facts::INVALID_STATE_CODE))
            || (facts::succeeded(e) && self.successes_named.contains(&e.event_name))
    }
}

/// The audit log's observer.
struct Observer {
    tx: mpsc::Sender<Box<Queued>>,
    /// Bytes of the events in the queue.
    queued_bytes: Arc<AtomicUsize>,
    max_bytes: usize,
    interest: Interest,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    warned_at: AtomicI64,
    dropped_since_warning: AtomicU64,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertObserver")
            .field("interest", &self.interest)
            .finish_non_exhaustive()
    }
}

impl AuditObserver for Observer {
    fn observe(&self, event: AuditEvent, bytes: usize) {
        if !self.interest.wants(&event) {
            return;
        }
        // Reserve the bytes first, so that concurrent observers cannot overshoot together.
        let before = self.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        if before > 0 && before.saturating_add(bytes) > self.max_bytes {
            self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            self.dropped();
            return;
        }
        if let Err(e) = self.tx.try_send(Box::new(Queued { event, bytes })) {
            self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            // A closed queue is an engine that has shut down: nothing to count.
            if matches!(e, mpsc::error::TrySendError::Full(_)) {
                self.dropped();
            }
        }
    }
}

impl Observer {
    fn dropped(&self) {
        self.counters.dropped.add(1);
        self.dropped_since_warning.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now().0;
        let last = self.warned_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= DROP_WARNING_INTERVAL_MS
            && self
                .warned_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let n = self.dropped_since_warning.swap(0, Ordering::Relaxed);
            tracing::warn!(
                target: "strongroom::alert",
                dropped = n,
                "the alert engine is behind: audit events were dropped without rule evaluation"
            );
        }
    }
}
