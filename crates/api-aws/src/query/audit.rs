//! What the audit trail records of an IAM or STS request, as CloudTrail records them (the IAM
//! user guide's "Logging IAM and AWS STS API calls with AWS CloudTrail"):
//!
//! - `eventSource` `iam.amazonaws.com` / `sts.amazonaws.com`, `eventName` the `Action`;
//! - `awsRegion`: IAM is a global service, recorded in `us-east-1`; STS in the region of the
//!   endpoint (the request's credential scope);
//! - `readOnly`: IAM's `Get*` and `List*` actions; every STS action (CloudTrail counts
//!   AssumeRole and GetCallerIdentity as read events);
//! - `requestParameters`: the members of an allow-list per action, with CloudTrail's
//!   lowerCamel names (`userName`, `policyDocument`, `tags: [{key, value}]`); integer members
//!   as numbers. Nothing else of the form is ever recorded;
//! - `responseElements` of the actions that create something (CreateUser, CreateRole,
//!   CreateAccessKey, AssumeRole), with IAM's dates written as CloudTrail writes them
//!   (`Jul 15, 2014 9:40:13 PM`). The secret access key and the session token are never
//!   recorded (CloudTrail shows AssumeRole's `sessionToken`; Strongroom deliberately does not);
//! - `resources`: AssumeRole names the role (`AWS::IAM::Role`); IAM actions name none, as in
//!   CloudTrail.

use super::{Params, QueryService};
use crate::audit::lower_camel;
use serde_json::{Map, Value, json};
use strongroom_audit::Resource;
use strongroom_core::identity::{Role, User};
use strongroom_core::time::Timestamp;

/// The `eventSource` of IAM and STS events.
pub(crate) fn event_source(service: QueryService) -> &'static str {
    match service {
        QueryService::Iam => "iam.amazonaws.com",
        QueryService::Sts => "sts.amazonaws.com",
    }
}

/// The `awsRegion` a service fixes: IAM's events are recorded in `us-east-1`; STS's in the
/// region the request was signed for (`None`).
pub(crate) fn region(service: QueryService) -> Option<&'static str> {
    match service {
        QueryService::Iam => Some("us-east-1"),
        QueryService::Sts => None,
    }
}

/// The `eventName` of a request: its `Action` when it looks like an action name (1 to 64 ASCII
/// letters and digits; also an action this server does not implement), otherwise `Unknown`
/// (no action, an unreadable form, or text that is not a name).
pub(crate) fn event_name(params: Option<&Params>) -> &str {
    match params.and_then(|p| p.get("Action")) {
        Some(a) if (1..=64).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_alphanumeric()) => a,
        _ => "Unknown",
    }
}

/// CloudTrail's `readOnly`.
pub(crate) fn read_only(service: QueryService, action: &str) -> bool {
    match service {
        QueryService::Iam => action.starts_with("Get") || action.starts_with("List"),
        QueryService::Sts => true,
    }
}

/// How a recorded member is read from the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A string.
    Str,
    /// An integer, recorded as a number (as sent, if it is not one).
    Int,
    /// A list of strings (`Name.member.N`).
    List,
    /// A list of structures (`Name.member.N.Field`), field names lowerCamel.
    Structs,
}

/// A member of an action's input that CloudTrail records: its form name and kind. Its
/// recorded name is the form name in lowerCamel.
#[derive(Debug, Clone, Copy)]
struct Member(&'static str, Kind);

const USER_NAME: Member = Member("UserName", Kind::Str);
const ROLE_NAME: Member = Member("RoleName", Kind::Str);
const PATH: Member = Member("Path", Kind::Str);
const PATH_PREFIX: Member = Member("PathPrefix", Kind::Str);
const MARKER: Member = Member("Marker", Kind::Str);
const MAX_ITEMS: Member = Member("MaxItems", Kind::Int);
const TAGS: Member = Member("Tags", Kind::Structs);
const TAG_KEYS: Member = Member("TagKeys", Kind::List);
const POLICY_NAME: Member = Member("PolicyName", Kind::Str);
const POLICY_DOCUMENT: Member = Member("PolicyDocument", Kind::Str);
const PERMISSIONS_BOUNDARY: Member = Member("PermissionsBoundary", Kind::Str);
const ACCESS_KEY_ID: Member = Member("AccessKeyId", Kind::Str);
const STATUS: Member = Member("Status", Kind::Str);
const ASSUME_ROLE_POLICY_DOCUMENT: Member = Member("AssumeRolePolicyDocument", Kind::Str);
const DESCRIPTION: Member = Member("Description", Kind::Str);
const MAX_SESSION_DURATION: Member = Member("MaxSessionDuration", Kind::Int);
const ROLE_ARN: Member = Member("RoleArn", Kind::Str);
const ROLE_SESSION_NAME: Member = Member("RoleSessionName", Kind::Str);
const DURATION_SECONDS: Member = Member("DurationSeconds", Kind::Int);
const EXTERNAL_ID: Member = Member("ExternalId", Kind::Str);
const POLICY: Member = Member("Policy", Kind::Str);
const POLICY_ARNS: Member = Member("PolicyArns", Kind::Structs);
const TRANSITIVE_TAG_KEYS: Member = Member("TransitiveTagKeys", Kind::List);
const SERIAL_NUMBER: Member = Member("SerialNumber", Kind::Str);
const SOURCE_IDENTITY: Member = Member("SourceIdentity", Kind::Str);

/// The members CloudTrail records for each action this server knows. Anything not listed —
/// AssumeRole's MFA `TokenCode` among them — is never recorded; an unknown action records
/// nothing. No action takes a secret as a parameter.
fn recorded(service: QueryService, action: &str) -> &'static [Member] {
    match (service, action) {
        (QueryService::Iam, "CreateUser") => &[USER_NAME, PATH, TAGS, PERMISSIONS_BOUNDARY],
        (QueryService::Iam, "GetUser" | "DeleteUser" | "CreateAccessKey") => &[USER_NAME],
        (QueryService::Iam, "ListUserPolicies" | "ListUserTags") => &[USER_NAME, MARKER, MAX_ITEMS],
        (QueryService::Iam, "ListUsers" | "ListRoles") => &[PATH_PREFIX, MARKER, MAX_ITEMS],
        (QueryService::Iam, "UpdateAccessKey") => &[USER_NAME, ACCESS_KEY_ID, STATUS],
        (QueryService::Iam, "DeleteAccessKey") => &[USER_NAME, ACCESS_KEY_ID],
        (QueryService::Iam, "ListAccessKeys") => &[USER_NAME, MARKER, MAX_ITEMS],
        (QueryService::Iam, "PutUserPolicy") => &[USER_NAME, POLICY_NAME, POLICY_DOCUMENT],
        (QueryService::Iam, "GetUserPolicy" | "DeleteUserPolicy") => &[USER_NAME, POLICY_NAME],
        (QueryService::Iam, "CreateRole") => &[
            ROLE_NAME,
            PATH,
            ASSUME_ROLE_POLICY_DOCUMENT,
            DESCRIPTION,
            MAX_SESSION_DURATION,
            TAGS,
            PERMISSIONS_BOUNDARY,
        ],
        (QueryService::Iam, "GetRole" | "DeleteRole") => &[ROLE_NAME],
        (QueryService::Iam, "ListRolePolicies" | "ListRoleTags") => &[ROLE_NAME, MARKER, MAX_ITEMS],
        (QueryService::Iam, "PutRolePolicy") => &[ROLE_NAME, POLICY_NAME, POLICY_DOCUMENT],
        (QueryService::Iam, "GetRolePolicy" | "DeleteRolePolicy") => &[ROLE_NAME, POLICY_NAME],
        (QueryService::Iam, "TagUser") => &[USER_NAME, TAGS],
        (QueryService::Iam, "UntagUser") => &[USER_NAME, TAG_KEYS],
        (QueryService::Iam, "TagRole") => &[ROLE_NAME, TAGS],
        (QueryService::Iam, "UntagRole") => &[ROLE_NAME, TAG_KEYS],
        (QueryService::Sts, "AssumeRole") => &[
            ROLE_ARN,
            ROLE_SESSION_NAME,
            DURATION_SECONDS,
            EXTERNAL_ID,
            POLICY,
            POLICY_ARNS,
            TAGS,
            TRANSITIVE_TAG_KEYS,
            SERIAL_NUMBER,
            SOURCE_IDENTITY,
        ],
        _ => &[],
    }
}

/// One recorded member's value, if it was sent (and, for a list, is well-formed).
fn value(params: &Params, Member(name, kind): Member) -> Option<Value> {
    match kind {
        Kind::Str => params.get(name).map(|v| Value::String(v.to_owned())),
        Kind::Int => params.get(name).map(|v| {
            v.parse::<i64>()
                .map_or_else(|_| Value::String(v.to_owned()), Value::from)
        }),
        Kind::List => params
            .list(name)
            .ok()
            .flatten()
            .map(|items| items.into_iter().map(Value::String).collect()),
        Kind::Structs => params.struct_list(name).ok().flatten().map(|items| {
            items
                .into_iter()
                .map(|fields| {
                    let m: Map<String, Value> = fields
                        .into_iter()
                        .map(|(k, v)| (lower_camel(&k), Value::String(v)))
                        .collect();
                    Value::Object(m)
                })
                .collect()
        }),
    }
}

/// `requestParameters` of an IAM or STS request: the allow-listed members of `action` that
/// the form carries, under CloudTrail's names; `Null` when there are none (or the form could
/// not be read).
pub(crate) fn request_parameters(
    service: QueryService,
    action: &str,
    params: Option<&Params>,
) -> Value {
    let Some(params) = params else {
        return Value::Null;
    };
    let recorded: Map<String, Value> = recorded(service, action)
        .iter()
        .filter_map(|m| value(params, *m).map(|v| (lower_camel(m.0), v)))
        .collect();
    if recorded.is_empty() {
        Value::Null
    } else {
        Value::Object(recorded)
    }
}

/// `resources`: AssumeRole names the role it asked for (`AWS::IAM::Role`, owned by the account
/// its ARN names), when `RoleArn` is a role ARN; nothing else does.
pub(crate) fn resources(
    service: QueryService,
    action: &str,
    params: Option<&Params>,
) -> Vec<Resource> {
    if (service, action) != (QueryService::Sts, "AssumeRole") {
        return Vec::new();
    }
    let Some(arn) = params.and_then(|p| p.get("RoleArn")) else {
        return Vec::new();
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.starts_with("role/")
                && arn.len() <= 2048 =>
        {
            vec![Resource {
                account_id: (*account).to_owned(),
                resource_type: "AWS::IAM::Role".to_owned(),
                arn: arn.to_owned(),
            }]
        }
        _ => Vec::new(),
    }
}

// -- responseElements ------------------------------------------------------------------------

fn tag_list(tags: &std::collections::BTreeMap<String, String>) -> Value {
    tags.iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect()
}

/// CreateUser's `responseElements`: `{"user": {path, userName, userId, arn, createDate,
/// tags?}}`.
pub(crate) fn user_elements(u: &User) -> Value {
    let mut user = json!({
        "path": u.path,
        "userName": u.name,
        "userId": u.id,
        "arn": u.arn,
        "createDate": cloudtrail_date(u.created_at),
    });
    if !u.tags.is_empty() {
        user["tags"] = tag_list(&u.tags);
    }
    json!({ "user": user })
}

/// CreateRole's `responseElements`: `{"role": {path, roleName, roleId, arn, createDate,
/// assumeRolePolicyDocument (URL-encoded, as IAM returns it), description?,
/// maxSessionDuration, tags?}}`.
pub(crate) fn role_elements(r: &Role) -> Value {
    let mut role = json!({
        "path": r.path,
        "roleName": r.name,
        "roleId": r.id,
        "arn": r.arn,
        "createDate": cloudtrail_date(r.created_at),
        "assumeRolePolicyDocument": super::url_encode(&r.trust_policy),
        "maxSessionDuration": r.max_session_duration,
    });
    if !r.description.is_empty() {
        role["description"] = Value::String(r.description.clone());
    }
    if !r.tags.is_empty() {
        role["tags"] = tag_list(&r.tags);
    }
    json!({ "role": role })
}

/// CreateAccessKey's `responseElements`: `{"accessKey": {userName?, accessKeyId, status,
/// createDate}}`. It takes the key's public fields only, so the secret cannot be passed in.
pub(crate) fn access_key_elements(
    user_name: Option<&str>,
    access_key_id: &str,
    status: &str,
    created_at: Timestamp,
) -> Value {
    let mut key = Map::new();
    if let Some(name) = user_name {
        key.insert("userName".to_owned(), Value::String(name.to_owned()));
    }
    key.insert(
        "accessKeyId".to_owned(),
        Value::String(access_key_id.to_owned()),
    );
    key.insert("status".to_owned(), Value::String(status.to_owned()));
    key.insert(
        "createDate".to_owned(),
        Value::String(cloudtrail_date(created_at)),
    );
    json!({ "accessKey": key })
}

/// AssumeRole's `responseElements`: `{"credentials": {accessKeyId, expiration},
/// "assumedRoleUser": {assumedRoleId, arn}}`. CloudTrail also shows the session token; a
/// session token is a bearer credential (with the secret it is the session), so Strongroom
/// leaves it out, and takes the public fields only.
pub(crate) fn assume_role_elements(
    access_key_id: &str,
    expiration: Timestamp,
    assumed_role_id: &str,
    arn: &str,
) -> Value {
    json!({
        "credentials": {
            "accessKeyId": access_key_id,
            "expiration": cloudtrail_date(expiration),
        },
        "assumedRoleUser": {
            "assumedRoleId": assumed_role_id,
            "arn": arn,
        },
    })
}

/// A time as CloudTrail writes the dates inside IAM's and STS's `responseElements`:
/// `Jul 15, 2014 9:40:13 PM` (UTC, 12-hour clock, no leading zero on the day or the hour).
pub(crate) fn cloudtrail_date(at: Timestamp) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = at.unix_seconds();
    let (y, m, d) = super::civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let (hour, minute, second) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let month = usize::try_from(m - 1)
        .ok()
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or("Jan");
    let (h12, half) = match hour {
        0 => (12, "AM"),
        1..=11 => (hour, "AM"),
        12 => (12, "PM"),
        _ => (hour - 12, "PM"),
    };
    format!("{month} {d}, {y} {h12}:{minute:02}:{second:02} {half}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: &str = "SENTINELsecretXYZ";

    fn form(body: &str) -> Params {
        Params::parse(body.as_bytes()).unwrap()
    }

    fn params(service: QueryService, body: &str) -> Value {
        let p = form(body);
        let action = event_name(Some(&p)).to_owned();
        request_parameters(service, &action, Some(&p))
    }

    #[test]
    fn iam_members_are_recorded_in_cloudtrail_shape() {
        assert_eq!(
            params(
                QueryService::Iam,
                "Action=CreateUser&Version=2010-05-08&UserName=bob&Path=%2Fops%2F\
                 &Tags.member.1.Key=Dept&Tags.member.1.Value=Eng"
            ),
            json!({"userName": "bob", "path": "/ops/",
                   "tags": [{"key": "Dept", "value": "Eng"}]})
        );
        assert_eq!(
            params(
                QueryService::Iam,
                "Action=CreateRole&RoleName=app&AssumeRolePolicyDocument=%7B%7D\
                 &Description=d&MaxSessionDuration=7200"
            ),
            json!({"roleName": "app", "assumeRolePolicyDocument": "{}", "description": "d",
                   "maxSessionDuration": 7200})
        );
        assert_eq!(
            params(
                QueryService::Iam,
                "Action=PutUserPolicy&UserName=bob&PolicyName=p&PolicyDocument=%7B%22a%22%3A1%7D"
            ),
            json!({"userName": "bob", "policyName": "p", "policyDocument": "{\"a\":1}"})
        );
        assert_eq!(
            params(
                QueryService::Iam,
                "Action=UntagRole&RoleName=r&TagKeys.member.1=a&TagKeys.member.2=b"
            ),
            json!({"roleName": "r", "tagKeys": ["a", "b"]})
        );
        assert_eq!(
            params(
                QueryService::Iam,
                "Action=UpdateAccessKey&UserName=u&AccessKeyId=AKIAEXAMPLE12345&Status=Inactive"
            ),
            json!({"userName": "u", "accessKeyId": "AKIAEXAMPLE12345", "status": "Inactive"})
        );
        assert_eq!(
            params(
                QueryService::Iam,
                "Action=ListUsers&PathPrefix=%2F&MaxItems=5&Marker=abc"
            ),
            json!({"pathPrefix": "/", "maxItems": 5, "marker": "abc"})
        );
        // A non-number where a number belongs is recorded as sent (the request fails
        // validation, and the event shows why).
        assert_eq!(
            params(QueryService::Iam, "Action=ListRoles&MaxItems=lots"),
            json!({"maxItems": "lots"})
        );
    }

    #[test]
    fn sts_members_are_recorded_but_never_an_mfa_code() {
        let got = params(
            QueryService::Sts,
            &format!(
                "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fapp\
                 &RoleSessionName=s1&DurationSeconds=900&ExternalId=ext-1&TokenCode={SENTINEL}\
                 &SerialNumber=arn%3Aaws%3Aiam%3A%3A111122223333%3Amfa%2Fu\
                 &PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FX"
            ),
        );
        assert_eq!(
            got,
            json!({"roleArn": "arn:aws:iam::111122223333:role/app", "roleSessionName": "s1",
                   "durationSeconds": 900, "externalId": "ext-1",
                   "serialNumber": "arn:aws:iam::111122223333:mfa/u",
                   "policyArns": [{"arn": "arn:aws:iam::aws:policy/X"}]})
        );
        assert!(!got.to_string().contains(SENTINEL));
        assert_eq!(
            params(QueryService::Sts, "Action=GetCallerIdentity"),
            Value::Null
        );
    }

    #[test]
    fn only_allow_listed_members_of_known_actions_are_recorded() {
        for body in [
            format!("Action=CreateUser&UserName=u&SecretAccessKey={SENTINEL}"),
            format!("Action=GetUser&X-Amz-Signature={SENTINEL}"),
            format!("Action=AttachUserPolicy&UserName={SENTINEL}"),
            format!("Action=CreateAccessKey&UserName=u&Password={SENTINEL}"),
        ] {
            let got = params(QueryService::Iam, &body);
            assert!(!got.to_string().contains(SENTINEL), "{body}: {got}");
        }
        // The same action name of the other service records nothing.
        assert_eq!(
            params(QueryService::Sts, "Action=CreateUser&UserName=u"),
            Value::Null
        );
        assert_eq!(
            request_parameters(QueryService::Iam, "CreateUser", None),
            Value::Null
        );
        // A malformed list is left out rather than guessed at.
        assert_eq!(
            params(
                QueryService::Iam,
                "Action=TagUser&UserName=u&Tags.member.2.Key=k"
            ),
            json!({"userName": "u"})
        );
    }

    #[test]
    fn event_names_and_read_only() {
        assert_eq!(event_name(Some(&form("Action=ListUsers"))), "ListUsers");
        assert_eq!(
            event_name(Some(&form("Action=AttachRolePolicy"))),
            "AttachRolePolicy"
        );
        for bad in [
            "Action=",
            "Action=List%20Users",
            "Version=1",
            "Action=%3Cx%3E",
        ] {
            assert_eq!(event_name(Some(&form(bad))), "Unknown", "{bad}");
        }
        let long = format!("Action={}", "A".repeat(65));
        assert_eq!(event_name(Some(&form(&long))), "Unknown");
        assert_eq!(event_name(None), "Unknown");
        for (action, ro) in [
            ("GetUser", true),
            ("ListRoleTags", true),
            ("CreateAccessKey", false),
            ("TagUser", false),
            ("UpdateAccessKey", false),
            ("Unknown", false),
        ] {
            assert_eq!(read_only(QueryService::Iam, action), ro, "{action}");
        }
        assert!(read_only(QueryService::Sts, "AssumeRole"));
        assert!(read_only(QueryService::Sts, "GetCallerIdentity"));
        assert_eq!(event_source(QueryService::Iam), "iam.amazonaws.com");
        assert_eq!(event_source(QueryService::Sts), "sts.amazonaws.com");
        assert_eq!(region(QueryService::Iam), Some("us-east-1"));
        assert_eq!(region(QueryService::Sts), None);
    }

    #[test]
    fn assume_role_names_its_role_as_a_resource() {
        let p = form("RoleArn=arn%3Aaws%3Aiam%3A%3A444455556666%3Arole%2Fteam%2Fapp");
        assert_eq!(
            resources(QueryService::Sts, "AssumeRole", Some(&p)),
            vec![Resource {
                account_id: "444455556666".into(),
                resource_type: "AWS::IAM::Role".into(),
                arn: "arn:aws:iam::444455556666:role/team/app".into(),
            }]
        );
        assert!(resources(QueryService::Iam, "AssumeRole", Some(&p)).is_empty());
        assert!(resources(QueryService::Sts, "GetCallerIdentity", Some(&p)).is_empty());
        for bad in [
            "RoleArn=arn%3Aaws%3Aiam%3A%3A4444%3Arole%2Fapp",
            "RoleArn=arn%3Aaws%3Aiam%3A%3A444455556666%3Auser%2Fapp",
            "RoleArn=arn%3Aaws%3Akms%3Aus-east-1%3A444455556666%3Arole%2Fapp",
            "RoleArn=nonsense",
        ] {
            let p = form(bad);
            assert!(
                resources(QueryService::Sts, "AssumeRole", Some(&p)).is_empty(),
                "{bad}"
            );
        }
    }

    #[test]
    fn response_elements_never_carry_a_secret_and_dates_look_like_cloudtrails() {
        assert_eq!(
            cloudtrail_date(Timestamp(1_405_460_413_000)),
            "Jul 15, 2014 9:40:13 PM"
        );
        assert_eq!(cloudtrail_date(Timestamp(0)), "Jan 1, 1970 12:00:00 AM");
        assert_eq!(
            cloudtrail_date(Timestamp(43_200_000 + 61_000)),
            "Jan 1, 1970 12:01:01 PM"
        );
        assert_eq!(
            cloudtrail_date(Timestamp(1_795_939_200_000 + 11 * 3_600_000)),
            "Nov 29, 2026 7:00:00 PM"
        );
        let key = access_key_elements(
            Some("bob"),
            "AKIAEXAMPLE",
            "Active",
            Timestamp(1_405_460_413_000),
        );
        assert_eq!(
            key,
            json!({"accessKey": {"userName": "bob", "accessKeyId": "AKIAEXAMPLE",
                   "status": "Active", "createDate": "Jul 15, 2014 9:40:13 PM"}})
        );
        let root_key = access_key_elements(None, "AKIAROOT", "Active", Timestamp(0));
        assert!(root_key["accessKey"].get("userName").is_none());
        let session = assume_role_elements(
            "ASIAEXAMPLE",
            Timestamp(1_405_460_413_000),
            "AROAX:s",
            "arn:aws:sts::111122223333:assumed-role/app/s",
        );
        assert_eq!(
            session,
            json!({"credentials": {"accessKeyId": "ASIAEXAMPLE",
                                   "expiration": "Jul 15, 2014 9:40:13 PM"},
                   "assumedRoleUser": {"assumedRoleId": "AROAX:s",
                                       "arn": "arn:aws:sts::111122223333:assumed-role/app/s"}})
        );
    }
}
