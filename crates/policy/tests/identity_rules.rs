//! The document rules of `parse_identity_policy` and `parse_trust_policy`, and what
//! `Policy::condition_keys` reports: one test per rule, the accepted form and each violation
//! with its reason and its AWS exception.

#![cfg(test)]

use proptest::prelude::*;
use strongroom_policy::{
    ActionSpec, PolicyError, PolicyException, PolicyKind, PrincipalSpec, ROLE_POLICY_MAX_CHARS,
    ResourceSpec, TRUST_POLICY_MAX_CHARS, USER_POLICY_MAX_CHARS, default_key_policy,
    managed_key_policy, parse_identity_policy, parse_key_policy, parse_trust_policy,
    policy_size_chars,
};

fn identity(statement_body: &str) -> Result<strongroom_policy::Policy, PolicyError> {
    let text = format!(r#"{{"Version": "2012-10-17", "Statement": [{{{statement_body}}}]}}"#);
    parse_identity_policy(&text, ROLE_POLICY_MAX_CHARS)
}

fn trust(statement_body: &str) -> Result<strongroom_policy::Policy, PolicyError> {
    let text = format!(r#"{{"Version": "2012-10-17", "Statement": [{{{statement_body}}}]}}"#);
    parse_trust_policy(&text)
}

fn malformed(result: Result<strongroom_policy::Policy, PolicyError>) -> PolicyError {
    let e = result.expect_err("policy should be refused");
    assert_eq!(
        e.exception(),
        PolicyException::MalformedPolicyDocument,
        "{e:?}"
    );
    e
}

const ALLOW_ALL: &str = r#""Effect": "Allow", "Action": "*", "Resource": "*""#;
const ASSUME: &str = r#""Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole""#;

#[test]
fn identity_statements_have_no_principal_and_apply_to_the_holder() {
    let policy = identity(ALLOW_ALL).unwrap();
    assert_eq!(policy.kind(), PolicyKind::Identity);
    assert_eq!(policy.statements[0].principal, PrincipalSpec::Implicit);
    for principal in [
        r#""Principal": "*""#,
        r#""Principal": {"AWS": "arn:aws:iam::111122223333:root"}"#,
        r#""NotPrincipal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}"#,
    ] {
        let e = malformed(identity(&format!("{ALLOW_ALL}, {principal}")));
        assert_eq!(e, PolicyError::PrincipalNotAllowed);
        assert_eq!(
            e.to_string(),
            "Policy document should not specify a principal."
        );
    }
}

#[test]
fn identity_statements_need_actions_and_resources() {
    let e = malformed(identity(r#""Effect": "Allow", "Resource": "*""#));
    assert_eq!(e.to_string(), "Policy statement must contain actions.");
    let e = malformed(identity(r#""Effect": "Allow", "Action": "kms:*""#));
    assert_eq!(e.to_string(), "Policy statement must contain resources.");
    let e = malformed(identity(
        r#""Effect": "Allow", "Action": [], "Resource": "*""#,
    ));
    assert_eq!(e, PolicyError::NoActions);
    let e = malformed(identity(
        r#""Effect": "Allow", "Action": "kms:*", "NotResource": []"#,
    ));
    assert_eq!(e, PolicyError::NoResources);
    let ok = identity(r#""Effect": "Deny", "NotAction": "kms:Decrypt", "NotResource": "arn:aws:kms:*:111122223333:key/*""#)
        .unwrap();
    assert!(matches!(
        ok.statements[0].action,
        Some(ActionSpec::NotAction(_))
    ));
    assert!(matches!(
        ok.statements[0].resource,
        Some(ResourceSpec::NotResource(_))
    ));
}

#[test]
fn identity_policies_take_actions_of_any_vendor_and_resources_of_any_arn() {
    let body = r#""Effect": "Allow",
        "Action": ["iam:ChangePassword", "kms:Encrypt", "sts:AssumeRole", "s3:GetObject", "ec2:Describe*", "*:Get*"],
        "Resource": ["arn:aws:iam::111122223333:user/${aws:username}", "arn:aws:s3:::bucket/*",
                     "arn:aws:kms:*:111122223333:key/*", "arn:aws:sts::111122223333:assumed-role/Ops/*", "*"]"#;
    assert!(identity(body).is_ok());
    let e = malformed(identity(
        r#""Effect": "Allow", "Action": "Encrypt", "Resource": "*""#,
    ));
    assert!(matches!(e, PolicyError::MissingVendor(_)));
    let e = malformed(identity(
        r#""Effect": "Allow", "Action": "kms:*", "Resource": "key/1""#,
    ));
    assert!(matches!(e, PolicyError::InvalidResource(_)));
}

#[test]
fn identity_versions_are_the_two_policy_language_versions() {
    for version in ["2012-10-17", "2008-10-17"] {
        let text = format!(r#"{{"Version": "{version}", "Statement": {{{ALLOW_ALL}}}}}"#);
        assert!(
            parse_identity_policy(&text, USER_POLICY_MAX_CHARS).is_ok(),
            "{version}"
        );
    }
    let unversioned = format!(r#"{{"Statement": {{{ALLOW_ALL}}}}}"#);
    assert_eq!(
        parse_identity_policy(&unversioned, USER_POLICY_MAX_CHARS)
            .unwrap()
            .version,
        None
    );
    let text = format!(r#"{{"Version": "2012-10-18", "Statement": {{{ALLOW_ALL}}}}}"#);
    assert!(matches!(
        parse_identity_policy(&text, USER_POLICY_MAX_CHARS),
        Err(PolicyError::InvalidVersion(_))
    ));
}

#[test]
fn iam_sids_are_letters_and_digits_and_unique() {
    assert!(identity(&format!(r#""Sid": "AllowAll2", {ALLOW_ALL}"#)).is_ok());
    assert!(identity(&format!(r#""Sid": "", {ALLOW_ALL}"#)).is_ok());
    for sid in ["Allow all", "allow-all", "a_b", "é"] {
        let e = malformed(identity(&format!(r#""Sid": "{sid}", {ALLOW_ALL}"#)));
        assert_eq!(e, PolicyError::InvalidSid(sid.to_owned()));
        let e = malformed(trust(&format!(r#""Sid": "{sid}", {ASSUME}"#)));
        assert_eq!(e, PolicyError::InvalidSid(sid.to_owned()));
    }
    let text =
        format!(r#"{{"Statement": [{{"Sid": "A", {ALLOW_ALL}}}, {{"Sid": "A", {ALLOW_ALL}}}]}}"#);
    assert!(matches!(
        parse_identity_policy(&text, USER_POLICY_MAX_CHARS),
        Err(PolicyError::DuplicateSid(_))
    ));
    // Key policies keep their own rule: any string.
    let key = r#"{"Statement": {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}}"#;
    assert!(parse_key_policy(key).is_ok());
}

#[test]
fn size_quota_counts_characters_without_white_space() {
    let base = format!(r#"{{"Statement": {{{ALLOW_ALL}}}}}"#);
    let size = policy_size_chars(&base);
    assert_eq!(size, base.chars().filter(|c| *c != ' ').count());
    assert!(parse_identity_policy(&base, size).is_ok());
    let e = parse_identity_policy(&base, size - 1).unwrap_err();
    assert_eq!(
        e,
        PolicyError::SizeQuotaExceeded {
            chars: size,
            limit: size - 1
        }
    );
    assert_eq!(e.exception(), PolicyException::LimitExceeded);
    assert_eq!(
        format!("{e} for user Alice"),
        format!(
            "Maximum policy size of {} bytes exceeded for user Alice",
            size - 1
        )
    );
    // White space anywhere is free, even far beyond the quota; other characters are not.
    let padded = format!("{}\n\t\r{}", " ".repeat(5000), base);
    assert!(parse_identity_policy(&padded, size).is_ok());
    let latin1 = format!(r#"{{"Id": "ééé", "Statement": {{{ALLOW_ALL}}}}}"#);
    assert_eq!(
        policy_size_chars(&latin1),
        size + r#""Id":"ééé","#.chars().count()
    );
    // The trust policy quota is the service's to check (IAM words it differently).
    let text = format!(r#"{{"Statement": {{{ASSUME}}}}}"#);
    assert!(policy_size_chars(&text) < TRUST_POLICY_MAX_CHARS);
    let big = format!(
        r#"{{"Id": "{}", "Statement": {{{ASSUME}}}}}"#,
        "x".repeat(TRUST_POLICY_MAX_CHARS)
    );
    assert!(parse_trust_policy(&big).is_ok());
    assert_eq!(USER_POLICY_MAX_CHARS, 2_048);
    assert_eq!(ROLE_POLICY_MAX_CHARS, 10_240);
}

#[test]
fn text_rules_come_before_the_quota() {
    assert_eq!(parse_identity_policy("", 10), Err(PolicyError::Empty));
    assert!(matches!(
        parse_identity_policy("{\"a\": \"\u{100}\"}", 1),
        Err(PolicyError::InvalidCharacter { .. })
    ));
    assert!(matches!(
        parse_trust_policy("{not json"),
        Err(PolicyError::InvalidJson(_))
    ));
}

#[test]
fn trust_statements_name_a_principal_and_no_resource() {
    let policy = trust(ASSUME).unwrap();
    assert_eq!(policy.kind(), PolicyKind::Trust);
    assert_eq!(policy.statements[0].resource, None);
    assert!(trust(r#""Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]"#).is_ok());
    assert!(trust(r#""Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111122223333:saml-provider/Idp"}, "Action": "sts:AssumeRoleWithSAML", "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}"#).is_ok());
    let e = malformed(trust(r#""Effect": "Allow", "Action": "sts:AssumeRole""#));
    assert_eq!(e, PolicyError::NoPrincipal);
    for (element, body) in [
        ("Resource", r#""Resource": "*""#),
        (
            "NotResource",
            r#""NotResource": "arn:aws:iam::111122223333:role/x""#,
        ),
    ] {
        let e = malformed(trust(&format!("{ASSUME}, {body}")));
        assert_eq!(e, PolicyError::ProhibitedField(element));
        assert_eq!(e.to_string(), format!("Has prohibited field {element}"));
    }
    let e = malformed(trust(
        r#""Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole""#,
    ));
    assert_eq!(e.to_string(), "Has prohibited field NotPrincipal");
    let e = malformed(trust(
        r#""Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}"#,
    ));
    assert_eq!(e, PolicyError::NoActions);
    let e = malformed(trust(
        r#""Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/*"}, "Action": "sts:AssumeRole""#,
    ));
    assert!(matches!(e, PolicyError::InvalidPrincipal(_)));
}

#[test]
fn key_policies_are_unchanged() {
    let policy = parse_key_policy(&default_key_policy("aws", "111122223333")).unwrap();
    assert_eq!(policy.kind(), PolicyKind::Key);
    let no_principal = r#"{"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}"#;
    assert_eq!(
        parse_key_policy(no_principal),
        Err(PolicyError::NoPrincipal)
    );
    let no_resource = r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "kms:*"}}"#;
    assert_eq!(
        parse_key_policy(no_resource).unwrap().statements[0].resource,
        None
    );
}

#[test]
fn condition_keys_are_those_of_conditions_and_variables() {
    let default = parse_key_policy(&default_key_policy("aws", "111122223333")).unwrap();
    assert!(default.condition_keys().is_empty());
    assert!(!default.condition_keys().needs("*"));
    let managed = parse_key_policy(&managed_key_policy(
        "aws",
        "111122223333",
        "ec2",
        "us-east-1",
    ))
    .unwrap();
    let keys: Vec<&str> = managed.condition_keys().iter().collect();
    assert_eq!(keys, ["kms:calleraccount", "kms:viaservice"]);

    let text = r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt",
         "Resource": "arn:aws:kms:*:${aws:PrincipalAccount}:key/${aws:PrincipalTag/Team, 'none'}-*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:Owner": "${aws:username}",
                                        "aws:ResourceTag/Project": ["${aws:PrincipalTag/Project}", "x${*}"]},
                       "NumericLessThan": {"aws:MultiFactorAuthAge": 3600},
                       "ForAnyValue:StringLike": {"aws:TagKeys": "Env*"}}},
        {"Effect": "Deny", "Action": "kms:*", "Resource": "*",
         "Condition": {"Null": {"aws:RequestTag/Owner": "true"}}}]}"#;
    let policy = parse_identity_policy(text, ROLE_POLICY_MAX_CHARS).unwrap();
    let keys = policy.condition_keys();
    for key in [
        "aws:PrincipalAccount",
        "aws:PrincipalTag/Team",
        "aws:PrincipalTag/Project",
        "kms:EncryptionContext:Owner",
        "aws:username",
        "aws:ResourceTag/Project",
        "aws:MultiFactorAuthAge",
        "aws:TagKeys",
        "aws:RequestTag/Owner",
        "AWS:USERNAME",
        "kms:EncryptionContext:*",
        "aws:ResourceTag/*",
        "aws:RequestTag/*",
        "aws:PrincipalTag/*",
    ] {
        assert!(keys.needs(key), "{key}");
    }
    for key in [
        "kms:EncryptionContext:Department",
        "aws:ResourceTag/Env",
        "aws:SourceIp",
        "kms:ViaService",
        "aws:CurrentTime",
        "*",
    ] {
        assert_eq!(keys.needs(key), key == "*", "{key}");
    }
    assert_eq!(keys.len(), 9);

    // 2008-10-17: variables are not substituted, so they read nothing.
    let old = r#"{"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "kms:*",
        "Resource": "arn:aws:kms:*:*:key/${aws:username}",
        "Condition": {"StringEquals": {"aws:ResourceTag/Owner": "${aws:username}"}}}}"#;
    let old = parse_identity_policy(old, ROLE_POLICY_MAX_CHARS).unwrap();
    let keys: Vec<&str> = old.condition_keys().iter().collect();
    assert_eq!(keys, ["aws:resourcetag/owner"]);
    // Variables in operators that do not substitute them (dates, numbers, …) read nothing.
    let typed = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01"}, "Bool": {"aws:SecureTransport": true}}}}"#;
    let typed = parse_identity_policy(typed, ROLE_POLICY_MAX_CHARS).unwrap();
    assert_eq!(typed.condition_keys().len(), 2);
}

proptest! {
    #[test]
    fn identity_and_trust_parsers_never_panic(text in "\\PC{0,400}") {
        for result in [
            parse_identity_policy(&text, USER_POLICY_MAX_CHARS),
            parse_trust_policy(&text),
        ] {
            if let Err(e) = result {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn identity_parser_never_panics_on_policy_shaped_text(
        parts in prop::collection::vec(prop::sample::select(vec![
            "{", "}", "[", "]", ",", ":", "\"Statement\"", "\"Effect\"", "\"Allow\"", "\"Deny\"",
            "\"Action\"", "\"Resource\"", "\"Principal\"", "\"Condition\"", "\"*\"", "\"kms:*\"",
            "\"Sid\"", "\"StringEquals\"", "\"${aws:username}\"", "\"arn:aws:kms:*:1:key/*\"", "\"Version\"",
            "\"2012-10-17\"", "\"NotResource\"", "\"NotAction\"", "\"Null\"", "true", "1",
        ]), 0..60)
    ) {
        let text = parts.concat();
        let _ = parse_identity_policy(&text, ROLE_POLICY_MAX_CHARS);
        let _ = parse_trust_policy(&text);
        strongroom_policy::fuzzing::identity_policy(text.as_bytes());
    }
}
