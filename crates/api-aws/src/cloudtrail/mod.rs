//! CloudTrail's `LookupEvents` over AWS JSON 1.1, so that `boto3.client("cloudtrail")` and
//! `aws cloudtrail lookup-events` read Strongroom's audit trail unchanged: `POST /` with
//! `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`,
//! signed with SigV4 for the service `cloudtrail`, on the same listener as KMS, IAM and STS.
//!
//! Of CloudTrail's API only `LookupEvents` is served; its other operations are answered
//! `UnsupportedOperationException`. Errors are CloudTrail's, in the JSON 1.1 shape
//! (`{"__type", "message"}`). Every request is audited like any other
//! (`eventSource` `cloudtrail.amazonaws.com`), fail-closed.
//!
//! What Strongroom adds to CloudTrail's `LookupEvents` (documented in `docs/audit.md`): the
//! attribute keys `ErrorCode` and `PrincipalArn`, and several attributes in one request,
//! combined with AND (CloudTrail takes one). See [`lookup`].

pub(crate) mod lookup;
mod token;

use crate::audit::Audited;
use crate::error::ApiError;
use crate::{AwsApi, CONTENT_TYPE, Request, Response, UNRECORDED_MESSAGE, Unrecorded};
use strongroom_core::KmsError;
use strongroom_service::RequestContext;
use strongroom_service::metrics::Outcome;

/// The `X-Amz-Target` prefix of CloudTrail's API.
const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

/// The SigV4 signing name of CloudTrail.
const SIGNING_NAME: &str = "cloudtrail";

/// The `eventSource` of CloudTrail's events.
pub(crate) const EVENT_SOURCE: &str = "cloudtrail.amazonaws.com";

/// The operations served: the `operation` labels of their metrics.
pub(crate) const OPERATIONS: &[&str] = &["LookupEvents"];

/// The CloudTrail operation an `X-Amz-Target` names, if it is one of CloudTrail's.
pub(crate) fn operation(target: Option<&str>) -> Option<&str> {
    target?.strip_prefix(TARGET_PREFIX)
}

/// The `eventName` of a CloudTrail request: the operation when it looks like an operation
/// name (1 to 64 ASCII letters and digits), otherwise `Unknown`.
pub(crate) fn event_name(operation: &str) -> &str {
    if (1..=64).contains(&operation.len()) && operation.bytes().all(|b| b.is_ascii_alphanumeric()) {
        operation
    } else {
        "Unknown"
    }
}

impl AwsApi {
    /// Handles a CloudTrail request end to end, and records its audit event before the
    /// answer leaves (fail-closed: an answer whose event cannot be recorded becomes a 500
    /// `InternalFailure`).
    pub(crate) async fn handle_cloudtrail(
        &self,
        req: &Request<'_>,
        operation: &str,
        request_id: String,
        peer: Option<std::net::IpAddr>,
        started: std::time::Instant,
    ) -> Response {
        let (ctx, result) = self
            .cloudtrail_inner(req, operation, &request_id, peer)
            .await;
        let (status, body, code, message) = match result {
            Ok(body) => (200, body, "", String::new()),
            Err(e) => {
                let (code, status, message) = e.cloudtrail_parts();
                crate::log_refusal(&request_id, code, status);
                (status, json_error(code, &message), code, message)
            }
        };
        let event_name = event_name(operation);
        let audited = Audited {
            event_source: EVENT_SOURCE,
            event_name,
            read_only: crate::audit::read_only(event_name),
            region: None,
            request_parameters: if event_name == "LookupEvents" {
                lookup::request_parameters(req.body)
            } else {
                serde_json::Value::Null
            },
            response_elements: serde_json::Value::Null,
            resources: Vec::new(),
            error: (status >= 400).then_some((code, message.as_str())),
        };
        let (mut status, mut body, mut code) = (status, body, code);
        if let Err(Unrecorded) = self
            .record(req, ctx.as_ref(), peer, &request_id, audited)
            .await
        {
            let withheld = "InternalFailure";
            (status, body, code) = (500, json_error(withheld, UNRECORDED_MESSAGE), withheld);
        }
        let index = OPERATIONS.iter().position(|o| *o == operation);
        self.metrics
            .cloudtrail(index, Outcome::of(status, code), started.elapsed());
        Response {
            status,
            request_id,
            body,
            content_type: CONTENT_TYPE,
        }
    }

    async fn cloudtrail_inner(
        &self,
        req: &Request<'_>,
        operation: &str,
        request_id: &str,
        peer: Option<std::net::IpAddr>,
    ) -> (Option<RequestContext>, Result<Vec<u8>, ApiError>) {
        let ctx = match self.authenticate(req, request_id, SIGNING_NAME, peer).await {
            Ok(ctx) => ctx,
            Err(e) => return (None, Err(e)),
        };
        // The JSON protocol has one endpoint: POST /.
        if req.method != "POST" || req.path != "/" {
            return (Some(ctx), Err(ApiError::UnknownOperation));
        }
        let result = match operation {
            "LookupEvents" => lookup::lookup_events(&self.service, &ctx, req.body).await,
            other if event_name(other) == other => Err(KmsError::UnsupportedOperation(format!(
                "{other} is not supported by this server: of CloudTrail's API it serves \
                 LookupEvents only."
            ))
            .into()),
            _ => Err(ApiError::UnknownOperation),
        };
        (Some(ctx), result)
    }
}

/// A JSON 1.1 error body.
pub(crate) fn json_error(code: &str, message: &str) -> Vec<u8> {
    serde_json::json!({ "__type": code, "message": message })
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_event_names() {
        assert_eq!(
            operation(Some(
                "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
            )),
            Some("LookupEvents")
        );
        assert_eq!(operation(Some("TrentService.Encrypt")), None);
        assert_eq!(operation(Some("CloudTrail_20131101.LookupEvents")), None);
        assert_eq!(operation(None), None);
        assert_eq!(event_name("LookupEvents"), "LookupEvents");
        assert_eq!(event_name("DescribeTrails"), "DescribeTrails");
        assert_eq!(event_name(""), "Unknown");
        assert_eq!(event_name("Look up"), "Unknown");
        assert_eq!(event_name(&"A".repeat(65)), "Unknown");
        assert!(crate::audit::read_only("LookupEvents"));
        let body: serde_json::Value =
            serde_json::from_slice(&json_error("InvalidTimeRangeException", "why")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"__type": "InvalidTimeRangeException", "message": "why"})
        );
    }
}
