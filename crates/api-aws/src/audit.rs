//! What the audit trail records of a request, for every front end: the CloudTrail record
//! ([`event`]) with the caller's `userIdentity`, and the `requestParameters` of JSON 1.1
//! requests (KMS, CloudTrail), built from the request body by an allow-list, so that plaintext,
//! ciphertext, key material, import tokens and grant tokens can never reach an audit event,
//! whatever the operation. The Query protocol's allow-lists (IAM, STS) are in
//! `query::audit`.

use serde_json::{Map, Value};

/// The request members CloudTrail records for KMS operations (identifiers, encryption
/// contexts, algorithms, settings). Everything else — `Plaintext`, `CiphertextBlob`,
/// `EncryptedKeyMaterial`, `ImportToken`, `GrantTokens`, `GrantToken`, `Recipient` — is left
/// out by construction.
const RECORDED: &[&str] = &[
    "AliasName",
    "BypassPolicyLockoutSafetyCheck",
    "Constraints",
    "CustomerMasterKeySpec",
    "Description",
    "DestinationEncryptionAlgorithm",
    "DestinationEncryptionContext",
    "DestinationKeyId",
    "DryRun",
    "EncryptionAlgorithm",
    "EncryptionContext",
    "ExpirationModel",
    "GrantId",
    "GranteePrincipal",
    "ImportType",
    "IncludeKeyMaterial",
    "KeyId",
    "KeyMaterialId",
    "KeySpec",
    "KeyUsage",
    "Limit",
    "Marker",
    "MultiRegion",
    "Name",
    "NumberOfBytes",
    "Operations",
    "Origin",
    "PendingWindowInDays",
    "Policy",
    "PolicyName",
    "RetiringPrincipal",
    "RotationPeriodInDays",
    "SourceEncryptionAlgorithm",
    "SourceEncryptionContext",
    "SourceKeyId",
    "TagKeys",
    "Tags",
    "TargetKeyId",
    "ValidTo",
    "WrappingAlgorithm",
    "WrappingKeySpec",
];

/// Members whose value is a structure (or a list of them) whose own member names CloudTrail
/// also writes lower-case: `Tags` (`tagKey`, `tagValue`) and `Constraints`
/// (`encryptionContextSubset`…). Maps of user data inside them (an encryption context) keep
/// their keys.
const NESTED_SHAPES: &[&str] = &["Tags", "Constraints"];

/// Renames the member names of a structure, or of each structure of a list, one level deep.
fn rename_shape(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(rename_shape).collect()),
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (lower_camel(&k), v))
                .collect(),
        ),
        other => other,
    }
}

/// CloudTrail's member names start lower-case (`keyId`, `encryptionContext`).
pub(crate) fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// `requestParameters` of a KMS JSON request: the recorded members of the body's top-level
/// object, renamed as CloudTrail names them; `Null` when the body is not a JSON object (the
/// request failed before it could be read, and nothing of it is recorded).
pub(crate) fn kms_request_parameters(body: &[u8]) -> Value {
    json_request_parameters(body, RECORDED, NESTED_SHAPES)
}

/// The largest request body whose parameters an audit event records; the event of a larger
/// request has `requestParameters` `null`.
pub(crate) const MAX_RECORDED_BODY: usize = 100 * 1024;

/// `requestParameters` of a JSON 1.1 request: the members of the body's top-level object named
/// in `recorded`, renamed lowerCamel, and the member names of the structures in the members
/// named in `nested` too; `Null` when nothing is recorded or the body is not one JSON object.
///
/// Members not recorded are skipped by the parser, never built: a plaintext or ciphertext is
/// neither copied nor unescaped (this runs for every request). A body over
/// [`MAX_RECORDED_BODY`] is not read at all: its event records no parameters anyway.
pub(crate) fn json_request_parameters(body: &[u8], recorded: &[&str], nested: &[&str]) -> Value {
    use serde::de::DeserializeSeed as _;
    if body.len() > MAX_RECORDED_BODY {
        return Value::Null;
    }
    let mut parser = serde_json::Deserializer::from_slice(body);
    let members = Recorded { recorded, nested }
        .deserialize(&mut parser)
        .and_then(|m| parser.end().map(|()| m));
    match members {
        Ok(m) if !m.is_empty() => Value::Object(m),
        _ => Value::Null,
    }
}

/// Reads a JSON object, keeping only the recorded members (renamed); a duplicate member keeps
/// its last value, as a parse into a [`Value`] would.
struct Recorded<'a> {
    recorded: &'a [&'a str],
    nested: &'a [&'a str],
}

/// A member name, borrowed from the body unless it has escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Recorded<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Recorded<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let Some(name) = self.recorded.iter().find(|r| **r == key) else {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            };
            let value: Value = map.next_value()?;
            let value = if self.nested.contains(name) {
                rename_shape(value)
            } else {
                value
            };
            out.insert(lower_camel(name), value);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: &str = "U0VOVElORUwtcGxhaW50ZXh0";

    #[test]
    fn secrets_are_never_recorded_and_the_rest_is_renamed() {
        let body = serde_json::json!({
            "KeyId": "alias/a",
            "Plaintext": SENTINEL,
            "CiphertextBlob": SENTINEL,
            "EncryptedKeyMaterial": SENTINEL,
            "ImportToken": SENTINEL,
            "GrantTokens": [SENTINEL],
            "GrantToken": SENTINEL,
            "Recipient": {"AttestationDocument": SENTINEL},
            "EncryptionContext": {"dept": "it"},
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        });
        let got = kms_request_parameters(body.to_string().as_bytes());
        assert_eq!(
            got,
            serde_json::json!({
                "keyId": "alias/a",
                "encryptionContext": {"dept": "it"},
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            })
        );
        assert!(!got.to_string().contains(SENTINEL));
    }

    #[test]
    fn tag_and_constraint_members_are_renamed_but_contexts_are_not() {
        let body = serde_json::json!({
            "Tags": [{"TagKey": "Team", "TagValue": "Pay"}],
            "Constraints": {"EncryptionContextSubset": {"Dept": "IT"}},
        });
        assert_eq!(
            kms_request_parameters(body.to_string().as_bytes()),
            serde_json::json!({
                "tags": [{"tagKey": "Team", "tagValue": "Pay"}],
                "constraints": {"encryptionContextSubset": {"Dept": "IT"}},
            })
        );
    }

    /// The skipping parser records exactly what filtering a full parse would: escaped and
    /// duplicate member names, nested values, trailing bytes, non-objects.
    #[test]
    fn skipping_parser_matches_a_full_parse() {
        fn reference(body: &[u8]) -> Value {
            let Ok(Value::Object(members)) = serde_json::from_slice::<Value>(body) else {
                return Value::Null;
            };
            let kept: Map<String, Value> = members
                .into_iter()
                .filter(|(k, _)| RECORDED.contains(&k.as_str()))
                .map(|(k, v)| {
                    let v = if NESTED_SHAPES.contains(&k.as_str()) {
                        rename_shape(v)
                    } else {
                        v
                    };
                    (lower_camel(&k), v)
                })
                .collect();
            if kept.is_empty() {
                Value::Null
            } else {
                Value::Object(kept)
            }
        }
        let bodies: &[&[u8]] = &[
            br#"{"KeyId":"a","KeyId":"b"}"#,
            br#"{"Key\u0049d":"escaped","Plaintext":"x\"y"}"#,
            br#"{"Plaintext":{"KeyId":"inner"},"Limit":5}"#,
            br#"{"Tags":[{"TagKey":"k","TagValue":"v"}],"Policy":"{\"a\":1}"}"#,
            br#"{"KeyId":"a"} trailing"#,
            br#"{"KeyId":"a"}  "#,
            br#"{"KeyId":"a","#,
            br#"{"KeyId":}"#,
            br#""KeyId""#,
            br#"null"#,
            b"",
            br#"{"EncryptionContext":{"Plaintext":"kept: user data"},"Grant\u0054okens":["t"]}"#,
            br#"{"KeyId":"\ud83d\ude00","NumberOfBytes":1e2,"DryRun":true}"#,
        ];
        for body in bodies {
            assert_eq!(
                kms_request_parameters(body),
                reference(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn bodies_over_the_recorded_limit_are_not_read() {
        let pad = "x".repeat(MAX_RECORDED_BODY);
        let body = format!(r#"{{"KeyId":"alias/a","Description":"{pad}"}}"#);
        assert_eq!(kms_request_parameters(body.as_bytes()), Value::Null);
        let small = br#"{"KeyId":"alias/a"}"#;
        assert_eq!(
            kms_request_parameters(small),
            serde_json::json!({"keyId": "alias/a"})
        );
    }

    #[test]
    fn unreadable_or_empty_bodies_record_nothing() {
        assert_eq!(kms_request_parameters(b"not json"), Value::Null);
        assert_eq!(kms_request_parameters(b"[1]"), Value::Null);
        assert_eq!(kms_request_parameters(b"{}"), Value::Null);
        assert_eq!(
            kms_request_parameters(br#"{"Plaintext":"eA=="}"#),
            Value::Null
        );
    }
}

/// Who made a request, as far as the front end knows it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Who<'a> {
    /// Authenticated.
    Caller(&'a strongroom_service::Caller, Option<&'a str>),
    /// Not authenticated; the access key id the request named, if it could be read.
    Unknown(Option<&'a str>),
}

/// CloudTrail's `userIdentity` for a caller. `principal_id` is the user's unique id, when
/// known (the service has it for users; roots and sessions derive theirs).
///
/// `sessionContext.attributes.creationDate` is when the session's credentials were issued.
pub(crate) fn user_identity(
    who: Who<'_>,
    now: strongroom_audit::EventTime,
) -> strongroom_audit::UserIdentity {
    use strongroom_audit::{SessionAttributes, SessionContext, SessionIssuer, UserIdentity};
    use strongroom_service::CallerKind;
    let mut id = UserIdentity::default();
    match who {
        Who::Unknown(access_key_id) => {
            id.identity_type = Some("Unknown".to_owned());
            id.access_key_id = access_key_id.map(str::to_owned);
        }
        Who::Caller(c, user_id) => {
            id.arn = Some(c.principal_arn.clone());
            id.account_id = Some(c.account.as_str().to_owned());
            id.access_key_id = Some(c.access_key_id.clone());
            match &c.kind {
                CallerKind::Root => {
                    id.identity_type = Some("Root".to_owned());
                    id.principal_id = Some(c.account.as_str().to_owned());
                }
                CallerKind::User { name } => {
                    id.identity_type = Some("IAMUser".to_owned());
                    id.principal_id = user_id.map(str::to_owned);
                    id.user_name = Some(name.clone());
                }
                CallerKind::Session {
                    role_name,
                    role_id,
                    session_name,
                } => {
                    id.identity_type = Some("AssumedRole".to_owned());
                    id.principal_id = Some(format!("{role_id}:{session_name}"));
                    let partition = c.principal_arn.split(':').nth(1).unwrap_or("aws");
                    id.session_context = Some(SessionContext {
                        session_issuer: Some(SessionIssuer {
                            issuer_type: "Role".to_owned(),
                            principal_id: role_id.clone(),
                            arn: format!("arn:{partition}:iam::{}:role/{role_name}", c.account),
                            account_id: c.account.as_str().to_owned(),
                            user_name: role_name.clone(),
                        }),
                        attributes: SessionAttributes {
                            creation_date: c
                                .issued_at
                                .map_or(now, strongroom_audit::EventTime::from_timestamp),
                            mfa_authenticated: false,
                        },
                    });
                }
            }
        }
    }
    id
}

/// Whether an operation only reads (CloudTrail's `readOnly`): KMS marks its cryptographic
/// operations and every Describe/Get/List as read-only, changes as not.
pub(crate) fn read_only(operation: &str) -> bool {
    const CHANGES: &[&str] = &[
        "Create",
        "Update",
        "Delete",
        "Put",
        "Enable",
        "Disable",
        "Schedule",
        "Cancel",
        "Tag",
        "Untag",
        "Import",
        "Rotate",
        "Retire",
        "Revoke",
        "Connect",
        "Disconnect",
        "Replicate",
        "Attach",
        "Detach",
        "Assume",
        "Set",
        "Reset",
        "Upload",
        "Add",
        "Remove",
        "Change",
    ];
    !CHANGES.iter().any(|p| operation.starts_with(p))
}

/// The name an audit event gives a KMS request.
pub(crate) fn event_name(target: crate::dispatch::Target) -> &'static str {
    match target {
        crate::dispatch::Target::Kms(op) => op.name(),
        crate::dispatch::Target::Simulate => "SimulatePolicy",
        crate::dispatch::Target::Unknown => "Unknown",
    }
}

/// What a front end says about one of its requests, for its audit event: everything that
/// depends on the protocol and the operation. The rest (who, from where, when) is the same for
/// every front end ([`crate::AwsApi::record`]).
#[derive(Debug)]
pub(crate) struct Audited<'a> {
    /// `eventSource`: `kms.amazonaws.com`, `iam.amazonaws.com`, …
    pub(crate) event_source: &'static str,
    /// `eventName`: the operation.
    pub(crate) event_name: &'a str,
    /// `readOnly`.
    pub(crate) read_only: bool,
    /// `awsRegion` when the service fixes it (IAM is global: `us-east-1`); otherwise the
    /// region the request was signed for.
    pub(crate) region: Option<&'static str>,
    /// `requestParameters` (allow-listed; never a secret).
    pub(crate) request_parameters: Value,
    /// `responseElements` (never a secret).
    pub(crate) response_elements: Value,
    /// `resources`.
    pub(crate) resources: Vec<strongroom_audit::Resource>,
    /// The error code and message of a failed request.
    pub(crate) error: Option<(&'a str, &'a str)>,
}

/// The `resources` of a request on KMS keys: one `AWS::KMS::Key` per key ARN, owned by the
/// account the ARN names.
pub(crate) fn key_resources(arns: Vec<String>) -> Vec<strongroom_audit::Resource> {
    arns.into_iter()
        .map(|arn| {
            let account = arn.split(':').nth(4).unwrap_or_default().to_owned();
            strongroom_audit::Resource::kms_key(account, arn)
        })
        .collect()
}

/// Everything an audit event of one request is made of.
pub(crate) struct Request<'a> {
    pub(crate) audited: Audited<'a>,
    pub(crate) who: Who<'a>,
    pub(crate) region: &'a str,
    pub(crate) source_ip: Option<std::net::IpAddr>,
    pub(crate) user_agent: &'a str,
    pub(crate) request_id: &'a str,
    pub(crate) event_id: uuid::Uuid,
    pub(crate) now: strongroom_core::time::Timestamp,
}

/// The CloudTrail record of a request.
pub(crate) fn event(r: Request<'_>) -> strongroom_audit::AuditEvent {
    let a = r.audited;
    let now = strongroom_audit::EventTime::from_timestamp(r.now);
    let mut e = strongroom_audit::AuditEvent::kms_api_call(
        a.event_name,
        now,
        a.region.unwrap_or(r.region),
        user_identity(r.who, now),
        r.event_id,
    );
    a.event_source.clone_into(&mut e.event_source);
    e.source_ip_address = r.source_ip.map(|ip| ip.to_string()).unwrap_or_default();
    r.user_agent.clone_into(&mut e.user_agent);
    e.request_parameters = a.request_parameters;
    e.response_elements = a.response_elements;
    if let Some((code, message)) = a.error {
        e.error_code = Some(code.to_owned());
        e.error_message = Some(message.to_owned());
    }
    e.request_id = Some(r.request_id.to_owned());
    e.read_only = a.read_only;
    e.resources = a.resources;
    if e.recipient_account_id.is_empty()
        && let Some(first) = e.resources.first()
    {
        e.recipient_account_id.clone_from(&first.account_id);
    }
    e
}
