//! The AWS front end: the KMS JSON 1.1 protocol (`POST /`, `X-Amz-Target:
//! TrentService.<Operation>`) and the Query protocol of IAM and STS (`POST /` with a form
//! body and an `Action`, answered in XML; see [`query`]), SigV4 authentication, input
//! validation with AWS's constraints, and the mapping of every error to AWS's shape.
//!
//! Routing: a request with `X-Amz-Target` is KMS; otherwise a `POST` with an
//! `application/x-www-form-urlencoded` body is IAM or STS, as its credential scope names;
//! anything else is answered as KMS (which refuses it).
//!
//! It is independent of the HTTP server: [`AwsApi::handle`] takes the parts of a request and
//! returns status, headers and body, so the binary's listener stays a thin adapter.
#![forbid(unsafe_code)]

mod auth;
mod dispatch;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
mod input;
mod ops;
pub mod query;

pub use dispatch::SIMULATE_TARGET;
pub use error::ApiError;

use strongroom_core::time::Clock;
use strongroom_service::Service;

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
}

impl AwsApi {
    /// A front end for `service`.
    pub fn new(service: Service, config: ApiConfig) -> Self {
        Self {
            service,
            config,
            signing_keys: std::sync::Arc::default(),
            request_ids: std::sync::Arc::new(RequestIds::new()),
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
    pub async fn handle_from(&self, req: &Request<'_>, peer: Option<std::net::IpAddr>) -> Response {
        let request_id = self.request_ids.next();
        if query::is_query_request(req) {
            return self.handle_query(req, request_id, peer).await;
        }
        let result = self.handle_inner(req, &request_id, peer).await;
        match result {
            Ok(body) => Response {
                status: 200,
                request_id,
                body,
                content_type: CONTENT_TYPE,
            },
            Err(e) => {
                let (code, status, message) = e.parts();
                if status >= 500 {
                    tracing::warn!(request_id, code, "request failed");
                } else {
                    tracing::debug!(request_id, code, "request refused");
                }
                let body = serde_json::json!({ "__type": code, "message": message });
                Response {
                    status,
                    request_id,
                    body: body.to_string().into_bytes(),
                    content_type: CONTENT_TYPE,
                }
            }
        }
    }

    async fn handle_inner(
        &self,
        req: &Request<'_>,
        request_id: &str,
        peer: Option<std::net::IpAddr>,
    ) -> Result<Vec<u8>, ApiError> {
        let ctx = self.authenticate(req, request_id, "kms", peer).await?;
        // The JSON protocol has one endpoint: POST /.
        if req.method != "POST" || req.path != "/" {
            return Err(ApiError::UnknownOperation);
        }
        let target = header(req.headers, "x-amz-target").unwrap_or_default();
        dispatch::dispatch(&self.service, &ctx, target, req.body).await
    }
}

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
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.prefix);
        bytes[8..].copy_from_slice(&n.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
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
