//! `LookupEvents`: the request read and checked as CloudTrail checks it, mapped onto
//! [`strongroom_audit::LookupFilter`], and the page written in CloudTrail's output shape.
//!
//! **Attributes.** CloudTrail's keys — `EventId`, `EventName`, `ReadOnly` (`true`/`false`),
//! `Username`, `ResourceType`, `ResourceName`, `EventSource`, `AccessKeyId` — and two of
//! Strongroom's: `ErrorCode` (the event's `errorCode`) and `PrincipalArn` (the caller's ARN; a
//! role's ARN also matches its sessions). botocore does not check the key against its enum, so
//! SDKs and the CLI send the extensions unchanged.
//!
//! **Several attributes.** CloudTrail accepts one attribute per request. Strongroom accepts
//! several, each key at most once, all of which must hold (AND), for every key alike: what
//! the audit trail is for — "Decrypt calls on this key that failed, by this principal, last
//! week" — needs `ResourceName` and `EventName` (CloudTrail's own keys) together, and keeping
//! AWS's rule for CloudTrail's keys alone would forbid exactly that. No client written for
//! AWS sends more than one, so the only difference it can see is that a request AWS refuses
//! is answered. A key given twice is refused (`InvalidLookupAttributesException`): with AND it
//! could only ever match nothing.
//!
//! **Time.** `StartTime` and `EndTime` are both inclusive, at the second (events carry whole
//! seconds). There is no 90-day window: the whole trail can be looked up.
//!
//! **Pages.** Newest first, `MaxResults` 1–50 (default 50); `NextToken` is described in
//! [`super::token`]. `EventCategory` `insight` selects CloudTrail Insights events, of which
//! Strongroom has none: an empty page.

use super::token::{self, Binding};
use crate::error::{ApiError, LookupError};
use crate::input::parse_body;
use serde::{Deserialize, Serialize};
use strongroom_audit::{
    ErrorCodeFilter, EventFilter, EventTime, LogPosition, LoggedEvent, LookupFilter,
};
use strongroom_service::{RequestContext, Service};

/// A lookup attribute key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
enum Key {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
    /// Strongroom's: the event's `errorCode`.
    ErrorCode,
    /// Strongroom's: the caller's ARN (a role's also matches its sessions).
    PrincipalArn,
}

/// The attribute keys by name, CloudTrail's and Strongroom's (the last two).
const KEYS: &[(&str, Key)] = &[
    ("EventId", Key::EventId),
    ("EventName", Key::EventName),
    ("ReadOnly", Key::ReadOnly),
    ("Username", Key::Username),
    ("ResourceType", Key::ResourceType),
    ("ResourceName", Key::ResourceName),
    ("EventSource", Key::EventSource),
    ("AccessKeyId", Key::AccessKeyId),
    ("ErrorCode", Key::ErrorCode),
    ("PrincipalArn", Key::PrincipalArn),
];

/// The longest `AttributeValue`, counted as CloudTrail counts (see [`value_len`]).
const MAX_VALUE_LEN: usize = 2000;
/// `MaxResults`: its range and its default.
const MAX_RESULTS: i64 = 50;

/// The request members the audit event records (every member of the input shape: none is
/// secret), and the one whose structures' member names are renamed too.
const RECORDED: &[&str] = &[
    "LookupAttributes",
    "StartTime",
    "EndTime",
    "EventCategory",
    "MaxResults",
    "NextToken",
];

/// `requestParameters` of a LookupEvents request.
pub(super) fn request_parameters(body: &[u8]) -> serde_json::Value {
    crate::audit::json_request_parameters(body, RECORDED, &["LookupAttributes"])
}

/// The input shape (`LookupEventsRequest`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Input {
    lookup_attributes: Option<Vec<Attribute>>,
    /// Epoch seconds, as JSON 1.1 sends timestamps.
    start_time: Option<f64>,
    end_time: Option<f64>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// `LookupAttribute`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    attribute_key: Option<String>,
    attribute_value: Option<String>,
}

/// A request, checked: what to read and how to bind its `NextToken`.
#[derive(Debug, Clone, PartialEq)]
struct Lookup {
    filter: LookupFilter,
    limit: usize,
    before: Option<LogPosition>,
    binding: Binding,
    /// `EventCategory` `insight`: Strongroom has no Insights events.
    insights: bool,
}

fn attributes_error(m: String) -> ApiError {
    ApiError::Lookup(LookupError::Attributes(m))
}

/// The length of an `AttributeValue` as CloudTrail counts it: `_`, space, `,` and newline
/// count twice.
fn value_len(v: &str) -> usize {
    v.chars()
        .map(|c| {
            if matches!(c, '_' | ' ' | ',' | '\n') {
                2
            } else {
                1
            }
        })
        .sum()
}

/// The attributes, checked (each key once), sorted by key.
fn attributes(list: Vec<Attribute>) -> Result<Vec<(Key, String)>, ApiError> {
    let mut out: Vec<(Key, String)> = Vec::with_capacity(list.len());
    for (i, a) in list.into_iter().enumerate() {
        let n = i + 1;
        let Some(name) = a.attribute_key else {
            return Err(attributes_error(format!(
                "LookupAttributes member {n} has no AttributeKey."
            )));
        };
        let Some(&(name, key)) = KEYS.iter().find(|(k, _)| *k == name) else {
            let names: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            return Err(attributes_error(format!(
                "LookupAttributes member {n}: '{}' is not a lookup attribute key; use one of: {}.",
                name.chars().take(64).collect::<String>(),
                names.join(", ")
            )));
        };
        let Some(value) = a.attribute_value else {
            return Err(attributes_error(format!(
                "LookupAttributes member {n} ({name}) has no AttributeValue."
            )));
        };
        let len = value_len(&value);
        if !(1..=MAX_VALUE_LEN).contains(&len) {
            return Err(attributes_error(format!(
                "The AttributeValue of {name} must be 1 to {MAX_VALUE_LEN} characters long \
                 ('_', ' ', ',' and newlines count twice)."
            )));
        }
        if key == Key::ReadOnly && value != "true" && value != "false" {
            return Err(attributes_error(
                "The AttributeValue of ReadOnly must be true or false.".to_owned(),
            ));
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(attributes_error(format!(
                "The lookup attribute {name} is given more than once."
            )));
        }
        out.push((key, value));
    }
    out.sort_by_key(|(k, _)| *k);
    Ok(out)
}

/// The filter the attributes and the time range select.
fn filter(attributes: &[(Key, String)], since: Option<i64>, until: Option<i64>) -> LookupFilter {
    let mut f = LookupFilter {
        base: EventFilter {
            since: since.and_then(EventTime::from_unix_seconds),
            // Inclusive at the second: everything before the next second.
            until: until
                .and_then(|t| t.checked_add(1))
                .and_then(EventTime::from_unix_seconds),
            ..EventFilter::default()
        },
        ..LookupFilter::default()
    };
    for (key, value) in attributes {
        let v = Some(value.clone());
        match key {
            Key::EventId => f.event_id = v,
            Key::EventName => f.base.event_name = v,
            Key::ReadOnly => f.read_only = Some(value == "true"),
            Key::Username => f.username = v,
            Key::ResourceType => f.resource_type = v,
            Key::ResourceName => f.resource_name = v,
            Key::EventSource => f.event_source = v,
            Key::AccessKeyId => f.access_key_id = v,
            Key::ErrorCode => f.base.error_code = ErrorCodeFilter::Equals(value.clone()),
            Key::PrincipalArn => f.base.principal_arn = v,
        }
    }
    f
}

/// A timestamp member, as whole epoch seconds (rounded down).
fn seconds(member: &str, t: Option<f64>) -> Result<Option<i64>, ApiError> {
    let Some(t) = t else { return Ok(None) };
    let floor = t.floor();
    // The years 0000 to 9999, which an event time can have.
    if !floor.is_finite() || !(-62_167_219_200.0..=253_402_300_799.0).contains(&floor) {
        return Err(ApiError::Lookup(LookupError::TimeRange(format!(
            "{member} is outside the range of possible values."
        ))));
    }
    // A whole number within i64 (checked above): the conversion is exact.
    Ok(Some(floor as i64))
}

impl Lookup {
    /// Checks `input` as CloudTrail does, for a caller of `account`.
    fn new(input: Input, account: &str) -> Result<Self, ApiError> {
        let attributes = attributes(input.lookup_attributes.unwrap_or_default())?;
        let since = seconds("StartTime", input.start_time)?;
        let until = seconds("EndTime", input.end_time)?;
        if let (Some(s), Some(e)) = (input.start_time, input.end_time)
            && s > e
        {
            return Err(ApiError::Lookup(LookupError::TimeRange(
                "The StartTime is after the EndTime.".to_owned(),
            )));
        }
        let insights = match input.event_category.as_deref() {
            None => false,
            Some("insight") => true,
            Some(other) => {
                return Err(ApiError::Lookup(LookupError::EventCategory(format!(
                    "'{}' is not an event category; the only one is insight.",
                    other.chars().take(64).collect::<String>()
                ))));
            }
        };
        let limit = match input.max_results {
            None => MAX_RESULTS,
            Some(n) if (1..=MAX_RESULTS).contains(&n) => n,
            Some(n) => {
                return Err(ApiError::Lookup(LookupError::MaxResults(format!(
                    "MaxResults must be 1 to {MAX_RESULTS}, not {n}."
                ))));
            }
        };
        let canonical = serde_json::json!([attributes, since, until, input.event_category]);
        let binding = Binding::new(account, canonical.to_string().as_bytes());
        let before =
            match &input.next_token {
                None => None,
                Some(t) => Some(token::decode(t, binding).map_err(|r| {
                    ApiError::Lookup(LookupError::NextToken(r.message().to_owned()))
                })?),
            };
        Ok(Self {
            filter: filter(&attributes, since, until),
            limit: usize::try_from(limit).unwrap_or(50),
            before,
            binding,
            insights,
        })
    }
}

/// `LookupEventsResponse`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Output {
    events: Vec<EventOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `Event`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct EventOut {
    event_id: String,
    event_name: String,
    /// CloudTrail's model makes it a string: `"true"` or `"false"`.
    read_only: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    /// Epoch seconds.
    event_time: i64,
    event_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    resources: Vec<ResourceOut>,
    /// The event's CloudTrail record, as JSON text.
    cloud_trail_event: String,
}

/// `Resource`: the record's resources, named by ARN (as CloudTrail names KMS keys).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ResourceOut {
    resource_type: String,
    resource_name: String,
}

impl EventOut {
    fn new(logged: LoggedEvent) -> Result<Self, ApiError> {
        let e = logged.event;
        let cloud_trail_event = serde_json::to_string(&e)
            .map_err(|_| ApiError::Kms(strongroom_core::KmsError::Internal))?;
        Ok(Self {
            event_id: e.event_id.to_string(),
            username: strongroom_audit::lookup_username(&e).map(str::to_owned),
            read_only: if e.read_only { "true" } else { "false" },
            access_key_id: e.user_identity.access_key_id,
            event_time: e.event_time.unix_seconds(),
            resources: e
                .resources
                .into_iter()
                .map(|r| ResourceOut {
                    resource_type: r.resource_type,
                    resource_name: r.arn,
                })
                .collect(),
            event_name: e.event_name,
            event_source: e.event_source,
            cloud_trail_event,
        })
    }
}

/// Reads and checks a `LookupEvents` body the way the operation does, up to the point where it
/// would read the trail (for the fuzz target): the input shape, the attributes, the times, the
/// page size and the `NextToken`.
pub(crate) fn check_request(body: &[u8], account: &str) -> Result<(), ApiError> {
    let input: Input = parse_body(body)?;
    Lookup::new(input, account).map(|_| ())
}

/// Runs `LookupEvents` for the caller of `ctx`.
pub(super) async fn lookup_events(
    svc: &Service,
    ctx: &RequestContext,
    body: &[u8],
) -> Result<Vec<u8>, ApiError> {
    let input: Input = parse_body(body)?;
    let lookup = Lookup::new(input, ctx.account().as_str())?;
    let page = if lookup.insights {
        // Authorized like any lookup, though there is nothing to read.
        svc.authorize_lookup_events(ctx).await?;
        strongroom_audit::NewestPage {
            events: Vec::new(),
            next: None,
            skipped: 0,
        }
    } else {
        svc.lookup_events(ctx, lookup.filter, lookup.before, lookup.limit)
            .await?
    };
    let out = Output {
        next_token: page.next.map(|at| token::encode(at, lookup.binding)),
        events: page
            .events
            .into_iter()
            .map(EventOut::new)
            .collect::<Result<_, _>>()?,
    };
    crate::ops::json(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "111122223333";

    fn lookup(body: serde_json::Value) -> Result<Lookup, ApiError> {
        let input: Input = parse_body(body.to_string().as_bytes())?;
        Lookup::new(input, ACCOUNT)
    }

    fn code(r: Result<Lookup, ApiError>) -> &'static str {
        match r {
            Err(e) => e.cloudtrail_parts().0,
            Ok(l) => panic!("accepted: {l:?}"),
        }
    }

    fn attrs(pairs: &[(&str, &str)]) -> serde_json::Value {
        let list: Vec<serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| serde_json::json!({"AttributeKey": k, "AttributeValue": v}))
            .collect();
        serde_json::json!({ "LookupAttributes": list })
    }

    #[test]
    fn every_attribute_maps_onto_the_filter() {
        let l = lookup(attrs(&[
            ("EventId", "0e2a1b3c-0000-4000-8000-000000000001"),
            ("EventName", "Decrypt"),
            ("ReadOnly", "true"),
            ("Username", "alice"),
            ("ResourceType", "AWS::KMS::Key"),
            ("ResourceName", "arn:aws:kms:us-east-1:111122223333:key/k"),
            ("EventSource", "kms.amazonaws.com"),
            ("AccessKeyId", "AKIAEXAMPLE"),
            ("ErrorCode", "AccessDeniedException"),
            ("PrincipalArn", "arn:aws:iam::111122223333:user/alice"),
        ]))
        .unwrap();
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            l.filter,
            LookupFilter {
                base: EventFilter {
                    principal_arn: s("arn:aws:iam::111122223333:user/alice"),
                    event_name: s("Decrypt"),
                    error_code: ErrorCodeFilter::Equals("AccessDeniedException".into()),
                    ..EventFilter::default()
                },
                recipient_account_id: None,
                event_id: s("0e2a1b3c-0000-4000-8000-000000000001"),
                read_only: Some(true),
                username: s("alice"),
                resource_type: s("AWS::KMS::Key"),
                resource_name: s("arn:aws:kms:us-east-1:111122223333:key/k"),
                event_source: s("kms.amazonaws.com"),
                access_key_id: s("AKIAEXAMPLE"),
            }
        );
        assert_eq!((l.limit, l.before, l.insights), (50, None, false));
        let ro = lookup(attrs(&[("ReadOnly", "false")])).unwrap();
        assert_eq!(ro.filter.read_only, Some(false));
        assert_eq!(
            lookup(serde_json::json!({})).unwrap().filter,
            LookupFilter::default()
        );
    }

    #[test]
    fn times_are_inclusive_at_the_second() {
        let l =
            lookup(serde_json::json!({"StartTime": 1_795_939_200.7, "EndTime": 1_795_939_260.2}))
                .unwrap();
        assert_eq!(
            l.filter.base.since,
            EventTime::from_unix_seconds(1_795_939_200)
        );
        assert_eq!(
            l.filter.base.until,
            EventTime::from_unix_seconds(1_795_939_261)
        );
        let same = lookup(serde_json::json!({"StartTime": 5, "EndTime": 5})).unwrap();
        assert_eq!(same.filter.base.since, EventTime::from_unix_seconds(5));
        assert_eq!(same.filter.base.until, EventTime::from_unix_seconds(6));
        // The last representable second has no "next second": no upper bound.
        let end = lookup(serde_json::json!({"EndTime": 253_402_300_799_i64})).unwrap();
        assert_eq!(end.filter.base.until, None);
        for bad in [
            serde_json::json!({"StartTime": 10, "EndTime": 9}),
            serde_json::json!({"StartTime": 10.5, "EndTime": 10.2}),
            serde_json::json!({"StartTime": 1e300}),
            serde_json::json!({"EndTime": -1e13}),
            serde_json::json!({"EndTime": 253_402_300_800_i64}),
        ] {
            assert_eq!(
                code(lookup(bad.clone())),
                "InvalidTimeRangeException",
                "{bad}"
            );
        }
        assert_eq!(
            code(lookup(serde_json::json!({"StartTime": "yesterday"}))),
            "SerializationException"
        );
    }

    #[test]
    fn attributes_are_checked_like_cloudtrail_checks_them() {
        for (bad, why) in [
            (attrs(&[("Region", "us-east-1")]), "unknown key"),
            (
                attrs(&[("eventname", "Decrypt")]),
                "keys are case-sensitive",
            ),
            (attrs(&[("EventName", "")]), "empty value"),
            (attrs(&[("ReadOnly", "yes")]), "ReadOnly is true or false"),
            (attrs(&[("ReadOnly", "True")]), "ReadOnly is lower-case"),
            (
                attrs(&[("EventName", "Encrypt"), ("EventName", "Decrypt")]),
                "a key twice",
            ),
            (
                serde_json::json!({"LookupAttributes": [{"AttributeValue": "x"}]}),
                "no key",
            ),
            (
                serde_json::json!({"LookupAttributes": [{"AttributeKey": "EventName"}]}),
                "no value",
            ),
        ] {
            assert_eq!(
                code(lookup(bad.clone())),
                "InvalidLookupAttributesException",
                "{why}: {bad}"
            );
        }
        // 2000 characters, counting '_', ' ', ',' and newlines twice.
        assert!(lookup(attrs(&[("EventName", &"a".repeat(2000))])).is_ok());
        assert!(lookup(attrs(&[("EventName", &"_".repeat(1000))])).is_ok());
        assert_eq!(
            code(lookup(attrs(&[("EventName", &"a".repeat(2001))]))),
            "InvalidLookupAttributesException"
        );
        assert_eq!(
            code(lookup(attrs(&[(
                "EventName",
                &format!("{} ", "_".repeat(1000))
            )]))),
            "InvalidLookupAttributesException"
        );
        assert_eq!(value_len("a_b c,d\ne"), 13);
    }

    #[test]
    fn max_results_event_category_and_tokens() {
        for n in [1, 50] {
            assert_eq!(
                lookup(serde_json::json!({"MaxResults": n})).unwrap().limit,
                usize::try_from(n).unwrap()
            );
        }
        for n in [0, 51, -1] {
            assert_eq!(
                code(lookup(serde_json::json!({"MaxResults": n}))),
                "InvalidMaxResultsException"
            );
        }
        assert!(
            lookup(serde_json::json!({"EventCategory": "insight"}))
                .unwrap()
                .insights
        );
        assert_eq!(
            code(lookup(serde_json::json!({"EventCategory": "Data"}))),
            "InvalidEventCategoryException"
        );

        // A token continues the query it was issued for, whatever MaxResults.
        let query = attrs(&[("EventName", "Decrypt"), ("Username", "bob")]);
        let first = lookup(query.clone()).unwrap();
        let at = LogPosition {
            segment: 4,
            seq: 99,
        };
        let next = token::encode(at, first.binding);
        let mut again = query.clone();
        again["NextToken"] = next.clone().into();
        again["MaxResults"] = 7.into();
        let l = lookup(again).unwrap();
        assert_eq!((l.before, l.limit), (Some(at), 7));
        // The same attributes in another order are the same query.
        let mut reordered = attrs(&[("Username", "bob"), ("EventName", "Decrypt")]);
        reordered["NextToken"] = next.clone().into();
        assert_eq!(lookup(reordered).unwrap().before, Some(at));
        // Other parameters: refused.
        for mut other in [
            attrs(&[("EventName", "Encrypt"), ("Username", "bob")]),
            attrs(&[("EventName", "Decrypt")]),
            {
                let mut q = query.clone();
                q["StartTime"] = 1.into();
                q
            },
            {
                let mut q = query.clone();
                q["EventCategory"] = "insight".into();
                q
            },
        ] {
            other["NextToken"] = next.clone().into();
            assert_eq!(code(lookup(other)), "InvalidNextTokenException");
        }
        let mut other_account = query.clone();
        other_account["NextToken"] = next.into();
        let input: Input = parse_body(other_account.to_string().as_bytes()).unwrap();
        assert!(matches!(
            Lookup::new(input, "444455556666"),
            Err(ApiError::Lookup(LookupError::NextToken(_)))
        ));
        assert_eq!(
            code(lookup(serde_json::json!({"NextToken": "bogus"}))),
            "InvalidNextTokenException"
        );
    }

    #[test]
    fn request_parameters_are_recorded_in_cloudtrail_shape() {
        let body = serde_json::json!({
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Decrypt"}],
            "MaxResults": 5,
            "StartTime": 1,
            "Unknown": "x",
        });
        assert_eq!(
            request_parameters(body.to_string().as_bytes()),
            serde_json::json!({
                "lookupAttributes": [{"attributeKey": "EventName", "attributeValue": "Decrypt"}],
                "maxResults": 5,
                "startTime": 1,
            })
        );
        assert_eq!(request_parameters(b"{}"), serde_json::Value::Null);
    }

    #[test]
    fn events_are_written_in_cloudtrails_output_shape() {
        let mut e = strongroom_audit::AuditEvent::kms_api_call(
            "Decrypt",
            EventTime::from_unix_seconds(1_795_939_200).unwrap(),
            "us-east-1",
            strongroom_audit::UserIdentity {
                identity_type: Some("Root".into()),
                arn: Some("arn:aws:iam::111122223333:root".into()),
                account_id: Some(ACCOUNT.into()),
                access_key_id: Some("AKIAROOT".into()),
                ..strongroom_audit::UserIdentity::default()
            },
            uuid::Uuid::from_u128(7),
        );
        e.read_only = true;
        e.resources = vec![strongroom_audit::Resource::kms_key(
            ACCOUNT,
            "arn:aws:kms:us-east-1:111122223333:key/k",
        )];
        let logged = LoggedEvent {
            seq: 1,
            segment: "segment-00000001.jsonl".into(),
            line: 1,
            event: e.clone(),
        };
        let out = serde_json::to_value(EventOut::new(logged).unwrap()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({
                "EventId": "00000000-0000-0000-0000-000000000007",
                "EventName": "Decrypt",
                "ReadOnly": "true",
                "AccessKeyId": "AKIAROOT",
                "EventTime": 1_795_939_200,
                "EventSource": "kms.amazonaws.com",
                "Username": "root",
                "Resources": [{"ResourceType": "AWS::KMS::Key",
                               "ResourceName": "arn:aws:kms:us-east-1:111122223333:key/k"}],
                "CloudTrailEvent": serde_json::to_string(&e).unwrap(),
            })
        );
        let back: strongroom_audit::AuditEvent =
            serde_json::from_str(out["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(back, e);
    }

    /// Arbitrary bodies (built from the request's own members with hostile values, and plain
    /// noise) never panic the checks, and every one is either accepted or refused with one
    /// of the operation's errors.
    #[test]
    fn arbitrary_bodies_never_panic() {
        const PIECES: &[&str] = &[
            r#""LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"Encrypt"}]"#,
            r#""LookupAttributes":[{"AttributeKey":"ErrorCode","AttributeValue":""}]"#,
            r#""LookupAttributes":[{"AttributeKey":"ReadOnly","AttributeValue":"maybe"}]"#,
            r#""LookupAttributes":[]"#,
            r#""LookupAttributes":null"#,
            r#""StartTime":1e308"#,
            r#""StartTime":-1e308"#,
            r#""EndTime":1795939200.999"#,
            r#""EndTime":"x""#,
            r#""MaxResults":0"#,
            r#""MaxResults":-9223372036854775808"#,
            r#""MaxResults":50"#,
            r#""EventCategory":"insight""#,
            r#""EventCategory":"\u0000""#,
            r#""NextToken":"""#,
            r#""NextToken":"AAAA""#,
            r#""NextToken":"////////////////////////////////////////////""#,
            r#""NextToken":"\ud800""#,
            r#""Unknown":1"#,
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000u32 {
            let body = if round % 10 == 0 {
                let len = usize::try_from(next() % 64).unwrap();
                (0..len).map(|_| (next() % 256) as u8).collect::<Vec<u8>>()
            } else {
                let n = usize::try_from(next() % 5).unwrap();
                let members: Vec<&str> = (0..n)
                    .map(|_| PIECES[usize::try_from(next()).unwrap() % PIECES.len()])
                    .collect();
                format!("{{{}}}", members.join(",")).into_bytes()
            };
            match check_request(&body, ACCOUNT) {
                Ok(()) | Err(ApiError::Lookup(_) | ApiError::Serialization(_)) => {}
                Err(other) => panic!("{other:?} for {}", String::from_utf8_lossy(&body)),
            }
        }
    }
}
