//! Event builders for the unit tests.

use strongroom_audit::{AuditEvent, EventTime, EventType, Resource, UserIdentity};

/// A successful KMS call by `principal` (an ARN).
pub(crate) fn api_call(name: &str, principal: &str) -> AuditEvent {
    let id = UserIdentity {
        identity_type: Some("IAMUser".into()),
        arn: Some(principal.into()),
        account_id: Some("111122223333".into()),
        access_key_id: Some("AKIAEXAMPLEEXAMPLE".into()),
        ..UserIdentity::default()
    };
    let time = EventTime::from_timestamp(strongroom_core::time::Timestamp(1_800_000_000_000));
    AuditEvent::kms_api_call(name, time, "us-east-1", id, uuid::Uuid::new_v4())
}

/// `event` naming one more key in `resources`.
pub(crate) fn with_key(mut event: AuditEvent, key_arn: &str) -> AuditEvent {
    event
        .resources
        .push(Resource::kms_key("111122223333", key_arn));
    event
}

/// `event` failed with `code` and `message`.
pub(crate) fn failed(mut event: AuditEvent, code: &str, message: &str) -> AuditEvent {
    event.error_code = Some(code.into());
    event.error_message = Some(message.into());
    event
}

/// The service's own work on `key_arn` (e.g. `DeleteKey` at the end of a deletion window).
pub(crate) fn service_event(name: &str, key_arn: &str) -> AuditEvent {
    let mut e = api_call(name, "x");
    e.user_identity = UserIdentity {
        account_id: Some("111122223333".into()),
        invoked_by: Some("AWS Internal".into()),
        ..UserIdentity::default()
    };
    e.event_type = EventType::AwsServiceEvent;
    with_key(e, key_arn)
}
