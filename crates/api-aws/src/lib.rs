//! The AWS front end: the KMS JSON 1.1 protocol (`POST /`, `X-Amz-Target:
//! TrentService.<Operation>`) and the Query protocol of IAM and STS (`POST /` with a form
//! body and an `Action`, answered in XML; see [`query`]), SigV4 authentication, input
//! validation with AWS's constraints, and the mapping of every error to AWS's shape.
//!
//! It also serves CloudTrail's `LookupEvents` (JSON 1.1, see [`cloudtrail`]) over the audit
//! trail, and records every request of every API in the audit trail before answering it.
//!
//! Routing: a request with `X-Amz-Target` is KMS, or CloudTrail when the target has
//! CloudTrail's prefix; otherwise a `POST` with an `application/x-www-form-urlencoded` body is
//! IAM or STS, as its credential scope names; anything else is answered as KMS (which refuses
//! it).
//!
//! It is independent of the HTTP server: [`AwsApi::handle`] takes the parts of a request and
//! returns status, headers and body, so the binary's listener stays a thin adapter.
#![forbid(unsafe_code)]

mod audit;
mod auth;
mod cloudtrail;
mod dispatch;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
mod input;
mod metered;
mod ops;
pub mod query;

pub use dispatch::SIMULATE_TARGET;
pub use error::ApiError;

use strongroom_core::time::Clock;
use strongroom_service::Service;
use strongroom_service::metrics::Outcome;

/// How requests are authenticated and which regions are served.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Regions served; empty means any region named in a credential scope (dev mode).
    pub regions: Vec<String>,
    /// The clock SigV4's time window is checked against: always the real time, even when the
    /// service's own clock is moved by the dev server's test-only clock control.
    pub auth_clock: std::sync::Arc<dyn Clock>,
}

/// A request as the front end needs it: the same view SigV4 verification reads.
pub use strongroom_sigv4::Request;

/// A response to send.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The request id (the `x-amzn-RequestId` header).
    pub request_id: String,
    /// The body: JSON for KMS, XML for IAM and STS.
    pub body: Vec<u8>,
    /// The body's content type ([`CONTENT_TYPE`] or [`query::XML_CONTENT_TYPE`]).
    pub content_type: &'static str,
}

/// The content type of KMS (JSON 1.1) responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// The AWS KMS, IAM and STS APIs over a [`Service`].
#[derive(Debug, Clone)]
pub struct AwsApi {
    service: Service,
    config: ApiConfig,
    signing_keys: std::sync::Arc<auth::SigningKeys>,
    request_ids: std::sync::Arc<RequestIds>,
    metrics: std::sync::Arc<metered::ApiMetrics>,
}

impl AwsApi {
    /// A front end for `service`.
    pub fn new(service: Service, config: ApiConfig) -> Self {
        let metrics = std::sync::Arc::new(metered::ApiMetrics::new(service.metrics()));
        Self {
            service,
            config,
            signing_keys: std::sync::Arc::default(),
            request_ids: std::sync::Arc::new(RequestIds::new()),
            metrics,
        }
    }

    fn clock(&self) -> &dyn Clock {
        self.config.auth_clock.as_ref()
    }

    /// Handles one request end to end.
    pub async fn handle(&self, req: &Request<'_>) -> Response {
        self.handle_from(req, None).await
    }

    /// Handles one request that arrived from `peer` (the `aws:SourceIp` of the request).
    /// Every request is counted in the service's metrics, by API, operation and outcome.
    pub async fn handle_from(&self, req: &Request<'_>, peer: Option<std::net::IpAddr>) -> Response {
        let started = std::time::Instant::now();
        let request_id = self.request_ids.next();
        if query::is_query_request(req) {
            return self.handle_query(req, request_id, peer, started).await;
        }
        let target_header = header(req.headers, "x-amz-target");
        if let Some(operation) = cloudtrail::operation(target_header) {
            return self
                .handle_cloudtrail(req, operation, request_id, peer, started)
                .await;
        }
        let target = dispatch::Target::parse(target_header.unwrap_or_default());
        let (ctx, result) = self.handle_inner(req, &request_id, peer, target).await;
        let audit_error = result.as_ref().err().map(ApiError::parts);
        let (response, outcome) = match result {
            Ok(body) => (
                Response {
                    status: 200,
                    request_id,
                    body,
                    content_type: CONTENT_TYPE,
                },
                Outcome::Success,
            ),
            Err(e) => {
                let (code, status, message) = e.parts();
                log_refusal(&request_id, code, status);
                let body = serde_json::json!({ "__type": code, "message": message });
                let response = Response {
                    status,
                    request_id,
                    body: body.to_string().into_bytes(),
                    content_type: CONTENT_TYPE,
                };
                (response, Outcome::of(status, code))
            }
        };
        let (response, outcome) = match self
            .audit_kms(
                req,
                ctx.as_ref(),
                target,
                peer,
                audit_error.as_ref(),
                &response,
            )
            .await
        {
            Ok(()) => (response, outcome),
            Err(refused) => {
                let outcome = Outcome::of(refused.status, "KMSInternalException");
                (refused, outcome)
            }
        };
        self.metrics.kms(target, outcome, started.elapsed());
        response
    }

    /// Answers a request whose body the listener did not read because it is over the size
    /// limit. `req` carries the request's method, path and headers, and an empty body. The
    /// answer is 413 in the shape of the protocol the headers name (KMS and CloudTrail JSON,
    /// IAM and STS XML); the request is counted, and recorded in the audit trail like any
    /// refused request: as unauthenticated (its signature covers the body it did not send in
    /// full), naming the access key and the operation its headers name. Fail-closed: if the
    /// event cannot be recorded, the answer is a 500.
    pub async fn refuse_too_large(
        &self,
        req: &Request<'_>,
        peer: Option<std::net::IpAddr>,
        started: std::time::Instant,
    ) -> Response {
        let request_id = self.request_ids.next();
        if query::is_query_request(req) {
            return self
                .refuse_too_large_query(req, request_id, peer, started)
                .await;
        }
        let target_header = header(req.headers, "x-amz-target");
        let target = dispatch::Target::parse(target_header.unwrap_or_default());
        let (event_source, event_name, internal) = match cloudtrail::operation(target_header) {
            Some(op) => (
                cloudtrail::EVENT_SOURCE,
                cloudtrail::event_name(op),
                "InternalFailure",
            ),
            None => (
                strongroom_audit::KMS_EVENT_SOURCE,
                audit::event_name(target),
                "KMSInternalException",
            ),
        };
        let (mut code, mut status, message) = ApiError::TooLarge.parts();
        let mut body = cloudtrail::json_error(code, &message);
        let audited = audit::Audited {
            event_source,
            event_name,
            read_only: audit::read_only(event_name),
            region: None,
            request_parameters: serde_json::Value::Null,
            response_elements: serde_json::Value::Null,
            resources: Vec::new(),
            error: Some((code, message.as_str())),
        };
        if let Err(Unrecorded) = self.record(req, None, peer, &request_id, audited).await {
            (code, status) = (internal, 500);
            body = cloudtrail::json_error(code, UNRECORDED_MESSAGE);
        }
        self.metrics
            .kms(target, Outcome::of(status, code), started.elapsed());
        Response {
            status,
            request_id,
            body,
            content_type: CONTENT_TYPE,
        }
    }

    /// Records the audit event of a KMS request before its answer leaves. Without an audit
    /// trail attached, or in best-effort mode, this never fails; fail-closed (the default), a
    /// request that cannot be recorded gets no answer but a 500.
    async fn audit_kms(
        &self,
        req: &Request<'_>,
        ctx: Option<&strongroom_service::RequestContext>,
        target: dispatch::Target,
        peer: Option<std::net::IpAddr>,
        error: Option<&(&'static str, u16, String)>,
        response: &Response,
    ) -> Result<(), Response> {
        let event_name = audit::event_name(target);
        let audited = audit::Audited {
            event_source: strongroom_audit::KMS_EVENT_SOURCE,
            event_name,
            read_only: audit::read_only(event_name),
            region: None,
            request_parameters: audit::kms_request_parameters(req.body),
            response_elements: serde_json::Value::Null,
            resources: audit::key_resources(ctx.map(|c| c.keys.arns()).unwrap_or_default()),
            error: error.map(|(code, _, message)| (*code, message.as_str())),
        };
        self.record(req, ctx, peer, &response.request_id, audited)
            .await
            .map_err(|Unrecorded| {
                let body = serde_json::json!({
                    "__type": "KMSInternalException",
                    "message": UNRECORDED_MESSAGE,
                });
                Response {
                    status: 500,
                    request_id: response.request_id.clone(),
                    body: body.to_string().into_bytes(),
                    content_type: CONTENT_TYPE,
                }
            })
    }

    /// Records the audit event of a request of any front end, which says what it knows in
    /// `audited`; who made the request, from where and when is filled in here, the same way
    /// for every front end. An unauthenticated request (`ctx` is `None`) is recorded with the
    /// access key id and region its signature named, if it could be read at all.
    ///
    /// Returns once the event is durable (fail-closed) or queued (best-effort); `Unrecorded`
    /// when it could not be recorded, and the caller must then withhold the answer. Without an
    /// audit trail (`--audit off`) nothing is recorded and this succeeds.
    pub(crate) async fn record(
        &self,
        req: &Request<'_>,
        ctx: Option<&strongroom_service::RequestContext>,
        peer: Option<std::net::IpAddr>,
        request_id: &str,
        mut audited: audit::Audited<'_>,
    ) -> Result<(), Unrecorded> {
        let Some(log) = self.service.audit() else {
            return Ok(());
        };
        // Bounds every event, and so every page of LookupEvents and every alert that carries
        // events: no legitimate request of these APIs comes near it (a policy is 32 KB).
        if req.body.len() > audit::MAX_RECORDED_BODY {
            audited.request_parameters = serde_json::Value::Null;
        }
        let principal_id = match ctx {
            Some(c) => self.service.principal_id(c).await,
            None => None,
        };
        let named = match ctx {
            Some(_) => None,
            None => strongroom_sigv4::parse(req)
                .ok()
                .map(|a| (a.access_key_id().to_owned(), a.region().to_owned())),
        };
        let who = match ctx {
            Some(c) => audit::Who::Caller(&c.caller, principal_id.as_deref()),
            None => audit::Who::Unknown(named.as_ref().map(|(id, _)| id.as_str())),
        };
        let region = match (ctx, &named) {
            (Some(c), _) => c.scope.region.as_str(),
            (None, Some((_, region))) => region.as_str(),
            (None, None) => "",
        };
        let event = audit::event(audit::Request {
            audited,
            who,
            region,
            source_ip: peer,
            user_agent: header(req.headers, "user-agent").unwrap_or_default(),
            request_id,
            event_id: self.request_ids.next_uuid(),
            now: self.service.clock().now(),
        });
        log.record(event).await.map_err(|e| {
            tracing::error!(request_id, error = %e, "audit event not recorded; the answer is withheld");
            Unrecorded
        })
    }

    async fn handle_inner(
        &self,
        req: &Request<'_>,
        request_id: &str,
        peer: Option<std::net::IpAddr>,
        target: dispatch::Target,
    ) -> (
        Option<strongroom_service::RequestContext>,
        Result<Vec<u8>, ApiError>,
    ) {
        let ctx = match self.authenticate(req, request_id, "kms", peer).await {
            Ok(ctx) => ctx,
            Err(e) => return (None, Err(e)),
        };
        // The JSON protocol has one endpoint: POST /.
        if req.method != "POST" || req.path != "/" {
            return (Some(ctx), Err(ApiError::UnknownOperation));
        }
        let result = dispatch::dispatch(&self.service, &ctx, target, req.body).await;
        (Some(ctx), result)
    }
}

/// The audit event of a request could not be recorded (the error is logged where it
/// happened): the answer must be withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unrecorded;

/// The message of the 500 that replaces an answer whose audit event could not be recorded.
pub(crate) const UNRECORDED_MESSAGE: &str =
    "The request could not be recorded in the audit trail. Try again later.";

/// Request ids: UUID-shaped, unique per process start (a random 64-bit prefix) and per request
/// (a counter), so no random number is drawn per request.
#[derive(Debug)]
struct RequestIds {
    prefix: [u8; 8],
    counter: std::sync::atomic::AtomicU64,
}

impl RequestIds {
    fn new() -> Self {
        let prefix = strongroom_crypto::random::array(&strongroom_crypto::random::SystemRandom)
            .unwrap_or_else(|_| {
                // Without randomness, the start time still separates restarts.
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                (t as u64).to_be_bytes()
            });
        Self {
            prefix,
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn next(&self) -> String {
        self.next_uuid().to_string()
    }

    /// A new id (request ids and audit event ids share the sequence, so they never collide).
    fn next_uuid(&self) -> uuid::Uuid {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.prefix);
        bytes[8..].copy_from_slice(&n.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// Logs a refused or failed request (its code only: messages can name client input): faults
/// as warnings, refusals at debug level.
pub(crate) fn log_refusal(request_id: &str, code: &str, status: u16) {
    if status >= 500 {
        tracing::warn!(request_id, code, "request failed");
    } else {
        tracing::debug!(request_id, code, "request refused");
    }
}

/// The first value of header `name` (case-insensitive), if it is valid UTF-8.
pub(crate) fn header<'a>(headers: &[(&str, &'a [u8])], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_unique_uuids() {
        let ids = RequestIds::new();
        let a = ids.next();
        let b = ids.next();
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(&a).is_ok());
        let other = RequestIds::new();
        assert_ne!(other.next(), a, "a new process start gets a new prefix");
    }
}
