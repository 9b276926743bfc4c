//! Monitoring endpoints on the server's own listener: `GET /metrics` (Prometheus text
//! exposition format) and `GET /readyz` (readiness); `GET /healthz` (liveness) is in
//! [`crate::http`]. Operators' documentation: `docs/monitoring.md`.
//!
//! The metrics are defined and recorded in `strongroom_service::metrics`; this module owns
//! how they are exported. The recorder is `metrics-exporter-prometheus` without its HTTP
//! listener (the router serves `/metrics`), built per server rather than installed globally,
//! so every server (and every test) has its own.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use strongroom_service::Service;
use strongroom_service::metrics::{DURATION_BUCKETS, HISTOGRAMS, Metrics};

/// How long `/readyz` and the key count of `/metrics` wait for the store.
pub(crate) const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// How often histogram samples are folded into their buckets between scrapes, which bounds
/// the memory of samples waiting (each request adds one).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The content type of the Prometheus text exposition format.
const EXPOSITION_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A new Prometheus recorder with the duration buckets, as [`Metrics`] for the service, and
/// the handle that renders it.
pub(crate) fn prometheus() -> Result<(Metrics, PrometheusHandle), BuildError> {
    let builder = HISTOGRAMS
        .iter()
        .try_fold(PrometheusBuilder::new(), |b, name| {
            b.set_buckets_for_metric(Matcher::Full((*name).to_owned()), DURATION_BUCKETS)
        })?;
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    Ok((Metrics::new(Arc::new(recorder)), handle))
}

/// What the monitoring endpoints read. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Monitor {
    inner: Arc<MonitorInner>,
}

#[derive(Debug)]
struct MonitorInner {
    service: Service,
    prometheus: PrometheusHandle,
    probe_timeout: Duration,
    shutting_down: AtomicBool,
}

impl Monitor {
    /// Monitoring of `service`, whose metrics `prometheus` renders.
    pub(crate) fn new(service: Service, prometheus: PrometheusHandle) -> Self {
        Self::with_timeout(service, prometheus, STORE_PROBE_TIMEOUT)
    }

    pub(crate) fn with_timeout(
        service: Service,
        prometheus: PrometheusHandle,
        probe_timeout: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(MonitorInner {
                service,
                prometheus,
                probe_timeout,
                shutting_down: AtomicBool::new(false),
            }),
        }
    }

    /// From now on `/readyz` answers 503: the server is draining.
    pub(crate) fn set_shutting_down(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Folds histogram samples into their buckets every few seconds, until aborted.
    pub(crate) fn spawn_upkeep(&self) -> tokio::task::JoinHandle<()> {
        let handle = self.inner.prometheus.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        })
    }
}

/// `GET /metrics`: counts the keys by state (if the store answers in time; otherwise the key
/// gauges keep their last values), then renders every metric.
pub(crate) async fn metrics(State(m): State<Monitor>) -> Response {
    let m = &m.inner;
    // Failures are logged where they happen; the other metrics are still worth serving.
    let _ = m.service.refresh_key_metrics(m.probe_timeout).await;
    if let Some(log) = m.service.audit() {
        // The queue is sampled at each scrape; every fsync is observed by the writer.
        let stats = log.stats();
        let audit = m.service.metrics().audit();
        audit.set_queue_depth(stats.queue_depth);
        audit.set_direct_io(stats.direct_io);
    }
    let mut out = (StatusCode::OK, m.prometheus.render()).into_response();
    out.headers_mut().insert(
        "content-type",
        HeaderValue::from_static(EXPOSITION_CONTENT_TYPE),
    );
    out
}

/// `GET /readyz`: 200 `ready` when the server is not shutting down and the store answers a
/// trivial read within the probe timeout; otherwise 503 with the reason.
pub(crate) async fn readyz(State(m): State<Monitor>) -> Response {
    let m = &m.inner;
    if m.shutting_down.load(Ordering::SeqCst) {
        return not_ready("shutting down");
    }
    match m.service.check_store(m.probe_timeout).await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => not_ready(&e.to_string()),
    }
}

fn not_ready(reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("not ready: {reason}\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
