//! What the rules read from an audit event: who made it, which keys it named, whether it was
//! a denial or a use of a key pending deletion. All of it comes from the event alone; the
//! engine never asks the store (so it cannot know, for instance, the state of a key a
//! successful call named).

use strongroom_audit::{AuditEvent, EventType, KMS_KEY_RESOURCE_TYPE};

/// The error codes of an access-control refusal: KMS's and IAM/STS's.
pub(crate) const DENIAL_CODES: &[&str] = &["AccessDeniedException", "AccessDenied"];

/// The error code KMS answers when a key's state does not allow an operation.
pub(crate) const INVALID_STATE_CODE: &str = "KMSInvalidStateException";

/// What the message of that error says of a key pending deletion (`<key ARN> is pending
/// deletion.`), as AWS words it and as AWS's own CloudWatch alarm for this case matches it.
pub(crate) const PENDING_DELETION_TEXT: &str = " is pending deletion";

/// The subject every unauthenticated request is counted under by the per-principal rules.
pub(crate) const UNAUTHENTICATED: &str = "unauthenticated";

/// Who the per-principal rules (denials, rate) count an event against: the user's (or root's)
/// ARN; for a role session, the role's ARN, since a session's name is the caller's choice and
/// counting per session would let one role spread a burst over fresh names; and for every
/// unauthenticated request one subject, [`UNAUTHENTICATED`], since the access key it names is
/// unverified (counting per claimed key would let anyone fill a rule's table, or raise alerts
/// in a real key's name). `None` for service events and requests that named nothing.
pub(crate) fn counted_principal(event: &AuditEvent) -> Option<&str> {
    let id = &event.user_identity;
    if id.identity_type.as_deref() == Some("Unknown") {
        return Some(UNAUTHENTICATED);
    }
    let issuer = id
        .session_context
        .as_ref()
        .and_then(|s| s.session_issuer.as_ref())
        .map(|i| i.arn.as_str())
        .filter(|a| !a.is_empty());
    issuer.or_else(|| principal(event))
}

/// The caller: `userIdentity.arn`, else `principalId`, else `accessKeyId` (an
/// unauthenticated request names at most the access key it tried). `None` for service events
/// and requests that named nothing.
pub(crate) fn principal(event: &AuditEvent) -> Option<&str> {
    let id = &event.user_identity;
    [&id.arn, &id.principal_id, &id.access_key_id]
        .into_iter()
        .find_map(|v| v.as_deref().filter(|s| !s.is_empty()))
}

/// The ARNs of the KMS keys in `resources`, in order.
pub(crate) fn key_arns(event: &AuditEvent) -> impl Iterator<Item = &str> {
    event
        .resources
        .iter()
        .filter(|r| r.resource_type == KMS_KEY_RESOURCE_TYPE)
        .map(|r| r.arn.as_str())
}

/// Whether the request was refused by access control.
pub(crate) fn is_denial(event: &AuditEvent) -> bool {
    event
        .error_code
        .as_deref()
        .is_some_and(|c| DENIAL_CODES.contains(&c))
}

/// Whether the event succeeded (no `errorCode`).
pub(crate) fn succeeded(event: &AuditEvent) -> bool {
    event.error_code.is_none()
}

/// Whether the event is a call by a caller (not the service's own work).
pub(crate) fn is_api_call(event: &AuditEvent) -> bool {
    event.event_type == EventType::AwsApiCall
}

/// The key a request tried to use while it was pending deletion: the event failed with
/// `KMSInvalidStateException` and a message containing ` is pending deletion`. The key is
/// the ARN the message starts with, else the first key in `resources`.
pub(crate) fn pending_deletion_key(event: &AuditEvent) -> Option<&str> {
    if event.error_code.as_deref() != Some(INVALID_STATE_CODE) {
        return None;
    }
    let message = event.error_message.as_deref()?;
    let at = message.find(PENDING_DELETION_TEXT)?;
    let named = &message[..at];
    if named.starts_with("arn:") && !named.contains(char::is_whitespace) {
        Some(named)
    } else {
        key_arns(event).next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{api_call, failed, service_event, with_key};
    use strongroom_audit::UserIdentity;

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";

    #[test]
    fn principal_falls_back_from_arn_to_ids() {
        let e = api_call("Encrypt", "arn:aws:iam::111122223333:user/a");
        assert_eq!(principal(&e), Some("arn:aws:iam::111122223333:user/a"));
        let mut e = e;
        e.user_identity = UserIdentity {
            principal_id: Some("AIDAEXAMPLE".into()),
            access_key_id: Some("AKIAEXAMPLE".into()),
            ..UserIdentity::default()
        };
        assert_eq!(principal(&e), Some("AIDAEXAMPLE"));
        e.user_identity.principal_id = None;
        assert_eq!(principal(&e), Some("AKIAEXAMPLE"));
        assert_eq!(principal(&service_event("DeleteKey", KEY)), None);
    }

    #[test]
    fn rules_count_roles_not_sessions_and_all_unauthenticated_requests_as_one() {
        let user = api_call("Encrypt", "arn:aws:iam::111122223333:user/a");
        assert_eq!(
            counted_principal(&user),
            Some("arn:aws:iam::111122223333:user/a")
        );
        let mut session = api_call("Encrypt", "arn:aws:sts::111122223333:assumed-role/App/s1");
        session.user_identity.identity_type = Some("AssumedRole".into());
        session.user_identity.session_context = Some(strongroom_audit::SessionContext {
            session_issuer: Some(strongroom_audit::SessionIssuer {
                issuer_type: "Role".into(),
                principal_id: "AROAEXAMPLE".into(),
                arn: "arn:aws:iam::111122223333:role/App".into(),
                account_id: "111122223333".into(),
                user_name: "App".into(),
            }),
            attributes: strongroom_audit::SessionAttributes {
                creation_date: session.event_time,
                mfa_authenticated: false,
            },
        });
        assert_eq!(
            counted_principal(&session),
            Some("arn:aws:iam::111122223333:role/App")
        );
        assert_eq!(
            principal(&session),
            Some("arn:aws:sts::111122223333:assumed-role/App/s1")
        );
        let mut anonymous = api_call("Encrypt", "x");
        anonymous.user_identity = UserIdentity {
            identity_type: Some("Unknown".into()),
            access_key_id: Some("AKIAVICTIMEXAMPLE123".into()),
            ..UserIdentity::default()
        };
        assert_eq!(counted_principal(&anonymous), Some(UNAUTHENTICATED));
        assert_eq!(principal(&anonymous), Some("AKIAVICTIMEXAMPLE123"));
        assert_eq!(counted_principal(&service_event("DeleteKey", KEY)), None);
    }

    #[test]
    fn pending_deletion_is_recognised_by_code_and_message() {
        let msg = format!("{KEY} is pending deletion.");
        let e = failed(api_call("Decrypt", "p"), INVALID_STATE_CODE, &msg);
        assert_eq!(pending_deletion_key(&e), Some(KEY));
        // The message's ARN wins over resources (ReEncrypt names two keys).
        let other = "arn:aws:kms:us-east-1:111122223333:key/other";
        let e2 = with_key(with_key(e.clone(), other), KEY);
        assert_eq!(pending_deletion_key(&e2), Some(KEY));
        // Not the same thing: another state, another code, cancelling a deletion.
        let disabled = failed(
            api_call("Decrypt", "p"),
            INVALID_STATE_CODE,
            &format!("{KEY} is pending import."),
        );
        assert_eq!(pending_deletion_key(&disabled), None);
        let not_pending = failed(
            api_call("CancelKeyDeletion", "p"),
            INVALID_STATE_CODE,
            &format!("{KEY} is not pending deletion."),
        );
        assert_eq!(pending_deletion_key(&not_pending), None);
        let other_code = failed(api_call("Decrypt", "p"), "DisabledException", &msg);
        assert_eq!(pending_deletion_key(&other_code), None);
        // A message without an ARN falls back to the resources.
        let bare = with_key(
            failed(
                api_call("Decrypt", "p"),
                INVALID_STATE_CODE,
                "Key is pending deletion.",
            ),
            KEY,
        );
        assert_eq!(pending_deletion_key(&bare), Some(KEY));
    }

    #[test]
    fn denials_are_kms_and_iam_codes() {
        assert!(is_denial(&failed(
            api_call("Decrypt", "p"),
            "AccessDeniedException",
            "no"
        )));
        assert!(is_denial(&failed(
            api_call("CreateUser", "p"),
            "AccessDenied",
            "no"
        )));
        assert!(!is_denial(&failed(
            api_call("Decrypt", "p"),
            "NotFoundException",
            "no"
        )));
        assert!(!is_denial(&api_call("Decrypt", "p")));
    }
}
