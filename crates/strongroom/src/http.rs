//! The HTTP listener: a thin adapter from hyper requests to [`AwsApi::handle`], plus
//! `GET /healthz` (liveness) and the monitoring endpoints `GET /readyz` and `GET /metrics`
//! ([`crate::monitor`]), with graceful shutdown on SIGTERM and SIGINT.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use strongroom_api_aws::{AwsApi, Request};
use strongroom_core::time::{Clock as _, OffsetClock};
use strongroom_service::Service;

use crate::monitor::{self, Monitor};

/// The largest request body accepted. The largest legitimate KMS request is a PutKeyPolicy with
/// a 32 KB policy, JSON-escaped; 1 MiB leaves ample room and bounds memory per request.
pub(crate) const MAX_BODY: usize = 1 << 20;

/// The test-only clock control of a dev server (`--dev-clock-control`).
#[derive(Debug, Clone)]
pub(crate) struct ClockControl {
    pub(crate) clock: Arc<OffsetClock>,
    pub(crate) service: Service,
}

/// The router serving the AWS APIs (KMS, IAM, STS) on `POST /`, liveness on `GET /healthz`,
/// readiness on `GET /readyz` and metrics on `GET /metrics`, plus the clock control when the
/// dev server was started with it.
pub(crate) fn router(api: AwsApi, control: Option<ClockControl>, monitor: Monitor) -> Router {
    let monitoring = Router::new()
        .route("/metrics", get(monitor::metrics))
        .route("/readyz", get(monitor::readyz))
        .with_state(monitor);
    let mut r = Router::new()
        .route("/healthz", get(healthz))
        .merge(monitoring);
    if let Some(c) = control {
        let clock = Router::new()
            .route("/_strongroom/clock", get(clock_now).post(clock_advance))
            .with_state(c);
        r = r.merge(clock);
    }
    r.fallback(kms).with_state(api)
}

#[derive(serde::Deserialize)]
struct Advance {
    advance_seconds: i64,
}

async fn clock_now(State(c): State<ClockControl>) -> Response {
    let now = c.clock.now().unix_seconds_f64();
    (StatusCode::OK, format!(r#"{{"now":{now}}}"#)).into_response()
}

/// Moves the service clock forward, then runs due background work at once, so a test sees
/// its effect when the call returns.
async fn clock_advance(State(c): State<ClockControl>, body: axum::body::Bytes) -> Response {
    let Ok(a) = serde_json::from_slice::<Advance>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            "expected {\"advance_seconds\": N}\n",
        )
            .into_response();
    };
    c.clock.advance(a.advance_seconds.saturating_mul(1000));
    match c.service.run_due_work().await {
        Ok(done) => {
            let now = c.clock.now().unix_seconds_f64();
            let body = format!(
                r#"{{"now":{now},"rotated":{},"deleted":{},"expired":{},"sessions":{}}}"#,
                done.rotated, done.deleted, done.expired, done.sessions
            );
            (StatusCode::OK, body).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn kms(State(api): State<AwsApi>, request: axum::extract::Request) -> Response {
    let started = std::time::Instant::now();
    // Present when served with connect info (the binary); absent in router-only tests.
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(a)| a.ip());
    // Taking the request whole (rather than the HeaderMap extractor, which clones every
    // header) keeps the hot path to one header vector per request.
    let (parts, body) = request.into_parts();
    // Over the limit, the body is not read; the request is still answered, counted and
    // audited, from its headers.
    let (body, too_large) = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => (b, false),
        Err(_) => (axum::body::Bytes::new(), true),
    };
    let pairs: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let req = Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &pairs,
        body: &body,
    };
    let resp = if too_large {
        api.refuse_too_large(&req, peer, started).await
    } else {
        api.handle_from(&req, peer).await
    };
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = (status, resp.body).into_response();
    let h = out.headers_mut();
    h.insert("content-type", HeaderValue::from_static(resp.content_type));
    if let Ok(v) = HeaderValue::from_str(&resp.request_id) {
        h.insert("x-amzn-requestid", v);
    }
    out
}

/// Resolves when SIGTERM or SIGINT arrives.
pub(crate) async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = term => {},
        r = tokio::signal::ctrl_c() => {
            if let Err(e) = r {
                tracing::error!(error = %e, "cannot listen for SIGINT");
                std::future::pending::<()>().await;
            }
        }
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
