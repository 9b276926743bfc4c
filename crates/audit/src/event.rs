//! The audit event: one AWS CloudTrail record, with CloudTrail's JSON member names and order.
//!
//! The shape follows the records AWS KMS writes to CloudTrail (the KMS developer guide's
//! "Examples of AWS KMS log entries" and CloudTrail's "record contents" reference):
//!
//! ```json
//! {"eventVersion":"1.08",
//!  "userIdentity":{"type":"IAMUser","principalId":"AIDA…","arn":"arn:aws:iam::111122223333:user/Alice",
//!                  "accountId":"111122223333","accessKeyId":"AKIA…","userName":"Alice"},
//!  "eventTime":"2026-11-29T08:00:00Z","eventSource":"kms.amazonaws.com","eventName":"Encrypt",
//!  "awsRegion":"us-east-1","sourceIPAddress":"192.0.2.0","userAgent":"aws-cli/2",
//!  "requestParameters":{"keyId":"alias/app","encryptionAlgorithm":"SYMMETRIC_DEFAULT"},
//!  "responseElements":null,"requestID":"…","eventID":"…","readOnly":true,
//!  "resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"arn:aws:kms:…:key/…"}],
//!  "eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333",
//!  "eventCategory":"Management"}
//! ```
//!
//! Failed calls add `errorCode` and `errorMessage` after `userAgent`. Events KMS performs on its
//! own (a scheduled deletion, an automatic rotation) are `AwsServiceEvent`s: their
//! `userIdentity` is just `{"accountId", "invokedBy"}` and they carry no `requestID`, which is
//! why those members are optional here. Optional members are omitted when absent, never
//! written as `null`; `requestParameters` and `responseElements` are always present and may be
//! `null`, as in CloudTrail.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::fmt;
use strongroom_core::time::Timestamp;
use time::{Date, Month, Time, UtcDateTime};

/// The `eventVersion` Strongroom writes.
pub const EVENT_VERSION: &str = "1.08";
/// The `eventSource` of KMS events.
pub const KMS_EVENT_SOURCE: &str = "kms.amazonaws.com";
/// The resource `type` of a KMS key.
pub const KMS_KEY_RESOURCE_TYPE: &str = "AWS::KMS::Key";
/// The `eventCategory` of management events (every KMS event).
pub const MANAGEMENT_CATEGORY: &str = "Management";

/// One CloudTrail record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// `eventVersion`: the record format version, [`EVENT_VERSION`].
    pub event_version: String,
    /// `userIdentity`: who made the request.
    pub user_identity: UserIdentity,
    /// `eventTime`: when the request completed (UTC, whole seconds).
    pub event_time: EventTime,
    /// `eventSource`: the service, normally [`KMS_EVENT_SOURCE`].
    pub event_source: String,
    /// `eventName`: the operation (`Encrypt`, `CreateKey`, …).
    pub event_name: String,
    /// `awsRegion`.
    pub aws_region: String,
    /// `sourceIPAddress`: the caller's address (or a service name for service events).
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    /// `userAgent`.
    pub user_agent: String,
    /// `errorCode`: the AWS error code of a failed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// `errorMessage`: the message of a failed request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `requestParameters`: the request's parameters (never secrets or plaintext), or `null`.
    #[serde(default)]
    pub request_parameters: Value,
    /// `responseElements`: the response's non-secret elements, or `null`.
    #[serde(default)]
    pub response_elements: Value,
    /// `additionalEventData` (KMS puts `keyMaterialId` here); omitted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    /// `requestID`: the `x-amzn-RequestId` of the response; absent for service events.
    #[serde(rename = "requestID", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `eventID`: unique per event.
    #[serde(rename = "eventID")]
    pub event_id: uuid::Uuid,
    /// `readOnly`: whether the operation only reads.
    pub read_only: bool,
    /// `resources`: the KMS keys the request acted on.
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// `eventType`.
    pub event_type: EventType,
    /// `managementEvent`: `true` for every KMS event.
    pub management_event: bool,
    /// `recipientAccountId`: the account the event belongs to.
    pub recipient_account_id: String,
    /// `eventCategory`: [`MANAGEMENT_CATEGORY`].
    pub event_category: String,
}

impl AuditEvent {
    /// A KMS API call event with CloudTrail's fixed members filled in (`eventVersion` 1.08,
    /// `eventSource` kms.amazonaws.com, `AwsApiCall`, a management event) and everything
    /// request-specific empty: set `source_ip_address`, `user_agent`, `request_parameters`,
    /// `resources`, `request_id`, `error_code` … before recording.
    pub fn kms_api_call(
        event_name: impl Into<String>,
        event_time: EventTime,
        aws_region: impl Into<String>,
        user_identity: UserIdentity,
        event_id: uuid::Uuid,
    ) -> Self {
        let recipient = user_identity.account_id.clone().unwrap_or_default();
        Self {
            event_version: EVENT_VERSION.to_owned(),
            user_identity,
            event_time,
            event_source: KMS_EVENT_SOURCE.to_owned(),
            event_name: event_name.into(),
            aws_region: aws_region.into(),
            source_ip_address: String::new(),
            user_agent: String::new(),
            error_code: None,
            error_message: None,
            request_parameters: Value::Null,
            response_elements: Value::Null,
            additional_event_data: None,
            request_id: None,
            event_id,
            read_only: false,
            resources: Vec::new(),
            event_type: EventType::AwsApiCall,
            management_event: true,
            recipient_account_id: recipient,
            event_category: MANAGEMENT_CATEGORY.to_owned(),
        }
    }
}

/// `userIdentity`. Every member is optional because service events carry only `accountId` and
/// `invokedBy`; API calls carry `type`, `principalId`, `arn`, `accountId`, `accessKeyId` and,
/// for IAM users, `userName` or, for role sessions, `sessionContext`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `type`: `Root`, `IAMUser`, `AssumedRole`, `AWSAccount`, `AWSService`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub identity_type: Option<String>,
    /// `principalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// `arn`: the caller's ARN (for a role session, the `assumed-role/…` ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// `accountId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// `accessKeyId`: the access key that signed the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// `userName` (IAM users and the root user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// `sessionContext` (temporary credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_context: Option<SessionContext>,
    /// `invokedBy`: the service that acted (service events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    /// `sessionIssuer`: the role (or user) the session was issued for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_issuer: Option<SessionIssuer>,
    /// `attributes`.
    pub attributes: SessionAttributes,
}

/// `userIdentity.sessionContext.sessionIssuer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    /// `type`: `Role` (or `IAMUser`, `Root`).
    #[serde(rename = "type")]
    pub issuer_type: String,
    /// `principalId`: the role's unique id.
    pub principal_id: String,
    /// `arn`: the role's ARN.
    pub arn: String,
    /// `accountId`.
    pub account_id: String,
    /// `userName`: the role's name.
    pub user_name: String,
}

/// `userIdentity.sessionContext.attributes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    /// `creationDate`: when the session's credentials were issued.
    pub creation_date: EventTime,
    /// `mfaAuthenticated`: CloudTrail writes it as the *string* `"true"` or `"false"`; a JSON
    /// boolean is accepted when reading.
    #[serde(
        serialize_with = "bool_as_string",
        deserialize_with = "bool_from_string_or_bool"
    )]
    pub mfa_authenticated: bool,
}

fn bool_as_string<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if *v { "true" } else { "false" })
}

fn bool_from_string_or_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        B(bool),
        S(String),
    }
    match Either::deserialize(d)? {
        Either::B(b) => Ok(b),
        Either::S(s) if s == "true" => Ok(true),
        Either::S(s) if s == "false" => Ok(false),
        Either::S(_) => Err(serde::de::Error::custom(
            "mfaAuthenticated must be \"true\" or \"false\"",
        )),
    }
}

/// One entry of `resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// `accountId`: the account that owns the resource.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// `type`: [`KMS_KEY_RESOURCE_TYPE`] for keys.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// `ARN`.
    #[serde(rename = "ARN")]
    pub arn: String,
}

impl Resource {
    /// A KMS key resource.
    pub fn kms_key(account_id: impl Into<String>, key_arn: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            resource_type: KMS_KEY_RESOURCE_TYPE.to_owned(),
            arn: key_arn.into(),
        }
    }
}

/// `eventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// A request made by a caller.
    AwsApiCall,
    /// Something the service did on its own (scheduled deletion, automatic rotation).
    AwsServiceEvent,
}

/// A CloudTrail time: UTC, whole seconds, written `YYYY-MM-DDTHH:MM:SSZ`. Only years 0000 to
/// 9999 are representable, so the text is always 20 characters and sorts like the time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTime(i64);

/// `0000-01-01T00:00:00Z` in Unix seconds.
const MIN_UNIX: i64 = -62_167_219_200;
/// `9999-12-31T23:59:59Z` in Unix seconds.
const MAX_UNIX: i64 = 253_402_300_799;

impl EventTime {
    /// The time `unix` seconds after the epoch, if its year is 0000 to 9999.
    pub fn from_unix_seconds(unix: i64) -> Option<Self> {
        (MIN_UNIX..=MAX_UNIX).contains(&unix).then_some(Self(unix))
    }

    /// The time of `ts`, rounded down to the second (and clamped to the representable years,
    /// which a real clock never leaves).
    pub fn from_timestamp(ts: Timestamp) -> Self {
        Self(ts.unix_seconds().clamp(MIN_UNIX, MAX_UNIX))
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` exactly (no fraction, no offset other than `Z`).
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return None;
        }
        let num = |start: usize, len: usize| -> Option<u16> {
            b.get(start..start + len)?.iter().try_fold(0u16, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
            })
        };
        let year = i32::from(num(0, 4)?);
        let month = Month::try_from(u8::try_from(num(5, 2)?).ok()?).ok()?;
        let day = u8::try_from(num(8, 2)?).ok()?;
        let date = Date::from_calendar_date(year, month, day).ok()?;
        let time = Time::from_hms(
            u8::try_from(num(11, 2)?).ok()?,
            u8::try_from(num(14, 2)?).ok()?,
            u8::try_from(num(17, 2)?).ok()?,
        )
        .ok()?;
        Self::from_unix_seconds(UtcDateTime::new(date, time).unix_timestamp())
    }
}

impl From<Timestamp> for EventTime {
    fn from(ts: Timestamp) -> Self {
        Self::from_timestamp(ts)
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The constructors keep the value in range, so the conversion cannot fail; fall back to
        // the epoch rather than panic if it ever did.
        let dt = UtcDateTime::from_unix_timestamp(self.0).unwrap_or(UtcDateTime::UNIX_EPOCH);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }
}

impl fmt::Debug for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventTime({self})")
    }
}

impl Serialize for EventTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| {
            serde::de::Error::custom("expected a UTC time written YYYY-MM-DDTHH:MM:SSZ")
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    pub(crate) fn sample() -> AuditEvent {
        let mut e = AuditEvent::kms_api_call(
            "Encrypt",
            EventTime::parse("2026-11-29T08:00:00Z").unwrap(),
            "us-east-1",
            UserIdentity {
                identity_type: Some("IAMUser".into()),
                principal_id: Some("AIDAEXAMPLE".into()),
                arn: Some("arn:aws:iam::111122223333:user/Alice".into()),
                account_id: Some("111122223333".into()),
                access_key_id: Some("AKIAEXAMPLE".into()),
                user_name: Some("Alice".into()),
                ..UserIdentity::default()
            },
            uuid::Uuid::nil(),
        );
        e.source_ip_address = "192.0.2.0".into();
        e.user_agent = "aws-cli/2.0".into();
        e.request_parameters =
            json!({"keyId": "alias/app", "encryptionAlgorithm": "SYMMETRIC_DEFAULT"});
        e.request_id = Some("f3423043-63bc-11e4-bc2b-4198b6150d5c".into());
        e.read_only = true;
        e.resources = vec![Resource::kms_key(
            "111122223333",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        )];
        e
    }

    #[test]
    fn serializes_with_cloudtrail_member_names_in_cloudtrail_order() {
        let text = serde_json::to_string(&sample()).unwrap();
        let expected = concat!(
            r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","#,
            r#""arn":"arn:aws:iam::111122223333:user/Alice","accountId":"111122223333","#,
            r#""accessKeyId":"AKIAEXAMPLE","userName":"Alice"},"eventTime":"2026-11-29T08:00:00Z","#,
            r#""eventSource":"kms.amazonaws.com","eventName":"Encrypt","awsRegion":"us-east-1","#,
            r#""sourceIPAddress":"192.0.2.0","userAgent":"aws-cli/2.0","#,
            r#""requestParameters":{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","keyId":"alias/app"},"#,
            r#""responseElements":null,"requestID":"f3423043-63bc-11e4-bc2b-4198b6150d5c","#,
            r#""eventID":"00000000-0000-0000-0000-000000000000","readOnly":true,"#,
            r#""resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","#,
            r#""ARN":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],"#,
            r#""eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","#,
            r#""eventCategory":"Management"}"#
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn errors_and_sessions_serialize_like_cloudtrail() {
        let mut e = sample();
        e.error_code = Some("AccessDeniedException".into());
        e.error_message = Some("denied".into());
        e.user_identity = UserIdentity {
            identity_type: Some("AssumedRole".into()),
            principal_id: Some("AROAEXAMPLE:app".into()),
            arn: Some("arn:aws:sts::111122223333:assumed-role/App/app".into()),
            account_id: Some("111122223333".into()),
            access_key_id: Some("ASIAEXAMPLE".into()),
            user_name: None,
            session_context: Some(SessionContext {
                session_issuer: Some(SessionIssuer {
                    issuer_type: "Role".into(),
                    principal_id: "AROAEXAMPLE".into(),
                    arn: "arn:aws:iam::111122223333:role/App".into(),
                    account_id: "111122223333".into(),
                    user_name: "App".into(),
                }),
                attributes: SessionAttributes {
                    creation_date: EventTime::parse("2026-11-29T07:00:00Z").unwrap(),
                    mfa_authenticated: false,
                },
            }),
            invoked_by: None,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["errorCode"], "AccessDeniedException");
        assert_eq!(v["errorMessage"], "denied");
        assert_eq!(
            v["userIdentity"]["sessionContext"],
            json!({"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                "arn": "arn:aws:iam::111122223333:role/App", "accountId": "111122223333",
                "userName": "App"},
              "attributes": {"creationDate": "2026-11-29T07:00:00Z", "mfaAuthenticated": "false"}})
        );
        let text = serde_json::to_string(&e).unwrap();
        let ua = text.find("\"userAgent\"").unwrap();
        let ec = text.find("\"errorCode\"").unwrap();
        let rp = text.find("\"requestParameters\"").unwrap();
        assert!(ua < ec && ec < rp, "errorCode follows userAgent: {text}");
        let back: AuditEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn reads_the_kms_developer_guide_service_event() {
        // The DeleteKey AwsServiceEvent record of the AWS KMS developer guide.
        let text = r#"{
            "eventVersion": "1.08",
            "userIdentity": {"accountId": "111122223333", "invokedBy": "AWS Internal"},
            "eventTime": "2020-07-31T00:07:00Z",
            "eventSource": "kms.amazonaws.com",
            "eventName": "DeleteKey",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "AWS Internal",
            "userAgent": "AWS Internal",
            "requestParameters": null,
            "responseElements": null,
            "eventID": "b25f9cda-74e1-4458-847b-4972a0bf9668",
            "readOnly": false,
            "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key",
                "ARN": "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],
            "eventType": "AwsServiceEvent",
            "recipientAccountId": "111122223333",
            "managementEvent": true,
            "eventCategory": "Management"
        }"#;
        let e: AuditEvent = serde_json::from_str(text).unwrap();
        assert_eq!(e.event_type, EventType::AwsServiceEvent);
        assert_eq!(e.request_id, None);
        assert_eq!(e.user_identity.invoked_by.as_deref(), Some("AWS Internal"));
        let again: serde_json::Value = serde_json::to_value(&e).unwrap();
        let original: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(again, original);
    }

    #[test]
    fn event_time_formats_parses_and_rejects() {
        let t = EventTime::parse("2026-11-29T08:00:00Z").unwrap();
        assert_eq!(t.unix_seconds(), 1_795_939_200);
        assert_eq!(t.to_string(), "2026-11-29T08:00:00Z");
        assert_eq!(
            EventTime::from(Timestamp(1_795_939_200_999)).to_string(),
            "2026-11-29T08:00:00Z"
        );
        assert_eq!(
            EventTime::from_unix_seconds(0).unwrap().to_string(),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            EventTime::from_unix_seconds(-1).unwrap().to_string(),
            "1969-12-31T23:59:59Z"
        );
        assert!(EventTime::parse("2024-02-29T00:00:00Z").is_some());
        for bad in [
            "",
            "2026-11-29T08:00:00",
            "2026-11-29 08:00:00Z",
            "2026-11-29T08:00:00.000Z",
            "2026-11-29T08:00:00+00:00",
            "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T08:60:00Z",
            "2026-11-29T08:00:60Z",
            "+026-11-29T08:00:00Z",
            "2026-11-29t08:00:00Z",
        ] {
            assert_eq!(EventTime::parse(bad), None, "{bad}");
        }
        assert_eq!(EventTime::from_unix_seconds(MAX_UNIX + 1), None);
        assert_eq!(EventTime::from_unix_seconds(MIN_UNIX - 1), None);
        assert_eq!(
            EventTime::from_timestamp(Timestamp(i64::MAX)).to_string(),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            EventTime::from_timestamp(Timestamp(i64::MIN)).to_string(),
            "0000-01-01T00:00:00Z"
        );
    }

    proptest! {
        #[test]
        fn event_time_text_round_trips(unix in MIN_UNIX..=MAX_UNIX) {
            let t = EventTime::from_unix_seconds(unix).unwrap();
            let s = t.to_string();
            prop_assert_eq!(s.len(), 20);
            prop_assert_eq!(EventTime::parse(&s), Some(t));
        }

        #[test]
        fn event_time_parse_never_panics(s in ".{0,30}") {
            let _ = EventTime::parse(&s);
        }
    }
}
