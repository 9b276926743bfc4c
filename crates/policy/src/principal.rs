//! The `Principal` / `NotPrincipal` element: the forms a key policy may name, and nothing else.
//!
//! AWS KMS answers every malformed principal with one message ("Policy contains a statement with
//! one or more invalid principals."), and a statement that names nobody with another ("… with no
//! principal."). The variant keeps the offending text for logs. Wildcards are refused everywhere
//! except the whole value `"*"`: IAM does not match principals by pattern, and AWS's guidance for
//! this error says a wildcard cannot stand in any part of a principal ARN. Principals are checked
//! for form only; Strongroom has no directory of existing identities to check them against.

use crate::error::PolicyError;
use crate::json::Json;
use crate::model::{
    AwsPrincipal, FederatedPrincipal, IamIdentity, Principal, PrincipalArn, Principals,
};

/// Longest user, role, session or federated user name IAM allows.
const MAX_NAME_LEN: usize = 64;
/// Longest IAM path IAM allows.
const MAX_PATH_LEN: usize = 512;

/// Parses the value of a `Principal` or `NotPrincipal` element.
pub(crate) fn parse_principals(value: Json) -> Result<Principals, PolicyError> {
    let members = match value {
        Json::String(s) if s == "*" => return Ok(Principals::Anyone),
        Json::Object(members) => members,
        other => return Err(PolicyError::InvalidPrincipal(other.scalar_text())),
    };
    let mut listed = Vec::new();
    for (kind, ids) in members {
        let parse_one: fn(&str) -> Option<Principal> = match kind.as_str() {
            "AWS" => |s| parse_aws(s).map(Principal::Aws),
            "Service" => |s| is_service_name(s).then(|| Principal::Service(s.to_owned())),
            "Federated" => |s| parse_federated(s).map(Principal::Federated),
            "CanonicalUser" => {
                |s| is_canonical_user(s).then(|| Principal::CanonicalUser(s.to_owned()))
            }
            _ => return Err(PolicyError::InvalidPrincipal(kind)),
        };
        for id in principal_ids(ids)? {
            listed.push(parse_one(&id).ok_or(PolicyError::InvalidPrincipal(id))?);
        }
    }
    if listed.is_empty() {
        return Err(PolicyError::NoPrincipal);
    }
    Ok(Principals::Listed(listed))
}

/// The string-or-array-of-strings value of one principal map entry.
fn principal_ids(value: Json) -> Result<Vec<String>, PolicyError> {
    match value {
        Json::String(s) => Ok(vec![s]),
        Json::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Json::String(s) => Ok(s),
                other => Err(PolicyError::InvalidPrincipal(other.scalar_text())),
            })
            .collect(),
        other => Err(PolicyError::InvalidPrincipal(other.scalar_text())),
    }
}

fn parse_aws(s: &str) -> Option<AwsPrincipal> {
    if s == "*" {
        return Some(AwsPrincipal::Anyone);
    }
    if is_account_id(s) {
        return Some(AwsPrincipal::Account(s.to_owned()));
    }
    let arn = ArnParts::split(s)?;
    let identity = match arn.service {
        "iam" => parse_iam_identity(arn.resource)?,
        "sts" => parse_sts_identity(arn.resource)?,
        _ => return None,
    };
    Some(AwsPrincipal::Arn(PrincipalArn {
        partition: arn.partition.to_owned(),
        account_id: arn.account_id.to_owned(),
        identity,
    }))
}

fn parse_iam_identity(resource: &str) -> Option<IamIdentity> {
    if resource == "root" {
        return Some(IamIdentity::Root);
    }
    if let Some(rest) = resource.strip_prefix("user/") {
        let (path, name) = split_path(rest)?;
        return Some(IamIdentity::User { path, name });
    }
    let rest = resource.strip_prefix("role/")?;
    let (path, name) = split_path(rest)?;
    Some(IamIdentity::Role { path, name })
}

fn parse_sts_identity(resource: &str) -> Option<IamIdentity> {
    if let Some(name) = resource.strip_prefix("federated-user/") {
        return is_name(name).then(|| IamIdentity::FederatedUser {
            name: name.to_owned(),
        });
    }
    let rest = resource.strip_prefix("assumed-role/")?;
    let (role, session) = rest.split_once('/')?;
    (is_name(role) && is_name(session)).then(|| IamIdentity::AssumedRole {
        role_name: role.to_owned(),
        session_name: session.to_owned(),
    })
}

/// Splits `path/…/name` into (`/path/…/`, `name`), checking both.
fn split_path(rest: &str) -> Option<(String, String)> {
    let (inner, name) = match rest.rsplit_once('/') {
        Some((inner, name)) => (Some(inner), name),
        None => (None, rest),
    };
    if !is_name(name) {
        return None;
    }
    let path = match inner {
        None => "/".to_owned(),
        Some(inner) => {
            let ok = inner
                .split('/')
                .all(|seg| !seg.is_empty() && seg.bytes().all(|b| (0x21..=0x7e).contains(&b)));
            if !ok || inner.len() + 2 > MAX_PATH_LEN {
                return None;
            }
            format!("/{inner}/")
        }
    };
    Some((path, name.to_owned()))
}

fn parse_federated(s: &str) -> Option<FederatedPrincipal> {
    if !s.starts_with("arn:") {
        return is_host_name(s).then(|| FederatedPrincipal::Provider(s.to_owned()));
    }
    let arn = ArnParts::split(s)?;
    if arn.service != "iam" {
        return None;
    }
    let partition = arn.partition.to_owned();
    let account_id = arn.account_id.to_owned();
    if let Some(name) = arn.resource.strip_prefix("saml-provider/") {
        return is_name(name).then(|| FederatedPrincipal::Saml {
            partition,
            account_id,
            name: name.to_owned(),
        });
    }
    let url = arn.resource.strip_prefix("oidc-provider/")?;
    let ok = !url.is_empty()
        && url
            .split('/')
            .all(|seg| !seg.is_empty() && seg.bytes().all(is_url_byte));
    ok.then(|| FederatedPrincipal::Oidc {
        partition,
        account_id,
        url: url.to_owned(),
    })
}

/// The checked fields of `arn:PARTITION:SERVICE::ACCOUNT:RESOURCE` (principal ARNs have no
/// region).
struct ArnParts<'a> {
    partition: &'a str,
    service: &'a str,
    account_id: &'a str,
    resource: &'a str,
}

impl<'a> ArnParts<'a> {
    fn split(s: &'a str) -> Option<Self> {
        if s.contains(['*', '?']) {
            return None;
        }
        let mut parts = s.splitn(6, ':');
        let (arn, partition, service, region, account_id, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let partition_ok = !partition.is_empty()
            && partition
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok = arn == "arn" && partition_ok && region.is_empty() && is_account_id(account_id);
        ok.then_some(Self {
            partition,
            service,
            account_id,
            resource,
        })
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// IAM user, role and session names: `[\w+=,.@-]{1,64}`.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// A DNS-style name of at least two labels, e.g. `logs.us-east-1.amazonaws.com`.
fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').count() >= 2
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Service principals are host-style names; AWS's are lower case.
fn is_service_name(s: &str) -> bool {
    is_host_name(s) && !s.bytes().any(|b| b.is_ascii_uppercase())
}

fn is_canonical_user(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%:".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(json: &str) -> Result<Vec<Principal>, PolicyError> {
        match parse_principals(crate::json::parse(json).unwrap())? {
            Principals::Listed(list) => Ok(list),
            Principals::Anyone => panic!("unexpected Anyone"),
        }
    }

    fn aws(s: &str) -> Option<AwsPrincipal> {
        parse_aws(s)
    }

    #[test]
    fn bare_star_is_anyone_and_aws_star_is_every_aws_principal() {
        assert_eq!(
            parse_principals(Json::String("*".into())),
            Ok(Principals::Anyone)
        );
        assert_eq!(
            listed(r#"{"AWS": "*"}"#),
            Ok(vec![Principal::Aws(AwsPrincipal::Anyone)])
        );
    }

    #[test]
    fn account_forms() {
        assert_eq!(
            aws("111122223333"),
            Some(AwsPrincipal::Account("111122223333".into()))
        );
        let root = aws("arn:aws:iam::111122223333:root").unwrap();
        assert_eq!(
            root,
            AwsPrincipal::Arn(PrincipalArn {
                partition: "aws".into(),
                account_id: "111122223333".into(),
                identity: IamIdentity::Root
            })
        );
        assert!(aws("arn:aws-cn:iam::111122223333:root").is_some());
        assert!(aws("arn:aws-us-gov:iam::111122223333:root").is_some());
    }

    #[test]
    fn users_roles_and_sessions() {
        let user = aws("arn:aws:iam::111122223333:user/division/Alice").unwrap();
        let AwsPrincipal::Arn(arn) = user else {
            panic!()
        };
        assert_eq!(
            arn.identity,
            IamIdentity::User {
                path: "/division/".into(),
                name: "Alice".into()
            }
        );
        let role = aws("arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling").unwrap();
        let AwsPrincipal::Arn(arn) = role else {
            panic!()
        };
        assert_eq!(
            arn.identity,
            IamIdentity::Role {
                path: "/aws-service-role/autoscaling.amazonaws.com/".into(),
                name: "AWSServiceRoleForAutoScaling".into()
            }
        );
        let session =
            aws("arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com").unwrap();
        let AwsPrincipal::Arn(arn) = session else {
            panic!()
        };
        assert_eq!(
            arn.identity,
            IamIdentity::AssumedRole {
                role_name: "Admin".into(),
                session_name: "alice@example.com".into()
            }
        );
        assert!(aws("arn:aws:sts::111122223333:federated-user/Bob").is_some());
        assert!(aws("arn:aws:iam::111122223333:role/ExampleRole").is_some());
    }

    #[test]
    fn principal_arns_display_as_written() {
        for arn in [
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:user/Alice",
            "arn:aws-cn:iam::111122223333:role/a/b/Admin",
            "arn:aws:sts::111122223333:assumed-role/Admin/session",
            "arn:aws:sts::111122223333:federated-user/Bob",
        ] {
            let Some(AwsPrincipal::Arn(parsed)) = aws(arn) else {
                panic!("{arn}")
            };
            assert_eq!(parsed.to_string(), arn);
        }
    }

    #[test]
    fn malformed_aws_principals_are_refused() {
        for bad in [
            "",
            "11112222333",
            "1111222233334",
            "AIDACKCEVSQ6C2EXAMPLE",
            "Alice",
            "arn:aws:iam::111122223333:group/Admins",
            "arn:aws:iam::111122223333:role/*",
            "arn:aws:iam::*:root",
            "arn:aws:iam::111122223333:user/",
            "arn:aws:iam::111122223333:user//Alice",
            "arn:aws:iam:us-east-1:111122223333:root",
            "arn:aws:iam::111122223333:Root",
            "arn:aws:s3:::bucket",
            "arn:aws:sts::111122223333:assumed-role/Admin",
            "arn:AWS:iam::111122223333:root",
            "arn::iam::111122223333:root",
            "arn:aws:iam::111122223333:user/Al ice",
        ] {
            assert_eq!(aws(bad), None, "{bad:?} should be refused");
        }
    }

    #[test]
    fn service_federated_and_canonical_user() {
        let list = listed(
            r#"{"Service": ["cloudtrail.amazonaws.com", "logs.us-east-1.amazonaws.com"],
                "Federated": ["cognito-identity.amazonaws.com",
                              "arn:aws:iam::111122223333:saml-provider/ExampleIdP",
                              "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC123"],
                "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}"#,
        )
        .unwrap();
        assert_eq!(list.len(), 6);
        assert_eq!(
            list[0],
            Principal::Service("cloudtrail.amazonaws.com".into())
        );
        assert!(
            matches!(&list[3], Principal::Federated(FederatedPrincipal::Saml { name, .. }) if name == "ExampleIdP")
        );
        assert!(
            matches!(&list[4], Principal::Federated(FederatedPrincipal::Oidc { url, .. }) if url.ends_with("ABC123"))
        );
        assert!(matches!(list[5], Principal::CanonicalUser(_)));
    }

    #[test]
    fn invalid_principal_forms_give_the_kms_reason() {
        for json in [
            r#""arn:aws:iam::111122223333:root""#,
            r#"["*"]"#,
            "42",
            r#"{"aws": "*"}"#,
            r#"{"Group": "Admins"}"#,
            r#"{"AWS": 111122223333}"#,
            r#"{"AWS": ["arn:aws:iam::111122223333:root", null]}"#,
            r#"{"AWS": {"x": "y"}}"#,
            r#"{"Service": "*"}"#,
            r#"{"Service": "Cloudtrail.amazonaws.com"}"#,
            r#"{"Service": "cloudtrail"}"#,
            r#"{"Federated": "arn:aws:iam::111122223333:role/x"}"#,
            r#"{"CanonicalUser": "abc"}"#,
        ] {
            let err = parse_principals(crate::json::parse(json).unwrap()).unwrap_err();
            assert!(
                matches!(err, PolicyError::InvalidPrincipal(_)),
                "{json}: {err:?}"
            );
            assert_eq!(
                err.to_string(),
                "Policy contains a statement with one or more invalid principals."
            );
        }
    }

    #[test]
    fn a_map_that_names_nobody_is_no_principal() {
        for json in ["{}", r#"{"AWS": []}"#, r#"{"AWS": [], "Service": []}"#] {
            assert_eq!(listed(json), Err(PolicyError::NoPrincipal), "{json}");
        }
        assert!(listed(r#"{"AWS": [], "Service": "ec2.amazonaws.com"}"#).is_ok());
    }
}
