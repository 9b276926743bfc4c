//! Action and resource patterns: `kms:ReEncrypt*`, `arn:aws:kms:*:111122223333:key/*`, `*`.
//!
//! The error texts are IAM's, from the policy engine KMS shares. Actions of services other than
//! KMS are accepted: AWS accepts them in key policies, where they never match a KMS request, and
//! refusing them would break policies copied from AWS. Both elements are string-or-array, and an
//! empty array is refused because it would make the statement match nothing while looking
//! meaningful.

use crate::error::PolicyError;
use crate::json::Json;
use crate::model::{ActionPattern, ResourcePattern};
use crate::syntax;

/// Parses the string-or-array value of `Action` / `NotAction`.
pub(crate) fn parse_actions(
    element: &'static str,
    value: Json,
) -> Result<Vec<ActionPattern>, PolicyError> {
    let items = string_list(element, value)?;
    if items.is_empty() {
        return Err(PolicyError::NoActions);
    }
    items.into_iter().map(parse_action).collect()
}

/// Parses the string-or-array value of `Resource` / `NotResource`.
pub(crate) fn parse_resources(
    element: &'static str,
    value: Json,
) -> Result<Vec<ResourcePattern>, PolicyError> {
    let items = string_list(element, value)?;
    if items.is_empty() {
        return Err(PolicyError::NoResources);
    }
    items.into_iter().map(parse_resource).collect()
}

fn string_list(element: &'static str, value: Json) -> Result<Vec<String>, PolicyError> {
    let wrong_type = || PolicyError::WrongType {
        element,
        expected: "a string or an array of strings",
    };
    match value {
        Json::String(s) => Ok(vec![s]),
        Json::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Json::String(s) => Ok(s),
                _ => Err(wrong_type()),
            })
            .collect(),
        _ => Err(wrong_type()),
    }
}

fn parse_action(text: String) -> Result<ActionPattern, PolicyError> {
    if text == "*" {
        return Ok(ActionPattern::All);
    }
    let Some((service, action)) = text.split_once(':') else {
        return Err(PolicyError::MissingVendor(text));
    };
    if action.contains(':') {
        return Err(PolicyError::TooManyColons(text));
    }
    if service != "*" && !syntax::is_vendor(service) {
        return Err(PolicyError::InvalidVendor(service.to_owned()));
    }
    let action_ok = !action.is_empty()
        && action
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"*?-_.".contains(&b));
    if !action_ok {
        return Err(PolicyError::InvalidAction(text));
    }
    Ok(ActionPattern::Scoped {
        service: service.to_owned(),
        action: action.to_owned(),
    })
}

/// `*`, or `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` where the resource part may itself
/// hold colons and every part but the service may hold wildcards.
fn parse_resource(text: String) -> Result<ResourcePattern, PolicyError> {
    if text == "*" {
        return Ok(ResourcePattern::All);
    }
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let [arn, partition, service, _region, _account, _resource] = parts.as_slice() else {
        return Err(PolicyError::InvalidResource(text));
    };
    let outside_variables = without_variables(&text);
    if *arn != "arn" || partition.is_empty() || outside_variables.chars().any(char::is_whitespace) {
        return Err(PolicyError::InvalidResource(text));
    }
    if !syntax::is_vendor(service) {
        return Err(PolicyError::InvalidResourceVendor(text));
    }
    Ok(ResourcePattern::Arn(text))
}

/// `text` with the bodies of `${…}` policy variables removed: a variable's default may hold a
/// space (`${aws:PrincipalTag/Team, 'none'}`), which is refused anywhere else in an ARN.
fn without_variables(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(json: &str) -> Result<Vec<ActionPattern>, PolicyError> {
        parse_actions("Action", crate::json::parse(json).unwrap())
    }

    fn resources(json: &str) -> Result<Vec<ResourcePattern>, PolicyError> {
        parse_resources("Resource", crate::json::parse(json).unwrap())
    }

    fn scoped(service: &str, action: &str) -> ActionPattern {
        ActionPattern::Scoped {
            service: service.into(),
            action: action.into(),
        }
    }

    #[test]
    fn action_forms() {
        assert_eq!(actions(r#""*""#), Ok(vec![ActionPattern::All]));
        assert_eq!(actions(r#""kms:*""#), Ok(vec![scoped("kms", "*")]));
        assert_eq!(
            actions(
                r#"["kms:Encrypt", "kms:ReEncrypt*", "kms:Get?eyPolicy", "s3:GetObject", "execute-api:Invoke"]"#
            ),
            Ok(vec![
                scoped("kms", "Encrypt"),
                scoped("kms", "ReEncrypt*"),
                scoped("kms", "Get?eyPolicy"),
                scoped("s3", "GetObject"),
                scoped("execute-api", "Invoke"),
            ])
        );
    }

    #[test]
    fn patterns_display_as_written() {
        for text in ["*", "kms:ReEncrypt*", "*:Describe?"] {
            assert_eq!(parse_action(text.to_owned()).unwrap().to_string(), text);
        }
        for text in ["*", "arn:aws:kms:*:111122223333:key/*"] {
            assert_eq!(parse_resource(text.to_owned()).unwrap().to_string(), text);
        }
    }

    #[test]
    fn malformed_actions_give_iam_reasons() {
        let err = actions(r#""Encrypt""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
        let err = actions(r#""kms:Encrypt:Now""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Actions/Condition can contain only one colon."
        );
        let err = actions(r#""k ms:Encrypt""#).unwrap_err();
        assert_eq!(err.to_string(), "Vendor k ms is not valid");
        assert_eq!(
            actions(r#""kms:""#),
            Err(PolicyError::InvalidAction("kms:".into()))
        );
        assert_eq!(
            actions(r#""kms:Encrypt ""#),
            Err(PolicyError::InvalidAction("kms:Encrypt ".into()))
        );
        assert_eq!(
            actions(r#""""#),
            Err(PolicyError::MissingVendor(String::new()))
        );
    }

    #[test]
    fn empty_or_wrongly_typed_action_lists_are_refused() {
        assert_eq!(
            actions("[]").unwrap_err().to_string(),
            "Policy statement must contain actions."
        );
        for json in [
            "42",
            "{}",
            r#"["kms:Encrypt", 1]"#,
            "null",
            "[[\"kms:Encrypt\"]]",
        ] {
            assert!(
                matches!(
                    actions(json),
                    Err(PolicyError::WrongType {
                        element: "Action",
                        ..
                    })
                ),
                "{json}"
            );
        }
    }

    #[test]
    fn resource_forms() {
        assert_eq!(resources(r#""*""#), Ok(vec![ResourcePattern::All]));
        let arns = [
            "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:*:111122223333:key/*",
            "arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias",
            "arn:aws-cn:kms:cn-north-1:111122223333:key/x:with:colons",
            "arn:aws:kms:*:111122223333:key/${aws:PrincipalTag/Team, 'none'}-*",
        ];
        for arn in arns {
            assert_eq!(
                resources(&format!("\"{arn}\"")),
                Ok(vec![ResourcePattern::Arn(arn.into())])
            );
        }
    }

    #[test]
    fn malformed_resources_give_iam_reasons() {
        let err = resources(r#""key/1234""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Resource key/1234 must be in ARN format or \"*\"."
        );
        for bad in [
            "arn:aws:kms:us-east-1:111122223333",
            "ARN:aws:kms:::key/x",
            "arn::kms:::key/x",
            "arn:aws:kms:::key/ x",
        ] {
            assert_eq!(
                resources(&format!("\"{bad}\"")),
                Err(PolicyError::InvalidResource(bad.into())),
                "{bad}"
            );
        }
        let err = resources(r#""arn:aws:km*:::key/x""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Resource vendor must be fully qualified and cannot contain regexes."
        );
        assert_eq!(
            resources("[]").unwrap_err().to_string(),
            "Policy statement must contain resources."
        );
    }
}
