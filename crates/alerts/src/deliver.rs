//! Delivery of alerts to webhooks: signed POSTs, retries with exponential backoff and jitter,
//! and the dead-letter file for what could not be delivered.
//!
//! Each webhook has a bounded queue and a worker that runs up to [`IN_FLIGHT`] deliveries at
//! once, so one slow or failing webhook delays neither rule evaluation nor other webhooks.
//! An alert that finds its webhook's queue full goes straight to the dead-letter file.
//!
//! Every delivery is registered as pending until its outcome is final; whoever takes it from
//! the registry records that outcome. At shutdown, the queues close and the workers get the
//! grace period to finish; what is still pending then is written to the dead-letter file.
//! Delivery is therefore at least once: an alert a webhook accepted just as the grace period
//! ended can also appear in the dead-letter file (receivers drop duplicates by `id`).

use crate::alert::Alert;
use crate::config::{Delivery, Webhook};
use crate::dead_letter::{DeadLetter, DeadLetterRecord};
use crate::http::{self as client, PostError};
use crate::metrics::{Counters, WebhookCounters};
use ::http::{HeaderName, HeaderValue, header};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strongroom_audit::EventTime;
use strongroom_core::time::Clock;
use strongroom_crypto::random::Random;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};

/// Deliveries one webhook runs at once.
pub(crate) const IN_FLIGHT: usize = 4;

/// The header carrying the signature: `v1=<hex HMAC-SHA-256>`.
pub const SIGNATURE_HEADER: &str = "x-strongroom-signature";
/// The header carrying the signed Unix time, in seconds.
pub const TIMESTAMP_HEADER: &str = "x-strongroom-timestamp";
/// The alert's id (also in the body).
pub const ALERT_ID_HEADER: &str = "x-strongroom-alert-id";
/// The attempt number, from 1.
pub const ATTEMPT_HEADER: &str = "x-strongroom-attempt";

/// One alert for one webhook.
#[derive(Debug, Clone)]
struct Job {
    token: u64,
    alert: Arc<Alert>,
    body: Bytes,
}

/// What the shutdown needs of a pending delivery.
#[derive(Debug)]
struct Pending {
    webhook: usize,
    alert: Arc<Alert>,
    attempts: u32,
}

/// What every delivery task shares.
#[derive(Debug)]
struct Shared {
    webhooks: Vec<Webhook>,
    delivery: Delivery,
    dead: Arc<DeadLetter>,
    pending: Mutex<HashMap<u64, Pending>>,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    random: Rng,
}

/// The randomness of the jitter, with a `Debug` that shows nothing.
#[derive(Clone)]
pub(crate) struct Rng(pub(crate) Arc<dyn Random>);

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng")
    }
}

/// The queues and workers of every webhook.
#[derive(Debug)]
pub(crate) struct Deliverer {
    shared: Arc<Shared>,
    queues: Vec<mpsc::Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
    next_token: AtomicU64,
}

impl Deliverer {
    pub(crate) fn start(
        webhooks: Vec<Webhook>,
        delivery: Delivery,
        dead: Arc<DeadLetter>,
        counters: Arc<Counters>,
        clock: Arc<dyn Clock>,
        random: Rng,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let n = webhooks.len();
        let shared = Arc::new(Shared {
            webhooks,
            delivery,
            dead,
            pending: Mutex::new(HashMap::new()),
            counters,
            clock,
            random,
        });
        let mut queues = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        for index in 0..n {
            let (tx, rx) = mpsc::channel(shared.delivery.queue);
            queues.push(tx);
            workers.push(runtime.spawn(worker(Arc::clone(&shared), index, rx)));
        }
        Self {
            shared,
            queues,
            workers,
            next_token: AtomicU64::new(0),
        }
    }

    /// Hands `alert` (serialized as `body`) to webhook `index` without waiting.
    pub(crate) async fn submit(&self, index: usize, alert: Arc<Alert>, body: Bytes) {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        self.shared.register(token, index, Arc::clone(&alert));
        let Some(queue) = self.queues.get(index) else {
            return;
        };
        let job = Job { token, alert, body };
        if queue.try_send(job).is_err() {
            self.shared
                .fail(token, "the webhook's delivery queue was full".to_owned())
                .await;
        }
    }

    /// Closes the queues, lets the workers finish within the grace period, then writes what
    /// is still pending to the dead-letter file.
    pub(crate) async fn shutdown(self) {
        let Self {
            shared,
            queues,
            workers,
            ..
        } = self;
        drop(queues);
        let grace = shared.delivery.shutdown_grace;
        let aborts: Vec<_> = workers.iter().map(JoinHandle::abort_handle).collect();
        let all = async {
            for w in workers {
                let _ = w.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            for a in aborts {
                a.abort();
            }
        }
        let left: Vec<u64> = shared.pending_tokens();
        for token in left {
            shared
                .fail(token, "not delivered before the server stopped".to_owned())
                .await;
        }
    }
}

impl Shared {
    fn register(&self, token: u64, webhook: usize, alert: Arc<Alert>) {
        if let Ok(mut p) = self.pending.lock() {
            p.insert(
                token,
                Pending {
                    webhook,
                    alert,
                    attempts: 0,
                },
            );
        }
    }

    fn pending_tokens(&self) -> Vec<u64> {
        self.pending
            .lock()
            .map(|p| p.keys().copied().collect())
            .unwrap_or_default()
    }

    fn note_attempt(&self, token: u64) {
        if let Ok(mut p) = self.pending.lock()
            && let Some(entry) = p.get_mut(&token)
        {
            entry.attempts += 1;
        }
    }

    /// Takes a delivery out of the registry: its outcome is now the caller's to record.
    fn take(&self, token: u64) -> Option<Pending> {
        self.pending.lock().ok().and_then(|mut p| p.remove(&token))
    }

    fn counters(&self, webhook: usize) -> Option<&WebhookCounters> {
        self.counters.webhooks.get(webhook)
    }

    /// Records that `token` will not be delivered: the dead-letter file and an error log.
    async fn fail(&self, token: u64, reason: String) {
        let Some(p) = self.take(token) else {
            return;
        };
        let name = self
            .webhooks
            .get(p.webhook)
            .map_or_else(String::new, |w| w.name.clone());
        let record = DeadLetterRecord {
            time: EventTime::from_timestamp(self.clock.now()),
            webhook: name.clone(),
            reason: reason.clone(),
            attempts: p.attempts,
            alert: Arc::clone(&p.alert),
        };
        let written = self.dead.append(record).await;
        let counters = self.counters(p.webhook);
        match written {
            Ok(()) => {
                if let Some(c) = counters {
                    c.dead_letter.add(1);
                }
                tracing::error!(
                    target: "strongroom::alert",
                    alert_id = %p.alert.id,
                    rule = %p.alert.rule,
                    webhook = %name,
                    attempts = p.attempts,
                    reason = %reason,
                    dead_letter = %self.dead.path().display(),
                    "alert not delivered; written to the dead-letter file"
                );
            }
            Err(e) => {
                if let Some(c) = counters {
                    c.lost.add(1);
                }
                tracing::error!(
                    target: "strongroom::alert",
                    alert_id = %p.alert.id,
                    rule = %p.alert.rule,
                    webhook = %name,
                    attempts = p.attempts,
                    reason = %reason,
                    error = %e,
                    dead_letter = %self.dead.path().display(),
                    "alert not delivered, and the dead-letter file could not be written: the alert is lost"
                );
            }
        }
    }

    /// The pause before attempt `next` (2, 3, …): the backoff doubles from `initial_backoff`
    /// up to `max_backoff`, and the pause is a random point in its upper half ("equal
    /// jitter"), so retries of many alerts do not arrive together.
    fn backoff(&self, next: u32) -> Duration {
        let d = &self.delivery;
        let doublings = next.saturating_sub(2).min(30);
        let base = d
            .initial_backoff
            .saturating_mul(1u32 << doublings)
            .min(d.max_backoff);
        let half = base / 2;
        let span = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let jitter = strongroom_crypto::random::array::<8>(self.random.0.as_ref())
            .map(u64::from_le_bytes)
            .map_or(0, |r| if span == 0 { 0 } else { r % (span + 1) });
        half + Duration::from_millis(jitter)
    }
}

async fn worker(shared: Arc<Shared>, index: usize, mut rx: mpsc::Receiver<Job>) {
    let limit = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut running = JoinSet::new();
    while let Some(job) = rx.recv().await {
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            break;
        };
        let shared = Arc::clone(&shared);
        running.spawn(async move {
            deliver(&shared, index, job).await;
            drop(permit);
        });
        // Reap finished deliveries so the set does not grow.
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

/// How one attempt went.
enum Attempt {
    Delivered(u16),
    /// Worth another attempt: a timeout, a connection failure, 408, 429 or 5xx.
    Retry(String),
    /// Not worth another: any other answer.
    Refused(String),
}

async fn deliver(shared: &Shared, index: usize, job: Job) {
    let Some(webhook) = shared.webhooks.get(index) else {
        return;
    };
    let attempts = shared.delivery.attempts.max(1);
    let mut reason = String::new();
    for n in 1..=attempts {
        if n > 1 {
            tokio::time::sleep(shared.backoff(n)).await;
        }
        shared.note_attempt(job.token);
        let outcome = attempt(shared, webhook, &job, n).await;
        let counters = shared.counters(index);
        match outcome {
            Attempt::Delivered(status) => {
                if let Some(c) = counters {
                    c.attempt_ok.add(1);
                    c.delivered.add(1);
                }
                let _ = shared.take(job.token);
                tracing::info!(
                    target: "strongroom::alert",
                    alert_id = %job.alert.id,
                    rule = %job.alert.rule,
                    webhook = %webhook.name,
                    attempts = n,
                    status,
                    "alert delivered"
                );
                return;
            }
            Attempt::Retry(why) | Attempt::Refused(why) if n == attempts => {
                if let Some(c) = counters {
                    c.attempt_error.add(1);
                }
                reason = format!("{why} (attempt {n} of {attempts})");
            }
            Attempt::Refused(why) => {
                if let Some(c) = counters {
                    c.attempt_error.add(1);
                }
                reason = format!("{why} (not retried)");
                break;
            }
            Attempt::Retry(why) => {
                if let Some(c) = counters {
                    c.attempt_error.add(1);
                }
                tracing::warn!(
                    target: "strongroom::alert",
                    alert_id = %job.alert.id,
                    webhook = %webhook.name,
                    attempt = n,
                    of = attempts,
                    error = %why,
                    "alert delivery attempt failed; will retry"
                );
            }
        }
    }
    shared.fail(job.token, reason).await;
}

async fn attempt(shared: &Shared, webhook: &Webhook, job: &Job, n: u32) -> Attempt {
    let timestamp = shared.clock.now().unix_seconds().to_string();
    let signature = sign(webhook.secret.expose(), &timestamp, &job.body);
    let mut headers = vec![
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
        (
            header::USER_AGENT,
            HeaderValue::from_static(concat!("strongroom-alerts/", env!("CARGO_PKG_VERSION"))),
        ),
    ];
    for (name, value) in [
        (TIMESTAMP_HEADER, timestamp),
        (SIGNATURE_HEADER, signature),
        (ALERT_ID_HEADER, job.alert.id.to_string()),
        (ATTEMPT_HEADER, n.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.push((HeaderName::from_static(name), v));
        }
    }
    match client::post(&webhook.target, headers, job.body.clone(), webhook.timeout).await {
        Ok(status) if (200..300).contains(&status) => Attempt::Delivered(status),
        Ok(status) if status == 408 || status == 429 || status >= 500 => {
            Attempt::Retry(format!("HTTP {status}"))
        }
        Ok(status) => Attempt::Refused(format!("HTTP {status}")),
        Err(e @ PostError::Timeout(_)) | Err(e @ PostError::Io(_)) => Attempt::Retry(e.to_string()),
    }
}

/// `v1=` and the hex HMAC-SHA-256, under the webhook's secret, of `timestamp`, `.` and the
/// body.
pub(crate) fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut signed = Vec::with_capacity(timestamp.len() + 1 + body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let mac = strongroom_crypto::digest::hmac_sha256(secret, &signed);
    format!("v1={}", strongroom_crypto::hex::encode(&mac))
}

#[cfg(test)]
mod tests;
